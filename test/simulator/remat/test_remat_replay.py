"""Replay semantics on hand-made traces with answers worked out by hand, and the
chain of Chen et al. (a budget of 2 sqrt(n) needs about n extra computations)."""
from __future__ import annotations

import math

import pytest

from simulator.graph import SimulatorError
from simulator.remat import HEURISTICS, RematResult, TraceBuilder, baseline, replay
from traces import chain


def three_then_join(mutate: bool = False):
    """x (1, pinned); a = f1(x) [10]; (relu_(a) costing 2); b = f2(a) [10]; c = f3(b) [10];
    release b; h(a, c) -> [1]. Every op costs 1 unless said."""
    bld = TraceBuilder()
    x = bld.constant("x", 1)
    (a,) = bld.call("f1", [x], [(10, None)], 1.0)
    if mutate:
        bld.mutate("relu_", [a], [a], 2.0)
    (b,) = bld.call("f2", [a], [(10, None)], 1.0)
    (c,) = bld.call("f3", [b], [(10, None)], 1.0)
    bld.release(b)
    (h,) = bld.call("h", [a, c], [(1, None)], 1.0)
    for r in (a, c, h, x):
        bld.release(r)
    return bld.build()


def test_baseline_of_a_small_trace():
    assert baseline(three_then_join()) == (31, 4.0)  # x + a + b + c at f3


@pytest.mark.parametrize("heuristic", HEURISTICS)
def test_one_eviction_and_one_remat_known_answer(heuristic):
    # budget 22: at f3 only `a` can go (b is f3's argument); h then remakes a (1 s)
    r = replay(three_then_join(), 22, heuristic)
    assert (r.evictions, r.remats, r.oom, r.thrash) == (1, 1, False, False)
    assert r.compute_s == 5.0 and r.overhead == pytest.approx(5 / 4)
    assert r.peak_bytes == 22 and r.baseline_peak_bytes == 31


@pytest.mark.parametrize("heuristic, extra", [
    ("dtr", 1.0), ("dtr_eq", 1.0), ("msps", 1.0), ("dtr_local", 101.0), ("lru", 101.0)])
def test_the_evicted_neighbourhood_steers_the_choice(heuristic, extra):
    # a's parent p (100 s to remake) was released and freed: evicting a would cost 1 + 100
    # to undo, evicting b only 1; heuristics that see the neighbourhood take b
    bld = TraceBuilder()
    x = bld.constant("x", 1)
    (p,) = bld.call("slow", [x], [(10, None)], 100.0)
    (a,) = bld.call("fa", [p], [(10, None)], 1.0)
    bld.release(p)
    (b,) = bld.call("fb", [x], [(10, None)], 1.0)
    bld.call("tick", [x], [(0, None)], 10.0)  # 10 s pass: a is stale by 11 s, b by 10 s
    (c,) = bld.call("g", [x], [(11, None)], 1.0)  # 1 + 10 + 10 + 11 > 31: a or b must go
    bld.release(c)
    bld.call("h", [a, b], [(1, None)], 1.0)
    t = bld.build()
    r = replay(t, 31, heuristic)
    assert r.baseline_compute_s == 114.0 and not r.oom
    assert r.compute_s == 114.0 + extra
    # remaking a brings p back (10 bytes); h's output then needs p gone again
    assert r.evictions == (1 if extra == 1.0 else 2)


def test_remaking_a_mutated_storage_runs_its_in_place_ops_again():
    t = three_then_join(mutate=True)
    assert baseline(t) == (31, 6.0)  # in place: no memory
    r = replay(t, 22, "dtr_eq")
    assert r.remats == 2 and r.compute_s == 9.0  # f1 (1) + relu_ (2) again


def test_budget_below_what_one_op_needs_is_out_of_memory():
    r = replay(three_then_join(), 21, "dtr_eq")  # h needs x + a + c + its output = 22
    assert r.oom and not r.thrash and math.isinf(r.overhead)
    assert replay(three_then_join(), 0.5, "lru").oom  # not even the pinned constant fits


def test_constants_are_never_evicted():
    b = TraceBuilder()
    b.constant("w", 100)
    x = b.constant("x", 10)
    (y,) = b.call("f", [x], [(10, None)], 1.0)
    (z,) = b.call("g", [y], [(10, None)], 1.0)
    (q,) = b.call("k", [z], [(10, None)], 1.0)
    t = b.build()
    # at k: w + x pinned (110), z is k's argument: "largest" must take y, never w
    r = replay(t, 130, "largest")
    assert (r.evictions, r.oom, r.peak_bytes) == (1, False, 130)
    assert replay(t, 129, "largest").oom  # w + x + z + q = 130 cannot shrink


@pytest.mark.parametrize("heuristic", HEURISTICS)
def test_unbounded_budget_means_no_overhead(heuristic):
    for t in (three_then_join(), three_then_join(True), chain(50)):
        peak, compute = baseline(t)
        for budget in (peak, 10 * peak, math.inf):
            r = replay(t, budget, heuristic)
            assert (r.overhead, r.evictions, r.remats, r.oom) == (1.0, 0, 0, False)
            assert r.peak_bytes == peak and r.compute_s == compute


def test_views_share_their_base_storage():
    b = TraceBuilder()
    x = b.constant("x", 1)
    (a,) = b.call("f", [x], [(10, None)], 1.0)
    (v,) = b.call("view", [a], [(10, a)], 0.0)
    b.release(a)                      # the view keeps the storage alive
    (y,) = b.call("g", [v], [(10, None)], 1.0)
    t = b.build()
    assert baseline(t) == (21, 2.0)
    assert t.n_storages == 3


