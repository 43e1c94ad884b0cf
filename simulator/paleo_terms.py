"""Paleo's per-layer work, as Paleo's FLOP profiler computes it.

`paleo_work(layer, batch, phase)` returns the list of Paleo computations a
built layer costs in one phase ("forward", "data_grad", "weight_grad"), each
a `PaleoWork(flops, mem_bytes)`. Paleo's time of one item is
``max(cycle, flops / (peak * PPP_comp))`` (0 when flops is 0) plus, for every
memory term separately, ``max(cycle, bytes / 2**30 / (GB/s) / PPP_comp)``;
that conversion belongs to the cost model, not here.

What is reproduced from Paleo (TalwalkarLab/paleo, `profilers/flops_profiler.py`,
`layers/conv.py`, `layers/pool.py`, `layers/core.py`, `graph.py`) and Exprimo
(eivindlie/exprimo, `profilers/flops_profiler.py`), with `use_cudnn_heuristics`
off, i.e. always the GEMM path (Exprimo turns the heuristics off; they need a
GPU and cuDNN):

- 4-byte floats; the batch N is the `batch` argument (Paleo takes it from the
  input tensor).
- Convolution forward: FLOPs = 2*kh*kw*Cin*Ho*Wo*Cout*N. Memory terms: the
  *padded* input N*(H+2*ph)*(W+2*pw)*Cin, the filter kh*kw*Cin*Cout (no bias),
  the output N*Ho*Wo*Cout. Paleo's pads: VALID 0; SAME ((Ho-1)*s + k - H) // 2
  with Python floor division, which is negative when the window overhangs
  nothing (e.g. a 1x1 stride-2 SAME conv on an even input gives -1 and a
  padded input *smaller* than the input; reproduced as is); explicit [ph, pw]
  as given.
- Convolution data gradient: Paleo's equivalent stride-1 convolution over the
  zero-dilated output gradient: expanded Ho' = (Ho-1)*s + 1 (plus 1 when
  TensorFlow's before/after paddings differ by one), padding
  min(k-1-p, after), filter (kh, kw, Cout, Cin), holes = the fraction of
  inserted zeros. FLOPs = 2*kh*kw*Cout*H'*W'*Cin*N + 2*N*Ho'*Wo'*Cout*(1-holes)
  (the second term, moving the non-zero elements, only when holes > 0).
  Memory: padded dilated gradient, filter, data gradient. Skipped (empty list)
  when a parent is the network's input (Paleo tests for a parent named
  'data'; we test for an `input` layer, the same on every Paleo file).
- Convolution weight gradient: Paleo's convolution of the input, transposed
  to (Cin, H, W, N), with the dilated output gradient as filter (Ho', Wo', N,
  Cout), VALID if the layer is VALID else padded by the pads above. FLOPs =
  2*Ho'*Wo'*N*oh*ow*Cout*Cin*(1-holes); memory: padded transposed input,
  filter term *(1-holes), output Cin*oh*ow*Cout.
- Transposed convolution (an extension: Paleo's Deconv2D profiles it as the
  data gradient of the convolution it transposes, which its files never
  use): in each phase 2*kh*kw*(Cin/g)*Cout*H*W*N FLOPs over the input's pixels,
  terms the tensor read, the filter and the tensor written.
- 1-D convolution (an extension; torch's Conv1d): 2*k*(Cin/g)*Cout*Lo*N FLOPs
  in each phase, the same three terms; a 3-D convolution (Conv3d) likewise,
  2*kd*kh*kw*(Cin/g)*Cout*Do*Ho*Wo*N.
- Inner product (InnerProduct, flattening its input to [N, D]): forward
  2*N*D*K with terms input, weights D*K (no bias), output; data gradient
  [N,K] x [K,D]: 2*N*K*D, terms output, weights, input; weight gradient
  [D,N] x [N,K]: 2*D*N*K, terms input, output, weights. No skip after the input.
- Pooling: 2*kh*kw*C*Ho*Wo*N with terms input, output; the backward (Paleo's
  `gradient_wrt` data or None) costs the same again as data gradient; no
  weight gradient.
- Dropout: prod(input) FLOPs, terms input, output; same again as data gradient.
- Concatenate, Elementwise, Softmax, Reshape, Input: no work (Paleo's profiler
  has no formula for them); batch norm, layer norm and activations: no work
  (Paleo does not model them: `include_bias_and_activation` is off).
- Exprimo's simulator runs the backward with Paleo's default
  `gradient_wrt='data'`, i.e. only the "data_grad" phase.

Extensions for ops Paleo lacks (marked as such; not Paleo's numbers):

- linear layers applied to sequences fold the T rows into the batch:
  X = [N*T, Din];
- global / adaptive average pooling is a pooling with the whole window;
- matmul, attention scores/context and the fused attention are GEMMs with the
  inner-product pattern (terms: both operands and the result; the data
  gradient is one GEMM per operand); a triangular solve is such a GEMM of
  half the FLOPs (the triangle of A);
- an LSTM is, per layer and direction, the input GEMM [N*T, Din] x [Din, 4H]
  and the recurrent GEMMs [N, H] x [H, 4H] over T steps as one item (weights
  read once per step); a GRU the same with 3H.
Embeddings, position embeddings, shape ops: no work.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from simulator.graph import Layer, SimulatorError
from simulator.ops import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AttentionContext, AttentionScores,
                           Conv1d, Conv2d, Conv3d, ConvTranspose2d, Dropout, GlobalAvgPool, Linear, LSTM, LSTMCell,
                           MatMul, MultiHeadAttention, Pool1d, Pool2d, Pool3d, TriangularSolve)
from simulator.ops.base import prod

BYTES_FLOAT = 4
PHASES = ("forward", "data_grad", "weight_grad")


class PaleoWork(NamedTuple):
    """One Paleo computation: its FLOPs and its memory terms in bytes."""

    flops: float
    mem_bytes: tuple[float, ...]


def paleo_work(layer: Layer, batch: int, phase: str) -> list[PaleoWork]:
    """Paleo's work items for a built `layer` at batch size `batch` in `phase`."""
    if phase not in PHASES:
        raise SimulatorError(f"unknown phase '{phase}' (use {', '.join(PHASES)})")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise SimulatorError(f"batch size must be a positive integer, not {batch!r}")
    op = layer.op
    for cls, fn in _DISPATCH:
        if isinstance(op, cls):
            return fn(layer, batch, phase)
    return []


