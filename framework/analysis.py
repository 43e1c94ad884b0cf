"""Knob importance from evaluated data: which knobs, and which decisions, drive a cost.

Two views, both on the codes of a `DesignSpace` and one cost:

``permutation_importance(model, space, codes, y)``
    How much a fitted model's error grows when one knob's column is shuffled
    (Breiman 2001): the model's reliance on that knob. ``model`` is anything with
    ``predict(codes) -> (n, m)``, a model plugin with ``Predict(codes).mean``, or a
    callable ``f(codes) -> (n,)`` / ``(n, m)``.

``lasso_credit(space, codes, y)``
    The inlining project's sparse linear credit assignment: a lasso regression
    of the cost on the *decisions*, one indicator per (knob, level) of each finite
    knob (a continuous knob enters as its position in its range, 0..1), and for a
    numeric finite knob of 3 or more values its trend too (its value's position
    between its smallest and largest, `trend_columns`: a linear effect of a knob
    of 40 values is one credit, not 40 small ones the penalty zeroes). The L1
    penalty (chosen by cross-validation unless ``alpha`` is given; of alphas whose
    errors tie, the largest) leaves most
    decisions at zero credit and gives the few that move the cost a coefficient
    in cost units: what taking that decision adds to the cost (a numeric knob's
    decision: its indicator's credit plus its trend's). A knob's credit is
    the spread of its decisions' credits (max - min over the levels seen): how
    much the cost can change by choosing that knob's level alone.

Each returns an `Importance`: ``table()`` prints it, ``plot(path)`` draws it
(matplotlib, Agg backend, a PNG), ``by_family(space)`` sums repeated knobs
(``device_0 .. device_49`` -> ``device``) and leaves out the scenarios.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import warnings

import numpy as np

from .metrics import HUGE
from .space import DesignSpace
from .values import Value, format_value


@dataclass
class Decision:
    """One (knob, value) decision and the cost credited to it."""

    knob: str
    value: Value
    credit: float         # lasso coefficient, in cost units
    count: int            # evaluated points that took this decision


@dataclass
class Importance:
    """Importance of each knob for one cost."""

    method: str                                   # "permutation" | "lasso"
    cost: str
    knobs: list[str]
    scores: np.ndarray                            # (k,) one per knob, larger = more important
    spread: np.ndarray | None = None              # (k,) std over permutation repeats
    decisions: list[Decision] = field(default_factory=list)
    note: str = ""                                # fit details (error, alpha, R^2)

    def ranking(self) -> list[tuple[str, float]]:
        """(knob, score), most important first (ties keep the knob order)."""
        order = np.argsort(-self.scores, kind="stable")
        return [(self.knobs[i], float(self.scores[i])) for i in order]

    def top_decisions(self, n: int = 10) -> list[Decision]:
        """The decisions with the largest |credit| (negligible credits, below 1e-3 of the largest, left out)."""
        if not self.decisions:
            return []
        big = max(abs(d.credit) for d in self.decisions)
        nz = [d for d in self.decisions if abs(d.credit) > 1e-3 * big]
        return sorted(nz, key=lambda d: -abs(d.credit))[:n]

    def by_family(self, space: DesignSpace, scenarios: bool = False) -> "Importance":
        """Repeated knobs summed into one row per family (other knobs unchanged). Scenarios (problem
        sizes, ...) are left out unless ``scenarios``: they are conditions, not choices, and the question
        is which of the choices matter (a problem size would otherwise take most of the share)."""
        owner = {k.name: (k.family or k.name) for k in space.knobs}
        dropped = set() if scenarios else {k.name for k in space.knobs if k.scenario}
        names: list[str] = []
        for n in self.knobs:
            if n in dropped:
                continue
            g = owner.get(n, n)
            if g not in names:
                names.append(g)
        scores = np.zeros(len(names))
        var = np.zeros(len(names)) if self.spread is not None else None
        for i, n in enumerate(self.knobs):
            if n in dropped:
                continue
            j = names.index(owner.get(n, n))
            scores[j] += self.scores[i]
            if var is not None:
                var[j] += self.spread[i] ** 2
        note = "repeated knobs summed" + ("; scenarios left out" if dropped & set(self.knobs) else "")
        return replace(self, knobs=names, scores=scores, spread=None if var is None else np.sqrt(var),
                       note=(self.note + "; " if self.note else "") + note,
                       decisions=[d for d in self.decisions if d.knob not in dropped])

    def table(self, top: int | None = None) -> str:
        """A text table: rank, knob, score (and +- std), then the top decisions for lasso."""
        label = {"permutation": "permutation importance, the increase of the mean squared error when "
                                "the knob is shuffled",
                 "lasso": "lasso credit, the cost range over the knob's decisions"}.get(self.method, self.method)
        lines = [f"knob importance for {self.cost}: {label}"]
        if self.note:
            lines.append(f"  {self.note}")
        rows = self.ranking()[:top] if top else self.ranking()
        width = max([4] + [len(n) for n, _ in rows])
        header = f"  {'rank':>4}  {'knob':<{width}}  {'score':>12}"
        lines.append(header + (f"  {'+-':>10}" if self.spread is not None else ""))
        index = {n: i for i, n in enumerate(self.knobs)}
        for r, (name, score) in enumerate(rows, 1):
            line = f"  {r:>4}  {name:<{width}}  {score:>12.5g}"
            if self.spread is not None:
                line += f"  {self.spread[index[name]]:>10.3g}"
            lines.append(line)
        decisions = self.top_decisions(10)
        if decisions:
            lines.append("  decisions with the largest credit (cost added by taking the decision):")
            for d in decisions:
                lines.append(f"    {d.knob}={format_value(d.value)}: {d.credit:+.5g}  ({d.count} points)")
        return "\n".join(lines)

    def plot(self, path: str | Path, top: int = 20) -> Path:
        """Horizontal bars of the top knobs (and, for lasso, of the top decisions) to a PNG."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = self.ranking()[:top][::-1]
        decisions = self.top_decisions(top)[::-1]
        panels = 2 if decisions else 1
        fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 0.6 + 0.32 * max(len(rows), len(decisions), 3)),
                                 squeeze=False)
        ax = axes[0, 0]
        index = {n: i for i, n in enumerate(self.knobs)}
        xerr = [self.spread[index[n]] for n, _ in rows] if self.spread is not None else None
        ax.barh([n for n, _ in rows], [s for _, s in rows], xerr=xerr, color="tab:blue")
        ax.set_title(f"{self.cost}: knob importance ({self.method})")
        ax.set_xlabel("MSE increase when shuffled" if self.method == "permutation" else "cost range over decisions")
        if decisions:
            ax2 = axes[0, 1]
            ax2.barh([f"{d.knob}={format_value(d.value)}" for d in decisions], [d.credit for d in decisions],
                     color=["tab:red" if d.credit > 0 else "tab:green" for d in decisions])
            ax2.axvline(0, color="black", linewidth=0.8)
            ax2.set_title("decision credit (cost added)")
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


