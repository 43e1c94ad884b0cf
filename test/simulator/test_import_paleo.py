"""The Paleo importer on the five reference files, and every bad-input case."""
from __future__ import annotations

import json

import pytest

from simulator.graph import SimulatorError
from simulator.importers.paleo import load_paleo_network
from simulator.paleo_terms import paleo_work

FILES = {  # file: (layers, batch in the file, default groups)
    "alex_v2.json": (15, 128, 15),
    "alex_v2_2gpu.json": (22, 128, 16),   # Paleo's: fc6-fc7 in a ModelParallel block of 2 splits
    "alex_v2_8gpu.json": (52, 128, 28),
    "inception_v3.json": (126, 64, 21),  # 9 top-level layers + 12 blocks
    "mnist.json": (9, 128, 9),
    "resnet34.json": (58, 1, 16),
    "resnet50.json": (74, 1, 16),
}


@pytest.mark.parametrize("fname", sorted(FILES))
def test_reference_files_load(paleo_nets, fname):
    layers, batch, groups = FILES[fname]
    net = load_paleo_network(paleo_nets / fname)
    assert len(net) == layers
    assert net.batch_size == batch
    assert len(net.groups) == groups
    assert net.input_names == ("data",)
    # every work item of every layer is computable in every phase
    for layer in net.layers:
        for phase in ("forward", "data_grad", "weight_grad"):
            for item in paleo_work(layer, 32, phase):
                assert item.flops >= 0 and all(m > 0 for m in item.mem_bytes)


def test_resnet50_shapes(paleo_nets):
    net = load_paleo_network(paleo_nets / "resnet50.json")
    assert net.layer("conv1").out_shape == (112, 112, 64)   # SAME, stride 2
    assert net.layer("pool1").out_shape == (55, 55, 64)     # VALID: ceil((112 - 3 + 1) / 2)
    assert net.layer("res3a_branch1").out_shape == (28, 28, 512)
    assert net.layer("res5c").out_shape == (7, 7, 2048)
    fc = net.layer("fc1000")
    assert fc.in_shapes == ((1, 1, 2048),) and fc.out_shape == (1000,)
    assert fc.params == 2048 * 1000 + 1000
    assert net.layer("prob").out_shape == (1000,)
    # Paleo counts conv biases and no batch norm: torchvision's 25,557,032 minus
    # 2 * 26,560 batch-norm parameters plus 26,560 biases
    assert net.params == 25_557_032 - 26_560
    assert net.layer("res2a").parents == ("res2a_branch1", "res2a_branch2c")
    assert net.file_placement is not None and set(net.file_placement.values()) == {1}


def test_inception_blocks_and_concat_channels(paleo_nets):
    net = load_paleo_network(paleo_nets / "inception_v3.json")
    channels = {"Mixed_5b": 256, "Mixed_5c": 288, "Mixed_5d": 288, "Mixed_6a": 768,
                "Mixed_6b": 768, "Mixed_6e": 768, "Mixed_7a": 1280, "Mixed_7b": 2048,
                "Mixed_7c": 2048}
    for block, c in channels.items():
        assert net.layer(f"{block}/concat").out_shape[-1] == c
    assert net.layer("Mixed_7b/Branch_1/concat").out_shape == (8, 8, 768)
    # empty parents inherit the block's parents, which name the previous endpoint
    assert net.layer("Mixed_5c/Branch_0/Conv2d_0a_1x1").parents == ("Mixed_5b/concat",)
    assert net.layer("Logits/AvgPool_1a_8x8").parents == ("Mixed_7c/concat",)
    assert net.layer("softmax").parents == ("Logits/Conv2d_1c_1x1",)
    assert net.layer("Logits/Conv2d_1c_1x1").out_shape == (1, 1, 1000)
    assert net.layer("Conv2d_1a_3x3").out_shape == (149, 149, 32)
    assert net.layer("Mixed_5b/Branch_0/Conv2d_0a_1x1").block == "Mixed_5b"
    names = [g.name for g in net.groups]
    assert names[:8] == ["data", "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3",
                         "MaxPool_3a_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3", "MaxPool_5a_3x3"]
    assert names[8:] == ["Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                         "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c", "Logits",
                         "softmax"]
    assert net.file_placement is None


