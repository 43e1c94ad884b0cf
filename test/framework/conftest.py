"""Helpers for framework tests: run the real CLI in a subprocess, in a temp directory."""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_DEFFE = ROOT / "framework" / "run_deffe.py"


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return f"<rc={self.rc}\nstdout={self.out}\nstderr={self.err}>"


def run_deffe(*args, cwd, env=None, timeout=120):
    e = dict(os.environ)
    e.pop("DEFFE_DIR", None)
    if env:
        e.update(env)
    proc = subprocess.run([sys.executable, str(RUN_DEFFE), *map(str, args)], cwd=cwd, env=e,
                          capture_output=True, text=True, timeout=timeout)
    return Run(proc)


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def minimal(tmp_path):
    """A copy of test/ (the bare-minimal Deffe case) in a temporary directory."""
    for name in ("config.json", "evaluate.sh"):
        shutil.copy(ROOT / "test" / name, tmp_path / name)
    return tmp_path


def assert_user_error(run, *fragments):
    """Exit status 2, one line on stderr starting with 'error:', no traceback."""
    assert run.rc == 2, run
    lines = [l for l in run.err.strip().splitlines() if l.strip()]
    assert len(lines) == 1, run
    assert lines[0].startswith("error: "), run
    assert "Traceback" not in run.err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def assert_runtime_error(run, *fragments):
    """A mistake found while running: exit status 2, the last line is the one-line error, no traceback."""
    assert run.rc == 2, run
    assert "Traceback" not in run.err, run
    last = run.err.strip().splitlines()[-1]
    assert last.startswith("error: "), run
    for f in fragments:
        assert f in last, (f, last)
    return last
