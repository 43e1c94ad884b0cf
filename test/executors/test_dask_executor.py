"""The Dask executor on real Dask engines on the loopback: a local cluster it starts itself, and an external
scheduler with two workers started here as processes, as a user would (``dask scheduler`` / ``dask worker``).

What the driver relies on: each submitted sample's result comes back once, in completion order; a sample
over its timeout is stopped with its children; exceptions and a dead worker fail that sample only; samples
can be submitted while results are read; queued samples can be dropped; closing (or Ctrl-C) stops what runs;
an unreachable scheduler, unfit workers and a lost scheduler are one-line errors.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

import dask_tasks
from framework import executor_dask
from framework.errors import DeffeError
from framework.executor_dask import DaskExecutor

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TIMEOUT = 4.0   # per sample: long enough for a busy machine, short enough for the timeout test


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    # a session of its own: the teardown stops the worker's nanny and its worker process together
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", *args], stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True, cwd=log.parent)


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass


def _env(daemonic_workers: bool = False, project: bool = True) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if project:
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE)])
    if not daemonic_workers:
        env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"   # the workers fork each sample's process
    return env


def _start_scheduler(tmp: Path) -> tuple[str, subprocess.Popen]:
    port = _free_port()
    # as docs/executors.md starts it: without the project on its path (only the workers import it)
    proc = _start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                  tmp / "scheduler.log", _env(project=False))
    return f"tcp://127.0.0.1:{port}", proc


def _start_workers(address: str, n: int, tmp: Path, daemonic: bool = False, project: bool = True) -> subprocess.Popen:
    proc = _start(["distributed.cli.dask_worker", address, "--nworkers", str(n), "--nthreads", "1",
                   "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "0", "--local-directory", str(tmp)],
                  tmp / f"workers-{daemonic}-{project}.log", _env(daemonic, project))
    from distributed import Client
    with Client(address, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(n, timeout=60)
    return proc


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """A scheduler and two single-threaded workers, as separate processes; yields the address."""
    tmp = tmp_path_factory.mktemp("dask")
    address, proc = _start_scheduler(tmp)
    procs = [proc]
    try:
        procs.append(_start_workers(address, 2, tmp))
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)


@pytest.fixture(scope="module", params=["local-cluster", "external-scheduler"])
def executor(request):
    if request.param == "local-cluster":
        ex = DaskExecutor(dask_tasks.task, jobs=2, timeout=TIMEOUT)
    else:
        ex = DaskExecutor(dask_tasks.task, jobs=2, timeout=TIMEOUT, address=request.getfixturevalue("scheduler"))
    with ex:
        yield ex


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":   # killed, waiting for its new parent to reap it
            return True
        time.sleep(0.1)
    return False


def _wait_for(path: Path, within: float = 20.0) -> int:
    deadline = time.monotonic() + within
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    return int(path.read_text())


# ----------------------------------------------------------------------------- results
def test_every_result_comes_back_once_with_its_value(executor):
    ids = {executor.submit(("square", x), key=str(x)): x for x in range(8)}
    assert sorted(ids) == list(range(min(ids), min(ids) + 8))
    seen = [(tid, r) for tid, r in executor.results()]
    assert sorted(tid for tid, _ in seen) == sorted(ids)
    for tid, r in seen:
        assert r.status == "ok", r.error
        assert r.costs == {"y": float(ids[tid] ** 2)}
        assert r.duration is not None and r.duration >= 0
    assert executor.pending() == 0


def test_results_come_in_completion_order(executor):
    slow = executor.submit(("sleep", (2.0, 1)))
    fast = executor.submit(("square", 3))
    order = [tid for tid, _ in executor.results()]
    assert order == [fast, slow]


def test_a_task_that_raises_fails_with_its_message(executor):
    tid = executor.submit(("raise", 42))
    [(got, r)] = list(executor.results())
    assert got == tid and r.status == "failed"
    assert "ValueError: boom 42" in r.error and r.crash == "ValueError: boom 42"


def test_timeout_stops_the_sample_and_its_script(executor, tmp_path):
    pidfile = tmp_path / "script.pid"
    t0 = time.monotonic()
    tid = executor.submit(("script", str(pidfile)))
    [(got, r)] = list(executor.results())
    assert got == tid and r.status == "timeout"
    assert r.error == f"the evaluation took longer than {TIMEOUT:g} s and was stopped"
    assert TIMEOUT <= r.duration < TIMEOUT + 5 and time.monotonic() - t0 < TIMEOUT + 15
    assert _gone(_wait_for(pidfile, 1)), "the sample's shell script outlived its timeout"


def test_samples_submitted_while_reading_results_come_back_too(executor):
    first = [executor.submit(("square", x)) for x in range(2)]
    values = {tid: x for tid, x in zip(first, range(2))}
    got = {}
    for tid, r in executor.results():
        got[tid] = r.costs["y"]
        if len(values) < 6:   # asynchronous exploration: a new point as each one finishes
            x = len(values)
            values[executor.submit(("square", x))] = x
    assert got == {tid: float(x * x) for tid, x in values.items()}


def test_cancel_pending_drops_queued_samples(executor):
    running = [executor.submit(("sleep", (1.0, i))) for i in range(2)]   # jobs=2: these two are sent
    queued = [executor.submit(("square", i)) for i in range(4)]
    assert executor.pending() == 6
    assert executor.cancel_pending() == len(queued)
    assert executor.pending() == 2
    assert sorted(tid for tid, _ in executor.results()) == running
    assert executor.pending() == 0


def test_each_worker_keeps_its_sample_process_for_the_next_samples(executor):
    # as a local worker does: plugins built once per process serve every sample (remote.PluginTask)
    got = {}
    for _ in range(3):
        for _ in range(2):
            executor.submit(("pid", None))
        got.update(executor.results())
    pids = {(r.costs["pid"], r.costs["worker"]) for r in got.values()}
    assert len(got) == 6 and len(pids) <= 2, pids
    assert all(pid != worker for pid, worker in pids)   # the sample is not run in the Dask worker itself


def test_a_killed_worker_fails_its_sample_only(executor, tmp_path):
    # last of the module for each engine: the worker is restarted by its nanny, which takes a while
    runs = tmp_path / "runs"
    killer = executor.submit(("kill-worker", (0.5, str(runs))))
    others = {executor.submit(("square", x)): x for x in range(4)}
    got = dict(executor.results())
    assert sorted(got) == sorted([killer, *others])
    assert got[killer].status == "failed" and "worker" in got[killer].error and "died" in got[killer].error
    assert runs.read_text() == "started\n", "Dask ran the sample again behind the driver's back"
    for tid, x in others.items():
        assert got[tid].status == "ok" and got[tid].costs == {"y": float(x * x)}, got[tid].error


# ----------------------------------------------------------------------------- set-up and teardown
def test_an_unreachable_scheduler_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(executor_dask, "CONNECT_TIMEOUT", 2.0)
    address = f"tcp://127.0.0.1:{_free_port()}"
    t0 = time.monotonic()
    with pytest.raises(DeffeError) as err:
        DaskExecutor(dask_tasks.task, address=address)
    assert time.monotonic() - t0 < 15
    assert address in str(err.value) and "\n" not in str(err.value)


def test_an_unreachable_scheduler_names_the_config_file(tmp_path):
    from cli_helpers import assert_user_error, run_deffe, write
    import json
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': p['a']}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [0, 1]}], "costs": ["t"], "model": None,
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "exploration": {"samples_per_step": 2, "max_samples": 2},
        "framework": {"executor": "dask", "dask": {"address": "tcp://127.0.0.1:1"}}}))
    r = run_deffe("-config", "config.json", "-quiet", cwd=tmp_path, real=True)
    assert_user_error(r, "error: config.json:framework.dask.address: cannot reach the Dask scheduler")
    assert not (tmp_path / "explore").exists()   # nothing written


def test_an_unreachable_scheduler_with_fresh_leaves_the_finished_run_where_it_is(tmp_path):
    """The scheduler is reached before the run directory is made or a previous run moved aside."""
    from cli_helpers import assert_user_error, run_deffe, write
    import json
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': p['a']}\n")
    config = {"python_path": ["."], "knobs": [{"name": "a", "values": [0, 1]}], "costs": ["t"], "model": None,
              "evaluate": {"plugin": "python", "function": "ev:evaluate"},
              "exploration": {"samples_per_step": 2, "max_samples": 2}}
    write(tmp_path / "config.json", json.dumps(config))
    assert run_deffe("-config", "config.json", "-quiet", cwd=tmp_path).rc == 0
    before = sorted(p.name for p in (tmp_path / "explore").iterdir())
    config["framework"] = {"executor": "dask", "dask": {"address": "tcp://127.0.0.1:1"}}
    write(tmp_path / "config.json", json.dumps(config))
    r = run_deffe("-config", "config.json", "-quiet", "-fresh", cwd=tmp_path, real=True)
    assert_user_error(r, "error: config.json:framework.dask.address: cannot reach the Dask scheduler")
    assert not (tmp_path / "explore.1").exists()
    assert sorted(p.name for p in (tmp_path / "explore").iterdir()) == before


def test_a_local_cluster_has_at_most_one_worker_per_core(monkeypatch, caplog):
    # framework.dask.workers: 1000 started 1000 worker processes on 2 cores and hung
    monkeypatch.setattr(executor_dask.os, "cpu_count", lambda: 1)
    with caplog.at_level("WARNING", logger="deffe"):
        with DaskExecutor(dask_tasks.task, jobs=3, workers=1000, file="config.json") as ex:
            assert len(ex.client.nthreads()) == 1
            ex.submit(("square", 3))
            [(_, r)] = list(ex.results())
            assert r.status == "ok"
    assert ("warning: config.json:framework.dask.workers: 1000 Dask workers on 1 cores; the local cluster starts 1"
            in caplog.text)


def test_jobs_none_uses_every_worker_thread(scheduler):
    from distributed import Client
    with Client(scheduler, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=60)   # the one killed above is back
    with DaskExecutor(dask_tasks.task, jobs=None, address=scheduler) as ex:
        assert ex.jobs == 2


def test_unfit_workers_and_a_lost_scheduler_are_one_line_errors(tmp_path, monkeypatch):
    # a scheduler of its own: this test kills it
    monkeypatch.setattr(executor_dask, "CONNECT_TIMEOUT", 2.0)   # how long the client tries to reconnect
    address, scheduler = _start_scheduler(tmp_path)
    procs = [scheduler]
    try:
        procs.append(_start_workers(address, 1, tmp_path, project=False))   # cannot import the framework
        with pytest.raises(DeffeError) as err:
            DaskExecutor(dask_tasks.task, address=address)
        assert "cannot run the framework's code" in str(err.value) and "No module named 'framework'" in str(err.value)
        assert "PYTHONPATH" in str(err.value) and "\n" not in str(err.value)
        _stop(procs.pop())
        procs.append(_start_workers(address, 1, tmp_path, daemonic=True))   # plain 'dask worker'
        with pytest.raises(DeffeError) as err:
            DaskExecutor(dask_tasks.task, address=address)
        assert "daemonic" in str(err.value) and "DASK_DISTRIBUTED__WORKER__DAEMON=False" in str(err.value)
        _stop(procs.pop())
        procs.append(_start_workers(address, 1, tmp_path))
        with DaskExecutor(dask_tasks.task, jobs=1, address=address) as ex:
            first = ex.submit(("square", 2))
            ex.submit(("sleep", (30, 0)))
            t0 = time.monotonic()
            with pytest.raises(DeffeError) as err:
                for tid, r in ex.results():
                    assert tid == first and r.status == "ok"
                    _stop(scheduler)
            assert time.monotonic() - t0 < 20
        assert f"lost the connection to the Dask scheduler at {address}" in str(err.value)
    finally:
        for proc in reversed(procs):
            _stop(proc)


def test_close_stops_running_samples_and_dask_stays_quiet(tmp_path, capfd):
    import logging
    shown = []   # what Dask's own handler (stderr, as it was when distributed was imported) would print
    handler = logging.Handler()
    handler.emit = lambda record: shown.append(record.getMessage())
    logging.getLogger("distributed").addHandler(handler)
    pidfile = tmp_path / "script.pid"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ex = DaskExecutor(dask_tasks.task, jobs=1, timeout=60)
        ex.submit(("script", str(pidfile)))
        pid = _wait_for(pidfile)
        # a scheduler gone mid-run: the executor says it in its own words (lost the connection ...)
        logging.getLogger("distributed.client").error("Failed to reconnect to scheduler after 10 s")
        ex.close()
    assert _gone(pid), "the sample's shell script outlived its executor"
    # what a local cluster's scheduler said after a Ctrl-C, below the driver's "interrupted" line
    logging.getLogger("distributed.scheduler").warning("Removing worker 'tcp://127.0.0.1:1'")
    logging.getLogger("distributed").removeHandler(handler)
    assert not [m for m in shown if "Failed to reconnect" in m or "Removing worker" in m], shown
    out, err = capfd.readouterr()
    assert not [str(w.message) for w in caught if "distributed" in w.filename or "dask" in w.filename]
    assert "bokeh" not in (out + err).lower() and "INFO" not in err and "WARNING" not in err, err


CTRL_C_DRIVER = """
import signal, sys
sys.path[:0] = {path!r}
import dask_tasks
from framework.executor_dask import DaskExecutor
if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)   # a background job starts with it ignored
    try:
        with DaskExecutor(dask_tasks.task, jobs=1, timeout=60) as ex:
            ex.submit(("script", {pidfile!r}))
            list(ex.results())
    except KeyboardInterrupt:
        print("interrupted")
