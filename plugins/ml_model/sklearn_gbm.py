"""Model ``sklearn_gbm``: histogram gradient boosting per cost (scikit-learn).

``estimators`` boosting iterations (default 200) with shrinkage
``gbm_learning_rate`` (0.1) on the framework's features and the standardised
(log) costs. Its uncertainty comes from two more boosted models fitted to the
16% and 84% quantiles: std = (q84 - q16) / 2, which is one standard deviation
for a normal error. A checkpoint holds the data and settings the three models
per cost were fitted on; loading boosts them again (see _sklearn_model.py).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._sklearn_model import SklearnModel

QUANTILES = (0.16, 0.84)


class SklearnGBM(SklearnModel):
    plugin = "sklearn_gbm"
    SETTINGS = ("max_iter", "learning_rate", "max_depth", "min_samples_leaf", "early_stopping", "random_state",
                "loss", "quantile")
    PER_COST = 1 + len(QUANTILES)

    def _settings(self, n: int, seed: int) -> list[dict]:
        base = {"max_iter": int(self.opts["estimators"]), "learning_rate": float(self.opts["gbm_learning_rate"]),
                "max_depth": self.opts.get("max_depth"), "min_samples_leaf": min(20, max(1, n // 10)),
                "early_stopping": False, "random_state": int(seed)}
        if getattr(self, "point_only", False):   # scored by auto: the quantile models would not be used
            return [base]
        return [base] + [{**base, "loss": "quantile", "quantile": q} for q in QUANTILES]

    def _estimator(self, settings: dict) -> Any:
        from sklearn.ensemble import HistGradientBoostingRegressor
        return HistGradientBoostingRegressor(**settings)

    def _members(self, X: np.ndarray) -> np.ndarray:
        return np.stack([m[0].predict(X) for m in self.models], axis=-1)[None]

    def _spread(self, X: np.ndarray):
        parts = [np.stack([m[i].predict(X) for m in self.models], axis=-1) for i in range(3)]
        mean, lo, hi = (self.targets.inverse(p) for p in parts)
        return mean, np.abs(hi - lo) / 2.0


def GetObject(framework: Any) -> SklearnGBM:
    return SklearnGBM(framework)