# ---------------------------------------------------------------- convolution
def _gemm_conv(inputs, filters, outputs, pad_h, pad_w, holes_filters=0.0, holes_inputs=0.0):
    """Paleo's `_profile_conv2d_gemm` on NHWC shapes (lists of 4)."""
    flops = 2 * filters[0] * filters[1] * filters[2]
    flops *= outputs[1] * outputs[2] * filters[3]
    flops *= inputs[0]
    flops *= 1.0 - holes_filters
    if holes_inputs > 0:
        flops += 2 * prod(inputs) * (1.0 - holes_inputs)
    padded_input = inputs[0] * (inputs[1] + 2 * pad_h) * (inputs[2] + 2 * pad_w) * inputs[3]
    mem = (padded_input * BYTES_FLOAT,
           prod(filters) * (1.0 - holes_filters) * BYTES_FLOAT,
           prod(outputs) * BYTES_FLOAT)
    return PaleoWork(float(flops), tuple(float(m) for m in mem))


def _paleo_out(size: int, k: int, s: int, padding) -> int:
    """Paleo's Conv2d output size for padding 'VALID', 'SAME' or an explicit pad."""
    if padding == "VALID":
        return int(math.ceil(float(size - k + 1) / float(s)))
    if padding == "SAME":
        return int(math.ceil(float(size) / float(s)))
    return (size + 2 * padding - k) // s + 1


def conv_pads(op: Conv2d, in_shape, out_shape) -> tuple[int, int]:
    """Paleo's (_pad_h, _pad_w) of a convolution."""
    if op.padding == "VALID":
        return 0, 0
    if op.padding == "SAME":
        (h, w, _), (oh, ow, _) = in_shape, out_shape
        kh, kw = _extent(op)
        return ((oh - 1) * op.stride[0] + kh - h) // 2, ((ow - 1) * op.stride[1] + kw - w) // 2
    return op.padding


def _extent(op: Conv2d) -> tuple[int, int]:
    """Kernel extent; Paleo has no dilation, a dilated kernel is its full extent."""
    return tuple(d * (k - 1) + 1 for k, d in zip(op.kernel, op.dilation))  # type: ignore


