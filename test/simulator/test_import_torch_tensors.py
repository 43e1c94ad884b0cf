"""The torch.fx importer on models as users write them by hand (a minGPT block, an LSTM classifier reading its
last step, attention written with einsum, a VAE's sampling): buffers sliced to the input's length, tensors
made in forward, indexing, einsum, masks and element-wise math. Each imports with torch's parameter count
and costs what its layers compute."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import simulator as sim
from simulator.graph import SimulatorError
from simulator.importers.torch_fx import from_torch


def torch_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def fwd(net) -> float:
    return sum(l.fwd_flops for l in net.layers)


class CausalSelfAttention(nn.Module):
    """minGPT's attention: a causal mask kept as a buffer for the longest sequence and sliced to this one's."""

    def __init__(self, d=32, heads=4, longest=16):
        super().__init__()
        self.qkv, self.proj, self.heads = nn.Linear(d, 3 * d), nn.Linear(d, d), heads
        self.register_buffer("bias", torch.tril(torch.ones(longest, longest)).view(1, 1, longest, longest))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


class TinyGPT(nn.Module):
    def __init__(self, vocab=50, d=32, longest=16):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(longest, d)
        self.blocks = nn.ModuleList([CausalSelfAttention(d, 4, longest) for _ in range(2)])
        self.head = nn.Linear(d, vocab)

    def forward(self, idx):
        pos = torch.arange(0, idx.size(1), dtype=torch.long, device=idx.device).unsqueeze(0)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.blocks:
            x = x + block(x)
        return self.head(x)


def test_a_causal_mask_buffer_sliced_to_the_sequence_and_positions_made_in_forward():
    model, T, d = TinyGPT(), 12, 32
    net = from_torch(model, torch.randint(0, 50, (4, T)))
    assert net.params == torch_params(model)
    masks = [l for l in net.layers if l.op.kind == "parameter"]
    # the positions (arange) and one mask per block (the buffer sliced and compared: one layer, read once)
    assert [l.out_shape for l in masks] == [(T,), (T, T), (T, T)]
    assert all(not l.op.trainable and l.params == 0 for l in masks)
    assert net.layer("wpe").out_shape == (T, d)     # the same positions for every sample
    fills = [l for l in net.layers if l.name.startswith("masked_fill")]
    assert len(fills) == 2 and all(l.fwd_flops == 4 * T * T for l in fills)   # one per score
    scores = [l for l in net.layers if l.op.kind == "matmul"]
    assert [l.fwd_flops for l in scores] == [2 * 4 * T * T * (d // 4)] * 4    # Q K^T and P V per block


def test_indexing_the_last_step_none_ellipsis_and_bounds_from_sizes():
    class LastStep(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.fc = nn.LSTM(8, 16, batch_first=True, bidirectional=True), nn.Linear(32, 3)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out[:, -1, :])

    model = LastStep()
    net = from_torch(model, torch.randn(2, 10, 8))
    assert net.params == torch_params(model)
    assert net.layer("fc").out_shape == (3,)

    class Views(nn.Module):
        def forward(self, x):
            half = x.size(2) // 2
            return x[..., :half] + x[:, None, :, half:].squeeze(1)

    net = from_torch(Views(), torch.randn(2, 5, 6))
    kinds = [l.op.kind for l in net.layers]
    assert kinds.count("slice") == 2 and net.layers[-1].out_shape == (5, 3)

    class Batch(nn.Module):
        def forward(self, x):
            return x[1:]

    with pytest.raises(SimulatorError, match="indexing the batch dimension is not supported"):
        from_torch(Batch(), torch.randn(3, 4))

    class Gather(nn.Module):
        def forward(self, x):
            return x[:, torch.tensor([0, 2])]

    with pytest.raises(SimulatorError, match="a gather"):
        from_torch(Gather(), torch.randn(3, 4))

    class Fewer(nn.Module):   # per sample along the batch, but fewer elements out than in: a real gather
        def forward(self, x):
            return x[torch.arange(3)[:, None], torch.tensor([[0, 2]])]

    with pytest.raises(SimulatorError, match="a gather"):
        from_torch(Fewer(), torch.randn(3, 4))

    class Strided(nn.Module):   # every other position (Swin's patch merging): a strided view
        def forward(self, x):
            return torch.cat([x[:, 0::2], x[:, 1::2]], dim=1), x[:, 1:4:2]

    net = from_torch(Strided(), torch.randn(3, 5))
    assert [(l.kind, l.out_shape, l.fwd_write) for l in net.layers if l.kind == "slice"] == [
        ("slice", (3,), 0), ("slice", (2,), 0), ("slice", (2,), 0)]


def test_einsum_costs_what_the_matmul_it_is_costs():
    class Attention(nn.Module):
        def __init__(self, d=16):
            super().__init__()
            self.w = nn.Parameter(torch.randn(d, 24))

        def forward(self, x):
            scores = torch.einsum("bid,bjd->bij", x, x).softmax(-1)
            mixed = torch.einsum("bij,bjd->bid", scores, x)
            return torch.einsum("bld,de->ble", mixed, self.w)

    model, T, d = Attention(), 10, 16
    net = from_torch(model, torch.randn(3, T, d))
    assert net.params == torch_params(model)
    products = [l for l in net.layers if l.op.kind in ("matmul", "linear")]
    assert [l.fwd_flops for l in products] == [2 * T * T * d, 2 * T * T * d, 2 * T * d * 24]
    assert products[-1].op.kind == "linear"   # times a parameter: nn.Linear's layer (torch_weights.py)
    assert net.layers[-1].out_shape == (T, 24)
    # the first has K transposed (a copy); the other two multiply as they are
    assert [l.op.kind for l in net.layers].count("transpose") == 1

    class Heads(nn.Module):
        def forward(self, q):   # scores per head, and a permuted output
            return torch.einsum("bhqd,bhkd->bkqh", q, q)

    net = from_torch(Heads(), torch.randn(2, 4, 5, 8))
    assert net.layers[-1].out_shape == (5, 5, 4)
    assert sum(l.fwd_flops for l in net.layers if l.op.kind == "matmul") == 2 * 4 * 5 * 5 * 8

    class Sum(nn.Module):
        def forward(self, x):
            return torch.einsum("bij->bi", x)

    with pytest.raises(SimulatorError, match="sums over a subscript"):
        from_torch(Sum(), torch.randn(2, 3, 4))


def test_sampling_noise_and_elementwise_math():
    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.mu, self.logvar, self.dec = nn.Linear(20, 16), nn.Linear(16, 4), nn.Linear(16, 4), \
                nn.Linear(4, 20)

        def forward(self, x):
            h = F.relu(self.enc(x))
            mu, logvar = self.mu(h), self.logvar(h)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            return torch.sigmoid(self.dec(z)), mu, logvar

    model = VAE()
    net = from_torch(model, torch.randn(8, 20))
    assert net.params == torch_params(model)
    kinds = {l.name: l.op.kind for l in net.layers}
    assert kinds["randn_like"] == "mul" and kinds["exp"] == "mul"
    assert fwd(net) == pytest.approx(2 * (20 * 16 + 16 * 4 * 2 + 4 * 20), rel=0.3)


def test_a_relative_position_bias_table_looked_up_by_a_buffer_index():
    class WindowAttention(nn.Module):
        """Swin's and MaxViT's bias: a learned table of (2w-1)^2 rows x heads, read through a fixed index."""

        def __init__(self, w=4, heads=2, d=8):
            super().__init__()
            self.table = nn.Parameter(torch.zeros((2 * w - 1) ** 2, heads))
            coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)
            rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (w - 1)
            self.register_buffer("index", rel[..., 0] * (2 * w - 1) + rel[..., 1])
            self.w, self.heads, self.qkv = w, heads, nn.Linear(d, 3 * d)

        def forward(self, x):   # x: (B, w*w, d)
            n = self.w * self.w
            bias = self.table[self.index.view(-1)].view(n, n, -1).permute(2, 0, 1).unsqueeze(0)
            q, k, v = self.qkv(x).view(x.size(0), n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
            return F.softmax(q @ k.transpose(-2, -1) + bias, dim=-1) @ v

    model = WindowAttention()
    net = from_torch(model, torch.randn(2, 16, 8))
    assert net.params == torch_params(model)    # the table once, though the lookup reads it
    lookup = next(l for l in net.layers if l.op.kind == "embedding")
    assert lookup.out_shape == (256, 2) and lookup.params == 0 and lookup.shares_weights_with == "table"
    assert net.layers[-1].out_shape == (2, 16, 4)


def test_timm_attention_moves_the_batch_and_indexes_it_back():
    class Attention(nn.Module):
        """timm's ViT attention: q, k and v picked from a permute that puts them before the batch."""

        def __init__(self, d=16, heads=2):
            super().__init__()
            self.qkv, self.proj, self.heads = nn.Linear(d, 3 * d), nn.Linear(d, d), heads

        def forward(self, x):
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            y = F.softmax(q @ k.transpose(-2, -1), dim=-1) @ v
            return self.proj(y.transpose(1, 2).reshape(B, N, C))

    model = Attention()
    net = from_torch(model, torch.randn(2, 5, 16))
    assert net.params == torch_params(model)
    products = [l for l in net.layers if l.op.kind == "matmul"]
    assert [l.fwd_flops for l in products] == [2 * 2 * 5 * 5 * 8] * 2
    assert net.layers[-1].out_shape == (5, 16)

    class Moved(nn.Module):
        def forward(self, x):
            return x.permute(1, 2, 0) * 2   # the batch last (second would be sequence-first: supported)

    with pytest.raises(SimulatorError, match="moving the batch dimension is not supported"):
        from_torch(Moved(), torch.randn(2, 5, 16))


