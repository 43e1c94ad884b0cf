"""Weights shared across devices (GPT-2's LM head tied to wte, a module called twice): the device running a
sharing layer holds its own copy of the shared weights (weights, gradient, optimizer state) and updates it; the
two copies' gradients are exchanged once per step (as Megatron-LM's all-reduce of the tied embedding between
the first and last pipeline stage) after both sides' backwards, before both updates. A sharing layer on its
owner's device changes nothing."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.memory import bytes_per_param
from simulator.placement import layer_devices

PRESET = "cpu+4xA100-nvlink3"   # cpu, gpu0..gpu3 (devices 1..4)


@pytest.fixture(scope="module")
def gpt2():
    return sim.zoo.load("gpt2", batch_size=4, seq_len=32)


def _split(net):
    G = len(net.groups)   # embeddings, h.0 .. h.11, head (lm_head with ln_f): the head on gpu1, wte on gpu0
    return [1] * (G // 2) + [2] * (G - G // 2)


def _own_static(s, net, placement, device):
    per_layer = layer_devices(placement, net, s.devices)
    return float(s.costs.static_bytes[per_layer == device].sum())


@pytest.mark.parametrize("kw", [{}, {"micro_batches": 2, "schedule": "1f1b"}])
def test_head_on_another_device_holds_and_syncs_a_copy_of_wte(gpt2, kw):
    wte = gpt2.layer("wte")
    pl = _split(gpt2)
    r = sim.simulate(gpt2, PRESET, pl, optimizer="adam", trace=True, **kw)
    s = sim.prepare(gpt2, PRESET, optimizer="adam", **kw)
    # gpu1 runs lm_head: it holds its own layers' weights and a copy of wte with its gradient and Adam state
    assert r.peak_memory[2] > _own_static(s, gpt2, pl, 2) + wte.params * bytes_per_param("fp32", "adam")
    assert r.memory.peak().tolist() == r.peak_memory.tolist()   # the memory timeline agrees
    # the gradient of wte (fp32) goes each way between gpu0 and gpu1, once, on the all-reduce queues
    ties = [e for e in r.trace.events if e.kind == "all-reduce"]
    assert sorted((e.src, e.dst) for e in ties) == [("gpu0", "gpu1"), ("gpu1", "gpu0")]
    assert [e.bytes for e in ties] == [4.0 * wte.params] * 2
    assert r.comm_bytes > 2 * 4.0 * wte.params
    # after both sides' backwards of the shared weights, before both updates
    ev = r.trace.events
    assert min(e.start for e in ties) >= max(e.end for e in ev if e.kind == "backward"
                                              and e.name in ("wte", "lm_head"))
    updates = {e.resource: e for e in ev if e.kind == "update"
               and e.name in ("embeddings@gpu0", "head@gpu1")}
    assert set(updates) == {"gpu0", "gpu1"}
    assert min(u.start for u in updates.values()) >= max(e.end for e in ties)
    # gpu1 updates its copy of wte too: its update takes longer than wte's alone
    assert updates["gpu1"].end - updates["gpu1"].start > s.costs.upd[gpt2.index["wte"], 2]
    # the network's parameter count stays the true one: wte's weights once
    assert gpt2.params == 124439808 and gpt2.layer("lm_head").params == 0


def test_each_replica_holds_its_copy_and_syncs_it(gpt2):
    # two replicas: gpu0/gpu1 and gpu2/gpu3; the copy of wte on gpu1 and gpu3 is all-reduced between the
    # replicas (ring, steps 0 and 1) like any bucket, then exchanged with its replica's wte (step 2)
    wte = gpt2.layer("wte")
    pl = _split(gpt2)
    kw = dict(optimizer="adam", replicas=2, micro_batches=2, schedule="1f1b")
    r = sim.simulate(gpt2, PRESET, pl, trace=True, **kw)
    s = sim.prepare(gpt2, PRESET, **kw)
    copy = wte.params * bytes_per_param("fp32", "adam")
    own = _own_static(s, gpt2, pl, 2)
    assert r.peak_memory[2] > own + copy and r.peak_memory[4] > own + copy
    assert r.peak_memory[2] == r.peak_memory[4] and r.peak_memory[1] == r.peak_memory[3]
    assert r.memory.peak().tolist() == r.peak_memory.tolist()
    ties = [e for e in r.trace.events if e.kind == "all-reduce" and e.micro_batch == 2]
    assert sorted((e.src, e.dst) for e in ties) == [("gpu0", "gpu1"), ("gpu1", "gpu0"), ("gpu2", "gpu3"),
                                                    ("gpu3", "gpu2")]
    assert {e.bytes for e in ties} == {4.0 * wte.params}
    ring = [e for e in r.trace.events if e.kind == "all-reduce" and e.name == "head@gpu1"]
    assert max(e.end for e in ring if e.micro_batch < 2) <= min(e.start for e in ties)


def test_module_called_twice_on_two_devices():
    import torch
    nn = torch.nn

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(512, 512)

        def forward(self, x):
            return self.l(torch.relu(self.l(x)))

    net = sim.from_torch(Twice(), torch.randn(2, 512))
    second = next(l.name for l in net.layers if l.shares_weights_with)
    weights = net.params * bytes_per_param("fp32", "adam")
    kw = dict(batch_size=8, optimizer="adam", trace=True)
    same = sim.simulate(net, "cpu+2xA100-nvlink3", {"*": 1}, **kw)
    split = sim.simulate(net, "cpu+2xA100-nvlink3", {"*": 1, second: 2}, **kw)
    assert same.peak_memory[2] == 0 and same.comm_bytes == 0
    assert split.peak_memory[2] > weights          # was: its activations only
    assert split.peak_memory[1] == same.peak_memory[1]
    assert split.memory.peak().tolist() == split.peak_memory.tolist()
    assert sum(e.bytes for e in split.trace.events if e.kind == "all-reduce") == 2 * 4.0 * net.params
    assert net.params == 512 * 512 + 512


# today's figures (before tied copies existed): a sharing layer on its owner's device, and a network without
# sharing, keep them exactly
UNCHANGED = {
    ("one", False): (0.010778429391250052, [0.0, 1114861568.0, 0.0, 0.0, 0.0], 0.0),
    ("one", True): (0.01074360839842052, [0.0, 2020872704.0, 2020872704.0, 0.0, 0.0], 995518464.0),
    ("head_with_wte", False): (0.010360428917606109, [0.0, 342388736.0, 774438912.0, 0.0, 0.0], 1572864.0),
    ("head_with_wte", True): (0.008652169830691652, [0.0, 637090432.0, 1407381504.0, 637090432.0, 1407381504.0],
                              997091328.0),
}


@pytest.mark.parametrize("case,big", sorted(UNCHANGED))
def test_sharing_on_the_owners_device_keeps_todays_figures(gpt2, case, big):
    G = len(gpt2.groups)
    pl = [1] * G if case == "one" else [1] + [2] * (G - 2) + [1]   # the head with the embeddings
    kw = dict(optimizer="adam", replicas=2, micro_batches=2, schedule="1f1b") if big else {}
    r = sim.simulate(gpt2, PRESET, pl, **kw)
    assert (r.step_time, r.peak_memory.tolist(), r.comm_bytes) == UNCHANGED[case, big]


def test_network_without_sharing_keeps_todays_figures():
    net = sim.zoo.load("resnet18", batch_size=8).regroup(4)
    r = sim.simulate(net, "cpu+4xV100-pcie3", [1, 1, 2, 2], replicas=2, micro_batches=2, schedule="1f1b",
                     optimizer="adam")
    assert (r.step_time, r.peak_memory.tolist(), r.comm_bytes) == (
        0.006417795583492066, [0.0, 91945984.0, 178462336.0, 91945984.0, 178462336.0], 103149888.0)
