"""Files replaced atomically: written under a temporary name beside them, then renamed into place.

The temporary name is hidden and unique to the writer (``.NAME.tmp<pid>-<random>``): two writers of one file
at once (two ``-report`` runs, or one beside the driver's end-of-run reports) each write their own, and the
last rename wins with a whole file; a reader never sees half a file. An error names the file written, not the
temporary one, and the temporary file does not stay behind.

Only a regular file (or a new name) is replaced so. A symbolic link is followed: its target is replaced, and
the link stays a link. A file that is not a regular one (a pipe, a terminal or another device, a socket:
``-output /dev/stdout``) is written in place, as a stream: renaming a file onto it would put an ordinary file
where the pipe or the device was (as root, over /dev/stdout), and a reader of the pipe would get nothing.
"""
from __future__ import annotations

import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temporary(path: Path) -> Path:
    """A hidden name beside ``path``, unique to this process and this call."""
    return path.with_name(f".{path.name}.tmp{os.getpid()}-{secrets.token_hex(4)}")


def special(path: str | os.PathLike) -> bool:
    """Whether ``path`` (links followed) is there and is neither a regular file nor a directory: a pipe, a
    device, a socket, which is written in place and never replaced."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """``with replacing(path) as tmp:`` write ``tmp``; on leaving, it replaces ``path``. On an error the
    temporary file is removed, and an OSError is raised again naming ``path``."""
    path = Path(path)
    if special(path):   # checked on the name given: /dev/stdout is a link to /proc/self/fd/1, then to a pipe
        try:
            yield path
        except OSError as e:
            raise _naming(e, path) from None
        return
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    tmp = temporary(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(e, OSError):
            raise _naming(e, path) from None
        raise


def _naming(e: OSError, path: Path) -> OSError:
    """The error again, naming the file written (the same subclass, by its errno), not a temporary one."""
    if e.errno is not None and e.filename != str(path):
        return OSError(e.errno, e.strerror, str(path))
    return e
