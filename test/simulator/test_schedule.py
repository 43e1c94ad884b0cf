"""The event simulation against closed forms and hand-worked schedules."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import simulator as sim
from simulator.ops import Input
from test_schedule_helpers import EXACT, PEAK, Work, chain, device_graph, net
from test_schedule_reference import megatron_interleaved


def events(result, kind=None, name=None):
    return [e for e in result.trace.events
            if (kind is None or e.kind == kind) and (name is None or e.name == name)]


def test_a_chain_on_one_device_takes_the_sum_of_its_op_times():
    n = chain(5, batch=4, fwd=1e9, dgrad=2e9, wgrad=3e9)
    s = sim.Simulator(n, device_graph(2), **EXACT)
    r = s.run(0)
    total = s.costs.fwd[:, 0].sum() + s.costs.bwd[:, 0].sum() + s.costs.upd[:, 0].sum()
    assert r.step_time == pytest.approx(total, rel=1e-12)
    # by hand: 5 forwards of 4 GFLOP, backwards of 20 GFLOP (the first: weight gradient only, 12)
    by_hand = (5 * 4e9 + 4 * 20e9 + 12e9) / PEAK + 5 * 2 * 1 / PEAK  # + 5 SGD updates of 1 weight
    assert r.step_time == pytest.approx(by_hand, rel=1e-12)
    assert r.busy_time[0] == pytest.approx(r.step_time, rel=1e-12) and r.busy_time[1] == 0
    assert r.comm_bytes == 0


def test_two_independent_branches_on_two_devices_overlap():
    spec = [("x", Input((1,)), ()), ("a", Work(fwd=3e9, params=0), ("x",)),
            ("y", Input((1,)), ()), ("b", Work(fwd=5e9, params=0), ("y",))]
    n = net(spec, batch=1)
    g = device_graph(2)
    both = sim.simulate(n, g, {"x": 0, "a": 0, "y": 1, "b": 1}, **EXACT)
    one = sim.simulate(n, g, 0, **EXACT)
    assert one.step_time == pytest.approx(8e-3, rel=1e-12)      # 3 + 5 ms in sequence
    assert both.step_time == pytest.approx(5e-3, rel=1e-12)     # max(3, 5) ms side by side


def equal_stages(p: int, batch: int):
    """input -> s0 -> ... -> s{p-1}, each stage 1 GFLOP forward and 3 GFLOP backward per
    sample (stage 0 has no data gradient to compute, so its weight gradient is 3 GFLOP)."""
    spec = [("x", Input((1,)), ())]
    for i in range(p):
        op = Work(fwd=1e9, dgrad=0, wgrad=3e9) if i == 0 else Work(fwd=1e9, dgrad=2e9, wgrad=1e9)
        spec.append((f"s{i}", op, (spec[-1][0],)))
    groups = {"g0": ["x", "s0"]} | {f"g{i}": [f"s{i}"] for i in range(1, p)}
    return net(spec, batch=batch, groups=groups)


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
@pytest.mark.parametrize("p, m", [(4, 8), (3, 5), (2, 1), (1, 4)])
def test_pipeline_bubble_fraction_is_p_minus_1_over_m_plus_p_minus_1(schedule, p, m):
    # p equal stages, free communication: step = (m + p - 1) * (tf + tb) (+ the final update)
    s = sim.Simulator(equal_stages(p, batch=m), device_graph(p, bandwidth=1e30),
                      micro_batches=m, schedule=schedule, **EXACT)
    assert set(s.costs.bwd[1:, 0]) == {3e9 / PEAK}
    r = s.run(list(range(p)))
    tf, tb = 1e9 / PEAK, 3e9 / PEAK
    step = r.step_time - s.costs.upd[1, 0]  # stage 0 updates last, after its final backward
    assert step == pytest.approx((m + p - 1) * (tf + tb), rel=1e-12)
    bubble = 1 - m * (tf + tb) / step
    assert bubble == pytest.approx((p - 1) / (m + p - 1), rel=1e-9, abs=1e-12)
    assert r.busy_time[:p] == pytest.approx([m * (tf + tb) + s.costs.upd[1, 0]] * p, rel=1e-9)


def test_gpipe_runs_all_forwards_first_and_1f1b_bounds_the_activations_in_flight():
    p, m = 4, 8
    n = chain(p, batch=m, width=1000, keep_input=True, fwd=1e9, dgrad=1e9, wgrad=1e9)
    g = device_graph(p, bandwidth=1e30)
    gp = sim.simulate(n, g, list(range(p)), micro_batches=m, schedule="gpipe", trace=True, **EXACT)
    of = sim.simulate(n, g, list(range(p)), micro_batches=m, schedule="1f1b", trace=True, **EXACT)
    first_bwd = min(e.start for e in events(gp, "backward") if e.resource == "gpu0")
    last_fwd = max(e.end for e in events(gp, "forward") if e.resource == "gpu0")
    assert first_bwd >= last_fwd
    # stage 0 keeps l0's input (x's output) for every micro-batch it has started and not
    # finished (l0's own output leaves for gpu1): gpipe holds all m of them, 1f1b at most p
    act = 1000 * 4  # one micro-batch's activation (1 sample, 1000 floats)
    assert gp.peak_memory[0] - of.peak_memory[0] == pytest.approx((m - p) * act, rel=1e-12)
    assert of.step_time == pytest.approx(gp.step_time, rel=1e-12)  # same bubble


@pytest.mark.parametrize("placement", [[0, 1, 0, 1, 0, 1, 0, 1], [0, 1, 1, 1, 1, 1, 1, 0]])
def test_1f1b_with_a_device_holding_non_contiguous_stages_loses_no_more_time_with_more_micro_batches(placement):
    # the in-flight bound ranked devices by their first layer: [0, 1, 0, 1, ...] gave gpu1 a bound of 1
    # (one micro-batch at a time), so its idle time stayed ~600 ms whatever the micro-batches, and the
    # step took 1346 ms at 64 micro-batches against gpipe's 779
    n = chain(8, batch=64, width=1000, fwd=1e9, dgrad=1e9, wgrad=1e9)
    g = device_graph(2, bandwidth=1e10)
    idle = []
    for m in (1, 4, 16, 64):
        gp = sim.simulate(n, g, placement, micro_batches=m, schedule="gpipe", **EXACT)
        of = sim.simulate(n, g, placement, micro_batches=m, schedule="1f1b", **EXACT)
        idle.append(of.step_time - of.busy_time.max())
        assert of.step_time <= gp.step_time * (1 + 1e-9)
    assert idle[0] > idle[1] > idle[2] > idle[3]


def stage_ops(result, device):
    """The device's forwards and backwards in start order, as (kind, micro-batch) runs: one entry per
    stage-level op if each op's layers ran back to back."""
    runs = []
    for e in sorted(result.trace.events, key=lambda e: e.start):
        if e.resource == device and e.kind in ("forward", "backward"):
            op = (e.kind[0].upper(), e.micro_batch)
            if not runs or runs[-1] != op:
                runs.append(op)
    return runs


