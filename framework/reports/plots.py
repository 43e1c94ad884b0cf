"""The report's plots: PNG files ``report_*.png`` in the run directory.

Figures are drawn with matplotlib's object API on the Agg canvas, never through pyplot: no global figure
state, no display needed, safe next to other code of the process that uses pyplot. A plot without data
(no model, one objective for the front, no memory timeline) is not drawn rather than drawn empty.
"""
from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..atomic import replacing
from ..metrics import magnitude_exponents
from ..run_data import RunData
from ..search.pareto import pareto_front
from ..values import quantity_text
from . import content as c
from .content import Explored

DPI = 110
FRONT_COLOR, EVAL_COLOR, BAD_COLOR, PRED_COLOR = "#c0392b", "#9aa5b1", "#e67e22", "#2471a3"
FAILED_COLOR = "#5d6d7e"
MAX_PAIRS = 6   # objective pairs drawn for more than two objectives (the first four objectives)
MAX_SCENARIO_PANELS = 8   # scenario combinations of the front plot, a row of panels each


def plot_name(prefix: str, kind: str) -> str:
    return f"report_{prefix + '_' if prefix else ''}{kind}.png"


def write_plots(run: RunData, explored: list[Explored]) -> dict[str, Path]:
    """Every plot there is data for; returns {key: path}, keys as the file names without .png. A plot of an
    earlier build that has no data now (a model no longer trained) is removed: the directory shows what the
    page shows. Only the run's own names are written or removed, never another report_*.png (the user's)."""
    out: dict[str, Path] = {}
    kinds = (("front", _front), ("progress", _progress), ("predicted", _predicted), ("learning", _learning),
             ("knob_importance", _importance))
    # the run's own names only (its explorations' prefixes, the kinds above): a file of the user's that merely
    # looks like one (report_before_tuning_front.png, a copy kept for comparison) is never replaced or removed
    own = {run.run_dir / plot_name(ex.prefix, kind) for ex in explored for kind, _draw in kinds}
    own.add(run.run_dir / plot_name("", "memory_timeline"))
    stale = {p for p in own if p.is_file()}
    for ex in explored:
        for kind, draw in kinds:
            fig = draw(run, ex)
            if fig is not None:
                path = run.run_dir / plot_name(ex.prefix, kind)
                _save(fig, path)
                out[path.stem] = path
    fig = _memory(run.run_dir)
    if fig is not None:
        path = run.run_dir / plot_name("", "memory_timeline")
        _save(fig, path)
        out[path.stem] = path
    for p in stale - set(out.values()):
        p.unlink(missing_ok=True)
    return out


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    if fig.get_layout_engine() is None:   # (a figure that chose its own layout keeps it)
        fig.tight_layout()
    with replacing(path) as tmp:   # a report being read never sees half a picture
        fig.savefig(tmp, dpi=DPI, format="png")


def _axis(ax, which: str, run: RunData, cost: str, power: int = 0) -> None:
    """Label an axis with the cost and show its ticks as quantities ('200 ms', '4 GB'); values drawn in a
    power of ten of their unit (`_power`) as plain numbers, the label saying the power ('x 1e-300 s')."""
    unit = c.cost_unit(run, cost)
    direction = "maximised" if c.cost_sign(run, cost) < 0 else "minimised"   # not "(min)": read as minutes
    getattr(ax, f"set_{which}label")(f"{cost}, {direction}{_times(power, unit)}")
    fmt = FuncFormatter((lambda v, _pos: f"{v:.3g}") if power else (lambda v, _pos: quantity_text(v, unit, 3)))
    (ax.xaxis if which == "x" else ax.yaxis).set_major_formatter(fmt)


def _times(power: int, unit: str | None = None) -> str:
    return f" (x 1e{power:+d}{' ' + unit if unit else ''})" if power else ""


