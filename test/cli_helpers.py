"""Running ``framework/run_deffe.py`` from tests, and what every end-to-end test checks.

A run starts from a fork of the test process by default: the child sets the
working directory, environment, ``sys.argv`` and file descriptors 1 and 2 as a
new interpreter would have them and executes ``run_deffe.py`` as ``__main__``;
only the imports are already done. A new interpreter pays 3 to 4 s of imports
(torch, scikit-learn, scipy) per run, which was most of the suite's time.
``real=True`` starts a new interpreter: tests of the installed command, of
the environment the process starts with, and of signals use it.

No test waits on a wall-clock limit a busy machine could reach: the only
limit, `HANG_GUARD`, stops a run that hangs (a bug) long after any run of
this suite would have finished.
"""
from __future__ import annotations

import csv
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_DEFFE = ROOT / "framework" / "run_deffe.py"
HANG_GUARD = 900   # seconds: a hung run, not a slow one


class Run:
    """The outcome of one command: exit status, stdout and stderr."""

    def __init__(self, rc: int, out: str, err: str):
        self.rc, self.out, self.err = rc, out, err

    # the names of subprocess.CompletedProcess, for tests written against it
    returncode = property(lambda self: self.rc)
    stdout = property(lambda self: self.out)
    stderr = property(lambda self: self.err)

    def __repr__(self):
        return f"<rc={self.rc}\nstdout={self.out}\nstderr={self.err}>"


def deffe_env(env: dict | None = None) -> dict:
    """The environment of a run: the one pytest started with (not its one-thread budget), without DEFFE_DIR
    (the driver finds its checkout itself)."""
    from framework.threads import user_environment
    e = user_environment(os.environ)
    e.pop("DEFFE_DIR", None)
    # the end-of-run reports cost about a second per run, mostly plots: only the tests of the reports (and
    # the one that checks a plain run writes them) ask for them, by passing DEFFE_REPORTS themselves
    e["DEFFE_REPORTS"] = "off"
    if env:
        e.update({k: str(v) for k, v in env.items()})
    return e


def run_deffe(*args, cwd, env: dict | None = None, real: bool = False, input: str | None = None) -> Run:
    """``python3 framework/run_deffe.py ARGS`` in ``cwd`` (``input``: its standard input, in a real process)."""
    argv = [str(a) for a in args]
    if real or input is not None:
        proc = subprocess.run([sys.executable, str(RUN_DEFFE), *argv], cwd=cwd, env=deffe_env(env), input=input,
                              capture_output=True, text=True, timeout=HANG_GUARD)
        return Run(proc.returncode, proc.stdout, proc.stderr)
    return run_forked(RUN_DEFFE, argv, cwd, deffe_env(env))


# what a run imports that takes long; imported once in the test process, then shared by every fork
WARM = ("framework.cli", "framework.driver", "framework.training", "framework.analysis", "framework.guided",
        "plugins.ml_model.torch_mlp", "torch", "torch.optim", "sklearn.ensemble", "sklearn.linear_model", "scipy.stats",
        "matplotlib.pyplot", "matplotlib.backends.backend_agg", "commentjson",
        "plugins.ml_model._trainer")


def _warm() -> None:
    import importlib
    for name in WARM:
        try:
            importlib.import_module(name)
        except ImportError:
            pass   # the run itself will say what is missing


