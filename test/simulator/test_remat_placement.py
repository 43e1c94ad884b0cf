"""Memory-aware placement (simulator/remat_placement.py): a device over its budget rematerialises."""
from __future__ import annotations

import numpy as np
import pytest

import simulator as sim
from simulator.remat import baseline
from simulator import remat_placement
from simulator.remat_placement import _static_per_device, device_trace

DEVICES = "cpu+4xV100-pcie3"


@pytest.fixture(scope="module")
def net():
    return sim.zoo.load("resnet18", batch_size=64).regroup(4)


def test_off_by_default_changes_nothing(net):
    plain = sim.simulate(net, DEVICES, [1, 1, 2, 2], micro_batches=2)
    off = sim.simulate(net, DEVICES, [1, 1, 2, 2], micro_batches=2, remat="off", remat_heuristic="lru")
    assert off.raw_step_time == plain.raw_step_time
    assert off.peak_memory.tolist() == plain.peak_memory.tolist()
    assert not off.remat_used.any() and not plain.remat_used.any()
    assert plain.memory_budget.tolist() == plain.memory_capacity.tolist()


def test_device_trace_matches_the_schedule(net):
    # the op trace of a device, replayed without a budget, computes what the device computed (its busy
    # time but the optimizer updates) and holds what the kernel counted beyond the static bytes
    s = sim.prepare(net, DEVICES, micro_batches=2)
    placement = [1, 1, 2, 2]
    r = s.run(placement, trace=True)
    static = _static_per_device(s, sim.placement.layer_devices(placement, net, s.devices))
    for d in (1, 2):
        peak, seconds = baseline(device_trace(s, r.trace, d))
        updates = sum(e.end - e.start for e in r.trace.events
                      if e.resource == s.device_names[d] and e.kind == "update")
        assert seconds == pytest.approx(r.busy_time[d] - updates, rel=1e-9)
        assert peak == r.peak_memory[d] - static[d]


def test_a_budget_below_the_peak_is_infeasible_without_remat_and_feasible_with_it(net):
    plain = sim.simulate(net, DEVICES, 1)
    budget = 0.8 * plain.peak_memory[1]
    no = sim.simulate(net, DEVICES, 1, memory_budget={"gpu0": budget})
    assert not no.feasible and no.step_time == np.inf
    yes = sim.simulate(net, DEVICES, 1, memory_budget={"gpu0": budget}, remat="all")
    assert yes.feasible
    assert yes.remat_used.tolist() == [False, True, False, False, False]
    assert 0 < yes.remat_overhead[1] < np.inf
    assert yes.peak_memory[1] <= budget
    assert yes.step_time == pytest.approx(plain.raw_step_time + yes.remat_overhead[1], rel=1e-12)
    assert yes.busy_time[1] == pytest.approx(plain.busy_time[1] + yes.remat_overhead[1], rel=1e-12)
    # less memory costs more recompute (0.5 of the peak is met only by evicting the input batch, which is data)
    tighter = sim.simulate(net, DEVICES, 1, memory_budget={"gpu0": 0.6 * plain.peak_memory[1]}, remat="all")
    assert tighter.feasible and tighter.remat_overhead[1] > yes.remat_overhead[1]


def _wide_input_net():
    """Linear(8192->64) -> Linear(64->8192) -> ReLU -> Linear(8192->10), batch 1024: the input batch (33.5 MB)
    is a quarter of the peak."""
    import torch  # here, not at the top: only this test needs it
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8192, 64), nn.Linear(64, 8192), nn.ReLU(), nn.Linear(8192, 10))
    return sim.from_torch(model, torch.zeros(1024, 8192))


def test_the_input_batch_is_pinned_not_remade_for_free():
    # the input's forward made its batch at 0 s, so DTR evicted it and "remade" it for nothing: a budget the
    # input cannot fit in beside the widest activations was met at 0 s of recompute
    wide = _wide_input_net()
    batch = 1024 * 8192 * 4
    plain = sim.simulate(wide, DEVICES, 1)
    budget = float(plain.peak_memory[1]) - 0.5 * batch
    r = sim.simulate(wide, DEVICES, 1, memory_budget=budget, remat="all")
    assert r.remat_used[1]
    assert not r.feasible or r.remat_overhead[1] > 0
    # every micro-batch's input is a constant (never evicted) on the device that reads it
    s = sim.prepare(wide, DEVICES, micro_batches=2)
    trace = device_trace(s, s.run(1, trace=True).trace, 1)
    inputs = [o for o, name in enumerate(trace.op_names) if name.startswith(f"forward {wide.layers[0].name} ")]
    assert len(inputs) == 2
    for o in inputs:
        data = trace.args_of(o)
        assert len(data) == 1 and trace.constant[data].all() and trace.size[data].tolist() == [batch // 2]


def _small_cnn():
    """The tester's CNN (3 convolutions, a pool, a linear; 9 layer groups), batch 64 of 3x32x32."""
    import torch  # here, not at the top: only these tests need it
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(64 * 16 * 16, 10))
    return sim.from_torch(model, torch.zeros(64, 3, 32, 32))