def _power(*arrays) -> int:
    """0 for costs of an ordinary magnitude, else the power of ten of their unit to draw them in (that of
    `metrics.magnitude_exponents`, as the model and the hypervolume use): an axis of values near 1e-300
    collapses them to one point ('-40 ms'..'40 ms', every point at '0 s'), and ticks near 1e300 overlap."""
    v = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays] + [np.zeros(0)])
    return int(magnitude_exponents(v[:, None])[0])


def _in_power(values, power: int) -> np.ndarray:
    """``values`` in units of 10**power, in two factors (10**320 alone overflows: costs near 1e-320)."""
    half = power // 2
    return np.asarray(values, dtype=float) * 10.0 ** -half * 10.0 ** -(power - half)


def _numeric(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float) if col in df else \
        np.full(len(df), np.nan)


def _wide(values: np.ndarray) -> bool:
    """Positive values over more than two decades read better on a log scale."""
    v = values[np.isfinite(values)]
    return len(v) > 1 and (v > 0).all() and v.max() / v.min() > 100


def _front(run: RunData, ex: Explored) -> Figure | None:
    """The evaluated designs and the front, a panel per pair of objectives; with scenarios, a row of panels
    per scenario combination (its designs and its front only: a design of one problem size does not
    compete with another's), the first MAX_SCENARIO_PANELS in the order written."""
    objs = [o for o in run.objectives if o in ex.data.evaluations][:4]
    ev = ex.data.evaluations
    if len(objs) < 2 or not ex.feasible.any():
        return None
    pairs = list(itertools.combinations(objs, 2))[:MAX_PAIRS]
    labels: list[str | None] = [None]
    # a panel per combination where the table holds a front per combination; without its scenario column it
    # holds one front over all of them (more than 32 combinations evaluated), drawn so, over every design
    per_scenario = ex.scenario is not None and "scenario" in ex.data.front
    if per_scenario:
        written = c.scenario_order(ex)
        labels = written[:MAX_SCENARIO_PANELS]
    # every pair for every combination (the docs promise each pair of the first four objectives; cutting
    # pairs to fit more combinations dropped some silently); smaller panels when there are many rows
    cols = min(len(pairs), 3)
    per_label = (len(pairs) + cols - 1) // cols
    rows = per_label * len(labels)
    scale = 1.0 if rows <= 4 else 0.75
    fig = Figure(figsize=(6.4 * cols * scale, 4.8 * rows * scale))
    front = ex.data.front
    # each objective in one power of ten of its unit over every panel (0 but for costs near 1e-300 or 1e300)
    powers = {o: _power(_numeric(ev, o), _numeric(front, o), _numeric(front, f"predicted-{o}")) for o in objs}
    status = ex.status.to_numpy(dtype=object) if ex.status is not None else np.full(len(ev), "ok", dtype=object)
    failed = np.isin(status, ["failed", "timeout"])
    n = 0
    for label in labels:
        mine = np.ones(len(ev), dtype=bool) if label is None else ex.scenario.eq(label).to_numpy()
        rows_front = front if label is None else front[front["scenario"].astype(str).eq(label)]
        for a, b in pairs:
            n += 1
            ax = fig.add_subplot(rows, cols, n)
            one_front = label is not None or "scenario" not in front   # not the fronts of several scenarios
            _front_panel(ax, run, ev, ex.feasible.to_numpy() & mine, mine & ~ex.feasible.to_numpy(),
                         failed, rows_front, a, b, steps=len(objs) == 2 and one_front, powers=powers)
            if label is not None:
                ax.set_title(label if len(pairs) == 1 else f"{label}: {a} / {b}", fontsize=10)
    # panels per combination say which in their titles; only the first ones drawn, or one front over all of
    # them (no per-combination front in the table), needs a word in the figure's title
    if per_scenario:
        more = f" (the first {len(labels)} of {len(written)} scenario combinations)" \
            if len(written) > len(labels) else ""
    else:
        more = f" (one over all {ex.scenario.nunique()} scenario combinations)" if ex.scenario is not None else ""
    fig.suptitle(f"Pareto front{_of(ex)}{more}", wrap=True)   # (a figure one panel wide is narrow)
    fig.set_layout_engine("constrained")   # (tight_layout let the figure's title run into the top panels')
    return fig


