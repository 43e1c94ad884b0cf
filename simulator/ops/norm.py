"""Normalisation layers (training mode: statistics of the current batch/row).

E is the number of elements; C the normalised channels (batch norm), R the
rows normalised separately (layer norm: the product of the other axes).

| op | params | forward / element | data gradient / element | weight gradient / element | saved |
|---|---|---|---|---|---|
| batch_norm | 2*C (gamma, beta; running statistics are buffers, not parameters) | 7: mean, centre, square, variance sum, normalise, scale, shift | 8 | 3: dgamma (mul, add), dbeta (add) | input + mean and 1/std (2*C) |
| layer_norm | 2*prod(normalised shape) (gamma, beta; each optional) | 7 | 8 | 3 with both, 2 gamma only, 1 beta only | input + mean and 1/std (2*R) |
| group_norm | 2*C (gamma, beta; optional) | 7 | 8 | 3 | input + mean and 1/std (2*G) |
| rms_norm | prod(normalised shape) (gamma, optional) | 4: square, sum, normalise, scale | 6 | 2: dgamma (mul, add) | input + 1/rms (R) |
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from simulator.graph import Shape
from simulator.ops.base import Counts, OpBase, fail, positive, prod

NORM_FWD = 7
NORM_DGRAD = 8


@dataclass(frozen=True)
class BatchNorm(OpBase):
    """Batch normalisation over `axis` (channels-last: -1)."""

    kind: ClassVar[str] = "batch_norm"
    axis: int = -1
    affine: bool = True

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if not -len(x) <= self.axis < len(x):
            fail(f"batch norm axis {self.axis} is out of range for shape {x}")
        return x

    def counts(self, ins, out) -> Counts:
        n = prod(out)
        c = out[self.axis]
        return Counts(params=2 * c if self.affine else 0, fwd=NORM_FWD * n, dgrad=(NORM_DGRAD * n,),
                      wgrad=3 * n if self.affine else 0, read=n, write=n, saved_inputs=(0,),
                      saved_private=2 * c)


@dataclass(frozen=True)
class LayerNorm(OpBase):
    """Layer normalisation over the last `dims` axes."""

    kind: ClassVar[str] = "layer_norm"
    dims: int = 1
    scale: bool = True
    bias: bool = True

    def __post_init__(self):
        positive(self.dims, "dims")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if len(x) < self.dims:
            fail(f"layer norm over {self.dims} axes needs a {self.dims}-D input, got {x}")
        return x

    def counts(self, ins, out) -> Counts:
        n = prod(out)
        width = prod(out[len(out) - self.dims:])
        rows = n // width
        per_elem_w = (2 if self.scale else 0) + (1 if self.bias else 0)
        return Counts(params=width * (int(self.scale) + int(self.bias)), fwd=NORM_FWD * n,
                      dgrad=(NORM_DGRAD * n,), wgrad=per_elem_w * n, read=n, write=n,
                      saved_inputs=(0,), saved_private=2 * rows)


@dataclass(frozen=True)
class GroupNorm(OpBase):
    """Group normalisation of a channels-last image: the channels in `groups` groups, each normalised over
    its channels and the spatial axes (InstanceNorm: one group per channel); the channels on `axis` (0 for a
    channels-first sequence (C, L): wav2vec 2.0's first convolution)."""

    kind: ClassVar[str] = "group_norm"
    groups: int = 1
    affine: bool = True
    axis: int = -1

    def __post_init__(self):
        positive(self.groups, "groups")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if not x or not -len(x) <= self.axis < len(x) or x[self.axis] % self.groups:
            fail(f"group norm: {x[self.axis] if x and -len(x) <= self.axis < len(x) else 0} channels do not "
                 f"split into {self.groups} groups")
        return x

    def counts(self, ins, out) -> Counts:
        n, c = prod(out), out[self.axis]
        return Counts(params=2 * c if self.affine else 0, fwd=NORM_FWD * n, dgrad=(NORM_DGRAD * n,),
                      wgrad=3 * n if self.affine else 0, read=n, write=n, saved_inputs=(0,),
                      saved_private=2 * self.groups)


RMS_FWD = 4
RMS_DGRAD = 6


@dataclass(frozen=True)
class RMSNorm(OpBase):
    """Root-mean-square normalisation over the last `dims` axes (LLaMA's; no mean subtracted, no bias)."""

    kind: ClassVar[str] = "rms_norm"
    dims: int = 1
    scale: bool = True

    def __post_init__(self):
        positive(self.dims, "dims")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if len(x) < self.dims:
            fail(f"RMS norm over {self.dims} axes needs a {self.dims}-D input, got {x}")
        return x

    def counts(self, ins, out) -> Counts:
        n = prod(out)
        width = prod(out[len(out) - self.dims:])
        return Counts(params=width if self.scale else 0, fwd=RMS_FWD * n, dgrad=(RMS_DGRAD * n,),
                      wgrad=2 * n if self.scale else 0, read=n, write=n, saved_inputs=(0,),
                      saved_private=n // width)
