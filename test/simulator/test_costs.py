"""Cost models: Paleo's per-layer times (checked against hand-computed Paleo
numbers) and the roofline model."""
from __future__ import annotations

import pytest

import simulator as sim
from simulator.graph import SimulatorError

N = 128
GIB = 2.0 ** 30
# a V100 of Exprimo's malvik-4gpu.json, in Paleo's units
CLOCK_MHZ, PEAK_GFLOPS, BW_GBS = 1312, 14000, 900
PPP_COMP, PPP_COMM = 0.9, 0.25


def paleo_comp(flops: float) -> float:
    """Paleo: max(one cycle, FLOPs / peak / PPP_comp) in seconds (0 FLOPs cost nothing)."""
    return 0.0 if flops == 0 else max(1 / (CLOCK_MHZ * 1e6), flops / 1e9 / PEAK_GFLOPS / PPP_COMP)


def paleo_mem(nbytes: float) -> float:
    """Paleo: max(one cycle, bytes / 2^30 / (GB/s) / PPP_comp) in seconds."""
    return max(1 / (CLOCK_MHZ * 1e6), nbytes / GIB / BW_GBS / PPP_COMP)


@pytest.fixture(scope="module")
def paleo_resnet(paleo_nets, reference):
    net = sim.load_network(paleo_nets / "resnet50.json")
    devices = sim.load_device_graph(reference / "exprimo-device-graphs" / "malvik-4gpu.json")
    return net, devices, sim.Simulator(net, devices, cost_model="paleo", batch_size=N,
                                       ppp_comp=PPP_COMP, ppp_comm=PPP_COMM)


def test_paleo_conv1_forward_on_a_v100(paleo_resnet):
    net, _, s = paleo_resnet
    # 7x7/2 SAME on 224x224x3 -> 112x112x64; Paleo pads by ((112-1)*2 + 7 - 224) // 2 = 2
    flops = 2 * 7 * 7 * 3 * 112 * 112 * 64 * N
    expected = (paleo_comp(flops) + paleo_mem(N * 228 * 228 * 3 * 4) + paleo_mem(7 * 7 * 3 * 64 * 4)
                + paleo_mem(N * 112 * 112 * 64 * 4))
    i = net.index["conv1"]
    assert s.costs.fwd[i, 1] == pytest.approx(expected, rel=1e-12)
    # its parent is the input: Paleo skips the data gradient, and Exprimo has no weight gradient
    assert s.costs.bwd[i, 1] == 0.0


def test_paleo_3x3_conv_forward_and_data_gradient(paleo_resnet):
    net, _, s = paleo_resnet
    # res2a_branch2b: 3x3/1 SAME, 55x55x64 -> 55x55x64, pad 1. The data gradient is the
    # same-shaped stride-1 convolution (no holes), so it costs what the forward costs.
    flops = 2 * 3 * 3 * 64 * 55 * 55 * 64 * N
    expected = (paleo_comp(flops) + paleo_mem(N * 57 * 57 * 64 * 4) + paleo_mem(3 * 3 * 64 * 64 * 4)
                + paleo_mem(N * 55 * 55 * 64 * 4))
    i = net.index["res2a_branch2b"]
    assert s.costs.fwd[i, 1] == pytest.approx(expected, rel=1e-12)
    assert s.costs.bwd[i, 1] == pytest.approx(expected, rel=1e-12)


def test_paleo_inner_product_and_pooling(paleo_resnet):
    net, _, s = paleo_resnet
    fc = net.index["fc1000"]
    fwd = paleo_comp(2 * N * 2048 * 1000) + paleo_mem(N * 2048 * 4) + paleo_mem(2048 * 1000 * 4) \
        + paleo_mem(N * 1000 * 4)
    dgrad = paleo_comp(2 * N * 1000 * 2048) + paleo_mem(N * 1000 * 4) + paleo_mem(1000 * 2048 * 4) \
        + paleo_mem(N * 2048 * 4)
    assert s.costs.fwd[fc, 1] == pytest.approx(fwd, rel=1e-12)
    assert s.costs.bwd[fc, 1] == pytest.approx(dgrad, rel=1e-12)
    pool = net.index["pool1"]  # 3x3/2 VALID: 112 -> 55
    t = paleo_comp(2 * 3 * 3 * 64 * 55 * 55 * N) + paleo_mem(N * 112 * 112 * 64 * 4) \
        + paleo_mem(N * 55 * 55 * 64 * 4)
    assert s.costs.fwd[pool, 1] == pytest.approx(t, rel=1e-12)
    assert s.costs.bwd[pool, 1] == pytest.approx(t, rel=1e-12)
    # layers Paleo does not model cost nothing; no optimizer update in Exprimo's model
    assert s.costs.fwd[net.index["res2a"], 1] == 0.0 and s.costs.fwd[net.index["prob"], 1] == 0.0
    assert not s.costs.upd.any()


