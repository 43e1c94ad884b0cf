"""Acquisition functions: how much a point is worth evaluating, from the model's prediction.

Everything here MINIMISES values ``y`` (a cost to maximise is negated first)
and works on the scale the exploration models its objective on (log costs for
positive costs, see `ObjectiveScale`). A prediction gives, per point, a mean
``mu`` and a standard deviation ``sigma`` (ensembles: the spread of members).

    ei         expected improvement over the best value so far (higher is better)
    lcb        lower confidence bound mu - kappa * sigma (lower is better)
    thompson   one draw of the objective per batch slot: an ensemble member, or N(mu, sigma)
    exploit    the mean alone

`utility` turns any of them into one score where higher is better, so batch
selection treats them alike. Feasibility (the model's classifier) and cost
constraints multiply expected improvement, and penalise the others, by the
probability that the point is feasible and satisfies every constraint.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

ACQUISITIONS = ("ei", "lcb", "thompson", "exploit")
TIE_BREAK = 1e-9   # expected improvements on the log scale this small are a 1e-7 % gain: none


def expected_improvement(mu: np.ndarray, sigma: np.ndarray, best: float, xi: float = 0.0) -> np.ndarray:
    """E[max(best - xi - Y, 0)] for Y ~ N(mu, sigma^2); sigma = 0 gives max(best - xi - mu, 0)."""
    mu = np.asarray(mu, dtype=float)
    sigma = np.maximum(np.asarray(sigma, dtype=float), 0.0)
    gain = best - xi - mu
    out = np.maximum(gain, 0.0)
    pos = sigma > 1e-12
    z = gain[pos] / sigma[pos]
    out[pos] = gain[pos] * norm.cdf(z) + sigma[pos] * norm.pdf(z)
    return out


def lower_confidence_bound(mu: np.ndarray, sigma: np.ndarray, kappa: float = 2.0) -> np.ndarray:
    return np.asarray(mu, dtype=float) - kappa * np.asarray(sigma, dtype=float)


def probability_below(mu: np.ndarray, sigma: np.ndarray, bound: float) -> np.ndarray:
    """P(Y <= bound) for Y ~ N(mu, sigma^2) (a step function where sigma is 0)."""
    mu = np.asarray(mu, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    out = (mu <= bound).astype(float)
    pos = sigma > 1e-12
    out[pos] = norm.cdf((bound - mu[pos]) / sigma[pos])
    return out


@dataclass
class ObjectiveScale:
    """The scale an objective is searched on: log of the (signed) cost when it is always positive.

    Costs like time and memory span orders of magnitude; on a log scale their
    model errors are relative, as the models are trained. A cost that may be
    zero or negative stays on its own scale. ``sign`` is +1 to minimise, -1 to
    maximise: values are ``sign * log(cost)`` or ``sign * cost``.
    """

    sign: float
    log: bool

    def values(self, cost: np.ndarray) -> np.ndarray:
        cost = np.asarray(cost, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log(cost) if self.log else cost
        v = np.where(np.isfinite(v), v, math.inf if self.sign > 0 else -math.inf)
        return self.sign * v

    def moments(self, mean: np.ndarray, std: np.ndarray | None,
                members: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the objective on this scale (members preferred)."""
        if members is not None and len(members) > 1:
            v = self.values(members)
            v = np.where(np.isfinite(v), v, np.nan)
            mu = np.nanmean(v, axis=0)
            sd = np.nanstd(v, axis=0)
            return np.nan_to_num(mu, nan=math.inf), np.nan_to_num(sd, nan=0.0)
        mean = np.asarray(mean, dtype=float)
        sd = np.zeros_like(mean) if std is None else np.asarray(std, dtype=float)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(mean > 0, sd / mean, 0.0)   # delta method: sd(log Y) ~ sd(Y) / Y
            return self.values(np.maximum(mean, 1e-300)), np.abs(rel)
        return self.sign * mean, sd

    @staticmethod
    def for_costs(observed: np.ndarray, sign: float) -> "ObjectiveScale":
        obs = np.asarray(observed, dtype=float)
        obs = obs[np.isfinite(obs)]
        return ObjectiveScale(sign, bool(len(obs)) and bool(np.all(obs > 0)))


def utility(kind: str, mu: np.ndarray, sigma: np.ndarray, best: float, *, kappa: float = 2.0,
            draw: np.ndarray | None = None) -> np.ndarray:
    """One score per point, higher is better, for any acquisition kind."""
    if kind == "ei":
        return expected_improvement(mu, sigma, best)
    if kind == "lcb":
        return -lower_confidence_bound(mu, sigma, kappa)
    if kind == "thompson":
        if draw is None:
            raise ValueError("thompson sampling needs a draw")
        return -np.asarray(draw, dtype=float)
    if kind == "exploit":
        return -np.asarray(mu, dtype=float)
    raise ValueError(f"unknown acquisition {kind!r}; known: {', '.join(ACQUISITIONS)}")


def weigh(kind: str, score: np.ndarray, p_ok: np.ndarray) -> np.ndarray:
    """Fold the probability of a feasible, constraint-satisfying point into a score.

    Expected improvement is multiplied by it (the expected improvement of a point
    that may fail). The other scores are not positive quantities, so a point is
    pushed down by a large multiple of its risk instead.
    """
    p_ok = np.clip(np.asarray(p_ok, dtype=float), 0.0, 1.0)
    if kind == "ei":
        out = score * p_ok
        if not np.any(out > 0):
            # no point is expected to improve (a model of the one point that ran predicts its value everywhere,
            # with no spread): the chance of running still orders them, on a scale below any real improvement
            return TIE_BREAK * p_ok
        return out
    span = float(np.nanmax(score) - np.nanmin(score)) if np.isfinite(score).any() else 1.0
    return score - (1.0 - p_ok) * 10.0 * max(span, 1e-9)
