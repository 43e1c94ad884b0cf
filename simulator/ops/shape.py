"""Sources and shape ops: input data, free parameters, concat, reshape & co.

None of these computes anything (0 FLOPs) except `mean`.

| op | params | reads / writes | data gradient | notes |
|---|---|---|---|---|
| input | 0 | 0 / 0 (the data loader writes it) | - | a data source: no parents |
| parameter | prod(shape) (0 for a buffer) | 0 / 0 (a view: no activation per sample) | - | a free weight tensor (torch get_attr); its gradient is counted by the layers that use it |
| concat | 0 | all inputs / output (a copy) | 0 (slices) | along one axis |
| reshape, flatten | 0 | 0 / 0 (a view of input 0) | 0 | element count preserved |
| transpose | 0 | input / output (a copy) | 0 | a permutation of the axes |
| select | 0 | 0 / 0 (a view) | 0 | one index along an axis (BERT's [CLS] token) |
| slice | 0 | 0 / 0 (a view) | 0 | positions start..stop-1 along an axis (a chunk of a split), every step-th |
| mean | 0 | input / output | 1 per input element | FLOPs: 1 add per input element |
| pad | 0 | input / output (a copy into a larger tensor) | 0 (a slice) | constant padding: (before, after) per axis |
| pixel_shuffle | 0 | input / output (a copy) | 0 | (H, W, C*r*r) -> (H*r, W*r, C), or back (unshuffle) |
| unfold | 0 | input / output (a copy of every kernel window) | 1 add per output element (the windows folded back) | F.unfold (im2col); with fold=True F.fold: one add per column element |
| gather | 0 | output / output (a copy of the picked elements) | 1 add per output element (added back where they were picked) | torch.gather from a network tensor by an index computed elsewhere: the output has the index's shape |
| repeat | 0 | input / output (a copy) | 1 add per output element (the copies' gradients summed) | each axis repeated a whole number of times (expand then reshape, repeat, repeat_interleave: grouped-query attention's keys and values) |
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from simulator.graph import Shape
from simulator.ops.base import Counts, OpBase, fail, prod


def _shape(value, what: str) -> Shape:
    try:
        shape = tuple(value)
    except TypeError:
        fail(f"{what} must be a list of sizes, not {value!r}")
    for d in shape:
        if not isinstance(d, int) or isinstance(d, bool) or d < 1:
            fail(f"{what} must hold positive integers, got {list(shape)}")
    return shape


def _axis(axis: int, rank: int, what: str) -> int:
    if not -rank <= axis < rank:
        fail(f"{what}: axis {axis} is out of range for a {rank}-D input")
    return axis % rank


@dataclass(frozen=True)
class Input(OpBase):
    """Input data of a per-sample `shape` (ids or values)."""

    kind: ClassVar[str] = "input"
    min_inputs: ClassVar[int] = 0
    max_inputs: ClassVar[int | None] = 0
    shape: Shape = ()

    def __post_init__(self):
        object.__setattr__(self, "shape", _shape(self.shape, "input shape"))

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        return self.shape

    def counts(self, ins, out) -> Counts:
        return Counts()


@dataclass(frozen=True)
class Parameter(OpBase):
    """A free tensor read directly (shared by every sample): a parameter, or a
    buffer (a constant, `trainable=False`, no parameters)."""

    kind: ClassVar[str] = "parameter"
    min_inputs: ClassVar[int] = 0
    max_inputs: ClassVar[int | None] = 0
    shape: Shape = ()
    trainable: bool = True

    def __post_init__(self):
        object.__setattr__(self, "shape", _shape(self.shape, "parameter shape"))

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        return self.shape

    def counts(self, ins, out) -> Counts:
        # the tensor itself, not an activation of each sample: nothing allocated per sample (a parameter's bytes
        # are the weights'; a constant's are not counted)
        return Counts(params=prod(self.shape) if self.trainable else 0, view=True)


@dataclass(frozen=True)
class Concat(OpBase):
    """Concatenation along `axis` (per-sample axes; -1 = channels)."""

    kind: ClassVar[str] = "concat"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = None
    axis: int = -1
    # the user counted the axes with the batch (a Paleo file's 'dim', axis + 1): an error says their number
    batch_counted: bool = False

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        rank = len(ins[0])
        if any(len(s) != rank for s in ins):
            fail("concat of inputs with different ranks: " + ", ".join(str(s) for s in ins))
        if self.batch_counted and not -rank <= self.axis < rank:   # 'dim 4' was 'axis 3 ... for a 3-D input'
            dim = self.axis + 1 if self.axis >= 0 else self.axis
            fail(f"concat: 'dim' {dim} is out of range for inputs of {rank + 1} dimensions with the batch "
                 f"(give 1 to {rank} or -{rank} to -1; 0 is the batch)")
        axis = _axis(self.axis, rank, "concat")
        for s in ins[1:]:
            if s[:axis] + s[axis + 1:] != ins[0][:axis] + ins[0][axis + 1:]:
                along = f"'dim' {axis + 1}" if self.batch_counted else f"axis {axis}"
                fail(f"concat along {along}: other axes differ: " + ", ".join(str(s) for s in ins))
        return ins[0][:axis] + (sum(s[axis] for s in ins),) + ins[0][axis + 1:]

    def counts(self, ins, out) -> Counts:
        return Counts(dgrad=tuple(0.0 for _ in ins), read=sum(prod(s) for s in ins),
                      write=prod(out))


@dataclass(frozen=True)
class Reshape(OpBase):
    """A view with another shape; one size may be -1 (inferred)."""

    kind: ClassVar[str] = "reshape"
    shape: Shape = ()
    # a tensor the same for every sample viewed as each sample's (a class token expanded to the batch): what reads
    # it works per sample (see graph.py's batch-free layers)
    spread: bool = False

    def __post_init__(self):
        shape = tuple(self.shape)
        if sum(1 for d in shape if d == -1) > 1 or any(
                not isinstance(d, int) or isinstance(d, bool) or (d < 1 and d != -1) for d in shape):
            fail(f"reshape target must be positive sizes with at most one -1, got {list(shape)}")
        object.__setattr__(self, "shape", shape)

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        n = prod(ins[0])
        known = prod(d for d in self.shape if d != -1)
        if -1 in self.shape:
            if n % known:
                fail(f"cannot reshape {ins[0]} ({n} elements) to {list(self.shape)}")
            return tuple(n // known if d == -1 else d for d in self.shape)
        if known != n:
            fail(f"cannot reshape {ins[0]} ({n} elements) to {self.shape} ({known} elements)")
        return self.shape

    def counts(self, ins, out) -> Counts:
        return Counts(dgrad=(0.0,), view=True)


@dataclass(frozen=True)
class Flatten(OpBase):
    """A view of the whole sample as one vector."""

    kind: ClassVar[str] = "flatten"

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        return (prod(ins[0]),)

    def counts(self, ins, out) -> Counts:
        return Counts(dgrad=(0.0,), view=True)


@dataclass(frozen=True)
class Transpose(OpBase):
    """A copy with permuted axes: output axis i is input axis perm[i]."""

    kind: ClassVar[str] = "transpose"
    perm: tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "perm", tuple(self.perm))

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if sorted(self.perm) != list(range(len(x))):
            fail(f"transpose permutation {list(self.perm)} does not fit a {len(x)}-D input {x}")
        return tuple(x[p] for p in self.perm)

    def counts(self, ins, out) -> Counts:
        n = prod(out)
        return Counts(dgrad=(0.0,), read=n, write=n)


@dataclass(frozen=True)
class PixelShuffle(OpBase):
    """torch's pixel shuffle of an (H, W, C) image by `factor` r: (H, W, C*r*r) -> (H*r, W*r, C), a copy;
    `inverse` for the unshuffle: (H*r, W*r, C) -> (H, W, C*r*r)."""

    kind: ClassVar[str] = "pixel_shuffle"
    factor: int = 2
    inverse: bool = False

    def __post_init__(self):
        if not isinstance(self.factor, int) or isinstance(self.factor, bool) or self.factor < 1:
            fail(f"pixel shuffle factor must be a positive integer, not {self.factor!r}")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if len(x) != 3:
            fail(f"pixel shuffle expects an (H, W, C) image, got {x}")
        h, w, c = x
        r = self.factor
        if self.inverse:
            if h % r or w % r:
                fail(f"pixel unshuffle by {r}: {h}x{w} does not divide")
            return (h // r, w // r, c * r * r)
        if c % (r * r):
            fail(f"pixel shuffle by {r}: {c} channels are not a multiple of {r * r}")
        return (h * r, w * r, c // (r * r))

    def counts(self, ins, out) -> Counts:
        n = prod(out)
        return Counts(dgrad=(0.0,), read=n, write=n)


@dataclass(frozen=True)
class Select(OpBase):
    """One position along `axis` (that axis disappears), as a view."""

    kind: ClassVar[str] = "select"
    axis: int = 0
    index: int = 0

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        axis = _axis(self.axis, len(x), "select")
        if not -x[axis] <= self.index < x[axis]:
            fail(f"select index {self.index} is out of range for axis {axis} of size {x[axis]}")
        return x[:axis] + x[axis + 1:]

    def counts(self, ins, out) -> Counts:
        return Counts(dgrad=(0.0,), view=True)


@dataclass(frozen=True)
class Slice(OpBase):
    """Positions `start`, `start + step`, ... before `stop` along `axis`, as a (strided) view."""

    kind: ClassVar[str] = "slice"
    axis: int = -1
    start: int = 0
    stop: int = 1
    step: int = 1

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        axis = _axis(self.axis, len(x), "slice")
        if not 0 <= self.start < self.stop <= x[axis]:
            fail(f"slice {self.start}:{self.stop} is out of range for axis {axis} of size {x[axis]}")
        if not isinstance(self.step, int) or self.step < 1:
            fail(f"slice step must be a positive integer, not {self.step!r}")
        return x[:axis] + (-(-(self.stop - self.start) // self.step),) + x[axis + 1:]

    def counts(self, ins, out) -> Counts:
        return Counts(dgrad=(0.0,), view=True)


@dataclass(frozen=True)
class Pad(OpBase):
    """Constant (zero) padding: `pads` holds (before, after) for each per-sample axis, outermost first."""

    kind: ClassVar[str] = "pad"
    pads: tuple[tuple[int, int], ...] = ()

    def __post_init__(self):
        try:
            pads = tuple((int(a), int(b)) for a, b in self.pads)
        except (TypeError, ValueError):
            fail(f"pads must be (before, after) pairs, not {self.pads!r}")
        if any(a < 0 or b < 0 for a, b in pads):
            fail(f"pads must not be negative (cropping is a slice), got {list(pads)}")
        object.__setattr__(self, "pads", pads)

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if len(self.pads) != len(x):
            fail(f"pad: {len(self.pads)} (before, after) pairs for a {len(x)}-D input {x}")
        return tuple(d + a + b for d, (a, b) in zip(x, self.pads))

    def counts(self, ins, out) -> Counts:
        return Counts(dgrad=(0.0,), read=prod(ins[0]), write=prod(out))


@dataclass(frozen=True)
class Repeat(OpBase):
    """The input copied to `shape`, each axis repeated a whole number of times (torch's expand written to memory
    by a reshape, repeat, repeat_interleave): a copy forward; backward sums the copies' gradients."""

    kind: ClassVar[str] = "repeat"
    shape: Shape = ()

    def __post_init__(self):
        object.__setattr__(self, "shape", _shape(self.shape, "repeat shape"))

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if len(x) != len(self.shape) or any(o % i for i, o in zip(x, self.shape)):
            fail(f"repeat of {x} to {self.shape}: each axis must be repeated a whole number of times")
        return self.shape

    def counts(self, ins, out) -> Counts:
        return Counts(dgrad=(float(prod(out)),), read=prod(ins[0]), write=prod(out))


