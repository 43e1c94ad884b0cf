"""Zoo models: exact published parameter counts, FLOPs within stated tolerances."""
from __future__ import annotations

import numpy as np
import pytest

import simulator as sim
from simulator import zoo
from simulator.graph import SimulatorError

PUBLISHED_PARAMS = [
    ("alexnet", {}, 61_100_840),            # torchvision
    ("vgg16", {}, 138_357_544),             # torchvision
    ("resnet18", {}, 11_689_512),           # torchvision
    ("resnet34", {}, 21_797_672),           # torchvision
    ("resnet50", {}, 25_557_032),           # torchvision
    ("resnet101", {}, 44_549_160),          # torchvision
    ("resnet152", {}, 60_192_808),          # torchvision
    ("inception_v3", {}, 27_161_264),       # torchvision, with aux logits
    ("inception_v3", {"aux_logits": False}, 23_834_568),
    ("gpt2", {"size": "small"}, 124_439_808),
    ("gpt2", {"size": "medium"}, 354_823_168),
    ("gpt2", {"size": "large"}, 774_030_080),
    ("gpt2", {"size": "xl"}, 1_557_611_200),
    ("bert_base", {}, 109_482_240),         # BertModel with pooler
    ("bert_large", {}, 335_141_888),
    ("lstm_seq2seq", {}, 384_112_000),      # Sutskever et al. 2014: 384M + biases
]


@pytest.mark.parametrize("name,config,params", PUBLISHED_PARAMS,
                         ids=[f"{n}-{'-'.join(map(str, c.values())) or 'default'}"
                              for n, c, _ in PUBLISHED_PARAMS])
def test_parameter_count_equals_published(name, config, params):
    assert zoo.load(name, **config).params == params


# torchvision's published G multiply-adds (224x224, Inception 299x299); tolerance 1%
PUBLISHED_MACS = [("alexnet", 0.71e9), ("vgg16", 15.47e9), ("resnet18", 1.81e9),
                  ("resnet50", 4.09e9), ("resnet152", 11.51e9), ("inception_v3", 5.71e9)]


@pytest.mark.parametrize("name,macs", PUBLISHED_MACS)
def test_cnn_multiply_adds_match_published(name, macs):
    net = zoo.load(name)
    by_kind = net.flops_by_kind()
    # convolution and linear FLOPs without the bias adds, as MAC counts are made
    gemm = sum(l.fwd_flops - (l.out_elems if l.op.bias else 0)
               for l in net.layers if l.kind in ("conv2d", "linear"))
    assert gemm / 2 == pytest.approx(macs, rel=0.01)
    # the whole forward adds biases, normalisation, activations and pooling: under 3% more
    assert "conv2d" in by_kind
    assert 1.0 < net.forward_flops / gemm < 1.03


def test_resnet50_forward_flops_per_image():
    net = zoo.load("resnet50")
    assert net.forward_flops == pytest.approx(8.2e9, rel=0.02)  # 2 * 4.1 G multiply-adds
    assert net.layer("fc").out_shape == (1000,)
    assert net.layer("layer4.2/relu").out_shape == (7, 7, 2048)


@pytest.mark.parametrize("name,config", [("gpt2", {"size": "small"}), ("gpt2", {"size": "medium"}),
                                         ("bert_base", {"seq_len": 128})])
def test_transformer_flops_are_2_params_tokens_plus_attention(name, config):
    net = zoo.load(name, **config)
    meta = net.meta
    t, d, n_layers, vocab = meta["seq_len"], meta["d_model"], meta["n_layers"], meta["vocab"]
    embedding = sum(l.params for l in net.layers if l.kind in ("embedding", "position_embedding"))
    dense = net.params - embedding  # every non-embedding weight is used once per token
    attention = n_layers * 2 * (2 * t * t * d)  # QK^T and PV
    head = 2 * t * d * vocab if name == "gpt2" else 0  # tied LM head
    expected = 2 * dense * t + attention + head
    gemm = sum(l.fwd_flops for l in net.layers
               if l.kind in ("linear", "attention_scores", "attention_context"))
    assert gemm == pytest.approx(expected, rel=0.01)
    assert net.forward_flops == pytest.approx(expected, rel=0.05)


def test_gpt2_structure():
    net = zoo.load("gpt2", batch_size=4, seq_len=256)
    assert net.batch_size == 4
    assert net.layer("lm_head").out_shape == (256, 50257)
    assert net.layer("lm_head").shares_weights_with == "wte"
    assert net.layer("h.11/attn_scores").out_shape == (12, 256, 256)
    assert net.layer("h.11/attn_scores").op.causal
    assert [g.name for g in net.groups][:2] == ["embeddings", "h.0"]
    assert net.meta["published_params"] == 124_439_808


def test_lstm_seq2seq_published_configuration():
    net = zoo.load("lstm_seq2seq")
    biases = 8 * 4 * 1000 + 80_000
    assert net.params - biases == 384_000_000  # the paper's "384M"
    lstm = [l for l in net.layers if l.kind == "lstm"]
    assert sum(l.params for l in lstm) - 8 * 4000 == 64_000_000  # "64M recurrent connections"
    assert net.layer("decoder_lstm1").parents == ("tgt_embedding", "encoder_lstm1_state")
    assert net.layer("softmax").out_shape == (32, 80_000)
    assert net.batch_size == 128