@pytest.mark.parametrize("placement, settings", [
    ([1] * 9, dict()),
    ([1] * 5 + [2] * 4, dict(micro_batches=2, schedule="1f1b")),
    ([1] * 3 + [2] * 3 + [3] * 3, dict(micro_batches=4, schedule="gpipe")),
    ([1, 2, 2, 3, 3, 3, 3, 3, 3], dict(micro_batches=2, schedule="gpipe")),
])
def test_the_transfer_buffers_the_trace_misses_are_counted(placement, settings):
    # a pipelined device's op trace has no transfer buffers (an activation arriving before its consumer, a
    # gradient kept until it is sent): its peak was up to 20% below the kernel's and the peak after remat
    # scaled them down as if they could be evicted. What the trace misses is now counted whole, beside it;
    # on one device the trace is exact and nothing is added
    cnn = _small_cnn()
    s = sim.prepare(cnn, DEVICES, **settings)
    r = s.run(placement, trace=True)
    static = _static_per_device(s, sim.placement.layer_devices(placement, cnn, s.devices))
    for d in sorted(set(placement)):
        op_trace = device_trace(s, r.trace, d)
        peak, _ = baseline(op_trace)
        outside = remat_placement.outside_bytes(s, r.trace, d, op_trace, r.memory.devices[d], static[d])
        assert peak + outside >= r.peak_memory[d] - static[d]
        if len(set(placement)) == 1:
            assert peak == r.peak_memory[d] - static[d] and outside == 0


@pytest.mark.parametrize("settings", [dict(), dict(precision="fp16", optimizer="adam"),
                                      dict(micro_batches=2, schedule="1f1b")])
def test_a_step_on_one_device_remats_without_comparing_against_the_kernel_timeline(net, monkeypatch, settings):
    # on one device the trace is exact (nothing sent or received): the kernel's memory timeline and the
    # unbounded replay that measure what a pipelined trace misses are skipped, and the result is the same
    s = sim.prepare(net, DEVICES, **settings)
    plain = s.run([2] * 4)
    kw = dict(memory_budget={"gpu1": 0.6 * plain.peak_memory[2]}, remat="all", trace=True, **settings)
    measured = sim.simulate(net, DEVICES, [2] * 4, **kw)
    assert measured.remat_used[2] and measured.feasible and measured.remat_overhead[2] > 0

    def forbidden(*args, **kwargs):
        raise AssertionError("compared against the kernel's timeline on one device")

    monkeypatch.setattr(remat_placement, "outside_bytes", forbidden)
    sim.api._CACHE.clear()
    got = sim.simulate(net, DEVICES, [2] * 4, **kw)
    assert got.step_time == measured.step_time and got.remat_overhead.tolist() == measured.remat_overhead.tolist()
    assert got.peak_memory.tolist() == measured.peak_memory.tolist() == [got.memory.devices[d].peak() for d in range(5)]


def _chain():
    """8 x (Linear(512, 512), ReLU), batch 64: 16 layer groups."""
    import torch  # here, not at the top: only these tests need it
    nn = torch.nn
    torch.manual_seed(0)
    return sim.from_torch(nn.Sequential(*[m for _ in range(8) for m in (nn.Linear(512, 512), nn.ReLU())]),
                          torch.zeros(64, 512))


@pytest.mark.parametrize("build, placement, settings, device, fraction, fits", [
    # the last of 3 gpipe stages, 4 micro-batches: the peak after remat scaled the transfer buffers down with
    # the rest and called half of the dynamic memory enough; the buffers (3.1 MB at once, not evictable)
    # beside the largest backward (3.1 MB) need all of it
    (_small_cnn, [1] * 3 + [2] * 3 + [3] * 3, dict(micro_batches=4, schedule="gpipe"), 3, 0.5, False),
    (_chain, [1] * 11 + [2] + [3] * 4, dict(micro_batches=4, schedule="gpipe"), 1, 0.6, True),
])
def test_the_peak_after_remat_keeps_the_transfer_buffers_whole(build, placement, settings, device, fraction, fits):
    net = build()
    s = sim.prepare(net, DEVICES, **settings)
    r = s.run(placement, trace=True)
    static = _static_per_device(s, sim.placement.layer_devices(placement, net, s.devices))[device]
    budget = static + fraction * (r.peak_memory[device] - static)
    got = sim.simulate(net, DEVICES, placement, memory_budget={s.device_names[device]: budget}, remat="all",
                       **settings)
    assert got.remat_used[device] and got.feasible == fits
    if fits:
        op_trace = device_trace(s, r.trace, device)
        outside = remat_placement.outside_bytes(s, r.trace, device, op_trace, r.memory.devices[device], static)
        # the least any replay of the trace holds: the largest op's arguments and outputs at once
        least = max(op_trace.size[np.union1d(op_trace.args_of(o), op_trace.outputs_of(o))].sum()
                    for o in range(op_trace.n_ops))
        assert static + outside + least <= got.peak_memory[device] <= budget
        assert got.remat_overhead[device] > 0