def test_an_rnn_final_state_classifies_and_initialises_a_decoder():
    class Classifier(nn.Module):
        def __init__(self, bidirectional):
            super().__init__()
            self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True, bidirectional=bidirectional)
            self.fc = nn.Linear(16 * (2 if bidirectional else 1), 3)

        def forward(self, x):
            out, (h, c) = self.lstm(x)
            if self.lstm.bidirectional:
                return self.fc(torch.cat([h[-2], h[-1]], dim=1))
            return self.fc(h[-1])

    for bidirectional in (False, True):
        model = Classifier(bidirectional)
        net = from_torch(model, torch.randn(2, 7, 8))
        assert net.params == torch_params(model)
        assert net.layer("fc").in_shapes[0] == (16 * (2 if bidirectional else 1),)

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.out = nn.Embedding(100, 8), nn.Linear(16, 100)
            self.enc, self.dec = nn.GRU(8, 16, batch_first=True), nn.GRU(8, 16, batch_first=True)

        def forward(self, src, tgt):
            _, h = self.enc(self.emb(src))
            y, _ = self.dec(self.emb(tgt), h)
            return self.out(y)

    model = Seq2Seq()
    net = from_torch(model, (torch.randint(0, 100, (2, 9)), torch.randint(0, 100, (2, 5))))
    assert net.params == torch_params(model)
    # the decoder waits for the encoder's final state h_n, and reads that, not the encoder's output sequence
    assert net.layer("dec").parents[1] == "enc_state" and net.layer("dec").in_shapes[1] == (1, 1, 16)

    class LSTMSeq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.src, self.tgt, self.out = nn.Embedding(100, 8), nn.Embedding(100, 8), nn.Linear(16, 100)
            self.enc, self.dec = nn.LSTM(8, 16, 2, batch_first=True), nn.LSTM(8, 16, 2, batch_first=True)

        def forward(self, src, tgt):
            _, (h, c) = self.enc(self.src(src))
            y, _ = self.dec(self.tgt(tgt), (h, c))
            return self.out(y)

    net = from_torch(LSTMSeq2Seq(), (torch.randint(0, 100, (2, 40)), torch.randint(0, 100, (2, 40))))
    assert net.layer("dec").in_shapes[1] == (2, 2, 16)    # h_n and c_n of 2 layers, not (40, 16)
    names = [l.name for l in net.layers]
    assert names[names.index("enc") + 1] == "enc_state"   # with its encoder, in its group
    encoder = ["src", "src_2", "enc", "enc_state"]
    result = sim.simulate(net, "cpu+2xA100-pcie4", {"*": 2, **{n: 1 for n in encoder}}, batch_size=32,
                          memory="ignore")
    assert result.comm_bytes == 2 * 4 * 16 * 32 * 4   # the states forward, their gradient back

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)

        def forward(self, x):
            return self.lstm(x)[1][0][0]

    with pytest.raises(SimulatorError, match="a layer before the last"):
        from_torch(Inner(), torch.randn(2, 7, 8))