def _front_panel(ax, run: RunData, ev: pd.DataFrame, feas: np.ndarray, others: np.ndarray, failed: np.ndarray,
                 front: pd.DataFrame, a: str, b: str, steps: bool, powers: dict[str, int]) -> None:
    """One panel of `_front`: the feasible designs, the others (failed ones apart: their costs, where they
    returned some, say nothing of a constraint), the front of the rows ``front`` of deffe_exploration.csv;
    each cost in units of 10 to its ``powers``."""
    def num(df: pd.DataFrame, col: str, cost: str) -> np.ndarray:
        return _in_power(_numeric(df, col), powers[cost])
    evaluated_front = front[front["source"].astype(str).eq("evaluated")] if "source" in front else front
    only_predicted = front[front["source"].astype(str).eq("predicted")] if "source" in front else front.iloc[:0]
    xa, xb = num(ev, a, a), num(ev, b, b)
    ax.scatter(xa[feas], xb[feas], s=14, color=EVAL_COLOR, label=f"evaluated ({int(feas.sum())})", zorder=2)
    bad, broke = others & ~failed, others & failed
    if bad.any():
        ax.scatter(xa[bad], xb[bad], s=18, marker="x", color=BAD_COLOR, zorder=2,
                   label="infeasible or against a constraint")
    if broke.any():
        ax.scatter(xa[broke], xb[broke], s=18, marker="+", color=FAILED_COLOR, zorder=2, label="failed")
    # the front of this pair of objectives, drawn from the table the run wrote (with more than two
    # objectives a point of the whole front need not be on the front of a pair: all are marked)
    fa, fb = num(evaluated_front, a, a), num(evaluated_front, b, b)
    ax.scatter(fa, fb, s=36, color=FRONT_COLOR, edgecolor="black", linewidth=0.5, zorder=4,
               label=f"front ({len(evaluated_front)})")
    if steps and len(fa):
        signed = np.column_stack([fa * c.cost_sign(run, a), fb * c.cost_sign(run, b)])
        keep = pareto_front(signed)
        order = keep[np.argsort(fa[keep])]
        ax.step(fa[order], fb[order], where="post", color=FRONT_COLOR, linewidth=1, zorder=3)
    pa, pb = num(evaluated_front, f"predicted-{a}", a), num(evaluated_front, f"predicted-{b}", b)
    has = np.isfinite(pa) & np.isfinite(pb)
    if has.any():
        ax.scatter(pa[has], pb[has], s=36, facecolor="none", edgecolor=PRED_COLOR, zorder=4,
                   label="front, as the model predicted it")
        for x0, y0, x1, y1 in zip(fa[has], fb[has], pa[has], pb[has]):
            ax.plot([x0, x1], [y0, y1], color=PRED_COLOR, linewidth=0.6, alpha=0.6, zorder=3)
    qa, qb = num(only_predicted, f"predicted-{a}", a), num(only_predicted, f"predicted-{b}", b)
    if np.isfinite(qa).any():
        ax.scatter(qa, qb, s=40, marker="^", facecolor="none", edgecolor=PRED_COLOR, zorder=4,
                   label="predicted only, not evaluated")
    _axis(ax, "x", run, a, powers[a])
    _axis(ax, "y", run, b, powers[b])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def _of(ex: Explored) -> str:
    return f" of {ex.data.name}" if ex.prefix else ""


