"""Evaluations that fail, crash, hang or are infeasible never stop the run; extract formats."""
import json
import os
import time
from pathlib import Path

from cli_helpers import read_csv, run_deffe, write

EVALUATOR = '''
import os, time
from framework.protocols import Infeasible

def evaluate(point):
    a = point["a"]
    if a == 1:
        raise ValueError("bad point")
    if a == 2:
        os._exit(3)                      # the evaluation process dies
    if a == 3:
        time.sleep(60)                   # hangs: stopped by the timeout
    if a == 4:
        raise Infeasible("out of memory", {"t": 99.0})
    if a == 5:
        return {"t": "not a number"}
    if a == 6:
        return {"other": 1}
    return {"t": a * 2}
'''


def test_failures_are_stored_and_the_run_goes_on(tmp_path):
    write(tmp_path / "ev.py", EVALUATOR)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "a", "values": "0-8"}],
        "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate", "timeout": 2},
        "sampling": {"plugin": "factorial"},
    }))
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path)
    assert r.rc == 0, r
    rows = {int(row["a"]): row for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")}
    assert len(rows) == 8
    status = {a: row["status"] for a, row in rows.items()}
    assert status == {0: "ok", 1: "failed", 2: "failed", 3: "timeout", 4: "infeasible", 5: "failed",
                      6: "failed", 7: "ok"}
    assert rows[7]["t"] == "14" and rows[4]["t"] == "99" and rows[1]["t"] == ""
    import sqlite3
    db = sqlite3.connect(tmp_path / "explore" / "deffe.db")
    errors = dict(db.execute("SELECT json_extract(params, '$.a'), error FROM samples"))
    assert errors[1].startswith("ValueError: bad point")
    assert "died" in errors[2] and "exited with status 3" in errors[2]
    assert "longer than 2 s" in errors[3]
    assert "not a number" in errors[5]
    assert "no value for t" in errors[6]
    # a failed sample is not evaluated again on a rerun, unless asked
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert "0 evaluated now, 8 from the store" in r.out, r


def test_a_python_evaluator_may_run_a_process_pool(tmp_path):
    # "daemonic processes are not allowed to have children": every sample failed, the run stopped
    write(tmp_path / "ev.py", "from concurrent.futures import ProcessPoolExecutor\n"
                              "def part(x):\n    return x * 2\n"
                              "def evaluate(point):\n"
                              "    with ProcessPoolExecutor(2) as pool:\n"
                              "        return {'t': sum(pool.map(part, [point['a'], 1]))}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-3"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate", "timeout": 60},
        "sampling": {"plugin": "factorial"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling"}}))
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert {(row["a"], row["t"], row["status"]) for row in rows} == \
        {(str(a), str(2 * a + 2), "ok") for a in range(3)}


def test_retry_failed(tmp_path):
    write(tmp_path / "ev.py", "def evaluate(p):\n    raise RuntimeError('no')\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}}))
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    write(tmp_path / "ev.py", "def evaluate(p):\n    return p['a']\n")
    r = run_deffe("-config", "config.json", "-retry-failed", cwd=tmp_path)   # the evaluator changed: refused
    assert r.rc == 2 and "different evaluate settings" in r.err and "-keep-results" in r.err, r
    r = run_deffe("-config", "config.json", "-retry-failed", "-keep-results", cwd=tmp_path)
    assert "2 evaluated now" in r.out and "its results are kept" in r.err, r
    assert [row["status"] for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")] == ["ok", "ok"]


def test_script_timeout_kills_the_script_and_its_children(tmp_path):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": [1]}], "costs": ["t"],
        "evaluate": {"script": "run.sh", "timeout": 1}}))
    write(tmp_path / "run.sh", "sleep 300 &\necho $! > $DEFFE_SAMPLE_DIR/child.pid\nsleep 300\n"
                               "echo 1 > results.out\n")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert read_csv(tmp_path / "explore" / "deffe_evaluation.csv")[0]["status"] == "timeout"
    child = int(next((tmp_path / "explore").glob("explore_*/child.pid")).read_text())
    assert not _alive(child), "the script's background child outlived the timeout"



def test_what_a_script_leaves_running_does_not_outlive_its_sample(tmp_path):
    # `cmd &` outlived the sample and the run (only a timeout stopped the process group), and a job in a group
    # of its own (`set -m`: job control) even a timeout
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"],
        "evaluate": {"script": "run.sh", "timeout": 2}}))
    write(tmp_path / "run.sh", "sleep 300 &\necho $! > $DEFFE_SAMPLE_DIR/child.pid\n"
                               "set -m\nsleep 300 &\necho $! > $DEFFE_SAMPLE_DIR/grouped.pid\n"
                               "[ $a = 2 ] && sleep 300\necho 1 > results.out\n")
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path)
    assert r.rc == 0, r
    assert sorted(row["status"] for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == \
        ["ok", "timeout"]
    pids = [int(f.read_text()) for f in (tmp_path / "explore").glob("explore_*/*.pid")]
    assert len(pids) == 4
    time.sleep(0.5)   # a process sent SIGKILL takes a moment to go
    left = [p for p in pids if _alive(p)]
    for p in left:   # not to leave them to the next tests
        os.kill(p, 9)
    assert left == [], "a process the script started outlived the run"


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its reaper has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_failing_script_reports_its_exit_status_and_log(tmp_path):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": [1]}], "costs": ["t"], "evaluate": {"script": "run.sh"}}))
    write(tmp_path / "run.sh", "echo something broke\nexit 4\n")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0 and "exited with status 4" in r.err and "something broke" in r.err, r


def extract_case(tmp_path, text, extract, costs=("t", "m")):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": [1]}], "costs": list(costs),
        "evaluate": {"script": "run.sh"}, "extract": extract}))
    write(tmp_path / "out.txt", text)
    write(tmp_path / "run.sh", f"cp {tmp_path / 'out.txt'} results.out\n")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    return read_csv(tmp_path / "explore" / "deffe_evaluation.csv")[0]


