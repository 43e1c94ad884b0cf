"""What a run leaves behind when it is stopped, and when its samples end: SIGTERM (kill, timeout, a batch
system) and SIGHUP (a closed terminal) stop it as a Ctrl-C does, and no process a sample started outlives
the sample."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from cli_helpers import (HANG_GUARD, HOLDING_EVALUATOR, RUN_DEFFE, assert_interrupted_quietly, ctrl_c, deffe_env,
                         run_deffe, write)


def setup(folder, hold: bool, model=None):
    write(folder / "ev.py", HOLDING_EVALUATOR)
    write(folder / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [0, 1, 2, 3]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate", "timeout": 300},
        "exploration": {"plugin": "sampling", "samples_per_step": 4, "max_samples": 4}, "model": model,
        "framework": {"progress": False}}))
    if hold:
        (folder / "hold").write_text("")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except FileNotFoundError:
        return False


def helpers(folder) -> list[int]:
    return [int(p.read_text()) for p in folder.glob("helper_*.pid") if p.read_text()]


def both_samples_started(tmp_path, driver) -> list:
    """The helper processes of the two samples in flight, once both run (the driver's stderr if not)."""
    end = time.monotonic() + HANG_GUARD
    while len(helpers(tmp_path)) < 2 and driver.poll() is None and time.monotonic() < end:
        time.sleep(0.1)
    started = helpers(tmp_path)
    assert len(started) == 2, (tmp_path / "err.txt").read_text()
    return started


def gone(pids: list[int], seconds: float = 10) -> list[int]:
    """The pids still alive after at most ``seconds`` (a killed process takes a moment to go)."""
    end = time.monotonic() + seconds
    while any(alive(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


def statuses(folder) -> dict[str, int]:
    with sqlite3.connect(folder / "explore" / "deffe.db") as db:
        return dict(db.execute("SELECT status, COUNT(*) FROM samples GROUP BY status").fetchall())


@pytest.fixture(autouse=True)
def no_leftovers(tmp_path):
    """Whatever a test finds, the helpers it started do not outlive it."""
    yield
    for pid in helpers(tmp_path):
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_the_run_as_ctrl_c_does(tmp_path, sig):
    setup(tmp_path, hold=True)
    # output to files: a process left behind holding a pipe would keep the test waiting
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
        # the signal's default disposition: run under nohup (a CI script), SIGHUP is ignored, and the driver
        # rightly leaves an ignored signal ignored
        driver = subprocess.Popen([sys.executable, str(RUN_DEFFE), "-config", "config.json", "-jobs", "2"],
                                  cwd=tmp_path, env=deffe_env(), stdout=out, stderr=err,
                                  preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL))
    try:
        started = both_samples_started(tmp_path, driver)
        driver.send_signal(sig)
        driver.wait(timeout=HANG_GUARD)
    finally:
        if driver.poll() is None:
            driver.kill()
    out, err = (tmp_path / "out.txt").read_text(), (tmp_path / "err.txt").read_text()
    name = signal.Signals(sig).name
    assert driver.returncode == 128 + sig, (out, err)
    assert err.strip().splitlines()[-1] == (f"interrupted by {name}: every finished evaluation is stored; "
                                            "run the same command again to resume"), err
    assert "Traceback" not in err
    assert gone(started) == []            # the samples' processes were stopped with them
    # the rerun evaluates the samples that were running, and nothing is left running
    (tmp_path / "hold").unlink()
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path)
    assert r.rc == 0, r
    assert "in flight" in r.err, r
    assert statuses(tmp_path) == {"ok": 4}


# each evaluation starts a helper and returns, leaving it running (a simulator's daemon, a forgotten job); the
# helper of a = 1 ignores SIGTERM. Each also notes its worker and the state of the helpers started before it.
LEAVES = '''
import json, os, subprocess

def state(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"

def evaluate(p):
    before = {f: state(int(open(f).read())) for f in os.listdir(".") if f.startswith("helper_")}
    argv = ["bash", "-c", "trap '' TERM; exec sleep 300"] if p["a"] == 1 else ["sleep", "300"]
    helper = subprocess.Popen(argv)
    with open(f"helper_{p['a']}.pid", "w") as fh:
        fh.write(str(helper.pid))
    with open(f"seen_{p['a']}.json", "w") as fh:
        json.dump({"worker": os.getpid(), "before": before}, fh)
    return {"t": p["a"]}
'''


def test_what_an_evaluation_leaves_running_is_stopped_when_it_returns_and_the_worker_goes_on(tmp_path):
    # the helpers outlived their sample, the worker and the run: N `sleep 300` left after every run
    write(tmp_path / "ev.py", LEAVES)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [0, 1, 2]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate", "timeout": 300},
        "exploration": {"plugin": "sampling", "samples_per_step": 3, "max_samples": 3}, "model": None}))
    r = run_deffe("-config", "config.json", "-jobs", "1", cwd=tmp_path)
    assert r.rc == 0 and statuses(tmp_path) == {"ok": 3}, r
    seen = [json.loads(f.read_text()) for f in tmp_path.glob("seen_*.json")]
    assert len({s["worker"] for s in seen}) == 1          # one worker ran the three samples: it was not killed
    before = [state for s in seen for state in s["before"].values()]
    # when the next sample started, the helpers of the earlier ones had been stopped and reaped (no zombie),
    # the one ignoring SIGTERM too
    assert sorted(before) == ["gone"] * 3, seen
    assert len(helpers(tmp_path)) == 3 and gone(helpers(tmp_path), seconds=2) == []


def test_ctrl_c_stops_an_asynchronous_run_quietly(tmp_path):
    """A terminal's Ctrl-C reaches the whole process group, the model's training process (train_process.py)
    included: it printed a traceback ending in KeyboardInterrupt above the driver's line. Now the driver alone
    decides, stops it and its samples' processes, and says it in one line."""
    setup(tmp_path, hold=True, model={"plugin": "sklearn_rf"})

    def ready(driver):   # the samples running, and the training process started
        return len(helpers(tmp_path)) == 2 and any("spawn_main" in " ".join(p.cmdline()) for p in driver.children())

    run, left = ctrl_c(tmp_path, ["-config", "config.json", "-jobs", "2", "-async"], ready)
    assert_interrupted_quietly(run, left)
    assert gone(helpers(tmp_path)) == []


def test_a_driver_killed_with_sigkill_leaves_no_sample_process_running(tmp_path):
    """kill -9 of the driver: its workers died with it (PR_SET_PDEATHSIG), but what their samples had started
    was re-parented to pid 1 and ran on to its end (a simulator for hours), beside the resumed run that evaluates
    the same points again. Now the workers' watchdog stops the samples' sessions."""
    setup(tmp_path, hold=True)
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
        driver = subprocess.Popen([sys.executable, str(RUN_DEFFE), "-config", "config.json", "-jobs", "2"],
                                  cwd=tmp_path, env=deffe_env(), stdout=out, stderr=err)
    try:
        started = both_samples_started(tmp_path, driver)
        driver.kill()
        driver.wait(timeout=HANG_GUARD)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == -signal.SIGKILL
    assert gone(started, seconds=120) == []   # a deadline for a loaded machine, not a measure
    (tmp_path / "hold").unlink()
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path)
    assert r.rc == 0 and statuses(tmp_path) == {"ok": 4}, r