"""


def test_ctrl_c_stops_the_run_quietly(tmp_path):
    # Ctrl-C reaches the whole foreground process group: the driver and its local cluster's workers
    _ctrl_c_driver(tmp_path, CTRL_C_DRIVER, timeout=20)


def _ctrl_c_driver(tmp_path, source: str, timeout: float) -> None:
    """Run a driver script (`source`, formatted with the import path and the sample's pid file) in a session of
    its own, press Ctrl-C once its sample runs (SIGINT to the whole process group, as a terminal does), and
    check it says "interrupted", nothing on stderr, and leaves no sample process behind."""
    pidfile = tmp_path / "script.pid"
    driver = tmp_path / "driver.py"
    driver.write_text(source.format(path=[str(ROOT), str(HERE)], pidfile=str(pidfile)))
    proc = subprocess.Popen([sys.executable, str(driver)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        pid = _wait_for(pidfile)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert out.strip() == "interrupted" and err == "", err
    assert _gone(pid), "the sample's shell script outlived Ctrl-C"



SECOND_CTRL_C_DRIVER = CTRL_C_DRIVER.replace("""            list(ex.results())""", """            stop = ex._stop_running

            def pressed_again():   # a second Ctrl-C (an impatient user) while the executor closes
                os.kill(os.getpid(), signal.SIGINT)
                stop()

            ex._stop_running = pressed_again
            list(ex.results())""").replace("import signal, sys", "import os, signal, sys")


def test_a_second_ctrl_c_does_not_cut_the_closing_short(tmp_path):
    """A second Ctrl-C while the executor closed interrupted it: the sample's processes ran on, and the local
    cluster, left to the interpreter's exit, printed its scheduler's and workers' warnings. Now the closing
    finishes, then the interrupt has its effect."""
    _ctrl_c_driver(tmp_path, SECOND_CTRL_C_DRIVER, timeout=30)


# ----------------------------------------------------------------------------- the driver on Dask
EVALUATOR = '''
import os

def evaluate(p):
    return {"cost": 1.0 + (p["p"] - 6) ** 2 + 2 * (p["q"] - 3) ** 2, "pid": os.getpid()}
'''


@pytest.mark.parametrize("where", ["local-cluster", "external-scheduler"])
def test_a_guided_asynchronous_exploration_runs_on_dask(where, tmp_path, request):
    """run_deffe.py with the executor "dask": the evaluations run in the Dask workers' sample processes (other
    pids than the driver's), each point once, the budget exactly, the model trained along the way."""
    from cli_helpers import read_csv, run_deffe, write
    import json
    write(tmp_path / "bowl.py", EVALUATOR)
    dask = {"workers": 2} if where == "local-cluster" else {"address": request.getfixturevalue("scheduler")}
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "p", "values": "0-12"}, {"name": "q", "values": "0-8"}],
        "costs": ["cost", "pid"],
        "evaluate": {"plugin": "python", "function": "bowl:evaluate"},
        "model": {"plugin": "sklearn_rf"},
        "exploration": {"initial_samples": 8, "samples_per_step": 4, "max_samples": 20, "objectives": ["cost"]},
        "framework": {"jobs": 2, "executor": "dask", "dask": dask, "asynchronous": True, "seed": 1},
    }))
    # external workers import the evaluator from the config's directory, as a shared filesystem would give them.
    # A real interpreter: a fork of this test process would inherit the Dask client and event loop of the
    # executors above, whose threads do not survive a fork
    r = run_deffe("-config", "config.json", cwd=tmp_path, env={"PYTHONPATH": str(ROOT)}, real=True)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 20 and all(x["status"] == "ok" for x in rows)
    assert len({(x["p"], x["q"]) for x in rows}) == 20
    assert len({x["pid"] for x in rows}) >= 2
    assert read_csv(tmp_path / "explore" / "model_metrics.csv")


