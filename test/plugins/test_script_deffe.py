"""Evaluate ``script`` runs a Deffe user's scripts as Deffe ran them.

The scripts here are in Deffe's style and write down what they were given (arguments, environment, the
text they were run as), so each rule can be checked. Most tests build the plugins in-process from a
config; the last goes through the command line with a config written for Deffe.
"""
import json
import os
import sys

import pytest

from cli_helpers import read_csv, run_deffe, write
from framework.errors import DeffeError
from framework.protocols import Sample
from plugins.evaluate import script as script_plugin
from script_helpers import evaluate_point, setup

# a .py evaluate script that writes down how it was run; it knows evaluate_index, as Deffe's own do
SEEN_PY = '''import json, os, sys
json.dump({"argv": sys.argv[1:], "file": __file__, "exe": sys.executable, "cwd": os.getcwd(),
           "env": {k: v for k, v in os.environ.items() if k.startswith(("DEFFE_", "FROM_"))}},
          open("seen.json", "w"))
open("results.out", "w").write("1\\n")
# (reads evaluate_index like Deffe's test/evaluate.py)
'''


def test_a_py_script_gets_the_arguments_deffe_gave(tmp_path, monkeypatch):
    fw, ev, ex = setup(tmp_path, monkeypatch, {
        "knobs": [{"name": "a", "values": [3]}, {"name": "on", "values": [True]}, {"name": "off", "values": [False]},
                  {"name": "text_on", "values": ["True"]}, {"name": "text_off", "values": ["False"]},
                  {"name": "secret", "values": ["s"]}],
        "scenarios": [{"name": "size", "map": "options", "values": [256]}],
        "evaluate": {"sample_evaluate_script": "evaluate.py", "sample_evaluate_excludes": "secret, off",
                     "sample_evaluate_arguments": '-cwd . --label "two words" --dir $DEFFE_CONFIG_DIR --n ${size}'},
    }, {"evaluate.py": SEEN_PY})
    values = {"a": 3, "on": True, "off": False, "text_on": "True", "text_off": "False", "secret": "s", "size": 256}
    result, d = evaluate_point(fw, ev, ex, values)
    assert result.status == "ok", result
    seen = json.loads((d / "seen.json").read_text())
    assert seen["argv"] == ["-cwd", ".", "--label", "two words", "--dir", str(tmp_path / "cfg"), "--n", "256",
                            "--a", "3", "--on", "--text_on", "--size", "256", "--options", "256",
                            "--evaluate_index", "7"]
    # run in place with the driver's own Python, in the sample's directory, as Deffe did
    assert seen["file"] == str(tmp_path / "cfg" / "evaluate.py") and seen["exe"] == sys.executable
    assert seen["cwd"] == str(d) and not (d / "evaluate.py").exists()
    assert (d / "evaluate.log").is_file()
    params = json.loads((d / "param.json").read_text())
    assert params["options"] == params["size"] == 256 and params["dir"] == "explore_7" and params["index"] == "7"


def test_a_strict_parser_leaves_out_what_it_does_not_know_with_excludes(tmp_path, monkeypatch):
    # Deffe always passed --evaluate_index; a script whose parser refuses it names it in the excludes
    strict = ("import argparse\np = argparse.ArgumentParser()\np.add_argument('--a')\n"
              "open('results.out', 'w').write(p.parse_args().a)\n")
    fw, ev, ex = setup(tmp_path, monkeypatch, {"knobs": [{"name": "a", "values": [4]}],
                                               "evaluate": {"script": "run.py"}}, {"run.py": strict})
    result, _ = evaluate_point(fw, ev, ex, {"a": 4})
    assert result.status == "failed" and "exited with status 2" in result.error, result
    fw, ev, ex = setup(tmp_path, monkeypatch, {"knobs": [{"name": "a", "values": [4]}],
                                               "evaluate": {"script": "run.py",
                                                            "sample_evaluate_excludes": "evaluate_index"}},
                       {"run.py": strict})
    result, _ = evaluate_point(fw, ev, ex, {"a": 4})
    assert result.status == "ok" and result.costs == {"t": 4.0}, result