# ----------------------------------------------------------------------------- permutation importance
def _predictor(model: Any, column: int) -> Callable[[np.ndarray], np.ndarray]:
    """A function codes -> (n,) predictions of one cost, from any of the accepted model kinds."""
    if hasattr(model, "predict"):
        fn = model.predict
    elif hasattr(model, "Predict"):
        fn = lambda c: model.Predict(c).mean  # noqa: E731 - a model plugin's Prediction
    elif callable(model):
        fn = model
    else:
        raise TypeError("model must have predict(codes), Predict(codes) or be callable")

    def predict(codes: np.ndarray) -> np.ndarray:
        out = np.asarray(fn(codes), dtype=float)
        if out.ndim == 2:
            out = out[:, column]
        return out.reshape(-1)
    return predict


def _target(codes: np.ndarray, y: np.ndarray, column: int) -> tuple[np.ndarray, np.ndarray]:
    codes = np.atleast_2d(np.asarray(codes, dtype=float))
    y = np.asarray(y, dtype=float)
    if y.ndim == 2:
        y = y[:, column]
    if len(y) != len(codes):
        raise ValueError(f"{len(codes)} code rows but {len(y)} cost values")
    ok = np.isfinite(y)
    return codes[ok], y[ok]


def magnitude_scale(*arrays) -> float:
    """1.0 for costs of ordinary magnitude; for costs beyond ``HUGE`` or all below 1/``HUGE`` in magnitude, the
    largest finite magnitude: what to divide them by before squaring or fitting them (a square of 1e300
    overflows, one of 1e-300 underflows to 0). Shares, rankings and R^2 do not depend on the unit."""
    top = max((float(np.max(np.abs(a[np.isfinite(a)]), initial=0.0)) for a in map(np.asarray, arrays)),
              default=0.0)
    return top if top > HUGE or 0.0 < top < 1.0 / HUGE else 1.0


