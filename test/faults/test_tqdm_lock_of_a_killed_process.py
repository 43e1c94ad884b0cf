"""A process killed while writing a line through tqdm (a worker at its timeout, a run killed with kill -9)
must not stop the driver's next line: tqdm's default lock is a multiprocessing semaphore shared by every
process forked after it was made, and one held by a dead process is held for ever (a forked run of the
suite hung there after test_kill_resume's kills)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import os, signal, sys
sys.path.insert(0, {root!r})
from tqdm import tqdm
tqdm.get_lock()                       # the default lock, made before the fork: its semaphore is shared
pid = os.fork()
if pid == 0:                          # a process that dies while it holds it
    tqdm.get_lock().acquire()
    os._exit(0)
os.waitpid(pid, 0)
signal.alarm(60)                      # a hang guard only: the line below takes milliseconds
from framework.cli import _setup_logging
_setup_logging(None, "deffe.log", quiet=False, debug=False).info("the driver's next line")
"""


def test_a_process_killed_holding_tqdms_lock_does_not_stop_the_drivers_lines():
    r = subprocess.run([sys.executable, "-c", SCRIPT.format(root=str(ROOT))], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and "the driver's next line" in r.stderr, (r.returncode, r.stderr)
