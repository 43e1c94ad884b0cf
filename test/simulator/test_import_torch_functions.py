"""The torch.fx importer on the function forms that torchvision's networks call (ConvNeXt's LayerNorm2d,
DenseNet's and MobileNetV2's pooling, EfficientNet's stochastic depth, ViT's class token): each costs what
the module form costs (F.layer_norm's affine as the two element-wise operations it is), and the parameters
are torch's."""
from __future__ import annotations

import pytest
import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

from simulator.graph import SimulatorError
from simulator.importers.torch_fx import from_torch


def stochastic_depth(input, p, mode, training=True):   # torchvision.ops.stochastic_depth's signature
    return input


stochastic_depth.__module__ = "torchvision.ops.stochastic_depth"
torch.fx.wrap("stochastic_depth")     # a leaf of the trace, as torchvision makes it


def torch_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def fwd(net) -> float:
    return sum(l.fwd_flops for l in net.layers)


class LayerNorm2d(nn.LayerNorm):
    """torchvision's ConvNeXt: a LayerNorm over the channels of an image, by F.layer_norm."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ChannelsLast(nn.Module):
    def __init__(self, norm):
        super().__init__()
        self.conv, self.norm = nn.Conv2d(3, 8, 3, padding=1), norm

    def forward(self, x):
        return self.norm(self.conv(x).permute(0, 2, 3, 1))


class Channels(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.norm = nn.Conv2d(3, 8, 3, padding=1), LayerNorm2d(8)

    def forward(self, x):
        return self.norm(self.conv(x))


@pytest.mark.parametrize("affine", [True, False])
def test_functional_layer_norm_costs_what_the_module_costs(affine):
    x = torch.randn(2, 3, 6, 6)
    func = Channels()
    func.norm = LayerNorm2d(8, elementwise_affine=affine)
    module = ChannelsLast(nn.LayerNorm(8, elementwise_affine=affine))
    a, b = from_torch(func, x), from_torch(module, x)
    assert a.params == torch_params(func) == b.params == torch_params(module)
    # the module's 7 FLOPs per element hold its scale and shift; the function's affine is the weight's multiply
    # and the bias's add as written, one FLOP each per element more
    assert fwd(a) == fwd(b) + (2 * 6 * 6 * 8 if affine else 0)
    kinds = [l.kind for l in a.layers if l.name.startswith("layer_norm")]
    assert kinds == (["layer_norm", "mul", "add"] if affine else ["layer_norm"])


class Pools(nn.Module):
    def __init__(self, functional):
        super().__init__()
        self.functional = functional
        self.mods = nn.ModuleList([nn.MaxPool2d(3, 2, 1), nn.AvgPool2d(2, ceil_mode=True), nn.AdaptiveAvgPool2d(1)])

    def forward(self, x):
        if self.functional:
            x = F.max_pool2d(x, 3, 2, 1)
            x = F.avg_pool2d(x, kernel_size=2, ceil_mode=True)
            return torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)
        for m in self.mods:
            x = m(x)
        return torch.flatten(x, 1)


def test_functional_pooling_costs_what_the_modules_cost():
    x = torch.randn(2, 4, 15, 15)
    a, b = from_torch(Pools(True), x), from_torch(Pools(False), x)
    assert [l.out_shape for l in a.layers] == [l.out_shape for l in b.layers]
    assert fwd(a) == fwd(b) > 0
    with pytest.raises(SimulatorError, match="max_pool2d with return_indices or dilation is not supported"):
        class Dilated(nn.Module):
            def forward(self, x):
                return F.max_pool2d(x, 3, dilation=2)
        from_torch(Dilated(), x)


def test_torch_max_pool_functions_are_the_functional_ones():
    # torch.max_pool2d(x, 2) was "unsupported operation 'max_pool2d'" while F.max_pool2d(x, 2) worked
    class Torch(nn.Module):
        def forward(self, x):
            return torch.max_pool2d(x, 3, 2, 1), torch.max_pool1d(x.flatten(2), 2), torch.max_pool3d(x[:, None], 2)

    class Functional(nn.Module):
        def forward(self, x):
            return F.max_pool2d(x, 3, 2, 1), F.max_pool1d(x.flatten(2), 2), F.max_pool3d(x[:, None], 2)

    x = torch.randn(2, 4, 8, 8)
    a, b = from_torch(Torch(), x), from_torch(Functional(), x)
    assert [(l.op, l.out_shape) for l in a.layers] == [(l.op, l.out_shape) for l in b.layers]
    assert fwd(a) == fwd(b) > 0


class Block(nn.Module):
    def __init__(self, drop):
        super().__init__()
        self.fc, self.drop = nn.Linear(8, 8), drop

    def forward(self, x):
        y = self.fc(x)
        return x + (stochastic_depth(y, 0.2, "row", self.training) if self.drop else F.dropout(y, 0.2))


def test_stochastic_depth_is_a_dropout_of_the_branch():
    net = from_torch(Block(True), torch.randn(2, 8))
    ref = from_torch(Block(False), torch.randn(2, 8))
    assert [l.kind for l in net.layers] == [l.kind for l in ref.layers] == ["input", "linear", "dropout", "add"]
    assert fwd(net) == fwd(ref) and net.layers[2].op.rate == 0.2


class ClassToken(nn.Module):
    """A ViT's class token, expanded to the batch and put before the patches."""

    def __init__(self):
        super().__init__()
        self.cls = nn.Parameter(torch.zeros(1, 1, 16))
        self.fc = nn.Linear(16, 16)

    def forward(self, x):
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        return self.fc(tokens)