def test_alexnet_v2_and_softmax(paleo_nets):
    net = load_paleo_network(paleo_nets / "alex_v2.json")
    assert net.layer("conv1").out_shape == (54, 54, 64)  # VALID 11x11 stride 4 on 224
    assert net.layer("fc6").out_shape == (1, 1, 4096)     # a 5x5 VALID convolution on 5x5
    assert net.layer("softmax").out_shape == (1000,)


def test_mnist_input_with_parents_and_file_placement(paleo_nets):
    net = load_paleo_network(paleo_nets / "mnist.json")
    flatten = net.layer("flatten")
    assert flatten.kind == "reshape" and flatten.parents == ("max_pooling2d_1",)
    assert flatten.in_shapes == ((7, 7, 64),) and flatten.out_shape == (3136,)
    assert net.layer("dense_1").out_shape == (10,)
    assert net.file_placement["conv2d"] == 2 and net.file_placement["dense"] == 1
    grouped, devices = net.file_placement_groups()
    assert devices == [2, 1]
    assert [len(g.layers) for g in grouped.groups] == [5, 4]


# ------------------------------------------------------------------ bad input
def write(tmp_path, layers, name="net.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"name": "t", "layers": layers}, indent=1))
    return path


def base_layers():
    return {
        "data": {"type": "Input", "tensor": [8, 16, 16, 3], "parents": []},
        "conv": {"type": "Convolution", "parents": ["data"], "filter": [3, 3, -1, 8],
                 "strides": [1, 1, 1, 1], "padding": "SAME"},
        "pool": {"type": "Pooling", "parents": ["conv"], "ksize": [1, 2, 2, 1],
                 "strides": [1, 2, 2, 1], "padding": "VALID"},
    }


def error_of(tmp_path, layers) -> str:
    path = write(tmp_path, layers)
    with pytest.raises(SimulatorError) as info:
        load_paleo_network(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(str(path) + ": ")
    return text[len(str(path)) + 2:]


def test_minimal_file_loads(tmp_path):
    net = load_paleo_network(write(tmp_path, base_layers()))
    assert net.layer("pool").out_shape == (8, 8, 8) and net.batch_size == 8


def test_error_cycle(tmp_path):
    layers = base_layers()
    layers["conv"]["parents"] = ["pool"]
    layers["data"]["parents"] = []
    assert error_of(tmp_path, layers) == "layer 'conv': the graph has a cycle: conv -> pool -> conv"


def test_error_unknown_type_suggests(tmp_path):
    layers = base_layers()
    layers["conv"]["type"] = "Convolutoin"
    assert error_of(tmp_path, layers) == (
        "layer 'conv': unknown layer type 'Convolutoin' (did you mean 'Convolution'?)")
    layers["conv"]["type"] = "Deconvolution"
    assert "not supported by this importer" in error_of(tmp_path, layers)


def test_error_unknown_key_of_a_layer_suggests(tmp_path):
    # a misspelt key was ignored: "devcie" put the layer on device 0, "num_clases" skipped its check
    layers = base_layers()
    layers["pool"]["devcie"] = 1
    assert error_of(tmp_path, layers) == (
        "layer 'pool': unknown key 'devcie' for a Pooling layer (did you mean 'device'?); its keys are type, "
        "parents, device, activation_fn, normalizer_fn, ksize, strides, padding")
    layers = base_layers()
    layers["fc"] = {"type": "InnerProduct", "parents": ["pool"], "num_outputs": 10}
    layers["sm"] = {"type": "Softmax", "parents": ["fc"], "num_clases": 7}
    assert error_of(tmp_path, layers).startswith(
        "layer 'sm': unknown key 'num_clases' for a Softmax layer (did you mean 'num_classes'?)")
    layers = base_layers()
    layers["b"] = {"type": "Block", "parents": ["pool"], "endpoint": "c",
                   "layers": {"c": {"type": "Convolution", "parents": [], "filter": [1, 1, -1, 4],
                                    "strides": [1, 1, 1, 1], "padding": "SAME", "stride": 2}}}
    assert error_of(tmp_path, layers).startswith(
        "layer 'b/c': unknown key 'stride' for a Convolution layer (did you mean 'strides'?)")
    # the keys of Paleo's own files that Paleo ignores load: activation_fn, normalizer_fn, a convolution's bias
    layers = base_layers()
    layers["conv"] |= {"activation_fn": None, "normalizer_fn": "batch_norm", "bias": [8], "device": 0}
    assert len(load_paleo_network(write(tmp_path, layers))) == 3


def test_error_missing_parent(tmp_path):
    layers = base_layers()
    layers["pool"]["parents"] = ["cnov"]
    assert error_of(tmp_path, layers) == (
        "layer 'pool': unknown parent 'cnov' (did you mean 'conv'?)")


def test_error_elementwise_of_different_shapes(tmp_path):
    layers = base_layers()
    layers["sum"] = {"type": "Elementwise", "parents": ["conv", "pool"]}
    assert error_of(tmp_path, layers) == (
        "layer 'sum': elementwise add of different shapes: (16, 16, 8), (8, 8, 8)")


def test_error_concat_mismatch(tmp_path):
    layers = base_layers()
    layers["cat"] = {"type": "Concatenate", "parents": ["conv", "pool"], "dim": 3}
    # the user's number, counted with the batch (it said 'axis 2')
    assert "layer 'cat': concat along 'dim' 3: other axes differ" in error_of(tmp_path, layers)
    for dim in (4, -4):   # it said 'axis 3 is out of range for a 3-D input' for dim 4
        layers["cat"]["dim"] = dim
        assert error_of(tmp_path, layers).endswith(
            f"layer 'cat': concat: 'dim' {dim} is out of range for inputs of 4 dimensions with the batch (give 1 "
            "to 3 or -3 to -1; 0 is the batch)")
    layers["cat"]["dim"] = 0
    assert "batch dimension" in error_of(tmp_path, layers)


def test_error_filter_larger_than_input_with_valid(tmp_path):
    layers = base_layers()
    layers["big"] = {"type": "Convolution", "parents": ["pool"], "filter": [11, 11, 8, 4],
                     "strides": [1, 1, 1, 1], "padding": "VALID"}
    assert error_of(tmp_path, layers) == (
        "layer 'big': 11x11 window does not fit the 8x8 input (padding VALID, stride 1x1)")


def test_error_channel_mismatch(tmp_path):
    layers = base_layers()
    layers["conv"]["filter"] = [3, 3, 4, 8]
    assert error_of(tmp_path, layers) == (
        "layer 'conv': filter expects 4 input channels, the input has 3")


def test_error_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "layers": {\n    "data": {"type": "Input",}\n  }\n}\n')
    with pytest.raises(SimulatorError, match=r"broken.json: invalid JSON at line 3, column 30: Expecting property name"):
        load_paleo_network(path)


def test_error_missing_required_key(tmp_path):
    layers = base_layers()
    del layers["conv"]["filter"]
    assert error_of(tmp_path, layers) == (
        "layer 'conv': missing required key 'filter' for a Convolution layer")
    layers = base_layers()
    del layers["pool"]["parents"]
    assert error_of(tmp_path, layers) == "layer 'pool': missing required key 'parents'"
    layers = base_layers()
    del layers["conv"]["type"]
    assert error_of(tmp_path, layers) == "layer 'conv': missing required key 'type'"


def test_error_bad_values(tmp_path):
    layers = base_layers()
    layers["conv"]["padding"] = "FULL"
    assert "'padding' must be" in error_of(tmp_path, layers)
    layers = base_layers()
    layers["conv"]["strides"] = [2, 2]
    assert "'strides' must be a list of 4 positive integers" in error_of(tmp_path, layers)
    layers = base_layers()
    layers["pool"]["device"] = "gpu0"
    assert "'device' must be a device index" in error_of(tmp_path, layers)


def test_error_blocks(tmp_path):
    layers = base_layers()
    layers["blk"] = {"type": "Block", "parents": ["pool"], "endpoint": "outt",
                     "layers": {"out": {"type": "Dropout", "parents": [],
                                        "dropout_keep_prob": 0.5}}}
    assert error_of(tmp_path, layers) == (
        "layer 'blk': endpoint 'outt' is not a layer of the block (did you mean 'out'?)")
    layers["blk"]["endpoint"] = "out"
    layers["after"] = {"type": "Dropout", "parents": ["blk"], "dropout_keep_prob": 0.5}
    net = load_paleo_network(write(tmp_path, layers))
    assert net.layer("after").parents == ("blk/out",)
    del layers["blk"]["endpoint"]
    assert error_of(tmp_path, layers) == (
        "layer 'after': parent 'blk' is a block without an 'endpoint'")


def test_error_no_file_and_not_an_object(tmp_path):
    with pytest.raises(SimulatorError, match=r"missing.json: no such file \(bundled networks: alex_v2.json, "):
        load_paleo_network(tmp_path / "missing.json")
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(SimulatorError, match="top level must be a JSON object"):
        load_paleo_network(path)
    path.write_text('{"layers": {"a": {"type": "Input", "tensor": [1, 2], "parents": []},'
                    ' "a": {"type": "Input", "tensor": [1, 2], "parents": []}}}')
    with pytest.raises(SimulatorError, match="duplicate key 'a'"):
        load_paleo_network(path)


def test_model_parallel_block_splits_the_channels_and_each_split_can_go_to_its_own_device(paleo_nets, tmp_path):
    import simulator as sim
    doc = json.loads((paleo_nets / "alex_v2_2gpu.json").read_text())
    doc["layers"]["parallel_fc67"]["splits"] = 1
    (tmp_path / "one.json").write_text(json.dumps(doc))
    one = sim.load_network(tmp_path / "one.json")
    net = load_paleo_network(paleo_nets / "alex_v2_2gpu.json")
    assert net.layer("parallel_fc67/fc6@0").out_shape == (1, 1, 2048)       # 4096 channels, split in two
    assert net.layer("parallel_fc67/concat6@1").parents == ("parallel_fc67/dropout6@0", "parallel_fc67/dropout6@1")
    assert net.layer("parallel_fc67/fc7@1").parents == ("parallel_fc67/concat6@1",)
    assert net.layer("concat7").out_shape == (1, 1, 4096)
    assert net.layer("parallel_fc67/fc7@1").block == "parallel_fc67@1"
    # the same work as the unsplit network on one GPU; spread over two GPUs, the fully connected part is faster
    g = sim.devices.preset("cpu+4xV100-pcie3")
    alone = sim.simulate(one, g, [1] * len(one.groups), cost_model="paleo").step_time
    together = sim.simulate(net, g, [1] * len(net.groups), cost_model="paleo").step_time
    spread = sim.simulate(net, g, [2 if "@1" in gr.name else 1 for gr in net.groups], cost_model="paleo").step_time
    assert together == pytest.approx(alone, rel=0.01) and spread < 0.95 * together


def test_error_model_parallel(tmp_path):
    layers = base_layers()
    layers["mp"] = {"type": "ModelParallel", "splits": 2, "parents": ["pool"],
                    "layers": {"c": {"type": "Convolution", "parents": [], "filter": [1, 1, -1, 4],
                                     "strides": [1, 1, 1, 1], "padding": "SAME"},
                               "d": {"type": "Dropout", "parents": ["c@self"], "dropout_keep_prob": 0.5}}}
    layers["cat"] = {"type": "Concatenate", "parents": ["mp/d@all"], "dim": 3}
    net = load_paleo_network(write(tmp_path, layers))
    assert net.layer("cat").out_shape == (8, 8, 4)   # 2 copies of 4 / 2 channels
    layers["cat"]["parents"] = ["mp/d"]
    assert error_of(tmp_path, layers) == ("layer 'cat': parent 'mp/d' is split by a ModelParallel block: name "
                                          "'mp/d@all' (every split) or, inside the block, '@self'")
    layers["cat"]["parents"] = ["mp/d@self"]
    assert "'@self' is only meaningful inside its ModelParallel block" in error_of(tmp_path, layers)
    layers["cat"]["parents"] = ["pool@all"]
    assert error_of(tmp_path, layers) == "layer 'cat': parent 'pool@all': 'pool' is not a layer of a ModelParallel block"
    layers["cat"]["parents"] = ["mp/d@all"]
    layers["mp"]["splits"] = 0
    assert error_of(tmp_path, layers) == "layer 'mp': 'splits' must be a positive integer (at most 1024), got 0"
    layers["mp"]["splits"] = 8
    assert error_of(tmp_path, layers) == "layer 'mp/c@0': 4 output channels cannot be split 8 ways"
