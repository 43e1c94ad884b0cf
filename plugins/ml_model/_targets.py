"""What the regressors learn: each cost standardised, on a log scale when it is positive."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Targets:
    """Per cost: t = log(cost) (or cost), then z = (t - mean) / std. NaN stays NaN (a missing cost)."""

    log: np.ndarray     # (c,) bool
    mean: np.ndarray    # (c,)
    std: np.ndarray     # (c,)

    @classmethod
    def fit(cls, costs: np.ndarray, log_costs: bool) -> "Targets":
        costs = np.asarray(costs, dtype=float)
        c = costs.shape[1]
        log = np.zeros(c, dtype=bool)
        mean, std = np.zeros(c), np.ones(c)
        for j in range(c):
            col = costs[:, j][np.isfinite(costs[:, j])]
            log[j] = bool(log_costs and col.size and np.all(col > 0))
            t = np.log(col) if log[j] else col
            if t.size:
                mean[j] = float(t.mean())
                s = float(t.std())
                std[j] = s if s > 1e-12 * max(1.0, abs(mean[j])) else 1.0
        return cls(log, mean, std)

    def forward(self, costs: np.ndarray) -> np.ndarray:
        costs = np.asarray(costs, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(self.log, np.log(np.where(self.log, costs, 1.0)), costs)
        t = np.where(np.isfinite(costs), t, np.nan)
        return (t - self.mean) / self.std

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Standardised values (..., c) back to costs."""
        t = np.asarray(z, dtype=float) * self.std + self.mean
        with np.errstate(over="ignore"):
            return np.where(self.log, np.exp(np.minimum(t, 700.0)), t)

    def state(self) -> dict:
        """For a checkpoint: three arrays (stored bit for bit)."""
        return {"log": self.log.copy(), "mean": self.mean.astype(float), "std": self.std.astype(float)}

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
        return cls(log.astype(bool), mean, std)
