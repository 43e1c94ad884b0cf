"""What the regressors learn: each cost standardised, on a log scale when it is positive; and the range in which
predictions are kept.

The bound on predictions: in the learned scale t (log of the cost when the cost is positive, else the cost), the
training values span [t_min, t_max], of width w. A prediction above t_max is brought back to
t_max + m w tanh((t - t_max) / (m w)), and below t_min likewise, m being ``model.bound_margin`` (default 0.25).
Inside the range nothing changes; outside, a prediction can go at most m w beyond it (a factor exp(m w) of the
cost on a log scale) and keeps its order (tanh is increasing), so that a search over predictions still tells a
point predicted better than anything seen from one predicted better still (beyond KNEE reaches the tail is
not tanh, whose float64 value is 1.0 from about 19 on: see KNEE). Why: a regressor extrapolating
its log output without limit predicted 4e28 cycles for 2.6e8 on the real kmeans table; no design measured in a
run is ever that far from what was seen. Bound-free targets (an old checkpoint) have an infinite range. A cost no
training point had a value of (trained before any design ran) is predicted as NaN.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from framework.metrics import magnitude_units

DEFAULT_MARGIN = 0.25
# Beyond KNEE reaches past the range the bound's tail is no longer tanh, which is 1.0 in float64 from about 19
# reaches on (every prediction beyond the same number, its std 0), but 1 - c / (1 + a u): it meets tanh at the
# knee with the same value and slope, still rises, and keeps predictions thousands of reaches out apart. Up to
# the knee (1.5 widths of the range past it at the default margin) predictions are what they always were.
KNEE = 6.0
KNEE_TANH = float(np.tanh(KNEE))
KNEE_SLOPE = 1.0 - KNEE_TANH ** 2


def squash(u: np.ndarray) -> np.ndarray:
    """tanh(u) up to |u| = KNEE (the same bits), beyond a tail of the same value and slope there that keeps
    rising towards 1 (see KNEE)."""
    u = np.asarray(u, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        tail = np.sign(u) * (1.0 - (1.0 - KNEE_TANH) / (1.0 + (1.0 + KNEE_TANH) * (np.abs(u) - KNEE)))
    return np.where(np.abs(u) > KNEE, tail, np.tanh(u))


class UnscalableCost(ValueError):
    """A cost whose mean or spread is not a finite float (values beyond about 1e154 in magnitude that are not
    all positive, so not learned on a log scale: their squares overflow). ``column``: which cost."""

    def __init__(self, column: int, values: np.ndarray):
        self.column = column
        self.largest = float(np.max(np.abs(values)))
        self.signs = "of both signs" if (values < 0).any() and (values > 0).any() else (
            "with zeros" if (values == 0).any() else "negative" if (values < 0).all() else "positive")
        super().__init__(f"cost {column}: its spread is not a finite number")


@dataclass
class Targets:
    """Per cost: t = log(cost) (or cost), then z = (t - mean) / std. NaN stays NaN (a missing cost)."""

    log: np.ndarray     # (c,) bool
    mean: np.ndarray    # (c,)
    std: np.ndarray     # (c,)
    low: np.ndarray | None = None    # (c,) t_min, t_max of the training costs (None: unbounded)
    high: np.ndarray | None = None
    margin: float = DEFAULT_MARGIN   # m: how far beyond the range (a fraction of its width) predictions go

    @classmethod
    def fit(cls, costs: np.ndarray, log_costs: bool, margin: float = None) -> "Targets":
        costs = np.asarray(costs, dtype=float)
        c = costs.shape[1]
        log = np.zeros(c, dtype=bool)
        mean, std = np.zeros(c), np.ones(c)
        for j in range(c):
            col = costs[:, j][np.isfinite(costs[:, j])]
            log[j] = bool(log_costs and col.size and np.all(col > 0))
            t = np.log(col) if log[j] else col
            if t.size:
                # extreme costs (not logged: some are negative or 0) in units of their largest magnitude
                # (metrics.magnitude_units, the rule the exploration's figures use too): the variance of costs
                # of 1e-297 underflowed to 0, so they were all "constant" and the model learned nothing;
                # others in their own units, the same bits as ever
                unit = float(magnitude_units(t[:, None])[0])
                with np.errstate(over="ignore", invalid="ignore"):
                    mean[j] = float((t / unit).mean())
                    s = float((t / unit).std())
                if not (np.isfinite(mean[j]) and np.isfinite(s)):
                    raise UnscalableCost(j, col)
                std[j] = (s if s > 1e-12 * max(1.0, abs(mean[j])) else 1.0) * unit
                mean[j] *= unit
        return cls(log, mean, std, margin=DEFAULT_MARGIN if margin is None else float(margin)).ranged(costs)

    def ranged(self, costs: np.ndarray) -> "Targets":
        """The same scale with the range of these costs (a continued model keeps its scale, not its range)."""
        t = self._scale(np.asarray(costs, dtype=float))
        c = len(self.log)
        low, high = np.full(c, -np.inf), np.full(c, np.inf)
        for j in range(c):
            col = t[:, j][np.isfinite(t[:, j])]
            if col.size:
                low[j], high[j] = float(col.min()), float(col.max())
        return replace(self, low=low, high=high)

    def carried(self, costs: np.ndarray, fresh: "Targets", shift: np.ndarray | None = None) -> "Targets":
        """This scale, the one the weights a training starts from (an -icp checkpoint, the previous step) learned,
        for a training on ``costs`` (``fresh``: the scale fitted on them). Re-fitting the mean and std on a few new
        samples made the unchanged network read on another scale: fine-tuned on 15 points with a learning rate of
        1e-12, the same weights went from 1.1% to 28% MAPE. Per cost the scale is kept, except where it no longer
        applies, and there the fresh fit is taken: a log scale while some new cost is 0 or negative (its log is
        not a number), or a cost the weights never learned (unseen: their output for it is untrained).
        Predictions are bounded to the union of this range and the new costs' (in the scale kept), so that where
        nothing new is learned the model predicts as its source did; without a recorded range (an old
        checkpoint) to the new costs' only, as any model without one would be. ``shift``: per cost, what to add to
        this scale's mean and range (the new costs are of another size: `SurrogateModel._offset`)."""
        costs = np.asarray(costs, dtype=float)
        positive = np.all(np.where(np.isfinite(costs), costs > 0, True), axis=0)
        keep = ~self.unseen & (~self.log | positive)
        own = self
        if shift is not None and np.any(shift):
            shift = np.where(keep, np.nan_to_num(np.asarray(shift, dtype=float)), 0.0)
            own = replace(self, mean=self.mean + shift, low=None if self.low is None else self.low + shift,
                          high=None if self.high is None else self.high + shift)
        out = replace(fresh, log=np.where(keep, own.log, fresh.log), mean=np.where(keep, own.mean, fresh.mean),
                      std=np.where(keep, own.std, fresh.std)).ranged(costs)
        if own.low is None or own.high is None:
            return out
        return out.widened(own, keep)

    def widened(self, other: "Targets", where: np.ndarray | None = None) -> "Targets":
        """This range joined with ``other``'s (same scale; only for the costs ``where`` says, by default all).
        A cost one side had no value of takes the other's range as it is (a union with an infinite range would
        leave it unseen, predicted as NaN)."""
        if self.low is None or self.high is None or other.low is None or other.high is None:
            return self
        where = np.ones(len(self.log), dtype=bool) if where is None else np.asarray(where, dtype=bool)
        mine, theirs = self.unseen, other.unseen
        low = np.where(mine, other.low, np.where(theirs, self.low, np.minimum(self.low, other.low)))
        high = np.where(mine, other.high, np.where(theirs, self.high, np.maximum(self.high, other.high)))
        return replace(self, low=np.where(where, low, self.low), high=np.where(where, high, self.high))

    @property
    def unseen(self) -> np.ndarray:
        """(c,) bool: the costs no training point had a value of (no design ran yet: only the constraints'
        costs of the designs that missed them were learned). Their range is infinite both ways."""
        if self.low is None or self.high is None:
            return np.zeros(len(self.log), dtype=bool)
        return np.isneginf(self.low) & np.isposinf(self.high)

    def _scale(self, costs: np.ndarray) -> np.ndarray:
        """Costs to the learned scale t (log where `log`), NaN where a cost is missing or not positive."""
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(self.log, np.log(np.where(self.log, costs, 1.0)), costs)
        return np.where(np.isfinite(costs), t, np.nan)

    def bound(self, t: np.ndarray) -> np.ndarray:
        """Predictions in the learned scale (..., c) brought into the range widened by the margin (see above)."""
        if self.low is None or self.high is None:
            return t
        width = np.where(np.isfinite(self.high - self.low), self.high - self.low, 0.0)
        reach = self.margin * width
        safe = np.where(reach > 0, reach, 1.0)
        with np.errstate(invalid="ignore", over="ignore"):
            above = np.where(reach > 0, self.high + reach * squash((t - self.high) / safe), self.high)
            below = np.where(reach > 0, self.low + reach * squash((t - self.low) / safe), self.low)
        out = np.where(t > self.high, above, np.where(t < self.low, below, t))
        # a cost of which no training point had a value is predicted as unknown, not as whatever an untrained
        # output says
        return np.where(np.isnan(t) | self.unseen, np.nan, out)

    def spread_floor(self, z: np.ndarray, z_sd: np.ndarray) -> np.ndarray:
        """The least std (..., c), in cost units, of a prediction whose standardised mean is z and spread z_sd:
        0 up to KNEE reaches beyond the range, where the std of the bounded members or interval is what it
        always was; beyond, where the bound flattens and would squeeze any spread towards 0, the model's own
        spread at the bounded mean (ramping up from the bound's slope at the knee), at most half the range
        predictions may take: the model is least sure where it extrapolates furthest."""
        if self.low is None or self.high is None:
            return np.zeros(np.shape(z))
        z, z_sd = np.asarray(z, dtype=float), np.asarray(z_sd, dtype=float)
        reach = self.margin * np.where(np.isfinite(self.high - self.low), self.high - self.low, 0.0)
        safe = np.where(reach > 0, reach, 1.0)
        t = z * self.std + self.mean
        with np.errstate(invalid="ignore", over="ignore"):
            beyond = np.maximum(t - self.high, self.low - t) / safe - KNEE
            far = (reach > 0) & (beyond > 0)
            if not far.any():
                return np.zeros(z.shape)
            ramp = 1.0 - (1.0 - KNEE_SLOPE) / (1.0 + (1.0 + KNEE_TANH) * beyond) ** 2
            slope = np.where(self.log, self.inverse(z), 1.0)    # d cost / dt at the bounded mean
            edges = self.inverse((np.stack([self.low - reach, self.high + reach]) - self.mean) / self.std,
                                 bounded=False)
            floor = np.minimum(z_sd * self.std * slope * ramp, (edges[1] - edges[0]) / 2.0)
        return np.where(far & np.isfinite(floor), floor, 0.0)

    def floored(self, std: np.ndarray, z: np.ndarray, z_sd: np.ndarray) -> np.ndarray:
        """``std`` raised to ``spread_floor`` far beyond the range (elsewhere the same bits; NaN stays NaN)."""
        floor = self.spread_floor(z, z_sd)
        return np.where(floor > std, floor, std)

    def forward(self, costs: np.ndarray) -> np.ndarray:
        return (self._scale(np.asarray(costs, dtype=float)) - self.mean) / self.std

    def inverse(self, z: np.ndarray, bounded: bool = True) -> np.ndarray:
        """Standardised values (..., c) back to costs, kept in the range (see above) unless ``bounded`` is False."""
        t = np.asarray(z, dtype=float) * self.std + self.mean
        if bounded:
            t = self.bound(t)
        with np.errstate(over="ignore"):
            return np.where(self.log, np.exp(np.minimum(t, 700.0)), t)

    def state(self) -> dict:
        """For a checkpoint: arrays (stored bit for bit) and the margin."""
        d = {"log": self.log.copy(), "mean": self.mean.astype(float), "std": self.std.astype(float),
             "margin": float(self.margin)}
        if self.low is not None:
            d.update(low=self.low.astype(float), high=self.high.astype(float))
        return d

    @classmethod
    def from_state(cls, d: dict) -> "Targets":
        """From `state` or the lists of an old (pickle) checkpoint."""
        return cls(np.array(d["log"], dtype=bool), np.array(d["mean"], dtype=float), np.array(d["std"], dtype=float))

    @classmethod
    def from_checked(cls, st: Any, costs: int) -> "Targets":
        """From a checkpoint's `State`: each array checked (PayloadError naming the one that is wrong)."""
        from framework.checkpoint import PayloadError
        log = st.array("log", "b", (costs,))
        mean = st.array("mean", "f", (costs,)).astype(float)
        std = st.array("std", "f", (costs,)).astype(float)
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise PayloadError(f"'{st.path}': the scale of the costs is not finite and positive")
        out = cls(log.astype(bool), mean, std)
        if st.has("low") or st.has("high"):    # written before predictions were bounded: none
            low = st.array("low", "f", (costs,)).astype(float)
            high = st.array("high", "f", (costs,)).astype(float)
            margin = st.value("margin", float, "a number") if st.has("margin") else DEFAULT_MARGIN
            if np.isnan(low).any() or np.isnan(high).any() or np.any(low > high) or not 0 <= margin < 1e6:
                raise PayloadError(f"'{st.path}': the range of the costs is not an interval with a margin >= 0")
            out = replace(out, low=low, high=high, margin=float(margin))
        return out
