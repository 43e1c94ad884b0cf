"""Random search: uniform random points, each at most once.

Finite spaces of up to two million points are drawn as a random permutation
(exactly without replacement: the search ends when every point was asked);
larger finite spaces reject repeats; continuous spaces draw values (repeats have
probability zero). Proposals do not depend on values, so any number of batches
may be in flight at once.
"""
from __future__ import annotations

from .base import STEP_MAX, Algorithm, Option

PERMUTATION_LIMIT = 2_000_000


class RandomSearch(Algorithm):
    name = "random"
    multi_objective = True
    independent = True
    OPTIONS = {
        "batch": Option("int", 16, "points per step (at most 100,000)", min=1, max=STEP_MAX),
    }

    def setup(self) -> None:
        space = self.space
        self._perm = None
        self._pos = 0
        if space.finite and space.size <= PERMUTATION_LIMIT:
            self._perm = self.rng.permutation(space.size)

    def propose(self, n):
        n = n or self.o.batch
        if self._perm is not None:
            if self._pos >= len(self._perm):
                self.reason = "every point of the space was asked"
                return None
            idx = self._perm[self._pos:self._pos + n]
            self._pos += len(idx)
            return self.space.point_at(idx)
        out = self.fresh_random(n)     # no more than the budget (and the space) has left: see `room`
        if not len(out):
            self.reason = "no new random point could be drawn"
            return None
        return out
