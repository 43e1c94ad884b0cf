"""Extract ``cost_output`` with Deffe's extract script and Deffe's ways of writing the costs.

The plugins are built in-process from a config; each sample goes through evaluate and extract as a worker
runs it. The evaluate script is a one-liner writing what the test needs.
"""
from pathlib import Path

from script_helpers import evaluate_point, setup

KNOBS = [{"name": "a", "values": [2]}, {"name": "flag", "values": [True]}]
SCENARIOS = [{"name": "size", "map": "options", "values": [64]}]
POINT = {"a": 2, "flag": True, "size": 64}


def run(tmp_path: Path, monkeypatch, files: dict[str, str], costs=("t",), extract=None, evaluate=None):
    """Build the plugins for a config in <tmp>/cfg (the driver started in <tmp>/exp); evaluate POINT."""
    fw, ev, ex = setup(tmp_path, monkeypatch, {
        "knobs": KNOBS, "scenarios": SCENARIOS, "costs": list(costs),
        "evaluate": {"sample_evaluate_script": "evaluate.sh", **(evaluate or {})}, "extract": extract or {}},
        {"evaluate.sh": "echo evaluated\n", **files})
    return evaluate_point(fw, ev, ex, dict(POINT), sample_id=5)


def test_the_extract_script_is_a_substituted_copy_run_in_the_sample_directory(tmp_path, monkeypatch):
    text = ('echo "post-processing $evaluate_index"\n'
            '[[ -f evaluate.log ]] && echo $(($a * ${options})) > results.out\n'
            'echo "$DEFFE_CONFIG_DIR" > where.txt\n')
    result, d = run(tmp_path, monkeypatch, {"extract.sh": text}, extract={"sample_extract_script": "extract.sh"})
    assert result.status == "ok" and result.costs == {"t": 128.0}, result
    assert "$DEFFE_CONFIG_DIR" not in (d / "extract.sh").read_text()     # the copy, substituted
    assert (d / "where.txt").read_text().strip() == str(tmp_path / "cfg")
    assert (d / "extract.log").read_text() == "post-processing 5\n"     # its output, in its log


def test_a_py_extract_script_gets_the_point_as_arguments(tmp_path, monkeypatch):
    # a strict parser: Deffe gave an extract script no --evaluate_index
    text = ("import argparse\np = argparse.ArgumentParser()\np.add_argument('--scale', type=int)\n"
            "p.add_argument('--a', type=int)\np.add_argument('--options', type=int)\n"
            "p.add_argument('--flag', action='store_true')\na = p.parse_args()\nprint('extracting')\n"
            "open('results.out', 'w').write(str(a.scale * a.a * a.options if a.flag else -1))\n")
    result, d = run(tmp_path, monkeypatch, {"extract.py": text},
                    extract={"sample_extract_script": "extract.py", "sample_extract_arguments": "--scale 10",
                             "sample_extract_excludes": "size", "output_log": "post.log"})
    assert result.status == "ok" and result.costs == {"t": 1280.0}, result
    assert (d / "post.log").read_text() == "extracting\n"


def test_a_missing_extract_script_is_skipped(tmp_path, monkeypatch):
    result, _ = run(tmp_path, monkeypatch, {"evaluate.sh": "echo 3 > results.out\n"},
                    extract={"sample_extract_script": "extract.sh"})
    assert result.status == "ok" and result.costs == {"t": 3.0}, result


def test_a_failing_extract_script_fails_the_sample_only_without_costs(tmp_path, monkeypatch):
    # Deffe read results.out whatever the extract script's status (a last `[ -f x ] && ...` returns 1)
    result, _ = run(tmp_path, monkeypatch, {"evaluate.sh": "echo 3 > results.out\n",
                                            "extract.sh": "echo no stats found\nexit 4\n"},
                    extract={"sample_extract_script": "extract.sh"})
    assert result.status == "ok" and result.costs == {"t": 3.0}, result
    result, _ = run(tmp_path / "b", monkeypatch, {"evaluate.sh": "echo starting\n",
                                                  "extract.sh": "echo no stats found\nexit 4\n"},
                    extract={"sample_extract_script": "extract.sh"})
    assert result.status == "failed" and "extract script exited with status 4" in result.error, result
    assert "extract.log ends: no stats found" in result.error