def permutation_importance(model: Any, space: DesignSpace, codes: np.ndarray, y: np.ndarray,
                           cost: str = "cost", column: int = 0, repeats: int = 5, seed: int = 0) -> Importance:
    """Mean increase of the model's squared error when each knob's column is shuffled.

    ``y`` holds the true costs ((n,) or (n, m); rows with a non-finite cost are
    dropped); ``column`` picks the cost when the model or ``y`` has several.
    """
    codes, y = _target(codes, y, column)
    if len(y) < 2:
        raise ValueError("permutation importance needs at least 2 points with a finite cost")
    predict = _predictor(model, column)
    rng = np.random.default_rng(seed)
    fitted = predict(codes)
    # costs whose squares would overflow (beyond 1e100) or underflow (below 1e-100) are measured in units of
    # their largest magnitude: the ranking, the shares and R^2 do not change
    scale = magnitude_scale(y, fitted)
    base = float(np.mean(((fitted - y) / scale) ** 2))
    k = len(space)
    scores, spread = np.zeros(k), np.zeros(k)
    for j in range(k):
        batch = np.repeat(codes[None, :, :], repeats, axis=0)
        for r in range(repeats):
            batch[r, :, j] = codes[rng.permutation(len(codes)), j]
        err = (((predict(batch.reshape(-1, k)).reshape(repeats, -1) - y[None, :]) / scale) ** 2).mean(axis=1) \
            - base
        scores[j], spread[j] = err.mean(), err.std()
    var = float(np.var(y / scale))
    r2 = 1 - base / var if var > 0 else math.nan
    unit = (f" (costs divided by {scale:.3g}: their squares would {'overflow' if scale > 1 else 'underflow'})"
            if scale != 1.0 else "")
    return Importance("permutation", cost, list(space.names), scores, spread,
                      note=f"{len(y)} points, {repeats} shuffles per knob; model MSE {base:.4g}, R^2 {r2:.3f}"
                           + unit)


# ----------------------------------------------------------------------------- lasso credit
def decision_matrix(space: DesignSpace, codes: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int | None]]]:
    """Indicator features of the decisions: one column per (knob, level); a continuous knob's
    position in its range as one column. Returns the matrix and each column's (knob, level)."""
    codes = np.atleast_2d(codes)
    cols: list[np.ndarray] = []
    meta: list[tuple[int, int | None]] = []
    for j, knob in enumerate(space.knobs):
        if knob.finite:
            if knob.size < 2:
                continue
            lv = codes[:, j].astype(np.int64)
            for level in range(knob.size):
                cols.append((lv == level).astype(float))
                meta.append((j, level))
        else:
            cols.append(np.clip(knob.to_unit(codes[:, j]), 0.0, 1.0))
            meta.append((j, None))
    x = np.column_stack(cols) if cols else np.empty((len(codes), 0))
    return x, meta