def test_lstm_seq2seq_hands_the_decoder_the_encoders_final_state_not_its_sequence():
    # each decoder layer read its encoder layer's whole output sequence: across two GPUs 65.5 MB were sent for
    # 4.1 MB of (h, c) states and their gradients (T/2 = 16 times too much at 32 tokens)
    batch, hidden, layers = 64, 1000, 4
    net = zoo.load("lstm_seq2seq", batch_size=batch, src_len=32, tgt_len=32)
    state = net.layer("decoder_lstm3").in_shapes[1]
    assert net.layer("decoder_lstm3").parents[1] == "encoder_lstm3_state" and state == (1, 2, hidden)
    encoder = [l.name for l in net.layers if l.name.startswith(("src", "encoder"))]
    result = sim.simulate(net, "cpu+2xA100-pcie4", {"*": 2, **{n: 1 for n in encoder}}, memory="ignore")
    assert result.comm_bytes == layers * 2 * (2 * hidden) * batch * 4   # h and c, forward and gradient back
    # the encoder's layers stay in their groups, the state with its layer
    assert [g.name for g in net.groups][:3] == ["encoder_embedding", "encoder_lstm1", "encoder_lstm2"]
    assert [net.layers[i].name for i in net.groups[1].layers] == ["encoder_lstm1", "encoder_lstm1_state"]


def test_inception_concat_channels():
    net = zoo.load("inception_v3")
    expect = {"Mixed_5b": 256, "Mixed_5c": 288, "Mixed_5d": 288, "Mixed_6a": 768,
              "Mixed_6e": 768, "Mixed_7a": 1280, "Mixed_7b": 2048, "Mixed_7c": 2048}
    for block, channels in expect.items():
        assert net.layer(f"{block}/concat").out_shape[-1] == channels
    assert net.layer("Mixed_7c/concat").out_shape == (8, 8, 2048)
    assert net.layer("AuxLogits/fc").out_shape == (1000,)


def test_load_errors_and_options():
    with pytest.raises(SimulatorError, match="unknown zoo model 'resnet5'.*did you mean 'resnet50'"):
        zoo.load("resnet5")
    with pytest.raises(SimulatorError, match="has no option 'seqlen'.*did you mean 'seq_len'"):
        zoo.load("gpt2", seqlen=128)
    with pytest.raises(SimulatorError, match="unknown gpt2 size 'tiny'"):
        zoo.load("gpt2", size="tiny")
    with pytest.raises(SimulatorError, match="seq_len must be an integer in 1..1024"):
        zoo.load("gpt2", seq_len=2048)
    with pytest.raises(SimulatorError, match="batch size"):
        zoo.load("alexnet", batch_size=0)
    assert set(zoo.names()) >= {"alexnet", "vgg16", "resnet50", "inception_v3", "gpt2",
                                "bert_base", "lstm_seq2seq"}
    assert zoo.config_options("gpt2") == {"size": "small", "seq_len": 1024, "dropout": 0.1}
    assert "published_params" not in zoo.load("resnet50", num_classes=10).meta
    assert zoo.load("resnet50", image_size=128).meta["published_params"] == 25_557_032


@pytest.mark.parametrize("name, config, message", [
    # layers=0 or -1 built a "seq2seq" without any LSTM; 1.5 and size=None were bare TypeErrors;
    # aux_logits="false" was true
    ("lstm_seq2seq", {"layers": 0}, "zoo 'lstm_seq2seq': layers must be a positive integer, not 0"),
    ("lstm_seq2seq", {"layers": -1}, "zoo 'lstm_seq2seq': layers must be a positive integer, not -1"),
    ("lstm_seq2seq", {"layers": 1.5}, "zoo 'lstm_seq2seq': layers must be a positive integer, not 1.5"),
    ("lstm_seq2seq", {"src_len": True}, "zoo 'lstm_seq2seq': src_len must be a positive integer, not True"),
    ("gpt2", {"size": None}, "zoo 'gpt2': size must be a string, not None"),
    ("gpt2", {"dropout": "x"}, "zoo 'gpt2': dropout must be a number, not 'x'"),
    ("inception_v3", {"aux_logits": "false"},
     "zoo 'inception_v3': aux_logits must be true or false (a boolean), not 'false'"),
])
def test_option_values_of_the_wrong_type_are_one_line_errors_naming_the_option(name, config, message):
    with pytest.raises(SimulatorError) as err:
        zoo.load(name, batch_size=2, **config)
    assert str(err.value) == message


def test_option_values_from_numpy_are_their_numbers():
    assert zoo.load("lstm_seq2seq", layers=np.int64(2)).meta["config"]["layers"] == 2
    assert zoo.load("inception_v3", aux_logits=np.bool_(False)).params == 23_834_568


def test_every_zoo_model_builds_fast_and_consistently():
    for name in zoo.names():
        net = zoo.load(name)
        assert net.groups and all(g.layers for g in net.groups)
        grouped = sorted(i for g in net.groups for i in g.layers)
        assert grouped == list(range(len(net)))
        assert all(l.fwd_flops >= 0 and l.saved >= 0 for l in net.layers)
