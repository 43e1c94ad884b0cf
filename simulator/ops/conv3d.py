"""Volumes: 3-D convolution and pooling over (C, D, H, W), channels first as torch's (video, medical
images). Output sizes per axis as torch's (see simulator.ops.conv).

| op | params | forward | data gradient | weight gradient | saved |
|---|---|---|---|---|---|
| conv3d | kd*kh*kw*(C/g)*K (+K bias) | 2*kd*kh*kw*(C/g)*K*Do*Ho*Wo (+Do*Ho*Wo*K bias adds) | 2*kd*kh*kw*(C/g)*K*Do*Ho*Wo | same as data (+Do*Ho*Wo*K) | input |
| pool3d max | 0 | kd*kh*kw per output element | 1 per output element | 0 | input + indices |
| pool3d avg | 0 | kd*kh*kw per output element | kd*kh*kw per output element | 0 | nothing |
| adaptive_avg_pool3d | 0 | one add per input element in each window | same | 0 | nothing |
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from simulator.graph import Shape
from simulator.ops.base import Counts, OpBase, fail, need_rank, positive, prod
from simulator.ops.conv import (_check_in_channels, _check_out_channels, _pool_counts, adaptive_windows,
                                conv_counts, window_out)

Triple = tuple[int, int, int]


def triple(value, what: str) -> Triple:
    """`3` -> (3, 3, 3); a sequence of three integers as it is; anything else is an error naming `what`."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value, value)
    try:
        out = tuple(value)
    except TypeError:
        fail(f"{what} must be an integer or three integers, not {value!r}")
    if len(out) != 3 or not all(isinstance(v, int) and not isinstance(v, bool) for v in out):
        fail(f"{what} must be an integer or three integers, not {value!r}")
    return out  # type: ignore[return-value]


def _volume_out(op, x: Shape, kernel: Triple, stride: Triple, padding: Triple, dilation: Triple,
                ceil_mode: bool, what: str) -> Triple:
    out = tuple(window_out(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(x[1:], kernel, stride, padding, dilation))
    if min(out) < 1:
        fail(f"{what}: a {'x'.join(map(str, kernel))} window does not fit the {'x'.join(map(str, x[1:]))} input "
             f"(padding {'x'.join(map(str, padding))}, stride {'x'.join(map(str, stride))})")
    return out  # type: ignore[return-value]


@dataclass(frozen=True)
class Conv3d(OpBase):
    """3-D convolution over a (C, D, H, W) volume, channels first as torch's Conv3d; `padding` positions on
    each side of each axis."""

    kind: ClassVar[str] = "conv3d"
    out_channels: int
    kernel: Triple = (3, 3, 3)
    stride: Triple = (1, 1, 1)
    padding: Triple = (0, 0, 0)
    dilation: Triple = (1, 1, 1)
    groups: int = 1
    bias: bool = True
    in_channels: int | None = None

    def __post_init__(self):
        positive(self.out_channels, "out_channels")
        positive(self.groups, "groups")
        for what in ("kernel", "stride", "padding", "dilation"):
            object.__setattr__(self, what, triple(getattr(self, what), what))
        for what in ("kernel", "stride", "dilation"):
            for v in getattr(self, what):
                positive(v, what)
        if min(self.padding) < 0:
            fail(f"conv3d padding must be >= 0, not {self.padding}")
        _check_out_channels(self)

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        need_rank(x, 4, "conv3d")
        _check_in_channels(self, x[0])
        return (self.out_channels,) + _volume_out(self, x, self.kernel, self.stride, self.padding, self.dilation,
                                                  False, "conv3d")

    def counts(self, ins, out) -> Counts:
        per_output = prod(self.kernel) * (ins[0][0] // self.groups)
        return conv_counts(self, per_output * self.out_channels, per_output * prod(out), ins, out)


@dataclass(frozen=True)
class Pool3d(OpBase):
    """Max or average pooling of a (C, D, H, W) volume; `stride=None` means stride = kernel."""

    kind: ClassVar[str] = "pool3d"
    mode: str = "max"
    kernel: Triple = (2, 2, 2)
    stride: Triple | None = None
    padding: Triple = (0, 0, 0)
    ceil_mode: bool = False

    def __post_init__(self):
        if self.mode not in ("max", "avg"):
            fail(f"pooling mode must be 'max' or 'avg', not {self.mode!r}")
        object.__setattr__(self, "kernel", triple(self.kernel, "pooling kernel"))
        object.__setattr__(self, "stride", self.kernel if self.stride is None else triple(self.stride, "stride"))
        object.__setattr__(self, "padding", triple(self.padding, "padding"))
        for v in self.kernel + self.stride:
            positive(v, "pooling kernel and stride")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        need_rank(x, 4, f"3-D {self.mode} pooling")
        return (x[0],) + _volume_out(self, x, self.kernel, self.stride, self.padding, (1, 1, 1), self.ceil_mode,
                                     f"3-D {self.mode} pooling")

    def counts(self, ins, out) -> Counts:
        return _pool_counts(self.mode, prod(self.kernel), prod(ins[0]), prod(out))


@dataclass(frozen=True)
class AdaptiveAvgPool3d(OpBase):
    """PyTorch's adaptive average pooling of a (C, D, H, W) volume to a fixed (Do, Ho, Wo)."""

    kind: ClassVar[str] = "adaptive_avg_pool3d"
    output_size: Triple = (1, 1, 1)

    def __post_init__(self):
        object.__setattr__(self, "output_size", triple(self.output_size, "output_size"))
        for v in self.output_size:
            positive(v, "output_size")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        need_rank(x, 4, "3-D adaptive average pooling")
        return (x[0],) + self.output_size

    def counts(self, ins, out) -> Counts:
        c = ins[0][0]
        adds = c
        for size, o in zip(ins[0][1:], out[1:]):
            adds *= sum(adaptive_windows(size, o))
        return Counts(fwd=adds, dgrad=(adds,), read=prod(ins[0]), write=prod(out))


__all__ = ["Conv3d", "Pool3d", "AdaptiveAvgPool3d"]
