"""Neighbourhoods, mutation and crossover on codes of mixed spaces."""
import numpy as np
import pytest

from framework.search.operators import (change_gene, crossover, mutate, neighbourhood, neighbourhood_size,
                                        random_neighbour, varying_knobs)
from framework.space import DesignSpace, GeomLevels
from framework.space import Knob
from search_helpers import categorical_knob, integer_knob, real_knob


def space():
    return DesignSpace([integer_knob("n", 6), categorical_knob("c", "abcd"), integer_knob("fixed", 1),
                        real_knob("r", -1.0, 3.0), real_knob("lr", 1e-4, 1e-1, log=True),
                        Knob("batch", "ordinal", GeomLevels(8, 2, 5, True))])


def in_domain(sp, codes):
    for j, k in enumerate(sp.knobs):
        col = codes[:, j]
        if k.finite:
            assert np.all((col >= 0) & (col < k.size) & (col == np.floor(col))), k.name
        else:
            assert np.all((col >= k.low) & (col <= k.high)), k.name


def test_varying_knobs_skip_single_level_knobs():
    assert varying_knobs(space()).tolist() == [0, 1, 3, 4, 5]


def test_mutation_stays_in_the_domain_changes_something_and_never_a_fixed_knob():
    sp = space()
    rng = np.random.default_rng(0)
    parents = sp.random(rng, 500)
    kids = mutate(sp, parents, rng, rate=0.3)
    in_domain(sp, kids)
    assert np.all((kids != parents).any(axis=1))
    assert np.all(kids[:, 2] == 0)


def test_uniform_level_move_reaches_every_other_level_and_never_the_same():
    k = categorical_knob("c", "abcde")
    rng = np.random.default_rng(1)
    new = change_gene(k, np.full(2000, 2.0), rng, "uniform")
    assert set(new.tolist()) == {0.0, 1.0, 3.0, 4.0}
    assert np.all(np.abs(np.bincount(new.astype(int), minlength=5)[[0, 1, 3, 4]] - 500) < 100)


def test_adjacent_moves_one_level_for_ordered_knobs_only():
    rng = np.random.default_rng(2)
    ordered = integer_knob("n", 6)
    cur = rng.integers(0, 6, 1000).astype(float)
    new = change_gene(ordered, cur, rng, "adjacent")
    assert np.all(np.abs(new - cur) == 1) and new.min() >= 0 and new.max() <= 5
    cat = categorical_knob("c", "abcdef")      # categorical: no order, so any other level
    new = change_gene(cat, np.zeros(1000), rng, "adjacent")
    assert set(new.tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}


def test_mixed_moves_creep_or_jump():
    rng = np.random.default_rng(6)
    cur = np.full(4000, 4.0)
    new = change_gene(integer_knob("n", 10), cur, rng, "mixed")
    creeps = np.abs(new - cur) == 1
    assert 0.5 < creeps.mean() < 0.65                 # half creep, plus the jumps that land next door
    assert set(new.tolist()) == set(range(10)) - {4}


def test_continuous_mutation_reflects_into_the_range_and_moves_log_uniformly():
    rng = np.random.default_rng(3)
    r = real_knob("r", -1.0, 3.0)
    new = change_gene(r, np.full(5000, 2.9), rng, "uniform", step=0.5)
    assert new.min() >= -1.0 and new.max() <= 3.0 and np.all(new != 2.9)
    lr = real_knob("lr", 1e-4, 1e-1, log=True)
    new = change_gene(lr, np.full(5000, 1e-2), rng, "uniform", step=0.05)
    moved = np.log10(new) - np.log10(1e-2)           # a unit-cube step is 3 decades * N(0, 0.05)
    assert abs(np.std(moved) - 0.15) < 0.01


def test_neighbourhood_is_every_one_knob_change():
    sp = space()
    code = np.array([2.0, 1.0, 0.0, 1.0, 1e-3, 0.0])
    nb = neighbourhood(sp, code, "all", step=0.1)
    assert len(nb) == 5 + 3 + 2 + 2 + 4 == neighbourhood_size(sp, "all")
    assert np.all((nb != code).sum(axis=1) == 1)
    in_domain(sp, nb)
    # adjacent: the integer and the ordinal batch knob move one level; categorical keeps every level
    adj = neighbourhood(sp, code, "adjacent", step=0.1)
    assert len(adj) == 2 + 3 + 2 + 2 + 1        # batch is at its first level: only one neighbour
    r_moves = sorted(adj[(adj[:, 3] != 1.0), 3].tolist())
    assert r_moves == pytest.approx([0.6, 1.4])  # +-0.1 of the range (4 wide)


def test_random_neighbour_changes_exactly_the_requested_number_of_knobs():
    sp = space()
    rng = np.random.default_rng(4)
    base = sp.random(rng, 200)
    for moves in (1, 2, 3):
        nb = random_neighbour(sp, base, rng, moves=moves)
        assert np.all((nb != base).sum(axis=1) == moves)


def test_crossover_genes_come_from_the_parents():
    rng = np.random.default_rng(5)
    a = np.zeros((300, 8))
    b = np.ones((300, 8))
    u = crossover(a, b, rng, "uniform")
    assert set(np.unique(u)) == {0.0, 1.0} and 0.4 < u.mean() < 0.6
    one = crossover(a, b, rng, "one_point")
    # a prefix from a, the rest from b, cut strictly inside
    for row in one:
        cut = int(np.argmax(row == 1))
        assert 1 <= cut <= 7 and np.all(row[:cut] == 0) and np.all(row[cut:] == 1)
    with pytest.raises(ValueError, match="unknown crossover"):
        crossover(a, b, rng, "two_point")
