"""NSGA-II for several objectives (Deb, Pratap, Agarwal and Meyarivan, 2002).

Each generation breeds ``population`` children from parents chosen by binary
tournament on (front rank, then crowding distance), crossed over and mutated
as in the genetic algorithm; parents and children together are sorted into
non-dominated fronts and the next population is filled front by front, the
last front that fits partly by largest crowding distance (the most isolated
points, to keep the front spread out). Failed points (+inf) rank below every
feasible one. Points that broke a constraint (told with +inf values and their
violation, see `Algorithm.tell`) follow Deb's constrained domination: below
every point that meets the constraints, and among themselves the smaller
violation first (each violation a front of its own); failed points come last.

Children equal to a known point or to a sibling are mutated again (up to 10
times) rather than re-evaluated. ``front`` gives the non-dominated set of every
point evaluated, which is what to report (the population may have lost some of
them to crowding).
"""
from __future__ import annotations

import numpy as np

from .base import STEP_MAX, Algorithm, Option
from .operators import CROSSOVERS, LEVEL_MOVE_DOC, LEVEL_MOVES, crossover, mutate
from .pareto import crowding_distance, feasible, non_dominated_sort


def constrained_sort(values: np.ndarray, violation: np.ndarray | None = None) -> list[np.ndarray]:
    """Fronts of row indices, best first, by constrained domination (Deb 2002): the rows with finite
    values by non-dominated sorting, then the others by ascending ``violation`` (one front per
    distinct amount; +inf, a failed point, last)."""
    fronts = non_dominated_sort(values)
    bad = ~feasible(values)
    if violation is None or not bad.any():
        return fronts
    fronts = fronts[:-1]          # non_dominated_sort puts the non-finite rows in one last front
    rows = np.flatnonzero(bad)
    amount = np.asarray(violation, dtype=float)[rows]
    for a in np.unique(amount):   # ascending, +inf last
        fronts.append(rows[amount == a])
    return fronts


def rank_and_crowding(values: np.ndarray, violation: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Front rank (0 = non-dominated) and crowding distance within its front, for each row."""
    rank = np.zeros(len(values), dtype=np.int64)
    crowd = np.zeros(len(values))
    for r, front in enumerate(constrained_sort(values, violation)):
        rank[front] = r
        crowd[front] = crowding_distance(np.nan_to_num(values[front], posinf=0.0))
    return rank, crowd


def survivors(values: np.ndarray, n: int, violation: np.ndarray | None = None) -> np.ndarray:
    """Indices of the n rows NSGA-II keeps: whole fronts, then the most crowded-apart of the next."""
    keep: list[int] = []
    for front in constrained_sort(values, violation):
        if len(keep) + len(front) <= n:
            keep.extend(front.tolist())
            if len(keep) == n:
                break
            continue
        crowd = crowding_distance(np.nan_to_num(values[front], posinf=0.0))
        order = np.argsort(-crowd, kind="stable")
        keep.extend(front[order[:n - len(keep)]].tolist())
        break
    return np.array(keep, dtype=np.int64)


class NSGA2(Algorithm):
    name = "nsga2"
    multi_objective = True
    uses_initial = True
    OPTIONS = {
        "population": Option("int", 40, "individuals per generation (children per generation too) (at most 100,000)",
                             min=2, max=STEP_MAX),
        "crossover": Option("str", "uniform", "uniform, or one_point (a cut along the knob order)",
                            choices=CROSSOVERS),
        "crossover_rate": Option("float", 0.9, "probability that a child is a crossover of two parents",
                                 min=0, max=1),
        "mutation_rate": Option("float", None, "probability that each knob mutates (null: 1 / varying knobs)",
                                min=0, max=1, nullable=True),
        "level_move": Option("str", "mixed", LEVEL_MOVE_DOC, choices=LEVEL_MOVES),
        "step": Option("float", 0.1, "continuous knobs: standard deviation of a mutation in the unit cube",
                       min=1e-9),
        "initial_size": Option("int", None, "initial points (null: population)", min=1, nullable=True),
    }

    def setup(self) -> None:
        self.pop_codes: np.ndarray | None = None
        self.pop_values: np.ndarray | None = None
        self.generation = 0

    def propose(self, n):
        if self.pop_codes is None:
            start = self.initial_points(self.o.initial_size or self.o.population)
            if len(start) < self.o.population:
                start = np.vstack([start, self.fresh_random(self.o.population - len(start))])
            if not len(start):
                self.reason = "no start point"
                return None
            return start
        return self._children(self.o.population)

    def update(self, codes, values):
        if self.pop_codes is None:
            all_codes, all_values = codes, values
        else:
            all_codes = np.vstack([self.pop_codes, codes])
            all_values = np.vstack([self.pop_values, values])
            self.generation += 1
        violation = self.violation_of(all_codes, all_values)
        keep = survivors(all_values, self.o.population, violation)
        self.pop_codes, self.pop_values = all_codes[keep], all_values[keep]
        self._rank, self._crowd = rank_and_crowding(self.pop_values, violation[keep])

    def _tournament(self, n: int) -> np.ndarray:
        size = len(self.pop_codes)
        a, b = self.rng.integers(0, size, size=n), self.rng.integers(0, size, size=n)
        ra, rb = self._rank[a], self._rank[b]
        ca, cb = self._crowd[a], self._crowd[b]
        a_wins = (ra < rb) | ((ra == rb) & (ca > cb)) | ((ra == rb) & (ca == cb) & (self.rng.random(n) < 0.5))
        return np.where(a_wins, a, b)

    def _children(self, n: int) -> np.ndarray:
        p1 = self.pop_codes[self._tournament(n)]
        p2 = self.pop_codes[self._tournament(n)]
        crossed = self.rng.random(n) < self.o.crossover_rate
        kids = np.where(crossed[:, None], crossover(p1, p2, self.rng, self.o.crossover), p1)
        kids = mutate(self.space, kids, self.rng, self.o.mutation_rate, self.o.level_move, self.o.step,
                      ensure_change=False)
        return self.vary_known(kids, lambda c: mutate(self.space, c, self.rng, self.o.mutation_rate,
                                                      self.o.level_move, self.o.step))
