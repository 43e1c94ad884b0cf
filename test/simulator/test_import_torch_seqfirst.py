"""The torch.fx importer on sequence-first models, PyTorch's default layout for its recurrent and attention layers
(``batch_first=False``): each imports as the network its batch-first twin imports as (same layers, shapes,
parameters and FLOPs), whether its input is sequence-first (``batch_dim=1``) or it moves the batch second
itself (``x.permute(1, 0, 2)``)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from simulator.graph import SimulatorError
from simulator.importers.torch_fx import from_built, from_torch


def torch_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def same_network(a, b) -> None:
    assert a.batch_size == b.batch_size
    assert [(l.kind, l.out_shape) for l in a.layers] == [(l.kind, l.out_shape) for l in b.layers]
    assert a.params == b.params
    assert a.forward_flops == pytest.approx(b.forward_flops)
    assert a.saved_activation_elems() == pytest.approx(b.saved_activation_elems())


class WordLM(nn.Module):
    """PyTorch's word language model (examples/word_language_model): token ids (T, N) in, log-probabilities of
    every (step, sample) row out."""

    def __init__(self, cell="LSTM", batch_first=False, ntoken=300, width=48):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(0.2)
        self.encoder = nn.Embedding(ntoken, width)
        self.rnn = getattr(nn, cell)(width, width, 2, dropout=0.2, batch_first=batch_first)
        self.decoder = nn.Linear(width, ntoken)

    def forward(self, ids):
        output, _ = self.rnn(self.drop(self.encoder(ids)))
        decoded = self.decoder(self.drop(output))
        return F.log_softmax(decoded.view(-1, self.ntoken), dim=1)


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_the_word_language_model_over_sequence_first_ids_is_its_batch_first_twin(cell):
    seq_first = WordLM(cell)
    net = from_torch(seq_first, torch.randint(0, 300, (35, 4)), batch_dim=1)
    assert net.batch_size == 4 and net.layer("ids").out_shape == (35,)
    assert net.layer("rnn").out_shape == (35, 48) and net.params == torch_params(seq_first)
    twin = WordLM(cell, batch_first=True)
    same_network(net, from_torch(twin, torch.randint(0, 300, (4, 35))))
    # given batch-first ids, the time-major RNN would read the batch as time: refused by name
    with pytest.raises(SimulatorError, match=rf"node 'rnn' .*{cell}\(batch_first=False\) reads \(sequence, batch, "
                                             r"features\) but is given a tensor whose first axis is the batch"):
        from_torch(seq_first, torch.randint(0, 300, (4, 35)))


class TransformerLM(nn.Module):
    """The word language model's TransformerModel: a sinusoidal table kept as a (max_len, 1, D) buffer and
    sliced to the sequence, a causal mask, a time-major encoder."""

    def __init__(self, batch_first=False, ntoken=300, d=32):
        super().__init__()
        self.batch_first = batch_first
        position = torch.arange(0, 100, dtype=torch.float).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2).float() * (-math.log(10000.0) / d))
        pe = torch.zeros(100, d)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(position * div), torch.cos(position * div)
        self.register_buffer("pe", pe.unsqueeze(0) if batch_first else pe.unsqueeze(1))
        self.encoder = nn.Embedding(ntoken, d)
        layer = nn.TransformerEncoderLayer(d, 2, 64, 0.1, batch_first=batch_first)
        self.transformer_encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.decoder = nn.Linear(d, ntoken)
        self.d = d

    def forward(self, src):
        src = self.encoder(src) * math.sqrt(self.d)
        src = src + (self.pe[:, :src.size(1)] if self.batch_first else self.pe[:src.size(0)])
        t = src.size(1) if self.batch_first else src.size(0)
        mask = nn.Transformer.generate_square_subsequent_mask(t)
        return F.log_softmax(self.decoder(self.transformer_encoder(src, mask)), dim=-1)


def test_a_time_major_transformer_with_a_positional_table_is_its_batch_first_twin():
    net = from_torch(TransformerLM(), torch.randint(0, 300, (20, 3)), batch_dim=1)
    table = next(l for l in net.layers if l.kind == "parameter")
    assert table.out_shape == (20, 32)   # (T, 1, D) sliced from the buffer: the same rows for every sample
    assert net.layer("transformer_encoder.layers.0.self_attn").op.causal
    same_network(net, from_torch(TransformerLM(batch_first=True), torch.randint(0, 300, (3, 20))))


class ResidualAttentionBlock(nn.Module):
    """CLIP's block: nn.MultiheadAttention with torch's default layout, on (L, N, D)."""

    def __init__(self, d, batch_first=False):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, 4, batch_first=batch_first)
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class TextEncoder(nn.Module):
    """CLIP's text tower: batch-first tokens, ``x.permute(1, 0, 2)  # NLD -> LND`` around the blocks, and back."""

    def __init__(self, batch_first=False, d=32):
        super().__init__()
        self.batch_first = batch_first
        self.token_embedding = nn.Embedding(300, d)
        self.positional_embedding = nn.Parameter(torch.randn(12, d))
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(d, batch_first) for _ in range(2)])
        self.ln_final = nn.LayerNorm(d)
        self.text_projection = nn.Parameter(torch.randn(d, 16))

    def forward(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        if not self.batch_first:
            x = x.permute(1, 0, 2)
        x = self.resblocks(x)
        if not self.batch_first:
            x = x.permute(1, 0, 2)
        return self.ln_final(x)[:, -1, :] @ self.text_projection


def test_permuting_the_batch_second_around_time_major_blocks_costs_nothing():
    net = from_torch(TextEncoder(), torch.randint(0, 300, (5, 12)))
    assert not any(l.kind == "transpose" for l in net.layers)   # both permutes are views of the same rows
    same_network(net, from_torch(TextEncoder(batch_first=True), torch.randint(0, 300, (5, 12))))


class SpeechGRU(nn.Module):
    """Features (N, C, L) through a convolution, permuted to (L, N, C) for a time-major GRU; the last step's
    output classified, or the sequence averaged over time."""

    def __init__(self, pool="last"):
        super().__init__()
        self.pool = pool
        self.conv = nn.Conv1d(20, 24, 3, padding=1)
        self.gru = nn.GRU(24, 16, bidirectional=True)
        self.fc = nn.Linear(32, 5)

    def forward(self, x):
        x = F.relu(self.conv(x)).permute(2, 0, 1)
        out, _ = self.gru(x)
        return self.fc(out[-1] if self.pool == "last" else out.mean(0))


def test_a_permute_to_time_major_then_the_last_step_or_a_mean_over_time():
    net = from_torch(SpeechGRU(), torch.randn(3, 20, 50))
    assert [l.kind for l in net.layers] == ["input", "conv1d", "relu", "transpose", "gru", "select", "linear"]
    assert net.layer("permute").out_shape == (50, 24) and net.layer("gru").out_shape == (50, 32)
    assert net.layers[-2].op.axis == 0 and net.layers[-2].op.index == 49   # out[-1]: the last time step
    mean = from_torch(SpeechGRU("mean"), torch.randn(3, 20, 50))
    assert mean.layers[-2].kind == "mean" and mean.layers[-2].op.axes == (0,)   # out.mean(0): over time


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 16)
        self.enc, self.dec = nn.LSTM(16, 32), nn.LSTM(16, 32)
        self.out = nn.Linear(32, 100)

    def forward(self, src, tgt):
        _, state = self.enc(self.emb(src))
        out, _ = self.dec(self.emb(tgt), state)
        return self.out(out)