def _progress(run: RunData, ex: Explored) -> Figure | None:
    ev = ex.data.evaluations
    if ev.empty or not run.objectives or not ex.feasible.any():
        return None
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    # problem sizes apart: a curve per scenario combination (never one pooled over them), the first
    # MAX_SCENARIO_LINES in the order written (as the front plot's panels), the title saying the others are not
    written = c.scenario_order(ex)
    labels = written[:c.MAX_SCENARIO_LINES] if len(written) > 1 else []
    left = f" (the first {len(labels)} of {len(written)} scenario combinations)" \
        if len(written) > len(labels) > 0 else ""
    if len(run.objectives) == 1:
        o = run.objectives[0]
        y = _numeric(ev, o)
        n = np.arange(1, len(ev) + 1)
        feas = ex.feasible.to_numpy()
        if left:   # the points of the combinations drawn only
            feas = feas & ex.scenario.isin(labels).to_numpy()
        power = _power(y[feas])   # (0 but for costs near 1e-300 or 1e300: drawn in a power of ten of the unit)
        ax.scatter(n[feas], _in_power(y[feas], power), s=10, color=EVAL_COLOR, label="each feasible evaluation",
                   zorder=2)
        if labels:
            for label in labels:
                x, best = c.best_so_far(run, ex, ex.scenario.eq(label))
                ax.step(x, _in_power(best, power), where="post", linewidth=1.5, label=f"best, {label}", zorder=3)
        else:
            x, best = c.best_so_far(run, ex)
            ax.step(x, _in_power(best, power), where="post", color=FRONT_COLOR, linewidth=1.8, label="best so far",
                    zorder=3)
        if _wide(y[feas]):
            ax.set_yscale("log")
        _axis(ax, "y", run, o, power)
        ax.set_title(f"best {o} against evaluations{_of(ex)}{left}", **({"fontsize": 10} if left else {}))
    else:
        if labels:
            curves = [(f"{label}", *c.hypervolume_progress(run, ex, label)) for label in labels]
        else:
            curves = [(None, *c.hypervolume_progress(run, ex))]
        curves = [cv for cv in curves if len(cv[1])]
        if not curves:
            return None
        # costs of an extreme magnitude: volumes drawn in a power of ten of the units, the same for every curve
        power = max(cv[3] for cv in curves)
        for name, x, hv, p, how in curves:
            ax.plot(x, hv * 10.0 ** (p - power), marker="o" if len(x) <= 50 else None, label=name,
                    **({} if name is not None else {"color": FRONT_COLOR}))
        how = curves[0][4]
        if len(curves) > 1 and _wide(np.concatenate([cv[2] * 10.0 ** (cv[3] - power) for cv in curves])):
            ax.set_yscale("log")   # sizes orders apart
        ax.set_ylabel("hypervolume of the front" + (" of each scenario" if curves[0][0] is not None else "")
                      + (f" (x 1e{power:+d})" if power else ""))
        ax.set_title(f"hypervolume against evaluations{_of(ex)}{left}\n({how})", fontsize=10)
    ax.set_xlabel("evaluations")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    return fig


def _predicted(run: RunData, ex: Explored) -> Figure | None:
    df = c.predicted_vs_true(run, ex.data)
    if df.empty:
        return None
    costs = [k for k in run.cost_names if k in set(df["cost"])]
    fig = Figure(figsize=(5 * len(costs), 4.6))
    for n, cost in enumerate(costs, start=1):
        d = df[df["cost"] == cost]
        ax = fig.add_subplot(1, len(costs), n)
        t, p = d["true"].to_numpy(dtype=float), d["predicted"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.abs(p - t) / np.abs(t)
        ratio = ratio[~np.isnan(ratio)]   # 0/0 where a cost is 0 (none at all: no MAPE, and no numpy warning)
        mape = float(ratio.mean()) * 100 if len(ratio) else math.nan
        power = _power(t, p)   # (0 but for costs near 1e-300 or 1e300: drawn in a power of ten of the unit)
        t, p = _in_power(t, power), _in_power(p, power)
        ax.scatter(t, p, s=14, color=PRED_COLOR, zorder=3)
        lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, linestyle="--", label="predicted = true")
        if _wide(np.r_[t, p]):
            ax.set_xscale("log")
            ax.set_yscale("log")
        _axis(ax, "x", run, cost, power)
        ax.set_xlabel(f"true {cost}{_times(power, c.cost_unit(run, cost))}")
        _axis(ax, "y", run, cost, power)
        ax.set_ylabel(f"predicted {cost}{_times(power, c.cost_unit(run, cost))}")
        ax.set_title(f"{cost}: {len(d)} points, MAPE {mape:.3g}%" if np.isfinite(mape) else cost, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"predicted before evaluation, against true{_of(ex)}")
    return fig


