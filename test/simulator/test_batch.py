"""simulate_batch: the same kernel as simulate, so the same numbers, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

import simulator as sim
from simulator.graph import SimulatorError


@pytest.fixture(scope="module")
def setup(paleo_nets, reference):
    net = sim.load_network(paleo_nets / "resnet50.json").regroup(16)
    g = sim.load_device_graph(reference / "exprimo-device-graphs" / "malvik-4gpu.json")
    rng = np.random.default_rng(7)
    return net, g, rng.integers(0, 5, size=(64, 16))


@pytest.mark.parametrize("settings", [
    dict(cost_model="paleo", batch_size=128),
    dict(batch_size=128, micro_batches=4, schedule="1f1b"),
    dict(batch_size=128, micro_batches=2, precision="fp16", optimizer="adam", memory="penalty"),
])
def test_batched_and_one_by_one_agree_exactly(setup, settings):
    net, g, P = setup
    b = sim.simulate_batch(net, g, P, **settings)
    assert len(b) == 64 and b.peak_memory.shape == (64, 5) and b.busy_time.shape == (64, 5)
    for i, row in enumerate(P):
        r = sim.simulate(net, g, list(row), **settings)
        assert r.step_time == b.step_time[i]
        assert r.raw_step_time == b.raw_step_time[i]
        assert (r.peak_memory == b.peak_memory[i]).all() and (r.busy_time == b.busy_time[i]).all()
        assert r.comm_bytes == b.comm_bytes[i] and r.feasible == b.feasible[i]
    # a row of the batch as a Result
    assert b[3].step_time == b.step_time[3] and b[3].device_names[1] == "gpu0"


def test_batched_with_replicas(reference):
    net = sim.zoo.load("resnet18", batch_size=64).regroup(4)
    g = sim.devices.preset("cpu+4xV100-pcie3")
    P = np.array([[1, 1, 2, 2], [1, 2, 1, 2], [2, 2, 2, 2]])
    b = sim.simulate_batch(net, g, P, replicas=2)
    one = [sim.simulate(net, g, list(p), replicas=2).step_time for p in P]
    assert b.step_time.tolist() == one
    assert b.step_time[2] < b.step_time[1]  # one GPU per replica beats ping-pong across two


def test_order_and_duplicates_do_not_matter(setup):
    net, g, P = setup
    b = sim.simulate_batch(net, g, P, cost_model="paleo", batch_size=128)
    rev = sim.simulate_batch(net, g, np.concatenate([P[::-1], P[:5]]), cost_model="paleo", batch_size=128)
    assert rev.step_time[:64][::-1].tolist() == b.step_time.tolist()
    assert rev.step_time[64:].tolist() == b.step_time[:5].tolist()


@pytest.mark.parametrize("placements, message", [
    (np.zeros((4, 3), dtype=int), "placements have 3 columns but network"),
    (np.zeros(16, dtype=int), "must be a 2-D integer array"),
    (np.full((2, 16), 5), "placement row 0, group 0: device 5 does not exist"),
    (np.full((2, 16), 0.5), "placements must be integers"),
])
def test_bad_placement_arrays(setup, placements, message):
    net, g, _ = setup
    with pytest.raises(SimulatorError) as err:
        sim.simulate_batch(net, g, placements, cost_model="paleo", batch_size=128)
    assert message in str(err.value)


def test_a_bad_row_is_named(setup):
    net = sim.zoo.load("resnet18", batch_size=64).regroup(2)
    g = sim.devices.preset("cpu+4xV100-pcie3")
    with pytest.raises(SimulatorError, match="placement row 1: replicas=2: no free device"):
        sim.simulate_batch(net, g, np.array([[1, 2], [0, 1]]), replicas=2)
