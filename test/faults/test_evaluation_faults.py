"""Evaluations that crash, exit non-zero, hang, print garbage, write nothing, NaN or a negative time, or take
their worker down: each sample is stored with its status and reason, the run goes on, retries are made as
configured, and failures are never learned as measurements."""
import json
import sqlite3

from cli_helpers import read_csv, run_deffe, write
from framework.checkpoint import read_meta

# point a -> what its evaluation does (a script evaluation, so that every way of going wrong is possible)
SCRIPT = r'''
case $a in
  0) echo 3 > results.out ;;                                  # fine
  1) exit 3 ;;                                                # exits non-zero
  2) sleep 300 ;;                                             # hangs past the timeout
  3) echo "Segmentation fault (core dumped)" > results.out ;; # garbage
  4) : ;;                                                     # writes nothing
  5) echo nan > results.out ;;                                # NaN
  6) echo -2.5 > results.out ;;                               # a negative time
  7) kill -9 $PPID ;;                                         # takes its worker down
  8) echo 8 > results.out ;;                                  # fine
esac
'''


def test_every_way_of_failing_is_stored_with_its_reason_and_the_run_goes_on(tmp_path):
    write(tmp_path / "run.sh", SCRIPT)
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": "0-9"}], "costs": [{"name": "t", "min": 0}],
        "evaluate": {"script": "run.sh", "timeout": 2}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 9}}))
    r = run_deffe("-config", "config.json", "-jobs", "3", cwd=tmp_path)
    assert r.rc == 0, r
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        rows = {json.loads(p)["a"]: (s, json.loads(c or "{}"), e or "") for p, s, c, e in
                db.execute("SELECT params, status, costs, error FROM samples")}
    assert rows[0][:2] == ("ok", {"t": 3.0}) and rows[8][:2] == ("ok", {"t": 8.0})
    assert rows[1][0] == "failed" and "exited with status 3" in rows[1][2]
    assert rows[2][0] == "timeout" and "longer than 2 s" in rows[2][2]
    assert rows[3][0] == "failed" and "cannot read costs" in rows[3][2]
    assert rows[4][0] == "failed" and "results.out was not written" in rows[4][2]
    assert rows[5][0] == "failed" and "NaN" in rows[5][2]
    assert rows[6][0] == "failed" and "t = -2.5 is below its minimum 0" in rows[6][2]
    assert rows[7][0] == "failed" and ("process died" in rows[7][2] or "exited with status" in rows[7][2])
    assert all(s != "ok" or c for s, c, _e in rows.values())
    assert "9 evaluated now, 0 from the store, 7 failed (78%)" in r.out, r



def test_a_script_killed_by_a_signal_is_a_failed_sample_naming_the_signal(tmp_path):
    # it said "exited with status -11" (Python's returncode), and "died (killed by signal 11)" for a worker
    write(tmp_path / "run.sh", "case $a in\n  0) kill -SEGV $$ ;;\n  1) : ;;\n  2) kill -TERM $PPID ;;\n"
                               "  3) echo 3 > results.out ;;\nesac\n")
    write(tmp_path / "extract.sh", "case $a in\n  1) kill -SEGV $$ ;;\nesac\n")
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": [0, 1, 2, 3]}], "costs": ["t"],
        "evaluate": {"script": "run.sh"}, "extract": {"sample_extract_script": "extract.sh"},
        "model": {"plugin": None}, "exploration": {"plugin": "sampling", "samples_per_step": 4}}))
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path)
    assert r.rc == 0, r
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        rows = {json.loads(p)["a"]: (s, e or "") for p, s, e in db.execute("SELECT params, status, error FROM samples")}
    assert rows[0] == ("failed", "the script was killed by signal 11 (SIGSEGV)"), rows
    assert rows[1] == ("failed", "the extract script was killed by signal 11 (SIGSEGV)"), rows
    # the worker (the script's parent); not SIGSEGV: pytest's faulthandler, inherited by the fork, would print
    assert rows[2] == ("failed", "the evaluation process died: it was killed by signal 15 (SIGTERM)"), rows
    assert rows[3] == ("ok", ""), rows
    # (the run's paths hold pytest's temporary folder, which may be named pytest-11xx: not a status)
    assert "-11" not in (r.out + r.err).replace(str(tmp_path.parent), "<tmp>"), r


