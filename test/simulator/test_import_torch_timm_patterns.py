"""The torch.fx importer on what timm's model code does (written here without the library, which is not a
dependency): norms called as functions by subclasses of the torch.nn norms, optional forward arguments, shifted
windows (roll, padding to whole windows with sizes read from the input, q/k/v permuted out of the windows' rows),
ResMLP's addcmul, SKNet's softmax over its branches, rotary embeddings stacked on the last axis, views shaped as
another tensor, a weight asked only for its dtype, a node the importer does not foresee, CrossViT's heads
averaged over a stack before the batch, and GCViT's query per image repeated for each window."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from simulator.graph import SimulatorError
from simulator.importers.torch_fx import from_torch


def torch_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


class BatchNormAct2d(nn.BatchNorm2d):
    """timm's BatchNormAct2d: nn.BatchNorm2d with a forward of its own calling F.batch_norm, then an activation."""

    def forward(self, x):
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training,
                         self.momentum, self.eps)
        return F.relu(x)


class GroupNorm1(nn.GroupNorm):
    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


class BatchNorm1dAct(nn.BatchNorm1d):
    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.1, self.eps)


class Norms(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn, self.gn = BatchNormAct2d(8), GroupNorm1(1, 8)
        self.conv1d = nn.Conv1d(8, 6, 1)
        self.bn1d, self.bn_flat = BatchNorm1dAct(6), BatchNorm1dAct(6 * 64)

    def forward(self, x):
        x = self.gn(self.bn(self.conv(x)))
        y = self.bn1d(self.conv1d(x.flatten(2)))   # (N, C, L): per channel
        return self.bn_flat(y.flatten(1))


def test_norms_called_as_functions_are_the_norm_then_the_affine():
    model = Norms()
    net = from_torch(model, torch.randn(2, 3, 8, 8))
    assert net.params == torch_params(model)
    norms = [l for l in net.layers if l.kind in ("batch_norm", "group_norm")]
    assert [(l.kind, l.out_shape, l.params) for l in norms] == [
        ("batch_norm", (8, 8, 8), 0), ("group_norm", (8, 8, 8), 0), ("batch_norm", (6, 64), 0),
        ("batch_norm", (384,), 0)]
    assert norms[2].op.axis == 0   # channels first: per channel, over the positions
    # the affine of (N, C, L) multiplies each channel: its weight viewed (C, 1)
    assert net.layer("batch_norm_1:mul_view").out_shape == (6, 1)


class ViTBlock(nn.Module):
    """timm's ViT: forward(x, attn_mask=None, is_causal=False), the optional arguments left at their defaults."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)

    def forward(self, x, attn_mask=None, is_causal: bool = False):
        if attn_mask is not None or is_causal:
            x = x * 2
        return self.fc(x)


def test_optional_forward_arguments_stay_at_their_defaults():
    net = from_torch(ViTBlock(), torch.randn(2, 5, 16))
    assert [l.kind for l in net.layers] == ["input", "linear"]


class ShiftedWindows(nn.Module):
    """timm's Swin block: the image padded to whole windows (sizes from the input), shifted by roll, windows as
    rows, q/k/v permuted out of them (``permute(2, 0, 3, 1, 4)`` then ``unbind(0)``), the heads' attention."""

    def __init__(self, c=16, heads=2, ws=4, masked=False):
        super().__init__()
        self.c, self.heads, self.ws, self.masked = c, heads, ws, masked
        self.register_buffer("mask", torch.zeros(4, ws * ws, ws * ws))
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)

    def forward(self, x):   # (B, C, H, W), channels last from here on
        x = x.permute(0, 2, 3, 1)
        b, h, w, c = x.shape
        ws = self.ws
        x = F.pad(x, (0, 0, 0, (ws - w % ws) % ws, 0, (ws - h % ws) % ws))
        hp, wp = x.shape[1], x.shape[2]
        x = torch.roll(x, shifts=(-2, -2), dims=(1, 2))
        win = x.view(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        q, k, v = self.qkv(win).reshape(-1, ws * ws, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        a = q @ k.transpose(-2, -1)
        if self.masked:   # the shifted windows' mask, per window: the scores' rows become (B, windows)
            windows = self.mask.shape[0]
            a = a.view(-1, windows, self.heads, ws * ws, ws * ws) + self.mask.unsqueeze(1).unsqueeze(0)
            a = a.view(-1, self.heads, ws * ws, ws * ws)
        a = a.softmax(dim=-1) @ v
        return self.proj(a.transpose(1, 2).reshape(-1, ws * ws, c))


@pytest.mark.parametrize("masked", [False, True])
def test_shifted_windows_with_q_k_v_permuted_out_of_the_windows_rows(masked):
    model = ShiftedWindows(masked=masked)
    net = from_torch(model, torch.randn(2, 16, 6, 7))   # padded to 8 x 8: 2 x 2 windows of 4 x 4
    assert net.layer("pad").out_shape == (8, 8, 16) and net.layer("roll").out_shape == (8, 8, 16)
    assert net.layer("roll").fwd_write == 8 * 8 * 16   # a shifted copy
    products = [l.out_shape for l in net.layers if l.kind == "matmul"]
    # per window (2 x 2, or 4 once the mask made them one axis), per head
    assert [p[-3:] for p in products] == [(2, 16, 16), (2, 16, 8)] and [p[:-3] for p in products][0] == (2, 2)
    assert [int(torch.tensor(p[:-3]).prod()) for p in products] == [4, 4]
    assert net.params == torch_params(model) and net.layers[-1].out_shape[-2:] == (16, 16)


class Odds(nn.Module):
    """ResMLP's affine by addcmul, SKNet's softmax over its branches, a rotary embedding stacked on the last
    axis, a view shaped as another tensor, and a weight asked only for its dtype."""

    def __init__(self):
        super().__init__()
        self.alpha, self.beta = nn.Parameter(torch.ones(8)), nn.Parameter(torch.zeros(8))
        self.proj = nn.Linear(8, 8)

    def forward(self, x):   # (N, T, 8)
        x = torch.addcmul(self.beta, self.alpha, x)
        branches = torch.stack([x, x * 2], dim=1)                 # (N, 2, T, 8)
        x = (branches * branches.softmax(dim=1)).sum(dim=1)       # over the branches
        rotated = torch.stack([-x[..., 1::2], x[..., ::2]], -1).reshape_as(x)
        return self.proj(rotated.to(self.proj.weight.dtype))


def test_addcmul_softmax_over_branches_rotary_stack_reshape_as_and_a_dtype_query():
    model = Odds()
    net = from_torch(model, torch.randn(2, 5, 8))
    assert net.params == torch_params(model)   # proj.weight read for its dtype: counted once, by proj
    assert [l.kind for l in net.layers if l.name.startswith("addcmul")] == ["mul", "add"]
    assert net.layer("softmax").out_shape == (2, 5, 8)
    assert net.layer("stack_1").out_shape == (5, 4, 2) and net.layer("reshape_as").out_shape == (5, 8)


def test_a_node_the_importer_does_not_foresee_is_one_line_naming_it(monkeypatch):
    from simulator.importers.torch_functions import FunctionNodes

    def broken(self, node, args, kwargs, done):
        raise TypeError("int() argument must be a real number, not 'Node'")
    monkeypatch.setattr(FunctionNodes, "pad", broken)   # as the padding of computed sizes once failed
    with pytest.raises(SimulatorError, match=r"^ShiftedWindows: node 'pad' \(call_function pad\): cannot be converted "
                                             r"\(TypeError: int\(\) argument must be a real number, not 'Node'\)$"):
        from_torch(ShiftedWindows(), torch.randn(2, 16, 6, 7))


class LeViTAttention(nn.Module):
    """LeViT's pieces: a linear layer normalised by a BatchNorm1d over rows that merge the batch with the tokens
    (``bn(x.flatten(0, 1)).reshape_as(x)``), and an attention bias picked from a parameter's columns by a
    constant index (``attention_biases[:, attention_bias_idxs]``)."""

    def __init__(self, d=16, heads=2, n=9):
        super().__init__()
        self.qk, self.bn = nn.Linear(d, 2 * d, bias=False), nn.BatchNorm1d(2 * d)
        self.heads = heads
        self.attention_biases = nn.Parameter(torch.zeros(heads, 5))
        self.register_buffer("attention_bias_idxs", torch.randint(0, 5, (n, n)))

    def forward(self, x):   # (N, T, d)
        x = self.qk(x)
        x = self.bn(x.flatten(0, 1)).reshape_as(x)
        q, k = x.view(x.shape[0], x.shape[1], self.heads, -1).transpose(1, 2).chunk(2, dim=-1)
        return q @ k.transpose(-2, -1) + self.attention_biases[:, self.attention_bias_idxs]


def test_a_batch_norm_over_merged_rows_and_a_bias_gathered_by_columns():
    model = LeViTAttention()
    net = from_torch(model, torch.randn(2, 9, 16))
    assert net.params == torch_params(model)
    bn = net.layer("bn")
    assert bn.out_shape == (9, 32) and bn.params == 2 * 32 and bn.op.axis == -1   # per feature, over the rows
    lookup = next(l for l in net.layers if l.kind == "embedding")
    assert lookup.shares_weights_with == "attention_biases" and lookup.params == 0
    assert net.layers[-1].out_shape == (2, 9, 9)


class MobileViTUnfold(nn.Module):
    """MobileViT's unfolding of a feature map into patches: rows that merge the batch with the channels and the
    patch rows (splitting H), then the pixels of each patch position as a sequence, a linear layer, and back."""

    def __init__(self, c=8):
        super().__init__()
        self.conv, self.lin = nn.Conv2d(3, c, 3, padding=1), nn.Linear(c, c)

    def forward(self, x):
        x = self.conv(x)
        b, c, h, w = x.shape
        nh, nw = h // 2, w // 2
        x = x.reshape(b * c * nh, 2, nw, 2).transpose(1, 2)
        x = x.reshape(b, c, nh * nw, 4).transpose(1, 3).reshape(b * 4, nh * nw, c)
        x = self.lin(x)
        x = x.contiguous().view(b, 4, nh * nw, -1).transpose(1, 3).reshape(b * c * nh, nw, 2, 2)
        return x.transpose(1, 2).reshape(b, c, h, w)


def test_mobilevit_patches_are_rows_that_split_an_axis():
    model = MobileViTUnfold()
    net = from_torch(model, torch.randn(2, 3, 6, 8))
    assert net.params == torch_params(model)
    assert net.layer("lin").out_shape == (4, 12, 8)   # per sample: 4 pixel positions x 12 patches x C
    assert net.layers[-1].out_shape == (8, 6, 8)   # (C, H, W): a view of rows, in torch's order


class GridAttention(nn.Module):
    """MaxViT's attention on windows as rows: q, k and v split from one projection by chunk (head first) or
    unbind (after a transpose), each piece merged rows again."""

    def __init__(self, how, c=16, heads=2):
        super().__init__()
        self.how, self.heads, self.dh = how, heads, c // heads
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)

    def forward(self, x):   # (B, C, H, W) -> windows (B * 4, 4, 4, C)
        b, c, h, w = x.shape
        win = x.permute(0, 2, 3, 1).reshape(b, 2, 4, 2, 4, c).transpose(2, 3).reshape(-1, 4, 4, c)
        rows = win.shape[0]
        if self.how == "chunk":
            q, k, v = self.qkv(win).view(rows, -1, self.heads, self.dh * 3).transpose(1, 2).chunk(3, dim=3)
        else:
            q, k, v = self.qkv(win).reshape(rows, -1, 3, self.heads, self.dh).transpose(1, 3).unbind(2)
        a = F.scaled_dot_product_attention(q, k, v)
        return self.proj(a.transpose(1, 2).reshape(rows, 16, c))


@pytest.mark.parametrize("how", ["chunk", "unbind"])
def test_q_k_v_split_from_windows_rows_are_rows(how):
    model = GridAttention(how)
    net = from_torch(model, torch.randn(2, 16, 8, 8))
    assert net.params == torch_params(model)
    products = [l.out_shape for l in net.layers if l.kind == "matmul"]
    assert products == [(2, 2, 2, 16, 16), (2, 2, 2, 16, 8)]   # per window, per head: 16 tokens
    assert net.layers[-1].out_shape == (2, 2, 16, 16)


class Outlook(nn.Module):
    """VOLO's outlook attention in miniature: the image's 3 x 3 windows unfolded into columns (nn.Unfold, traced
    through to F.unfold), weighed, and folded back into the image (F.fold) by summing the overlaps."""

    def __init__(self, c=4):
        super().__init__()
        self.unfold = nn.Unfold(kernel_size=3, padding=1)
        self.w = nn.Parameter(torch.ones(c * 9, 1))

    def forward(self, x):   # (N, C, H, W)
        cols = self.unfold(x) * self.w
        return F.fold(cols, output_size=x.shape[-2:], kernel_size=3, padding=1)


def test_unfold_and_fold_are_a_copy_into_columns_and_their_sum_back():
    net = from_torch(Outlook(), torch.randn(2, 4, 5, 6))
    unfold, fold = net.layer("unfold"), net.layer("fold")
    assert unfold.out_shape == (36, 30) and unfold.fwd_write == 36 * 30 and unfold.fwd_flops == 0
    assert fold.out_shape == (5, 6, 4) and fold.fwd_flops == 36 * 30   # channels last, as every image
    assert net.params == 36


class TwoHeads(nn.Module):
    """CrossViT's heads: one per branch, their logits stacked before the batch and averaged (or summed)."""

    def __init__(self, how="mean"):
        super().__init__()
        self.how = how
        self.heads = nn.ModuleList(nn.Linear(8, 5) for _ in range(3))

    def forward(self, x):
        stacked = torch.stack([head(x) for head in self.heads], dim=0)
        if self.how == "mean":
            return torch.mean(stacked, dim=0)
        if self.how == "sum":
            return stacked.sum(0)
        return stacked[1]   # read otherwise: the batch moved behind, refused


def test_tensors_stacked_before_the_batch_and_averaged_are_added_up():
    x = torch.randn(2, 8)
    mean = from_torch(TwoHeads("mean"), x)
    kinds = [layer.kind for layer in mean.layers]
    assert kinds.count("linear") == 3 and kinds.count("add") == 2 and kinds[-1] == "mul"
    assert mean.layers[-1].out_shape == (5,) and mean.params == torch_params(TwoHeads())
    total = from_torch(TwoHeads("sum"), x)
    assert [layer.kind for layer in total.layers][-2:] == ["add", "add"] and total.layers[-1].out_shape == (5,)
    with pytest.raises(SimulatorError, match="stack: only network tensors along a dimension after the batch"):
        from_torch(TwoHeads("pick"), x)


class GlobalQuery(nn.Module):
    """GCViT's global attention: windows as rows merging the batch with the windows, and one query per image
    repeated for each of its windows (repeat_interleave along the batch)."""

    def __init__(self):
        super().__init__()
        self.kv = nn.Linear(8, 16)
        self.q = nn.Linear(8, 8)

    def forward(self, x):                                   # (B, 4 windows, 3 tokens, 8)
        b = x.shape[0]
        windows = x.reshape(-1, 3, 8)                       # (B * 4, 3, 8)
        k, v = self.kv(windows).chunk(2, dim=-1)
        q = self.q(x.mean(1))                               # (B, 3, 8): one per image
        q = q.repeat_interleave(windows.shape[0] // b, dim=0)
        out = (q @ k.transpose(-2, -1)).softmax(-1) @ v
        return out.reshape(b, 4, 3, 8)


def test_a_query_per_image_repeated_for_each_window_is_rows_of_copies():
    net = from_torch(GlobalQuery(), torch.randn(2, 4, 3, 8))
    copies = net.layer("repeat_interleave")
    assert copies.kind == "repeat" and copies.out_shape == (4, 3, 8)   # per image: its 4 windows' queries
    assert net.layers[-1].out_shape == (4, 3, 8) and net.params == torch_params(GlobalQuery())
    scores = next(layer for layer in net.layers if layer.kind == "matmul")
    assert scores.parents[0] == "repeat_interleave"
