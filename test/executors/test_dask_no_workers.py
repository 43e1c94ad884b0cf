"""A Dask scheduler without workers, and the settings that only a local cluster reads: one-line errors and
warnings instead of a silent wait (the scheduler and workers are real processes on the loopback, started as in
test_dask_executor.py)."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading

import pytest

import dask_tasks
from cli_helpers import RUN_DEFFE, Run, assert_user_error, deffe_env, write
from framework import executor_dask
from framework.errors import DeffeError
from framework.executor_dask import DaskExecutor
from test_dask_executor import _start_scheduler, _start_workers, _stop

HANG_GUARD = 180.0   # seconds: far beyond the limits the tests set, only there for the old code's endless wait


@pytest.fixture
def scheduler(tmp_path):
    address, proc = _start_scheduler(tmp_path)
    try:
        yield address
    finally:
        _stop(proc)


def test_a_scheduler_without_workers_stops_the_run_with_one_line_naming_the_address(scheduler, tmp_path):
    """The driver's answer to a scheduler started alone (or restarted alone: its workers exit with the old
    one): exit status 2 and one line, after WORKER_WAIT, instead of waiting for ever with nothing said."""
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': p['a']}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [0, 1]}], "costs": ["t"], "model": None,
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "exploration": {"samples_per_step": 2, "max_samples": 2},
        "framework": {"executor": "dask", "dask": {"address": scheduler}}}))
    try:   # (run_deffe's own guard is 15 minutes: the old endless wait fails sooner here)
        p = subprocess.run([sys.executable, str(RUN_DEFFE), "-config", "config.json", "-quiet"], cwd=tmp_path,
                           env=deffe_env(), capture_output=True, text=True, timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        pytest.fail("the run waits for ever on a scheduler without workers")
    r = Run(p.returncode, p.stdout, p.stderr)
    assert_user_error(r, f"error: config.json:framework.dask.address: the Dask scheduler at {scheduler} has no "
                         f"workers", f"dask worker {scheduler}")
    assert not (tmp_path / "explore").exists()   # said before the run directory is made


def test_a_cluster_left_without_workers_warns_then_stops_the_run(scheduler, tmp_path, monkeypatch, caplog):
    """Workers gone mid-run (with tasks on the scheduler): a warning after NO_WORKER_WARN, a one-line error
    after NO_WORKER_LIMIT (the run stops as when the scheduler is lost; a resume evaluates the samples again)."""
    monkeypatch.setattr(executor_dask, "WORKER_CHECK", 0.2, raising=False)
    monkeypatch.setattr(executor_dask, "NO_WORKER_WARN", 1.0, raising=False)
    monkeypatch.setattr(executor_dask, "NO_WORKER_LIMIT", 4.0, raising=False)
    workers = _start_workers(scheduler, 1, tmp_path)
    outcome: list = []
    try:
        with DaskExecutor(dask_tasks.task, jobs=1, address=scheduler, file="config.json") as ex:
            ex.submit(("sleep", (60, 0)))
            _stop(workers)          # the task goes back to the scheduler, which has no worker to give it to

            def read():
                try:
                    outcome.extend(ex.results())
                except DeffeError as e:
                    outcome.append(e)

            with caplog.at_level(logging.WARNING, logger="deffe"):
                reader = threading.Thread(target=read, daemon=True)
                reader.start()
                reader.join(HANG_GUARD)
            assert not reader.is_alive(), "the executor waits for ever on a cluster without workers"
    finally:
        _stop(workers)
    assert len(outcome) == 1 and isinstance(outcome[0], DeffeError), outcome
    message = str(outcome[0])
    assert message.startswith(f"config.json:framework.dask.address: the Dask scheduler at {scheduler} has had no "
                              f"worker for 4 s") and f"dask worker {scheduler}" in message and "\n" not in message
    warnings = [r.getMessage() for r in caplog.records if "has had no worker for 1 s" in r.getMessage()]
    assert len(warnings) == 1 and "1 sample(s) wait" in warnings[0], caplog.text


def test_workers_with_an_address_is_said_to_be_ignored(scheduler, tmp_path, caplog):
    workers = _start_workers(scheduler, 1, tmp_path)
    try:
        with caplog.at_level(logging.WARNING, logger="deffe"):
            with DaskExecutor(dask_tasks.task, jobs=1, address=scheduler, workers=4, file="config.json") as ex:
                ex.submit(("square", 3))
                assert [r.costs["y"] for _, r in ex.results()] == [9.0]
    finally:
        _stop(workers)
    said = [r.getMessage() for r in caplog.records if "framework.dask.workers" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("warning: config.json:framework.dask.workers: applies only to a "
                                                 "local cluster"), caplog.text


def test_a_lost_scheduler_names_the_config_file(monkeypatch):
    """As every other framework.dask.address error: the config's file in front of the key."""
    ex = object.__new__(DaskExecutor)
    ex.address, ex._file = "tcp://127.0.0.1:1", "config.json"
    message = str(ex._lost())
    assert message.startswith("config.json:framework.dask.address: lost the connection to the Dask scheduler at "
                              "tcp://127.0.0.1:1")
