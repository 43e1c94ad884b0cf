"""Trying the bad inputs of the corpus (cases.py) through the real command line: the test and bench/faults.py
use it. A case is tried in a directory that holds a finished small run (`prepare`); `try_case` says what went
wrong, or None when the input was refused cleanly: exit status 2, one line ``error: <file>:<place>: <what>;
<hint>`` holding the case's fragments, no traceback, every file of the run directory byte for byte as it was
(or, for a file that is fine, exit status 0 and the fragments in the output)."""
from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
from pathlib import Path

from cases import Case
from cli_helpers import run_deffe

HERE = Path(__file__).resolve().parent
FOLDER = {"config": "configs", "pre": "csv", "infer": "csv", "lenient": "csv", "network": "simulator",
          "devices": "simulator"}
ICP = "explore/checkpoints/explore_0.ckpt"


def prepare(d: Path) -> Path:
    """The small run of base/, finished (its store, tables and model checkpoint), and the corpus beside it."""
    for f in (HERE / "base").iterdir():
        shutil.copy(f, d / f.name)
    r = run_deffe("-config", "config.json", "-quiet", cwd=d)
    if r.rc != 0 or not (d / ICP).is_file():
        raise RuntimeError(f"the base run failed: {r}")
    for folder in set(FOLDER.values()):
        shutil.copytree(HERE / folder, d / folder, dirs_exist_ok=True)
    return d


def snapshot(run_dir: Path) -> dict[str, str]:
    """Every file of a run directory and a digest of its bytes."""
    return {str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run_dir.rglob("*")) if p.is_file()}


def command(case: Case) -> list[str]:
    path = f"{FOLDER[case.kind]}/{case.file}"
    if case.kind == "config":
        return ["-config", path] + (["-no-run"] if case.ok else [])
    if case.kind == "pre":
        return ["-config", "config.json", "-pre-evaluated-data", path] + (["-no-run"] if case.ok else [])
    return ["-config", "config.json", "-inference-only", "-icp", ICP, "-input", path, "-output", "out.csv"] + \
        (["-strict"] if case.kind == "infer" else [])


def simulate(case: Case, cwd: Path) -> tuple[int, str, str]:
    """``python -m simulator ...`` (its main, in this process): exit status, stdout, stderr."""
    from simulator.__main__ import main
    path = f"simulator/{case.file}"
    args = ["--network", path, "--devices", "cpu+1xV100-pcie3"] if case.kind == "network" else \
        ["--network", "simulator/net_good.json", "--devices", path]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(args + ["--placement", "1"])
        except SystemExit as stop:
            rc = stop.code
    return rc, out.getvalue(), err.getvalue()


def one_line_problem(rc: int, out: str, err: str, fragments, stdout_empty: bool = False) -> str | None:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    if rc != 2 or len(lines) != 1 or not lines[0].startswith("error: ") or "Traceback" in err \
            or (stdout_empty and out):
        return f"exit status {rc}, stderr {err.strip()[-300:]!r}"
    missing = [f for f in fragments if f not in lines[0]]
    return f"{missing[0]!r} not in {lines[0]!r}" if missing else None


def try_case(case: Case, workdir: Path) -> str | None:
    """What went wrong with this case (None: as it must be)."""
    if case.kind in ("network", "devices"):
        rc, out, err = simulate(case, workdir)
        if case.ok:
            missing = [f for f in case.fragments if f not in out]
            return None if rc == 0 and err == "" and not missing else f"exit status {rc}: {err or missing}"
        return one_line_problem(rc, out, err, case.fragments, stdout_empty=True)
    before = snapshot(workdir / "explore")
    r = run_deffe(*command(case), cwd=workdir)
    if case.ok:
        missing = [f for f in case.fragments if f not in r.out + r.err]
        problem = None if r.rc == 0 and "Traceback" not in r.err and not missing else \
            f"exit status {r.rc}: {missing or r.err[-300:]}"
    else:
        problem = one_line_problem(r.rc, r.out, r.err, case.fragments)
        if problem is None and (workdir / "out.csv").exists():
            problem = "an output was written"
    (workdir / "out.csv").unlink(missing_ok=True)
    if problem is None and snapshot(workdir / "explore") != before:
        problem = "the run directory changed"
    return problem