def megatron_1f1b(p: int, s: int, m: int) -> list[tuple[str, int]]:
    """PipeDream-flush / Megatron-LM 1F1B on stage s of p: warm-up forwards, then one forward and
    one backward in turn, then the cool-down backwards."""
    w = min(p - s - 1, m)
    ops = [("F", i) for i in range(w)]
    for i in range(m - w):
        ops += [("F", w + i), ("B", i)]
    return ops + [("B", i) for i in range(m - w, m)]


@pytest.mark.parametrize("bandwidth, latency", [(1e30, 0.0), (1e10, 1e-5)])
@pytest.mark.parametrize("m", [1, 2, 4, 8, 16])
@pytest.mark.parametrize("p", [2, 3, 4])
def test_1f1b_takes_the_step_time_of_gpipe_on_a_balanced_contiguous_pipeline(p, m, bandwidth, latency):
    # p stages of two layers each: 1F1B's bubble is GPipe's, (p - 1) / m of the ideal step
    n = chain(2 * p, batch=m, width=10_000, fwd=1e9, dgrad=1e9, wgrad=1e9)
    g = device_graph(p, bandwidth=bandwidth, latency=latency)
    placement = [i // 2 for i in range(2 * p)]
    gp = sim.simulate(n, g, placement, micro_batches=m, schedule="gpipe", **EXACT)
    of = sim.simulate(n, g, placement, micro_batches=m, schedule="1f1b", **EXACT)
    assert of.step_time == pytest.approx(gp.step_time, rel=0.01)


@pytest.mark.parametrize("m", [2, 5, 8])
def test_1f1b_runs_the_megatron_order_of_stage_level_ops_on_a_contiguous_pipeline(m):
    # 3 stages of 4, 3 and 2 layers, some communication. The old rule (any ready backward first,
    # layer by layer) ran stage 0's B0 and B1 back to back before F3 (F0 F1 F2 B0 B1 F3 F4 B2 ...),
    # and split a forward between its layers by a backward
    p = 3
    n = chain(9, batch=m, width=100_000, fwd=1e9, dgrad=1e9, wgrad=1e9)
    g = device_graph(p, bandwidth=2e10, latency=1e-5)
    r = sim.simulate(n, g, [0, 0, 0, 0, 1, 1, 1, 2, 2], micro_batches=m, schedule="1f1b", trace=True,
                     **EXACT)
    for s in range(p):
        assert stage_ops(r, f"gpu{s}") == megatron_1f1b(p, s, m), s
        # at most p - s micro-batches in flight on stage s (started, not finished there)
        spans = {}
        for e in events(r):
            if e.resource == f"gpu{s}" and e.kind in ("forward", "backward"):
                a, b = spans.get(e.micro_batch, (e.start, e.end))
                spans[e.micro_batch] = (min(a, e.start), max(b, e.end))
        most = max(sum(1 for a, b in spans.values() if a <= t < b) for t, _ in spans.values())
        assert most == min(p - s, m)


def stage_level_ops(result, device, stage_of):
    """The device's stage-level ops in start order, as (kind, micro-batch, stage) runs."""
    runs = []
    for e in sorted(result.trace.events, key=lambda e: e.start):
        if e.resource == device and e.kind in ("forward", "backward"):
            op = (e.kind[0].upper(), e.micro_batch, stage_of[e.name])
            if not runs or runs[-1] != op:
                runs.append(op)
    return runs


@pytest.mark.parametrize("p, v, m", [(2, 2, 2), (2, 2, 8), (4, 2, 4), (4, 2, 16), (2, 3, 6), (3, 2, 9)])
def test_interleaved_1f1b_runs_megatrons_order_with_a_bubble_constant_in_micro_batches(p, v, m):
    # p devices holding v equal stages each (stage i on device i mod p), free communication. Megatron's
    # interleaved 1F1B: a bubble of p - 1 stage round trips, so (m v + p - 1)(tf + tb) (+ the final
    # update). The old in-flight bound let the idle time grow with m (4 devices, v = 2: 3.75, 7.0 and
    # 11.25 round trips at m = 4, 8, 16, where it is 3 now)
    S = p * v
    s = sim.Simulator(equal_stages(S, batch=m), device_graph(p, bandwidth=1e30), micro_batches=m,
                      schedule="1f1b", **EXACT)
    r = s.run([i % p for i in range(S)], trace=True)
    tf, tb = 1e9 / PEAK, 3e9 / PEAK
    # each device updates its v buckets after its last backward
    assert r.step_time - v * s.costs.upd[1, 0] == pytest.approx((m * v + p - 1) * (tf + tb), rel=1e-12)
    assert r.step_time - r.busy_time.max() == pytest.approx((p - 1) * (tf + tb), rel=1e-9)
    stage_of = {"x": 0} | {f"s{i}": i for i in range(S)}
    for rank in range(p):
        assert stage_level_ops(r, f"gpu{rank}", stage_of) == megatron_interleaved(p, rank, v, m), rank


@pytest.mark.parametrize("p, v", [(4, 2), (3, 3), (2, 2)])
def test_interleaved_1f1b_idles_no_more_with_more_micro_batches_that_are_no_multiple_of_p(p, v):
    # Megatron's order needs m to be a multiple of p; other m take the order of m rounded up, without
    # the missing micro-batches: the holes cost the same idle time whatever m
    tf, tb = 1e9 / PEAK, 3e9 / PEAK
    idle = []
    for m in (p + 1, 2 * p + 1, 4 * p + 1):
        s = sim.Simulator(equal_stages(p * v, batch=m), device_graph(p, bandwidth=1e30), micro_batches=m,
                          schedule="1f1b", **EXACT)
        r = s.run([i % p for i in range(p * v)])
        idle.append(r.step_time - r.busy_time.max())
    assert idle == pytest.approx([idle[0]] * 3, rel=1e-9)
    assert idle[0] < (p * v) * (tf + tb)   # less than a micro-batch's round trip through the device


def test_1f1b_keeps_its_memory_advantage_over_gpipe_with_the_megatron_order():
    p, m = 3, 8
    n = chain(2 * p, batch=m, width=100_000, keep_input=True, fwd=1e9, dgrad=1e9, wgrad=1e9)
    g = device_graph(p, bandwidth=2e10, latency=1e-5)
    placement = [i // 2 for i in range(2 * p)]
    gp = sim.simulate(n, g, placement, micro_batches=m, schedule="gpipe", **EXACT)
    of = sim.simulate(n, g, placement, micro_batches=m, schedule="1f1b", **EXACT)
    assert of.peak_memory[0] < gp.peak_memory[0]
    assert of.step_time <= gp.step_time * 1.01


def fc_chain(path: Path) -> Path:
    """The fault report's network: 9 fully connected layers of 4096 outputs, batch 64."""
    layers = {"data": {"type": "Input", "tensor": [64, 1], "parents": []}}
    prev = "data"
    for i in range(9):
        layers[f"fc{i}"] = {"type": "InnerProduct", "num_outputs": 4096, "parents": [prev]}
        prev = f"fc{i}"
    path.write_text(json.dumps({"name": "chain", "layers": layers}))
    return path


def test_1f1b_a_faster_link_does_not_make_the_step_slower(tmp_path):
    # 3 GPUs, each sending on its own channel; gpu1's from 10 to 20 Gbit/s: 1f1b took 9.61 ms,
    # then 10.45 ms (the old rule let stage 0 run two backwards before its next forward)
    n = sim.load_network(fc_chain(tmp_path / "net.json"))
    steps = []
    for link in (10, 20):
        dev = lambda i: {"type": "gpu", "model": "g", "clock": 1500, "peak_gflops": 10000, "memory": 32,  # noqa: E731
                         "mem_bandwidth": 500,
                         "neighbours": [{"device": j, "comm_channel": i} for j in range(3) if j != i]}
        (tmp_path / "dev.json").write_text(json.dumps({
            "comm_channels": [{"type": "x", "bandwidth": b} for b in (64, link, 64)],
            "devices": [dev(i) for i in range(3)]}))
        g = sim.load_device_graph(tmp_path / "dev.json")
        steps.append(sim.simulate(n, g, [0, 0, 0, 1, 1, 1, 1, 1, 1, 2], micro_batches=2,
                                  schedule="1f1b").step_time)
    assert steps[1] <= steps[0]
    # PCIe 5 against PCIe 4 on the same A100 machine (a placement with non-contiguous stages):
    # 2.28 ms, then 2.66 ms
    pcie4, pcie5 = (sim.simulate(n, f"cpu+4xA100-{v}", [3, 2, 2, 3, 3, 1, 2, 4, 1, 3], micro_batches=4,
                                 schedule="1f1b").step_time for v in ("pcie4", "pcie5"))
    assert pcie5 <= pcie4
    # a contiguous 3-stage pipeline on V100s: 1f1b took 6.96 ms against gpipe's 6.02 (4 micro-batches)
    # and 21.09 against 16.70 (16)
    for m in (4, 16):
        gp, of = (sim.simulate(n, "cpu+4xV100-pcie3", [1, 1, 1, 1, 1, 2, 2, 2, 3, 3], micro_batches=m,
                               schedule=s).step_time for s in ("gpipe", "1f1b"))
        assert of <= gp * 1.01


def test_ring_all_reduce_time_matches_the_closed_form():
    n_rep, params, lat, bw = 4, 1_000_000, 2e-6, 10e9
    spec = [("x", Input((1,)), ()), ("w", Work(fwd=0, dgrad=0, wgrad=0, params=params), ("x",))]
    n = net(spec, batch=n_rep, groups={"all": ["x", "w"]})
    g = device_graph(n_rep, bandwidth=bw, latency=lat)
    r = sim.simulate(n, g, 0, replicas=n_rep, trace=True, **EXACT)
    ring = events(r, "all-reduce")
    assert len(ring) == 2 * (n_rep - 1) * n_rep
    nbytes = params * 4
    duration = max(e.end for e in ring) - min(e.start for e in ring)
    assert duration == pytest.approx(2 * (n_rep - 1) / n_rep * nbytes / bw + 2 * (n_rep - 1) * lat,
                                     rel=1e-12)
    # every replica updates its copy once, after the all-reduce
    assert sorted(e.resource for e in events(r, "update")) == ["gpu0", "gpu1", "gpu2", "gpu3"]
    assert min(e.start for e in events(r, "update")) >= max(e.end for e in ring)


def test_all_reduce_overlaps_with_the_rest_of_the_backward():
    # two weight buckets: the later layer's gradients are reduced while the earlier backward runs
    n = chain(2, batch=2, fwd=1e9, dgrad=1e9, wgrad=1e9, params=1_000_000)
    g = device_graph(2, bandwidth=100e9)
    r = sim.simulate(n, g, [0, 0], replicas=2, trace=True, **EXACT)
    ring_l1 = [e for e in events(r, "all-reduce") if e.name.startswith("g1")]
    bwd_l0 = events(r, "backward", "l0")[0]
    assert min(e.start for e in ring_l1) < bwd_l0.end


def four_gpus(path: Path, bandwidth0: float) -> Path:
    """4 GPUs, each sending on its own channel (32 Gbit/s; gpu0's `bandwidth0`)."""
    dev = lambda i: {"type": "gpu", "model": "g", "clock": 1500, "peak_gflops": 10000, "memory": 16,  # noqa: E731
                     "mem_bandwidth": 500,
                     "neighbours": [{"device": j, "comm_channel": i} for j in range(4) if j != i]}
    path.write_text(json.dumps({"comm_channels": [{"type": "x", "bandwidth": b} for b in (bandwidth0, 32, 32, 32)],
                                "devices": [dev(i) for i in range(4)]}))
    return path


def test_data_parallel_a_faster_link_does_not_make_the_step_slower(tmp_path):
    # 2 replicas of a 2-GPU placement, gpu0's link from 32 to 1000 Gbit/s: the step went from 0.674 to
    # 0.798 ms (branch) and 87.1 to 120.6 ms (chain): an all-reduce chunk requested earlier went first
    # on a first-come-first-served channel, ahead of replica 1's gradient on the critical path. Now a
    # channel serves activations and gradients before all-reduce chunks.
    (tmp_path / "branch.json").write_text(json.dumps({"name": "branch", "layers": {
        "data": {"type": "Input", "tensor": [8, 32, 32, 3], "parents": []},
        "a": {"type": "Convolution", "filter": [3, 3, 3, 16], "padding": "SAME", "strides": [1, 1, 1, 1],
              "parents": ["data"]},
        "b": {"type": "Convolution", "filter": [1, 1, 3, 16], "padding": "SAME", "strides": [1, 1, 1, 1],
              "parents": ["data"]},
        "join": {"type": "Elementwise", "parents": ["a", "b"]},
        "cat": {"type": "Concatenate", "dim": 3, "parents": ["a", "join"]},
        "fc": {"type": "InnerProduct", "num_outputs": 10, "parents": ["cat"]},
        "prob": {"type": "Softmax", "parents": ["fc"]}}}))
    branch = sim.load_network(tmp_path / "branch.json")
    chain9 = sim.load_network(fc_chain(tmp_path / "chain.json"))
    for n, placement in ((branch, [0, 0, 0, 1, 0, 0, 0]), (chain9, [1, 0, 1, 1, 1, 0, 0, 0, 0, 0])):
        slow, fast = (sim.simulate(n, four_gpus(tmp_path / f"{b}.json", b), placement, replicas=2).step_time
                      for b in (32, 1000))
        assert fast <= slow, n.name


def test_replicas_use_the_next_free_devices_of_the_same_model():
    n = sim.zoo.load("resnet18", batch_size=32)
    g = sim.devices.preset("cpu+4xV100-pcie3")
    half = len(n.groups) // 2
    r = sim.simulate(n, g, [1] * half + [2] * (len(n.groups) - half), replicas=2)
    assert r.busy_time[0] == 0 and (r.busy_time[1:] > 0).all()
    assert r.busy_time[3] == pytest.approx(r.busy_time[1]) and r.busy_time[4] == pytest.approx(r.busy_time[2])
    with pytest.raises(sim.SimulatorError, match="replicas=2: no free device of model 'Intel Xeon"):
        sim.simulate(n, g, 0, replicas=2)


def test_data_parallel_on_the_1000_gpu_preset_needs_little_memory():
    # the kernel's workspace grew as replicas^2 x devices x groups: 100 replicas of resnet50 on the
    # 1,000-GPU preset asked for tens of GB (MemoryError); it holds only the transfers in flight now
    code = ("import resource, simulator as sim\n"
            "net = sim.zoo.load('resnet50', batch_size=100)\n"
            "r = sim.simulate(net, 'cpu+1000xV100-nvlink2', 1, replicas=100)\n"
            "print(r.step_time, int((r.busy_time > 0).sum()), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    step, busy_devices, max_rss_kb = proc.stdout.split()
    assert float(step) > 0 and int(busy_devices) == 100
    # < 3 GB: about 0.4 GB is Python, numpy and numba, up to 0.8 GB more when the kernel is compiled first (a
    # fresh clone); the old workspace needed about 30 GB here (7.5 GB at 50 replicas, growing as their square)
    assert int(max_rss_kb) < 3_000_000


def test_a_simulation_larger_than_memory_is_refused_before_it_allocates(monkeypatch):
    n = chain(3, batch=64)
    monkeypatch.setattr(sim.api, "_memory_limit", lambda: 10_000)
    with pytest.raises(sim.SimulatorError, match=r"^simulating 4 layers x 64 micro-batches x 1 replicas on "
                       r"2 devices needs 0\.08 MB of memory, more than this machine's 0\.01 MB; use fewer"):
        sim.simulate(n, device_graph(2), 0, micro_batches=64, **EXACT)
    monkeypatch.setattr(sim.api, "_memory_limit", lambda: 80_000)  # enough for the simulation, not its trace
    assert sim.simulate(n, device_graph(2), 0, micro_batches=64, **EXACT).step_time > 0
    with pytest.raises(sim.SimulatorError, match=r"^a trace of 4 layers x 64 micro-batches .* or no trace$"):
        sim.simulate(n, device_graph(2), 0, micro_batches=64, trace=True, **EXACT)


def test_a_tensor_is_sent_once_to_each_consuming_device():
    spec = [("x", Input((1000,)), ()),
            ("a", Work(width=1000), ("x",)), ("b", Work(width=10), ("a",)), ("c", Work(width=10), ("a",)),
            ("d", Work(width=10), ("a",)), ("e", Work(width=10), ("b", "c", "d"))]
    n = net(spec, batch=1)
    r = sim.simulate(n, device_graph(3), {"x": 0, "a": 0, "b": 1, "c": 1, "d": 2, "e": 2},
                     trace=True, **EXACT)
    sends = [(e.src, e.dst) for e in events(r, "activation", "a")]
    assert sorted(sends) == [("gpu0", "gpu1"), ("gpu0", "gpu2")]
    # the gradient of a's output comes back once from each consumer device (b and c summed on gpu1)
    grads = [(e.src, e.dst) for e in events(r, "gradient", "a")]
    assert sorted(grads) == [("gpu1", "gpu0"), ("gpu2", "gpu0")]
    assert all(e.bytes == 1000 * 4 for e in events(r, "gradient", "a"))  # the size of a's output
    bwd_a = events(r, "backward", "a")[0]
    assert bwd_a.start >= max(e.end for e in events(r, "gradient", "a"))


def test_transfers_on_a_shared_channel_wait_their_turn():
    # a (gpu0) and b (gpu1) both send 1 MB to gpu2 over one shared 1 GB/s channel
    spec = [("x", Input((1,)), ()), ("y", Input((1,)), ()),
            ("a", Work(fwd=1e9, width=250_000, params=0), ("x",)),
            ("b", Work(fwd=1.5e9, width=250_000, params=0), ("y",)),
            ("c", Work(fwd=1e9, params=0), ("a", "b"))]
    n = net(spec)
    r = sim.simulate(n, device_graph(3, bandwidth=1e9, shared=True),
                     {"x": 0, "a": 0, "y": 1, "b": 1, "c": 2}, trace=True, **EXACT)
    (ta,), (tb,) = events(r, "activation", "a"), events(r, "activation", "b")
    assert (ta.start, ta.end) == pytest.approx((1e-3, 2e-3))     # requested at 1 ms, free channel
    assert (tb.start, tb.end) == pytest.approx((2e-3, 3e-3))     # requested at 1.5 ms, waits for a
    assert r.step_time == pytest.approx(4e-3)


def test_events_are_processed_in_time_order_not_topological_order():
    # a comes first in topological order but finishes late; b finishes early. Both send to
    # gpu2 over one shared channel (5 ms per transfer). In time order b's transfer goes first
    # ([1, 6] ms) and d can start at 6 ms; handling a's request first (topological order)
    # would hold b's transfer until a's is done at 15 ms and d could start only at 20 ms.
    spec = [("x", Input((1,)), ()), ("y", Input((1,)), ()),
            ("a", Work(fwd=10e9, width=1_250_000, params=0), ("x",)),
            ("b", Work(fwd=1e9, width=1_250_000, params=0), ("y",)),
            ("c", Work(fwd=1e9, params=0), ("a",)),
            ("d", Work(fwd=12e9, params=0), ("b",))]
    n = net(spec)
    r = sim.simulate(n, device_graph(3, bandwidth=1e9, shared=True),
                     {"x": 0, "a": 0, "y": 1, "b": 1, "c": 2, "d": 2}, trace=True, **EXACT)
    time_order = 6e-3 + 12e-3 + 1e-3        # d at [6, 18] ms, then c (ready at 15 ms) at [18, 19]
    topological = 20e-3 + 12e-3             # c at [15, 16] ms, d at [20, 32] ms
    assert r.step_time == pytest.approx(time_order, rel=1e-12)
    assert r.step_time != pytest.approx(topological)
    (tb,) = events(r, "activation", "b")
    assert (tb.start, tb.end) == pytest.approx((1e-3, 6e-3))


def test_ties_are_broken_by_the_documented_priority():
    # two forwards become ready on gpu1 at the same instant: the lower layer index goes first
    spec = [("x", Input((1,)), ()), ("a", Work(fwd=1e9, params=0), ("x",)),
            ("p", Work(fwd=1e9, params=0), ("a",)), ("q", Work(fwd=1e9, params=0), ("a",))]
    n = net(spec)
    r = sim.simulate(n, device_graph(2, bandwidth=1e30), {"x": 0, "a": 0, "p": 1, "q": 1},
                     trace=True, **EXACT)
    assert [e.name for e in events(r, "forward") if e.resource == "gpu1"] == ["p", "q"]


def test_a_multi_hop_route_stores_and_forwards():
    from simulator.devices import Channel, DeviceGraph
    from test_schedule_helpers import gpu
    g = DeviceGraph([gpu("a"), gpu("b"), gpu("c")],
                    [Channel("ab", "t", 1e9, 1e-6), Channel("bc", "t", 2e9, 1e-6)],
                    {(0, 1): 0, (1, 0): 0, (1, 2): 1, (2, 1): 1})
    spec = [("x", Input((1,)), ()), ("s", Work(fwd=0, width=250_000, params=0), ("x",)),
            ("t", Work(fwd=0, params=0), ("s",))]
    r = sim.simulate(net(spec), g, {"x": 0, "s": 0, "t": 2}, trace=True, **EXACT)
    hop1, hop2 = events(r, "activation", "s")
    assert (hop1.src, hop1.dst, hop2.src, hop2.dst) == ("a", "b", "b", "c")
    assert hop1.end - hop1.start == pytest.approx(1e-6 + 1e-3)
    assert hop2.start == hop1.end and hop2.end - hop2.start == pytest.approx(1e-6 + 0.5e-3)
