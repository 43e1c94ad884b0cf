"""The memory timeline (simulator/memory_timeline.py): its maximum is the kernel's peak on every
device, it ends where it started (nothing leaks), and it is written as ZPP-MEM traces and a plot."""
from __future__ import annotations

import random

import numpy as np
import pytest

import simulator as sim
from test_memory import A, B, C, X, hand_chain
from test_schedule_helpers import EXACT, device_graph
from test_schedule_reference import line_graph, random_network


def _static(s, per_layer) -> np.ndarray:
    out = np.zeros(len(s.device_names))
    for l, d in enumerate(per_layer):
        out[d] += s.costs.static_bytes[l]
    return out


def _check(r):
    peaks = r.memory.peak()
    assert peaks.tolist() == r.peak_memory.tolist()
    for dev in r.memory.devices:
        if len(dev.bytes):
            assert np.array_equal(np.cumsum(dev.delta), dev.bytes)
            assert np.all(np.diff(dev.time) >= 0)  # rows in time order
            assert dev.bytes.min() >= 0


SETTINGS = [dict(), dict(micro_batches=4), dict(micro_batches=4, schedule="1f1b"), dict(replicas=2),
            dict(replicas=2, micro_batches=2, schedule="1f1b"),
            dict(training_algorithm="feedback_alignment"),
            dict(training_algorithm="direct_feedback_alignment", micro_batches=2),
            dict(training_algorithm="memory_efficient_dfa", micro_batches=2, schedule="1f1b")]


@pytest.mark.parametrize("case", range(len(SETTINGS)))
def test_timeline_peak_is_the_kernel_peak_on_random_networks(case):
    rng = random.Random(77 + case)
    settings = SETTINGS[case]
    for trial in range(5):
        n = random_network(rng, rng.randint(3, 12))
        g = line_graph(6) if trial % 2 else device_graph(6, latency=rng.choice([0.0, 1e-5]))
        s = sim.Simulator(n, g, **EXACT, **settings)
        devices = 3 if settings.get("replicas", 1) == 2 else 6
        for _ in range(3):
            placement = [rng.randrange(devices) for _ in range(len(n.groups))]
            r = s.run(placement, trace=True)
            _check(r)
            # every dynamic tensor is freed by the end of the step: each device ends at its static bytes
            if settings.get("replicas", 1) == 1:
                per_layer = sim.placement.layer_devices(placement, n, g)
                static = _static(s, per_layer)
                for d, dev in enumerate(r.memory.devices):
                    if len(dev.bytes):
                        assert dev.bytes[-1] == static[d]


@pytest.mark.parametrize("name, placement, settings", [
    ("resnet18", 1, {}),
    ("resnet18", [1] * 5 + [2] * 5, dict(micro_batches=4)),
    ("resnet18", [1] * 5 + [2] * 5, dict(micro_batches=4, schedule="1f1b")),
    ("resnet18", [1, 2, 3, 4, 1, 2, 3, 4, 1, 2], dict(micro_batches=2)),
    ("lstm_seq2seq", 1, dict(micro_batches=2)),
])
def test_timeline_peak_on_zoo_networks_with_pipelining(name, placement, settings):
    net = sim.zoo.load(name, batch_size=16)
    if isinstance(placement, list):
        net = net.regroup(len(placement))
    r = sim.simulate(net, "cpu+4xV100-pcie3", placement, trace=True, **settings)
    _check(r)
    assert r.peak_memory.max() > 0


def test_timeline_on_a_paleo_network_and_exprimo_graph():
    net = sim.load_network("alex_v2.json").regroup(4)
    r = sim.simulate(net, "malvik-4gpu.json", [1, 2, 3, 4], trace=True, cost_model="paleo", batch_size=64)
    _check(r)


def test_hand_chain_rows():
    r = sim.simulate(hand_chain(), device_graph(2), 0, trace=True, **EXACT)
    dev = r.memory["gpu0"]
    static = 8 * 60
    assert dev.op[0] == "static" and dev.bytes[0] == static
    # the forward allocates x, a, b, c in turn; x goes at a's end, a at b's end (a, b are kept, so not)
    assert dev.op[1:3] == ["forward/x/mb0", "forward/a/mb0"]
    assert dev.delta[1:3].tolist() == [X, A]
    assert dev.peak() == static + X + A + B + C + B
    assert dev.bytes[-1] == static


