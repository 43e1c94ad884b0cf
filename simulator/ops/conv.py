"""Convolution and pooling over (H, W, C) images.

Output sizes, per spatial axis, with window extent ke = d*(k-1)+1:
  VALID (TensorFlow)   ceil((H - ke + 1) / s)
  SAME  (TensorFlow)   ceil(H / s)
  explicit p (PyTorch) floor((H + 2p - ke) / s) + 1   (ceil with ceil_mode, as torch pools)

| op | params | forward | data gradient | weight gradient | saved |
|---|---|---|---|---|---|
| conv2d | kh*kw*(C/g)*K (+K bias) | 2*kh*kw*(C/g)*K*Ho*Wo (+Ho*Wo*K bias adds) | 2*kh*kw*(C/g)*K*Ho*Wo | same as data (+Ho*Wo*K for the bias) | input |
| conv1d (channels first: (C, L) -> (K, Lo), as torch) | k*(C/g)*K (+K bias) | 2*k*(C/g)*K*Lo (+Lo*K bias adds) | 2*k*(C/g)*K*Lo | same as data (+Lo*K) | input |
| conv_transpose2d | kh*kw*C*(K/g) (+K bias) | 2*kh*kw*(C/g)*K*H*W over the input's pixels (+Ho*Wo*K bias adds) | 2*kh*kw*(C/g)*K*H*W (a convolution) | same as data (+Ho*Wo*K) | input |
| pool2d max | 0 | kh*kw per output element (compares) | 1 per output element (scatter) | 0 | input + indices (output-sized) |
| pool2d avg | 0 | kh*kw per output element | kh*kw per output element | 0 | nothing |
| pool1d max / avg (channels first: (C, L) -> (C, Lo), as torch) | 0 | k per output element | 1 (max) or k (avg) per output element | 0 | max: input + indices |
| global_avg_pool / adaptive_avg_pool (and adaptive_avg_pool1d) | 0 | one add per input element in each window | same | 0 | nothing |
| upsample nearest | 0 | 0 (a copy) | one add per output element (summed back into the input) | 0 | nothing |
| upsample bilinear | 0 | 7 per output element (4 weights, 3 adds) | 7 per output element | 0 | nothing |
| upsample bicubic | 0 | 31 per output element (16 weights, 15 adds) | 31 per output element | 0 | nothing |

Forward reads the input and writes the output (activation elements).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Union

from simulator.graph import Shape
from simulator.ops.base import Counts, OpBase, ceil_div, fail, need_rank, pair, positive, prod

Padding = Union[str, tuple[int, int]]


def normalize_padding(padding) -> Padding:
    """'SAME' / 'VALID' (any case), an int, or a (ph, pw) pair."""
    if isinstance(padding, str):
        up = padding.upper()
        if up not in ("SAME", "VALID"):
            fail(f"padding must be 'SAME', 'VALID' or explicit sizes, not {padding!r}")
        return up
    ph, pw = pair(padding, "padding")
    if ph < 0 or pw < 0:
        fail(f"padding must not be negative, got {padding!r}")
    return (ph, pw)


def window_out(size: int, k: int, s: int, pad, d: int = 1, ceil_mode: bool = False) -> int:
    """Output length along one axis (see the module docstring)."""
    ke = d * (k - 1) + 1
    if pad == "VALID":
        return ceil_div(size - ke + 1, s)
    if pad == "SAME":
        return ceil_div(size, s)
    span = size + 2 * pad - ke
    if not ceil_mode:
        return span // s + 1 if span >= 0 else 0
    # PyTorch: rounding up, a window larger than the input still gives one output (Hugging Face's EfficientNet
    # pools its last 2 x 2 map with a 1280 x 1280 window, ceil_mode=True)
    out = max(ceil_div(span, s) + 1, 0)
    if (out - 1) * s >= size + pad:  # PyTorch: the last window must start inside the input
        out -= 1
    return out


def _check_out_channels(op) -> None:
    """A convolution's output channels split evenly among its groups."""
    if op.out_channels % op.groups:
        fail(f"out_channels {op.out_channels} is not divisible by groups {op.groups}")


def _check_in_channels(op, c: int) -> None:
    """The input's c channels are the filter's, and split evenly among the groups."""
    if op.in_channels is not None and op.in_channels != c:
        fail(f"filter expects {op.in_channels} input channels, the input has {c}")
    if c % op.groups:
        fail(f"{c} input channels are not divisible by groups {op.groups}")


