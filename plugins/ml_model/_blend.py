"""What `auto` predicts with when its choice is not one candidate alone: per cost, one candidate or the average
of two, from models of the candidates it needs (each trained once, on every cost).

Why averages: on problems where no candidate is clearly ahead, two models of different kinds (a deep
ensemble and boosted trees) make errors that partly cancel. From 1,000 placements of GPT-2 on 8 GPUs the
boosting's MAPE was 6.9%, the deep ensemble's 7.6%, their average's 6.7%; on the LSTM with memory caps, the
forest 10.3%, the average of the forest and the deep ensemble 7.2%. Equal weights, not fitted ones: weights
fitted on a hold-out are themselves noisy, and `auto` only chooses the average when the hold-out shows it
ahead of both (see auto.py).

Why per cost: costs of one design differ in kind. In an exploration of ResNet-50 placements, the deep
ensemble predicted the step time of the next steps' points best (Kendall's tau 0.55 against the GP's 0.01),
and the GP and the forest predicted their memory use best; one choice for both was a compromise that served
the objective worse. Each cost gets the model that predicts it best.

A combination is used only through the private contract of the built-in models (``_fit``, ``_members``,
``_spread``, ``_state``, ``_restore``), by `auto`, which holds the targets, the feasibility and the
checkpoint's header. Its uncertainty (what the explorations' acquisitions read), per cost: the standard
deviation of the model used, or the mean of the two models' standard deviations for an average.
"""
from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from framework.checkpoint import CheckpointMeta, State

from ._base import summarise_members

BLEND = "+"         # a choice "a+b": the average of candidates a and b


def parts_of(choices: list[str]) -> list[str]:
    """The candidates a list of per-cost choices needs, in the order they first appear."""
    return list(dict.fromkeys(name for choice in choices for name in choice.split(BLEND)))


class Blend:
    """Fitted models of several candidates; cost j is predicted by the average of the standardised
    predictions of the parts in ``uses[j]`` (one part: that model alone)."""

    views = True   # relabelled views reach the part that learns from them (see AutoModel._view)

    def __init__(self, choices: list[str], parts: list[Any]):
        self.names = parts_of(choices)
        self.parts = list(parts)
        self.uses = [[self.names.index(n) for n in choice.split(BLEND)] for choice in choices]
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

    def _part_predictions(self, X: np.ndarray) -> list[tuple]:
        """Each part's standardised point prediction z (n, c), and its prediction and standard deviation in
        cost units (n, c) as that model alone predicts them."""
        self._share()
        out = []
        for p in self.parts:
            spread = p._spread(X)
            if spread is not None:
                # a spread carries the part's point prediction: it predicts once (boosting: three models, not four)
                out.append((self.targets.forward(spread[0]), spread[0], spread[1]))
                continue
            members = p._members(X)
            out.append((members.mean(axis=0), *summarise_members(self.targets, members)[:2]))
        return out

    def _members(self, X: np.ndarray) -> np.ndarray:
        preds = self._part_predictions(X)
        return np.column_stack([np.mean([preds[i][0][:, j] for i in use], axis=0)
                                for j, use in enumerate(self.uses)])[None]

    def _spread(self, X: np.ndarray):
        """Per cost: a part used alone gives what it predicts alone; an average, the average of the parts'
        standardised predictions back in costs, with the mean of their standard deviations."""
        preds = self._part_predictions(X)
        shape = np.shape(preds[0][2])   # (n, c)
        z, mean, std = np.zeros(shape), np.empty(shape), np.empty(shape)
        for j, use in enumerate(self.uses):
            if len(use) > 1:
                z[:, j] = np.mean([preds[i][0][:, j] for i in use], axis=0)
        back = self.targets.inverse(z)
        for j, use in enumerate(self.uses):
            mean[:, j] = back[:, j] if len(use) > 1 else preds[use[0]][1][:, j]
            std[:, j] = np.mean([preds[i][2][:, j] for i in use], axis=0)
        return mean, std

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
