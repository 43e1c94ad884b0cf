"""Fourier transforms: FNet's token mixing (torch.fft.fftn over the tokens and the features, its real part kept).

| op | params | forward FLOPs | data gradient | reads / writes | saved |
|---|---|---|---|---|---|
| fft over axes of sizes n1..nk | 0 | 5 N log2(n1 ... nk) | the same (the gradient of a transform is a transform) | N / N | nothing |

N is the number of elements per sample. 5 n log2 n is the usual count of a radix-2 complex FFT of length n (Cooley
and Tukey's n/2 log2 n butterflies of 10 real operations); a transform over several axes is one per axis, each
costing 5 N log2 of its length, which add up to the formula. A real input and the real part of the output, as
FNet takes them, halve the work in a real-to-complex library; that saving is not counted, nor is the complex
output's extra width (its real part is what the network keeps).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from simulator.graph import Shape
from simulator.ops.base import Counts, OpBase, fail, prod

FFT_FLOPS = 5   # per element and per factor of two of the transform's length


@dataclass(frozen=True)
class FFT(OpBase):
    """A discrete Fourier transform over `axes` (per-sample axes); the shape is kept."""

    kind: ClassVar[str] = "fft"
    axes: tuple[int, ...] = (-1,)

    def __post_init__(self):
        object.__setattr__(self, "axes", tuple(self.axes))
        if not self.axes:
            fail("fft needs at least one axis")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        for a in self.axes:
            if not -len(x) <= a < len(x):
                fail(f"fft axis {a} is out of range for a {len(x)}-D input per sample")
        return x

    def counts(self, ins, out) -> Counts:
        n = prod(out)
        length = prod([out[a] for a in {a % len(out) for a in self.axes}])
        flops = FFT_FLOPS * n * math.log2(length) if length > 1 else 0.0
        return Counts(fwd=flops, dgrad=(flops,), read=n, write=n)


__all__ = ["FFT"]