def test_files_in_zpp_mem_format_and_plot(tmp_path):
    net = sim.zoo.load("resnet18", batch_size=8).regroup(2)
    r = sim.simulate(net, "cpu+4xV100-pcie3", [1, 2], trace=True)
    paths = r.memory.save(tmp_path / "step")
    assert sorted(p.rsplit(".", 2)[1] for p in paths) == ["gpu0", "gpu1"]
    for path, peak in zip(sorted(paths), r.peak_memory[1:3]):
        rows = [line.split(" ") for line in open(path).read().splitlines()]
        assert all(len(row) == 4 for row in rows)
        used = [int(row[1]) for row in rows]
        deltas = [int(row[2]) for row in rows]
        assert max(used) == peak
        assert np.cumsum(deltas).tolist() == used
        times = [float(row[0]) for row in rows]
        assert times == sorted(times)
        assert 0 <= times[0] and times[-1] <= r.raw_step_time * 1e6 + 1e-3  # within the step
    png = tmp_path / "memory.png"
    r.memory.plot(png)
    assert png.stat().st_size > 1000


def test_bad_outputs_and_device_names_are_one_line_errors(tmp_path, monkeypatch):
    # they were FileNotFoundError, matplotlib's ValueError and KeyError; a failed plot replaced a good one
    r = sim.simulate(hand_chain(), device_graph(2), 1, trace=True, **EXACT)
    names = [d.device for d in r.memory.devices]
    with pytest.raises(sim.SimulatorError, match=f"^no device 'gpu7' in this timeline.*; name one of "
                                                 f"{', '.join(names)}$"):
        r.memory["gpu7"]
    with pytest.raises(KeyError):   # still a mapping's lookup error
        r.memory["gpu7"]
    missing = tmp_path / "nodir" / "m"
    with pytest.raises(sim.SimulatorError, match=f"^{missing}\\.{names[1]}\\.txt: no directory '{missing.parent}' "
                                                 "to write it in; "):
        r.memory.save(missing)
    with pytest.raises(sim.SimulatorError, match=r"m\.xyz: no plot format for '\.xyz' files; name a file ending "
                                                 r"in one of .*\.png"):
        r.memory.plot(tmp_path / "m.xyz")
    png = tmp_path / "m.png"
    r.memory.plot(png)
    before = png.read_bytes()

    def fails(self, name, **kwargs):
        open(name, "wb").write(b"partial")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("matplotlib.figure.Figure.savefig", fails)
    with pytest.raises(sim.SimulatorError, match=f"^{png}: cannot write: No space left on device$"):
        r.memory.plot(png)
    assert png.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.png"]


def test_no_memory_timeline_without_trace():
    r = sim.simulate(hand_chain(), device_graph(2), 0, **EXACT)
    assert r.memory is None


def test_timeline_under_remat_is_the_remat_replay(tmp_path):
    # a device that fits its budget by rematerialising: its timeline (API, files, plot) peaks at the run's
    # peak, under the budget, not at the peak without remat
    net = sim.zoo.load("resnet18", batch_size=8).regroup(4)
    r = sim.simulate(net, "cpu+2xV100-pcie3", [1, 1, 2, 2], micro_batches=2, schedule="1f1b", trace=True,
                     memory_budget=120e6, remat="all")
    assert r.remat_used.tolist() == [False, True, False] and r.feasible
    assert r.memory.peak().tolist() == r.peak_memory.tolist()
    assert r.peak_memory[1] <= 120e6
    gpu0 = r.memory["gpu0"]
    assert gpu0.remat and not r.memory["gpu1"].remat
    assert gpu0.op[0] == "static" and any(o.endswith("/end") for o in gpu0.op)
    assert any("/remat" in o for o in gpu0.op)
    assert (np.diff(gpu0.time) >= 0).all()
    paths = r.memory.save(tmp_path / "step")
    rows = [line.split(" ") for line in open(paths[0]).read().splitlines()]
    used = [int(row[1]) for row in rows]
    assert max(used) == r.peak_memory[1] and np.cumsum([int(row[2]) for row in rows]).tolist() == used
