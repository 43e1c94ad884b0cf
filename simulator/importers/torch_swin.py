"""torchvision's Swin transformers (v1 and v2): the three functions torch.fx keeps whole in them
(``torch.fx.wrap``), written out as the layers they compute.

* ``_patch_merging_pad(x)``: the image (H, W, C) padded to even sides (a ``pad`` copy when odd) and its four
  interleaved half-resolution grids concatenated on the channels: the copy of a space-to-depth
  (``pixel_shuffle`` inverse, factor 2).
* ``_get_relative_position_bias(table, index, window)``: the table's rows picked by the constant index (an
  embedding lookup whose weights are the table's), viewed (N, N, heads) and permuted to (heads, N, N).
* ``shifted_window_attention(x, qkv_weight, proj_weight, bias, window, heads, shift, ...)``: per sample the
  image padded to whole windows, cyclically shifted (``roll``: a copy, counted as an identity transpose),
  cut into its nW windows of N = wh x ww tokens (a view, a transpose, a view), the QKV projection (a
  matmul with the weight, plus the bias), q, k and v picked per head, the scores (v1: q scaled, then Q K^T;
  v2: cosine attention, q and k normalised, then scaled by the learned logit scale), the relative position
  bias added, the shift's mask added (one addition per score), softmax, attention dropout, P V, the heads
  merged, the output projection, dropout, the windows put back, the shift undone and the padding cut.

Recognised by name and module, as torchvision's stochastic_depth is, without importing torchvision.
"""
from __future__ import annotations

from simulator.ops import Dropout, Elementwise, MatMul, Pad, PixelShuffle, Reshape, RMSNorm, Select, Slice, Softmax, \
    Transpose

from .torch_nodes import PLAIN, SHARED

NAMES = ("_patch_merging_pad", "_get_relative_position_bias", "shifted_window_attention")


def is_swin(fn) -> bool:
    return (getattr(fn, "__name__", None) in NAMES
            and str(getattr(fn, "__module__", "")).startswith("torchvision.models"))


def call(conv, node, fn, args, kwargs, expect, done):
    name = fn.__name__
    if name == "_patch_merging_pad":
        return _patch_merging_pad(conv, node, args, expect, done)
    if name == "_get_relative_position_bias":
        return _relative_position_bias(conv, node, args, kwargs, expect)
    return _shifted_window_attention(conv, node, args, kwargs, expect, done)


def _patch_merging_pad(conv, node, args, expect, done):
    x = conv.tensor(node, args[0], PLAIN)
    h, w, c = conv.shapes[x.layer][-3:]
    if len(conv.shapes[x.layer]) != 3:
        raise conv.fail(node, "patch merging of other tensors than images (N, H, W, C) is not supported")
    if h % 2 or w % 2:
        x = conv.add(node, f"{node.name}:pad", Pad(((0, h % 2), (0, w % 2), (0, 0))), [x], PLAIN, None)
    return done(PixelShuffle(2, inverse=True), [x], PLAIN)


def _relative_position_bias(conv, node, args, kwargs, expect):
    given = dict(zip(("relative_position_bias_table", "relative_position_index", "window_size"), args), **kwargs)
    table = conv.tensor(node, given["relative_position_bias_table"])
    index = conv.env.get(given["relative_position_index"])
    from .torch_nodes import _Const
    if not isinstance(index, _Const) or table.layout != SHARED:
        raise conv.fail(node, "the relative position bias must read a parameter table through a constant index")
    window = given["window_size"]
    n = int(window[0]) * int(window[1])
    rows = conv.gather(node, table, index, (n * n, table.torch_shape[-1]), allow_computed=True)
    viewed = conv.add(node, f"{node.name}:view", Reshape((n, n, table.torch_shape[-1])), [rows], SHARED, None)
    return conv.add(node, node.name, Transpose((2, 0, 1)), [viewed], SHARED, expect)


