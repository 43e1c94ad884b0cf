"""The average of two models, one of `auto`'s choices: each predicts, the standardised (log) predictions are
averaged.

Why: on problems where no candidate is clearly ahead, two models of different kinds (a deep ensemble and
boosted trees) make errors that partly cancel. From 1,000 placements of GPT-2 on 8 GPUs the boosting's
MAPE was 6.9%, the deep ensemble's 7.6%, their average's 6.7%; on the LSTM with memory caps, the forest
10.3%, the average of the forest and the deep ensemble 7.2%. Equal weights, not fitted ones: weights fitted
on a hold-out are themselves noisy, and `auto` only chooses the average when the hold-out shows it ahead of
both (see auto.py).

A blend is used only through the private contract of the built-in models (``_fit``, ``_members``,
``_spread``, ``_state``, ``_restore``), by `auto`, which holds the targets, the feasibility and the
checkpoint's header. Its uncertainty (what the explorations' acquisitions read): the mean of the two parts'
standard deviations in cost units.
"""
from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from framework.checkpoint import CheckpointMeta, State


class Blend:
    """Two fitted models whose standardised predictions are averaged."""

    views = True   # relabelled views reach the part that learns from them (see AutoModel._view)

    def __init__(self, names: list[str], parts: list[Any]):
        self.names, self.parts = list(names), list(parts)
        self.targets = None
        self.runs = 0
        self.continuing = False

    def _share(self) -> None:
        for p in self.parts:
            p.targets, p.runs = self.targets, self.runs

    def _continues(self, samples: int) -> bool:
        return any(p._continues(samples) for p in self.parts)

    def _fit(self, X: np.ndarray, Z: np.ndarray, monitor) -> dict:
        from .auto import AutoModel
        self._share()
        n = X.shape[-2]
        reports = {}
        for name, part in zip(self.names, self.parts):
            part.continuing = self.continuing and part._continues(n)
            reports[name] = dict(part._fit(AutoModel._view(X, part), Z, monitor) or {})
            part.runs = self.runs + 1
        seconds = [r.get("train_seconds") for r in reports.values() if r.get("train_seconds") is not None]
        out = {"parts": {k: {kk: v for kk, v in r.items() if kk != "history_list"} for k, r in reports.items()}}
        histories = [r["history_list"] for r in reports.values() if r.get("history_list")]
        if histories:
            out["history_list"] = histories[0]
        if seconds:
            out["train_seconds"] = float(sum(seconds))
        return out

    def _members(self, X: np.ndarray) -> np.ndarray:
        self._share()
        return np.mean([p._members(X).mean(axis=0) for p in self.parts], axis=0)[None]

    def _spread(self, X: np.ndarray):
        self._share()
        zs, stds = [], []
        for p in self.parts:
            members = p._members(X)
            zs.append(members.mean(axis=0))
            spread = p._spread(X)
            if spread is not None:
                stds.append(spread[1])
            else:
                stds.append(self.targets.inverse(members).std(axis=0))
        mean = self.targets.inverse(np.mean(zs, axis=0))
        return mean, np.mean(stds, axis=0)

    def _member_count(self) -> int:
        return 1

    def _predict_context(self):
        stack = contextlib.ExitStack()
        for p in self.parts:
            stack.enter_context(p._predict_context())
        return stack

    def _state(self) -> Any:
        return {"parts": list(self.names), "models": {str(i): p._state() for i, p in enumerate(self.parts)}}

    def _restore(self, state: State, meta: CheckpointMeta) -> None:
        models = state.sub("models")
        for i, part in enumerate(self.parts):
            part.loading = getattr(self, "loading", None)
            part._restore(models.sub(str(i)), meta)

    def _info(self) -> dict:
        return {"parts": list(self.names)}
