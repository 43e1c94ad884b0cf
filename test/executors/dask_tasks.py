"""Task functions for test_dask_executor.py: top-level, so that Dask workers import them by name."""
from __future__ import annotations

import os
import signal
import subprocess
import time

from framework.protocols import Result


def square(x):
    return Result("ok", costs={"y": float(x) * x})


def sleep_then(payload):
    """payload: (seconds, value)."""
    seconds, value = payload
    time.sleep(seconds)
    return Result("ok", costs={"y": float(value)})


def task(payload):
    """payload: (kind, argument): one function for every behaviour, as the driver has one task function."""
    kind, arg = payload
    if kind == "square":
        return square(arg)
    if kind == "sleep":
        return sleep_then(arg)
    if kind == "raise":
        raise ValueError(f"boom {arg}")
    if kind == "script":   # a shell script that outlives its timeout; it writes its pid to `arg`
        subprocess.run(["sh", "-c", f"echo $$ > {arg}.tmp && mv {arg}.tmp {arg} && exec sleep 60"], check=True)
        return Result("ok")
    if kind == "kill-worker":   # the sample's process kills the Dask worker that started it
        delay, log = arg
        with open(log, "a") as f:
            f.write("started\n")
        time.sleep(delay)
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(30)
        return Result("ok")
    if kind == "pid":
        return Result("ok", costs={"pid": float(os.getpid()), "worker": float(os.getppid())})
    raise AssertionError(f"unknown task kind {kind}")
