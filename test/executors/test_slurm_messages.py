"""The SLURM executor's one-line errors, reached without a cluster: SLURM's commands are replaced by fakes
(the executor calls them through ``executor_slurm._run``) and the clock is moved on instead of waited for."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from framework import executor_slurm
from framework.errors import DeffeError
from framework.executor_slurm import SlurmExecutor


def _bare_executor(folder: Path) -> SlurmExecutor:
    """A SlurmExecutor's polling state without its constructor (which needs sbatch and a controller)."""
    ex = object.__new__(SlurmExecutor)
    ex.log = logging.getLogger("deffe.test")
    ex.folder = folder
    ex._running = {}
    ex._unreachable_since = None
    return ex


def test_an_unreachable_controller_tells_to_run_the_same_command_again(tmp_path, monkeypatch):
    """After UNREACHABLE_LIMIT seconds of failing squeue the run stops; its hint is a way to resume that exists
    (the driver has no -resume flag: running the same command again resumes)."""
    now = [1000.0]
    monkeypatch.setattr(executor_slurm.time, "time", lambda: now[0])
    monkeypatch.setattr(executor_slurm, "queue_states", lambda: None)   # squeue fails
    ex = _bare_executor(tmp_path)
    ex._refresh_states(now[0])                       # the first failure: a warning, the run waits
    now[0] += executor_slurm.UNREACHABLE_LIMIT + 1
    with pytest.raises(DeffeError) as err:
        ex._refresh_states(now[0])
    message = str(err.value)
    assert "has not answered squeue" in message and "\n" not in message
    assert "-resume" not in message
    assert "run the same command again" in message and str(tmp_path / "jobs.json") in message


def test_a_failed_jobs_stderr_is_quoted_by_its_end_only(tmp_path):
    # a job's stderr of any size (a progress bar of 1 MB without a newline): its last lines, each cut
    from framework.executor_slurm import STDERR_TAIL, _tail
    err = tmp_path / "job.err"
    err.write_text("#" * 1_000_000 + "\n" + "".join(f"line {i}\n" for i in range(20)) + "=" * 500 + " Killed\n")
    quoted = _tail(err)
    assert len(quoted) < 1000, len(quoted)
    lines = quoted.split("\n")
    assert len(lines) == STDERR_TAIL and lines[-1].startswith("…=") and lines[-1].endswith("= Killed"), lines
