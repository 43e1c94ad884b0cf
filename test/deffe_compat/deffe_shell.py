"""Running the original Deffe's command lines as its users do: in bash, after `source setup.source`."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from cli_helpers import HANG_GUARD, ROOT, Run, deffe_env

HERE = Path(__file__).resolve().parent


def copy_case(name: str, to: Path) -> Path:
    """A copy of one of the cases next to this file (original_test/, gem5/) in a directory of its own."""
    shutil.copytree(HERE / name, to, dirs_exist_ok=True)
    return to


def shell(commands: str, cwd: Path, env: dict | None = None) -> Run:
    """``source setup.source`` in a fresh bash, then the commands, in ``cwd``.

    The test's Python comes first on PATH, as in an activated virtual environment: Deffe's scripts call
    ``python3`` and ``python``."""
    e = deffe_env(env)
    e["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), e.get("PATH", "")])
    script = f'source "{ROOT}/setup.source" && cd "{cwd}" && {commands}'
    proc = subprocess.run(["bash", "-c", script], env=e, capture_output=True, text=True, timeout=HANG_GUARD)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def deffe_table(path: Path) -> list[dict]:
    """A table as Deffe wrote it: ', ' between cells, no quoting."""
    lines = path.read_text().splitlines()
    header = lines[0].split(", ")
    return [dict(zip(header, line.split(", "))) for line in lines[1:]]