def test_how_a_process_ended_is_said_in_words():
    from framework.errors import exit_status
    assert exit_status(3) == "exited with status 3" and exit_status(0) == "exited with status 0"
    assert exit_status(-9) == "was killed by signal 9 (SIGKILL)"
    assert exit_status(-200) == "was killed by signal 200"     # no name on this system


FLAKY = '''
import os
def evaluate(p):
    counter = os.path.join(os.environ["FAULT_DIR"], f"tries_{p['a']}")
    tries = int(open(counter).read()) + 1 if os.path.exists(counter) else 1
    open(counter, "w").write(str(tries))
    if p["a"] % 3 == 0 and tries < 2:
        raise RuntimeError(f"transient failure of {p['a']}")
    if p["a"] == 7:
        raise RuntimeError("7 never works")
    return {"t": p["a"]}
'''


def test_retries_are_made_as_configured(tmp_path):
    write(tmp_path / "ev.py", FLAKY)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-9"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate", "retries": 2}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 9}}))
    r = run_deffe("-config", "config.json", cwd=tmp_path, env={"FAULT_DIR": str(tmp_path)})
    assert r.rc == 0, r
    rows = {int(x["a"]): x for x in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")}
    assert all(rows[a]["status"] == "ok" for a in (0, 3, 6))                 # failed once, then worked
    assert rows[7]["status"] == "failed" and (tmp_path / "tries_7").read_text() == "3"   # 1 + 2 retries
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        error = db.execute("SELECT error FROM samples WHERE status='failed'").fetchone()[0]
    assert "(after 3 tries)" in error and "8 failed" not in r.out and ", 1 failed (11%)" in r.out, r


def test_timeout_0_is_no_limit_and_a_sample_timing_out_on_every_try_is_stored_as_timeout(tmp_path):
    # as docs/config.md (evaluate.timeout, evaluate.retries) and docs/executors.md say
    for timeout, status in ((0, "ok"), (0.5, "timeout")):
        d = tmp_path / str(timeout)
        write(d / "ev.py", "import time\ndef evaluate(p):\n    time.sleep(1.5)\n    return {'t': p['a']}\n")
        write(d / "config.json", json.dumps({
            "python_path": ["."], "knobs": [{"name": "a", "values": [1]}], "costs": ["t"],
            "evaluate": {"plugin": "python", "function": "ev:evaluate", "timeout": timeout, "retries": 1},
            "model": {"plugin": None}, "exploration": {"plugin": "sampling", "samples_per_step": 1}}))
        r = run_deffe("-config", "config.json", cwd=d)
        assert r.rc == 0, r
        [row] = read_csv(d / "explore" / "deffe_evaluation.csv")
        assert row["status"] == status, (timeout, row)
    assert "(after 2 tries)" in r.out + r.err, r


def test_a_run_where_a_third_fails_completes_and_learns_only_measurements(tmp_path):
    write(tmp_path / "ev.py", "def evaluate(p):\n    if (p['a'] * 7 + p['b']) % 3 == 0:\n"
                              "        raise ValueError(f\"bad point {p['a']} {p['b']}\")\n"
                              "    return {'t': p['a'] + 10 * p['b']}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-30"}, {"name": "b", "values": "0-30"}],
        "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "torch_mlp", "epochs": 40, "ensemble": 2},
        "exploration": {"initial_samples": 30, "samples_per_step": 15, "max_samples": 60}}))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    failed = sum(x["status"] == "failed" for x in rows)
    assert len(rows) == 60 and 10 <= failed <= 35
    assert f"{failed} failed ({100 * failed / 60:.0f}%)" in r.out, r
    last = read_csv(tmp_path / "explore" / "model_metrics.csv")[-1]
    assert int(last["failed"]) == failed
    # the regressors learned from the successful points outside the hold-out, and nothing else
    meta = read_meta(tmp_path / "explore" / "checkpoints" / "explore_0.ckpt")
    assert meta.samples == (60 - failed) - int(last["holdout"])
