"""Knob values never reach a shell as code: they are passed as data."""
import json

from cli_helpers import read_csv, run_deffe, write

NASTY = ["x; touch pwned1", "$(touch pwned2)", "`touch pwned3`", "a b", "it's", 'say "hi"', "a|touch pwned4",
         "&& touch pwned5", "plain"]


def test_shell_script_gets_values_as_data(tmp_path):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "word", "values": NASTY, "type": "categorical"}],
        "costs": ["n"],
        "evaluate": {"script": "run.sh"},
    }))
    write(tmp_path / "run.sh", 'printf "%s" "$word" > got.txt\nprintf "%s" "${word}" > got2.txt\n'
                               'echo 1 > results.out\n')
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert [row["status"] for row in rows] == ["ok"] * len(NASTY)
    assert {row["word"] for row in rows} == set(NASTY)  # CSV quoting keeps them intact
    got = set()
    for d in (tmp_path / "explore").glob("explore_*"):
        got.add((d / "got.txt").read_text())
        assert (d / "got.txt").read_text() == (d / "got2.txt").read_text()
    assert got == set(NASTY)
    assert not list(tmp_path.rglob("pwned*"))


def test_python_script_gets_values_as_arguments(tmp_path):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "word", "values": NASTY, "type": "categorical"}, {"name": "k", "values": [3]}],
        "costs": ["n"],
        "evaluate": {"script": "run.py"},
    }))
    write(tmp_path / "run.py", "import argparse\np = argparse.ArgumentParser()\n"
                               "p.add_argument('--word')\np.add_argument('--k', type=int)\n"
                               "p.add_argument('--evaluate_index')\n"
                               "a = p.parse_args()\nopen('got.txt', 'w').write(a.word)\n"
                               "open('results.out', 'w').write(str(len(a.word) * a.k))\n")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert all(float(row["n"]) == 3 * len(row["word"]) for row in rows)
    assert not list(tmp_path.rglob("pwned*"))


def test_scenarios_map_aliases_fixed_arguments_and_extract_scripts_get_values_as_data(tmp_path):
    # every other way a value reaches a script: a scenario through its map alias, Deffe's fixed arguments of
    # a .py script, the extract script, the Deffe tables written from the values
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "k", "values": [2]}],
        "scenarios": [{"name": "input", "map": "data", "values": NASTY, "type": "categorical"}],
        "costs": ["n"],
        "evaluate": {"sample_evaluate_script": "run.sh", "batch_size": "2"},   # Deffe keys: Deffe's tables too
        "extract": {"sample_extract_script": "extract.sh"}}))
    write(tmp_path / "run.sh", 'printf "%s" "$data" > got.txt\n')
    write(tmp_path / "extract.sh", 'printf "%s" "${input}" > got_extract.txt\necho 1 > results.out\n')
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    dirs = list((tmp_path / "explore").glob("explore_*"))
    assert {(d / "got.txt").read_text() for d in dirs} == set(NASTY)
    assert all((d / "got.txt").read_text() == (d / "got_extract.txt").read_text() for d in dirs)
    assert not list(tmp_path.rglob("pwned*"))


def test_a_py_scripts_fixed_arguments_take_values_as_single_arguments(tmp_path):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "word", "values": NASTY, "type": "categorical"}], "costs": ["n"],
        "evaluate": {"script": "run.py", "sample_evaluate_arguments": "-w $word",
                     "sample_evaluate_excludes": "word, evaluate_index"}}))
    write(tmp_path / "run.py", "import sys\nopen('got.txt', 'w').write(repr(sys.argv[1:]))\n"
                               "open('results.out', 'w').write('1')\n")
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    got = {(d / "got.txt").read_text() for d in (tmp_path / "explore").glob("explore_*")}
    assert got == {repr(["-w", w]) for w in NASTY}
    assert not list(tmp_path.rglob("pwned*"))


def test_names_that_are_not_plain_are_refused(tmp_path):
    from cli_helpers import assert_user_error
    for name in ("a;touch pwned", "$(touch pwned)", "a b"):
        write(tmp_path / "config.json", json.dumps({"knobs": [{"name": name, "values": [1]}], "costs": ["n"],
                                                    "evaluate": {"script": "run.sh"}}))
        write(tmp_path / "run.sh", "echo 1 > results.out\n")
        assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "config.json:knobs[0]")
    assert not list(tmp_path.rglob("pwned*"))


def test_csv_rows_cannot_bring_values_from_outside_the_space(tmp_path):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "word", "values": ["plain", "other"]}], "costs": ["n"],
        "evaluate": {"script": "run.sh"}}))
    write(tmp_path / "run.sh", 'printf "%s" "$word" > got.txt\necho 1 > results.out\n')
    write(tmp_path / "pre.csv", 'word,n\n"$(touch pwned1)",5\n"x; touch pwned2",6\nplain,7\n')
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", cwd=tmp_path)
    assert r.rc == 0 and "2 outside the space skipped" in r.err, r
    rows = {x["word"]: x["n"] for x in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")}
    assert rows == {"plain": "7", "other": "1"}
    assert not list(tmp_path.rglob("pwned*"))


def test_plugins_load_only_from_the_config_directory_python_path_and_built_ins(tmp_path):
    from cli_helpers import assert_user_error
    write(tmp_path / "elsewhere" / "evil.py", "open('pwned', 'w').write('x')\ndef GetObject(fw):\n    pass\n")
    write(tmp_path / "project" / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": [1]}], "costs": ["n"], "evaluate": {"script": "run.sh"},
        "sampling": {"plugin": "../elsewhere/evil.py"}}))
    write(tmp_path / "project" / "run.sh", "echo 1 > results.out\n")
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path / "project"), "sampling.plugin",
                      "is outside the config's directory and python_path", "add its directory to python_path")
    # a dotted name is looked for in python_path only: an installed module is not a plugin
    write(tmp_path / "project" / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": [1]}], "costs": ["n"], "evaluate": {"script": "run.sh"},
        "sampling": {"plugin": "email.mime"}}))
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path / "project"), "sampling.plugin",
                      "plugin 'email.mime' for sampling not found")
    assert not list(tmp_path.rglob("pwned"))
