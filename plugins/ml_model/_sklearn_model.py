"""The scikit-learn plugins' shared part: one estimator per cost on the standardised targets."""
from __future__ import annotations

from typing import Any

import numpy as np

from framework.checkpoint import CheckpointMeta
from framework.errors import DeffeError

from ._base import SurrogateModel


class SklearnModel(SurrogateModel):
    def __init__(self, framework: Any):
        super().__init__(framework)
        self.models: list[Any] = []
        self.noted = False

    def _make(self, n: int, seed: int) -> Any:  # pragma: no cover - abstract
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
        self.models = []
        for j in range(Z.shape[1]):
            rows = np.isfinite(Z[:, j])
            self.models.append(self._fit_one(X[rows], Z[rows, j], seed + j))
        return {"estimators": int(self.opts["estimators"])}

    def _fit_one(self, X: np.ndarray, z: np.ndarray, seed: int) -> Any:
        model = self._make(len(z), seed)
        model.fit(X, z)
        return model

    def _state(self) -> Any:
        return {"models": self.models}

    def _restore(self, state: Any, meta: CheckpointMeta) -> None:
        self.models = list(state["models"])

    def _members(self, X: np.ndarray) -> np.ndarray:
        return np.stack([m.predict(X) for m in self.models], axis=-1)[None]