def _learning(run: RunData, ex: Explored) -> Figure | None:
    lt = c.learning_table(ex.data)
    if lt.empty or "step" not in lt:
        return None
    metrics = [(col, label) for col, label in (("mape_percent", "hold-out MAPE (%)"),
                                               ("kendall_tau", "hold-out Kendall tau (ranking)"))
               if col in lt and pd.to_numeric(lt[col], errors="coerce").notna().any()]
    if not metrics:
        return None
    # the number of points the model had (train + hold-out) says more than the step number
    sizes = pd.to_numeric(lt.get("train"), errors="coerce") + pd.to_numeric(lt.get("holdout"), errors="coerce") \
        if {"train", "holdout"} <= set(lt.columns) else None
    use_sizes = sizes is not None and sizes.notna().all()
    fig = Figure(figsize=(6 * len(metrics), 4.2))
    for n, (col, label) in enumerate(metrics, start=1):
        ax = fig.add_subplot(1, len(metrics), n)
        for cost in dict.fromkeys(lt["cost"]):
            mine = lt["cost"] == cost
            x = (sizes[mine] if use_sizes else lt.loc[mine, "step"]).to_numpy(dtype=float)
            ax.plot(x, pd.to_numeric(lt.loc[mine, col], errors="coerce").to_numpy(dtype=float), marker="o",
                    label=str(cost))
        ax.set_xlabel("points the model had (train + hold-out)" if use_sizes else "step")
        ax.set_ylabel(label)
        if col == "kendall_tau":
            ax.set_ylim(-1.05, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"model accuracy per step{_of(ex)}")
    return fig


def _importance(run: RunData, ex: Explored) -> Figure | None:
    ki = c.knob_importance(ex.data.knob_importance)
    if ki.empty:
        return None
    costs = list(dict.fromkeys(ki["cost"]))
    bars = int(ki.groupby(["cost", "method"]).size().max())
    fig = Figure(figsize=(5.5 * len(costs), max(3.0, 1.2 + 0.35 * bars)))
    for n, cost in enumerate(costs, start=1):
        mine = ki[ki["cost"] == cost]
        methods = list(dict.fromkeys(mine["method"]))
        # the model's reliance (permutation) where there is one, else the lasso credit
        method = next((m for m in methods if "permutation" in m), methods[0])
        d = mine[mine["method"] == method].sort_values("rank", ascending=False)
        ax = fig.add_subplot(1, len(costs), n)
        ax.barh(d["knob"].astype(str), d["score"].to_numpy(dtype=float), color=PRED_COLOR,
                xerr=d["+-"].to_numpy(dtype=float) if d["+-"].notna().any() else None)
        ax.set_title(f"{cost}: {method}", fontsize=9)
        ax.set_xlabel("increase of the model's squared error when the knob is shuffled" if "permutation" in method
                      else "score (knob_importance.txt)", fontsize=8)
        ax.grid(alpha=0.3, axis="x")
    fig.suptitle(f"knob importance{_of(ex)}")
    return fig


def _memory(run_dir: Path) -> Figure | None:
    files = c.memory_timelines(run_dir)
    lines = []
    for f in files:
        try:
            x, y, xl, yl = c.read_timeline(f)
        except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
            continue   # a file that only matches the name: not a timeline
        if (np.isfinite(x) & np.isfinite(y)).any():   # a file of NaN only (`1,nan`) has nothing to draw
            lines.append((f, x, y, xl, yl))
    if not lines:
        return None
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    for f, x, y, _xl, _yl in lines:
        # a step plot: a value holds until the next change
        ax.step(x, y, where="post", linewidth=1, label=f"{f.name} (peak {quantity_text(np.nanmax(y))})")
    ax.set_xlabel(lines[0][3])
    ax.set_ylabel(lines[0][4])
    ax.set_title("memory timelines")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return fig