def test_extract_json(tmp_path):
    row = extract_case(tmp_path, '{"m": 2.5, "t": 3, "extra": 1}', {"format": "json"})
    assert (row["t"], row["m"], row["status"]) == ("3", "2.5", "ok")


def test_extract_lines_in_cost_order(tmp_path):
    row = extract_case(tmp_path, "3\n2.5\n", {})
    assert (row["t"], row["m"]) == ("3", "2.5")


def test_extract_name_value_lines(tmp_path):
    row = extract_case(tmp_path, "m: 2.5\nt = 3\n", {"format": "lines"})
    assert (row["t"], row["m"]) == ("3", "2.5")


def test_extract_regex(tmp_path):
    text = "run finished\ntime elapsed: 3.5 s\npeak memory 1024 MB\n"
    row = extract_case(tmp_path, text, {"format": "regex",
                                        "regex": {"t": r"time elapsed: ([0-9.]+)", "m": r"memory (\d+)"}})
    assert (row["t"], row["m"]) == ("3.5", "1024")


def test_extract_missing_file_is_a_failed_sample(tmp_path):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": [1]}], "costs": ["t"], "evaluate": {"script": "run.sh"}}))
    write(tmp_path / "run.sh", "true\n")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0 and "results.out was not written" in r.err, r


def test_a_timeout_beyond_any_wait_is_no_limit(tmp_path):
    # 1e300 s overflowed the operating system's wait in the middle of the run: OverflowError, a traceback
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': p['a']}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-4"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate", "timeout": 1e300}, "model": {"plugin": None},
        "sampling": {"plugin": "factorial"}}))
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path)
    assert r.rc == 0 and "Traceback" not in r.err, r
    assert {row["status"] for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")} == {"ok"}


RETURNS = '''
from decimal import Decimal
import numpy as np
from framework.protocols import EvaluationOutput

def evaluate(p):
    a = p["a"]
    return [
        lambda: np.float32(2.5),                         # 0: numbers, from numpy or Decimal
        lambda: np.int64(7),                             # 1
        lambda: np.array([3.5]),                         # 2
        lambda: np.array(4.0),                           # 3
        lambda: Decimal("2.5"),                          # 4
        lambda: [np.float64(1.5)],                       # 5
        lambda: EvaluationOutput({"t": 1.0}, status="crashed"),   # 6: no status of the protocol
        lambda: EvaluationOutput({}),                    # 7: ok without its cost
        lambda: EvaluationOutput(None),                  # 8
        lambda: float("inf"),                            # 9: no measurement
        lambda: {"t": float("-inf")},                    # 10
        lambda: "done",                                  # 11: not costs, and nothing for extract to read
        lambda: None,                                    # 12
        lambda: EvaluationOutput({"t": float("inf")}, status="infeasible", note="never ends"),   # 13
    ][a]()
'''


def test_what_a_python_evaluator_returns_is_read_or_the_sample_fails_saying_why(tmp_path):
    # numpy numbers and Decimal were "not costs": every sample failed with "results.out was not written in
    # .../explore_1", a directory that does not exist; an unknown status or an 'ok' without costs was stored
    # as it came, and an infinite cost as a measurement
    write(tmp_path / "ev.py", RETURNS)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-14"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "sampling": {"plugin": "factorial"}}))
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path)
    assert r.rc == 0 and "Traceback" not in r.err, r
    import sqlite3
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        rows = {json.loads(p)["a"]: (s, json.loads(c or "{}"), e or "")
                for p, s, c, e in db.execute("SELECT params, status, costs, error FROM samples")}
    assert {a: rows[a][:2] for a in range(6)} == {
        0: ("ok", {"t": 2.5}), 1: ("ok", {"t": 7.0}), 2: ("ok", {"t": 3.5}), 3: ("ok", {"t": 4.0}),
        4: ("ok", {"t": 2.5}), 5: ("ok", {"t": 1.5})}
    assert rows[6][0] == "failed" and "status 'crashed'" in rows[6][2] and "not one of ok" in rows[6][2]
    assert rows[7] == rows[8] == ("failed", {}, "the evaluator gave no value for t (it gave: nothing)")
    assert rows[9] == rows[10] == ("failed", {}, "the evaluator: cost 't' is infinite")
    assert rows[11][0] == "failed" and rows[11][2].startswith("the evaluator returned a str ('done'), not costs")
    assert rows[12][0] == "failed" and rows[12][2].startswith("the evaluator returned None, not costs")
    assert "results.out" not in rows[11][2] + rows[12][2]
    assert rows[13] == ("infeasible", {"t": float("inf")}, "never ends")
    assert "14 evaluated now, 0 from the store, 7 failed" in r.out, r


