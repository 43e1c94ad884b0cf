"""The driver's entry point, for both ``framework/run_deffe.py`` and the installed ``run_deffe`` command.

The command line's module (framework/cli.py) takes a second to import (numpy, then torch on the way); a
Ctrl-C in that second lands before ``cli.main`` can handle it. Importing it here, inside the entry point,
turns that Ctrl-C into one line and status 130 instead of a traceback, however the driver was started.

A run stopped by a signal has said so and is only leaving: the interpreter's shutdown (the executor's
threads, a Dask cluster's closing, atexit handlers) then ignores further ones, as the stop itself does. A
terminal's second Ctrl-C (or ``timeout`` passing its own on) in that shutdown killed the driver by SIGINT
(status -2 instead of 130) after its "interrupted" line.
"""
import signal
import sys

STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def main() -> int:
    try:
        from framework.cli import main as run_command_line
    except KeyboardInterrupt:
        print("interrupted while starting: nothing was run", file=sys.stderr)
        return 130
    try:
        status = run_command_line()
    except KeyboardInterrupt:   # a second Ctrl-C in the instant cli.main puts Python's handler back
        status = 130
    if status >= 128:
        _ignore_stop_signals()
    return status


def _ignore_stop_signals() -> None:
    for name in STOP_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is not None:
            try:
                signal.signal(signum, signal.SIG_IGN)
            except (ValueError, OSError):   # (not the main thread; a platform without it)
                pass
