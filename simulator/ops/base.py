"""What every op shares: the `Counts` record, the base class and small helpers.

An op is a frozen dataclass of its attributes. `infer(in_shapes)` gives the
output shape (per sample) or raises a one-line `SimulatorError`; `counts(in,
out)` gives the whole row of formulas for those shapes as a `Counts`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar, NoReturn, Sequence

from simulator.graph import Shape, SimulatorError


def prod(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def fail(message: str) -> NoReturn:
    raise SimulatorError(message)


def pair(value, what: str) -> tuple[int, int]:
    """`3` -> (3, 3); `(3, 1)` -> (3, 1); anything else is an error naming `what`."""
    if isinstance(value, bool):
        fail(f"{what} must be an integer or a pair of integers, not {value!r}")
    if isinstance(value, int):
        return (value, value)
    try:
        a, b = value
    except (TypeError, ValueError):
        fail(f"{what} must be an integer or a pair of integers, not {value!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b)):
        fail(f"{what} must be integers, not {value!r}")
    return (a, b)


def positive(value, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        fail(f"{what} must be a positive integer, not {value!r}")


@dataclass(frozen=True)
class Counts:
    """One op's formulas evaluated for one set of shapes (per sample).

    `dgrad` has one entry per input: the FLOPs of the gradient towards that
    input (`Network.build` adds only those whose producer requires grad).
    `saved_inputs` / `saves_output` / `saved_private` say which activation
    elements the backward needs: whole input tensors, the output tensor, and
    tensors only this op holds (dropout masks, normalisation statistics,
    pooling indices, attention probabilities inside a fused op).
    `view` marks outputs that alias input 0 (no copy).
    """

    params: int = 0
    fwd: float = 0.0
    dgrad: tuple[float, ...] = ()
    wgrad: float = 0.0
    read: float = 0.0
    write: float = 0.0
    saved_inputs: tuple[int, ...] = ()
    saves_output: bool = False
    saved_private: float = 0.0
    view: bool = False


@dataclass(frozen=True)
class OpBase:
    """Base of every op: arity checking and a readable description."""

    kind: ClassVar[str] = "op"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1

    def infer(self, in_shapes: Sequence[Shape]) -> Shape:
        ins = tuple(tuple(int(d) for d in s) for s in in_shapes)
        n = len(ins)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            if self.max_inputs == self.min_inputs:
                want = f"{self.min_inputs}"
            elif self.max_inputs is None:
                want = f"at least {self.min_inputs}"
            else:
                want = f"{self.min_inputs} to {self.max_inputs}"
            fail(f"{self.kind} takes {want} input(s), got {n}")
        return self._infer(ins)

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        raise NotImplementedError

    def counts(self, ins: Sequence[Shape], out: Shape) -> Counts:
        raise NotImplementedError

    def describe(self) -> str:
        args = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return f"{self.kind}({args})"


def need_rank(shape: Shape, rank: int, what: str) -> None:
    if len(shape) != rank:
        fail(f"{what} expects a {rank}-D input per sample, got shape {shape}")


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


__all__ = ["Counts", "OpBase", "prod", "fail", "pair", "positive", "need_rank", "ceil_div"]
