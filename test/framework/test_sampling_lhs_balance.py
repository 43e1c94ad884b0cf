"""lhs: a step is one Latin hypercube, and on finite knobs each level gets its share of the step within one
(docs/plugins.md)."""
import numpy as np
import pytest

from helpers import sampler


@pytest.mark.parametrize("n", [5, 10, 12, 35])
@pytest.mark.parametrize("seed", range(8))
def test_each_level_of_a_finite_knob_gets_its_share_within_one(tmp_path, n, seed):
    # before: scipy's continuous hypercube floored onto the levels: 7 levels, 5 points gave one level twice
    # (seed 5: g = 0, 3, 5, 2, 5); 10 points gave one level 3 and another none
    fw, s = sampler(tmp_path, [{"name": "g", "values": "0-7"}, {"name": "a", "values": "0-5"}], "lhs", seed=seed)
    codes = s.Run(n)
    assert len(codes) == n and len(set(fw.space.keys(codes))) == n
    for j, levels in ((0, 7), (1, 5)):
        counts = np.bincount(codes[:, j].astype(int), minlength=levels)
        assert counts.min() >= n // levels and counts.max() <= -(-n // levels), (j, counts)


def test_a_knob_of_more_levels_than_points_gets_distinct_levels_spread_over_it(tmp_path):
    fw, s = sampler(tmp_path, [{"name": "g", "values": "0-1000"}, {"name": "x", "type": "real", "min": 0,
                                                                   "max": 1}], "lhs", seed=2)
    codes = s.Run(10)
    g = np.sort(codes[:, 0].astype(int))
    assert len(set(g)) == 10
    assert all(100 * i <= v < 100 * (i + 1) for i, v in enumerate(g))   # one in each tenth of the knob
    assert len(set(codes[:, 1])) == 10   # the continuous knob: a hypercube column as before


def test_lhs_is_repeatable_under_its_seed(tmp_path):
    knobs = [{"name": "g", "values": "0-7"}, {"name": "a", "values": "0-5"}, {"name": "x", "type": "real",
                                                                              "min": 0, "max": 1}]
    _, s1 = sampler(tmp_path / "1", knobs, "lhs", seed=4)
    _, s2 = sampler(tmp_path / "2", knobs, "lhs", seed=4)
    assert np.array_equal(s1.Run(9), s2.Run(9))
