"""LSTM: one cell step, and a (stacked, optionally bidirectional) layer over a sequence.

Per time step of one direction of one layer, with input width Din, hidden
size H and b bias vectors per gate block (PyTorch: b = 2, b_ih and b_hh;
TensorFlow/Keras and the original formulation: b = 1):

| quantity | formula |
|---|---|
| params | 4H*(Din + H) + b*4H |
| forward | 2*4H*(Din + H) (gate GEMMs) + b*4H (bias adds) + 18H (3 sigmoids at 4, 2 tanh at 1, c = f*c + i*g: 3, h = o*tanh(c): 1) |
| data gradient | 2*4H*Din towards x + 2*4H*H towards h + 36H (twice the cell's element-wise work) |
| weight gradient | 2*4H*(Din + H) + b*4H |
| saved | the step's input and output, and privately the gates (4H), c and tanh(c) (2H) |

A sequence of T steps is T times a step. The frameworks run the recurrent
GEMM even when the initial state is zero, so it is always counted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from simulator.graph import Shape
from simulator.ops.base import Counts, OpBase, fail, positive

CELL_FWD = 18  # element-wise FLOPs per hidden unit and step
CELL_BWD = 36


def step_counts(din: int, h: int, bias_vectors: int) -> Counts:
    """One step of one direction of one layer (input x of width din)."""
    gemm = 2 * 4 * h * (din + h)
    bias = bias_vectors * 4 * h
    return Counts(
        params=4 * h * (din + h) + bias,
        fwd=gemm + bias + CELL_FWD * h,
        dgrad=(2 * 4 * h * din + CELL_BWD * h, 2 * 4 * h * h),
        wgrad=gemm + bias,
        read=din + 2 * h,
        write=2 * h,
        saved_private=6 * h,
    )


def _bias_vectors(b: int) -> None:
    if b not in (0, 1, 2):
        fail(f"bias_vectors must be 0, 1 or 2, not {b!r}")


@dataclass(frozen=True)
class LSTMCell(OpBase):
    """One LSTM step: x (Din,) [, h (H,), c (H,)] -> new h (H,)."""

    kind: ClassVar[str] = "lstm_cell"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 3
    hidden: int = 1
    bias_vectors: int = 2

    def __post_init__(self):
        positive(self.hidden, "hidden")
        _bias_vectors(self.bias_vectors)

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        if len(ins[0]) != 1:
            fail(f"LSTM cell expects a vector input (Din,) per sample, got {ins[0]}")
        for s in ins[1:]:
            if s != (self.hidden,):
                fail(f"LSTM cell state must have shape ({self.hidden},), got {s}")
        return (self.hidden,)

    def counts(self, ins, out) -> Counts:
        c = step_counts(ins[0][0], self.hidden, self.bias_vectors)
        dgrad = (c.dgrad[0], c.dgrad[1], float(self.hidden))[:len(ins)]
        return Counts(params=c.params, fwd=c.fwd, dgrad=dgrad, wgrad=c.wgrad, read=c.read,
                      write=self.hidden, saved_inputs=tuple(range(len(ins))), saves_output=True,
                      saved_private=c.saved_private)


@dataclass(frozen=True)
class LSTM(OpBase):
    """An LSTM over a sequence: (T, Din) -> (T, H * directions), all steps' h.

    An optional second input is the layer whose final state initialises this
    one (an encoder feeding a decoder); only its last step is read.
    """

    kind: ClassVar[str] = "lstm"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 2
    hidden: int = 1
    num_layers: int = 1
    bidirectional: bool = False
    bias_vectors: int = 2

    def __post_init__(self):
        positive(self.hidden, "hidden")
        positive(self.num_layers, "num_layers")
        _bias_vectors(self.bias_vectors)

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        if len(ins[0]) != 2:
            fail(f"LSTM expects a sequence (T, Din) per sample, got {ins[0]}")
        width = self.hidden * self.directions
        if len(ins) == 2 and (len(ins[1]) != 2 or ins[1][1] != width):
            fail(f"LSTM initial state must come from a (T, {width}) sequence, got {ins[1]}")
        return (ins[0][0], width)

    def counts(self, ins, out) -> Counts:
        t, din = ins[0]
        width = self.hidden * self.directions
        total = dict(params=0, fwd=0.0, dgrad=0.0, wgrad=0.0, read=0.0, write=0.0, private=0.0)
        for layer in range(self.num_layers):
            c = step_counts(din if layer == 0 else width, self.hidden, self.bias_vectors)
            for _ in range(self.directions):
                total["params"] += c.params
                total["fwd"] += t * c.fwd
                total["dgrad"] += t * sum(c.dgrad)
                total["wgrad"] += t * c.wgrad
                total["read"] += t * c.read
                total["write"] += t * c.write
                total["private"] += t * c.saved_private
        # outputs of the inner layers of a stack are kept for its backward too
        total["private"] += (self.num_layers - 1) * t * width
        dgrad = (total["dgrad"],) + ((0.0,) if len(ins) == 2 else ())
        return Counts(params=total["params"], fwd=total["fwd"], dgrad=dgrad, wgrad=total["wgrad"],
                      read=total["read"], write=total["write"], saved_inputs=(0,),
                      saves_output=True, saved_private=total["private"])
