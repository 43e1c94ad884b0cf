"""Pareto dominance, sorting, crowding and hypervolume against hand-computed values."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framework.search.pareto import (crowding_distance, dominates, hypervolume, hypervolume_improvement,
                                     non_dominated_sort, pareto_front, reference_point)

INF = math.inf


def inclusion_exclusion(points, ref):
    """Hypervolume by inclusion-exclusion over every subset: exact, independent, tiny sets only."""
    pts = [p for p in np.asarray(points, float) if np.all(p < ref)]
    total = 0.0
    for r in range(1, len(pts) + 1):
        for subset in itertools.combinations(pts, r):
            corner = np.max(subset, axis=0)
            total += (-1) ** (r + 1) * np.prod(np.asarray(ref) - corner)
    return total


def test_dominates():
    assert dominates([1, 2], [2, 2]) and dominates([1, 1], [2, 2])
    assert not dominates([1, 2], [1, 2])          # equal: neither dominates
    assert not dominates([1, 3], [2, 2]) and not dominates([2, 2], [1, 3])


def test_non_dominated_sort_by_hand():
    v = np.array([[1, 5], [2, 2], [3, 1], [2, 3], [4, 4], [INF, 0], [math.nan, 1]])
    fronts = [sorted(f.tolist()) for f in non_dominated_sort(v)]
    assert fronts == [[0, 1, 2], [3], [4], [5, 6]]   # failed rows last, whatever their other values


def test_pareto_front_keeps_ties_and_drops_failed():
    v = np.array([[1, 1], [1, 1], [2, 0], [3, 3], [0, INF]])
    assert pareto_front(v).tolist() == [0, 1, 2]


def test_crowding_distance_by_hand():
    v = np.array([[1, 5], [2, 2], [3, 1]])
    d = crowding_distance(v)
    # middle point: (3 - 1) / 2 along f1 plus (5 - 1) / 4 along f2
    assert d[1] == pytest.approx(2.0) and math.isinf(d[0]) and math.isinf(d[2])


def test_hypervolume_2d_by_hand():
    front = [[1, 3], [2, 2], [3, 1]]
    # staircase under (4, 4): 3*1 + 2*1 + 1*1
    assert hypervolume(front, [4, 4]) == pytest.approx(6.0)
    # dominated, outside the reference, on its boundary or failed: adds nothing
    more = front + [[3, 3], [5, 0], [4, 0], [INF, 0], [math.nan, 0.5]]
    assert hypervolume(more, [4, 4]) == pytest.approx(6.0)
    assert hypervolume([[0, 0]], [2, 3]) == pytest.approx(6.0)
    assert hypervolume(np.empty((0, 2)), [1, 1]) == 0.0


def test_hypervolume_3d_and_4d_by_hand():
    # boxes 0.5 and 0.25 overlapping in [0.5,1]^3 = 0.125
    assert hypervolume([[0, 0, 0.5], [0.5, 0.5, 0]], [1, 1, 1]) == pytest.approx(0.625)
    assert hypervolume([[0.5] * 4], [1] * 4) == pytest.approx(0.0625)
    # two 4-d boxes: 1*1*1*0.5 + 0.5*0.5*0.5*1 - 0.5*0.5*0.5*0.5
    assert hypervolume([[0, 0, 0, 0.5], [0.5, 0.5, 0.5, 0]], [1] * 4) == pytest.approx(0.5 + 0.125 - 0.0625)


@pytest.mark.parametrize("m", [3, 4, 5])
def test_hypervolume_matches_inclusion_exclusion(m):
    rng = np.random.default_rng(m)
    for _ in range(15):
        n = int(rng.integers(1, 9))
        pts = rng.random((n, m))
        pts[rng.random(n) < 0.2] = rng.integers(0, 3, size=m) / 2    # ties and repeated coordinates
        ref = np.full(m, 1.1)
        assert hypervolume(pts, ref) == pytest.approx(inclusion_exclusion(pts, ref), rel=1e-9, abs=1e-12)


def test_hypervolume_monte_carlo_agrees_on_a_larger_front():
    rng = np.random.default_rng(7)
    # points on the unit sphere's positive octant: a real 3-d trade-off front of 60 points
    p = np.abs(rng.normal(size=(60, 3)))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    ref = np.ones(3) * 1.2
    exact = hypervolume(p, ref)
    samples = rng.random((400_000, 3)) * 1.2
    dominated = np.zeros(len(samples), dtype=bool)
    for q in p:
        dominated |= (samples >= q).all(axis=1)
    mc = dominated.mean() * 1.2 ** 3
    se = math.sqrt(dominated.mean() * (1 - dominated.mean()) / len(samples)) * 1.2 ** 3
    assert abs(exact - mc) < 4 * se


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=7))
def test_hypervolume_2d_property(points):
    pts = np.array(points, dtype=float)
    ref = np.array([7.0, 7.0])
    assert hypervolume(pts, ref) == pytest.approx(inclusion_exclusion(pts, ref))
    # the front alone has the same volume
    assert hypervolume(pts[pareto_front(pts)], ref) == pytest.approx(hypervolume(pts, ref))


def test_hypervolume_improvement_is_the_difference():
    rng = np.random.default_rng(3)
    front = rng.random((6, 3))
    front = front[pareto_front(front)]
    ref = np.ones(3) * 1.05
    cands = np.vstack([rng.random((5, 3)), front[:1], [[2, 0, 0]]])
    hvi = hypervolume_improvement(front, cands, ref)
    base = hypervolume(front, ref)
    for c, gain in zip(cands, hvi):
        assert gain == pytest.approx(hypervolume(np.vstack([front, c]), ref) - base, abs=1e-12)
    assert hvi[-2] == 0.0 and hvi[-1] == 0.0          # a point of the front; a point outside ref


@pytest.mark.parametrize("seed", range(5))
def test_hypervolume_improvement_of_two_objectives_is_the_difference(seed):
    # two objectives take a vectorised path: the same answer, points of the front, dominated, outside and NaN
    rng = np.random.default_rng(seed)
    front = rng.random((int(rng.integers(0, 9)), 2))
    ref = np.array([1.0, 1.1])
    cands = np.vstack([rng.random((40, 2)) * 1.2 - 0.1, front[:2], [[0.5, math.nan], [1.0, 0.2], [-5, -5]]])
    hvi = hypervolume_improvement(front, cands, ref)
    base = hypervolume(front, ref) if len(front) else 0.0
    for c, gain in zip(cands, hvi):
        want = hypervolume(np.vstack([front, c]), ref) - base if np.isfinite(c).all() else 0.0
        assert gain == pytest.approx(max(want, 0.0), abs=1e-12)


def test_reference_point():
    ref = reference_point(np.array([[1, 10], [3, 10], [INF, 0]]), margin=0.5)
    assert ref.tolist() == [4.0, 15.0]                # 3 + 0.5 * 2; 10 + 0.5 * |10| where f2 does not vary
    with pytest.raises(ValueError):
        reference_point(np.array([[INF, 1.0]]))


def test_hypervolume_rejects_mismatched_reference():
    with pytest.raises(ValueError, match="objectives"):
        hypervolume([[1, 2]], [3, 3, 3])
