"""Files the simulator writes (a trace, memory timelines, a plot): checked before writing, written whole.

`check_output(path)` raises a one-line `SimulatorError` naming the path when it cannot be written: a
directory, in a missing directory, or without permission (the command line checks every output with it
before anything is read). `write_output(path, write)` has `write` fill a temporary file beside `path` and
then puts it in place, so that a write that fails (a full disk) leaves no partial file and an earlier file
of that name as it was; an OSError becomes one line naming `path`.
"""
from __future__ import annotations

import os
import secrets
import stat
from typing import Any, Callable

from .graph import SimulatorError


def check_output(path: str | os.PathLike, label: str = "") -> None:
    """A one-line SimulatorError naming `path` if it cannot be written; `label` (a flag such as '--trace: ')
    starts the message."""
    path = os.fspath(path)
    if os.path.exists(path):
        if os.path.isdir(path):
            raise SimulatorError(f"{label}this is a directory, not a file; give a file name", source=path)
        if not os.access(path, os.W_OK):
            raise SimulatorError(f"{label}cannot write this file (permission denied); give another name",
                                 source=path)
    else:
        parent = os.path.dirname(path) or "."
        if not os.path.isdir(parent):
            raise SimulatorError(f"{label}no directory '{parent}' to write it in; create it or give another "
                                 "path", source=path)
        if not os.access(parent, os.W_OK):
            raise SimulatorError(f"{label}cannot write in directory '{parent}' (permission denied); give "
                                 "another path", source=path)


def write_output(path: str | os.PathLike, write: Callable[[str], Any]) -> Any:
    """`write(name)` (what it returns) into a temporary file beside `path` (its name ends as `path` does, so a
    plot's format follows the extension), then renamed to `path`. A path that exists and is no regular file
    (/dev/null, a pipe) is written in place, and so is one in a directory where no temporary file can be
    made. An OSError is a one-line SimulatorError naming `path`."""
    path = os.fspath(path)
    check_output(path)
    target = os.path.realpath(path)   # a symbolic link keeps pointing where it did
    try:
        if os.path.exists(target) and not os.path.isfile(target):
            return write(path)
        folder, name = os.path.split(target)
        temp = os.path.join(folder, f".{secrets.token_hex(4)}.{name}")
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except OSError:
            return write(path)
        try:
            out = write(temp)
            if os.path.exists(target):
                os.chmod(temp, stat.S_IMODE(os.stat(target).st_mode))
            os.replace(temp, target)
            return out
        finally:
            if os.path.exists(temp):
                os.remove(temp)
    except OSError as err:
        raise SimulatorError(f"cannot write: {err.strerror or err}", source=path) from None