def test_source_scripts_are_sourced_before_the_script_and_values_stay_data(tmp_path, monkeypatch):
    fw, ev, ex = setup(tmp_path, monkeypatch, {
        "knobs": [{"name": "word", "type": "categorical", "values": ["x; touch pwned", "$(touch pwned2)"]}],
        "evaluate": {"script": "evaluate.py", "source_scripts": "env1.sh, sub/env2.sh"},
    }, {"evaluate.py": SEEN_PY,
        "env1.sh": 'export FROM_ONE="one got $# arguments"\n',
        "sub/env2.sh": 'export FROM_TWO="$FROM_ONE and two"\n'})
    for i, word in enumerate(["x; touch pwned", "$(touch pwned2)"]):
        result, d = evaluate_point(fw, ev, ex, {"word": word}, sample_id=i)
        assert result.status == "ok", result
        seen = json.loads((d / "seen.json").read_text())
        assert seen["env"]["FROM_TWO"] == "one got 0 arguments and two"
        assert seen["argv"][:2] == ["--word", word]
    assert not list(tmp_path.rglob("pwned*"))


def test_deffe_directories_are_exported_and_substituted(tmp_path, monkeypatch):
    # the driver starts in a directory whose name a shell would split: it is substituted as a reference
    text = ('echo "$DEFFE_EXP_DIR" > exp.txt\necho "${DEFFE_CONFIG_DIR}" > cfg.txt\necho "$DEFFE_DIR" > dir.txt\n'
            'printenv DEFFE_EXP_DIR > exp_env.txt\nprintenv DEFFE_CONFIG_DIR > cfg_env.txt\necho 1 > results.out\n')
    fw, ev, ex = setup(tmp_path, monkeypatch, {"knobs": [{"name": "a", "values": [1]}],
                                               "evaluate": {"script": "run.sh"}}, {"run.sh": text}, exp="exp dir")
    result, d = evaluate_point(fw, ev, ex, {"a": 1})
    assert result.status == "ok", result
    exp, cfg = str(tmp_path / "exp dir"), str(tmp_path / "cfg")
    read = lambda name: (d / name).read_text().strip()  # noqa: E731
    assert read("exp.txt") == read("exp_env.txt") == exp
    assert read("cfg.txt") == read("cfg_env.txt") == cfg
    assert read("dir.txt") == os.environ["DEFFE_DIR"]
    copy = (d / "run.sh").read_text()
    assert f'echo "{cfg}" > cfg.txt' in copy and 'echo "${DEFFE_EXP_DIR}" > exp.txt' in copy


def test_scripts_without_a_shebang_run_with_bash(tmp_path, monkeypatch):
    bash_only = '[[ -n "$BASH_VERSION" ]] && a=(1 2 3) && echo "${#a[@]}" > results.out\n'
    fw, ev, ex = setup(tmp_path, monkeypatch, {"knobs": [{"name": "a", "values": [1]}],
                                               "evaluate": {"script": "run.sh"}}, {"run.sh": bash_only})
    result, _ = evaluate_point(fw, ev, ex, {"a": 1})
    assert result.status == "ok" and result.costs == {"t": 3.0}, result


def test_the_program_that_runs_a_script(tmp_path, monkeypatch):
    fw, ev, ex = setup(tmp_path, monkeypatch, {"knobs": [{"name": "a", "values": [1]}],
                                               "evaluate": {"script": "run.sh"}},
                       {"run.sh": "echo 1 > results.out\n", "shebang.sh": "#! /bin/sh -e\necho 1\n"})
    s, d, cfg = ev.scripts, tmp_path / "d", tmp_path / "cfg"
    d.mkdir()
    ctx = s.context(Sample(1, {"a": 1}, d))
    assert s.command(cfg / "run.sh", d, ctx)[0].endswith("bash")
    assert s.command(cfg / "shebang.sh", d, ctx) == ["/bin/sh", "-e", str(d / "shebang.sh")]  # #! is honoured
    assert s.command(cfg / "shebang.sh", d, ctx, interpreter="dash -x")[:2] == ["dash", "-x"]  # interpreter wins
    monkeypatch.setattr(script_plugin.shutil, "which", lambda name: None)
    assert script_plugin.Scripts(fw).command(cfg / "run.sh", d, ctx) == ["sh", str(d / "run.sh")]  # no bash


