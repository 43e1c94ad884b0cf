"""The progress of an exploration on stderr, with what a person waits for: evaluations done and failed,
the best design so far, how well the model predicts, and the time left. Silent with -quiet.

On a terminal it is a tqdm bar whose postfix holds the news, cut to the terminal's width. Elsewhere (a
log file, CI) a bar's redraws would be a wall of carriage returns: a plain line is written instead, at
most every `INTERVAL` seconds, and a last one when the exploration ends.

The time left is the smaller of what the sample budget needs at the pace of this run's evaluations
(samples found in the store cost no time and do not count in the pace) and what the time budget has
left (exploration.max_time).
"""
from __future__ import annotations

import math
import os
import sys
import time
from typing import Any, Callable, TextIO

from tqdm import tqdm

from .values import quantity_text

INTERVAL = 30.0   # seconds between two plain status lines (not a terminal)
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"
OPEN_FORMAT = "{desc}: {n_fmt} samples [{elapsed}{postfix}]"   # no total: a count, no bar
BAR_ROOM = 35     # columns of the bar line besides its label and postfix: percentage, 5 of bar, counts, elapsed
SHOWN_ORDER = ("failed", "stored", "best", "model", "left")
FALLBACK_COLUMNS, FALLBACK_ROWS = 80, 24   # the size of a terminal that tells none (or 0)


class Progress:
    def __init__(self, total: int | None, label: str, enabled: bool = True, *, max_time: float | None = None,
                 stream: TextIO | None = None, interval: float = INTERVAL,
                 clock: Callable[[], float] = time.monotonic, width: int | None = None):
        self.total = total
        self.label = label
        self.enabled = enabled
        self.max_time = max_time
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.done = 0          # samples with a result: evaluated now, found in the store, failed
        self.cached = 0        # found in the store
        self.failed = 0        # failed or timed out
        self.best_text: str | None = None
        self.mape: float | None = None
        self.last_line = self.started   # when the last plain line was written
        self.last_text: str | None = None   # ... and what it said
        self.terminal = enabled and _isatty(self.stream)
        rows = None
        if self.terminal and width is None and not all(_terminal_size(self.stream)):
            # a terminal that tells no size (a pseudo-terminal without one says 0 columns, 0 lines): tqdm took
            # it for -1 lines, too few to draw its bar in, so no progress was shown at all
            width = _terminal_size(self.stream)[0] or FALLBACK_COLUMNS
            rows = FALLBACK_ROWS
        self.width = width
        self.finished = False   # closed: the exploration has ended, nothing is left to wait for
        self.bar = tqdm(total=total, desc=label, unit="sample", file=self.stream, disable=not self.terminal,
                        dynamic_ncols=width is None, ncols=width, nrows=rows, leave=True, smoothing=0.1,
                        bar_format=BAR_FORMAT if total else OPEN_FORMAT)

    # ------------------------------------------------------------------ what the driver tells
    def update(self, cached: bool = False, failed: bool = False) -> None:
        """One sample has its result (``cached``: from the store; ``failed``: failed or timed out)."""
        self.done += 1
        self.cached += cached
        self.failed += failed
        self._show()

    def best(self, text: str | None) -> None:
        """The best design so far, as `best_text` writes it (``best exec_time 1.2 ms``, ``front 7, hv 0.83``)."""
        self.best_text = text
        self._show()

    def model(self, holdout_mape: float | None) -> None:
        """The last training's hold-out MAPE (a fraction: the worst cost's), or None without a hold-out."""
        self.mape = holdout_mape
        self._show()

    def close(self) -> None:
        self.finished = True   # the last line or bar tells no time left: the exploration is over
        if self.enabled and self.terminal:
            self.bar.set_postfix_str(self.postfix(), refresh=False)
        if self.enabled and not self.terminal and self.done and self.status_line() != self.last_text:
            self._write_line()   # the last line, unless the one just written says the same
        self.bar.close()

    # ------------------------------------------------------------------ what is shown
    def seconds_left(self) -> float | None:
        """The time left by the sample budget at this run's pace, and by the time budget; None: not known."""
        now = self.clock()
        elapsed = now - self.started
        known = []
        evaluated = self.done - self.cached
        if self.total and evaluated > 0 and elapsed > 0:
            known.append(max(0, self.total - self.done) * elapsed / evaluated)
        if self.max_time is not None:
            known.append(max(0.0, self.max_time - elapsed))
        return min(known) if known else None

    def news(self) -> list[tuple[str, str]]:
        """The postfix's parts as (kind, text), the most wanted first: a line too long loses the last ones."""
        parts = []
        left = self.seconds_left()
        if left is not None and not self.finished and self.done < (self.total or math.inf):
            parts.append(("left", f"{duration_text(left)} left"))
        if self.failed:
            parts.append(("failed", f"{self.failed} failed"))
        if self.best_text:
            parts.append(("best", self.best_text))
        if self.mape is not None and math.isfinite(self.mape):
            parts.append(("model", f"model MAPE {100 * self.mape:.3g}%"))
        if self.cached:
            parts.append(("stored", f"{self.cached} stored"))
        return parts

    def postfix(self) -> str:
        """The news in the order read (counts, best, model, time), fitted into the terminal's width."""
        room = max(20, self._columns() - len(self.label) - BAR_ROOM)
        parts = self.news()
        while len(parts) > 1 and len(", ".join(t for _k, t in parts)) > room:
            parts.pop()
        parts.sort(key=lambda part: SHOWN_ORDER.index(part[0]))
        text = ", ".join(t for _k, t in parts)
        return text if len(text) <= room else text[:room - 1] + "…"

    def status_line(self) -> str:
        """The plain line written where there is no terminal."""
        total = f"/{self.total}" if self.total else ""
        counts = [f"{self.done - self.cached - self.failed} evaluated"]
        if self.cached:
            counts.append(f"{self.cached} from the store")
        if self.failed:
            counts.append(f"{self.failed} failed")
        parts = [f"{self.label}: {self.done}{total} samples ({', '.join(counts)})"]
        if self.best_text:
            parts.append(self.best_text)
        if self.mape is not None and math.isfinite(self.mape):
            parts.append(f"model MAPE {100 * self.mape:.3g}%")
        parts.append(f"{duration_text(self.clock() - self.started)} elapsed")
        left = self.seconds_left()
        if left is not None and not self.finished and self.done < (self.total or math.inf):
            parts.append(f"about {duration_text(left)} left")
        return ", ".join(parts)

    def _show(self) -> None:
        if not self.enabled:
            return
        if self.terminal:
            # refreshed by the bar's own update, except news that comes between samples (best, model)
            self.bar.set_postfix_str(self.postfix(), refresh=False)
            if self.done != self.bar.n:
                self.bar.update(self.done - self.bar.n)
            else:
                self.bar.refresh()
            return
        if self.clock() - self.last_line >= self.interval:
            self._write_line()

    def _write_line(self) -> None:
        self.last_line = self.clock()
        self.last_text = self.status_line()
        print(self.last_text, file=self.stream, flush=True)

    def _columns(self) -> int:
        return self.width or _terminal_size(self.stream)[0] or FALLBACK_COLUMNS


