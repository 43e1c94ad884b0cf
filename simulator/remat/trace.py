"""Operator traces for rematerialisation: what a training step computes, in program order.

A trace speaks of *storages* (blocks of device memory) and *references* to
them (what the program holds: a Python tensor, a DTR log name). Several
references may share a storage: copies of a handle and aliases (views) do.
A storage is freed when its last reference is released; until then the
replay may evict it and rematerialise it later by running again the ops that
made it: its *chain*, the op that allocated it followed by the in-place ops
(MUTATE) applied to it so far, in order.

The trace is flat integer arrays (CSR lists) so that the compiled replay
(`kernel.py`) reads it without Python objects:

  storages  size (bytes), constant (pinned while referenced), chain (CSR
            over op ids: producer first, then mutations in program order)
  ops       cost (seconds), args (CSR over storage ids: what must be resident),
            fresh outputs (CSR: storages it allocates), mutated (CSR)
  program   (kind, operand) pairs: CONST s (a weight/input appears: allocate,
            pinned), OP o (run op o), ACQUIRE s (one more reference to s),
            RELEASE s (one reference fewer)

Ops that only make views (alias outputs) allocate nothing; their cost still
counts when the program runs them, never when a storage is rematerialised.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..graph import SimulatorError

CONST, OP, ACQUIRE, RELEASE = 0, 1, 2, 3
KIND_NAMES = ("CONST", "OP", "ACQUIRE", "RELEASE")


def _csr(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    for i, xs in enumerate(lists):
        ptr[i + 1] = ptr[i] + len(xs)
    idx = np.fromiter((x for xs in lists for x in xs), dtype=np.int64, count=int(ptr[-1]))
    return ptr, idx


@dataclass(eq=False)
class OpTrace:
    """An immutable operator trace (build one with `TraceBuilder`, `load_dtr_log` or
    `trace_from_network`). Arrays are read-only; see the module docstring."""

    name: str
    op_names: list[str]
    op_cost: np.ndarray          # (ops,) seconds
    op_args_ptr: np.ndarray      # (ops+1,)
    op_args: np.ndarray          # storage ids the op reads (must be resident)
    op_out_ptr: np.ndarray
    op_out: np.ndarray           # storages the op allocates
    op_mut_ptr: np.ndarray
    op_mut: np.ndarray           # storages the op overwrites in place
    size: np.ndarray             # (storages,) bytes
    constant: np.ndarray         # (storages,) bool: weights and inputs, pinned while referenced
    chain_ptr: np.ndarray
    chain: np.ndarray            # op ids that (re)compute each storage, producer first
    prog_kind: np.ndarray        # (instructions,) CONST / OP / ACQUIRE / RELEASE
    prog_arg: np.ndarray         # (instructions,) storage or op id
    source: str | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # baseline, neighbours

    def __post_init__(self) -> None:
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    @property
    def n_ops(self) -> int:
        return len(self.op_cost)

    @property
    def n_storages(self) -> int:
        return len(self.size)

    @property
    def n_instructions(self) -> int:
        return len(self.prog_kind)

    def op_calls(self) -> int:
        """How many ops the program runs (an op id appears once in the program)."""
        return int(np.count_nonzero(self.prog_kind == OP))

    def args_of(self, op: int) -> np.ndarray:
        return self.op_args[self.op_args_ptr[op]:self.op_args_ptr[op + 1]]

    def outputs_of(self, op: int) -> np.ndarray:
        return self.op_out[self.op_out_ptr[op]:self.op_out_ptr[op + 1]]

    def mutated_by(self, op: int) -> np.ndarray:
        return self.op_mut[self.op_mut_ptr[op]:self.op_mut_ptr[op + 1]]

    def chain_of(self, storage: int) -> np.ndarray:
        return self.chain[self.chain_ptr[storage]:self.chain_ptr[storage + 1]]

    def instructions(self):
        """(kind name, operand) for every instruction, in program order (for people and tools)."""
        for k, a in zip(self.prog_kind.tolist(), self.prog_arg.tolist()):
            yield KIND_NAMES[k], a

    def summary(self) -> str:
        return (f"{self.name}: {self.op_calls()} ops, {self.n_storages} storages "
                f"({int(self.constant.sum())} constants, {int(self.size[self.constant].sum())} bytes), "
                f"{float(self.op_cost.sum()):.6g} s of compute")


class TraceBuilder:
    """Write a trace op by op. Ids returned are *references*: each holds its storage
    once and is given back with `release` (at most once).

        b = TraceBuilder()
        w = b.constant("w", 4096)
        x = b.constant("x", 1024)
        (y,) = b.call("matmul", [x, w], [(2048, None)], 1e-3)
        (v,) = b.call("view", [y], [(0, y)], 0.0)     # a view of y: shares y's storage
        b.mutate("relu_", [y], [y], 1e-4)
        b.release(x); b.release(v)
        trace = b.build()
    """

    def __init__(self, name: str = "trace", source: str | None = None):
        self.name = name
        self.source = source
        self._ref_storage: list[int] = []   # reference id -> storage id
        self._ref_live: list[bool] = []
        self._size: list[int] = []
        self._const: list[bool] = []
        self._chain: list[list[int]] = []
        self._op_names: list[str] = []
        self._op_cost: list[float] = []
        self._op_args: list[list[int]] = []
        self._op_out: list[list[int]] = []
        self._op_mut: list[list[int]] = []
        self._kind: list[int] = []
        self._arg: list[int] = []

    # ---------------------------------------------------------------- helpers
    def _fail(self, message: str, where: str | None = None):
        raise SimulatorError(message, source=self.source, where=where)

    def _storage(self, ref: int, what: str, op: str) -> int:
        if isinstance(ref, bool) or not isinstance(ref, (int, np.integer)) or not 0 <= ref < len(self._ref_storage):
            self._fail(f"{what} {ref!r} is not a reference this builder returned", f"op '{op}'")
        if not self._ref_live[ref]:
            self._fail(f"{what} {ref} was already released", f"op '{op}'")
        return self._ref_storage[ref]

    def _new_ref(self, storage: int) -> int:
        self._ref_storage.append(storage)
        self._ref_live.append(True)
        self._kind.append(ACQUIRE)
        self._arg.append(storage)
        return len(self._ref_storage) - 1

    def _new_storage(self, nbytes, constant: bool, where: str) -> int:
        if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 0:
            self._fail(f"size must be an integer number of bytes >= 0, not {nbytes!r}", where)
        self._size.append(int(nbytes))
        self._const.append(constant)
        self._chain.append([])
        return len(self._size) - 1

    def _new_op(self, name: str, args: list[int], compute_s: float) -> int:
        try:
            cost = float(compute_s)
        except (TypeError, ValueError):
            cost = float("nan")
        if not cost >= 0 or cost == float("inf"):
            self._fail(f"compute time must be a finite number of seconds >= 0, not {compute_s!r}",
                       f"op '{name}'")
        self._op_names.append(str(name))
        self._op_cost.append(cost)
        self._op_args.append([self._storage(a, "argument", name) for a in args])
        self._op_out.append([])
        self._op_mut.append([])
        return len(self._op_cost) - 1

    # ------------------------------------------------------------- the trace
    def constant(self, name: str, nbytes: int) -> int:
        """A weight or input of `nbytes`: pinned (never evicted) while referenced."""
        s = self._new_storage(nbytes, True, f"constant '{name}'")
        self._kind.append(CONST)
        self._arg.append(s)
        self._ref_storage.append(s)  # the constant's own reference (no ACQUIRE: CONST holds it)
        self._ref_live.append(True)
        return len(self._ref_storage) - 1

    def call(self, name: str, args: list[int], outputs: list[tuple[int, int | None]],
             compute_s: float) -> list[int]:
        """Run op `name` on `args` (references) for `compute_s` seconds. Each output is
        (nbytes, None) for a fresh storage or (nbytes, arg) for a view of argument
        reference `arg` (its nbytes are ignored: it shares that storage). Returns one new
        reference per output."""
        o = self._new_op(name, args, compute_s)
        out_storages = []
        for k, item in enumerate(outputs):
            try:
                nbytes, alias = item
            except (TypeError, ValueError):
                self._fail(f"output {k} must be a pair (nbytes, alias or None), not {item!r}", f"op '{name}'")
            if alias is None:
                s = self._new_storage(nbytes, False, f"op '{name}' output {k}")
                self._chain[s].append(o)
                self._op_out[o].append(s)
            else:
                if alias not in args:
                    self._fail(f"output {k} is a view of {alias!r}, which is not one of its arguments",
                               f"op '{name}'")
                s = self._storage(alias, "view source", name)
            out_storages.append(s)
        self._kind.append(OP)
        self._arg.append(o)
        return [self._new_ref(s) for s in out_storages]

    def mutate(self, name: str, args: list[int], mutated: list[int], compute_s: float) -> None:
        """An in-place op: reads `args`, overwrites the storages of `mutated` (references
        among `args`). Rematerialising such a storage runs this op again after its producer."""
        o = self._new_op(name, args, compute_s)
        for ref in mutated:
            if ref not in args:
                self._fail(f"mutated reference {ref!r} is not one of its arguments", f"op '{name}'")
            s = self._ref_storage[ref]
            if s not in self._op_mut[o]:
                self._op_mut[o].append(s)
                self._chain[s].append(o)
        self._kind.append(OP)
        self._arg.append(o)

    def copy(self, ref: int) -> int:
        """A new reference to the storage of `ref` (a copied handle: no memory, no compute)."""
        return self._new_ref(self._storage(ref, "reference", "copy"))

    def release(self, tensor_id: int) -> None:
        """Give reference `tensor_id` back; its storage is freed with its last reference."""
        s = self._storage(tensor_id, "reference", "release")
        self._ref_live[tensor_id] = False
        self._kind.append(RELEASE)
        self._arg.append(s)

    def live_references(self) -> list[int]:
        return [r for r, live in enumerate(self._ref_live) if live]

    def build(self) -> OpTrace:
        args_ptr, args = _csr(self._op_args)
        out_ptr, out = _csr(self._op_out)
        mut_ptr, mut = _csr(self._op_mut)
        chain_ptr, chain = _csr(self._chain)
        return OpTrace(
            name=self.name, op_names=list(self._op_names),
            op_cost=np.array(self._op_cost, dtype=np.float64),
            op_args_ptr=args_ptr, op_args=args, op_out_ptr=out_ptr, op_out=out,
            op_mut_ptr=mut_ptr, op_mut=mut,
            size=np.array(self._size, dtype=np.int64), constant=np.array(self._const, dtype=bool),
            chain_ptr=chain_ptr, chain=chain,
            prog_kind=np.array(self._kind, dtype=np.int8), prog_arg=np.array(self._arg, dtype=np.int64),
            source=self.source)