def test_a_time_major_decoder_waits_for_its_encoder_and_a_network_function_may_name_the_batch_axis():
    built = (Seq2Seq(), (torch.randint(0, 100, (9, 2)), torch.randint(0, 100, (7, 2))), 1)
    net = from_built(built, "models:seq2seq")
    assert net.batch_size == 2 and net.layer("dec").parents == ("emb_1", "enc_state")
    assert net.layer("dec").out_shape == (7, 32)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")   # torch's advice for its inference fast path
def test_a_time_major_nn_transformer_is_its_batch_first_twin():
    torch.manual_seed(0)
    kw = dict(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=2, dim_feedforward=32)
    net = from_torch(nn.Transformer(**kw), (torch.randn(9, 3, 16), torch.randn(6, 3, 16)), batch_dim=1)
    twin = from_torch(nn.Transformer(**kw, batch_first=True), (torch.randn(3, 9, 16), torch.randn(3, 6, 16)))
    same_network(net, twin)


class Mixes(nn.Module):
    def __init__(self, how):
        super().__init__()
        self.how, self.rnn = how, nn.LSTM(8, 8)

    def forward(self, x):
        out = self.rnn(x)[0]
        return out.mean(1) if self.how == "batch" else out.permute(1, 2, 0)


def test_what_a_sequence_first_tensor_cannot_follow_is_refused_in_one_line():
    with pytest.raises(SimulatorError, match=r"node 'mean' .*keeps the batch neither first nor second"):
        from_torch(Mixes("batch"), torch.randn(6, 2, 8), batch_dim=1)   # a mean over the batch
    with pytest.raises(SimulatorError, match=r"sequence as long as the batch \(4\): give a sample input with "
                                             r"another batch size"):
        from_torch(Mixes("batch"), torch.randn(4, 4, 8), batch_dim=1)
    with pytest.raises(SimulatorError, match=r"batch_dim must be 0 \(batch first\) or 1"):
        from_torch(Mixes("batch"), torch.randn(6, 2, 8), batch_dim=2)
    with pytest.raises(SimulatorError, match=r"with a batch dimension second"):
        from_torch(Mixes("batch"), torch.randn(6), batch_dim=1)
    with pytest.raises(SimulatorError, match=r"LSTM\(batch_first=True\) is given a sequence-first tensor"):
        from_torch(WordLM(batch_first=True), torch.randint(0, 300, (35, 4)), batch_dim=1)


