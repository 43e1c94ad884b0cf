"""A sample's evaluate.timeout limits its own run: a worker that is still stopping what its previous sample left
running (a child that ignores SIGTERM waits GRACE seconds for its SIGKILL) does not spend the next sample's time."""
from __future__ import annotations

import functools
import subprocess

from framework import executor
from framework.executor import LocalExecutor
from framework.protocols import Result

CLEANUP = 8.0   # seconds the worker gives a leftover between SIGTERM and SIGKILL here: twice the timeout
TIMEOUT = 4.0   # the next sample only writes a file: far within it, even on a loaded machine


def evaluate(payload):
    kind, marker = payload
    if kind == "leave":   # returns at once and leaves a child that ignores SIGTERM (ignored stays ignored)
        subprocess.Popen(["sh", "-c", "trap '' TERM; exec sleep 60"])
    with open(marker, "w") as f:
        f.write(kind)
    return Result("ok", costs={"t": 1.0})


def test_the_next_samples_clock_starts_when_it_starts(tmp_path, monkeypatch):
    # the workers are forks of this process: they stop leftovers with the longer grace
    monkeypatch.setattr(executor, "stop_leftovers", functools.partial(executor.stop_leftovers, grace=CLEANUP))
    with LocalExecutor(evaluate, jobs=1, timeout=TIMEOUT) as ex:
        first = ex.submit(("leave", str(tmp_path / "first")))
        second = ex.submit(("quick", str(tmp_path / "second")))
        results = dict(ex.results())
    assert results[first].status == "ok"
    second_ran = (tmp_path / "second").exists() and (tmp_path / "second").read_text() == "quick"
    assert second_ran, "the second sample's evaluation never ran"
    assert results[second].status == "ok", results[second]
