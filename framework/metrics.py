"""How good a model's predictions are: the figures recorded per step and printed by benchmarks.

All functions take true and predicted values of one cost (1-D arrays) and
ignore pairs where either is not finite. They return NaN when the figure is
undefined (too few points, no spread), never raise on such data.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


def _pairs(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=float).reshape(-1)
    p = np.asarray(y_pred, dtype=float).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"{t.size} true values but {p.size} predictions")
    keep = np.isfinite(t) & np.isfinite(p)
    return t[keep], p[keep]


# beyond this magnitude, squares of costs (and of their differences, summed) may overflow a float (1.8e308)
HUGE = 1e100


def magnitude_units(y: np.ndarray) -> np.ndarray:
    """Per column of ``y``: 1.0 for values of ordinary magnitude (the same bits as ever), else their largest
    finite magnitude (beyond ``HUGE`` or all below 1/``HUGE``), the unit to measure them in before products or
    squares overflow or underflow (a front's volume, a step's improvement)."""
    with np.errstate(invalid="ignore"):
        top = np.max(np.where(np.isfinite(y), np.abs(y), 0.0), axis=0, initial=0.0)
    extreme = (top > HUGE) | ((top > 0) & (top < 1.0 / HUGE))
    return np.where(extreme, top, 1.0)


def magnitude_exponents(y: np.ndarray) -> np.ndarray:
    """Per column of ``y``, 0 for values of ordinary magnitude, else the power of ten of its
    `magnitude_units`: the unit a front's extents are measured in (a hypervolume is then in units of 10 to
    the sum of these)."""
    units = magnitude_units(y)
    return np.where(units != 1.0, np.floor(np.log10(units)), 0.0).astype(int)


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error, as a fraction (0.02 is 2%); points whose true value is 0 are left out."""
    t, p = _pairs(y_true, y_pred)
    keep = t != 0
    if not keep.any():
        return math.nan
    return float(np.mean(np.abs(p[keep] - t[keep]) / np.abs(t[keep])))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination: 1 - residual sum of squares / total sum of squares."""
    t, p = _pairs(y_true, y_pred)
    if t.size < 2:
        return math.nan
    # R^2 is scale-free: costs whose squares would overflow (beyond 1e100) or underflow (all below 1e-100:
    # their spread squared was 0, so R^2 was NaN) are measured in units of the largest magnitude first
    unit = float(magnitude_units(np.concatenate([t, p])[:, None])[0])
    if unit != 1.0:
        t, p = t / unit, p / unit
    total = float(np.sum((t - t.mean()) ** 2))
    if total == 0:
        return math.nan
    return 1.0 - float(np.sum((t - p) ** 2)) / total


def kendall_tau(y_true, y_pred) -> float:
    """Kendall's tau-b rank correlation: does the model order the points like the truth does?"""
    t, p = _pairs(y_true, y_pred)
    if t.size < 2 or np.all(t == t[0]) or np.all(p == p[0]):
        return math.nan
    from scipy.stats import kendalltau
    return float(kendalltau(t, p).statistic)


def top_k_recall(y_true, y_pred, k: int, maximize: bool = False) -> float:
    """Fraction of the k points predicted best that are truly among the k best.

    A point ties with the k-th best true value counts as among the best, so
    that many equal optima do not make the figure depend on the order of rows.
    """
    t, p = _pairs(y_true, y_pred)
    k = min(int(k), t.size)
    if k <= 0:
        return math.nan
    sign = -1.0 if maximize else 1.0
    kth = np.sort(sign * t, kind="stable")[k - 1]
    best_pred = np.argsort(sign * p, kind="stable")[:k]
    return float(np.mean(sign * t[best_pred] <= kth))


@dataclass
class CostMetrics:
    """The figures of one cost on one set of points."""

    n: int
    mape: float
    r2: float
    kendall_tau: float
    top_k_recall: float
    k: int

    def as_dict(self) -> dict:
        return asdict(self)


def evaluate(y_true, y_pred, top_k: int = 10, maximize: bool = False) -> CostMetrics:
    t, p = _pairs(y_true, y_pred)
    k = min(int(top_k), t.size)
    return CostMetrics(int(t.size), mape(t, p), r2(t, p), kendall_tau(t, p),
                       top_k_recall(t, p, k, maximize), k)