def test_a_class_token_expanded_to_the_batch():
    net = from_torch(ClassToken(), torch.randn(2, 9, 16))
    assert net.params == torch_params(ClassToken())
    assert net.layer("fc").out_shape == (10, 16)

    class Broadcast(nn.Module):
        def forward(self, x):
            return x.expand(-1, 4, -1)
    repeat = from_torch(Broadcast(), torch.randn(2, 1, 16)).layers[-1]   # a network tensor's: the copy
    assert (repeat.kind, repeat.in_shapes, repeat.out_shape) == ("repeat", ((1, 16),), (4, 16))

    class Stacked(nn.Module):
        def forward(self, x):
            return x.expand(3, -1, -1, -1)   # the batch second
    with pytest.raises(SimulatorError, match="only expanding a parameter to the batch"):
        from_torch(Stacked(), torch.randn(2, 1, 16))


def test_channel_dropout_and_log_softmax_cost_as_dropout_and_softmax():
    class Channel(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.drop = nn.Conv2d(3, 4, 3), nn.Dropout2d(0.1)

        def forward(self, x):
            return F.log_softmax(torch.flatten(F.dropout2d(self.drop(self.conv(x)), 0.2), 1), dim=-1)

    class Plain(Channel):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.1)

        def forward(self, x):
            return F.softmax(torch.flatten(F.dropout(self.drop(self.conv(x)), 0.2), 1), dim=-1)
    x = torch.randn(2, 3, 8, 8)
    a, b = from_torch(Channel(), x), from_torch(Plain(), x)
    assert [l.kind for l in a.layers] == [l.kind for l in b.layers] and fwd(a) == fwd(b)
    assert from_torch(nn.Sequential(nn.Linear(4, 4), nn.LogSoftmax(dim=1)), torch.randn(2, 4)).layers[-1].kind \
        == "softmax"


