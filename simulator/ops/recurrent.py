"""LSTM and GRU: one cell step (LSTMCell, GRUCell), and a (stacked, optionally bidirectional) layer over a
sequence.

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

A GRU (PyTorch's nn.GRU: reset gate r, update gate z, candidate n) has three
gate blocks where the LSTM has four, and no cell state:

| quantity | formula |
|---|---|
| params | 3H*(Din + H) + b*3H |
| forward | 2*3H*(Din + H) (gate GEMMs) + b*3H + 15H (2 sigmoids at 4, 1 tanh at 1, n = tanh(x_n + r*h_n): 2, h = (1-z)*n + z*h: 4) |
| data gradient | 2*3H*Din towards x + 2*3H*H towards h + 30H |
| weight gradient | 2*3H*(Din + H) + b*3H |
| saved | the step's input and output, and privately r, z, n and the recurrent part of n, h_n (4H) |

The recurrent part of n is a GEMM of its own (r multiplies it before the sum),
so the GEMM work is that of one [Din + H, 3H] product, as counted.

A decoder started from an encoder's final state reads that state, not the encoder's output sequence: the
encoder's `rnn_state` layer (`FinalState`) is its h_n (and c_n for an LSTM), one H-vector per layer and
direction and state, (layers x directions, states, H) per sample. It is a view of what the recurrent layer wrote (no work, no copy; c_n's few
vectors are not counted apart), so that another device receives the state and sends its gradient back, not
the sequence's T steps.

A plain (Elman) RNN (nn.RNN, nn.RNNCell: h = tanh(W x + U h + b), or ReLU) has one gate block: params
H*(Din + H) + b*H, forward 2H*(Din + H) + b*H + H (the activation at 1), data gradient 2H*Din + 2H towards
x and 2H*H towards h; the backward needs only the step's output (tanh' = 1 - h^2), nothing private.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from simulator.graph import Shape
from simulator.ops.base import Counts, OpBase, fail, positive

@dataclass(frozen=True)
class Cell:
    """What distinguishes one recurrent cell from another (the tables above)."""

    gates: int          # gate blocks of width H: their GEMMs are [Din + H, gates * H]
    fwd: int            # element-wise FLOPs per hidden unit and step
    bwd: int
    private: int        # elements per hidden unit and step the backward keeps besides input and output
    states: int         # state vectors a step reads and writes (h, c for the LSTM)


LSTM_CELL = Cell(gates=4, fwd=18, bwd=36, private=6, states=2)
GRU_CELL = Cell(gates=3, fwd=15, bwd=30, private=4, states=1)
RNN_CELL = Cell(gates=1, fwd=1, bwd=2, private=0, states=1)   # Elman: h = tanh(W x + U h + b), its output kept
CELL_FWD = LSTM_CELL.fwd
CELL_BWD = LSTM_CELL.bwd


def step_counts(din: int, h: int, bias_vectors: int, cell: Cell = LSTM_CELL) -> Counts:
    """One step of one direction of one layer (input x of width din)."""
    g = cell.gates
    gemm = 2 * g * h * (din + h)
    bias = bias_vectors * g * h
    return Counts(
        params=g * h * (din + h) + bias,
        fwd=gemm + bias + cell.fwd * h,
        dgrad=(2 * g * h * din + cell.bwd * h, 2 * g * h * h),
        wgrad=gemm + bias,
        read=din + cell.states * h,
        write=cell.states * h,
        saved_private=cell.private * h,
    )


def _bias_vectors(b: int) -> None:
    if b not in (0, 1, 2):
        fail(f"bias_vectors must be 0, 1 or 2, not {b!r}")


@dataclass(frozen=True)
class LSTMCell(OpBase):
    """One LSTM step: x (Din,) [, h (H,), c (H,)] -> new h (H,)."""

    kind: ClassVar[str] = "lstm_cell"
    cell: ClassVar[Cell] = LSTM_CELL
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 3
    hidden: int = 1
    bias_vectors: int = 2

    def __post_init__(self):
        positive(self.hidden, "hidden")
        _bias_vectors(self.bias_vectors)

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        what = self.kind.split("_")[0].upper()
        if len(ins[0]) != 1:
            fail(f"{what} cell expects a vector input (Din,) per sample, got {ins[0]}")
        for s in ins[1:]:
            if s != (self.hidden,):
                fail(f"{what} cell state must have shape ({self.hidden},), got {s}")
        return (self.hidden,)

    def counts(self, ins, out) -> Counts:
        c = step_counts(ins[0][0], self.hidden, self.bias_vectors, self.cell)
        dgrad = (c.dgrad[0], c.dgrad[1], float(self.hidden))[:len(ins)]
        return Counts(params=c.params, fwd=c.fwd, dgrad=dgrad, wgrad=c.wgrad, read=c.read,
                      write=self.hidden, saved_inputs=tuple(range(len(ins))), saves_output=True,
                      saved_private=c.saved_private)


@dataclass(frozen=True)
class GRUCell(LSTMCell):
    """One GRU step: x (Din,) [, h (H,)] -> new h (H,) (PyTorch's nn.GRUCell)."""

    kind: ClassVar[str] = "gru_cell"
    cell: ClassVar[Cell] = GRU_CELL
    max_inputs: ClassVar[int | None] = 2


@dataclass(frozen=True)
class RNNCell(LSTMCell):
    """One plain RNN step: x (Din,) [, h (H,)] -> new h (H,) (PyTorch's nn.RNNCell)."""

    kind: ClassVar[str] = "rnn_cell"
    cell: ClassVar[Cell] = RNN_CELL
    max_inputs: ClassVar[int | None] = 2


@dataclass(frozen=True)
class FinalState(OpBase):
    """The final state of a recurrent layer over a sequence, (T, width) -> (`layers`, `states`, `hidden`): h_n
    (and c_n) of each of its layers and directions, what it hands to a decoder. A view: no work of its own.
    Three axes, so that a recurrent layer's (T, width) output is never taken for a state."""

    kind: ClassVar[str] = "rnn_state"
    layers: int = 1     # layers x directions
    states: int = 2     # h and c for an LSTM, h for a GRU or an RNN
    hidden: int = 1

    def __post_init__(self):
        positive(self.layers, "layers")
        positive(self.states, "states")
        positive(self.hidden, "hidden")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if len(x) != 2 or x[1] % self.hidden:
            fail(f"a final state of width {self.hidden} must come from a recurrent layer's (T, H * directions) "
                 f"output, got {x}")
        return (self.layers, self.states, self.hidden)

    def counts(self, ins, out) -> Counts:
        return Counts(dgrad=(0.0,), view=True)


def final_state(op: "LSTM") -> FinalState:
    """The `FinalState` of recurrent layer `op`: its cell's states for each of its layers and directions."""
    return FinalState(op.num_layers * op.directions, op.cell.states, op.hidden)


@dataclass(frozen=True)
class LSTM(OpBase):
    """An LSTM over a sequence: (T, Din) -> (T, H * directions), all steps' h.

    An optional second input is the final state that initialises this one (an
    encoder feeding a decoder): a `FinalState` layer after the encoder, (layers, states, H).
    """

    kind: ClassVar[str] = "lstm"
    cell: ClassVar[Cell] = LSTM_CELL
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
            fail(f"{self.kind.upper()} expects a sequence (T, Din) per sample, got {ins[0]}")
        width = self.hidden * self.directions
        if len(ins) == 2 and (len(ins[1]) != 3 or ins[1][2] != self.hidden):
            # an edge sends its parent's whole output: a sequence would be sent where its final state is read
            fail(f"{self.kind.upper()} initial state must be a final state (layers, states, {self.hidden}), got "
                 f"{ins[1]}; "
                 f"give it the encoder through a FinalState (rnn_state) layer")
        return (ins[0][0], width)

    def counts(self, ins, out) -> Counts:
        t, din = ins[0]
        width = self.hidden * self.directions
        total = dict(params=0, fwd=0.0, dgrad=0.0, wgrad=0.0, read=0.0, write=0.0, private=0.0)
        for layer in range(self.num_layers):
            c = step_counts(din if layer == 0 else width, self.hidden, self.bias_vectors, self.cell)
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


@dataclass(frozen=True)
class GRU(LSTM):
    """A GRU over a sequence: (T, Din) -> (T, H * directions), all steps' h (PyTorch's nn.GRU)."""

    kind: ClassVar[str] = "gru"
    cell: ClassVar[Cell] = GRU_CELL


@dataclass(frozen=True)
class RNN(LSTM):
    """A plain (Elman) RNN over a sequence: (T, Din) -> (T, H * directions), all steps' h (PyTorch's nn.RNN)."""

    kind: ClassVar[str] = "rnn"
    cell: ClassVar[Cell] = RNN_CELL
