"""Files replaced atomically: written under a temporary name beside them, then renamed into place.

The temporary name is hidden and unique to the writer (``.NAME.tmp<pid>-<random>``): two writers of one file
at once (two ``-report`` runs, or one beside the driver's end-of-run reports) each write their own, and the
last rename wins with a whole file; a reader never sees half a file. An error names the file written, not the
temporary one, and the temporary file does not stay behind.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temporary(path: Path) -> Path:
    """A hidden name beside ``path``, unique to this process and this call."""
    return path.with_name(f".{path.name}.tmp{os.getpid()}-{secrets.token_hex(4)}")


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """``with replacing(path) as tmp:`` write ``tmp``; on leaving, it replaces ``path``. On an error the
    temporary file is removed, and an OSError is raised again naming ``path``."""
    path = Path(path)
    tmp = temporary(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(e, OSError) and e.errno is not None and e.filename != str(path):
            raise OSError(e.errno, e.strerror, str(path)) from None   # the same subclass (errno), the file written
        raise
