"""The torch.fx importer: parameter counts equal PyTorch's, FLOPs equal PyTorch's
own FLOP counter, NCHW becomes (H, W, C), unsupported nodes are one clear line."""
from __future__ import annotations

import pytest
import torch   # a hard dependency: a broken install must fail here, not be skipped
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from simulator.graph import SimulatorError
from simulator.importers.torch_fx import from_torch
from simulator.ops import GroupNorm


class SmallCNN(nn.Module):
    """Residual add, concat, pooling, batch norm, dropout."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.branch = nn.Conv2d(16, 8, 1)
        self.pool = nn.MaxPool2d(2)
        self.down = nn.Conv2d(24, 32, 3, stride=2, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = torch.relu(x + self.bn2(self.conv2(x)))
        x = torch.cat([x, self.branch(x)], dim=1)
        x = self.down(self.pool(x))
        return self.fc(self.drop(torch.flatten(self.gap(x), 1)))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                                 nn.Linear(256, 128), nn.Tanh(), nn.Linear(128, 10))

    def forward(self, x):
        return F.softmax(self.net(x), dim=-1)


class TinyTransformer(nn.Module):
    """A pre-LN block written out by hand: embeddings, a free position
    parameter, split heads, scaled scores, softmax, context, MLP."""

    def __init__(self, vocab=100, d=32, heads=4, t=16):
        super().__init__()
        self.heads = heads
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(1, t, d))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.head = nn.Linear(d, vocab)

    def forward(self, ids):
        x = self.emb(ids) + self.pos
        b, t, d = x.shape
        h, dh = self.heads, d // self.heads
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q = q.view(b, t, h, dh).transpose(1, 2)
        k = k.view(b, t, h, dh).transpose(1, 2)
        v = v.view(b, t, h, dh).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-2, -1) * dh ** -0.5, dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(ctx)
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return self.head(x)


def torch_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def torch_gemm_flops(module, sample) -> float:
    """FLOPs PyTorch's own counter attributes to conv / mm / bmm, per sample."""
    module.eval()
    with FlopCounterMode(display=False) as counter:
        module(sample)
    return counter.get_total_flops() / sample.shape[0]


def our_gemm_flops(net) -> float:
    total = 0.0
    for l in net.layers:
        if l.kind in ("conv2d", "linear", "matmul"):
            bias = l.out_elems if getattr(l.op, "bias", False) else 0
            total += l.fwd_flops - bias
    return total


@pytest.mark.parametrize("make,sample", [
    (SmallCNN, lambda: torch.randn(2, 3, 16, 16)),
    (MLP, lambda: torch.randn(4, 1, 28, 28)),
    (TinyTransformer, lambda: torch.randint(0, 100, (2, 16))),
], ids=["cnn", "mlp", "transformer"])
def test_params_and_flops_equal_pytorchs(make, sample):
    torch.manual_seed(0)
    module, x = make(), sample()
    net = from_torch(module, x)
    assert net.params == torch_params(module)
    assert our_gemm_flops(net) == torch_gemm_flops(module, x)
    assert net.batch_size == x.shape[0]


def test_cnn_layout_is_channels_last():
    net = from_torch(SmallCNN(), torch.randn(2, 3, 16, 16))
    assert net.layer("x").out_shape == (16, 16, 3)
    assert net.layer("conv1").out_shape == (16, 16, 16)
    assert net.layer("cat").out_shape == (16, 16, 24)   # cat(dim=1) is the channel axis
    assert net.layer("down").out_shape == (4, 4, 32)
    assert net.layer("flatten").out_shape == (32,)
    assert net.layer("add").parents == ("relu", "bn2")
    assert net.layer("conv1").params == 3 * 3 * 3 * 16 + 16


