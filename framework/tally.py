"""What one run of an exploration did with its samples (the summary's line), and the watch that stops a run
when every evaluation of an exploration entry crashed alike."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .protocols import Result


@dataclass
class Tally:
    """What one run of an exploration did with the samples it was told (one line of the summary)."""

    evaluated: int = 0     # evaluated now (retries included)
    reused: int = 0        # found in the store
    failed: int = 0        # failed or timed out, evaluated now or found so
    infeasible: int = 0
    retried: int = 0       # stored failures evaluated again (-retry-failed)
    would: int = 0         # dry run: points a real run would evaluate

    def add(self, result: Result, reused: bool) -> None:
        if reused:
            self.reused += 1
        else:
            self.evaluated += 1
        self.failed += result.status in ("failed", "timeout")
        self.infeasible += result.status == "infeasible"

    def text(self) -> str:
        parts = [f"{self.evaluated} evaluated now"]
        if self.retried:
            parts[0] += f" ({self.retried} of them retried failures)"
        parts.append(f"{self.reused} from the store")
        told = self.evaluated + self.reused
        parts.append(f"{self.failed} failed" + (f" ({100 * self.failed / told:.0f}%)" if self.failed and told else ""))
        if self.infeasible:
            parts.append(f"{self.infeasible} infeasible")
        return ", ".join(parts)


@dataclass
class CrashWatch:
    """Whether every evaluation of one exploration entry so far crashed with one and the same exception (the
    driver keeps one watch per entry)."""

    least: int = 3          # evaluations that must have failed alike before the run stops
    count: int = 0
    first: str | None = None
    same: bool = True
    block: str = "evaluate"  # the plugin that crashed first: evaluate or extract

    def note(self, result: Result) -> None:
        crash = result.crash if result.status == "failed" else None
        if self.count == 0:
            self.first = crash
            self.block = result.block if crash else "evaluate"
        self.count += 1
        self.same = self.same and crash is not None and alike(crash) == alike(self.first)

    def broken(self) -> bool:
        return self.same and self.count >= self.least


_NUMBER = re.compile(r"\d+")
_PATH = re.compile(r"[^\s'\"]*[/\\][^\s'\"]*")   # a token with a / or \ in it


def alike(crash: str | None) -> str | None:
    """A crash's message without the sample's own paths (.../explore_7/results.txt: their numbers), so that
    one bug naming each sample's file is seen as one. Numbers elsewhere stay: "point 3 is bad" and "point 4
    is bad" are points failing each their own way, not a broken plugin."""
    return None if crash is None else _PATH.sub(lambda m: _NUMBER.sub("#", m.group(0)), crash)
