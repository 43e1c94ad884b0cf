"""Simulated annealing with k proposals per step, as in the inlining project.

Each step draws ``k`` distinct random neighbours of the current state (``moves``
knobs changed each, see `operators.random_neighbour`) and asks them as one
batch, so k workers evaluate in parallel. The best of the k faces the
Metropolis test against the current state: accepted if not worse, else with
probability ``exp(-dE / T)``. With ``k = 1`` this is the classic one-move
annealing of the inlining project.

Cooling is exponential, as there: ``T(s) = t_max * (t_min / t_max) ** (s / steps)``
for step s, staying at ``t_min`` after ``steps`` steps (the search then behaves
like a randomised descent). With ``t_max`` unset the scale is taken from the
objective itself: at the first step with an uphill proposal, ``t_max`` is set
so that the median uphill move of that step is accepted with probability 1/2
(``t_max = median dE / ln 2``), and ``t_min = t_max / 100`` unless given. So the
same settings work for a step time in seconds and a memory in bytes.

A walk frozen in a known neighbourhood (``reheat`` steps in a row whose
proposals were all evaluated before) restarts the schedule at ``t_max`` from
where it is, so a remaining budget buys new exploration rather than nothing.

Energies are cached (no state is evaluated twice) and the best state ever seen
is kept (``best``), whatever the walk is doing now. A failed proposal
(+inf) is never accepted, except from a failed state, where the walk moves on
regardless until it reaches a feasible one: to the proposal that misses the
constraints by the least (Deb's rules, `Algorithm.least`), where they are told.
"""
from __future__ import annotations

import math

import numpy as np

from .base import STEP_MAX, Algorithm, Option, OptionError, row_keys
from .operators import LEVEL_MOVE_DOC, LEVEL_MOVES, random_neighbour


class SimulatedAnnealing(Algorithm):
    name = "annealing"
    uses_initial = True
    OPTIONS = {
        "k": Option("int", 8, "proposals per step, evaluated as one batch (at most 100,000)", min=1, max=STEP_MAX),
        "steps": Option("int", 100, "steps over which T cools from t_max to t_min", min=1),
        "t_max": Option("float", None, "start temperature, in objective units, above 0 (null: calibrated from "
                                       "the first uphill proposals)", min=0, nullable=True),
        "t_min": Option("float", None, "end temperature, above 0 and at most t_max (null: t_max / 100)", min=0,
                        nullable=True),
        "moves": Option("int", 1, "knobs changed per proposal", min=1),
        "level_move": Option("str", "mixed", LEVEL_MOVE_DOC, choices=LEVEL_MOVES),
        "step": Option("float", 0.1, "continuous knobs: standard deviation of a move in the unit cube", min=1e-9),
        "reheat": Option("int", 30, "steps in a row whose proposals were all known (a frozen walk) before "
                                    "the schedule restarts at t_max from the current state; 0: never",
                         min=0),
        "initial_size": Option("int", 1, "start points; the walk starts from the best (at most 100,000)",
                               min=1, max=STEP_MAX),
    }

    def setup(self) -> None:
        for name in ("t_max", "t_min"):
            t = getattr(self.o, name)
            if t is not None and t <= 0:
                raise OptionError(name, f"must be above 0, got {t:g}: the temperature cools exponentially "
                                        "from t_max to t_min", "a tiny value (1e-9) makes the walk a descent; "
                                                               "null calibrates t_max from the objective")
        if self.o.t_max is not None and self.o.t_min is not None and self.o.t_min > self.o.t_max:
            raise OptionError("t_min", f"must be at most t_max ({self.o.t_max:g}), got {self.o.t_min:g}: the "
                                       "temperature cools from t_max down to t_min")
        self.current: np.ndarray | None = None
        self.energy = math.inf
        self.t_max = self.o.t_max
        self.t_min = self.o.t_min
        self.step_index = 0            # annealing steps taken (the start batch excluded)
        self.accepts = 0
        self.improves = 0
        self.reheats = 0
        self._frozen = 0               # steps in a row with nothing new to evaluate
        self._start: np.ndarray | None = None   # drawn at the first step, within the budget left (`room`)

    def temperature(self, step: int | None = None) -> float:
        """T at an annealing step (the current one by default); NaN before calibration."""
        if self.t_max is None:
            return math.nan
        s = self.step_index if step is None else step
        t_min = self.t_max / 100 if self.t_min is None else self.t_min
        if self.t_max <= 0 or t_min <= 0:
            return 0.0
        return self.t_max * (t_min / self.t_max) ** (min(s, self.o.steps) / self.o.steps)

    def propose(self, n):
        if self.current is None:
            if self._start is None:
                self._start = self.initial_points(self.o.initial_size)
            if not len(self._start):
                self.reason = "no start point"
                return None
            return self._start
        cands = self._proposals()
        self._frozen = self._frozen + 1 if self.known(cands).all() else 0
        if self.o.reheat and self._frozen >= self.o.reheat:
            self._frozen = 0
            self.reheats += 1
            self.step_index = 0
        return cands

    def _proposals(self) -> np.ndarray:
        """k distinct neighbours of the current state (fewer if the neighbourhood is smaller)."""
        out: list[np.ndarray] = []
        seen: set[bytes] = {row_keys(self.current)[0]}
        k = self.room(self.o.k)        # no more than the budget has left (k 2,000,000 ran for minutes)
        for _ in range(10):
            cand = random_neighbour(self.space, np.repeat(self.current[None, :], k, axis=0), self.rng,
                                    self.o.moves, self.o.level_move, self.o.step)
            for key, row in zip(row_keys(cand), cand):
                if key not in seen:
                    seen.add(key)
                    out.append(row)
                    if len(out) == k:
                        return np.array(out)
        return np.array(out, dtype=float).reshape(-1, self.k)

    def update(self, codes, values):
        e = values[:, 0]
        if self.current is None:
            i, _ = self.least(codes, values)
            self.current, self.energy = codes[i].copy(), float(e[i])
            return
        if not len(e):
            self._finish("the current state has no neighbour")
            return
        if self.t_max is None:
            self._calibrate(e)
        # the best of the k by Deb's rules: from a state that breaks a constraint the walk moves on to the
        # proposal that misses it by the least (it used to take the first, at random)
        i, _ = self.least(codes, values)
        if self._accept(float(e[i])):
            self.accepts += 1
            self.improves += e[i] < self.energy
            self.current, self.energy = codes[i].copy(), float(e[i])
        self.step_index += 1

    def _calibrate(self, e: np.ndarray) -> None:
        up = e[np.isfinite(e)] - self.energy
        up = up[np.isfinite(up) & (up > 0)]
        if len(up):
            self.t_max = float(np.median(up)) / math.log(2)

    def _accept(self, e_new: float) -> bool:
        if not math.isfinite(self.energy):
            return True                 # from a failed state: walk on until a feasible one is found
        if e_new <= self.energy:
            return True
        if not math.isfinite(e_new):
            return False
        t = self.temperature()
        if not (t > 0):                 # not calibrated yet, or a zero temperature: descend only
            return False
        return bool(self.rng.random() < math.exp(-(e_new - self.energy) / t))