class AttentionPooling(nn.Module):
    """A time-major BiLSTM pooled by attention weights over time, with a max over the time axis doubled: the
    dimension arguments (softmax, sum, cat, max over time; squeeze / unsqueeze of the last axis) name torch's
    axes of the layout the model is written in."""

    def __init__(self, batch_first=False):
        super().__init__()
        self.t = 1 if batch_first else 0
        self.rnn = nn.LSTM(16, 32, bidirectional=True, batch_first=batch_first)
        self.score, self.fc = nn.Linear(64, 1), nn.Linear(128, 4)

    def forward(self, x):
        out, _ = self.rnn(x)
        w = F.softmax(self.score(out).squeeze(-1), dim=self.t).unsqueeze(-1)
        pooled = (w * out).sum(self.t)
        peak = torch.cat([out, out], dim=self.t).max(dim=self.t)[0]
        return self.fc(torch.cat([pooled, peak], dim=-1))


def test_dimension_arguments_over_time_follow_the_layout():
    net = from_torch(AttentionPooling(), torch.randn(30, 4, 16), batch_dim=1)
    assert net.layer("cat").out_shape == (60, 64)   # two sequences end to end
    same_network(net, from_torch(AttentionPooling(batch_first=True), torch.randn(4, 30, 16)))


class NameClassifier(nn.Module):
    """PyTorch's character-level name classification tutorial: one-hot letters (T, N, 57) through a time-major
    nn.RNN, the final hidden state classified."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(57, 128)
        self.h2o = nn.Linear(128, 18)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line):
        _, hidden = self.rnn(line)
        return self.softmax(self.h2o(hidden[0]))


def test_a_plain_rnn_over_time_major_letters_classifies_its_final_state():
    model = NameClassifier()
    net = from_torch(model, torch.randn(11, 4, 57), batch_dim=1)
    assert [l.kind for l in net.layers] == ["input", "rnn", "select", "linear", "softmax"]
    assert net.params == torch_params(model) and net.layer("rnn").out_shape == (11, 128)
    assert net.layers[2].op.index == 10   # hidden[0] of the one layer: the last step's output


@pytest.mark.parametrize("batch", [4, 6, 64])
def test_contrastive_logits_are_refused_as_mixing_the_batch_at_every_batch_size(batch):
    class Clip(nn.Module):
        def __init__(self):
            super().__init__()
            self.i, self.t = nn.Linear(32, 16), nn.Linear(24, 16)

        def forward(self, img, txt):
            return self.i(img) @ self.t(txt).T

    with pytest.raises(SimulatorError, match="mixes the samples of the batch.*; import the model without it"):
        from_torch(Clip(), (torch.randn(batch, 32), torch.randn(batch, 24)))


class Away(nn.Module):
    """A batch-first model that moves its batch away (``transpose(0, 1)``, ``permute(1, 0, 2)``, ``.T``,
    ``.mT``) for an element-wise operation and back: no sequence anywhere."""

    def __init__(self, there=None, back=None, width=16, out=4):
        super().__init__()
        self.there, self.back = there, back
        self.fc, self.out = nn.Linear(16, width), nn.Linear(width, out)

    def forward(self, x):
        y = self.fc(x)
        if self.there is not None:
            y = eval(self.back, {"y": torch.relu(eval(self.there, {"y": y}))})
        else:
            y = torch.relu(y)
        return self.out(y)


@pytest.mark.parametrize("there, back, shape, width, out", [
    ("y.mT", "y.mT", (4, 16), 16, 4),                       # the output as wide as the batch
    ("y.T", "y.T", (4, 16), 16, 4),
    ("y.t()", "y.t()", (4, 16), 16, 4),
    ("y.transpose(0, 1)", "y.transpose(0, 1)", (4, 16), 4, 5),   # features as many as the samples
    ("y.mT", "y.transpose(1, 0)", (4, 16), 4, 4),
    ("y.permute(1, 0, 2)", "y.permute(1, 0, 2)", (4, 4, 16), 16, 5),   # tokens as many as the samples
    ("y.permute(1, 0, 2)", "y.transpose(0, 1)", (4, 6, 16), 16, 4),
    ("y.permute(1, 0, 2)", "y.mT.mT.transpose(0, 1)", (3, 4, 16), 3, 5)])
def test_a_batch_moved_away_and_back_imports_as_if_it_had_stayed(there, back, shape, width, out):
    net = from_torch(Away(there, back, width, out), torch.randn(*shape))
    same_network(net, from_torch(Away(width=width, out=out), torch.randn(*shape)))


@pytest.mark.parametrize("code", ["y.transpose(0, 1).sum(1)", "y.permute(1, 0, 2).mean(dim=1)", "y.mT.mean(1)"])
def test_a_reduction_over_a_batch_moved_second_is_refused_as_one_along_the_batch(code):
    class Reduces(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 16)

        def forward(self, x):
            return eval(code, {"y": self.fc(x)})

    shape = (4, 16) if ".mT" in code else (4, 6, 16)
    with pytest.raises(SimulatorError, match=r"along the batch dimension .*mixes the samples of a batch") as err:
        from_torch(Reduces(), torch.randn(*shape))
    assert "sequence-first" not in str(err.value) and "\n" not in str(err.value)


def test_a_batch_moved_last_is_refused_as_moving_the_batch():
    with pytest.raises(SimulatorError, match=r"node 'relu' .*moving the batch dimension is not supported"):
        from_torch(Away("y.permute(1, 0, 2).mT", "y.mT.transpose(0, 1)", 3, 5), torch.randn(3, 4, 16))