@pytest.mark.parametrize("mode", ["steps", "asynchronous"])
def test_ctrl_c_on_a_run_with_a_local_cluster_says_nothing_but_deffe(mode, tmp_path):
    """A local cluster is documented as printing no Dask message: a terminal's Ctrl-C (here pressed twice, as
    ``timeout`` passes its own on to the process group) printed the scheduler's and the workers' warnings below
    the driver's "interrupted" line (the second one cut the executor's closing short), and with -async the
    training process's traceback. Now: the driver's lines only, and none of the run's processes left."""
    from cli_helpers import HOLDING_EVALUATOR, assert_interrupted_quietly, ctrl_c, write
    import json
    write(tmp_path / "ev.py", HOLDING_EVALUATOR)
    (tmp_path / "hold").write_text("")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [0, 1, 2, 3]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate", "timeout": 300},
        "exploration": {"plugin": "sampling", "samples_per_step": 4, "max_samples": 4},
        "model": {"plugin": "sklearn_rf"} if mode == "asynchronous" else None,
        "framework": {"progress": False, "executor": "dask", "asynchronous": mode == "asynchronous"}}))

    def ready(driver):
        return len(list(tmp_path.glob("helper_*.pid"))) == 2 and all(p.read_text() for p in tmp_path.glob("helper_*"))

    run, left = ctrl_c(tmp_path, ["-config", "config.json", "-jobs", "2"], ready, presses=2,
                       env={"PYTHONPATH": str(ROOT)})
    assert_interrupted_quietly(run, left)