def trend_columns(space: DesignSpace, codes: np.ndarray) -> tuple[np.ndarray, list[int], list[np.ndarray]]:
    """A trend column per numeric finite knob of 3 or more values (not a categorical one): its value's
    position between its smallest and largest value, 0..1 (of their logarithms for a log knob). Returns
    the columns, each one's knob, and each one's position of every level of that knob.

    With indicators alone a knob's linear effect is spread over its levels (1/40 of the effect each for
    40 values), which the lasso's L1 weight zeroes: it credited the knobs of few levels instead. A trend
    carries such an effect in one credit; the indicators keep what is not linear."""
    codes = np.atleast_2d(codes)
    cols: list[np.ndarray] = []
    knobs: list[int] = []
    positions: list[np.ndarray] = []
    for j, knob in enumerate(space.knobs):
        if not (knob.finite and knob.numeric and knob.kind != "categorical" and knob.size >= 3):
            continue
        values = knob.levels.numbers()
        if knob.log and (values > 0).all():
            values = np.log(values)
        spread = float(values.max() - values.min())
        if not np.isfinite(spread) or spread <= 0:
            continue
        pos = (values - values.min()) / spread
        cols.append(pos[codes[:, j].astype(np.int64)])
        knobs.append(j)
        positions.append(pos)
    x = np.column_stack(cols) if cols else np.empty((len(codes), 0))
    return x, knobs, positions


# Beyond this many cells of the decision matrix (points times decisions: 100 knobs of 10 values and 1000
# points took 26 s, 200 knobs and 2000 points 3 min 23 s) the lasso credit is bounded: LassoCV over
# LASSO_ALPHAS alphas down to 1% of the largest, 3 folds, tolerance 1e-3 and at most 1000 iterations, on at
# most LASSO_ROWS points (a subsample seeded by the run's seed). Smaller problems are fitted as before.
LASSO_FULL_CELLS = 300_000
LASSO_ROWS = 2000
LASSO_ALPHAS = 20


def _alphas(n: int) -> dict:
    """LassoCV's number of alphas, under the name the installed scikit-learn takes."""
    from sklearn.linear_model import LassoCV
    return {"n_alphas": n} if "n_alphas" in LassoCV().get_params() else {"alphas": n}


# cross-validation errors within this fraction of the smallest are a tie, won by the largest alpha
CV_TIE = 1e-6


