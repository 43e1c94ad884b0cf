"""Traces of simulator networks: forward, backward and update on one device, with the
cost model's seconds and the memory model's sizes."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.costs import build_costs
from simulator.devices import DeviceGraph, device
from simulator.graph import SimulatorError
from simulator.remat import baseline, replay, trace_from_network
from simulator.settings import Settings


def _costs(net, batch, gpu="V100-PCIE"):
    g = DeviceGraph(devices=[device(gpu, "gpu0")], channels=[], links={})
    return build_costs(net, g, Settings.make(batch_size=batch), batch)


def test_paleo_network_trace_matches_the_cost_and_memory_model():
    net = sim.load_network("mnist.json")
    t = trace_from_network(net, batch_size=64)
    c = _costs(net, 64)
    names = t.op_names
    layers = [l for l in net.layers if l.kind != "input"]
    assert sum(n.endswith(".forward") for n in names) == len(layers)
    assert sum(n.endswith(".update") for n in names) == sum(l.params > 0 for l in net.layers)
    # a chain has no gradient to sum: compute is exactly forward + backward + update
    assert not any(n.endswith(".accumulate") for n in names)
    _, compute = baseline(t)
    assert compute == pytest.approx(c.fwd.sum() + c.bwd[c.has_bwd].sum() + c.upd.sum(), rel=1e-12)
    # constants: the input and one weight tensor per layer with parameters, at 4 bytes
    weights = sorted(int(l.params) * 4 for l in net.layers if l.params > 0)
    inputs = [int(c.xfer_bytes[i]) for i, l in enumerate(net.layers) if l.kind == "input"]
    assert sorted(t.size[t.constant].tolist()) == sorted(weights + inputs)
    # every forward allocates its layer's output (views nothing)
    fwd_out = [t.size[t.outputs_of(o)][0] if len(t.outputs_of(o)) else 0
               for o, n in enumerate(names) if n.endswith(".forward")]
    assert fwd_out == [int(c.alloc_bytes[i]) for i, l in enumerate(net.layers) if l.kind != "input"]


@pytest.fixture(scope="module")
def resnet18():
    return sim.zoo.load("resnet18", batch_size=4)


def test_residual_gradients_are_summed_in_place(resnet18):
    net = resnet18
    t = trace_from_network(net)
    c = _costs(net, 4)
    n_acc = sum(n.endswith(".accumulate") for n in t.op_names)
    assert n_acc >= 8  # one per residual block at least
    _, compute = baseline(t)
    assert compute > c.fwd.sum() + c.bwd[c.has_bwd].sum() + c.upd.sum()
    peak, _ = baseline(t)
    held = int(t.size[t.constant].sum())
    assert peak > held + c.alloc_bytes.sum() * 0.5  # the forward's activations are all held at once
    r = replay(t, 0.7 * peak, "dtr_eq")
    assert not r.oom and 1.0 < r.overhead < 2.0


def test_device_and_precision_change_the_trace(resnet18):
    net = resnet18
    slow = baseline(trace_from_network(net, device="K80"))[1]
    fast = baseline(trace_from_network(net, device="A100-PCIE"))[1]
    assert fast < slow
    default = baseline(trace_from_network(net))
    assert baseline(trace_from_network(net, device="cpu+1xV100-pcie3")) == default
    assert baseline(trace_from_network(net, precision="fp16"))[0] < 0.6 * default[0]


def test_torch_fx_network():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    net = sim.from_torch(model, torch.zeros(16, 32))
    t = trace_from_network(net, batch_size=16)
    peak, compute = baseline(t)
    assert peak > (32 * 64 + 64 + 64 * 10 + 10) * 4 and compute > 0
    assert sum(n.endswith(".backward") for n in t.op_names) == 3


@pytest.mark.parametrize("name, model", [("A100", "A100-PCIE"), ("v100", "V100-PCIE"), ("H100", "H100-PCIE"),
                                         ("H200", "H200-NVL"), ("A10", "A10"), ("A100-SXM4", "A100-SXM4")])
def test_a_gpu_family_is_its_pcie_variant(name, model):
    # "A100" was refused with "did you mean 'A10'?", V100 and H100 too
    from simulator.devices import device
    from simulator.remat.from_network import one_device
    assert one_device(name).devices[0].model == device(model, "gpu0").model


def test_an_unknown_device_lists_the_gpus():
    from simulator.remat.from_network import one_device
    with pytest.raises(SimulatorError) as err:
        one_device("A1000")
    msg = str(err.value)
    assert msg.startswith("unknown device 'A1000' (did you mean 'A100'?); give a GPU family (K80, P100, V100, A100")
    assert "A100-SXM4" in msg and "cpu+4xV100-pcie3" in msg and "device file" in msg


def test_bad_inputs(resnet18):
    with pytest.raises(SimulatorError, match="expected a Network"):
        trace_from_network("resnet18")
    with pytest.raises(SimulatorError):
        trace_from_network(resnet18, device="no-such-gpu")
    with pytest.raises(SimulatorError):
        trace_from_network(resnet18, precision="fp8")
