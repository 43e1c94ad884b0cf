"""The feasibility classifier next to every regressor: the probability that a point evaluates ok.

Trained on every sample, failed, timed-out and infeasible ones included (the
regressors see only the successful ones). With too few points of one kind to
learn from, it predicts the smoothed rate of success (Laplace's rule).
"""
from __future__ import annotations

import numpy as np

MIN_PER_CLASS = 3


class Feasibility:
    def __init__(self, seed: int):
        self.seed = seed
        self.rate = 0.5
        self.clf = None

    def fit(self, features: np.ndarray, ok: np.ndarray) -> "Feasibility":
        ok = np.asarray(ok, dtype=bool)
        n, good = ok.size, int(ok.sum())
        self.rate = (good + 1.0) / (n + 2.0)
        self.clf = None
        if min(good, n - good) >= MIN_PER_CLASS:
            from sklearn.ensemble import HistGradientBoostingClassifier
            self.clf = HistGradientBoostingClassifier(max_iter=100, min_samples_leaf=min(20, max(1, n // 10)),
                                                      early_stopping=False, random_state=self.seed)
            self.clf.fit(features, ok)
        return self

    @property
    def trained(self) -> bool:
        return self.clf is not None

    def predict(self, features: np.ndarray) -> np.ndarray:
        n = len(features)
        if self.clf is None:
            return np.full(n, self.rate)
        proba = self.clf.predict_proba(features)
        col = list(self.clf.classes_).index(True)
        return proba[:, col]
