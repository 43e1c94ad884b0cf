"""Memory accounting over the schedule, against a hand-worked chain."""
from __future__ import annotations

import numpy as np
import pytest

import simulator as sim
from simulator.memory import apply_memory_policy, bytes_per_param
from simulator.ops import Input
from test_schedule_helpers import EXACT, Work, device_graph, net

# x (1000 floats) -> a (2000, 10 weights) -> b (3000, 20 weights) -> c (500, 30 weights);
# each layer keeps its input for its backward. Batch 2, fp32: outputs of 8000, 16000,
# 24000 and 4000 bytes.
X, A, B, C = 8000, 16000, 24000, 4000


def hand_chain():
    spec = [("x", Input((1000,)), ()),
            ("a", Work(width=2000, params=10, keep_input=True), ("x",)),
            ("b", Work(width=3000, params=20, keep_input=True), ("a",)),
            ("c", Work(width=500, params=30, keep_input=True), ("b",))]
    return net(spec, batch=2)


def test_chain_on_one_device():
    r = sim.simulate(hand_chain(), device_graph(2), 0, **EXACT)
    static = 8 * (10 + 20 + 30)  # SGD in fp32: weights + gradients
    # forward: every output is alive at c's forward (c's own output has no use and goes at
    # its end); backward of c: c's output gradient (from the loss) and b's output gradient
    # are allocated while b's output (kept by c) is still alive.
    assert r.peak_memory[0] == static + X + A + B + C + B
    assert r.peak_memory[1] == 0


def test_chain_across_two_devices_frees_sent_and_received_copies():
    r = sim.simulate(hand_chain(), device_graph(2), {"x": 0, "a": 0, "b": 0, "c": 1}, **EXACT)
    # gpu0: b's output leaves after the send; in the backward b's output gradient arrives
    # (allocated when its transfer starts) and a's gradient is made while a's output is kept
    assert r.peak_memory[0] == 8 * 30 + X + A + B + A
    # gpu1: the received copy of b's output (kept by c), c's output gradient and the partial
    # gradient of b's output it sends back
    assert r.peak_memory[1] == 8 * 30 + B + C + B
    assert r.comm_bytes == 2 * B  # the activation there, its gradient back


def test_outputs_nobody_keeps_die_after_their_consumers_forward():
    spec = [("x", Input((1000,)), ()),
            ("a", Work(width=2000, params=10), ("x",)),
            ("b", Work(width=3000, params=20), ("a",))]
    r = sim.simulate(net(spec, batch=2), device_graph(1), 0, **EXACT)
    # x's output is freed when a's forward ends, so it never meets b's output; the peak is
    # a's and b's outputs at b's forward, or both output gradients at b's backward
    assert r.peak_memory[0] == 8 * 30 + A + B


@pytest.mark.parametrize("precision, optimizer, per_param", [
    ("fp32", "sgd", 8), ("fp32", "momentum", 12), ("fp32", "adam", 16),
    ("fp16", "adam", 16), ("bf16", "sgd", 8)])
def test_static_bytes_per_parameter(precision, optimizer, per_param):
    assert bytes_per_param(precision, optimizer) == per_param
    spec = [("x", Input((1,)), ()), ("w", Work(fwd=0, dgrad=0, wgrad=0, params=1000), ("x",))]
    r = sim.simulate(net(spec), device_graph(1), 0, precision=precision, optimizer=optimizer, **EXACT)
    s = 4 if precision == "fp32" else 2
    assert r.peak_memory[0] == per_param * 1000 + 2 * s  # + the output and its gradient


def test_a_placement_that_does_not_fit_is_infeasible():
    g = device_graph(2, memory=70_000)
    r = sim.simulate(hand_chain(), g, 0, **EXACT)  # peak 76,480 bytes on gpu0
    assert not r.feasible and r.step_time == np.inf and r.throughput == 0
    assert np.isfinite(r.raw_step_time)
    p = sim.simulate(hand_chain(), g, 0, memory="penalty", **EXACT)
    overflow = (8 * 60 + X + A + B + C + B - 70_000) / 70_000
    assert not p.feasible
    assert p.step_time == pytest.approx(p.raw_step_time * (1 + 10 * overflow), rel=1e-12)
    ok = sim.simulate(hand_chain(), g, {"x": 0, "a": 0, "b": 0, "c": 1}, **EXACT)  # 64,240 / 52,240
    assert ok.feasible and ok.step_time == ok.raw_step_time


def test_memory_policy_on_arrays():
    step = np.array([1.0, 2.0])
    peak = np.array([[5.0, 1.0], [12.0, 1.0]])
    cap = np.array([10.0, 10.0])
    s, f = apply_memory_policy(step, peak, cap, "penalty", 10.0)
    assert f.tolist() == [True, False] and s.tolist() == [1.0, 2.0 * (1 + 10 * 0.2)]
    s, f = apply_memory_policy(step, peak, cap, "ignore", 10.0)
    assert s.tolist() == [1.0, 2.0] and f.tolist() == [True, False]


@pytest.mark.parametrize("where", [{"*": 0}, {"c": 1, "*": 0}, {"v": 1, "c": 1, "*": 0}])
def test_a_view_hands_its_gradient_to_its_input(where):
    # in PyTorch a reshape's gradient is a view of its output's gradient: the backward of x -> a -> reshape ->
    # c (which, as a mean, keeps none of its input) holds what that of x -> a -> c holds (it allocated a second copy of a's gradient, doubling the peak
    # of a ConvNeXt-style `conv(x).mean((2, 3))`), wherever the view and its consumer are
    from simulator.ops import Reshape
    with_view = net([("x", Input((1000,)), ()),
                     ("a", Work(width=2000, params=10, keep_input=True), ("x",)),
                     ("v", Reshape((40, 50)), ("a",)),
                     ("c", Work(width=500, params=30), ("v",))], batch=2)
    without = net([("x", Input((1000,)), ()),
                   ("a", Work(width=2000, params=10, keep_input=True), ("x",)),
                   ("c", Work(width=500, params=30), ("a",))], batch=2)
    plain = {k: v for k, v in where.items() if k != "v"}
    r = sim.simulate(with_view, device_graph(2), where, trace=True, **EXACT)
    assert r.peak_memory.tolist() == sim.simulate(without, device_graph(2), plain, **EXACT).peak_memory.tolist()
    assert r.memory.peak().tolist() == r.peak_memory.tolist()   # the timeline replays the same rule
    for dev in r.memory.devices:   # and nothing leaks: each device ends at its static bytes
        assert not len(dev.bytes) or dev.bytes[-1] == (dev.delta[0] if dev.op[0] == "static" else 0)