def conv_counts(op, weights: int, macs: int, ins, out) -> Counts:
    """A convolution's row of the table: `weights` filter parameters (the bias comes from `op`), `macs`
    multiply-adds; the data gradient and the weight gradient are as many again, the bias one add per output."""
    bias_ops = prod(out) if op.bias else 0
    return Counts(params=weights + (op.out_channels if op.bias else 0), fwd=2 * macs + bias_ops, dgrad=(2 * macs,),
                  wgrad=2 * macs + bias_ops, read=prod(ins[0]), write=prod(out), saved_inputs=(0,))


def _spatial(op, h: int, w: int, kernel, stride, padding, dilation=(1, 1), ceil_mode=False):
    ph, pw = (padding, padding) if isinstance(padding, str) else padding
    oh = window_out(h, kernel[0], stride[0], ph, dilation[0], ceil_mode)
    ow = window_out(w, kernel[1], stride[1], pw, dilation[1], ceil_mode)
    if oh < 1 or ow < 1:
        pad_txt = padding if isinstance(padding, str) else f"{padding[0]}x{padding[1]}"
        fail(f"{kernel[0]}x{kernel[1]} window does not fit the {h}x{w} input "
             f"(padding {pad_txt}, stride {stride[0]}x{stride[1]})")
    return oh, ow