COMMAND_FILE = '''echo "Creating command file"
cat <<EOT > cmd_options_file.txt
-i
$DEFFE_CONFIG_DIR/kdd_cup
-m
${kmeans_objects}
EOT
'''
GEM5 = '''commandline_option=`cat cmd_options_file.txt`
echo "evaluating with" $commandline_option
echo $commandline_option | awk '{print $4 * 10}' > results.out
'''


def test_command_file_scripts_run_before_the_evaluate_script(tmp_path, monkeypatch):
    fw, ev, ex = setup(tmp_path, monkeypatch, {
        "knobs": [{"name": "kmeans_objects", "values": [100, 110]}],
        "scenarios": [{"name": "kmeans_command", "map": "command_file", "values": ["kmeans_command_script.sh"]},
                      {"name": "command_option", "values": ["option.sh"]}],
        "evaluate": {"sample_evaluate_script": "evaluate_gem5.sh", "output_log": "gem5.log"},
    }, {"kmeans_command_script.sh": COMMAND_FILE, "option.sh": "echo option script ran\n",
        "evaluate_gem5.sh": GEM5})
    point = {"kmeans_objects": 110, "kmeans_command": "kmeans_command_script.sh", "command_option": "option.sh"}
    result, d = evaluate_point(fw, ev, ex, point)
    assert result.status == "ok" and result.costs == {"t": 1100.0}, result
    assert (d / "cmd_options_file.txt").read_text().split() == ["-i", f"{tmp_path}/cfg/kdd_cup", "-m", "110"]
    assert (d / "gem5.log").read_text().splitlines() == [
        "Creating command file", "option script ran", f"evaluating with -i {tmp_path}/cfg/kdd_cup -m 110"]

    write(tmp_path / "cfg" / "option.sh", "echo broken; exit 3\n")   # a failing command script fails the sample
    ev.scripts._texts.clear()
    result, d = evaluate_point(fw, ev, ex, point, sample_id=8)
    assert result.status == "failed" and "command script 'option.sh' exited with status 3" in result.error
    assert "gem5.log ends: Creating command file | broken" in result.error
    assert not (d / "results.out").exists()


def test_a_missing_command_file_is_a_config_error(tmp_path, monkeypatch):
    with pytest.raises(DeffeError, match="command script 'nowhere.sh' not found"):
        setup(tmp_path, monkeypatch, {"knobs": [{"name": "cmd", "map": "command_file", "values": ["nowhere.sh"]}],
                                      "evaluate": {"script": "run.sh"}}, {"run.sh": "echo 1 > results.out\n"})


def test_a_deffe_config_through_the_command_line(tmp_path):
    """Deffe's keys, a .py evaluate script with fixed arguments and a source script, an extract.sh that
    writes two lines for one cost: the costs stored are the ones the original stored."""
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "param1", "values": "1,2"}],
        "scenarios": [{"name": "size", "map": "options", "values": [16, 32]}],
        "costs": ["exec_time"],
        "evaluate": {"pyscript": "_evaluate.py", "sample_evaluate_script": "evaluate.py",
                     "sample_evaluate_arguments": "-cwd .", "source_scripts": ["setup.sh"],
                     "output_log": "evaluate.log"},
        "extract": {"pyscript": "_extract.py", "sample_extract_script": "extract.sh", "cost_output": "results.out",
                    "output_log": "extract.log"},
        "framework": {"run_directory": "explore"},
    }))
    write(tmp_path / "setup.sh", "export SCALE=10\n")
    write(tmp_path / "evaluate.py", "import argparse, os\np = argparse.ArgumentParser()\n"
                                    "for o in ('-cwd', '--param1', '--size', '--options', '--evaluate_index'):\n"
                                    "    p.add_argument(o)\na = p.parse_args()\n"
                                    "print(int(a.param1) * int(a.options) * int(os.environ['SCALE']))\n")
    write(tmp_path / "extract.sh", "tail -n 1 evaluate.log > results.out\necho second line >> results.out\n")
    r = run_deffe("-config", "config.json", "-no-train", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 4 and {row["status"] for row in rows} == {"ok"}, rows
    assert all(float(row["exec_time"]) == int(row["param1"]) * int(row["size"]) * 10 for row in rows)
