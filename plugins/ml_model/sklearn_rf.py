"""Model ``sklearn_rf``: a random forest per cost (scikit-learn), the spread of its trees as uncertainty.

``estimators`` trees (default 200), ``max_depth`` (default: none), on the
framework's features and the standardised (log) costs. A prediction is the
mean of the trees' predictions on that scale (for log costs, the geometric mean
of their costs: see _base.py), its std the standard deviation of their costs.
A checkpoint holds the data and settings the forests were fitted on; loading
grows the same trees again (see _sklearn_model.py), on the model's ``threads``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._base import summarise_members
from ._sklearn_model import SklearnModel


class SklearnRF(SklearnModel):
    plugin = "sklearn_rf"
    SETTINGS = ("n_estimators", "max_depth", "random_state")

    def _settings(self, n: int, seed: int) -> list[dict]:
        return [{"n_estimators": int(self.opts["estimators"]), "max_depth": self.opts.get("max_depth"),
                 "random_state": int(seed)}]

    def _estimator(self, settings: dict) -> Any:
        from sklearn.ensemble import RandomForestRegressor
        return RandomForestRegressor(**settings, n_jobs=1)

    def _fit_one(self, est: Any, X: np.ndarray, z: np.ndarray, threads: int) -> None:
        # each tree's seed is drawn before the trees are built: the same forest on any number of threads;
        # predictions stay on one (a forest's parallel predict sums its trees in the order they finish)
        est.set_params(n_jobs=max(1, int(threads)))
        est.fit(X, z)
        est.set_params(n_jobs=1)

    def _spread(self, X: np.ndarray):
        z = np.stack([np.stack([t.predict(X) for t in m[0].estimators_]) for m in self.models], axis=-1)
        return summarise_members(self.targets, z)[:2]       # the trees as members


def GetObject(framework: Any) -> SklearnRF:
    return SklearnRF(framework)