class Audio(nn.Module):
    """A 1-D CNN over (N, C, L) signals: convolutions, 1-D pooling, a global average, a classifier."""

    def __init__(self, functional):
        super().__init__()
        self.functional = functional
        self.c1, self.c2, self.fc = nn.Conv1d(1, 8, 9, padding=4), nn.Conv1d(8, 16, 5), nn.Linear(16, 4)
        self.pools = nn.ModuleList([nn.MaxPool1d(4, 2, 1), nn.AvgPool1d(3, ceil_mode=True),
                                    nn.AdaptiveAvgPool1d(1)])

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.max_pool1d(x, 4, 2, 1) if self.functional else self.pools[0](x)
        x = F.relu(self.c2(x))
        x = F.avg_pool1d(x, 3, ceil_mode=True) if self.functional else self.pools[1](x)
        x = F.adaptive_avg_pool1d(x, 1) if self.functional else self.pools[2](x)
        return self.fc(torch.flatten(x, 1))


def test_one_dimensional_pooling_of_a_signal_network():
    import simulator as sim
    x = torch.randn(2, 1, 100)
    a, b = from_torch(Audio(True), x), from_torch(Audio(False), x)
    assert [l.kind for l in a.layers] == [l.kind for l in b.layers] and fwd(a) == fwd(b)
    pools = [l for l in a.layers if l.kind in ("pool1d", "adaptive_avg_pool1d")]
    assert [l.out_shape for l in pools] == [(8, 50), (16, 16), (16, 1)]      # torch's sizes (checked on import)
    assert pools[0].fwd_flops == 4 * 8 * 50 and pools[2].fwd_flops == 16 * 16   # one add per input element
    assert a.params == torch_params(Audio(True))
    for model in ("paleo", "roofline"):
        assert sim.simulate(a, "cpu+1xV100-pcie3", 1, cost_model=model).step_time > 0


def test_padding_is_a_copy_into_the_larger_tensor_along_torchs_axes():
    class Padded(nn.Module):
        def __init__(self):
            super().__init__()
            self.pad, self.conv, self.c1 = nn.ZeroPad2d((1, 2, 3, 0)), nn.Conv2d(3, 4, 3), nn.Conv1d(4, 4, 3)

        def forward(self, x):
            y = self.conv(self.pad(x))                           # (N, 4, 8 + 3 - 2, 8 + 3 - 2)
            y = torch.flatten(y, 2)                              # (N, 4, 81)
            return self.c1(F.pad(y, (2, 2), mode="replicate"))
    net = from_torch(Padded(), torch.randn(2, 3, 8, 8))
    pads = [l for l in net.layers if l.kind == "pad"]
    assert [l.out_shape for l in pads] == [(11, 11, 3), (4, 85)]   # (H, W, C): top 3, left 1, right 2
    assert all(l.fwd_flops == 0 for l in pads) and net.params == torch_params(Padded())
    with pytest.raises(SimulatorError, match="padding the batch dimension is not supported"):
        class Batch(nn.Module):
            def forward(self, x):
                return F.pad(x, (0, 0, 1, 1))
        from_torch(Batch(), torch.randn(2, 8))


def test_prelu_is_a_leaky_relu_with_its_slopes_counted():
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.PReLU(8), nn.Flatten(), nn.Linear(8 * 6 * 6, 4))
    net = from_torch(m, torch.randn(2, 3, 8, 8))
    assert net.params == torch_params(m) and "leaky_relu" in [l.kind for l in net.layers]


def test_unflatten_and_adaptive_max_pooling():
    m = nn.Sequential(nn.Linear(8, 48), nn.Unflatten(1, (3, 4, 4)), nn.Conv2d(3, 6, 1), nn.AdaptiveMaxPool2d(2),
                      nn.Flatten(), nn.Linear(24, 2))
    net = from_torch(m, torch.randn(2, 8))
    pool = next(l for l in net.layers if l.kind == "pool2d")
    assert (pool.op.mode, pool.op.kernel, pool.out_shape) == ("max", (2, 2), (2, 2, 6))
    assert net.params == torch_params(m)
    with pytest.raises(SimulatorError, match="only sizes that divide the input"):
        from_torch(nn.Sequential(nn.Conv2d(3, 4, 1), nn.AdaptiveMaxPool2d(3)), torch.randn(2, 3, 8, 8))


