"""Hill climbing over one-knob neighbourhoods, with random restarts.

The neighbourhood of a point is every point one knob away (see
`operators.neighbourhood`): another level of a finite knob (any level, or the
adjacent ones for ordered knobs with ``neighbourhood="adjacent"``), or a step of
+-``step`` in the unit cube for a continuous knob.

``strategy="best"`` (steepest descent) evaluates the whole neighbourhood as one
batch and moves to its best point if that is strictly better. ``"first"``
scans the neighbourhood in a random order (a knob drawn uniformly, then one of
its levels: for an ordered knob a log-uniform distance from the current level,
see `operators.Neighbours.draw`), ``batch`` points at a time, and
moves to the best improving point of the first batch that has one (with
``batch=1`` this is classic first-improvement; larger batches trade a few
evaluations for parallelism). A neighbourhood of at most ``ENUMERATE`` points
is shuffled whole; a larger one (knobs of thousands of levels) is drawn
``batch`` untried neighbours at a time, without replacement, so a move costs
memory and time in the batch, not in the knobs' levels (building and
shuffling 1.2 million rows per move took 636 MB and a second per evaluation).

At a local optimum (no neighbour strictly better) the continuous step is halved
while it is above ``min_step``; then the climb restarts from a new random point
(``restarts`` times, or until the budget ends). Every local optimum is kept in
``optima``. Neighbours already evaluated, by this climb or an earlier one, come
from the cache. Points are compared by Deb's rules (`Algorithm.least`): from a
point that breaks a constraint, the climb descends on by how much it misses.
"""
from __future__ import annotations

import numpy as np

from .base import STEP_MAX, Algorithm, Option
from .operators import Neighbours, varying_knobs


ENUMERATE = 4096   # neighbourhoods up to this size are shuffled whole; larger ones are drawn lazily


class HillClimbing(Algorithm):
    name = "hill_climbing"
    uses_initial = True
    MAX_IDLE = 10_000     # a climb through known points is normal; restarts always bring new ones
    OPTIONS = {
        "strategy": Option("str", "first", "best: move to the best of the whole neighbourhood; first: scan it "
                                           "in random order, batch points at a time, move at the first "
                                           "batch that improves", choices=("best", "first")),
        "neighbourhood": Option("str", "all", "all: any other level of one knob; adjacent: one level up or "
                                              "down for ordered knobs", choices=("all", "adjacent")),
        "batch": Option("int", 8, "first-improvement: neighbours evaluated per step (at most 100,000)",
                        min=1, max=STEP_MAX),
        "step": Option("float", 0.1, "continuous knobs: neighbour distance in the unit cube", min=1e-9, max=1),
        "min_step": Option("float", 0.01, "continuous knobs: the step is halved at a local optimum down to "
                                          "this, before a restart", min=0, max=1),
        "restarts": Option("int", None, "random restarts after local optima (null: until the budget ends)",
                           min=0, nullable=True),
        "initial_size": Option("int", 1, "start points; the first climb starts from the best (at most 100,000)",
                               min=1, max=STEP_MAX),
    }

    def setup(self) -> None:
        self.optima: list[tuple[np.ndarray, float]] = []
        self.restarts_done = 0
        self._continuous = any(not self.space.knobs[j].finite for j in varying_knobs(self.space))
        self._step = self.o.step
        self._phase = "start"
        self._start: np.ndarray | None = None   # drawn at the first step, within the budget left (`room`)
        self.current: np.ndarray | None = None
        self.current_value = np.inf
        self.current_violation = np.inf      # by how much the current point breaks the constraints
        self._order: np.ndarray | None = None   # the neighbours to scan, in order (None: drawn lazily)
        self._neighbours: Neighbours | None = None
        self._tried: set[int] = set()           # lazily drawn: the neighbours drawn so far
        self._pos = 0

    # ------------------------------------------------------------------ steps
    def propose(self, n):
        if self._phase == "start":
            if self._start is None:
                self._start = self.initial_points(self.o.initial_size)
            if not len(self._start):
                self.reason = "no unvisited start point is left"
                return None
            return self._start
        if self.o.strategy == "best":
            return self._order
        if self._order is None:
            return self._neighbours.rows(self._draw(self.room(self.o.batch)))
        return self._order[self._pos:self._pos + self.room(self.o.batch)]

    def update(self, codes, values):
        v = values[:, 0]
        if self._phase == "start":
            i, viol = self.least(codes, values)
            self._phase = "climb"      # before the move: a point without neighbours restarts (or ends) at once
            self._move(codes[i], v[i], viol)
            return
        if not len(v):                 # nothing left to scan (an empty neighbourhood)
            self._local_optimum()
            return
        # Deb's rules: from a design that breaks a constraint, the climb descends on by how much it misses
        # (a placement over its memory cap moves towards one that fits), not at random
        i, viol = self.least(codes, values)
        if (viol, v[i]) < (self.current_violation, self.current_value):
            self._move(codes[i], v[i], viol)
            return
        if self.o.strategy == "first":
            self._pos += len(codes)      # a step near the end of the budget is smaller (see `room`)
            if self._pos < self._neighbours.size:
                return
        self._local_optimum()

    # ------------------------------------------------------------------ moves
    def _move(self, code: np.ndarray, value: float, violation: float = 0.0) -> None:
        self.current, self.current_value, self.current_violation = code.copy(), float(value), violation
        self._new_neighbourhood()

    def _new_neighbourhood(self) -> None:
        nb = Neighbours(self.space, self.current, self.o.neighbourhood, self._step)
        self._neighbours, self._pos, self._tried = nb, 0, set()
        if self.o.strategy == "best":
            self._order = nb.rows(np.arange(nb.size))
        elif nb.size <= ENUMERATE:
            # the order `Neighbours.draw` would draw them in, without replacement (exponential clocks): a
            # knob first, then a level; a uniform shuffle spent 97% of a climb on a knob of 1,024 levels
            keys = self.rng.exponential(size=nb.size) / nb.weights()
            self._order = nb.rows(np.argsort(keys, kind="stable"))
        else:
            self._order = None   # drawn batch by batch (_draw)
        if not nb.size:
            self._local_optimum()

    def _draw(self, count: int) -> np.ndarray:
        """Up to ``count`` neighbour numbers not drawn yet at this point, as `Neighbours.draw` draws them."""
        size = self._neighbours.size
        count = min(count, size - len(self._tried))
        picked: list[int] = []
        for _ in range(20):
            for i in self._neighbours.draw(self.rng, 2 * (count - len(picked)) + 2).tolist():
                if i not in self._tried:
                    self._tried.add(i)
                    picked.append(i)
                    if len(picked) == count:
                        return np.array(picked, dtype=np.int64)
        # most of the neighbourhood drawn (more evaluations than half its size were spent here): what is left
        left = np.setdiff1d(np.arange(size, dtype=np.int64), np.fromiter(self._tried, dtype=np.int64))
        more = self.rng.permutation(left)[:count - len(picked)].tolist()
        self._tried.update(more)
        return np.array(picked + more, dtype=np.int64)

    def _local_optimum(self) -> None:
        if self._continuous and self._step / 2 >= self.o.min_step:
            self._step /= 2
            self._new_neighbourhood()
            return
        self.optima.append((self.current.copy(), self.current_value))
        if self.o.restarts is not None and self.restarts_done >= self.o.restarts:
            self._phase = "finished"
            self._finish(f"local optimum reached after {self.restarts_done} restart(s)")
            return
        self.restarts_done += 1
        self._step = self.o.step
        self._start = self.fresh_random(1)
        self._phase = "start"