def test_transformer_attention_nodes():
    net = from_torch(TinyTransformer(), torch.randint(0, 100, (2, 16)))
    assert net.layer("pos").kind == "parameter" and net.layer("pos").out_shape == (16, 32)
    assert net.layer("softmax").out_shape == (4, 16, 16)     # (heads, T, T)
    assert net.layer("matmul").out_shape == (4, 16, 16)
    assert net.layer("matmul_1").out_shape == (4, 16, 8)     # (heads, T, D / heads)
    assert net.layer("emb").out_shape == (16, 32)
    pieces = [l for l in net.layers if l.kind == "slice"]
    assert [(l.op.start, l.op.stop, l.out_shape) for l in pieces] == [
        (0, 32, (16, 32)), (32, 64, (16, 32)), (64, 96, (16, 32))]
    assert all(l.parents == ("qkv",) for l in pieces)


class AttentionAndLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(32, 4, batch_first=True)
        self.lstm = nn.LSTM(32, 24, num_layers=2, bidirectional=True, batch_first=True)
        self.norm = nn.BatchNorm1d(48)
        self.out = nn.Linear(48, 5)

    def forward(self, x):
        a, _ = self.mha(x, x, x, need_weights=False)
        h, _ = self.lstm(x + a)
        return self.out(self.norm(h[:, -1]))


def test_multihead_attention_and_lstm_params():
    module = AttentionAndLSTM()
    net = from_torch(module, torch.randn(3, 10, 32))
    assert net.params == torch_params(module)
    assert net.layer("mha").out_shape == (10, 32)
    assert net.layer("lstm").out_shape == (10, 48)
    assert [l.kind for l in net.layers][-3:] == ["select", "batch_norm", "linear"]


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(8, 8)

    def forward(self, x):
        return self.layer(F.relu(self.layer(x)))


def test_module_called_twice_shares_its_weights():
    module = Shared()
    net = from_torch(module, torch.randn(2, 8))
    assert net.params == torch_params(module) == 72
    second = [l for l in net.layers if l.kind == "linear"][1]
    assert second.shares_weights_with == "layer" and second.wgrad_flops > 0


class ViewThenConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 4 * 3 * 3)
        self.conv = nn.Conv2d(4, 2, 3, padding=1)

    def forward(self, z):
        return self.conv(self.fc(z).view(-1, 4, 3, 3))


def test_layout_view_is_inserted_for_a_conv_on_a_viewed_tensor():
    net = from_torch(ViewThenConv(), torch.randn(2, 10))
    assert net.layer("view:nhwc").out_shape == (3, 3, 4)
    assert net.layer("view:nhwc").is_view
    assert net.layer("conv").out_shape == (3, 3, 2)


def test_training_mode_and_statistics_untouched():
    module = SmallCNN().train()
    before = module.bn1.running_mean.clone()
    from_torch(module, torch.randn(2, 3, 16, 16) + 5)
    assert module.training and module.bn1.training
    assert torch.equal(module.bn1.running_mean, before)


class Sorts(nn.Module):
    def forward(self, x):
        return torch.sort(x, dim=1)[0]


