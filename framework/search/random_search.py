"""Random search: uniform random points, each at most once.

Finite spaces of up to two million points are drawn as a random permutation
(exactly without replacement: the search ends when every point was asked;
with a log range of integers the order is weighted as a random draw would
weigh the points, see `_weighted_order`);
larger finite spaces reject repeats; continuous spaces draw values (repeats have
probability zero). Proposals do not depend on values, so any number of batches
may be in flight at once.
"""
from __future__ import annotations

import numpy as np

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
            if any(k.log_cells for k in space.knobs):
                self._perm = self._weighted_order()
            else:
                self._perm = self.rng.permutation(space.size)

    def _weighted_order(self) -> np.ndarray:
        """Every point once, in the order of a draw without replacement where each point weighs what a
        random draw (`DesignSpace.random`) gives it: log ranges of integers log-uniform (1 to 1024: half of
        the points below 32), the other knobs uniform. Exponential clocks: the order of E / weight. A plain
        permutation drew such a knob uniformly (z < 32 in 0 of 100 rows)."""
        space = self.space
        index = np.arange(space.size, dtype=np.int64)
        weight = np.ones(space.size)
        place = 1
        for knob in reversed(space.knobs):         # the mixed radix of `DesignSpace.point_at`: last knob fastest
            radix, here = knob.size, place
            place *= radix
            if knob.log_cells:
                edges = _cell_edges(knob)
                weight *= np.diff(edges)[(index // here) % radix]
        return np.argsort(self.rng.exponential(size=space.size) / weight, kind="stable")

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


def _cell_edges(knob) -> np.ndarray:
    """The edges of a log range's level cells in the unit cube (see `Knob.from_unit`): level i owns
    [log(low + i step), log(low + (i + 1) step)) of the log span."""
    lv = knob.levels
    edges = np.log(lv.low + np.arange(lv.n + 1) * lv.step)
    return (edges - edges[0]) / (edges[-1] - edges[0])