def _terminal_size(stream: Any) -> tuple[int, int]:
    """The terminal's columns and lines, 0 for what it does not tell (not a terminal, or no size)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return 0, 0
    return max(0, size.columns), max(0, size.lines)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def duration_text(seconds: float) -> str:
    """45s, 3m20s, 2h05m, 3d04h: two units at most, enough to plan a coffee or a night."""
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def best_text(info: dict | None, costs: list, objectives: list[str]) -> str | None:
    """A step's record of `report.Tracker.update` for people: ``best exec_time 1.2 ms`` (one objective, in
    its unit), ``front 7, hv 0.83`` (several), or that nothing feasible was evaluated yet; with scenarios,
    per combination (``best exec_time: size=512 1.2 ms; size=2048 9.6 ms``)."""
    if not info:
        return None
    if info.get("scenarios"):
        # per scenario combination: one figure pooled over problem sizes compares what is never compared
        # (a front of one size dominates another's, a best of a small size hides the large one's)
        parts = [f"{label} {_one(sub, costs, objectives, short=True)}"
                 for label, sub in list(info["scenarios"].items())[:SCENARIOS_SHOWN]]
        more = len(info["scenarios"]) - SCENARIOS_SHOWN
        one = len(objectives) == 1 and any(sub.get("best") is not None for sub in info["scenarios"].values())
        return (f"best {objectives[0]}: " if one else "") + "; ".join(parts) + (f"; {more} more" if more > 0 else "")
    return _one(info, costs, objectives)


SCENARIOS_SHOWN = 4   # on the one progress line; the reports show every one


def _one(info: dict, costs: list, objectives: list[str], short: bool = False) -> str | None:
    if not info.get("feasible"):
        return "no feasible design yet"
    if info.get("best") is not None:
        name = objectives[0]
        unit = next((getattr(c, "unit", None) for c in costs if getattr(c, "name", None) == name), None)
        return quantity_text(info['best'], unit) if short else f"best {name} {quantity_text(info['best'], unit)}"
    if info.get("hypervolume") is not None:
        hv = hv_text(info["hypervolume"], info.get("hypervolume_exponent", 0))
        return f"front {info.get('front', '?')}, hv {hv}"
    return None


def hv_text(hv: float, exponent: int = 0) -> str:
    """A hypervolume for people, in the costs' units: ``hv`` x 10^``exponent`` (a `Tracker` record of costs
    near 1e-300 or 1e300, whose volume in their units is beyond a float: 1.61e-595)."""
    if not exponent or not hv or not math.isfinite(hv):
        return f"{hv:.3g}"
    mantissa, power = f"{hv:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(power) + exponent:+03d}"
