"""The Python interface: simulate, results, traces, placements and bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

import simulator as sim
from simulator.devices import DeviceGraph
from simulator.graph import SimulatorError
from simulator.ops import Input
from test_schedule_helpers import EXACT, Work, chain, gpu, net


@pytest.fixture(scope="module")
def resnet():
    return sim.zoo.load("resnet18", batch_size=32)


@pytest.fixture(scope="module")
def machine():
    return sim.devices.preset("cpu+4xV100-pcie3")


def test_result_fields(resnet, machine):
    G = len(resnet.groups)
    r = sim.simulate(resnet, machine, [1] * (G // 2) + [2] * (G - G // 2))
    assert r.step_time > 0 and r.feasible and r.step_time == r.raw_step_time
    assert r.throughput == pytest.approx(32 / r.step_time)
    assert isinstance(r.peak_memory, np.ndarray) and r.peak_memory.shape == (5,)
    assert r.peak_memory[1] > r.peak_memory[2] > 0 == r.peak_memory[0]
    assert (r.busy_time[1:3] > 0).all() and r.busy_time[0] == 0
    assert r.comm_bytes > 0 and r.comm_time > 0 and r.channel_busy.shape == (4,)
    d = r.to_dict()
    assert json.loads(json.dumps(d))["devices"][1]["name"] == "gpu0"


def test_placement_forms_agree(resnet, machine):
    G = len(resnet.groups)
    as_int = sim.simulate(resnet, machine, 2)
    as_list = sim.simulate(resnet, machine, [2] * G)
    as_names = sim.simulate(resnet, machine, ["gpu1"] * G)
    as_dict = sim.simulate(resnet, machine, {"*": "gpu1"})
    by_group = sim.simulate(resnet, machine, {g.name: 2 for g in resnet.groups})
    assert as_int.step_time == as_list.step_time == as_names.step_time == as_dict.step_time \
        == by_group.step_time
    # a layer's own entry wins over its group's
    first = resnet.groups[0]
    split = sim.simulate(resnet, machine, {"*": 2, resnet.layers[first.layers[-1]].name: 3})
    assert split.comm_bytes > 0 and split.busy_time[3] > 0


def test_trace_is_chrome_trace_json(tmp_path, resnet, machine):
    G = len(resnet.groups)
    r = sim.simulate(resnet, machine, [1, 2] * (G // 2) + [1] * (G % 2), trace=True)
    path = tmp_path / "trace.json"
    r.save_trace(path)
    data = json.loads(path.read_text())
    events = [e for e in data["traceEvents"] if e["ph"] == "X"]
    assert {"name", "cat", "ph", "ts", "dur", "pid", "tid", "args"} <= set(events[0])
    cats = {e["cat"] for e in events}
    assert {"forward", "backward", "update", "activation", "gradient"} <= cats
    assert len([e for e in events if e["cat"] == "forward"]) == len(resnet.layers)
    # the trace covers the step: its last event ends at the step time (microseconds)
    assert max(e["ts"] + e["dur"] for e in events) == pytest.approx(r.step_time * 1e6)
    names = {e["args"]["name"] for e in data["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name"}
    assert {"gpu0", "gpu1"} <= names
    with pytest.raises(SimulatorError, match="trace=True"):
        sim.simulate(resnet, machine, 1).save_trace(tmp_path / "none.json")


def test_save_trace_errors_are_one_line_and_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    # they were IsADirectoryError, FileNotFoundError; a full disk left a partial file in place of a good one
    r = sim.simulate(chain(3), "cpu+2xV100-pcie3", 1, trace=True)
    for path, message in ((tmp_path, "this is a directory, not a file; give a file name"),
                          (tmp_path / "nodir" / "t.json", f"no directory '{tmp_path / 'nodir'}' to write it in; ")):
        with pytest.raises(SimulatorError) as err:
            r.save_trace(path)
        assert str(err.value).startswith(f"{path}: {message}") and "\n" not in str(err.value)
    good = tmp_path / "t.json"
    r.save_trace(good)
    before = good.read_bytes()

    def full_disk(value, f):
        f.write("{")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("simulator.trace.json.dump", full_disk)
    with pytest.raises(SimulatorError, match=f"^{good}: cannot write: No space left on device$"):
        r.save_trace(good)
    assert good.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]


def test_prepared_simulator_is_reused_through_the_cache(resnet, machine):
    a = sim.prepare(resnet, machine, batch_size=32)
    assert sim.prepare(resnet, machine, batch_size=32) is a
    assert sim.prepare(resnet, machine, batch_size=64) is not a
    assert sim.prepare(resnet, "cpu+4xV100-pcie3") is sim.prepare(resnet, "cpu+4xV100-pcie3")


def test_network_figures(resnet):
    assert resnet.params == 11_689_512
    assert resnet.forward_flops > 3.6e9 and len(resnet.groups) > 1


@pytest.mark.parametrize("placement, message", [
    (9, "placement: device 9 does not exist (5 devices: 0=cpu0, 1=gpu0"),
    ("gpu7", "placement: no device named 'gpu7'"),
    ([1, 2], "placement lists 2 devices but network 'resnet18' has"),
    ({"conv1": 1, "layer9": 2}, "placement names 'layer9', which is neither a layer nor a group"),
    ({"conv1": 1}, "placement does not say where to put"),
    (1.5, "a placement is an int, a list (one device per group) or a dict"),
])
def test_bad_placements(resnet, machine, placement, message):
    with pytest.raises(SimulatorError) as err:
        sim.simulate(resnet, machine, placement)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("settings, message", [
    (dict(micro_batches=0), "micro_batches must be an integer >= 1, not 0"),
    (dict(micro_batches=3), "batch size 32 is not divisible by replicas x micro_batches = 1 x 3 = 3"),
    (dict(replicas=2, micro_batches=32), "not divisible by replicas x micro_batches = 2 x 32 = 64"),
    (dict(schedule="interleaved"), "schedule must be one of gpipe, 1f1b"),
    (dict(memory="spill"), "memory must be one of infeasible, penalty, ignore"),
    (dict(batch_size=0), "batch_size must be an integer >= 1, not 0"),
    # misspelt keys were ignored, efficiencies above 1 (faster than the peak) accepted, and messages named
    # 'efficiency' whatever the setting
    (dict(efficiency={"Conv2d": 0.1}), "efficiency: unknown key 'Conv2d' (did you mean 'conv2d'?); its keys "
     "are op kinds, 'default' and 'optimizer'"),
    (dict(memory_efficiency={"conv2dd": 0.1}), "memory_efficiency: unknown key 'conv2dd' (did you mean "
     "'conv2d'?); its keys are op kinds, 'default'"),
    (dict(device_efficiency={"gpuu": 0.1}), "device_efficiency: unknown key 'gpuu' (did you mean 'gpu'?); its "
     "keys are the device names, models and kinds of cpu+4xV100-pcie3, and 'default'"),
    (dict(launch_overhead={"gpu9": 1.0}), "launch_overhead: unknown key 'gpu9' (did you mean 'gpu'?)"),
    (dict(efficiency={"conv2d": 2.0}),
     "efficiency['conv2d'] must be a number in (0, 1] (a fraction of the peak), not 2.0"),
    (dict(efficiency={"conv2d": float("inf")}), "efficiency['conv2d'] must be a number in (0, 1] (a fraction "
     "of the peak), not inf"),
    (dict(efficiency={"conv2d": float("nan")}), "efficiency['conv2d'] must be a number in (0, 1] (a fraction "
     "of the peak), not nan"),
    (dict(memory_efficiency=5),
     "memory_efficiency must be a number in (0, 1] (a fraction of the peak), not 5"),
    (dict(memory_efficiency=0),
     "memory_efficiency must be a number in (0, 1] (a fraction of the peak), not 0"),
    (dict(device_efficiency={"gpu": 0}), "device_efficiency['gpu'] must be a number in (0, 1] (a fraction "
     "of the peak), not 0"),
    (dict(launch_overhead={"gpu": -1e-6}), "launch_overhead['gpu'] must be a number of seconds >= 0, not -1e-06"),
])
def test_bad_settings(resnet, machine, settings, message):
    with pytest.raises(SimulatorError) as err:
        sim.simulate(resnet, machine, 1, **settings)
    assert message in str(err.value)


def test_efficiency_keys_may_name_any_op_kind_device_name_model_or_kind(resnet, machine):
    base = sim.simulate(resnet, machine, 1).step_time
    # an op kind this network lacks, the optimizer, a device name, a model, a kind of another graph
    same = sim.simulate(resnet, machine, 1, efficiency={"lstm": 0.2, "optimizer": 0.5},
                        memory_efficiency={"layer_norm": 0.5, "default": 0.8}, device_efficiency={"cpu": 0.5},
                        launch_overhead={"gpu3": 5e-6, "NVIDIA V100-PCIE-32GB": 5e-6}).step_time
    assert same == base
    slower = sim.simulate(resnet, machine, 1, efficiency={"conv2d": 0.3}, device_efficiency={"gpu0": 0.5})
    assert slower.step_time > base


def test_no_route_is_reported_when_a_placement_needs_it():
    g = DeviceGraph([gpu("a"), gpu("b")], [], {})
    spec = [("x", Input((1,)), ()), ("y", Work(), ("x",))]
    n = net(spec)
    assert sim.simulate(n, g, 1, **EXACT).feasible  # a graph in pieces is fine while unused
    with pytest.raises(SimulatorError, match="no route between devices a and b"):
        sim.simulate(n, g, {"x": 0, "y": 1}, **EXACT)


def test_unknown_device_graph_inputs():
    n = chain(2)
    with pytest.raises(SimulatorError, match="preset 'cpu\\+4xV100-pcie9': unknown link 'pcie9'"):
        sim.simulate(n, "cpu+4xV100-pcie9", 0)
    with pytest.raises(SimulatorError, match="devices must be a DeviceGraph"):
        sim.simulate(n, 42, 0)
    with pytest.raises(SimulatorError, match="devices must be a DeviceGraph"):
        sim.Simulator(n, 42)


def test_a_prepared_simulator_takes_a_preset_name_or_a_file_as_simulate_does(resnet, machine, reference):
    # sim.Simulator(net, "cpu+4xV100-pcie3") was "expected a DeviceGraph, not str"
    by_name = sim.Simulator(resnet, "cpu+4xV100-pcie3").run(1)
    assert by_name.step_time == sim.Simulator(resnet, machine).run(1).step_time
    assert by_name.device_names == ["cpu0", "gpu0", "gpu1", "gpu2", "gpu3"]
    by_file = sim.Simulator(resnet, reference / "exprimo-device-graphs" / "malvik-4gpu.json").run(1)
    assert by_file.step_time == sim.simulate(resnet, reference / "exprimo-device-graphs" / "malvik-4gpu.json",
                                             1).step_time


def test_deterministic(resnet, machine):
    G = len(resnet.groups)
    p = list(np.random.default_rng(3).integers(0, 5, G))
    a = sim.simulate(resnet, machine, p, micro_batches=4, schedule="1f1b")
    b = sim.Simulator(resnet, machine, micro_batches=4, schedule="1f1b").run(p)
    assert a.step_time == b.step_time and (a.peak_memory == b.peak_memory).all()


def test_paleo_networks_with_exprimo_graphs_end_to_end(paleo_nets, reference):
    graphs = reference / "exprimo-device-graphs"
    g = sim.load_device_graph(graphs / "malvik-4gpu.json")
    alex = sim.load_network(paleo_nets / "alex_v2.json")
    grouped, devices = alex.file_placement_groups()  # Exprimo's per-layer "device" fields
    r = sim.simulate(grouped, g, devices, cost_model="paleo", batch_size=128)
    assert r.feasible and r.step_time > 0
    inception = sim.load_network(paleo_nets / "inception_v3.json")
    G = len(inception.groups)
    spread = [1 + i % 4 for i in range(G)]
    assert sim.simulate(inception, g, spread, cost_model="paleo", batch_size=128).feasible
    # 0.2 GB per GPU cannot hold Inception's activations at batch 128
    small = sim.load_device_graph(graphs / "malvik-4gpu-reduced-alexnet.json")
    assert not sim.simulate(inception, small, spread, cost_model="paleo", batch_size=128).feasible


def test_settings_taken_out_of_numpy_arrays_are_numbers():
    # a sweep writes budgets and batch sizes from numpy arrays: np.float64 / np.int64, not float / int
    import numpy as np
    net = sim.zoo.load("resnet18")
    base = sim.simulate(net, "cpu+2xV100-pcie3", 1, batch_size=32, micro_batches=2)
    same = sim.simulate(net, "cpu+2xV100-pcie3", 1, batch_size=np.int64(32), micro_batches=np.int64(2))
    assert same.step_time == base.step_time
    budget = np.array([0.7 * max(base.peak_memory)], dtype=np.float32)   # np.float32 is no float subclass
    a = sim.simulate(net, "cpu+2xV100-pcie3", 1, batch_size=32, memory_budget=budget[0].item(), remat="all")
    b = sim.simulate(net, "cpu+2xV100-pcie3", 1, batch_size=32, memory_budget=budget[0], remat="all")
    c = sim.simulate(net, "cpu+2xV100-pcie3", 1, batch_size=32, memory_budget={"gpu0": budget[0]}, remat="all")
    assert a.step_time == b.step_time == c.step_time and a.feasible


def test_a_network_of_inputs_only_is_an_error(tmp_path):
    # it simulated as step time 0, throughput 0.00, feasible
    path = tmp_path / "inputs.json"
    path.write_text(json.dumps({"layers": {"data": {"type": "Input", "parents": [], "tensor": [8, 32, 32, 3]}}}))
    with pytest.raises(SimulatorError) as err:
        sim.simulate(sim.load_network(str(path)), "cpu+1xV100-pcie3", 1)
    assert str(err.value) == f"{path}: network 'inputs' has no layer to train (only inputs)"
