"""A generational genetic algorithm with elitism.

Each generation breeds ``population - elites`` children: two parents chosen by
tournament (``tournament`` contestants drawn with replacement, the lowest value
wins), crossed over with probability ``crossover_rate`` (uniform, or one-point
along the knob order, which passes whole segments of a placement on), then
mutated gene by gene (each knob with probability ``mutation_rate``, default
1 / number of varying knobs). The next population is the ``elites`` best of
the current one plus the children, so the best point is never lost.

A child equal to a point already evaluated, or to a sibling, is mutated again
(up to 10 times) rather than spending an evaluation on what is known; one still
a duplicate after that takes its value from the cache. The first population is
the best ``population`` of the initial points (``initial_size`` of them,
default ``population``), topped up with random points if there are too few.
"""
from __future__ import annotations

import numpy as np

from .base import STEP_MAX, Algorithm, Option, OptionError
from .operators import CROSSOVERS, LEVEL_MOVE_DOC, LEVEL_MOVES, crossover, mutate


class GeneticAlgorithm(Algorithm):
    name = "genetic"
    uses_initial = True
    OPTIONS = {
        "population": Option("int", 24, "individuals per generation (at most 100,000)", min=2, max=STEP_MAX),
        "elites": Option("int", 2, "best individuals copied unchanged into the next generation", min=0),
        "tournament": Option("int", 2, "contestants per tournament selection (at most population)", min=1),
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
        if self.o.elites >= self.o.population:
            raise OptionError("elites", f"must be less than population ({self.o.population}), got {self.o.elites}")
        if self.o.tournament > self.o.population:
            raise OptionError("tournament", f"must be at most population ({self.o.population}), got "
                                            f"{self.o.tournament}", "a tournament draws its contestants from the "
                                                                    "population; 2 to 4 is usual")
        self.pop_codes: np.ndarray | None = None
        self.pop_values: np.ndarray | None = None
        self.generation = 0

    # ------------------------------------------------------------------ steps
    def propose(self, n):
        if self.pop_codes is None:
            start = self.initial_points(self.o.initial_size or self.o.population)
            if len(start) < self.o.population:
                start = np.vstack([start, self.fresh_random(self.o.population - len(start))])
            if not len(start):
                self.reason = "no start point"
                return None
            return start
        return self._children(self.o.population - self.o.elites)

    def update(self, codes, values):
        v = values[:, 0]
        if self.pop_codes is None:
            keep = np.argsort(v, kind="stable")[:self.o.population]
            self.pop_codes, self.pop_values = codes[keep], v[keep]
            return
        elite = np.argsort(self.pop_values, kind="stable")[:self.o.elites]
        self.pop_codes = np.vstack([self.pop_codes[elite], codes])
        self.pop_values = np.concatenate([self.pop_values[elite], v])
        self.generation += 1

    # ------------------------------------------------------------------ breeding
    def select(self, n: int) -> np.ndarray:
        """Indices of n tournament winners in the population."""
        size = len(self.pop_values)
        contestants = self.rng.integers(0, size, size=(n, self.o.tournament))
        return contestants[np.arange(n), np.argmin(self.pop_values[contestants], axis=1)]

    def _children(self, n: int) -> np.ndarray:
        a = self.pop_codes[self.select(n)]
        b = self.pop_codes[self.select(n)]
        crossed = self.rng.random(n) < self.o.crossover_rate
        kids = np.where(crossed[:, None], crossover(a, b, self.rng, self.o.crossover), a)
        kids = mutate(self.space, kids, self.rng, self.o.mutation_rate, self.o.level_move, self.o.step,
                      ensure_change=False)
        return self.vary_known(kids, lambda c: mutate(self.space, c, self.rng, self.o.mutation_rate,
                                                      self.o.level_move, self.o.step))