def test_max_over_time_stack_and_normalize():
    class TextCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.fc = nn.Embedding(50, 12), nn.Linear(16, 4)
            self.convs = nn.ModuleList([nn.Conv1d(12, 8, k, padding=1, padding_mode="reflect") for k in (3, 4)])

        def forward(self, x):
            e = self.emb(x).transpose(1, 2)
            pooled = torch.stack([torch.max(F.relu(c(e)), dim=2)[0] for c in self.convs], dim=1)
            return F.normalize(self.fc(pooled.flatten(1)), dim=-1)

    model = TextCNN()
    net = from_torch(model, torch.randint(0, 50, (3, 20)))
    assert net.params == torch_params(model)
    assert net.layer("stack").out_shape == (2, 8)
    assert [l.op.kind for l in net.layers].count("mean") == 2 and net.layers[-1].op.kind == "rms_norm"


class AsksItsTensors(nn.Module):
    """What symbolic tracing cannot follow: Python control flow on a size, a view to a computed shape, a dtype
    query, token types made from the input's size (Hugging Face's BERT is written so)."""

    def __init__(self):
        super().__init__()
        self.ids, self.types, self.norm = nn.Embedding(50, 16), nn.Embedding(2, 16), nn.BatchNorm1d(16)
        self.long, self.short = nn.Linear(16, 16), nn.Linear(16, 16)
        self.register_buffer("calls", torch.zeros(1))

    def forward(self, ids, mask):
        types = torch.zeros(ids.size(), dtype=torch.long, device=ids.device)
        x = self.ids(ids) + self.types(types)
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        x = self.long(x) if x.size(1) > 4 else self.short(x)      # control flow on a size
        heads = x.view(*(x.size()[:-1] + (4, 4))).permute(0, 2, 1, 3)
        scores = heads @ heads.transpose(-1, -2)
        bias = (1.0 - mask[:, None, None, :].to(dtype=x.dtype)) * torch.finfo(x.dtype).min
        self.calls.add_(1)                                        # an in-place update of a buffer
        return F.softmax(scores + bias, dim=-1)


