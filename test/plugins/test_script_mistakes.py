"""Mistakes in an evaluate script's settings are config errors at the start, and what a failing or odd script
leaves is reported for what it is: the end of a huge log (not all of it), a removed sample directory, a
boolean or twice-given cost in results.out; a script's bytes are copied as they are."""
import json
import os
import shutil

import pytest

from cli_helpers import assert_user_error, run_deffe, write
from framework.errors import DeffeError
from script_helpers import evaluate_point, setup

KNOBS = {"knobs": [{"name": "k", "values": [1]}]}


def run_script(tmp_path, monkeypatch, script: str, evaluate: dict | None = None, name: str = "evaluate.sh"):
    fw, ev, ex = setup(tmp_path, monkeypatch, {**KNOBS, "evaluate": {"script": name, **(evaluate or {})}},
                       {name: script})
    return evaluate_point(fw, ev, ex, {"k": 1})


def config_error(tmp_path, monkeypatch, evaluate: dict, files: dict | None = None) -> str:
    with pytest.raises(DeffeError) as e:
        setup(tmp_path, monkeypatch, {**KNOBS, "evaluate": {"script": "evaluate.sh", **evaluate}},
              {"evaluate.sh": "echo 1 > results.out\n", **(files or {})})
    return str(e.value)


def test_a_failed_script_is_stored_with_the_end_of_its_log_not_all_of_it(tmp_path, monkeypatch):
    # a progress bar of 1 MB without a newline, then the message that says what went wrong
    result, _ = run_script(tmp_path, monkeypatch,
                           "head -c 1000000 /dev/zero | tr '\\0' '#'; echo\n"
                           "for i in 1 2 3 4 5; do echo line $i; done\n"
                           "head -c 1000 /dev/zero | tr '\\0' '='; echo ' gem5.opt: No such file'\nexit 1\n")
    assert result.status == "failed"
    assert len(result.error) < 1000, len(result.error)
    ends = result.error.split("evaluate.log ends: ", 1)[1]
    # the last 3 lines; the long one cut to its end, which says so
    assert ends.startswith("line 4 | line 5 | …="), ends
    assert ends.endswith("= gem5.opt: No such file"), ends


@pytest.mark.parametrize("env, fragment", [
    ({"A=B": "x"}, "'A=B' is not an environment variable name"),
    ({"": "x"}, "'' is not an environment variable name"),
    ({"A": None}, "A: null is not a value"),
    ({"A": [1, 2]}, "A: [1, 2] is not a value"),
    ({"A": {"x": 1}}, 'A: {"x": 1} is not a value'),
    ({"A": "a\0b"}, "is not a value"),
])
def test_a_bad_env_is_a_config_error(tmp_path, monkeypatch, env, fragment):
    error = config_error(tmp_path, monkeypatch, {"env": env})
    assert "evaluate.env" in error and fragment in error, error


def test_env_values_of_json_types_reach_the_script(tmp_path, monkeypatch):
    result, d = run_script(tmp_path, monkeypatch, 'echo "$A $B $C" > seen; echo 1 > results.out\n',
                           {"env": {"A": "x", "B": 2, "C": True}})
    assert result.status == "ok", result
    assert (d / "seen").read_text() == "x 2 True\n"


@pytest.mark.parametrize("interpreter", ["/nonexistent/sh", "no-such-program-here", "{tmp}/notes", "'bash"])
def test_an_interpreter_that_cannot_run_is_a_config_error(tmp_path, monkeypatch, interpreter):
    write(tmp_path / "notes", "not a program\n").chmod(0o644)
    error = config_error(tmp_path, monkeypatch, {"interpreter": interpreter.format(tmp=tmp_path)})
    assert "evaluate.interpreter" in error, error


def test_an_interpreter_missing_here_is_left_to_the_cluster_nodes(tmp_path, monkeypatch, caplog):
    # the cluster's nodes run the scripts: a program missing on the login node may be there
    setup(tmp_path, monkeypatch, {**KNOBS, "framework": {"executor": "slurm"},
                                  "evaluate": {"script": "evaluate.sh", "interpreter": "no-such-program-here"}},
          {"evaluate.sh": "echo 1 > results.out\n"})
    assert "'no-such-program-here' is not found on this machine" in caplog.text


def test_an_interpreter_on_path_runs_the_script(tmp_path, monkeypatch):
    result, _ = run_script(tmp_path, monkeypatch, "echo 1 > results.out\n", {"interpreter": "sh -e"})
    assert result.status == "ok", result


@pytest.mark.parametrize("log, fragment", [
    ("evaluate.sh", "is taken"), ("param.json", "is taken"),
    (".", "is a directory"), ("logs/", "is a directory"), ("../../other.log", "not a path out of it"),
    ("/tmp/evaluate.log", "not a path out of it"),
])
def test_an_output_log_over_another_file_or_not_a_file_is_a_config_error(tmp_path, monkeypatch, log, fragment):
    error = config_error(tmp_path, monkeypatch, {"output_log": log})
    assert "evaluate.output_log" in error and fragment in error, error


