"""Model ``sklearn_rf``: a random forest per cost (scikit-learn), the spread of its trees as uncertainty.

``estimators`` trees (default 200), ``max_depth`` (default: none), on the
framework's features and the standardised (log) costs. A prediction is the mean
over the trees of their predicted costs, its std their standard deviation.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._sklearn_model import SklearnModel


class SklearnRF(SklearnModel):
    plugin = "sklearn_rf"

    def _make(self, n: int, seed: int) -> Any:
        from sklearn.ensemble import RandomForestRegressor
        return RandomForestRegressor(n_estimators=int(self.opts["estimators"]), max_depth=self.opts.get("max_depth"),
                                     random_state=seed, n_jobs=1)

    def _spread(self, X: np.ndarray):
        z = np.stack([np.stack([t.predict(X) for t in m.estimators_]) for m in self.models], axis=-1)
        costs = self.targets.inverse(z)                     # (trees, n, c)
        return costs.mean(axis=0), costs.std(axis=0)


def GetObject(framework: Any) -> SklearnRF:
    return SklearnRF(framework)
