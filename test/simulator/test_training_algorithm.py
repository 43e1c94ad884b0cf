"""Training algorithms in the memory model (simulator/memory.py): backprop, feedback alignment,
direct feedback alignment and memory-efficient DFA, on a hand-worked chain and on zoo networks."""
from __future__ import annotations

import pytest

import simulator as sim
from test_memory import A, B, C, X, hand_chain
from test_schedule_helpers import EXACT, device_graph

STATIC = 8 * (10 + 20 + 30)          # SGD, fp32: weights and gradients
N_OUT = 500                          # the chain's output width (c)
DFA_FEEDBACK = 4 * N_OUT * (2000 + 3000 + 500)  # B_l: n_out x n_l floats for a, b, c


def run(algorithm, placement=0, net=None, devices=None, **kw):
    return sim.simulate(net or hand_chain(), devices or device_graph(2), placement,
                        training_algorithm=algorithm, **EXACT, **kw)


def test_backprop_is_the_default_and_unchanged():
    plain = sim.simulate(hand_chain(), device_graph(2), 0, **EXACT)
    bp = run("backprop")
    assert bp.raw_step_time == plain.raw_step_time
    assert bp.peak_memory.tolist() == plain.peak_memory.tolist() == [STATIC + X + A + B + C + B, 0]


def test_feedback_alignment_adds_one_matrix_per_weight_matrix():
    bp, fa = run("backprop"), run("feedback_alignment")
    assert fa.raw_step_time == bp.raw_step_time       # B_l e costs what W_l^T e costs
    assert fa.peak_memory[0] == bp.peak_memory[0] + 4 * (10 + 20 + 30)


def test_dfa_by_hand():
    dfa = run("direct_feedback_alignment")
    # the forward is backprop's (everything kept: X+A+B alive at c's forward, plus C); a backward
    # holds only its own projected error, never its parents' gradients
    assert dfa.peak_memory[0] == STATIC + DFA_FEEDBACK + X + A + B + C


def test_memory_efficient_dfa_by_hand():
    me = run("memory_efficient_dfa")
    # first forward keeps nothing: at most A + B alive; the second pass at b holds its input a
    # (recomputed), its output and its projected error: A + 2B
    assert me.peak_memory[0] == STATIC + DFA_FEEDBACK + A + 2 * B
    bp = run("backprop")
    fwd = sum(sim.prepare(hand_chain(), device_graph(2), **EXACT).costs.fwd[:, 0])
    # one more forward, on one device the step is exactly that much longer
    assert me.raw_step_time == pytest.approx(bp.raw_step_time + fwd, rel=1e-12)


def test_dfa_has_no_backward_chain_across_a_pipeline():
    # a four-stage pipeline with one micro-batch: backprop's backward visits the stages one after the
    # other, DFA's stages all update as soon as the loss is known
    net = sim.zoo.load("resnet18", batch_size=32).regroup(4)
    bp = sim.simulate(net, "cpu+4xV100-pcie3", [1, 2, 3, 4], training_algorithm="backprop", trace=True)
    dfa = sim.simulate(net, "cpu+4xV100-pcie3", [1, 2, 3, 4], training_algorithm="direct_feedback_alignment",
                       trace=True)
    assert dfa.raw_step_time < bp.raw_step_time
    assert dfa.busy_time.sum() == pytest.approx(bp.busy_time.sum(), rel=1e-12)  # same work
    assert dfa.comm_bytes < bp.comm_bytes  # no gradients sent back between stages
    assert not any(e.kind == "gradient" for e in dfa.trace.events)
    first_bwd = {e.resource: e.start for e in reversed(dfa.trace.events) if e.kind == "backward"}
    fwd_end = max(e.end for e in dfa.trace.events if e.kind == "forward")
    # the last stage's backward starts at the end of the forward (the loss); the others as soon as the
    # output error has come (a few hundred bytes: microseconds), not after the next stage's backward
    assert first_bwd.pop("gpu3") == fwd_end
    assert all(fwd_end < t < fwd_end + 1e-4 for t in first_bwd.values())


@pytest.mark.parametrize("algorithm", ["direct_feedback_alignment", "memory_efficient_dfa"])
@pytest.mark.parametrize("m", [1, 2])
def test_dfa_sends_the_output_error_to_every_other_stage_before_its_backward(algorithm, m):
    # every layer's backward needs the output error e (batch x n_out), which the loss gives on the last
    # stage's device: a stage elsewhere starts its backward only once e has come over the link, and e
    # is sent once per micro-batch to each such device. Before, gpu0's backward started the instant
    # the forward ended and the traffic was the activations' alone
    lat, bw = 1e-3, 1e9
    r = run(algorithm, {"x": 0, "a": 0, "b": 0, "c": 1}, devices=device_graph(2, bandwidth=bw, latency=lat),
            micro_batches=m, trace=True)
    e_bytes = 4 * N_OUT * 2 // m                     # c's output, fp32, per micro-batch of 2 // m samples
    acts = sum(e.bytes for e in r.trace.events if e.kind == "activation")
    assert r.comm_bytes == acts + m * e_bytes
    for mb in range(m):
        loss = max(e.end for e in r.trace.events if e.kind == "forward" and e.micro_batch == mb)
        first = min(e.start for e in r.trace.events
                    if e.kind == "backward" and e.resource == "gpu0" and e.micro_batch == mb)
        assert first >= loss + lat + e_bytes / bw - 1e-12


def test_deep_cnn_memory_and_time_ordering():
    net = sim.zoo.load("vgg16", batch_size=32, num_classes=10)
    r = {a: sim.simulate(net, "cpu+4xV100-pcie3", 1, training_algorithm=a, memory="ignore")
         for a in ("backprop", "feedback_alignment", "direct_feedback_alignment", "memory_efficient_dfa")}
    bp, fa, dfa, me = (r[a] for a in r)
    assert fa.peak_memory[1] > bp.peak_memory[1]
    assert me.peak_memory[1] < bp.peak_memory[1]
    assert me.peak_memory[1] < dfa.peak_memory[1]
    s = sim.prepare(net, "cpu+4xV100-pcie3", memory="ignore")
    assert me.raw_step_time == pytest.approx(bp.raw_step_time + s.costs.fwd[:, 1].sum(), rel=1e-9)
    assert fa.raw_step_time == bp.raw_step_time == dfa.raw_step_time  # one device: the same work in series


def test_unknown_algorithm_is_a_clear_error():
    with pytest.raises(sim.SimulatorError, match="training_algorithm must be one of backprop"):
        run("dfa")