def test_pixel_shuffle_and_unshuffle_move_channels_into_space_and_back():
    m = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2), nn.Conv2d(3, 4, 3, padding=1),
                      nn.PixelUnshuffle(2))
    net = from_torch(m, torch.randn(2, 3, 8, 8))      # each shape checked against torch's on import
    shuffles = [l for l in net.layers if l.kind == "pixel_shuffle"]
    assert [l.out_shape for l in shuffles] == [(16, 16, 3), (8, 8, 16)]
    assert all(l.fwd_flops == 0 for l in shuffles) and net.params == torch_params(m)


def test_softmax2d_is_over_the_channels():
    m = nn.Sequential(nn.Conv2d(3, 5, 1), nn.Softmax2d())
    net = from_torch(m, torch.randn(2, 3, 4, 4))
    (soft,) = (l for l in net.layers if l.kind == "softmax")
    assert soft.out_shape == (4, 4, 5) and soft.fwd_flops > 0


# torchvision's Swin keeps three functions whole (torch.fx.wrap); stand-ins with their names, module and
# signatures (torch runs them for the shapes; the importer writes out what torchvision's compute)
def _patch_merging_pad(x):
    x = F.pad(x, (0, 0, 0, x.shape[-2] % 2, 0, x.shape[-3] % 2))
    return torch.cat([x[..., i::2, j::2, :] for i in (0, 1) for j in (0, 1)], -1)


def _get_relative_position_bias(table, index, window_size):
    n = window_size[0] * window_size[1]
    return table[index].view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0)


def shifted_window_attention(input, qkv_weight, proj_weight, relative_position_bias, window_size, num_heads,
                             shift_size, attention_dropout=0.0, dropout=0.0, qkv_bias=None, proj_bias=None,
                             logit_scale=None, training=True):
    return F.linear(F.linear(input, qkv_weight, qkv_bias)[..., :input.shape[-1]], proj_weight, proj_bias)


for _f in (_patch_merging_pad, _get_relative_position_bias, shifted_window_attention):
    _f.__module__ = "torchvision.models.swin_transformer"
    torch.fx.wrap(_f.__name__)


class SwinBlock(nn.Module):
    def __init__(self, c=8, heads=2, window=4, shift=2):
        super().__init__()
        self.qkv, self.proj, self.merge = nn.Linear(c, 3 * c), nn.Linear(c, c), nn.Linear(4 * c, 2 * c, bias=False)
        self.table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("index", torch.randint(0, (2 * window - 1) ** 2, (window ** 4,)))
        self.heads, self.window, self.shift = heads, window, shift

    def forward(self, x):
        bias = _get_relative_position_bias(self.table, self.index, [self.window, self.window])
        x = x + shifted_window_attention(x, self.qkv.weight, self.proj.weight, bias, [self.window, self.window],
                                         self.heads, [self.shift, self.shift], qkv_bias=self.qkv.bias,
                                         proj_bias=self.proj.bias)
        return self.merge(_patch_merging_pad(x))


def test_swin_window_attention_and_patch_merging_are_written_out():
    model = SwinBlock()
    net = from_torch(model, torch.randn(2, 7, 9, 8))
    assert net.params == torch_params(model)
    layers = {l.name: l for l in net.layers}
    attn = [l for l in net.layers if l.name.startswith("shifted_window_attention:")]
    # padded to 8 x 12: 6 windows of 16 tokens; 2 heads of 4 channels
    qkv = next(l for l in attn if l.name.startswith("shifted_window_attention:qkv") and l.kind == "matmul")
    assert qkv.out_shape == (6, 16, 24) and qkv.fwd_flops == 2 * 6 * 16 * 8 * 24
    scores = next(l for l in attn if ":scores" in l.name)
    assert scores.out_shape == (6, 2, 16, 16) and scores.fwd_flops == 2 * 6 * 2 * 16 * 16 * 4
    assert [l.kind for l in attn].count("transpose") == 6   # windows in and out, heads in and out, the two rolls
    assert any(":mask" in l.name for l in attn) and layers["shifted_window_attention"].out_shape == (7, 9, 8)
    lookup = next(l for l in net.layers if l.kind == "embedding")
    assert lookup.shares_weights_with == "table" and lookup.params == 0
    assert layers["_patch_merging_pad"].kind == "pixel_shuffle" and layers["merge"].out_shape == (4, 5, 16)


