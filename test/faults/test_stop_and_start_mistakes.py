"""The driver's first and last moments: a second signal while the run stops does not change what the first one
decided, a Ctrl-C while the driver imports is one line, and a file in the place of the run directory is named
as such."""
import json
import os
import signal
import subprocess
import sys

import pytest

from cli_helpers import RUN_DEFFE, assert_user_error, deffe_env, run_deffe, write
from framework import cli

INTERRUPTED = "every finished evaluation is stored; run the same command again to resume"


@pytest.mark.parametrize("first, second, status, said", [
    (signal.SIGINT, signal.SIGTERM, 130, f"interrupted: {INTERRUPTED}"),
    (signal.SIGTERM, signal.SIGINT, 143, f"interrupted by SIGTERM: {INTERRUPTED}"),
    (signal.SIGHUP, signal.SIGTERM, 129, f"interrupted by SIGHUP: {INTERRUPTED}"),
])
def test_the_first_signal_decides_the_message_and_the_status(monkeypatch, capsys, first, second, status, said):
    def run(argv):
        try:
            signal.raise_signal(first)    # the run stops ...
        finally:
            signal.raise_signal(second)   # ... and another signal comes while it cleans up
        return 0

    monkeypatch.setattr(cli, "run", run)
    monkeypatch.setenv("DEFFE_DIR", os.environ.get("DEFFE_DIR", str(RUN_DEFFE.parents[1])))
    # the handlers a terminal's process has (a test suite run in the background ignores Ctrl-C)
    before = {s: signal.signal(s, h) for s, h in ((signal.SIGINT, signal.default_int_handler),
                                                  (signal.SIGTERM, signal.SIG_DFL), (signal.SIGHUP, signal.SIG_DFL))}
    try:
        assert cli.main(["-config", "none.json"]) == status
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # set back after the run
    finally:
        for s, h in before.items():
            signal.signal(s, h)
    assert capsys.readouterr().err.strip().splitlines() == [said]


# a Ctrl-C that lands while run_deffe.py imports the framework (the first second of a run)
CTRL_C_IN_IMPORT = '''
import runpy, sys
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "framework.cli":
            raise KeyboardInterrupt
sys.meta_path.insert(0, CtrlC())
sys.argv = [sys.argv[1], "-config", "config.json"]
runpy.run_path(sys.argv[0], run_name="__main__")
'''


# what the `run_deffe` command that `pip install .` makes does: import its entry point from pyproject.toml, call it
INSTALLED_COMMAND = '''
import importlib, os, sys, tomllib
sys.path.insert(0, os.path.dirname(sys.argv[1]))   # where pip puts the installed packages
module, function = tomllib.load(open(sys.argv[1], "rb"))["project"]["scripts"]["run_deffe"].split(":")
sys.argv = ["run_deffe", "-config", "config.json"]
sys.exit(getattr(importlib.import_module(module), function)())
'''


@pytest.mark.parametrize("started_as", ["framework/run_deffe.py", "installed run_deffe"])
def test_a_ctrl_c_while_the_driver_starts_is_one_line(tmp_path, started_as):
    if started_as == "installed run_deffe":
        script = CTRL_C_IN_IMPORT.split("sys.argv =")[0] + INSTALLED_COMMAND
        args = [str(RUN_DEFFE.parents[1] / "pyproject.toml")]
    else:
        script, args = CTRL_C_IN_IMPORT, [str(RUN_DEFFE)]
    p = subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, env=deffe_env(),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 130, p
    assert p.stderr.strip().splitlines() == ["interrupted while starting: nothing was run"], p


def python_config(folder):
    write(folder / "ev.py", "def evaluate(p):\n    return {'t': p['a']}\n")
    write(folder / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 2}}))


def test_a_file_in_the_place_of_the_run_directory_is_named_as_such(tmp_path):
    python_config(tmp_path)
    write(tmp_path / "explore", "notes\n")
    line = assert_user_error(run_deffe("-config", "config.json", "-quiet", cwd=tmp_path),
                             "explore: the run directory is a file, not a directory",
                             "move it aside, or choose another framework.run_directory")
    assert "free space" not in line
    assert (tmp_path / "explore").read_text() == "notes\n"


def test_a_link_to_nothing_in_the_place_of_the_run_directory_is_named_as_such(tmp_path):
    python_config(tmp_path)
    (tmp_path / "explore").symlink_to(tmp_path / "missing" / "dir")
    assert_user_error(run_deffe("-config", "config.json", "-quiet", cwd=tmp_path),
                      f"the run directory is a link to {tmp_path / 'missing' / 'dir'}, which does not exist, not a "
                      "directory", "choose another framework.run_directory")
    assert (tmp_path / "explore").is_symlink() and not (tmp_path / "missing").exists()