def test_a_forward_that_asks_its_tensors_is_traced_with_the_sample_inputs_values():
    model = AsksItsTensors()
    with pytest.raises(Exception):
        torch.fx.symbolic_trace(model)   # what the importer tries first
    state = {k: v.clone() for k, v in model.state_dict().items()}
    ids, mask = torch.randint(0, 50, (3, 6)), torch.ones(3, 6, dtype=torch.long)
    net = from_torch(model, (ids, mask))
    assert net.params == torch_params(model) - 16 * 16 - 16      # the branch not taken is not counted
    assert any(l.name == "long" for l in net.layers) and not any(l.name == "short" for l in net.layers)
    assert net.layer("types").out_shape == (6, 16)                # per sample, from the zeros made in forward
    assert net.layers[-1].out_shape == (4, 6, 6)
    # the user's model is as it was: no running statistics updated, the buffer not incremented
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    short = from_torch(model, (ids[:, :3], mask[:, :3]))          # another length, the other branch
    assert any(l.name == "short" for l in short.layers)


def test_a_forward_that_cannot_run_on_its_sample_still_fails_in_one_line():
    class Broken(AsksItsTensors):
        def forward(self, ids, mask):
            if ids.size(1) > 2:
                raise ValueError("boom\nsecond line")
            return self.ids(ids)

    with pytest.raises(SimulatorError, match="cannot trace the module.*sample input: ValueError: boom") as err:
        from_torch(Broken(), (torch.randint(0, 50, (3, 6)), torch.ones(3, 6)))
    assert "\n" not in str(err.value)


