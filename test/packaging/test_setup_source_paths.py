"""`source setup.source` in a checkout whose folder name has a space, a $, a quote, a backquote and a
backslash: the run_deffe it puts on PATH runs that checkout's run_deffe.py (the name is never pasted
into the wrapper's shell code), called through PATH or through a link to it."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_run_deffe_of_setup_source_works_whatever_the_checkout_is_called(tmp_path):
    checkout = tmp_path / "sp ace" / 'de$ffe"q`x`\\y'
    checkout.mkdir(parents=True)
    shutil.copy(ROOT / "setup.source", checkout / "setup.source")
    (checkout / "framework").mkdir()
    # a stand-in run_deffe.py: says which file ran and with what arguments
    (checkout / "framework" / "run_deffe.py").write_text(
        "import sys\nprint(repr(__file__), repr(sys.argv[1:]))\n")
    env = {k: v for k, v in os.environ.items() if k != "DEFFE_DIR"}
    env["PATH"] = f"{os.path.dirname(sys.executable)}{os.pathsep}{env['PATH']}"   # python3: the test's
    script = 'source "$1/setup.source" && cd "$2" && run_deffe -config "a b.json" \'$x\' && ' \
             'ln -s "$DEFFE_DIR/.bin/run_deffe" link && ./link -h && printf "%s\\n" "$DEFFE_DIR"'
    away = tmp_path / "away"
    away.mkdir()
    r = subprocess.run(["bash", "-c", script, "bash", str(checkout), str(away)], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    ran = repr(str(checkout / ".bin" / ".." / "framework" / "run_deffe.py"))
    assert lines[0] == f"{ran} {['-config', 'a b.json', '$x']!r}", lines
    assert lines[1] == f"{ran} {['-h']!r}", lines
    assert lines[2] == str(checkout), lines
