"""TraceBuilder: what it records and what it refuses."""
from __future__ import annotations

import pytest

from simulator.graph import SimulatorError
from simulator.remat import TraceBuilder


def test_builder_records_storages_chains_and_program():
    b = TraceBuilder(name="t")
    x = b.constant("x", 8)
    a, s = b.call("bn", [x], [(16, None), (4, None)], 0.5)
    (v,) = b.call("view", [a], [(16, a)], 0.0)
    b.mutate("relu_", [v], [v], 0.25)
    c = b.copy(v)
    b.release(a)
    t = b.build()
    assert t.n_storages == 3 and t.n_ops == 3
    assert t.size.tolist() == [8, 16, 4] and t.constant.tolist() == [True, False, False]
    assert t.chain_of(1).tolist() == [0, 2]  # produced by bn, then relu_ in place (through the view)
    assert t.chain_of(2).tolist() == [0]
    assert t.outputs_of(1).size == 0  # a view allocates nothing
    assert t.mutated_by(2).tolist() == [1]
    kinds = [k for k, _ in t.instructions()]
    assert kinds == ["CONST", "OP", "ACQUIRE", "ACQUIRE", "OP", "ACQUIRE", "OP", "ACQUIRE", "RELEASE"]
    with pytest.raises(ValueError):
        t.size[0] = 1  # the trace is read-only
    assert c != v


@pytest.mark.parametrize("step, text", [
    (lambda b, x: b.call("f", [x + 7], [(1, None)], 1.0), "not a reference"),
    (lambda b, x: b.call("f", [x], [(1, None)], -1.0), "compute time"),
    (lambda b, x: b.call("f", [x], [(1, None)], float("nan")), "compute time"),
    (lambda b, x: b.call("f", [x], [(-5, None)], 1.0), "size must be"),
    (lambda b, x: b.call("f", [x], [(1, 99)], 1.0), "not one of its arguments"),
    (lambda b, x: b.call("f", [x], [1], 1.0), "must be a pair"),
    (lambda b, x: b.mutate("g_", [x], [99], 1.0), "not one of its arguments"),
    (lambda b, x: b.constant("w", 2.5), "size must be"),
    (lambda b, x: (b.release(x), b.release(x)), "already released"),
    (lambda b, x: (b.release(x), b.call("f", [x], [(1, None)], 1.0)), "already released"),
])
def test_builder_refuses_bad_steps(step, text):
    b = TraceBuilder(source="mine.py")
    x = b.constant("x", 8)
    with pytest.raises(SimulatorError, match=text) as err:
        step(b, x)
    assert str(err.value).startswith("mine.py: ") and "\n" not in str(err.value)