def test_a_sample_input_the_forward_cannot_take_names_the_node_and_torchs_reason(capfd):
    class Viewer(nn.Module):
        def forward(self, x):
            return x.view(3, 7)

    with pytest.raises(SimulatorError) as err:
        from_torch(Viewer(), torch.randn(2, 5))
    assert str(err.value) == ("Viewer: running the module on the sample input failed at node 'view': RuntimeError: "
                              "shape '[3, 7]' is invalid for input of size 10")
    assert "Traceback" not in capfd.readouterr().err


def test_convolutions_called_as_functions_with_their_weights():
    class StdConv(nn.Conv2d):
        """Weight standardisation (BiT, timm's StdConv2d): the weight normalised in forward, then F.conv2d."""

        def forward(self, x):
            w = self.weight
            w = (w - w.mean(dim=(1, 2, 3), keepdim=True)) / (w.std(dim=(1, 2, 3), keepdim=True) + 1e-5)
            return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)

    class Blur(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = StdConv(3, 8, 3, padding=1)
            self.register_buffer("kernel", torch.ones(8, 1, 3, 3) / 9)
            self.temporal = nn.Parameter(torch.randn(4, 8, 5))

        def forward(self, x):
            y = F.conv2d(self.conv(x), self.kernel, padding="same", groups=8)   # a fixed depthwise blur
            return F.conv1d(y.flatten(2), self.temporal, stride=2)

    model = Blur()
    net = from_torch(model, torch.randn(2, 3, 10, 10))
    assert net.params == torch_params(model)
    convs = [l for l in net.layers if l.kind in ("conv2d", "conv1d")]
    assert [l.kind for l in convs] == ["conv2d", "conv2d", "conv1d"] and all(l.params == 0 for l in convs)
    assert convs[0].fwd_flops == 2 * 27 * 8 * 100 + 8 * 100 and convs[1].fwd_flops == 2 * 9 * 8 * 100
    assert convs[2].out_shape == (4, 48) and convs[2].fwd_flops == 2 * 5 * 8 * 4 * 48


@pytest.mark.parametrize("standardise", [
    lambda w: w - w.mean(), lambda w: w / w.sum(), lambda w: w / w.norm(), lambda w: (w - w.mean()) / w.std(),
    lambda w: w - torch.mean(w)])
def test_a_parameter_reduced_over_every_dimension_has_no_batch_to_mix(standardise):
    # they were refused as "a mean over every dimension mixes the batch": a parameter has no batch
    class WS(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(8, 3, 3, 3))
            self.l = nn.Linear(8 * 64, 4)
            self.g = nn.Parameter(torch.ones(4))

        def forward(self, x):
            return self.l(F.conv2d(x, standardise(self.w), padding=1).flatten(1)) * self.g.sum()

    model = WS()
    net = from_torch(model, torch.randn(2, 3, 8, 8))
    assert net.params == torch_params(model)
    conv = next(l for l in net.layers if l.kind == "conv2d")
    assert conv.out_shape == (8, 8, 8) and conv.fwd_flops == 2 * 27 * 8 * 64
    means = [l for l in net.layers if l.kind == "mean"]
    assert means and {l.in_shapes[0] for l in means} <= {(8, 3, 3, 3), (4,)} and all(l.out_shape == () for l in means)


@pytest.mark.parametrize("reduce", [lambda y: y.mean(), lambda y: y.sum(), lambda y: torch.mean(y)])
def test_a_batch_tensor_reduced_over_every_dimension_is_refused(reduce):
    class Everything(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(4, 4)

        def forward(self, x):
            y = self.l(x)
            return y - reduce(y)

    with pytest.raises(SimulatorError, match="over every dimension mixes the batch; give dim"):
        from_torch(Everything(), torch.randn(2, 4))


def test_an_expanded_view_combined_element_wise_is_the_tensor_broadcast():
    class SqueezeExcite(nn.Module):
        def __init__(self, c=16):
            super().__init__()
            self.conv, self.fc1, self.fc2 = nn.Conv2d(3, c, 3, padding=1), nn.Linear(c, 4), nn.Linear(4, c)

        def forward(self, x):
            x = self.conv(x)
            b, c, _, _ = x.size()
            y = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1).view(b, c))))).view(b, c, 1, 1)
            return torch.mul(x, y.expand_as(x)) + y.expand(b, c, 8, 8)

    net = from_torch(SqueezeExcite(), torch.randn(2, 3, 8, 8))
    assert not any(l.name.startswith("expand") for l in net.layers)
    assert net.layers[-1].out_shape == (16, 8, 8) and net.layers[-1].fwd_flops == 16 * 64

    class Concatenated(SqueezeExcite):
        def forward(self, x):
            y = self.conv(x)
            return torch.cat([y, y[:, :, :1].expand(-1, -1, 8, -1)], dim=1)

    # read by a concatenation, the expanded view is written out: a copy of the repeated rows
    net = from_torch(Concatenated(), torch.randn(2, 3, 8, 8))
    repeat = next(l for l in net.layers if l.name == "expand")
    assert repeat.kind == "repeat" and repeat.in_shapes == ((16, 1, 8),) and repeat.out_shape == (16, 8, 8)
    assert net.layers[-1].out_shape == (32, 8, 8)