@pytest.mark.parametrize("n", [100, 256, 400])
def test_chen_chain_dtr_needs_about_n_extra_computations(n):
    t = chain(n)
    budget = 2 * math.sqrt(n) + 1  # 2 sqrt(n) activations + the pinned input
    for h in ("dtr", "dtr_eq"):
        r = replay(t, budget, h, thrash_limit=100.0)
        assert not r.oom and not r.thrash
        assert 0.5 * n <= r.remats <= 3 * n, (h, r.remats)
        assert r.peak_bytes <= budget
    dtr = replay(t, budget, "dtr", thrash_limit=100.0).remats
    lru = replay(t, budget, "lru", thrash_limit=100.0).remats
    assert lru > 2 * dtr  # recency alone evicts what the backward needs next


def test_thrashing_stops_the_run():
    t = chain(100)
    r = replay(t, 2 * math.sqrt(100) + 1, "lru", thrash_limit=1.2)
    assert r.thrash and not r.oom and math.isinf(r.overhead)
    assert r.compute_s > 1.2 * r.baseline_compute_s
    assert r.compute_s < 1.2 * r.baseline_compute_s + 1.0 + 1e-9  # stopped at the first op beyond


def test_random_is_seeded():
    t = chain(100)
    runs = {replay(t, 15, "random", seed=s, thrash_limit=100).remats for s in range(6)}
    assert len(runs) > 1  # the seed matters ...
    assert replay(t, 15, "random", seed=3, thrash_limit=100) .remats == \
        replay(t, 15, "random", seed=3, thrash_limit=100).remats  # ... and repeats


def test_without_eager_freeing_released_storages_wait_for_eviction():
    t = three_then_join()
    assert replay(t, math.inf, "dtr_eq", eager_free=False).peak_bytes == 32  # b was never freed
    r = replay(t, 22, "dtr_eq", eager_free=False)
    assert r.evictions > 1 and not r.oom


def test_banishing_finishes_the_chain_and_never_exceeds_the_budget():
    t = chain(100)
    for h in ("dtr_eq", "dtr"):
        r = replay(t, 25, h, banish=True, thrash_limit=100)
        assert not r.oom and r.peak_bytes <= 25 and r.overhead >= 1.0
        assert replay(t, math.inf, h, banish=True).overhead == 1.0


def test_banishing_pins_what_could_no_longer_be_remade():
    b = TraceBuilder()
    x = b.constant("x", 1)
    (a,) = b.call("f", [x], [(10, None)], 1.0)
    (bb,) = b.call("g", [a], [(10, None)], 1.0)
    b.release(a)  # freed; with banishing forgotten, so bb (made from a) can never be evicted
    (c,) = b.call("h", [bb], [(10, None)], 1.0)
    (d,) = b.call("k", [c], [(10, None)], 1.0)
    t = b.build()
    assert baseline(t)[0] == 31
    kept = replay(t, 21, "dtr_eq")
    assert not kept.oom and kept.evictions == 1  # bb goes for d (remakable from the freed a)
    banished = replay(t, 21, "dtr_eq", banish=True)
    assert banished.oom and banished.evictions == 0  # bb is pinned, c is k's argument


def test_result_is_frozen_and_serialisable():
    r = replay(three_then_join(), 21, "dtr")
    assert isinstance(r, RematResult)
    with pytest.raises(AttributeError):
        r.overhead = 1.0
    d = r.to_dict()
    assert d["overhead"] is None and d["oom"] is True
    for key in ("baseline_peak_bytes", "baseline_compute_s", "compute_s", "overhead", "peak_bytes",
                "evictions", "remats", "oom", "thrash", "seconds"):
        assert key in d


@pytest.mark.parametrize("kw, text", [
    (dict(heuristic="dtr-eq"), "did you mean 'dtr_eq'"),
    (dict(budget_bytes=-1), "budget"),
    (dict(budget_bytes="lots"), "budget"),
    (dict(thrash_limit=0), "thrash_limit"),
    (dict(thrash_limit=0.5), "thrash_limit must be a number >= 1"),   # every budget would thrash
    (dict(thrash_limit=True), "thrash_limit"),
    (dict(seed=-1), "seed"),
])
def test_bad_arguments_are_one_line_errors(kw, text):
    args = dict(budget_bytes=10, heuristic="dtr_eq") | kw
    with pytest.raises(SimulatorError, match=text) as err:
        replay(three_then_join(), args.pop("budget_bytes"), args.pop("heuristic"), **args)
    assert "\n" not in str(err.value)


def test_profile_records_each_instruction_without_changing_the_replay():
    import dataclasses

    import numpy as np
    trace = three_then_join()
    rec = np.zeros((trace.n_instructions, 3))
    r = replay(trace, 22, "dtr_eq", profile=rec)
    plain = replay(trace, 22, "dtr_eq")
    assert dataclasses.replace(plain, seconds=r.seconds) == r
    assert rec[:, 0].max() == r.peak_bytes == 22   # h remakes a: x + a + c + h
    assert rec[-1, 1] == 0 and rec[-1, 2] == r.remats == 1
    assert (rec[:, 1] <= rec[:, 0]).all()
    with pytest.raises(SimulatorError, match="profile must be"):
        replay(trace, 22, profile=np.zeros((1, 3)))
