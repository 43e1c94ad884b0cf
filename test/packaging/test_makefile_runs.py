"""`make -f Makefile.docker run RUNS=dir`: the run directory is bind-mounted by its absolute path (a relative
name given to `docker run -v` would be a named volume, not the folder), spaces included. Runs the real make
with a stand-in `docker` on PATH that writes down its arguments; nothing is built or started."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("runs", ["myruns", "my runs", "sub dir/runs"])
def test_run_bind_mounts_the_runs_folder_by_its_absolute_path(tmp_path, runs):
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "docker.args"
    (fake / "docker").write_text(f"#!{sys.executable}\nimport sys\n"
                                 f"open({str(log)!r}, 'w').write('\\n'.join(sys.argv[1:]))\n")
    (fake / "docker").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, PATH=f"{fake}{os.pathsep}{os.environ['PATH']}")
    r = subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile.docker"), "run", f"RUNS={runs}"], cwd=work,
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r
    args = log.read_text().splitlines()
    assert args[0] == "run"
    assert args[args.index("-v") + 1] == f"{work / runs}:/runs", args
    assert (work / runs).is_dir()