class Conv1D(nn.Module):
    """Hugging Face's GPT-2 projection: a linear layer over rows that merge the batch and the tokens, by addmm."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf, self.weight, self.bias = nf, nn.Parameter(torch.randn(nx, nf)), nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(size_out)


def test_rows_that_merge_the_batch_with_the_tokens_until_a_view_restores_it():
    class LanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.proj = nn.Embedding(100, 16), Conv1D(32, 16)
            self.rnn, self.dec = nn.LSTM(32, 24, batch_first=True), nn.Linear(24, 100)

        def forward(self, x):
            out, _ = self.rnn(self.proj(self.emb(x)))
            decoded = F.relu(self.dec(out.reshape(-1, out.size(2))))        # (B*T, vocab)
            return F.log_softmax(decoded, dim=1).view(x.size(0), x.size(1), -1)

    model = LanguageModel()
    net = from_torch(model, torch.randint(0, 100, (3, 7)))
    assert net.params == torch_params(model)
    addmm = next(l for l in net.layers if l.name.startswith("addmm"))   # nn.Linear's layer, holding the weights
    assert addmm.kind == "linear" and addmm.params == 16 * 32 + 32
    assert addmm.fwd_flops == 2 * 7 * 16 * 32 + 7 * 32
    assert net.layer("dec").out_shape == (7, 100) and net.layer("dec").fwd_flops == 2 * 7 * 24 * 100 + 7 * 100
    assert net.layers[-1].out_shape == (7, 100)

    class AlongRows(LanguageModel):
        def forward(self, x):
            out, _ = self.rnn(self.proj(self.emb(x)))
            return F.softmax(self.dec(out.reshape(-1, out.size(2))), dim=0)

    with pytest.raises(SimulatorError, match="rows that merge the batch"):
        from_torch(AlongRows(), torch.randint(0, 100, (3, 7)))


class GroupedQueryAttention(nn.Module):
    """LLaMA's attention with fewer key and value heads than query heads (grouped-query attention), each
    key / value head repeated for its group the four ways models write it."""

    def __init__(self, how, d=64, heads=8, kv_heads=2):
        super().__init__()
        self.how, self.heads, self.kv_heads, self.hd = how, heads, kv_heads, d // heads
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)

    def repeat_kv(self, x):
        n = self.heads // self.kv_heads
        if self.how == "expand":   # Hugging Face's repeat_kv
            b, h, s, d = x.shape
            return x[:, :, None, :, :].expand(b, h, n, s, d).reshape(b, h * n, s, d)
        if self.how == "repeat_interleave":
            return torch.repeat_interleave(x, n, dim=1)
        return x.repeat_interleave(n, dim=1)

    def forward(self, x):
        B, T, C = x.shape
        q = self.q_proj(x).view(B, T, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv_heads, self.hd).transpose(1, 2)
        if self.how == "enable_gqa":
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        else:
            y = F.scaled_dot_product_attention(q, self.repeat_kv(k), self.repeat_kv(v), is_causal=True)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, C))


def test_grouped_query_attention_repeats_the_key_and_value_heads():
    nets = {how: from_torch(GroupedQueryAttention(how), torch.randn(2, 10, 64))
            for how in ("expand", "repeat_interleave", "method", "enable_gqa")}
    for net in nets.values():
        assert net.params == torch_params(GroupedQueryAttention("expand"))
        repeats = [l for l in net.layers if l.kind == "repeat"]   # 2 heads of 10 x 8, each made 4: 8 heads
        assert [l.fwd_write for l in repeats] == [8 * 10 * 8] * 2 and [l.fwd_flops for l in repeats] == [0, 0]
        products = [l for l in net.layers if l.kind == "matmul"]
        assert [l.fwd_flops for l in products] == [2 * 8 * 10 * 10 * 8] * 2   # per query head, as torch computes
    forward = {how: net.forward_flops for how, net in nets.items()}
    assert len(set(forward.values())) == 1, forward


class CellDecoder(nn.Module):
    """A decoder written as a loop over time with nn.LSTMCell / nn.GRUCell (Show, Attend and Tell's style): its
    state starts from the encoder's mean (LSTM) or from zeros made in forward (GRU), each step reads the
    previous one, the outputs are stacked."""

    def __init__(self, cell):
        super().__init__()
        self.cell_kind = cell
        self.init_h, self.init_c = nn.Linear(24, 16), nn.Linear(24, 16)
        self.step = nn.LSTMCell(8 + 24, 16) if cell == "lstm" else nn.GRUCell(8 + 24, 16, bias=False)
        self.embedding, self.fc = nn.Embedding(50, 8), nn.Linear(16, 50)

    def forward(self, feats, caps):
        mean = feats.mean(dim=1)
        h, c = (self.init_h(mean), self.init_c(mean)) if self.cell_kind == "lstm" else \
            (torch.zeros(caps.size(0), 16), None)
        emb, outs = self.embedding(caps), []
        for t in range(caps.size(1)):
            x = torch.cat([emb[:, t, :], mean], dim=1)
            if self.cell_kind == "lstm":
                h, c = self.step(x, (h, c))
            else:
                h = self.step(x, h)
            outs.append(self.fc(h))
        return torch.stack(outs, dim=1)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_decoder_loop_of_rnn_cells_is_one_step_layer_per_time_step(cell):
    model = CellDecoder(cell)
    net = from_torch(model, (torch.randn(3, 5, 24), torch.randint(0, 50, (3, 4))))
    steps = [l for l in net.layers if l.kind == f"{cell}_cell"]
    assert [l.name for l in steps] == ["step", "step_1", "step_2", "step_3"]
    first = ("cat", "init_h", "init_c") if cell == "lstm" else ("cat",)   # zeros made in forward: no parent
    assert steps[0].parents == first and [l.parents for l in steps[1:]] == [
        (f"cat_{t}", steps[t - 1].name) for t in range(1, 4)]
    gates = 4 if cell == "lstm" else 3
    assert steps[0].params == gates * 16 * (32 + 16) + (2 * gates * 16 if cell == "lstm" else 0)
    assert all(l.shares_weights_with == "step" for l in steps[1:])
    used = sum(p.numel() for n, p in model.named_parameters() if cell == "lstm" or not n.startswith("init_"))
    assert net.params == used and net.layers[-1].out_shape == (4, 50)


def test_vector_norms_logsumexp_log_sigmoid_and_concatenate():
    class Gates(nn.Module):   # xLSTM's gates (log-sigmoid, logsumexp), a norm over the features, torch.concatenate
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 6)

        def forward(self, x):
            h = F.logsigmoid(self.fc(x))
            scale = h.norm(dim=-1, keepdim=True) + torch.linalg.vector_norm(x, dim=-1, keepdim=True) + \
                torch.logsumexp(h, dim=-1, keepdim=True)
            return torch.concatenate([h / scale, x], dim=-1)

    net = from_torch(Gates(), torch.randn(2, 3, 6))
    kinds = {layer.name: layer.kind for layer in net.layers}
    assert kinds["norm"] == "mean" and kinds["linalg_vector_norm"] == "mean" and kinds["logsumexp"] == "mean"
    assert kinds["log_sigmoid"] == "mul" and net.layers[-1].kind == "concat"
    assert net.layers[-1].out_shape == (3, 12)