def _shifted_window_attention(conv, node, args, kwargs, expect, done):
    names = ("input", "qkv_weight", "proj_weight", "relative_position_bias", "window_size", "num_heads",
             "shift_size", "attention_dropout", "dropout", "qkv_bias", "proj_bias", "logit_scale", "training")
    given = dict(zip(names, args), **kwargs)
    x = conv.tensor(node, given["input"], PLAIN)
    if len(conv.shapes[x.layer]) != 3:
        raise conv.fail(node, "shifted window attention of other tensors than images (N, H, W, C)")
    h, w, c = conv.shapes[x.layer]
    wh, ww = (int(v) for v in given["window_size"])
    heads = int(given["num_heads"])
    shift = [int(v) for v in given.get("shift_size", (0, 0))]
    tag = node.name
    step = iter(range(1000))

    def add(what, op, parents, layout=PLAIN):
        return conv.add(node, f"{tag}:{what}{next(step)}", op, parents, layout, None)

    pad_b, pad_r = (wh - h % wh) % wh, (ww - w % ww) % ww
    if pad_b or pad_r:
        x = add("pad", Pad(((0, pad_b), (0, pad_r), (0, 0))), [x])
    ph, pw = h + pad_b, w + pad_r
    shift = [0 if wh >= ph else shift[0], 0 if ww >= pw else shift[1]]
    if sum(shift):
        x = add("roll", Transpose((0, 1, 2)), [x])
    nh, nw, n = ph // wh, pw // ww, wh * ww
    x = add("windows", Reshape((nh, wh, nw, ww, c)), [x])
    x = add("windows", Transpose((0, 2, 1, 3, 4)), [x])
    x = add("windows", Reshape((nh * nw, n, c)), [x])
    qkv = add("qkv", MatMul(transpose_b=True), [x, conv.tensor(node, given["qkv_weight"])])
    if given.get("qkv_bias") is not None:
        qkv = add("qkv_bias", Elementwise("add"), [qkv, conv.tensor(node, given["qkv_bias"])])
    qkv = add("heads", Reshape((nh * nw, n, 3, heads, c // heads)), [qkv])
    qkv = add("heads", Transpose((2, 0, 3, 1, 4)), [qkv])
    q, k, v = (add("qkv", Select(0, i), [qkv]) for i in range(3))
    logit_scale = given.get("logit_scale")
    if logit_scale is not None:   # v2: cosine attention
        q, k = (add("normalize", RMSNorm(1, scale=False), [t]) for t in (q, k))
        attn = add("scores", MatMul(transpose_b=True), [q, k])
        attn = add("logit_scale", Elementwise("mul"), [attn, conv.tensor(node, logit_scale)])
    else:
        q = add("scale", Elementwise("mul"), [q])
        attn = add("scores", MatMul(transpose_b=True), [q, k])
    attn = add("bias", Elementwise("add"), [attn, conv.tensor(node, given["relative_position_bias"])])
    if sum(shift):
        attn = add("mask", Elementwise("add"), [attn])
    attn = add("probs", Softmax(), [attn])
    training = given.get("training", True)
    rate = float(given.get("attention_dropout") or 0.0)
    if rate > 0 and training:
        attn = add("attn_dropout", Dropout(rate), [attn])
    y = add("context", MatMul(), [attn, v])
    y = add("merge", Transpose((0, 2, 1, 3)), [y])
    y = add("merge", Reshape((nh * nw, n, c)), [y])
    y = add("proj", MatMul(transpose_b=True), [y, conv.tensor(node, given["proj_weight"])])
    if given.get("proj_bias") is not None:
        y = add("proj_bias", Elementwise("add"), [y, conv.tensor(node, given["proj_bias"])])
    rate = float(given.get("dropout") or 0.0)
    if rate > 0 and training:
        y = add("dropout", Dropout(rate), [y])
    y = add("unwindow", Reshape((nh, nw, wh, ww, c)), [y])
    y = add("unwindow", Transpose((0, 2, 1, 3, 4)), [y])
    y = add("unwindow", Reshape((ph, pw, c)), [y])
    if sum(shift):
        y = add("unroll", Transpose((0, 1, 2)), [y])
    if pad_b:
        y = add("crop", Slice(0, 0, h), [y])
    if pad_r:
        y = add("crop", Slice(1, 0, w), [y])
    return done(Reshape((h, w, c)), [y], PLAIN)


__all__ = ["is_swin", "call"]
