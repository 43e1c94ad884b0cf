"""The driver's entry point, for both ``framework/run_deffe.py`` and the installed ``run_deffe`` command.

The command line's module (framework/cli.py) takes a second to import (numpy, then torch on the way); a
Ctrl-C in that second lands before ``cli.main`` can handle it. Importing it here, inside the entry point,
turns that Ctrl-C into one line and status 130 instead of a traceback, however the driver was started.
"""
import sys


def main() -> int:
    try:
        from framework.cli import main as run_command_line
    except KeyboardInterrupt:
        print("interrupted while starting: nothing was run", file=sys.stderr)
        return 130
    return run_command_line()