def test_no_costs_after_a_script_that_exited_0_says_what_its_log_ends_with(tmp_path, monkeypatch):
    # Deffe's evaluate_gem5.sh exits 0 when gem5 is not there: the reason is in its log, not its status
    script = "echo starting gem5\n/nowhere/gem5.opt --config x\necho done > /dev/null\n"
    result, _ = run(tmp_path, monkeypatch, {"evaluate.sh": script})
    assert result.status == "failed" and result.error.startswith("results.out was not written in "), result
    assert "; evaluate.log ends: " in result.error, result.error
    assert result.error.endswith("evaluate.sh: line 2: /nowhere/gem5.opt: No such file or directory"), result.error
    result, _ = run(tmp_path / "b", monkeypatch, {"evaluate.sh": script + "touch results.out\n"})
    assert "results.out is empty; evaluate.log ends: " in result.error, result


def test_the_first_lines_are_the_costs_as_in_deffe(tmp_path, monkeypatch):
    # Deffe's gem5 extract.sh writes cycles and seconds for the one cost
    result, _ = run(tmp_path, monkeypatch, {"evaluate.sh": "printf '5400000\\n0.0054\\n' > results.out\n"})
    assert result.status == "ok" and result.costs == {"t": 5400000.0}, result
    result, _ = run(tmp_path, monkeypatch, {"evaluate.sh": "printf '1\\n2\\nnot a cost\\n' > results.out\n"},
                    costs=("t", "u"))
    assert result.status == "ok" and result.costs == {"t": 1.0, "u": 2.0}, result


def test_a_byte_order_mark_or_a_number_too_long_for_python_is_read(tmp_path, monkeypatch):
    # a Windows tool's results file began with a BOM: the first number was not one, every sample failed
    result, _ = run(tmp_path, monkeypatch, {"evaluate.sh": "printf '\\357\\273\\2779\\r\\n' > results.out\n"})
    assert result.status == "ok" and result.costs == {"t": 9.0}, result
    # 5,000 digits: Python refuses int() of more than 4,300, and the ValueError crashed every sample alike;
    # read, it is beyond any float: infinite, which is no measurement (it was stored ok, as inf)
    result, _ = run(tmp_path, monkeypatch, {"evaluate.sh": f"printf '{'9' * 5000}' > results.out\n"})
    assert result.status == "failed" and "cost 't' is infinite" in result.error and result.crash is None, result


def test_fewer_numbers_than_costs_is_a_failed_sample(tmp_path, monkeypatch):
    result, _ = run(tmp_path, monkeypatch, {"evaluate.sh": "echo 7 > results.out\n"}, costs=("t", "u"))
    assert result.status == "failed" and result.costs == {}, result
    assert "results.out has 1 number(s) for 2 costs (t, u)" in result.error


def test_json_keys_match_the_cost_names_whatever_their_case(tmp_path, monkeypatch):
    text = '{"CPU_Cycles": 10, "power": 2.5, "time": 1, "TIME": 9}'
    result, _ = run(tmp_path, monkeypatch, {"evaluate.sh": f"echo '{text}' > results.json\n"},
                    costs=("cpu_cycles", "Power", "time"), extract={"cost_output": "results.json"})
    assert result.status == "ok" and result.costs == {"cpu_cycles": 10.0, "Power": 2.5, "time": 1.0}, result
    result, _ = run(tmp_path, monkeypatch, {"evaluate.sh": """echo '{"Time": 1, "TIME": 9}' > results.json\n"""},
                    extract={"cost_output": "results.json"}, costs=("time",))
    assert result.status == "failed" and "which one is 'time'" in result.error, result