@dataclass(frozen=True)
class Conv2d(OpBase):
    """2-D convolution, channels-last; `in_channels=None` (or -1) is inferred."""

    kind: ClassVar[str] = "conv2d"
    out_channels: int
    kernel: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: Padding = "VALID"
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = True
    in_channels: int | None = None

    def __post_init__(self):
        positive(self.out_channels, "out_channels")
        object.__setattr__(self, "kernel", pair(self.kernel, "kernel"))
        object.__setattr__(self, "stride", pair(self.stride, "stride"))
        object.__setattr__(self, "dilation", pair(self.dilation, "dilation"))
        object.__setattr__(self, "padding", normalize_padding(self.padding))
        for what in ("kernel", "stride", "dilation"):
            for v in getattr(self, what):
                positive(v, what)
        positive(self.groups, "groups")
        if self.in_channels == -1:
            object.__setattr__(self, "in_channels", None)
        _check_out_channels(self)

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        need_rank(x, 3, "conv2d")
        h, w, c = x
        _check_in_channels(self, c)
        oh, ow = _spatial(self, h, w, self.kernel, self.stride, self.padding, self.dilation)
        return (oh, ow, self.out_channels)

    def macs(self, ins, out) -> int:
        kh, kw = self.kernel
        return kh * kw * (ins[0][2] // self.groups) * prod(out)

    def counts(self, ins, out) -> Counts:
        kh, kw = self.kernel
        return conv_counts(self, kh * kw * (ins[0][2] // self.groups) * self.out_channels, self.macs(ins, out),
                           ins, out)


@dataclass(frozen=True)
class Conv1d(OpBase):
    """1-D convolution over a (C, L) sequence, channels first as torch's Conv1d (audio, temporal
    convolutions); `padding` a number of positions on each side, or "same"."""

    kind: ClassVar[str] = "conv1d"
    out_channels: int
    kernel: int = 3
    stride: int = 1
    padding: int | str = 0
    dilation: int = 1
    groups: int = 1
    bias: bool = True
    in_channels: int | None = None

    def __post_init__(self):
        for what in ("out_channels", "kernel", "stride", "dilation", "groups"):
            positive(getattr(self, what), what)
        if self.padding != "same" and (isinstance(self.padding, bool) or not isinstance(self.padding, int)
                                       or self.padding < 0):
            fail(f"conv1d padding must be a number of positions >= 0 or 'same', not {self.padding!r}")
        _check_out_channels(self)

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        need_rank(x, 2, "conv1d")
        c, n = x
        _check_in_channels(self, c)
        if self.padding == "same":
            return (self.out_channels, n)
        out = (n + 2 * self.padding - self.dilation * (self.kernel - 1) - 1) // self.stride + 1
        if out < 1:
            fail(f"a kernel of extent {self.dilation * (self.kernel - 1) + 1} does not fit a sequence of {n}")
        return (self.out_channels, out)

    def counts(self, ins, out) -> Counts:
        per_output = self.kernel * (ins[0][0] // self.groups)
        return conv_counts(self, per_output * self.out_channels, per_output * prod(out), ins, out)


@dataclass(frozen=True)
class ConvTranspose2d(OpBase):
    """Transposed 2-D convolution (torch's ConvTranspose2d), channels-last: every input pixel scatters a
    kernel-sized window into the output, of size (H - 1)*s - 2p + d*(k - 1) + output_padding + 1."""

    kind: ClassVar[str] = "conv_transpose2d"
    out_channels: int
    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    output_padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = True
    in_channels: int | None = None

    def __post_init__(self):
        positive(self.out_channels, "out_channels")
        for what in ("kernel", "stride", "padding", "output_padding", "dilation"):
            object.__setattr__(self, what, pair(getattr(self, what), what))
        for what in ("kernel", "stride", "dilation"):
            for v in getattr(self, what):
                positive(v, what)
        if min(self.padding + self.output_padding) < 0:
            fail(f"padding and output_padding must be >= 0, got {self.padding} and {self.output_padding}")
        positive(self.groups, "groups")
        _check_out_channels(self)

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        need_rank(x, 3, "conv_transpose2d")
        h, w, c = x
        _check_in_channels(self, c)
        size = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, s, p, d, k, op in
                     zip((h, w), self.stride, self.padding, self.dilation, self.kernel, self.output_padding))
        if min(size) < 1:
            fail(f"transposed convolution of a {h}x{w} input gives an empty output {size}")
        return (size[0], size[1], self.out_channels)

    def counts(self, ins, out) -> Counts:
        kh, kw = self.kernel
        c = ins[0][2]
        macs = kh * kw * (c // self.groups) * self.out_channels * ins[0][0] * ins[0][1]
        return conv_counts(self, kh * kw * c * (self.out_channels // self.groups), macs, ins, out)


@dataclass(frozen=True)
class Pool2d(OpBase):
    """Max or average pooling; `stride=None` means stride = kernel."""

    kind: ClassVar[str] = "pool2d"
    mode: str = "max"
    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    padding: Padding = "VALID"
    ceil_mode: bool = False

    def __post_init__(self):
        if self.mode not in ("max", "avg"):
            fail(f"pooling mode must be 'max' or 'avg', not {self.mode!r}")
        object.__setattr__(self, "kernel", pair(self.kernel, "kernel"))
        object.__setattr__(self, "stride", pair(self.kernel if self.stride is None else self.stride,
                                                "stride"))
        object.__setattr__(self, "padding", normalize_padding(self.padding))
        for v in self.kernel + self.stride:
            positive(v, "pooling kernel and stride")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        need_rank(x, 3, f"{self.mode} pooling")
        h, w, c = x
        oh, ow = _spatial(self, h, w, self.kernel, self.stride, self.padding,
                          ceil_mode=self.ceil_mode)
        return (oh, ow, c)

    def counts(self, ins, out) -> Counts:
        # a window larger than the (padded) input reads the input's elements only
        if isinstance(self.padding, str):
            window = self.kernel[0] * self.kernel[1]
        else:
            h, w, _ = ins[0]
            window = min(self.kernel[0], h + 2 * self.padding[0]) * min(self.kernel[1], w + 2 * self.padding[1])
        return _pool_counts(self.mode, window, prod(ins[0]), prod(out))


def _pool_counts(mode: str, window: int, n_in: int, n_out: int) -> Counts:
    """Max or average pooling of any rank: `window` elements per output (the table above)."""
    if mode == "max":
        return Counts(fwd=window * n_out, dgrad=(n_out,), read=n_in, write=n_out, saved_inputs=(0,),
                      saved_private=n_out)
    return Counts(fwd=window * n_out, dgrad=(window * n_out,), read=n_in, write=n_out)


@dataclass(frozen=True)
class Pool1d(OpBase):
    """Max or average pooling of a (C, L) sequence, channels first as torch (after a Conv1d);
    `stride=None` means stride = kernel, `padding` is torch's on both ends."""

    kind: ClassVar[str] = "pool1d"
    mode: str = "max"
    kernel: int = 2
    stride: int | None = None
    padding: int = 0
    ceil_mode: bool = False

    def __post_init__(self):
        if self.mode not in ("max", "avg"):
            fail(f"pooling mode must be 'max' or 'avg', not {self.mode!r}")
        object.__setattr__(self, "stride", self.kernel if self.stride is None else self.stride)
        for v in (self.kernel, self.stride):
            positive(v, "pooling kernel and stride")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        need_rank(x, 2, f"1-D {self.mode} pooling")
        c, length = x
        _, out = _spatial(self, 1, length, (1, self.kernel), (1, self.stride), (0, self.padding),
                          ceil_mode=self.ceil_mode)
        return (c, out)

    def counts(self, ins, out) -> Counts:
        return _pool_counts(self.mode, self.kernel, prod(ins[0]), prod(out))


@dataclass(frozen=True)
class AdaptiveAvgPool1d(OpBase):
    """PyTorch's adaptive average pooling of a (C, L) sequence to a fixed length."""

    kind: ClassVar[str] = "adaptive_avg_pool1d"
    output_size: int = 1

    def __post_init__(self):
        positive(self.output_size, "output_size")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        need_rank(x, 2, "1-D adaptive average pooling")
        return (x[0], self.output_size)

    def counts(self, ins, out) -> Counts:
        c, length = ins[0]
        adds = sum(adaptive_windows(length, out[1])) * c
        return Counts(fwd=adds, dgrad=(adds,), read=prod(ins[0]), write=prod(out))


UPSAMPLE_FLOPS = {"nearest": 0, "bilinear": 7, "bicubic": 31}   # per output element (the table above)


@dataclass(frozen=True)
class Upsample(OpBase):
    """Resizing of an (H, W, C) image to `size` (torch's interpolate / nn.Upsample), nearest, bilinear or
    bicubic."""

    kind: ClassVar[str] = "upsample"
    size: tuple[int, int] = (1, 1)
    mode: str = "nearest"

    def __post_init__(self):
        if self.mode not in UPSAMPLE_FLOPS:
            fail(f"upsampling mode must be 'nearest', 'bilinear' or 'bicubic', not {self.mode!r}")
        object.__setattr__(self, "size", pair(self.size, "size"))
        for v in self.size:
            positive(v, "upsampled size")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        need_rank(x, 3, "upsampling")
        return (self.size[0], self.size[1], x[2])

    def counts(self, ins, out) -> Counts:
        n_out = prod(out)
        per = UPSAMPLE_FLOPS[self.mode]
        # nearest: the gradient of a copy is a sum over the outputs that copied an input, 1 per output
        return Counts(fwd=per * n_out, dgrad=(max(per, 1) * n_out,),
                      read=prod(ins[0]), write=n_out)


@dataclass(frozen=True)
class GlobalAvgPool(OpBase):
    """Mean over H and W: (H, W, C) -> (1, 1, C), or (C,) with keepdims=False."""

    kind: ClassVar[str] = "global_avg_pool"
    keepdims: bool = True

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        need_rank(x, 3, "global average pooling")
        return (1, 1, x[2]) if self.keepdims else (x[2],)

    def counts(self, ins, out) -> Counts:
        n_in = prod(ins[0])
        return Counts(fwd=n_in, dgrad=(n_in,), read=n_in, write=prod(out))


def adaptive_windows(size: int, out: int) -> list[int]:
    """Window lengths of PyTorch's adaptive pooling along one axis."""
    return [ceil_div((i + 1) * size, out) - (i * size) // out for i in range(out)]


@dataclass(frozen=True)
class AdaptiveAvgPool2d(OpBase):
    """PyTorch's adaptive average pooling to a fixed (oh, ow)."""

    kind: ClassVar[str] = "adaptive_avg_pool"
    output_size: tuple[int, int] = (1, 1)

    def __post_init__(self):
        object.__setattr__(self, "output_size", pair(self.output_size, "output_size"))
        for v in self.output_size:
            positive(v, "output_size")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        need_rank(x, 3, "adaptive average pooling")
        return (self.output_size[0], self.output_size[1], x[2])

    def counts(self, ins, out) -> Counts:
        h, w, c = ins[0]
        adds = sum(adaptive_windows(h, out[0])) * sum(adaptive_windows(w, out[1])) * c
        return Counts(fwd=adds, dgrad=(adds,), read=prod(ins[0]), write=prod(out))
