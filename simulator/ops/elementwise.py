"""Element-wise ops: activations, arithmetic on tensors, dropout, softmax.

FLOPs per element count every arithmetic operation and every transcendental
(exp, tanh, erf) as 1 FLOP; random-number generation is not counted.

| op | forward / element | data gradient / element | saved |
|---|---|---|---|
| relu | 1 (compare/select) | 1 | output |
| sigmoid | 4 (neg, exp, add, div) | 3: g*y*(1-y) | output |
| tanh | 1 | 3: g*(1-y*y) | output |
| gelu (tanh form) | 9: 0.5*x*(1+tanh(c*(x+a*x^3))) | 18 (recomputes tanh) | input |
| silu (swish) | 5: x*sigmoid(x) | 9: g*s*(1+x*(1-s)), s recomputed | input |
| leaky_relu | 2 (compare, scale) | 2 | input |
| hardtanh (relu6 and other clamps) | 2 (two compares) | 2 | input |
| hardsigmoid | 4: clamp(x/6 + 1/2) | 3 | input |
| hardswish | 5: x*hardsigmoid(x) | 5 | input |
| elu | 4 (compare, exp, sub, scale) | 3: g*(y+alpha) on the negative side | output |
| softplus | 3: log(1+exp(x)) | 5: g*sigmoid(x) | input |
| mish | 5: x*tanh(softplus(x)) | 12 (recomputes softplus and tanh) | input |
| add / sub of k inputs | k-1 | 0 (passes through; a broadcast input costs one add per output element to reduce) | nothing |
| mul of k inputs | k-1 (1 with a constant) | k-1 per input (+1 if broadcast) | inputs (nothing with a constant) |
| div | 1 | numerator 1, denominator 3 (+1 if broadcast) | inputs (nothing with a constant) |
| dropout | 2 (compare with the random draw, scale) | 1 (scale by the kept mask) | mask (output-sized) |
| dropout of rate 0 | 0: a view of its input (F.dropout(x, 0.0) is x) | 0 | nothing |
| softmax over the last axis | 5 (max, sub, exp, sum, div) | 4 (dot of g and y, sub, mul) | output |

Forward reads every input element and writes every output element.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from simulator.graph import Shape
from simulator.ops.base import Counts, OpBase, fail, prod

# fn: (forward FLOPs per element, data-gradient FLOPs per element, saves "in" or "out")
ACTIVATIONS: dict[str, tuple[int, int, str]] = {
    "relu": (1, 1, "out"),
    "sigmoid": (4, 3, "out"),
    "tanh": (1, 3, "out"),
    "gelu": (9, 18, "in"),
    "silu": (5, 9, "in"),
    "leaky_relu": (2, 2, "in"),
    "hardtanh": (2, 2, "in"),
    "hardsigmoid": (4, 3, "in"),
    "hardswish": (5, 5, "in"),
    "elu": (4, 3, "out"),
    "softplus": (3, 5, "in"),
    "mish": (5, 12, "in"),
}

SOFTMAX_FWD = 5
SOFTMAX_DGRAD = 4
DROPOUT_FWD = 2
DROPOUT_DGRAD = 1


@dataclass(frozen=True)
class Activation(OpBase):
    """An element-wise nonlinearity; `kind` is the function's name."""

    fn: str = "relu"

    def __post_init__(self):
        if self.fn not in ACTIVATIONS:
            from simulator.graph import did_you_mean
            fail(f"unknown activation '{self.fn}' (known: {', '.join(ACTIVATIONS)})"
                 + did_you_mean(self.fn, ACTIVATIONS))

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.fn

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        return ins[0]

    def counts(self, ins, out) -> Counts:
        fwd, dgrad, keep = ACTIVATIONS[self.fn]
        n = prod(out)
        return Counts(fwd=fwd * n, dgrad=(dgrad * n,), read=n, write=n,
                      saved_inputs=(0,) if keep == "in" else (), saves_output=keep == "out")


def broadcast_shapes(shapes: tuple[Shape, ...], what: str) -> Shape:
    """NumPy broadcasting of several shapes, or a one-line error naming them."""
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(1, rank + 1):
        sizes = {s[-i] for s in shapes if i <= len(s)} - {1}
        if len(sizes) > 1:
            fail(f"{what} of different shapes: " + ", ".join(str(s) for s in shapes))
        out.append(sizes.pop() if sizes else 1)
    return tuple(reversed(out))


@dataclass(frozen=True)
class Elementwise(OpBase):
    """add / sub / mul / div of its inputs (NumPy broadcasting); with a single
    input it is the operation with a constant (e.g. x * 0.5)."""

    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = None
    fn: str = "add"
    same_shape: bool = False  # require equal shapes (Paleo's Elementwise)

    def __post_init__(self):
        if self.fn not in ("add", "sub", "mul", "div"):
            fail(f"elementwise function must be add, sub, mul or div, not {self.fn!r}")

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.fn

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        if self.fn in ("sub", "div") and len(ins) > 2:
            fail(f"{self.fn} takes one or two inputs, got {len(ins)}")
        if self.same_shape and any(s != ins[0] for s in ins):
            fail(f"elementwise {self.fn} of different shapes: " + ", ".join(str(s) for s in ins))
        return broadcast_shapes(ins, f"elementwise {self.fn}")

    def counts(self, ins, out) -> Counts:
        n = prod(out)
        reduce = [n if s != out else 0 for s in ins]  # summing a broadcast gradient back
        if self.fn in ("add", "sub"):
            dgrad = tuple(reduce)
            saved: tuple[int, ...] = ()
        elif self.fn == "mul":
            dgrad = tuple((len(ins) - 1) * n + r if len(ins) > 1 else n for r in reduce)
            saved = tuple(range(len(ins))) if len(ins) > 1 else ()  # x * constant keeps nothing
        else:  # div: d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
            dgrad = tuple((n if k == 0 else 3 * n) + r for k, r in enumerate(reduce))
            saved = tuple(range(len(ins))) if len(ins) > 1 else ()
        return Counts(fwd=max(1, len(ins) - 1) * n, dgrad=dgrad,
                      read=sum(prod(s) for s in ins), write=n, saved_inputs=saved)


@dataclass(frozen=True)
class Dropout(OpBase):
    """Zeroes each element with probability `rate` in training, scales the rest."""

    kind: ClassVar[str] = "dropout"
    rate: float = 0.5

    def __post_init__(self):
        if not isinstance(self.rate, (int, float)) or not 0 <= self.rate < 1:
            fail(f"dropout rate must be in [0, 1), not {self.rate!r}")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        return ins[0]

    def counts(self, ins, out) -> Counts:
        if self.rate == 0:
            # F.dropout(x, 0.0, training=True) returns x itself: no kernel, no mask, no new tensor
            return Counts(dgrad=(0.0,), view=True)
        n = prod(out)
        return Counts(fwd=DROPOUT_FWD * n, dgrad=(DROPOUT_DGRAD * n,), read=n, write=n,
                      saved_private=n)


@dataclass(frozen=True)
class Softmax(OpBase):
    """Softmax over the last axis; `flatten=True` flattens the sample first
    (Paleo's Softmax gives (N, classes) whatever its input's rank)."""

    kind: ClassVar[str] = "softmax"
    flatten: bool = False

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if not x:
            fail("softmax needs an input with at least one axis")
        return (prod(x),) if self.flatten else x

    def counts(self, ins, out) -> Counts:
        n = prod(out)
        return Counts(fwd=SOFTMAX_FWD * n, dgrad=(SOFTMAX_DGRAD * n,), read=n, write=n,
                      saves_output=True)
