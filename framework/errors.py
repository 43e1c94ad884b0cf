"""The one error type for everything a user can get wrong.

The CLI prints ``error: <file>[:<where>]: <what>; <hint>`` on one line and exits
with status 2. Code that raises it names the file and the place (a key path such
as ``knobs[2].values``, a line number, a CSV row) so the user can go straight
there.
"""
from __future__ import annotations

import difflib
import signal
from typing import Iterable


class DeffeError(Exception):
    def __init__(self, what: str, *, file: str | None = None, where: str | None = None,
                 hint: str | None = None):
        self.what = what
        self.file = file
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        place = ":".join(str(p) for p in (self.file, self.where) if p not in (None, ""))
        text = f"{place}: {self.what}" if place else str(self.what)
        if self.hint:
            text += f"; {self.hint}"
        return one_line(text)

    def located(self, file: str | None = None, where: str | None = None) -> "DeffeError":
        """The same error with a file / place filled in where it was missing."""
        return DeffeError(self.what, file=self.file or file, where=self.where or where,
                          hint=self.hint)


def one_line(text: str) -> str:
    """A message on one line, whatever a plugin's exception said (its lines joined by ' | '): an error is
    always the one line ``error: ...`` a user (or a script reading stderr) can take as such."""
    if "\n" not in text and "\r" not in text:
        return text
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


class Stopped(KeyboardInterrupt):
    """The driver was sent SIGTERM (``kill``, ``timeout``, a batch system) or SIGHUP (its terminal closed): it
    stops as on a Ctrl-C (the samples running are killed with what they started, the store stays whole)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` hint for a near miss, or None."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def join_hints(*hints: str | None) -> str | None:
    parts = [h for h in hints if h]
    return "; ".join(parts) if parts else None


def exit_status(returncode: int | None) -> str:
    """How a process ended, for a message: "exited with status 3", or, for Python's negative returncode of a
    process killed by a signal, "was killed by signal 11 (SIGSEGV)"."""
    if returncode is None:
        return "exited with an unknown status"
    if returncode >= 0:
        return f"exited with status {returncode}"
    try:
        name = f" ({signal.Signals(-returncode).name})"
    except ValueError:   # a number this system has no name for
        name = ""
    return f"was killed by signal {-returncode}{name}"