def test_a_keyboard_interrupt_raised_by_an_evaluation_is_that_sample_failing(tmp_path):
    # it printed "Process ForkProcess-N: Traceback ..." for every such sample and was stored as "the
    # evaluation process died (exit status 1)"; a Ctrl-C of the driver still stops the run
    # (test/faults/test_kill_resume.py)
    write(tmp_path / "ev.py", "def evaluate(p):\n    if p['a'] % 2:\n        raise KeyboardInterrupt\n"
                              "    return {'t': p['a']}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-4"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "sampling": {"plugin": "factorial"}}))
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path)
    assert r.rc == 0 and "Traceback" not in r.err + r.out, r
    rows = {int(row["a"]): row["status"] for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")}
    assert rows == {0: "ok", 1: "failed", 2: "ok", 3: "failed"}
    import sqlite3
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        errors = [e for (e,) in db.execute("SELECT error FROM samples WHERE status = 'failed'")]
    assert len(errors) == 2 and all(e.startswith("KeyboardInterrupt\n") for e in errors), errors


def test_an_evaluator_whose_every_status_is_unknown_stops_the_run_naming_it(tmp_path):
    # the rows were stored with status 'crashed' and the summary said "0 failed"
    write(tmp_path / "ev.py", "from framework.protocols import EvaluationOutput\ndef evaluate(p):\n"
                              "    return EvaluationOutput({'t': 1.0}, status='crashed')\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-8"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 4}}))
    r = run_deffe("-config", "config.json", "-jobs", "1", cwd=tmp_path)
    assert r.rc == 2 and "Traceback" not in r.err, r
    error = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "the evaluator returned the status 'crashed', which is not one of ok, failed, " \
        "timeout, infeasible" in error[0], r
    assert {row["status"] for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")} == {"failed"}


NOTES_AND_INFEASIBLE = '''
from framework.protocols import EvaluationOutput, Infeasible

def evaluate(p):
    a = p["a"]
    if a == 0:
        return EvaluationOutput({}, status="failed", note={"solver": "diverged", "iters": 500})
    if a == 1:
        return EvaluationOutput({}, status="failed", note=RuntimeError("solver diverged"))
    if a == 2:
        return EvaluationOutput({"t": 1.0}, note=[1, (2, 3)])
    if a == 3:
        raise Infeasible("out of memory", {"t": "n/a"})
    if a == 4:
        raise Infeasible("out of memory", [float("inf")])
    if a == 5:
        raise Infeasible("out of memory", {"t": "12", "mem": 3})
    raise Infeasible("out of memory", "much")
'''


def test_a_note_that_is_no_text_is_stored_as_text_and_infeasible_costs_are_read_as_any_costs(tmp_path):
    # a note that was a dict or an exception stopped the run with "cannot write the run directory (Error
    # binding parameter 3 ...) ... free space or make it writable"; Infeasible's costs that were no numbers
    # stopped it with "every evaluation so far failed with the same error: ValueError: could not convert
    # string to float: 'n/a'", a list of them was a TypeError raised by Infeasible itself
    write(tmp_path / "ev.py", NOTES_AND_INFEASIBLE)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-7"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "sampling": {"plugin": "factorial"}}))
    r = run_deffe("-config", "config.json", "-jobs", "1", cwd=tmp_path)
    assert r.rc == 0 and "Traceback" not in r.err + r.out and "error:" not in r.err, r
    import sqlite3
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        rows = {json.loads(p)["a"]: (s, json.loads(c or "{}"), e or "")
                for p, s, c, e in db.execute("SELECT params, status, costs, error FROM samples")}
    assert rows[0] == ("failed", {}, '{"solver": "diverged", "iters": 500}')
    assert rows[1] == ("failed", {}, "RuntimeError: solver diverged")
    assert rows[2] == ("ok", {"t": 1.0}, "[1, [2, 3]]")
    assert rows[3] == ("failed", {}, "the evaluator's Infeasible: cost 't' is not a number: 'n/a' "
                                     "(reason: out of memory)")
    assert rows[4] == ("infeasible", {"t": float("inf")}, "out of memory")
    assert rows[5] == ("infeasible", {"t": 12.0, "mem": 3.0}, "out of memory")
    assert rows[6][0] == "failed" and rows[6][2].startswith("the evaluator's Infeasible gave a str ('much'), not costs")
    assert "7 evaluated now, 0 from the store, 4 failed" in r.out, r
