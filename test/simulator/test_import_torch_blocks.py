"""The torch.fx importer on torch's composite layers (nn.TransformerEncoderLayer, nn.TransformerEncoder),
which torch.fx cannot trace through: written out as the layers they compute, each encoder layer a block;
and on a leaf module given as the network itself."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from simulator.graph import SimulatorError
from simulator.importers.torch_fx import from_torch


def torch_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def fwd(net) -> float:
    return sum(l.fwd_flops for l in net.layers)


class WrittenOut(nn.Module):
    """What nn.TransformerEncoderLayer computes, written with the modules the importer traces through."""

    def __init__(self, layer: nn.TransformerEncoderLayer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        m = self.layer
        if m.norm_first:
            h = m.norm1(x)
            x = x + m.dropout1(m.self_attn(h, h, h, need_weights=False)[0])
            return x + m.dropout2(m.linear2(m.dropout(F.gelu(m.linear1(m.norm2(x))))))
        x = m.norm1(x + m.dropout1(m.self_attn(x, x, x, need_weights=False)[0]))
        return m.norm2(x + m.dropout2(m.linear2(m.dropout(F.gelu(m.linear1(x))))))


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_an_encoder_layer_costs_what_its_written_out_form_costs(norm_first):
    layer = nn.TransformerEncoderLayer(32, 4, 64, activation="gelu", batch_first=True, norm_first=norm_first)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = layer

        def forward(self, x):
            return self.enc(x)
    x = torch.randn(2, 10, 32)
    whole, written = from_torch(Net(), x), from_torch(WrittenOut(layer), x)
    assert whole.params == written.params == torch_params(layer)
    assert fwd(whole) == fwd(written) > 0
    assert sorted(l.kind for l in whole.layers) == sorted(l.kind for l in written.layers)


class Model(nn.Module):
    def __init__(self, causal=False):
        super().__init__()
        self.causal = causal
        self.emb = nn.Embedding(100, 32)
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), 3,
                                         norm=nn.LayerNorm(32), enable_nested_tensor=False)
        self.out = nn.Linear(32, 100)

    def forward(self, t):
        h = self.emb(t)
        h = self.enc(h, mask=nn.Transformer.generate_square_subsequent_mask(10), is_causal=True) if self.causal \
            else self.enc(h)
        return self.out(h)


def test_an_encoder_is_its_layers_each_a_block_and_a_mask_costs_an_addition_per_score():
    t = torch.randint(0, 100, (2, 10))
    net = from_torch(Model(), t)
    assert net.params == torch_params(Model())
    assert [g.name for g in net.groups] == ["emb", "enc.layers.0", "enc.layers.1", "enc.layers.2", "enc.norm",
                                             "out"]
    masked = from_torch(Model(causal=True), t)
    assert fwd(masked) == fwd(net) + 3 * 4 * 10 * 10        # 3 layers, 4 heads, 10 x 10 scores
    assert all(l.op.causal for l in masked.layers if l.kind == "multi_head_attention")


def test_a_leaf_module_given_as_the_network_itself():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), 4,
                                enable_nested_tensor=False)
    net = from_torch(enc, torch.randn(2, 5, 16))
    assert net.params == torch_params(enc)
    assert [g.name for g in net.groups] == [f"transformerencoder.layers.{i}" for i in range(4)]
    lstm = from_torch(nn.LSTM(8, 16, batch_first=True), torch.randn(2, 5, 8))
    assert lstm.params == torch_params(nn.LSTM(8, 16)) and lstm.layers[-1].out_shape == (5, 16)


def test_multihead_attention_given_as_the_network_takes_its_own_inputs():
    # called its own way, (query, key, value): "the module's forward takes 1 input(s), sample_input has 3"
    mha = nn.MultiheadAttention(16, 4, batch_first=True)
    query, key = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    net = from_torch(mha, (query, key, key))
    assert net.params == torch_params(mha)
    assert net.layer("multiheadattention.scores").out_shape == (4, 5, 7) and net.layers[-1].out_shape == (5, 16)
    assert from_torch(mha, query).params == torch_params(mha)   # one input: self-attention, as before
    with pytest.raises(SimulatorError, match=r"^MultiheadAttention: nn.MultiheadAttention as the model takes 3 "
                                             r"sample inputs \(query, key, value\), or 1 \(self-attention\); "
                                             r"sample_input has 2$"):
        from_torch(mha, (query, key))
    with pytest.raises(SimulatorError, match="key and value are the same tensor"):   # as inside a model
        from_torch(mha, (query, key, key * 2))


def test_a_time_major_encoder_layer_given_batch_first_input_is_refused_by_name():
    with pytest.raises(SimulatorError, match=r"TransformerEncoderLayer\(batch_first=False\) reads \(sequence, batch, "
                                             r"features\) but is given a tensor whose first axis is the batch"):
        from_torch(nn.TransformerEncoderLayer(16, 2, 32), torch.randn(5, 2, 16))


def test_multihead_attention_with_a_mask_costs_an_addition_per_score():
    class Attention(nn.Module):
        def __init__(self, how):
            super().__init__()
            self.how, self.mha = how, nn.MultiheadAttention(16, 2, batch_first=True)
            self.register_buffer("mask", torch.triu(torch.ones(6, 6, dtype=torch.bool), diagonal=1))

        def forward(self, x):
            if self.how == "attn_mask":
                return self.mha(x, x, x, attn_mask=self.mask, need_weights=False)[0]
            if self.how == "causal":
                return self.mha(x, x, x, attn_mask=self.mask, is_causal=True, need_weights=False)[0]
            return self.mha(x, x, x, need_weights=False)[0]
    x = torch.randn(2, 6, 16)
    plain, masked, causal = (from_torch(Attention(h), x) for h in ("none", "attn_mask", "causal"))
    assert fwd(masked) == fwd(causal) == fwd(plain) + 2 * 6 * 6


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_a_decoder_layer_attends_to_the_memory_and_costs_torchs_products(norm_first):
    d, heads, T, S, B = 16, 4, 6, 9, 2
    layer = nn.TransformerDecoderLayer(d, heads, 32, dropout=0.0, batch_first=True, norm_first=norm_first)
    tgt, memory = torch.randn(B, T, d), torch.randn(B, S, d)
    net = from_torch(layer, (tgt, memory))
    assert net.params == torch_params(layer)
    cross = {l.name.rsplit(".", 1)[-1]: l for l in net.layers if ".multihead_attn." in l.name}
    assert cross["kv_proj"].parents == (net.layers[1].name,)   # the keys and values are the memory's
    # the queries, keys and values, the scores and the context, the output: 2 FLOPs per multiply-add, plus biases
    assert [cross[k].fwd_flops for k in ("q_proj", "kv_proj", "scores", "context", "out_proj")] == \
        [2 * T * d * d + T * d, 2 * S * d * 2 * d + S * 2 * d, 2 * T * S * d, 2 * T * S * d, 2 * T * d * d + T * d]
    assert cross["scores"].out_shape == (heads, T, S) and cross["probs"].op.kind == "softmax"
    names = [l.name.rsplit(".", 1)[-1] for l in net.layers]
    order = ["norm1", "self_attn", "add1"] if norm_first else ["self_attn", "add1", "norm1"]
    assert [n for n in names if n in order] == order


def test_a_transformer_is_its_encoder_then_its_decoder_each_layer_a_block():
    d, T, S, B = 16, 5, 7, 2
    model = nn.Transformer(d, 2, num_encoder_layers=2, num_decoder_layers=3, dim_feedforward=32, dropout=0.1,
                           batch_first=True)
    src, tgt = torch.randn(B, S, d), torch.randn(B, T, d)
    net = from_torch(model, (src, tgt))
    assert net.params == torch_params(model)
    blocks = [b for b in dict.fromkeys(l.block for l in net.layers)]
    assert [b.rsplit(".", 2)[-2] + "." + b.rsplit(".", 1)[-1] for b in blocks if ".layers." in b] == \
        ["layers.0", "layers.1"] + ["layers.0", "layers.1", "layers.2"]
    memory = "transformer.encoder.norm"
    assert all(l.parents == (memory,) for l in net.layers if l.name.endswith("multihead_attn.kv_proj"))
    assert net.layers[-1].name == "transformer.decoder.norm" and net.layers[-1].out_shape == (T, d)


def test_a_decoder_mask_costs_an_addition_per_score():
    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, batch_first=True), 1)

        def forward(self, tgt, memory):
            mask = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
            return self.dec(tgt, memory, tgt_mask=mask, memory_key_padding_mask=None)

    net = from_torch(Masked(), (torch.randn(2, 4, 8), torch.randn(2, 3, 8)))
    assert net.layer("dec.layers.0.self_attn").op.causal
    assert not any(l.name.endswith("multihead_attn.mask") for l in net.layers)

    time_major = nn.TransformerDecoderLayer(8, 2, 16)
    with pytest.raises(SimulatorError, match=r"TransformerDecoderLayer\(batch_first=False\) reads"):
        from_torch(time_major, (torch.randn(4, 2, 8), torch.randn(4, 2, 8)))


def test_multihead_attention_across_two_sequences_is_written_out():
    class Queries(nn.Module):
        """DETR-style: learned queries attend to the image's tokens."""

        def __init__(self, d=16, queries=5):
            super().__init__()
            self.queries = nn.Parameter(torch.randn(1, queries, d))
            self.attn = nn.MultiheadAttention(d, 4, batch_first=True)

        def forward(self, tokens):
            q = self.queries.expand(tokens.size(0), -1, -1)
            return self.attn(q, tokens, tokens, need_weights=False)[0]

    model = Queries()
    net = from_torch(model, torch.randn(2, 9, 16))
    assert net.params == torch_params(model)
    scores = net.layer("attn.scores")
    assert scores.out_shape == (4, 5, 9) and scores.fwd_flops == 2 * 5 * 9 * 16
    assert net.layers[-1].out_shape == (5, 16)

    class KeyNotValue(Queries):
        def forward(self, tokens):
            return self.attn(tokens, tokens, tokens * 2)[0]

    with pytest.raises(SimulatorError, match="key and value are the same tensor"):
        from_torch(KeyNotValue(), torch.randn(2, 9, 16))
