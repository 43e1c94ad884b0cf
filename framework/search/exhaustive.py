"""Exhaustive search: every point of a small finite space, in index order.

Index order is the space's mixed radix (the last knob varies fastest, like
``itertools.product``). A space with a continuous knob, or with more points than
``max_points``, is refused with a clear message instead of running for ever.
"""
from __future__ import annotations

import numpy as np

from .base import STEP_MAX, Algorithm, Option
from ..space import domain_text


class Exhaustive(Algorithm):
    name = "exhaustive"
    multi_objective = True
    independent = True
    OPTIONS = {
        "batch": Option("int", 64, "points per step (at most 100,000)", min=1, max=STEP_MAX),
        "max_points": Option("int", 1_000_000, "largest space exhaustive search accepts", min=1),
    }

    def setup(self) -> None:
        space = self.space
        if not space.finite:
            cont = next(k for k in space.knobs if not k.finite)
            raise ValueError(f"exhaustive search needs a finite space, but knob '{cont.name}' is continuous "
                             f"({domain_text(cont)}); give it a step, or use another algorithm")
        if space.size > self.o.max_points:
            raise ValueError(f"exhaustive search would evaluate {space.size:,} points, more than "
                             f"max_points={self.o.max_points:,}; use another algorithm or raise max_points")
        self._next = 0

    def propose(self, n):
        if self._next >= self.space.size:
            self.reason = f"all {self.space.size} points asked"
            return None
        n = n or self.o.batch
        stop = min(self._next + n, self.space.size)
        codes = self.space.point_at(np.arange(self._next, stop))
        self._next = stop
        return codes
