"""Budget sweeps: replay one trace at budgets that are fractions of its baseline peak,
write them as CSV, plot overhead against budget.

    results = sweep(trace, heuristic="dtr_eq")          # ratios 0.1, 0.2, ..., 1.0
    sweep_to_csv(results, RATIOS, "sweep.csv")
    plot_sweep({"dtr_eq": results}, RATIOS, "sweep.png")
"""
from __future__ import annotations

import csv
import math
import os
from typing import Any, Sequence

from ..graph import SimulatorError
from .replay import RematResult, baseline, replay
from .trace import OpTrace

RATIOS = tuple(round(0.1 * k, 1) for k in range(1, 11))
CSV_COLUMNS = ("ratio", "heuristic", "budget_bytes", "baseline_peak_bytes", "baseline_compute_s",
               "compute_s", "overhead", "peak_bytes", "evictions", "remats", "oom", "thrash", "seconds")


def _check_ratios(ratios: Sequence[float]) -> list[float]:
    out = []
    for r in ratios:
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 < r < math.inf:
            raise SimulatorError(f"a budget ratio must be a number > 0, not {r!r}")
        out.append(float(r))
    if not out:
        raise SimulatorError("no budget ratios given")
    return out


def sweep(trace: OpTrace, ratios: Sequence[float] = RATIOS, heuristic: str = "dtr_eq",
          **kw: Any) -> list[RematResult]:
    """One `replay` per ratio, with budget = ratio * baseline peak (keywords go to `replay`)."""
    peak, _ = baseline(trace)
    return [replay(trace, r * peak, heuristic, **kw) for r in _check_ratios(ratios)]


def sweep_to_csv(results: Sequence[RematResult], ratios: Sequence[float], path: str | os.PathLike) -> None:
    """One row per (ratio, result); unfinished runs have an empty overhead."""
    if len(results) != len(ratios):
        raise SimulatorError(f"{len(results)} results for {len(ratios)} ratios")
    try:
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            for ratio, r in zip(ratios, results):
                d = r.to_dict()
                w.writerow([ratio] + ["" if d[c] is None else d[c] for c in CSV_COLUMNS[1:]])
    except OSError as err:
        raise SimulatorError(f"cannot write: {err.strerror}", source=os.fspath(path)) from None


def plot_file(path: str | os.PathLike) -> str:
    """The file `plot_sweep` writes for `path`: `path` itself, or with matplotlib's default extension
    ('.png') added when it has none; a one-line `SimulatorError` listing the formats when matplotlib has
    none for its extension (checked before a sweep, not after it)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    text = os.fspath(path)
    ext = os.path.splitext(text)[1][1:].lower()
    if not ext:
        return text.rstrip(".") + "." + matplotlib.rcParams["savefig.format"]
    formats = FigureCanvasAgg.get_supported_filetypes()
    if ext not in formats:
        raise SimulatorError(f"no plot format for '.{ext}' files; name a file ending in one of "
                             f"{', '.join('.' + f for f in sorted(formats))}", source=text)
    return text


def plot_sweep(results_by_heuristic: dict[str, Sequence[RematResult]], ratios: Sequence[float],
               path: str | os.PathLike, title: str | None = None) -> None:
    """Overhead against budget ratio, one line per heuristic (runs that did not finish —
    out of memory or thrashing — are left out of the line and marked at the top). `path` without an
    extension gets '.png' (see `plot_file`)."""
    path = plot_file(path)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    finite = [r.overhead for rs in results_by_heuristic.values() for r in rs if math.isfinite(r.overhead)]
    top = max(finite + [1.0]) * 1.05
    for name, results in results_by_heuristic.items():
        if len(results) != len(ratios):
            raise SimulatorError(f"heuristic '{name}': {len(results)} results for {len(ratios)} ratios")
        xs = [x for x, r in zip(ratios, results) if math.isfinite(r.overhead)]
        ys = [r.overhead for r in results if math.isfinite(r.overhead)]
        line, = ax.plot(xs, ys, marker="o", label=name)
        failed = [x for x, r in zip(ratios, results) if not math.isfinite(r.overhead)]
        if failed:
            ax.plot(failed, [top] * len(failed), linestyle="none", marker="x", color=line.get_color())
    ax.set_xlabel("memory budget / baseline peak")
    ax.set_ylabel("compute overhead (x baseline)")
    ax.set_title(title or "rematerialisation overhead (x at top: out of memory or thrashing)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=120)
    except OSError as err:
        raise SimulatorError(f"cannot write: {err.strerror}", source=os.fspath(path)) from None
    finally:
        plt.close(fig)