def _sparsest_tied(cv: Any, x: np.ndarray, y: np.ndarray, **fit_args) -> Any:
    """The lasso of the largest alpha whose cross-validated error ties the smallest (a Lasso fitted on all
    points). Where the errors are flat (the fits reach the noise, a trend and its indicators say the same)
    LassoCV's argmin was a matter of rounding: the same costs in another unit got other credits."""
    from sklearn.linear_model import Lasso
    errors = np.asarray(cv.mse_path_, dtype=float).mean(axis=1)
    alphas = np.asarray(cv.alphas_, dtype=float)
    tied = np.isfinite(errors) & (errors <= np.nanmin(errors) * (1 + CV_TIE))
    alpha = float(alphas[tied].max()) if tied.any() else float(cv.alpha_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # convergence warnings, as LassoCV's own
        return Lasso(alpha=alpha, **fit_args).fit(x, y)


def lasso_credit(space: DesignSpace, codes: np.ndarray, y: np.ndarray, cost: str = "cost", column: int = 0,
                 alpha: float | None = None, log_cost: bool = False, seed: int = 0) -> Importance:
    """Sparse linear credit assignment of the cost to decisions (see the module text).

    ``alpha`` is the L1 weight (None: 5-fold cross-validation); ``log_cost`` fits
    log(cost) (credits become log-ratios: for costs that scale multiplicatively).
    """
    from sklearn.linear_model import Lasso, LassoCV

    codes, y = _target(codes, y, column)
    if log_cost:
        if (y <= 0).any():
            raise ValueError("log_cost needs positive costs")
        y = np.log(y)
    if len(y) < 3:
        raise ValueError("lasso credit needs at least 3 points with a finite cost")
    x, meta = decision_matrix(space, codes)
    trend, trend_knobs, positions = trend_columns(space, codes)
    x = np.column_stack([x, trend])
    # costs of an extreme magnitude (beyond 1e100 or below 1e-100) are fitted in units of their largest one:
    # the lasso squares them (1e300 overflows and sklearn's CV then fails, 1e-300 underflows to no signal);
    # alphas and credits are given back in cost units, the fit and its R^2 are the same in any unit
    scale = magnitude_scale(y)
    y = y / scale
    if alpha is not None:
        alpha = alpha / scale
    if alpha is None and x.size > LASSO_FULL_CELLS:
        # a large problem (200 knobs of 10 values, 2000 points: 3 min 23 s) is bounded: at most LASSO_ROWS
        # points (a seeded subsample), a shorter path of alphas, 3 folds, looser convergence
        shown = len(y)
        if len(y) > LASSO_ROWS:
            keep = np.sort(np.random.default_rng(seed).choice(len(y), LASSO_ROWS, replace=False))
            x, y = x[keep], y[keep]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # convergence warnings: the looser fit is the point
            fit = _sparsest_tied(LassoCV(cv=3, random_state=seed, eps=1e-2, tol=1e-3, max_iter=1000,
                                         **_alphas(LASSO_ALPHAS)).fit(x, y), x, y, tol=1e-3, max_iter=1000)
        alpha_used = float(fit.alpha) * scale
        how = (f"alpha {alpha_used:.4g} by 3-fold CV over {LASSO_ALPHAS} alphas (a large problem"
               + (f": {len(y)} of the {shown} points, chosen at random" if len(y) < shown else "") + ")")
    elif alpha is None:
        folds = min(5, len(y))
        fit = _sparsest_tied(LassoCV(cv=folds, random_state=seed, max_iter=20000).fit(x, y), x, y, max_iter=20000)
        alpha_used = float(fit.alpha) * scale
        how = f"alpha {alpha_used:.4g} by {folds}-fold CV"
    else:
        fit = Lasso(alpha=alpha, max_iter=20000).fit(x, y)
        alpha_used = float(alpha) * scale
        how = f"alpha {alpha_used:.4g}"
    with np.errstate(over="ignore"):   # a credit beyond the largest float (costs near 1.8e308) is inf
        coef = np.asarray(fit.coef_, dtype=float) * scale
    r2 = float(fit.score(x, y))
    counts = x.sum(axis=0)
    # a numeric knob's decision is credited its indicator's credit plus its trend's at the level's position
    slope = {j: (c, pos) for j, c, pos in zip(trend_knobs, coef[len(meta):], positions)}
    scores = np.zeros(len(space))
    decisions: list[Decision] = []
    by_knob: dict[int, list[float]] = {}
    for c, (j, level), n in zip(coef, meta, counts):
        knob = space.knobs[j]
        if level is None:
            scores[j] = abs(c)
            decisions.append(Decision(knob.name, f"{knob.low:g}..{knob.high:g} (per full range)", float(c), len(y)))
            continue
        if n == 0:
            continue                      # a level never evaluated: no evidence either way
        if j in slope and slope[j][0] != 0:
            with np.errstate(over="ignore", invalid="ignore"):
                c = c + slope[j][0] * slope[j][1][level]
        by_knob.setdefault(j, []).append(c)
        decisions.append(Decision(knob.name, knob.levels[level], float(c), int(n)))
    for j, cs in by_knob.items():
        scores[j] = max(cs) - min(cs)
    unit = "log(cost)" if log_cost else "cost units"
    return Importance("lasso", cost, list(space.names), scores, None, decisions,
                      note=f"{len(y)} points, {len(meta)} decisions"
                           + (f" and {len(trend_knobs)} numeric knobs' trends" if trend_knobs else "") + f", {how}, "
                           f"{int((coef != 0).sum())} non-zero credits, R^2 {r2:.3f}, credits in {unit}")
