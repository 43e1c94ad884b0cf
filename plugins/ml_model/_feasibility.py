"""The feasibility classifier next to every regressor: the probability that a point evaluates ok.

Trained on every sample, failed, timed-out and infeasible ones included (the
regressors see only the successful ones). With too few points of one kind to
learn from, it predicts the smoothed rate of success (Laplace's rule).

In a checkpoint (`state`) the classifier is what it was fitted on: the
features, whether each point was ok, and its settings with their seed; loading
(`from_checked`) fits it again, which gives the same classifier: histogram
gradient boosting without early stopping draws nothing at random and its
result does not depend on the number of OpenMP threads (scikit-learn 1.9.1:
1 to 7 threads compared by hand, 1 to 3 in test/ml/test_checkpoint_safety.py),
so the probabilities are the same bit for bit under the same scikit-learn.
"""
from __future__ import annotations

from typing import Any

import numpy as np

MIN_PER_CLASS = 3
SETTINGS = ("max_iter", "min_samples_leaf", "early_stopping", "random_state")   # what a checkpoint may set


class Feasibility:
    def __init__(self, seed: int):
        self.seed = seed
        self.rate = 0.5
        self.clf = None
        self.fitted_on: tuple[np.ndarray, np.ndarray, dict] | None = None   # features, ok, settings of clf

    def fit(self, features: np.ndarray, ok: np.ndarray) -> "Feasibility":
        ok = np.asarray(ok, dtype=bool)
        n, good = ok.size, int(ok.sum())
        self.rate = (good + 1.0) / (n + 2.0)
        self.clf = None
        self.fitted_on = None
        if min(good, n - good) >= MIN_PER_CLASS:
            settings = {"max_iter": 100, "min_samples_leaf": min(20, max(1, n // 10)), "early_stopping": False,
                        "random_state": int(self.seed)}
            self._train(np.array(features), ok.copy(), settings)
        return self

    def _train(self, features: np.ndarray, ok: np.ndarray, settings: dict) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier
        self.clf = HistGradientBoostingClassifier(**settings)
        self.clf.fit(features, ok)
        self.fitted_on = (features, ok, dict(settings))

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

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict:
        """Numbers and arrays only: the classifier as what it was fitted on (refitted by `from_checked`)."""
        out: dict[str, Any] = {"seed": int(self.seed), "rate": float(self.rate), "classifier": None}
        if self.clf is not None:
            if self.fitted_on is None:   # unpickled from an old checkpoint: its training data is unknown
                raise ValueError("the feasibility classifier came from an old (pickle) checkpoint")
            features, ok, settings = self.fitted_on
            out["classifier"] = {"settings": settings, "features": features, "ok": ok}
        return out

    @classmethod
    def from_checked(cls, st: Any, width: int) -> "Feasibility":
        """From a checkpoint's `State` (PayloadError naming what is wrong); the classifier is fitted again."""
        from framework.checkpoint import PayloadError, State, check_settings
        f = cls(st.value("seed", int, "an integer"))
        f.rate = st.value("rate", float, "a number")
        if not 0 < f.rate < 1:
            raise PayloadError(f"'{st.path}/rate' is {f.rate}, expected a fraction between 0 and 1")
        if st.raw("classifier") is None:
            return f
        c: State = st.sub("classifier")
        settings = check_settings(c, "settings", SETTINGS)
        features = c.array("features", "f", (None, width))
        ok = c.array("ok", "b", (features.shape[0],))
        if min(int(ok.sum()), int((~ok).sum())) < 1:
            raise PayloadError(f"'{c.path}/ok' holds one kind of point only: nothing to classify")
        f._train(features, ok, settings)
        return f

    @classmethod
    def from_pickled(cls, old: Any, seed: int) -> "Feasibility":
        """From the Feasibility object of an old (pickle) checkpoint, loaded with -trust-pickle."""
        f = cls(int(getattr(old, "seed", seed)))
        f.rate = float(getattr(old, "rate", 0.5))
        f.clf = getattr(old, "clf", None)
        return f