def test_paleo_cpu_uses_its_own_clock_and_peak(paleo_resnet):
    net, _, s = paleo_resnet
    i = net.index["fc1000"]
    # Xeon Gold 6132 in malvik: 1800 GFLOP/s, 76.8 GB/s
    t = max(1 / 145600e6, 2 * N * 2048 * 1000 / 1800e9 / PPP_COMP) + sum(
        max(1 / 145600e6, b / GIB / 76.8 / PPP_COMP) for b in (N * 2048 * 4, 2048 * 1000 * 4, N * 1000 * 4))
    assert s.costs.fwd[i, 0] == pytest.approx(t, rel=1e-12)


def test_paleo_transfer_time_on_a_pcie_channel(paleo_resnet):
    net, devices, _ = paleo_resnet
    placement = {"*": 2, "data": 1, "conv1": 1}  # conv1's output crosses gpu0 -> gpu1
    r = sim.simulate(net, devices, placement, cost_model="paleo", batch_size=N, trace=True)
    hops = [e for e in r.trace.events if e.kind == "activation"]
    assert [(h.name, h.src, h.dst) for h in hops] == [("conv1", "gpu0", "gpu1")]
    nbytes = N * 112 * 112 * 64 * 4
    # bytes / 2^30 / (128 Gbit/s / 8) / PPP_comm, floored at one cycle of the sender
    assert hops[0].end - hops[0].start == pytest.approx(nbytes / GIB / (128 / 8) / PPP_COMM, rel=1e-12)
    assert hops[0].bytes == nbytes


def test_paleo_needs_fp32():
    with pytest.raises(SimulatorError, match="paleo cost model counts 4-byte floats only"):
        sim.Simulator(sim.zoo.load("resnet18"), sim.devices.preset("cpu+1xV100-pcie3"),
                      cost_model="paleo", precision="fp16")


# ------------------------------------------------------------------ roofline
@pytest.fixture(scope="module")
def zoo_resnet():
    return sim.zoo.load("resnet50", batch_size=64)


def _roofline(flops, nbytes, peak, bw, ce, me, launch=5e-6):
    return max(flops / (peak * ce), nbytes / (bw * me)) + launch


def test_roofline_forward_of_a_convolution(zoo_resnet):
    g = sim.devices.preset("cpu+1xV100-pcie3")
    s = sim.Simulator(zoo_resnet, g)
    i = next(k for k, l in enumerate(zoo_resnet.layers) if l.kind == "conv2d" and l.out_shape[0] == 56)
    l = zoo_resnet.layers[i]
    nbytes = (l.fwd_read + l.fwd_write) * 64 * 4 + l.params * 4
    expected = _roofline(l.fwd_flops * 64, nbytes, 14e12, 900e9, 0.6, 0.8)
    assert s.costs.fwd[i, 1] == pytest.approx(expected, rel=1e-12)
    # the CPU runs the same kernel at half efficiency on its own peak
    cpu_expected = _roofline(l.fwd_flops * 64, nbytes, 1164.8e9, 128e9, 0.6 * 0.5, 0.8, launch=2e-6)
    assert s.costs.fwd[i, 0] == pytest.approx(cpu_expected, rel=1e-12)


def test_roofline_backward_is_data_plus_weight_gradient(zoo_resnet):
    g = sim.devices.preset("cpu+1xV100-pcie3")
    s = sim.Simulator(zoo_resnet, g)
    first = next(k for k, l in enumerate(zoo_resnet.layers) if l.kind == "conv2d")
    l = zoo_resnet.layers[first]
    # the first convolution's input is the data: no data gradient, only the weight gradient
    wgrad = _roofline(l.wgrad_flops * 64, (224 * 224 * 3 + l.out_elems) * 64 * 4 + l.params * 4,
                      14e12, 900e9, 0.6, 0.8)
    assert s.costs.bwd[first, 1] == pytest.approx(wgrad, rel=1e-12)
    relu = next(k for k, l in enumerate(zoo_resnet.layers) if l.kind == "relu")
    assert s.costs.bwd[relu, 1] > 0 and s.costs.upd[relu, 1] == 0.0  # no weights, no update


def test_precision_changes_peak_and_bytes(zoo_resnet):
    g = sim.devices.preset("cpu+1xV100-pcie3")
    fp32 = sim.Simulator(zoo_resnet, g)
    fp16 = sim.Simulator(zoo_resnet, g, precision="fp16")
    i = next(k for k, l in enumerate(zoo_resnet.layers) if l.kind == "linear")
    l = zoo_resnet.layers[i]
    nbytes16 = (l.fwd_read + l.fwd_write) * 64 * 2 + l.params * 2
    assert fp16.costs.fwd[i, 1] == pytest.approx(
        _roofline(l.fwd_flops * 64, nbytes16, 112e12, 900e9, 0.7, 0.8), rel=1e-12)
    assert fp16.costs.xfer_bytes[i] == fp32.costs.xfer_bytes[i] / 2


