"""Sampling restricted to pre-evaluated points (``-only-preloaded-data-exploration``).

The exploration then runs on the data only, as in Deffe: steps draw from the
preloaded points (in a seeded random order, or in file order with
``-full-exploration``) and nothing is evaluated. A model-guided exploration
chooses its later steps among the preloaded points it has not used yet
(``pool``) instead of searching the whole space: a point outside the data
could not be evaluated.
"""
from __future__ import annotations

import numpy as np


class PreloadedSampler:
    def __init__(self, framework, store, ordered: bool = False):
        self.framework = framework
        self.ordered = ordered
        self.pos = 0
        self.codes = np.empty((0, 0))

    def Initialize(self) -> None:
        rows = self.framework.preloaded
        space = self.framework.space
        codes = np.array(rows, dtype=float).reshape(-1, len(space))
        # one row per point, first occurrence kept: the same codes are the same point (a finite knob's values
        # are distinct, a continuous knob's code is its value; + 0.0 makes -0.0 the 0.0 its key says), compared
        # as numbers, without the text of a key per row (200,000 keys took 1.4 s, a million 1 GB)
        _, first = np.unique(codes + 0.0, axis=0, return_index=True) if len(codes) else ([], [])
        codes = codes[np.sort(first)] if len(codes) else codes
        if not self.ordered and len(codes):
            codes = codes[self.framework.rng("preloaded-order").permutation(len(codes))]
        self.codes = codes

    @property
    def pool(self) -> np.ndarray:
        """Every point an exploration may propose: the preloaded ones."""
        return self.codes

    def Run(self, count: int) -> np.ndarray:
        if self.ordered:
            count = len(self.codes) - self.pos
        out = self.codes[self.pos:self.pos + count]
        self.pos += len(out)
        return out
