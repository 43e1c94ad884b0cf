"""The scikit-learn plugins' shared part: estimators per cost on the standardised targets.

Checkpoints: a fitted estimator is Python objects, which a checkpoint does not
hold (framework/checkpoint.py). It holds instead what the estimators were
fitted on: the features (n, d), the standardised targets (n, c; NaN where a
cost is not learned) and each estimator's settings with its seed; loading fits
them again. The random forest (``random_state`` fixed, trees built one by one
or on threads: each tree's seed is drawn before) and histogram gradient
boosting (no early stopping, nothing drawn at random; its sums do not depend on
the number of OpenMP threads) are deterministic, so the refitted estimators
predict the same numbers bit for bit under the same scikit-learn version
(test/ml/test_checkpoint_safety.py). Under another version they may differ
slightly: loading says so in a warning. The cost of a load is a training's
(forests are refitted on the model's ``threads``): 0.8 s for sklearn_rf with
two costs of 200 trees on 1,000 points and 5 features, on one thread; 4 s for
sklearn_gbm (three boosted models per cost).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from framework.checkpoint import CheckpointMeta, PayloadError, State, check_settings
from framework.errors import DeffeError

from ._base import SurrogateModel


class SklearnModel(SurrogateModel):
    SETTINGS: tuple[str, ...] = ()     # the estimator settings a checkpoint may give (see _estimator)
    PER_COST = 1                       # estimators per cost

    def __init__(self, framework: Any):
        super().__init__(framework)
        self.models: list[list[Any]] = []    # per cost, its PER_COST estimators
        self.fitted_on: tuple[np.ndarray, np.ndarray, list[list[dict]]] | None = None   # X, Z, settings
        self.noted = False

    # subclasses
    def _settings(self, n: int, seed: int) -> list[dict]:  # pragma: no cover - abstract
        """The settings of one cost's estimators, fitted on n rows."""
        raise NotImplementedError

    def _estimator(self, settings: dict) -> Any:  # pragma: no cover - abstract
        """A new estimator of the plugin's class with these settings (always n_jobs=1 to predict)."""
        raise NotImplementedError

    def _check_initial(self) -> None:
        if self.opts.get("freeze_layers"):
            raise DeffeError(f"freeze_layers applies to the torch models, not to {self.plugin}", file=self.file,
                             where="model.freeze_layers")

    def _fit(self, X: np.ndarray, Z: np.ndarray, monitor) -> dict:
        if (self.opts.get("transfer_learning") or self.initial is not None) and not self.noted:
            self.framework.log.info(f"model {self.plugin}: trees are not fine-tuned; each step trains anew "
                                    "(a checkpoint given with -icp serves until the first training)")
            self.noted = True
        seed = self.seed + 7919 * self.runs
        settings = [self._settings(int(np.isfinite(Z[:, j]).sum()), seed + j) for j in range(Z.shape[1])]
        self._fit_all(np.array(X), np.array(Z, dtype=float), settings)
        return {"estimators": int(self.opts["estimators"])}

    def _fit_all(self, X: np.ndarray, Z: np.ndarray, settings: list[list[dict]], threads: int = 1) -> None:
        """Fit every cost's estimators; the same inputs give the same estimators (a checkpoint relies on it)."""
        models = []
        for j, per_cost in enumerate(settings):
            rows = np.isfinite(Z[:, j])
            if not rows.any():   # no value of this cost yet (no design ran): nothing to fit, predicted as NaN
                models.append([Unlearned(s.get("n_estimators", 1)) for s in per_cost])
                continue
            ests = [self._estimator(s) for s in per_cost]
            for est in ests:
                self._fit_one(est, X[rows], Z[rows, j], threads)
            models.append(ests)
        self.models = models
        self.fitted_on = (X, Z, [[dict(s) for s in per_cost] for per_cost in settings])

    def _fit_one(self, est: Any, X: np.ndarray, z: np.ndarray, threads: int) -> None:
        est.fit(X, z)

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> Any:
        import sklearn
        X, Z, settings = self.fitted_on
        return {"sklearn": sklearn.__version__, "features": X, "targets": Z, "settings": settings}

    def _restore(self, state: State, meta: CheckpointMeta) -> None:
        import sklearn
        c = len(self.cost_names)
        X = state.array("features", "f", (None, self._input_width()))
        Z = state.array("targets", "f", (X.shape[0], c)).astype(float)
        per_cost = state.value("settings", list, f"a list of {c} lists of estimator settings")
        if len(per_cost) != c:
            raise PayloadError(f"'{state.path}/settings' has {len(per_cost)} entries, expected {c} (one per cost)")
        settings = []
        for j, ests in enumerate(per_cost):
            if not isinstance(ests, list) or len(ests) != self.PER_COST:
                raise PayloadError(f"'{state.path}/settings/{j}' is not a list of {self.PER_COST} estimator settings")
            st = State({str(i): s for i, s in enumerate(ests)}, f"{state.path}/settings/{j}")
            settings.append([check_settings(st, str(i), self.SETTINGS) for i in range(len(ests))])
        if not np.isfinite(Z).any():   # one cost may have none (trained before any design ran), not all
            raise PayloadError(f"array '{state.path}/targets' has no value of any cost to fit")
        if np.isinf(Z).any() or not np.isfinite(X).all():
            raise PayloadError(f"'{state.path}': the features or targets hold infinite values")
        written = state.value("sklearn", str, "a version") if state.has("sklearn") else "?"
        if written != sklearn.__version__:
            self.framework.log.warning(f"warning: {self.loading}: written under scikit-learn {written}, refitted "
                                       f"under {sklearn.__version__}: predictions may differ slightly from the run's")
        self._fit_all(X, Z, settings, threads=self.threads)

    def _restore_pickled(self, state: dict, meta: CheckpointMeta) -> None:
        from ._feasibility import Feasibility
        from ._targets import Targets
        self.targets = Targets.from_state(state["targets"])
        self.feasibility = Feasibility.from_pickled(state["feasibility"], self.seed)
        models = list(state["model"]["models"])
        self.models = [m if isinstance(m, list) else [m] for m in models]
        self.fitted_on = None    # unknown: such a model is not saved again before it is trained

    def _members(self, X: np.ndarray) -> np.ndarray:
        return np.stack([m[0].predict(X) for m in self.models], axis=-1)[None]


class Unlearned:
    """The estimator of a cost no training point had a value of: it predicts NaN (and, as a forest, has
    ``trees`` members that do)."""

    def __init__(self, trees: int = 1):
        self.estimators_ = [self] * max(1, int(trees))

    def predict(self, X: np.ndarray, return_std: bool = False):
        nan = np.full(len(X), np.nan)
        return (nan, nan.copy()) if return_std else nan
