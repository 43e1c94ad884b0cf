"""Replay an operator trace under a memory budget: `baseline`, `replay`, `RematResult`.

    from simulator.remat import load_dtr_log, baseline, replay
    trace = load_dtr_log("logs.zip", model="resnet32")
    peak, seconds = baseline(trace)                    # unbounded budget
    r = replay(trace, 0.5 * peak, heuristic="dtr_eq")  # half the memory
    print(r.overhead, r.evictions, r.remats, r.oom, r.thrash)

Heuristics (lowest score is evicted first; c = seconds to remake a storage,
m = its bytes, staleness = simulated seconds since its last use, e*(s) = the
evicted storages evicting s would make necessary again):
  dtr        (c + sum of c over e*(s)) / (m * staleness)       DTR's h_DTR
  dtr_eq     the same with e*(s) approximated by union-find classes of
             evicted storages (DTR's h_DTR^eq: cheap, and what DTR ships)
  dtr_local  c / (m * staleness)
  msps       (c + sum of c over e*(s)) / m                    (no staleness)
  lru        least recently used first
  largest    largest first
  random     uniformly random (seeded: `seed`)
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..graph import SimulatorError, did_you_mean
from . import kernel
from .trace import OpTrace

HEURISTICS = ("dtr", "dtr_eq", "dtr_local", "msps", "lru", "largest", "random")
_CODES = {"dtr": kernel.H_DTR, "dtr_eq": kernel.H_DTR_EQ, "dtr_local": kernel.H_DTR_LOCAL,
          "msps": kernel.H_MSPS, "lru": kernel.H_LRU, "largest": kernel.H_LARGEST,
          "random": kernel.H_RANDOM}


@dataclass(frozen=True)
class RematResult:
    """One replay. `overhead` = compute_s / baseline_compute_s; inf when the run stopped
    (out of memory, or thrashing beyond the limit); `peak_bytes` is the most memory held
    at once (never above the budget); `seconds` is the wall time of this replay."""

    budget_bytes: float
    heuristic: str
    baseline_peak_bytes: int
    baseline_compute_s: float
    compute_s: float
    overhead: float
    peak_bytes: int
    evictions: int
    remats: int
    oom: bool
    thrash: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return not (self.oom or self.thrash)

    def to_dict(self) -> dict:
        out = asdict(self)
        for k, v in out.items():  # JSON has no infinity: a run that did not finish has none
            if isinstance(v, float) and not math.isfinite(v):
                out[k] = None
        return out


def format_bytes(n: float) -> str:
    """Bytes for people, in a unit that keeps them readable: '1,234.5 MB', '45.2 kB', '900 B' (a budget of a
    few kB printed as '0.0 MB')."""
    if not math.isfinite(n):
        return str(n)
    if abs(n) >= 1e6:
        return f"{n / 1e6:,.1f} MB"
    if abs(n) >= 1e3:
        return f"{n / 1e3:.1f} kB"
    return f"{n:.0f} B"


def _neighbours(trace: OpTrace) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Storage dependency graph (CSR): parents = storages read by the ops of a storage's chain;
    children = the reverse. Cached on the trace."""
    got = trace._cache.get("neighbours")
    if got is not None:
        return got
    n = trace.n_storages
    ops_of = np.repeat(np.arange(n), np.diff(trace.chain_ptr))          # storage of each chain entry
    arg_counts = np.diff(trace.op_args_ptr)[trace.chain]
    child = np.repeat(ops_of, arg_counts)
    starts = trace.op_args_ptr[trace.chain]
    parent = (trace.op_args[np.concatenate([np.arange(a, a + c) for a, c in zip(starts, arg_counts)])]
              if len(starts) else np.zeros(0, dtype=np.int64))
    keep = parent != child
    edges = np.unique(np.stack([child[keep], parent[keep]], axis=1), axis=0) if keep.any() \
        else np.zeros((0, 2), dtype=np.int64)

    def csr(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(src, kind="stable")
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(ptr, src + 1, 1)
        return np.cumsum(ptr), np.ascontiguousarray(dst[order], dtype=np.int64)

    par_ptr, par = csr(edges[:, 0], edges[:, 1])
    ch_ptr, ch = csr(edges[:, 1], edges[:, 0])
    got = (par_ptr, par, ch_ptr, ch)
    trace._cache["neighbours"] = got
    return got


def _run(trace: OpTrace, budget: float, code: int, seed: int, limit: float, eager_free: bool,
         banish: bool, rec: np.ndarray | None = None) -> np.ndarray:
    par_ptr, par, ch_ptr, ch = _neighbours(trace)
    if rec is None:
        rec = np.zeros((0, 3))
    return kernel.replay_kernel(trace.op_cost, trace.op_args_ptr, trace.op_args, trace.op_out_ptr,
                                trace.op_out, trace.op_mut_ptr, trace.op_mut, trace.size, trace.constant,
                                trace.chain_ptr, trace.chain, trace.prog_kind, trace.prog_arg,
                                par_ptr, par, ch_ptr, ch, float(budget), code, int(seed), float(limit),
                                bool(eager_free), bool(banish), rec)


def _check_trace(trace) -> None:
    if not isinstance(trace, OpTrace):
        raise SimulatorError(f"expected an OpTrace, not {type(trace).__name__}")


def baseline(trace: OpTrace) -> tuple[int, float]:
    """(peak bytes, compute seconds) of the trace with an unbounded budget (eager freeing)."""
    _check_trace(trace)
    got = trace._cache.get("baseline")
    if got is None:
        sc = _run(trace, math.inf, kernel.H_DTR_EQ, 0, math.inf, True, False)
        got = (int(sc[kernel.C_PEAK]), float(sc[kernel.C_COMPUTE]))
        trace._cache["baseline"] = got
    return got


def replay(trace: OpTrace, budget_bytes: float, heuristic: str = "dtr_eq", *, seed: int = 0,
           thrash_limit: float = 2.0, eager_free: bool = True, banish: bool = False,
           profile: np.ndarray | None = None) -> RematResult:
    """Replay `trace` with at most `budget_bytes` resident, evicting by `heuristic`
    (one of HEURISTICS). Stops at the first op that cannot fit (oom) or once the
    compute exceeds `thrash_limit` times the baseline's (thrash). With `profile`, a float array of shape
    (instructions, 3), row i gets the most bytes held during instruction i of the program (what it
    rematerialised and made included), the bytes held after it, and the remats so far."""
    _check_trace(trace)
    if heuristic not in _CODES:
        raise SimulatorError(f"unknown heuristic {heuristic!r}" + did_you_mean(str(heuristic), _CODES)
                             + f"; known: {', '.join(HEURISTICS)}")
    try:
        budget = float(budget_bytes)
    except (TypeError, ValueError):
        budget = math.nan
    if not budget >= 0:
        raise SimulatorError(f"budget must be a number of bytes >= 0, not {budget_bytes!r}")
    # the overhead is the replay's compute over the baseline's, never below 1: a limit under 1 would call every
    # budget thrashing, the baseline's own included
    if not (isinstance(thrash_limit, (int, float)) and not isinstance(thrash_limit, bool) and thrash_limit >= 1):
        raise SimulatorError(f"thrash_limit must be a number >= 1 (the most compute allowed, as a multiple of "
                             f"the baseline's), not {thrash_limit!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 32:
        raise SimulatorError(f"seed must be an integer in [0, 2**32), not {seed!r}")
    base_peak, base_compute = baseline(trace)
    t0 = time.perf_counter()
    limit = thrash_limit * base_compute if base_compute > 0 else math.inf
    if profile is not None and (not isinstance(profile, np.ndarray) or profile.dtype != np.float64
                                or profile.shape != (len(trace.prog_kind), 3)):
        raise SimulatorError(f"profile must be a float64 array of shape ({len(trace.prog_kind)}, 3)")
    sc = _run(trace, budget, _CODES[heuristic], seed, limit, eager_free, banish, profile)
    seconds = time.perf_counter() - t0
    status = int(sc[kernel.C_STATUS])
    compute = float(sc[kernel.C_COMPUTE])
    if status != kernel.STATUS_OK:
        overhead = math.inf
    else:
        overhead = compute / base_compute if base_compute > 0 else 1.0
    return RematResult(budget_bytes=budget, heuristic=heuristic, baseline_peak_bytes=base_peak,
                       baseline_compute_s=base_compute, compute_s=compute, overhead=overhead,
                       peak_bytes=int(sc[kernel.C_PEAK]), evictions=int(sc[kernel.C_EVICT]),
                       remats=int(sc[kernel.C_REMAT]), oom=status == kernel.STATUS_OOM,
                       thrash=status == kernel.STATUS_THRASH, seconds=seconds)