def run_forked(script: Path, argv: list[str], cwd, env: dict) -> Run:
    """Run ``script`` as ``__main__`` with ``argv`` in a forked child; its exit status and output."""
    _warm()
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            rc = 1
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdout = open(1, "w", buffering=1, closefd=False)
                sys.stderr = open(2, "w", buffering=1, closefd=False)
                os.chdir(cwd)
                os.environ.clear()
                os.environ.update(env)
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
                    signal.signal(sig, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                signal.alarm(HANG_GUARD)
                sys.argv = [str(script), *argv]
                try:
                    runpy.run_path(str(script), run_name="__main__")
                    rc = 0
                except SystemExit as e:
                    if e.code is None or isinstance(e.code, int):
                        rc = e.code or 0
                    else:
                        print(e.code, file=sys.stderr)
                        rc = 1
            except BaseException:  # noqa: BLE001 - what a new interpreter would print
                traceback.print_exc()
                rc = 1
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(rc)
        _, status = os.waitpid(pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(rc, out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def assert_user_error(run: Run, *fragments: str) -> str:
    """Exit status 2, one line on stderr starting with 'error:', no traceback; returns the line."""
    assert run.rc == 2, run
    lines = [line for line in run.err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), run
    assert "Traceback" not in run.err, run
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def assert_runtime_error(run: Run, *fragments: str) -> str:
    """A mistake found while running: exit status 2, the last line is the one-line error, no traceback."""
    assert run.rc == 2, run
    assert "Traceback" not in run.err, run
    last = run.err.strip().splitlines()[-1]
    assert last.startswith("error: "), run
    for f in fragments:
        assert f in last, (f, last)
    return last


def ctrl_c(folder: Path, args: list[str], ready, *, presses: int = 1, env: dict | None = None) -> tuple[Run, list]:
    """A terminal's Ctrl-C on ``run_deffe.py ARGS``: the run in a session of its own, SIGINT to its whole process
    group once ``ready(process)`` is true (the driver's psutil.Process) (``presses`` times, 0.2 s apart, as an impatient user, or ``timeout`` passing
    its own on, sends it). The run's outcome, and the processes it had started when it was interrupted that
    are still alive 10 s after it ended (killed then)."""
    import time
    import psutil
    with open(folder / "out.txt", "w") as out, open(folder / "err.txt", "w") as err:   # (files: a process left
        driver = subprocess.Popen([sys.executable, str(RUN_DEFFE), *args], cwd=folder, env=deffe_env(env),
                                  stdout=out, stderr=err, start_new_session=True,   # behind holding a pipe would
                                  # Ctrl-C at its default: a test suite run in the background ignores it
                                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))   # hang)
    started = []
    try:
        process = psutil.Process(driver.pid)
        end = time.monotonic() + HANG_GUARD
        while not ready(process) and driver.poll() is None and time.monotonic() < end:
            time.sleep(0.1)
        assert driver.poll() is None, (folder / "err.txt").read_text()
        started = process.children(recursive=True)
        for press in range(presses):
            if press:
                time.sleep(0.2)
            os.killpg(driver.pid, signal.SIGINT)
        driver.wait(timeout=HANG_GUARD)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    left = []
    for p in psutil.wait_procs(started, timeout=10)[1]:
        try:
            left.append(f"{p.pid} {' '.join(p.cmdline())}")
            p.kill()
        except psutil.NoSuchProcess:
            pass
    return Run(driver.returncode, (folder / "out.txt").read_text(), (folder / "err.txt").read_text()), left


def assert_interrupted_quietly(run: Run, left: list) -> None:
    """What a Ctrl-C leaves: the driver's own line last, exit status 130, no traceback or Dask message of any of
    the run's processes, none of them running."""
    assert run.rc == 130, run
    assert run.err.strip().splitlines()[-1] == ("interrupted: every finished evaluation is stored; run the same "
                                                "command again to resume"), run
    assert "Traceback" not in run.err and "KeyboardInterrupt" not in run.err, run
    assert "distributed." not in run.err and "Exception ignored" not in run.err, run
    assert left == [], left


# an evaluation that starts a helper process (a simulator, a daemon) and writes its pid to helper_<a>.pid; while
# the file 'hold' exists it then waits, as a long evaluation does (the tests of stopping a run use it)
HOLDING_EVALUATOR = '''
import os, subprocess, sys, time

def evaluate(p):
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(f"helper_{p['a']}.pid", "w") as fh:
        fh.write(str(helper.pid))
    while os.path.exists("hold"):
        time.sleep(0.1)
    return {"t": p["a"]}
'''