@pytest.mark.parametrize("in_place, out_of_place", [
    ("y.mul_(2)", "y.mul(2)"), ("y.relu_()", "y.relu()"), ("y.clamp_(0, 1)", "y.clamp(0, 1)"),
    ("y.div_(2.0)", "y.div(2.0)"), ("y.sub_(z)", "y.sub(z)"), ("y.sigmoid_()", "y.sigmoid()"),
    ("torch.relu_(y)", "torch.relu(y)"), ("y.clamp_min_(0.1)", "y.clamp_min(0.1)"), ("y.copy_(z)", "z")])
def test_in_place_methods_cost_what_their_out_of_place_forms_cost(in_place, out_of_place):
    class M(nn.Module):
        def __init__(self, code, keep):
            super().__init__()
            self.code, self.keep = code, keep
            self.a, self.b, self.c = nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 4)

        def forward(self, x):
            y, z = self.a(x), self.b(x)
            out = eval(self.code, {"y": y, "z": z, "torch": torch})
            return self.c(y if self.keep else out)   # in place: what reads y later reads the result

    ours = from_torch(M(in_place, True), torch.randn(2, 16))
    theirs = from_torch(M(out_of_place, False), torch.randn(2, 16))
    assert [l.kind for l in ours.layers] == [l.kind for l in theirs.layers]
    assert ours.forward_flops == theirs.forward_flops and ours.params == theirs.params


@pytest.mark.parametrize("code", [
    "y[:, :8].mul_(2)", "y[:, 3].add_(1.0)", "y[..., 4:12].relu_()", "y[:, :8][:, 2:].mul_(2)",
    "y.view(-1, 2, 8)[:, 0].mul_(2)", "y.view(-1, 2, 8).transpose(1, 2).sigmoid_()", "y.unsqueeze(1).mul_(2)",
    "y.view(-1, 4, 4).permute(0, 2, 1)[:, 0].clamp_(0, 1)", "y.view(-1, 4, 4).mT.mul_(2)",
    "y[:, None, :4].mul_(2)"])
def test_an_in_place_operation_on_a_view_changes_what_later_reads_its_base(code):
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.out = nn.Linear(16, 16), nn.Linear(16, 4)

        def forward(self, x):
            y = self.fc(x)
            eval(code, {"y": y})   # its result discarded: y itself holds it
            return self.out(y)

    net = from_torch(M(), torch.randn(2, 16))
    ops = [l.name for l in net.layers if l.name.split("_")[0] in ("mul", "add", "relu", "sigmoid", "clamp")]
    assert ops and ops[0].endswith("_")   # the in-place operation is costed ...
    read = {p for layer in net.layers for p in layer.parents}
    assert [l.name for l in net.layers if l.name not in read] == ["out"]   # ... and is no dead end: out reads it


@pytest.mark.parametrize("expr", ["y.softmax(0)", "y.cumsum(0)", "y.cumprod(dim=0)", "torch.cumsum(y, 0)", "y.T"])
def test_operations_mixing_the_samples_of_the_batch_are_refused_in_one_line(expr):
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 8)

        def forward(self, x):
            y = self.lin(x)
            return eval(expr, {"y": y, "torch": torch})

    with pytest.raises(SimulatorError, match="(along|moving) the batch dimension (is|are) not supported") as err:
        from_torch(M(), torch.randn(4, 8))
    assert "\n" not in str(err.value)
    assert from_torch(type("Along", (M,), {"forward": lambda self, x: self.lin(x).cumsum(1)})(),
                      torch.randn(4, 8)).layers[-1].out_shape == (8,)
