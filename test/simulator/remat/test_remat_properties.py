"""Properties of the replay on random traces (hypothesis): what every run must satisfy
whatever the heuristic and budget."""
from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings, strategies as st

from simulator.remat import HEURISTICS, TraceBuilder, baseline, replay


@st.composite
def traces(draw):
    """A random program: constants, ops on live references (fresh outputs and views),
    in-place ops and releases; every op costs 1 s, so compute = baseline + remats."""
    b = TraceBuilder(name="random")
    live = [b.constant(f"c{k}", draw(st.integers(0, 4))) for k in range(draw(st.integers(1, 3)))]
    for k in range(draw(st.integers(1, 40))):
        step = draw(st.sampled_from(["call", "call", "call", "mutate", "release"]))
        if step == "release" and len(live) > 1:
            b.release(live.pop(draw(st.integers(0, len(live) - 1))))
            continue
        args = draw(st.lists(st.sampled_from(live), min_size=1, max_size=3, unique=True))
        if step == "mutate":
            b.mutate(f"m{k}", args, [args[0]], 1.0)
            continue
        outs = [(draw(st.integers(0, 9)), draw(st.sampled_from([None, None, None] + args)))
                for _ in range(draw(st.integers(1, 2)))]
        live += b.call(f"f{k}", args, outs, 1.0)
    return b.build()


@settings(max_examples=70, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces(), st.sampled_from(HEURISTICS), st.floats(0.0, 1.2), st.booleans(), st.integers(0, 3))
def test_every_replay_keeps_the_rules(trace, heuristic, ratio, banish, seed):
    peak, compute = baseline(trace)
    assert compute == trace.op_calls()  # one second per op
    budget = ratio * peak
    r = replay(trace, budget, heuristic, seed=seed, banish=banish, thrash_limit=1e9)
    again = replay(trace, budget, heuristic, seed=seed, banish=banish, thrash_limit=1e9)
    assert (r.compute_s, r.evictions, r.remats, r.peak_bytes, r.oom) == \
        (again.compute_s, again.evictions, again.remats, again.peak_bytes, again.oom)
    assert r.peak_bytes <= budget  # never more resident than the budget, even when out of memory
    assert not r.thrash
    if not r.oom:
        # every extra second is one op run again to remake an evicted storage
        assert r.compute_s == compute + r.remats
        assert r.overhead == r.compute_s / compute if compute else r.overhead == 1.0
    if budget >= peak:
        assert not r.oom and r.evictions == 0 and r.remats == 0 and r.peak_bytes == peak


@settings(max_examples=25, deadline=None)
@given(traces())
def test_without_eager_freeing_nothing_is_cheaper(trace):
    peak, compute = baseline(trace)
    lazy = replay(trace, math.inf, "dtr_eq", eager_free=False)
    assert lazy.peak_bytes >= peak and lazy.overhead == 1.0