def test_an_output_log_named_as_the_costs_file_makes_the_printed_output_the_costs(tmp_path, monkeypatch):
    result, _ = run_script(tmp_path, monkeypatch, "echo 7\n", {"output_log": "results.out"})
    assert result.status == "ok" and result.costs == {"t": 7.0}, result


def test_an_output_log_in_a_subdirectory_is_written(tmp_path, monkeypatch):
    result, d = run_script(tmp_path, monkeypatch, "echo hello; exit 4\n", {"output_log": "logs/run.log"})
    assert result.status == "failed" and "logs/run.log ends: hello" in result.error, result
    assert (d / "logs" / "run.log").read_text() == "hello\n"


def test_an_extract_log_over_the_costs_file_is_a_config_error(tmp_path, monkeypatch):
    with pytest.raises(DeffeError) as e:
        setup(tmp_path, monkeypatch, {**KNOBS, "evaluate": {"script": "evaluate.sh"},
                                      "extract": {"sample_extract_script": "extract.sh", "output_log": "results.out"}},
              {"evaluate.sh": "true\n", "extract.sh": "echo 1 > results.out\n"})
    assert "extract.output_log" in str(e.value) and "is taken" in str(e.value), e.value


def test_a_script_that_removes_its_sample_directory_is_told_so(tmp_path, monkeypatch):
    result, d = run_script(tmp_path, monkeypatch, 'cd ..; rm -rf "$DEFFE_SAMPLE_DIR"\n')
    assert result.status == "failed", result
    assert result.error == f"the sample's directory {d.resolve()} was removed by the script; results.out was not read"


@pytest.mark.parametrize("text, fragment", [
    ('{"t": true}', "cost 't' is true, not a number"),
    ('{"T": false}', "cost 'T' is false, not a number"),
    ("[true]", "cost 't' is true, not a number"),
    ('{"t": 1, "t": 2}', "gives 't' twice: 1 and 2"),
    ("t 5\nt 6\n", "gives 't' twice: 5 and 6"),
])
def test_a_boolean_or_a_cost_given_twice_in_results_out_fails_the_sample(tmp_path, monkeypatch, text, fragment):
    write(tmp_path / "results.out", text)
    result, _ = run_script(tmp_path, monkeypatch, f"cp {tmp_path / 'results.out'} .\n")
    assert result.status == "failed" and fragment in result.error, result


@pytest.mark.parametrize("text", ['{"t": 5, "t": 5.0, "ok": true}', "t 5\nt 5\n"])
def test_the_same_value_twice_and_other_booleans_are_fine(tmp_path, monkeypatch, text):
    write(tmp_path / "results.out", text)
    result, _ = run_script(tmp_path, monkeypatch, f"cp {tmp_path / 'results.out'} .\n")
    assert result.status == "ok" and result.costs == {"t": 5.0}, result


def test_a_compiled_program_as_the_script_is_a_config_error(tmp_path, monkeypatch):
    sim = tmp_path / "cfg" / "sim"
    sim.parent.mkdir(parents=True)
    shutil.copy(shutil.which("true"), sim)
    with pytest.raises(DeffeError) as e:
        setup(tmp_path, monkeypatch, {**KNOBS, "evaluate": {"script": "sim"}}, {})
    assert "evaluate.script" in str(e.value) and "binary" in str(e.value) and "wrap it" in str(e.value), e.value


def test_a_script_that_is_not_utf8_is_copied_byte_for_byte(tmp_path, monkeypatch):
    script = "# caf\xe9 \xb5s\necho $k > results.out\n".encode("latin-1")
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "evaluate.sh").write_bytes(script)
    fw, ev, ex = setup(tmp_path, monkeypatch, {**KNOBS, "evaluate": {"script": "evaluate.sh"}}, {})
    result, d = evaluate_point(fw, ev, ex, {"k": 1})
    assert result.status == "ok", result
    assert (d / "evaluate.sh").read_bytes() == script.replace(b"$k", b"1")
    assert any("caf\ufffd" in line for line in ev.DryRun({"k": 1}))   # shown, not failing to print


def test_a_config_error_at_the_start_writes_nothing(tmp_path):
    write(tmp_path / "evaluate.sh", "echo 1 > results.out\n")
    write(tmp_path / "config.json", json.dumps({
        **KNOBS, "costs": ["t"], "evaluate": {"script": "evaluate.sh", "output_log": "evaluate.sh"},
        "exploration": {"plugin": "sampling", "samples_per_step": 1}}))
    run = run_deffe("-config", "config.json", cwd=tmp_path)
    assert_user_error(run, "config.json:evaluate.output_log:")
    assert sorted(os.listdir(tmp_path)) == ["config.json", "evaluate.sh"]   # no run directory
    assert (tmp_path / "evaluate.sh").read_text() == "echo 1 > results.out\n"
