"""Network.build: ordering, checks, gradients, saved activations."""
from __future__ import annotations

import pytest

from simulator.graph import Layer, Network, SimulatorError
from simulator.ops import Conv2d, Embedding, Input, Linear, Pool2d, add, relu


def small_layers() -> list[Layer]:
    return [
        Layer("data", Input((8, 8, 3))),
        Layer("conv", Conv2d(4, 3, 1, (1, 1)), ("data",)),
        Layer("relu", relu(), ("conv",)),
        Layer("pool", Pool2d("max", 2), ("relu",)),
        Layer("fc", Linear(10, flatten=True), ("pool",)),
    ]


def test_build_fills_every_field():
    net = Network.build("small", small_layers(), batch_size=16)
    conv = net.layer("conv")
    assert conv.in_shapes == ((8, 8, 3),) and conv.out_shape == (8, 8, 4)
    assert conv.params == 3 * 3 * 3 * 4 + 4
    assert conv.fwd_flops == 2 * 27 * 4 * 64 + 256
    assert (conv.fwd_read, conv.fwd_write) == (192, 256)
    assert net.params == conv.params + (4 * 4 * 4 * 10 + 10)
    assert net.forward_flops == sum(l.fwd_flops for l in net.layers)
    assert net.input_names == ("data",) and net.batch_size == 16
    assert net.children[net.index["conv"]] == [net.index["relu"]]
    assert len(net) == 5


def test_no_data_gradient_towards_the_input():
    net = Network.build("small", small_layers())
    conv, relu_ = net.layer("conv"), net.layer("relu")
    assert not conv.needs_dgrad and conv.dgrad_flops == 0  # the data takes no gradient
    assert conv.wgrad_flops > 0
    assert relu_.needs_dgrad and relu_.dgrad_flops == 8 * 8 * 4
    assert conv.extra["paleo_backprop"] is False and relu_.extra["paleo_backprop"] is True


def test_order_is_topological_and_stable():
    shuffled = small_layers()
    shuffled = [shuffled[3], shuffled[0], shuffled[4], shuffled[1], shuffled[2]]
    net = Network.build("small", shuffled)
    assert [l.name for l in net.layers] == ["data", "conv", "relu", "pool", "fc"]


def test_graph_errors_name_the_layer():
    with pytest.raises(SimulatorError, match=r"^f.json: layer 'conv': duplicate layer name$"):
        Network.build("x", small_layers() + [Layer("conv", relu(), ("data",))], source="f.json")
    bad = small_layers()
    bad[2] = Layer("relu", relu(), ("cnov",))
    with pytest.raises(SimulatorError, match=r"layer 'relu': unknown parent 'cnov' \(did you mean 'conv'\?\)"):
        Network.build("x", bad)
    cyc = [Layer("a", relu(), ("c",)), Layer("b", relu(), ("a",)), Layer("c", relu(), ("b",))]
    with pytest.raises(SimulatorError, match=r"^layer .a.: the graph has a cycle: a -> b -> c -> a$"):
        Network.build("x", cyc)
    with pytest.raises(SimulatorError, match=r"layer 'sum': elementwise add of different shapes"):
        Network.build("x", small_layers() + [Layer("sum", add(True), ("conv", "pool"))])


def test_saved_activations_are_counted_once():
    net = Network.build("small", small_layers())
    per_layer = sum(l.saved for l in net.layers)
    # conv keeps the input (192); relu its output (256); pool its input (the same
    # 256) and its indices (64); fc its input (64)
    assert per_layer == 192 + 256 + 256 + 64 + 64
    assert net.saved_activation_elems() == 192 + 256 + 64 + 64


def test_tied_weights_count_once():
    layers = [
        Layer("ids", Input((6,))),
        Layer("emb", Embedding(50, 8), ("ids",)),
        Layer("head", Linear(50, bias=False), ("emb",), shares_weights_with="emb"),
    ]
    net = Network.build("lm", layers)
    assert net.params == 50 * 8
    assert net.layer("head").params == 0 and net.layer("head").wgrad_flops > 0
    with pytest.raises(SimulatorError, match="shares weights with unknown layer 'emd'"):
        Network.build("lm", layers[:2] + [Layer("h", Linear(5), ("emb",), shares_weights_with="emd")])


def test_unknown_layer_lookup_suggests():
    net = Network.build("small", small_layers())
    with pytest.raises(SimulatorError, match="did you mean 'pool'"):
        net.layer("pol")
    assert "small: 5 layers" in net.summary()
