"""The end of a log, for a failed sample's message: a script's or a SLURM job's log may be of any size (a
10 MB progress bar without a newline was stored whole in the sample's error), so only its last bytes are
read, and each line kept is cut to its end, where an error message is."""
from __future__ import annotations

import os
from pathlib import Path

TAIL_BYTES = 4096   # read from the end of the file
TAIL_LINE = 200     # characters of one line kept (its end; "…" says it was cut)


def log_tail(path: Path, lines: int) -> list[str]:
    """The last `lines` lines of the file at `path` (none when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            start = max(0, fh.seek(0, os.SEEK_END) - TAIL_BYTES)
            fh.seek(start)
            text = fh.read().decode(errors="replace")
    except OSError:
        return []
    if start:
        text = "…" + text   # the first line read is the end of a longer one
    kept = text.strip().splitlines()[-lines:]
    return [line if len(line) <= TAIL_LINE else "…" + line[1 - TAIL_LINE:] for line in kept]