def conv_gradient_geometry(op: Conv2d, in_shape, out_shape):
    """Paleo's `Conv2d.gradients` padding computation (after TensorFlow's
    ConvBackpropExtractAndVerifyDimension): (expanded h, w, pad h, w, holes)."""
    (h, w, _), (oh, ow, _) = in_shape, out_shape
    kh, kw = _extent(op)
    pad_h, pad_w = conv_pads(op, in_shape, out_shape)
    exp_h = (oh - 1) * op.stride[0] + 1
    exp_w = (ow - 1) * op.stride[1] + 1
    before_h, before_w = kh - 1 - pad_h, kw - 1 - pad_w
    after_h = h + kh - 1 - exp_h - before_h
    after_w = w + kw - 1 - exp_w - before_w
    if abs(before_h - after_h) == 1:
        exp_h += 1
    if abs(before_w - after_w) == 1:
        exp_w += 1
    holes = (exp_h * exp_w - oh * ow) / exp_h / exp_w
    return exp_h, exp_w, min(before_h, after_h), min(before_w, after_w), holes


def _conv(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    op: Conv2d = layer.op  # type: ignore[assignment]
    (h, w, c), (oh, ow, k) = layer.in_shapes[0], layer.out_shape
    kh, kw = _extent(op)
    cin = c // op.groups  # extension: a grouped filter has Cin/groups input channels
    if phase == "forward":
        ph, pw = conv_pads(op, layer.in_shapes[0], layer.out_shape)
        return [_gemm_conv([n, h, w, c], [kh, kw, cin, k], [n, oh, ow, k], ph, pw)]
    exp_h, exp_w, ph, pw, holes = conv_gradient_geometry(op, layer.in_shapes[0], layer.out_shape)
    if phase == "data_grad":
        if not layer.extra.get("paleo_backprop", True):
            return []
        dh, dw = (exp_h + 2 * ph - kh) + 1, (exp_w + 2 * pw - kw) + 1
        return [_gemm_conv([n, exp_h, exp_w, k], [kh, kw, k, cin], [n, dh, dw, cin], ph, pw,
                           holes_inputs=holes)]
    if op.padding == "VALID":
        fh, fw, fph, fpw = _paleo_out(h, exp_h, 1, "VALID"), _paleo_out(w, exp_w, 1, "VALID"), 0, 0
    else:
        fh, fw, fph, fpw = _paleo_out(h, exp_h, 1, ph), _paleo_out(w, exp_w, 1, pw), ph, pw
    return [_gemm_conv([cin, h, w, n], [exp_h, exp_w, n, k], [cin, fh, fw, k], fph, fpw,
                       holes_filters=holes)]


def _conv_transpose(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    """A transposed convolution (Paleo's Deconv2D computes it as the data gradient of the convolution it
    transposes): in each phase the GEMM of kh*kw*(C/g)*K multiply-adds per input pixel, and its three
    terms, the tensor read, the filter and the tensor written."""
    op = layer.op
    (h, w, c), (oh, ow, k) = layer.in_shapes[0], layer.out_shape
    kh, kw = _extent(op)
    cin = c // op.groups
    flops = float(2 * kh * kw * cin * k * h * w * n)
    small, large, filt = n * h * w * c * BYTES_FLOAT, n * oh * ow * k * BYTES_FLOAT, kh * kw * cin * k * BYTES_FLOAT
    if phase == "forward":
        return [PaleoWork(flops, (float(small), float(filt), float(large)))]
    if phase == "data_grad":
        return [PaleoWork(flops, (float(large), float(filt), float(small)))]
    return [PaleoWork(flops, (float(small), float(large), float(filt)))]


def _conv1d(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    """A 1-D convolution (an extension: Paleo has none) as the GEMM of its output positions: 2*k*(C/g)*K*Lo*N
    FLOPs in each phase, terms the tensor read, the filter and the tensor written."""
    op = layer.op
    (c, length), (k, out) = layer.in_shapes[0], layer.out_shape
    cin = c // op.groups
    flops = float(2 * op.kernel * cin * k * out * n)
    x, y, filt = n * c * length * BYTES_FLOAT, n * k * out * BYTES_FLOAT, op.kernel * cin * k * BYTES_FLOAT
    terms = {"forward": (x, filt, y), "data_grad": (y, filt, x), "weight_grad": (x, y, filt)}[phase]
    return [PaleoWork(flops, tuple(float(t) for t in terms))]


def _conv3d(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    """A 3-D convolution (an extension, as conv1d): 2*kd*kh*kw*(C/g)*K*Do*Ho*Wo*N FLOPs in each phase, terms the
    tensor read, the filter and the tensor written."""
    op = layer.op
    (c, *_), (k, *out) = layer.in_shapes[0], layer.out_shape
    cin = c // op.groups
    flops = float(2 * prod(op.kernel) * cin * k * prod(out) * n)
    x, y = n * prod(layer.in_shapes[0]) * BYTES_FLOAT, n * prod(layer.out_shape) * BYTES_FLOAT
    filt = prod(op.kernel) * cin * k * BYTES_FLOAT
    terms = {"forward": (x, filt, y), "data_grad": (y, filt, x), "weight_grad": (x, y, filt)}[phase]
    return [PaleoWork(flops, tuple(float(t) for t in terms))]


# -------------------------------------------------------------- inner product
def _inner(x, wt, y) -> PaleoWork:
    """Paleo's `_innerproduct(X, W, Y)`: 2*prod(X)*W[-1]; terms X, W, Y."""
    return PaleoWork(float(2 * prod(x) * wt[-1]),
                     (float(prod(x) * BYTES_FLOAT), float(prod(wt) * BYTES_FLOAT),
                      float(prod(y) * BYTES_FLOAT)))


def _gemm_phases(x, wt, y, phase: str, weights: bool = True) -> list[PaleoWork]:
    """Forward X.W = Y; data gradient Y.W^T = X; weight gradient X^T.Y = W."""
    if phase == "forward":
        return [_inner(x, wt, y)]
    if phase == "data_grad":
        return [_inner(y, [wt[1], wt[0]], x)]
    return [_inner([x[1], x[0]], y, wt)] if weights else []


def _linear(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    op: Linear = layer.op  # type: ignore[assignment]
    rows, din = op.rows_and_width(layer.in_shapes[0])
    x, wt, y = [n * rows, din], [din, op.out_features], [n * rows, op.out_features]
    return _gemm_phases(x, wt, y, phase)


# -------------------------------------------------------------------- pooling
def _pool_item(n: int, in_shape, out_shape, kh: int, kw: int) -> PaleoWork:
    h, w, c = in_shape
    oh, ow = out_shape[0], out_shape[1]
    return PaleoWork(float(2 * kh * kw * c * oh * ow * n),
                     (float(n * h * w * c * BYTES_FLOAT), float(n * oh * ow * c * BYTES_FLOAT)))


def _pool(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    if phase == "weight_grad":
        return []
    op = layer.op
    h, w, _ = layer.in_shapes[0]
    out = layer.out_shape if len(layer.out_shape) == 3 else (1, 1, layer.out_shape[-1])
    if isinstance(op, Pool2d):
        kh, kw = op.kernel
    elif isinstance(op, AdaptiveAvgPool2d):  # extension: the largest adaptive window
        kh, kw = math.ceil(h / out[0]), math.ceil(w / out[1])
    else:  # GlobalAvgPool: one window over the whole image (extension)
        kh, kw = h, w
    return [_pool_item(n, layer.in_shapes[0], out, kh, kw)]


def _pool1d(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    """A 1-D pooling of (C, L) as the 2-D one of a 1 x L image (extension, as conv1d)."""
    if phase == "weight_grad":
        return []
    op = layer.op
    (c, length), (_, out) = layer.in_shapes[0], layer.out_shape
    k = op.kernel if isinstance(op, Pool1d) else math.ceil(length / out)
    return [_pool_item(n, (1, length, c), (1, out, c), 1, k)]


def _pool3d(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    """A 3-D pooling of (C, D, H, W) as a 2-D one over D*H x W with the window's volume (extension)."""
    if phase == "weight_grad":
        return []
    op = layer.op
    (c, d, h, w), (_, od, oh, ow) = layer.in_shapes[0], layer.out_shape
    if isinstance(op, Pool3d):
        kd, kh, kw = op.kernel
    else:   # adaptive: the largest window
        kd, kh, kw = math.ceil(d / od), math.ceil(h / oh), math.ceil(w / ow)
    return [_pool_item(n, (d * h, w, c), (od * oh, ow, c), kd * kh, kw)]


def _dropout(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    if phase == "weight_grad" or layer.is_view:  # rate 0 (keep 1): the input itself, no work
        return []
    elems = n * prod(layer.in_shapes[0])
    return [PaleoWork(float(elems), (float(elems * BYTES_FLOAT), float(elems * BYTES_FLOAT)))]


# --------------------------------------------------- extensions (not in Paleo)
def _matmul(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    op: MatMul = layer.op  # type: ignore[assignment]
    batch, m, k, cols, _ = op.dims(layer.in_shapes)
    b = n * prod(batch)
    return _batched_gemm(b, m, k, cols, phase)


def _triangular_solve(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    """A X = B: the GEMM A @ X's terms, half its FLOPs (A's triangle), forward and per operand backward."""
    op: TriangularSolve = layer.op  # type: ignore[assignment]
    batch, m, k, cols, _ = op.dims(layer.in_shapes)
    return [PaleoWork(w.flops / 2, w.mem_bytes) for w in _batched_gemm(n * prod(batch), m, k, cols, phase)]


def _batched_gemm(b: int, m: int, k: int, cols: int, phase: str) -> list[PaleoWork]:
    """A (b,m,k) @ B (b,k,cols) as one GEMM of b*m rows; both operands take gradients."""
    a_, b_, c_ = b * m * k, b * k * cols, b * m * cols
    flops = float(2 * b * m * k * cols)
    terms = lambda *e: tuple(float(x * BYTES_FLOAT) for x in e)  # noqa: E731
    if phase == "forward":
        return [PaleoWork(flops, terms(a_, b_, c_))]
    if phase == "data_grad":
        return [PaleoWork(flops, terms(c_, b_, a_)), PaleoWork(flops, terms(a_, c_, b_))]
    return []


def _attention_scores(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    op: AttentionScores = layer.op  # type: ignore[assignment]
    t, d = layer.in_shapes[0][0], layer.in_shapes[0][1] // 3
    return _batched_gemm(n * op.heads, t, d // op.heads, t, phase)


def _attention_context(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    op: AttentionContext = layer.op  # type: ignore[assignment]
    t, d = layer.out_shape
    return _batched_gemm(n * op.heads, t, t, d // op.heads, phase)


def _mha(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    op: MultiHeadAttention = layer.op  # type: ignore[assignment]
    t, d = layer.in_shapes[0]
    dh = d // op.heads
    items = _gemm_phases([n * t, d], [d, 3 * d], [n * t, 3 * d], phase)
    items += _batched_gemm(n * op.heads, t, dh, t, phase)
    items += _batched_gemm(n * op.heads, t, t, dh, phase)
    items += _gemm_phases([n * t, d], [d, d], [n * t, d], phase)
    return items


def _lstm(layer: Layer, n: int, phase: str) -> list[PaleoWork]:
    op = layer.op
    if isinstance(op, LSTMCell):
        t, din, layers, dirs = 1, layer.in_shapes[0][0], 1, 1
    else:
        assert isinstance(op, LSTM)
        (t, din), layers, dirs = layer.in_shapes[0], op.num_layers, op.directions
    hid, g = op.hidden, op.cell.gates     # a GRU (a subclass of LSTM) has 3 gate blocks
    items: list[PaleoWork] = []
    for l in range(layers):
        width = din if l == 0 else hid * dirs
        for _ in range(dirs):
            items += _gemm_phases([n * t, width], [width, g * hid], [n * t, g * hid], phase)
            rec = _gemm_phases([n * t, hid], [hid, g * hid], [n * t, g * hid], phase)
            # the recurrent weights are read once per step
            items += [PaleoWork(w.flops, (w.mem_bytes[0], w.mem_bytes[1] * t, w.mem_bytes[2]))
                      if phase != "weight_grad" else w for w in rec]
    return items


_DISPATCH = (
    (Conv2d, _conv),
    (ConvTranspose2d, _conv_transpose),
    (Conv1d, _conv1d),
    (Conv3d, _conv3d),
    (Pool3d, _pool3d),
    (AdaptiveAvgPool3d, _pool3d),
    (Linear, _linear),
    (Pool2d, _pool),
    (GlobalAvgPool, _pool),
    (AdaptiveAvgPool2d, _pool),
    (Pool1d, _pool1d),
    (AdaptiveAvgPool1d, _pool1d),
    (Dropout, _dropout),
    (TriangularSolve, _triangular_solve),   # before MatMul, its base class
    (MatMul, _matmul),
    (AttentionScores, _attention_scores),
    (AttentionContext, _attention_context),
    (MultiHeadAttention, _mha),
    (LSTM, _lstm),
    (LSTMCell, _lstm),
)