@dataclass(frozen=True)
class Gather(OpBase):
    """Elements of the input picked along an axis by an index the network computed elsewhere (torch.gather:
    ProphetNet's and Funnel's relative-position scores, a token per sample): the output, of `shape`, has the
    index's shape, the input's rank; a copy forward, whose gradient is added back where it was picked."""

    kind: ClassVar[str] = "gather"
    shape: Shape = ()

    def __post_init__(self):
        object.__setattr__(self, "shape", _shape(self.shape, "gather shape"))

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if len(x) != len(self.shape):
            fail(f"gather of {self.shape} from {x}: the index must have the input's rank")
        return self.shape

    def counts(self, ins, out) -> Counts:
        n = prod(out)
        return Counts(dgrad=(float(n),), read=n, write=n)


@dataclass(frozen=True)
class Unfold(OpBase):
    """torch's F.unfold (im2col) of a channels-last image (H, W, C): every kernel window's values as a column,
    (C * kh * kw, L) for L windows, a copy; its gradient adds the overlapping windows back (F.fold). With
    `fold`, the inverse: columns (C * kh * kw, L) summed into the image `size` (H, W, C)."""

    kind: ClassVar[str] = "unfold"
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    fold: bool = False
    size: tuple[int, int, int] = (1, 1, 1)   # the image of a fold

    def _windows(self, h: int, w: int) -> tuple[int, int]:
        return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, p, d, k, s in zip(
            (h, w), self.padding, self.dilation, self.kernel, self.stride))

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        kh, kw = self.kernel
        if self.fold:
            h, w, c = self.size
            lh, lw = self._windows(h, w)
            if x != (c * kh * kw, lh * lw):
                fail(f"fold of {x} to an image {self.size}: expected columns ({c * kh * kw}, {lh * lw})")
            return tuple(self.size)
        if len(x) != 3:
            fail(f"unfold expects an image (H, W, C), got {x}")
        lh, lw = self._windows(x[0], x[1])
        if lh < 1 or lw < 1:
            fail(f"unfold: a kernel of {self.kernel} does not fit the image {x}")
        return (x[2] * kh * kw, lh * lw)

    def counts(self, ins, out) -> Counts:
        n_in, n_out = prod(ins[0]), prod(out)
        if self.fold:   # the columns added into the image
            return Counts(fwd=float(n_in), dgrad=(0.0,), read=n_in, write=n_out)
        return Counts(dgrad=(float(n_out),), read=n_in, write=n_out)


@dataclass(frozen=True)
class Mean(OpBase):
    """Mean over `axes` (per-sample axes), optionally keeping them as size 1."""

    kind: ClassVar[str] = "mean"
    axes: tuple[int, ...] = (-1,)
    keepdims: bool = False

    def __post_init__(self):
        object.__setattr__(self, "axes", tuple(self.axes))
        if not self.axes:
            fail("mean needs at least one axis")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        axes = {_axis(a, len(x), "mean") for a in self.axes}
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(x))
        return tuple(d for i, d in enumerate(x) if i not in axes)

    def counts(self, ins, out) -> Counts:
        n = prod(ins[0])
        return Counts(fwd=n, dgrad=(float(n),), read=n, write=prod(out))


__all__ = ["Input", "Parameter", "Concat", "Reshape", "Flatten", "Transpose", "Select", "Slice", "Mean", "Pad",
           "PixelShuffle", "Repeat", "Gather", "Unfold"]
