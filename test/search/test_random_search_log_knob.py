"""random_search on a finite space honours "log": true on an integer range (docs/config.md: 1 to 1024,
half of the points below 32), as it does when the space has a continuous knob, and still asks no point
twice. It drew a plain permutation: z < 32 in 0 of 100 rows, the same table as without "log"."""
from __future__ import annotations

import numpy as np

from framework.search import make, minimize
from framework.space import ArithLevels, DesignSpace, Knob


def space(log: bool) -> DesignSpace:
    return DesignSpace([Knob("x", "integer", ArithLevels(0, 1, 21, True)),
                        Knob("z", "integer", ArithLevels(1, 1, 1024, True), log=log)])


def zero(codes):
    return np.zeros((len(codes), 1))


def test_a_log_integer_knob_is_drawn_log_uniformly_without_repeats():
    below = []
    for seed in range(5):
        codes = minimize(make("random", space(True), seed=seed), zero, 200).codes
        assert len({tuple(c) for c in codes}) == len(codes)
        below.append(np.mean(codes[:, 1] + 1 < 32))
    assert 0.35 < np.median(below) < 0.65, below            # uniform: 31/1024 = 3%


def test_without_log_the_draw_stays_uniform_and_the_space_is_covered_once():
    codes = minimize(make("random", space(False), seed=0), zero, 400).codes
    assert np.mean(codes[:, 1] + 1 < 32) < 0.1
    small = DesignSpace([Knob("z", "integer", ArithLevels(1, 1, 64, True), log=True),
                         Knob("x", "integer", ArithLevels(0, 1, 3, True))])
    result = minimize(make("random", small, seed=0), zero, 1000)
    assert result.evaluations == small.size and "every point" in result.reason
    assert len({tuple(c) for c in result.codes}) == small.size