def test_embedding_forward_reads_the_rows_looked_up_not_the_table():
    # the forward was charged the whole table: 1.4 ms (1 GB) for a 1M-word vocabulary, 7 us for 1,000 words
    from simulator.graph import Layer, Network
    from simulator.ops import Embedding, Input, Linear
    g = sim.devices.preset("cpu+1xV100-pcie3")
    fwd, bwd = {}, {}
    for vocab in (1_000, 100_000, 1_000_000):
        net = Network.build("lm", [Layer("ids", Input((20,))), Layer("emb", Embedding(vocab, 256), ("ids",)),
                                   Layer("fc", Linear(10), ("emb",))], batch_size=32)
        s = sim.Simulator(net, g)
        fwd[vocab], bwd[vocab] = s.costs.fwd[1, 1], s.costs.bwd[1, 1]
    ids, rows = 32 * 20, 32 * 20 * 256          # ids read; rows read = output written
    assert fwd[1_000_000] == fwd[1_000] == pytest.approx(
        _roofline(0, (ids + 2 * rows) * 4, 14e12, 900e9, 0.5, 0.8), rel=1e-12)
    # the weight gradient stays dense (PyTorch's default nn.Embedding writes the table's size)
    assert bwd[1_000_000] == pytest.approx(
        _roofline(rows, (ids + rows) * 4 + 1_000_000 * 256 * 4, 14e12, 900e9, 0.5, 0.8), rel=1e-12)


@pytest.mark.parametrize("cost_model", ["roofline", "paleo"])
def test_dropout_with_rate_zero_is_the_identity(cost_model):
    # F.dropout(x, 0.0, training=True) is x: no kernel, no mask, no new tensor (it was costed as a real dropout,
    # so the zoo's dropout=0.0 changed nothing); a rate above 0 keeps its costs
    from simulator.graph import Layer, Network
    from simulator.ops import Dropout, Input, Linear
    g = sim.devices.preset("cpu+1xV100-pcie3")

    def run(*drops):
        layers, x = [Layer("x", Input((512,)))], "x"
        for k, rate in enumerate(drops):
            layers += [Layer(f"fc{k}", Linear(512), (x,))]
            x = f"fc{k}"
            if rate is not None:
                layers += [Layer(f"drop{k}", Dropout(rate), (x,))]
                x = f"drop{k}"
        r = sim.simulate(Network.build("mlp", layers, batch_size=64), g, 1, cost_model=cost_model)
        return r.step_time, r.peak_memory[1]

    plain = run(None, None)
    assert run(0.0, 0.0) == plain
    step, peak = run(0.1, 0.1)
    assert step > plain[0] and peak > plain[1]


@pytest.mark.parametrize("optimizer, bytes_per_param, flops_per_param", [
    ("sgd", 12, 2), ("momentum", 20, 4), ("adam", 28, 12)])
def test_optimizer_update_reads_and_writes_its_state(zoo_resnet, optimizer, bytes_per_param,
                                                     flops_per_param):
    g = sim.devices.preset("cpu+1xV100-pcie3")
    s = sim.Simulator(zoo_resnet, g, optimizer=optimizer)
    i = next(k for k, l in enumerate(zoo_resnet.layers) if l.kind == "linear")
    p = zoo_resnet.layers[i].params
    expected = _roofline(p * flops_per_param, p * bytes_per_param, 14e12, 900e9, 0.5, 0.8)
    assert s.costs.upd[i, 1] == pytest.approx(expected, rel=1e-12)


def test_efficiencies_are_configurable_per_op_kind_and_device(zoo_resnet):
    g = sim.devices.preset("cpu+1xV100-pcie3")
    base = sim.Simulator(zoo_resnet, g, memory_efficiency=1.0, launch_overhead=0.0)
    slow = sim.Simulator(zoo_resnet, g, efficiency={"conv2d": 0.3}, memory_efficiency=1.0,
                         launch_overhead=0.0, device_efficiency={"gpu0": 0.5})
    i = max(range(len(zoo_resnet.layers)), key=lambda k: zoo_resnet.layers[k].fwd_flops)
    assert zoo_resnet.layers[i].kind == "conv2d"
    # compute-bound: efficiency 0.6 -> 0.3 x 0.5 makes it 4x slower
    assert slow.costs.fwd[i, 1] == pytest.approx(4 * base.costs.fwd[i, 1], rel=1e-12)


@pytest.mark.parametrize("settings, message", [
    (dict(cost_model="exact"), "cost_model must be one of roofline, paleo"),
    (dict(precision="fp8"), "precision must be one of fp32, fp16, bf16"),
    (dict(ppp_comp=1.5), "ppp_comp must be in (0, 1]"),
    (dict(efficiency={"conv2d": "fast"}), "efficiency['conv2d'] must be a number"),
    (dict(optimiser="adam"), "unknown setting 'optimiser'"),
])
def test_bad_settings(settings, message, zoo_resnet):
    with pytest.raises(SimulatorError) as err:
        sim.Simulator(zoo_resnet, sim.devices.preset("cpu+1xV100-pcie3"), **settings)
    assert message in str(err.value)