class Branches(nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x


class SeqFirst(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 4)

    def forward(self, x):
        return self.lstm(x)[0]


def test_unsupported_node_is_one_line_naming_node_and_target():
    with pytest.raises(SimulatorError) as info:
        from_torch(Sorts(), torch.randn(2, 5))
    assert str(info.value) == ("Sorts: node 'sort' (call_function sort): "
                               "unsupported operation (its result is not a single tensor)")
    # control flow on values follows the sample input (traced with its values)
    assert [l.kind for l in from_torch(Branches(), torch.ones(2, 5)).layers] == ["input"]
    assert [l.kind for l in from_torch(Branches(), -torch.ones(2, 5)).layers] == ["input", "mul"]
    with pytest.raises(SimulatorError, match=r"node 'lstm' \(call_module lstm\): LSTM\(batch_first=False\) reads "
                                             r"\(sequence, batch, features\) but is given a tensor whose first axis is "
                                             r"the batch"):
        from_torch(SeqFirst(), torch.randn(3, 2, 4))
    with pytest.raises(SimulatorError, match="sample_input must be a tensor"):
        from_torch(MLP(), [[1.0]])
    with pytest.raises(SimulatorError, match="forward takes 1 input"):
        from_torch(MLP(), (torch.randn(2, 784), torch.randn(2, 784)))


def test_silu_as_a_module_and_as_a_function():
    # SiLU (swish): EfficientNet's activation, and the gate of LLaMA's SwiGLU feed-forward
    class SwiGLU(nn.Module):
        def __init__(self, d=16):
            super().__init__()
            self.gate, self.up, self.down = nn.Linear(d, 4 * d), nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
            self.act = nn.SiLU()

        def forward(self, x):
            return self.down(F.silu(self.gate(x)) * self.up(x)) + self.act(x)
    module, x = SwiGLU(), torch.randn(2, 16)
    net = from_torch(module, x)
    acts = [l for l in net.layers if l.kind == "silu"]
    assert len(acts) == 2 and acts[0].out_shape == (64,) and acts[0].fwd_flops == 5 * 64
    assert net.params == torch_params(module) and our_gemm_flops(net) == torch_gemm_flops(module, x)


def test_scaled_dot_product_attention_costs_what_the_written_out_attention_costs():
    class Attention(nn.Module):
        def __init__(self, d=32, heads=4, fused=True):
            super().__init__()
            self.qkv, self.proj, self.heads, self.fused = nn.Linear(d, 3 * d), nn.Linear(d, d), heads, fused

        def forward(self, x):
            b, t, d = x.shape
            h = self.heads
            q, k, v = self.qkv(x).chunk(3, dim=-1)
            q, k, v = (q.view(b, t, h, d // h).transpose(1, 2), k.view(b, t, h, d // h).transpose(1, 2),
                       v.view(b, t, h, d // h).transpose(1, 2))
            if self.fused:
                ctx = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                ctx = torch.softmax(q @ k.transpose(-2, -1) * (d // self.heads) ** -0.5, dim=-1) @ v
            return self.proj(ctx.transpose(1, 2).reshape(b, t, d))
    x = torch.randn(2, 16, 32)
    fused, plain = from_torch(Attention(), x), from_torch(Attention(fused=False), x)
    assert fused.params == plain.params and our_gemm_flops(fused) == our_gemm_flops(plain)
    assert [l.kind for l in fused.layers if l.name.startswith("scaled_dot_product_attention")] == [
        "matmul", "mul", "add", "softmax", "matmul"]   # the causal mask: one addition per score
    assert sum(l.fwd_flops for l in fused.layers) == sum(l.fwd_flops for l in plain.layers) + 4 * 16 * 16

    class Masked(Attention):   # a mask kept as a buffer (GPT-style tril) costs what the causal mask costs
        def __init__(self):
            super().__init__()
            self.register_buffer("mask", torch.tril(torch.ones(16, 16, dtype=torch.bool)))

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(x).chunk(3, dim=-1)
            q, k, v = (y.view(b, t, 4, d // 4).transpose(1, 2) for y in (q, k, v))
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=self.mask)
            return self.proj(ctx.transpose(1, 2).reshape(b, t, d))
    masked = from_torch(Masked(), x)
    assert masked.params == torch_params(Masked()) == fused.params
    assert [l.kind for l in masked.layers if l.name.startswith("scaled_dot_product_attention")] == [
        "matmul", "mul", "add", "softmax", "matmul"]
    assert sum(l.fwd_flops for l in masked.layers) == sum(l.fwd_flops for l in fused.layers)
    assert masked.layer("scaled_dot_product_attention:attn_mask").parents[1] == "mask"


@pytest.mark.parametrize("module, kind", [
    (nn.LeakyReLU(0.1), "leaky_relu"), (nn.ReLU6(), "hardtanh"), (nn.Hardtanh(-2, 2), "hardtanh"),
    (nn.Hardsigmoid(), "hardsigmoid"), (nn.Hardswish(), "hardswish"), (nn.ELU(), "elu"),
    (nn.Softplus(), "softplus"), (nn.Mish(), "mish")], ids=lambda v: v if isinstance(v, str) else "")
def test_more_activations_of_mobile_and_recent_networks(module, kind):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.act = nn.Linear(8, 8), module

        def forward(self, x):
            return self.act(self.fc(x))
    net = from_torch(Net(), torch.randn(2, 8))
    assert net.layers[-1].kind == kind and net.layers[-1].out_shape == (8,) and net.layers[-1].fwd_flops > 0


def test_rms_norm_of_llama_blocks():
    class Block(nn.Module):
        def __init__(self, d=16):
            super().__init__()
            self.norm, self.fc = nn.RMSNorm(d), nn.Linear(d, d)

        def forward(self, x):
            return x + self.fc(self.norm(x))
    module, x = Block(), torch.randn(2, 5, 16)
    net = from_torch(module, x)
    norm = next(l for l in net.layers if l.kind == "rms_norm")
    assert net.params == torch_params(module) and norm.params == 16 and norm.fwd_flops == 4 * 5 * 16


def test_group_and_instance_norm_of_images():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.gn, self.inorm = nn.Conv2d(3, 8, 3, padding=1), nn.GroupNorm(2, 8), nn.InstanceNorm2d(8)

        def forward(self, x):
            return self.inorm(torch.relu(self.gn(self.conv(x))))
    module, x = Net(), torch.randn(2, 3, 6, 6)
    net = from_torch(module, x)
    gn, inorm = (l for l in net.layers if l.kind == "group_norm")
    assert (gn.op.groups, inorm.op.groups) == (2, 8) and gn.out_shape == (6, 6, 8)
    assert gn.params == 16 and inorm.params == 0 and net.params == torch_params(module)
    with pytest.raises(SimulatorError, match="channels do not split into 3 groups"):
        GroupNorm(3).infer([(6, 6, 8)])


def test_upsampling_of_a_decoder():
    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.up, self.conv = nn.Upsample(scale_factor=2), nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            return self.conv(self.up(x)) + F.interpolate(x, size=(8, 8), mode="bilinear")
    net = from_torch(Decoder(), torch.randn(2, 4, 4, 4))
    nearest, bilinear = (l for l in net.layers if l.kind == "upsample")
    assert nearest.out_shape == bilinear.out_shape == (8, 8, 4)
    assert (nearest.op.mode, nearest.fwd_flops, bilinear.op.mode, bilinear.fwd_flops) == ("nearest", 0, "bilinear",
                                                                                          7 * 8 * 8 * 4)

    class Bicubic(nn.Module):
        def forward(self, x):
            return F.interpolate(x, scale_factor=2, mode="bicubic")
    (bicubic,) = (l for l in from_torch(Bicubic(), torch.randn(2, 4, 4, 4)).layers if l.kind == "upsample")
    assert (bicubic.op.mode, bicubic.out_shape, bicubic.fwd_flops) == ("bicubic", (8, 8, 4), 31 * 8 * 8 * 4)
    with pytest.raises(SimulatorError, match="interpolate mode 'area' is not supported"):
        class Area(nn.Module):
            def forward(self, x):
                return F.interpolate(x, scale_factor=2, mode="area")
        from_torch(Area(), torch.randn(2, 4, 4, 4))


@pytest.mark.parametrize("layer", [nn.ConvTranspose2d(8, 4, 2, stride=2),
                                   nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
                                   nn.ConvTranspose2d(8, 4, 3, dilation=2, bias=False)],
                         ids=["2x2", "grouped", "dilated"])
def test_transposed_convolution_has_torchs_shape_parameters_and_flops(layer):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = layer

        def forward(self, x):
            return self.up(x)
    module, x = Net(), torch.randn(2, 8, 5, 5)
    net = from_torch(module, x)   # the output shape is checked against torch's when imported
    up = net.layers[-1]
    bias = up.out_elems if layer.bias is not None else 0
    assert up.kind == "conv_transpose2d" and net.params == torch_params(module)
    assert up.fwd_flops - bias == torch_gemm_flops(module, x)


def test_transposed_convolution_costs_time_under_both_cost_models():
    import simulator as sim

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)

        def forward(self, x):
            return self.up(x)
    net = from_torch(Generator(), torch.randn(16, 64, 32, 32))
    for model in ("paleo", "roofline"):
        times = [sim.simulate(net, "cpu+1xV100-pcie3", 1, cost_model=model, batch_size=b).step_time
                 for b in (16, 64)]
        assert times[1] > 2 * times[0] > 0, (model, times)   # the work grows with the batch


@pytest.mark.parametrize("layer", [nn.Conv1d(8, 16, 5), nn.Conv1d(8, 16, 3, stride=2, padding=1, groups=4),
                                   nn.Conv1d(8, 16, 3, padding="same", dilation=2, bias=False)],
                         ids=["plain", "strided-grouped", "same-dilated"])
def test_one_dimensional_convolution_has_torchs_shape_parameters_and_flops(layer):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = layer

        def forward(self, x):
            return torch.relu(self.conv(x))
    module, x = Net(), torch.randn(2, 8, 20)
    net = from_torch(module, x)   # the output shape is checked against torch's when imported
    conv = next(l for l in net.layers if l.kind == "conv1d")
    bias = conv.out_elems if layer.bias is not None else 0
    assert net.params == torch_params(module) and conv.fwd_flops - bias == torch_gemm_flops(module, x)
    import simulator as sim
    for model in ("paleo", "roofline"):
        assert sim.simulate(net, "cpu+1xV100-pcie3", 1, cost_model=model).step_time > 0


class Recurrent(nn.Module):
    def __init__(self, cell, **kw):
        super().__init__()
        self.rnn = cell(16, 32, batch_first=True, **kw)
        self.out = nn.Linear(32 * (2 if kw.get("bidirectional") else 1), 4)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.out(h[:, -1])


@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True}, {"bias": False}],
                         ids=["plain", "stacked-bidirectional", "no-bias"])
def test_gru_has_torchs_parameters_and_three_gate_blocks_of_work(kw):
    import simulator as sim
    gru = from_torch(Recurrent(nn.GRU, **kw), torch.randn(2, 10, 16))
    lstm = from_torch(Recurrent(nn.LSTM, **kw), torch.randn(2, 10, 16))
    assert gru.params == torch_params(Recurrent(nn.GRU, **kw))
    layer = gru.layer("rnn")
    assert layer.kind == "gru" and layer.out_shape == (10, 32 * (2 if kw.get("bidirectional") else 1))
    if not kw:   # one layer, one direction: T steps of the gate GEMMs, bias adds and 15 element-wise per unit
        h, d, t = 32, 16, 10
        assert layer.fwd_flops == t * (2 * 3 * h * (d + h) + 2 * 3 * h + 15 * h)
    for model in ("paleo", "roofline"):
        g = sim.simulate(gru, "cpu+1xV100-pcie3", 1, cost_model=model, batch_size=256).step_time
        s = sim.simulate(lstm, "cpu+1xV100-pcie3", 1, cost_model=model, batch_size=256).step_time
        assert 0 < g < s, (model, g, s)   # three gate blocks cost less than the LSTM's four


def test_a_gru_over_time_major_input_is_refused_by_name():
    class TimeMajor(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(16, 32)    # torch's default: (T, N, D)

        def forward(self, x):
            return self.rnn(x)[0]
    with pytest.raises(SimulatorError, match=r"rnn.*GRU\(batch_first=False\) reads \(sequence, batch, features\)"):
        from_torch(TimeMajor(), torch.randn(10, 2, 16))
    # given as what it is, sequence-first, it is the batch-first GRU
    net = from_torch(TimeMajor(), torch.randn(10, 2, 16), batch_dim=1)
    assert net.batch_size == 2 and net.layer("rnn").out_shape == (10, 32)


class Conv3DSimple(nn.Conv3d):
    """torchvision's video ResNets: an nn.Conv3d subclass with its own constructor and torch's forward."""

    def __init__(self, cin, cout, stride=1):
        super().__init__(cin, cout, (3, 3, 3), stride=stride, padding=1, bias=False)


@pytest.mark.parametrize("layer", [nn.Conv3d(3, 8, 3), nn.Conv3d(4, 8, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1),
                                                                     groups=2),
                                   nn.Conv3d(3, 8, 3, padding="same", dilation=2, bias=False), Conv3DSimple(3, 8, 2)],
                         ids=["plain", "strided-grouped", "same-dilated", "subclass"])
def test_volumes_have_torchs_shapes_parameters_and_flops(layer):
    class Clip(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = layer, nn.BatchNorm3d(8)
            self.pool, self.head = nn.MaxPool3d((1, 2, 2), ceil_mode=True), nn.AdaptiveAvgPool3d(1)
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            x = F.avg_pool3d(self.pool(torch.relu(self.bn(self.conv(x)))), 1)
            return self.fc(torch.flatten(self.head(x), 1))
    module, x = Clip(), torch.randn(2, layer.in_channels, 6, 11, 11)
    net = from_torch(module, x)   # every output shape is checked against torch's when imported
    conv = next(l for l in net.layers if l.kind == "conv3d")
    bias = conv.out_elems if layer.bias is not None else 0
    assert net.params == torch_params(module) and conv.fwd_flops - bias == torch_gemm_flops(module, x) - 2 * 8 * 5
    assert [l.kind for l in net.layers if "pool" in l.kind] == ["pool3d", "pool3d", "adaptive_avg_pool3d"]
    import simulator as sim
    for model in ("paleo", "roofline"):
        assert sim.simulate(net, "cpu+1xV100-pcie3", 1, cost_model=model).step_time > 0


def test_groups_are_modules_at_the_depth_where_none_holds_most_of_the_work():
    class Stage(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.blocks = nn.Sequential(*[nn.Sequential(nn.Linear(c, c), nn.ReLU()) for _ in range(6)])

        def forward(self, x):
            return self.blocks(x)

    class Net(nn.Module):   # one stage holds nearly all the work; the token and head are small
        def __init__(self):
            super().__init__()
            self.stem, self.features, self.norm, self.head = nn.Linear(8, 64), Stage(64), nn.LayerNorm(64), \
                nn.Linear(64, 4)

        def forward(self, x):
            x = self.features(self.stem(x).view(x.size(0), 64))   # a function in the network's own forward
            return self.head(self.norm(x))

    net = from_torch(Net(), torch.randn(2, 8))
    assert [g.name for g in net.groups] == ["stem", "features.blocks.0", "features.blocks.1", "features.blocks.2",
                                            "features.blocks.3", "features.blocks.4", "features.blocks.5",
                                            "norm", "head"]
    assert "view" in [net.layers[i].name for i in net.groups[0].layers]   # the view joins the group before it


def test_a_structure_of_outputs_is_the_networks_outputs():
    from collections import namedtuple
    Outputs = namedtuple("Outputs", ["logits", "aux"])

    class WithAux(nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.head, self.aux = nn.Linear(8, 16), nn.Linear(16, 4), nn.Linear(16, 4)

        def forward(self, x):
            h = torch.relu(self.body(x))
            return Outputs(self.head(h), self.aux(h)) if self.training else self.head(h)

    model = WithAux()
    assert from_torch(model, torch.randn(2, 8)).params == torch_params(model)          # training: the aux head
    assert from_torch(model.eval(), torch.randn(2, 8)).params == torch_params(model) - 16 * 4 - 4


@pytest.mark.parametrize("fails", [False, True])
def test_the_users_model_is_left_as_it_was_whether_the_import_succeeds_or_fails(fails):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.l, self.keep = nn.Linear(8, 8), torch.zeros(8)   # a plain tensor attribute, not a buffer

        def forward(self, x):
            y = self.l(x)
            stat = y.mean(0) if fails else torch.ones(8)   # a statistic over the batch cannot be imported
            self.keep = 0.9 * self.keep + 0.1 * stat.detach()
            return y - self.keep

    m = Net()
    keep, attrs = m.keep, dict(m.__dict__)
    if fails:
        with pytest.raises(SimulatorError):
            from_torch(m, torch.randn(2, 8))
    else:
        from_torch(m, torch.randn(2, 8))
    assert m.keep is keep and m.__dict__.keys() == attrs.keys()
    assert isinstance(m(torch.randn(2, 8)), torch.Tensor)


@pytest.mark.parametrize("fails", [False, True])
def test_the_models_lists_dicts_and_buffers_changed_by_forward_are_left_as_they_were(fails):
    class Collector(nn.Module):   # a feature collector, a stats dict, a step counter kept as a buffer
        def __init__(self):
            super().__init__()
            self.l, self.hist, self.stats, self.seen = nn.Linear(8, 8), [], {"n": 0, "per_layer": [[]]}, set()
            self.register_buffer("steps", torch.zeros(8))

        def forward(self, x):
            y = self.l(x)
            self.hist.append(y)
            self.stats["last"] = y
            self.stats["per_layer"][0].append(y)
            self.seen.add(y)
            self.steps.add_(1.0)
            return y.mean(0) if fails else y   # a statistic over the batch cannot be imported

    m = Collector()
    hist, stats, inner, steps = m.hist, m.stats, m.stats["per_layer"][0], m.steps
    if fails:
        with pytest.raises(SimulatorError):
            from_torch(m, torch.randn(2, 8))
    else:
        from_torch(m, torch.randn(2, 8))
    assert m.hist is hist and m.hist == [] and m.stats is stats and list(m.stats) == ["n", "per_layer"]
    assert m.stats["per_layer"][0] is inner and inner == [] and m.seen == set()
    assert m.steps is steps and m.steps.tolist() == [0.0] * 8
    m(torch.randn(2, 8))   # the user's own run afterwards: tensors, not torch.fx Proxies
    assert isinstance(torch.stack(m.hist), torch.Tensor) and m.steps.tolist() == [1.0] * 8


def test_a_forward_hook_on_a_module_kept_whole_is_refused_by_name():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(16, 16))
            self.adapter = nn.Linear(16, 16)
            self.enc[0].register_forward_hook(lambda m, i, o: o + self.adapter(o))

        def forward(self, x):
            return self.enc(x)

    with pytest.raises(SimulatorError, match=r"^Net: module 'enc\.0' \(Linear\): has a forward hook.*; call"):
        from_torch(Net(), torch.randn(2, 16))
    traced = nn.Sequential(nn.Sequential(nn.Linear(8, 8)), nn.Linear(8, 2))
    traced[0].register_forward_hook(lambda m, i, o: o * 2)   # on a module traced through: its work is traced
    assert [l.name for l in from_torch(traced, torch.randn(2, 8)).layers] == ["input_1", "0.0", "mul", "1"]


@pytest.mark.parametrize("kind", ["forward hook", "pre-hook"])
def test_a_forward_hook_on_the_model_itself_is_refused_naming_its_class(kind):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.l, self.adapter = nn.Linear(16, 16), nn.Linear(16, 16)

        def forward(self, x):
            return self.l(x)

    for m in (Net(), nn.Linear(16, 16)):
        if kind == "forward hook":   # an adapter added by the hook: its work would be dropped
            m.register_forward_hook(lambda mod, i, o: o + o)
        else:
            m.register_forward_pre_hook(lambda mod, i: (i[0] * 2,))
        name = type(m).__name__
        with pytest.raises(SimulatorError, match=rf"the model \({name}\): has a forward hook or pre-hook.*; call"):
            from_torch(m, torch.randn(2, 16))


class Probe(nn.Module):
    def __init__(self, how):
        super().__init__()
        self.how, self.bb, self.head = how, nn.Sequential(nn.Linear(16, 16), nn.ReLU()), nn.Linear(16, 2)
        if how == "frozen":
            self.bb.requires_grad_(False)

    def forward(self, x):
        if self.how == "no_grad":
            with torch.no_grad():
                f = self.bb(x)
        elif self.how == "checkpoint":
            f = torch.utils.checkpoint.checkpoint(self.bb, x, use_reentrant=False)
        else:
            f = self.bb(x).detach() if self.how == "detach" else self.bb(x)
        return self.head(f)


@pytest.mark.parametrize("how, said", [("frozen", r"requires_grad=False in bb\)"), ("detach", r"\.detach\(\)"),
                                       ("no_grad", r"torch\.no_grad\(\) around bb\.0"),
                                       ("checkpoint", r"torch\.utils\.checkpoint is not modelled \(in bb\)")])
def test_gradient_stops_and_checkpoints_are_named_in_one_warning(how, said, recwarn):
    from simulator.importers.torch_checks import TorchImportWarning
    with pytest.warns(TorchImportWarning, match=said) as caught:
        from_torch(Probe(how), torch.randn(2, 16))
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_torch(Probe("all"), torch.randn(2, 16))   # nothing stopped: no warning


def test_the_cli_and_the_evaluator_say_the_gradient_stop_warning_in_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "probe_net.py").write_text(
        "import torch, torch.nn as nn\n"
        "class P(nn.Module):\n"
        "    def __init__(s): super().__init__(); s.bb = nn.Linear(16, 16); s.h = nn.Linear(16, 2)\n"
        "    def forward(s, x): return s.h(s.bb(x).detach())\n"
        "def build(): return P(), torch.randn(2, 16)\n")
    monkeypatch.chdir(tmp_path)
    from simulator.__main__ import _run_user_network   # what `python -m simulator --network probe_net.py:build` runs
    assert _run_user_network("probe_net.py:build", "probe_net.py", "build").layers
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err == ["warning: P: gradient stops are not modelled (.detach() in node 'detach'): costed as trained "
                   "(weight gradients, optimizer state and updates, gradients flowing through)"]
    # the evaluator hands the same line to Deffe's log (deffe.log), other warnings go on as they were
    import warnings

    from simulator.importers.torch_checks import reporting_warnings
    from simulator.importers.torch_fx import from_built
    logged = []

    def build():
        warnings.warn("the user's own", DeprecationWarning)
        return from_built((Probe("detach"), torch.randn(2, 16)), "net:build")
    with pytest.warns(DeprecationWarning, match="the user's own") as others:
        net = reporting_warnings(build, logged.append)
    assert net.layers and logged == [err[0].replace("warning: P:", "warning: Probe:")] and len(others) == 1


@pytest.mark.parametrize("returned, said", [
    ("3, torch.randn(2, 4)", "expected a torch.nn.Module as the model, got int; return"),
    ("nn.Linear(4, 4), torch.tensor(3.0)", r"the sample input is a tensor of shape \(\): .*; return"),
    ("nn.Linear(4, 4), {'input': torch.randn(2, 4), 'scale': 2.0}", "the sample input 'scale' is float: .*; return"),
    ("nn.LSTM(4, 4), torch.randn(5, 2, 4), 1.0", r"returned \(model, sample input, 1.0\): the third item is")])
def test_a_builders_mistake_names_the_builder(returned, said):
    from simulator.importers.torch_fx import from_built
    with pytest.raises(SimulatorError, match=f"^bad.py:build: {said}") as err:
        from_built(eval(returned), "bad.py:build")
    assert "\n" not in str(err.value)


def test_an_unsupported_function_in_a_submodule_names_the_module_and_a_way_forward():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 8)

        def forward(self, x):
            return F.softmin(self.lin(x), -1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.ModuleList([nn.Linear(8, 8), Odd()])

        def forward(self, x):
            for m in self.enc:
                x = m(x)
            return x

    with pytest.raises(SimulatorError, match=r"^Net: module 'enc\.1': node 'softmin' \(call_function softmin\): "
                                             r"unsupported operation 'softmin'; write it with"):
        from_torch(Net(), torch.randn(2, 8))


def test_packed_sequences_are_refused_with_what_to_pass_instead():
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.r, self.o = nn.LSTM(8, 16, batch_first=True), nn.Linear(16, 3)

        def forward(self, x, lengths):
            o, _ = self.r(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
            return self.o(pad_packed_sequence(o, batch_first=True)[0])

    with pytest.raises(SimulatorError, match=r"^Net: packed sequences .* not supported; pass the padded tensor"):
        from_torch(Net(), (torch.randn(3, 5, 8), torch.tensor([5, 3, 2])))