def test_only_the_devices_named_rematerialise(net):
    plain = sim.simulate(net, DEVICES, [1, 1, 2, 2])
    budget = {"gpu0": 0.8 * plain.peak_memory[1], "gpu1": 0.8 * plain.peak_memory[2]}
    r = sim.simulate(net, DEVICES, [1, 1, 2, 2], memory_budget=budget, remat=["gpu0"])
    assert r.remat_used.tolist() == [False, True, False, False, False]
    assert not r.feasible  # gpu1 is still over its budget


def test_fraction_of_capacity_and_an_impossible_budget(net):
    s = sim.prepare(net, DEVICES, memory_budget=0.25)
    assert s.budget[1] == 0.25 * s.capacity[1]
    # a budget below the weights themselves cannot be met by rematerialising activations
    r = sim.simulate(net, DEVICES, 1, memory_budget={"gpu0": 2e6}, remat="all")
    assert not r.feasible and r.remat_used[1] and r.remat_overhead[1] == np.inf


def test_batches_rematerialise_row_by_row(net):
    plain = sim.simulate(net, DEVICES, 1)
    budget = {"gpu0": 0.8 * plain.peak_memory[1]}
    b = sim.simulate_batch(net, DEVICES, np.array([[1, 1, 1, 1], [2, 2, 2, 2]]), memory_budget=budget,
                           remat="all")
    assert b.remat_used[0].tolist() == [False, True, False, False, False]
    assert not b.remat_used[1].any()  # gpu1's budget is its memory: nothing to do
    one = sim.simulate(net, DEVICES, 1, memory_budget=budget, remat="all")
    assert b.step_time[0] == one.step_time and b[0].remat_overhead[1] == one.remat_overhead[1]


@pytest.mark.parametrize("settings, message", [
    (dict(memory_budget={"gpu9": 1e9}), "memory_budget names device 'gpu9'"),
    (dict(memory_budget=-1), "memory_budget"),
    (dict(remat=["tpu"]), "remat names device 'tpu'"),
    # above 1 and below 1 MiB: neither a fraction nor bytes (16 meant as 16 GB made every sample infeasible)
    (dict(memory_budget=16), r"memory_budget\['\*'\] is 16: neither a fraction .*write 16 GB as 16e9"),
    (dict(memory_budget={"gpu0": 1.5}), r"memory_budget\['gpu0'\] is 1.5: neither a fraction"),
    (dict(remat_heuristic="best"), "remat_heuristic must be one of"),
])
def test_bad_settings_are_one_line_errors(net, settings, message):
    with pytest.raises(sim.SimulatorError, match=message):
        sim.simulate(net, DEVICES, 1, **settings)


def test_a_budget_of_one_or_of_a_mib_is_taken(net):
    # the edges of the refused range: 1 is the whole memory, 1 MiB is bytes
    s = sim.prepare(net, DEVICES, memory_budget={"gpu0": 1, "gpu1": 2 ** 20})
    assert s.budget[1] == s.capacity[1] and s.budget[2] == 2 ** 20


def test_static_bytes_count_a_copy_of_shared_weights_on_another_device():
    # GPT-2's LM head shares wte: on another device it holds a copy (weights, gradient, optimizer state), which
    # the rematerialisation's static bytes left out, so a budget there was judged against too little memory
    gpt2 = sim.zoo.load("gpt2", batch_size=1, seq_len=128)
    s = sim.prepare(gpt2, "cpu+2xA100-nvlink3", optimizer="adam")
    placement = [1] * (len(gpt2.groups) - 1) + [2]
    r = s.run(placement, trace=True)
    static = _static_per_device(s, sim.placement.layer_devices(placement, gpt2, s.devices))
    peak, _ = baseline(device_trace(s, r.trace, 2))
    assert peak == pytest.approx(r.peak_memory[2] - static[2], rel=1e-12)
    head = next(lay for lay in gpt2.layers if lay.shares_weights_with)
    assert static[2] >= gpt2.layer(head.shares_weights_with).params * 4
