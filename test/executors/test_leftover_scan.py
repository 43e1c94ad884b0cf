"""A worker looks for what a sample left running (a scan of every process of the machine: 12 ms with 100
processes, after every sample) only when the sample started a process that may still run; what a script
leaves, directly or orphaned, is still stopped."""
from __future__ import annotations

import subprocess

from framework import executor
from framework.executor import LocalExecutor
from framework.protocols import Result

SCANS = []   # in the worker (a fork of this process): one entry per scan


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def evaluate(payload):
    kind, arg = payload
    if kind == "leave":        # a child left running
        with open(arg, "w") as f:
            f.write(str(subprocess.Popen(["sleep", "60"]).pid))
    elif kind == "orphan":     # a grandchild left running by a script that ended
        subprocess.run(["sh", "-c", f"sleep 60 & echo $! > {arg}"], check=True)
    elif kind == "alive":
        return Result("ok", costs={"scans": float(len(SCANS)), "alive": float(_alive(int(open(arg).read())))})
    return Result("ok", costs={"scans": float(len(SCANS))})


def test_no_scan_after_samples_that_started_nothing_and_leftovers_still_stop(tmp_path, monkeypatch):
    real = executor.left_by
    monkeypatch.setattr(executor, "left_by", lambda leader: (SCANS.append(leader), real(leader))[1])
    leave, orphan = str(tmp_path / "leave"), str(tmp_path / "orphan")
    with LocalExecutor(evaluate, jobs=1) as ex:
        ids = [ex.submit(p) for p in [("plain", ""), ("plain", ""), ("plain", ""), ("leave", leave),
                                      ("alive", leave), ("orphan", orphan), ("alive", orphan)]]
        results = dict(ex.results())
    costs = [results[i].costs for i in ids]
    assert all(results[i].status == "ok" for i in ids), [results[i] for i in ids]
    assert [c["scans"] for c in costs[:4]] == [0, 0, 0, 0]   # three samples that started nothing: no scan
    assert costs[4]["alive"] == 0 and costs[4]["scans"] >= 1   # the child left running was found and stopped
    assert costs[6]["alive"] == 0                              # and so was the orphaned grandchild
    assert not _alive(int(open(leave).read())) and not _alive(int(open(orphan).read()))
