"""A small analytical model of a tiled matrix multiply: the evaluator of the matmul example.

C[M,N] += A[M,K] @ B[K,N], computed in tiles of (tile_m x tile_n) with a K-step of
tile_k, on a core with a vector unit and a two-level memory (a cache of
`cache_kib`, then DRAM). Costs: `cycles` (compute or memory bound, whichever is
slower) and `traffic_mib` (bytes moved from DRAM). Points whose tiles do not fit
the cache are infeasible. A toy, but with the shape of a real tuning problem:
interactions between knobs, a feasibility edge, and two costs that disagree.
"""
from __future__ import annotations

import math

from framework.protocols import Infeasible

BYTES = 4            # float32
VECTOR = 8           # lanes
FREQ_GHZ = 2.0
DRAM_GBS = 20.0


def evaluate(point: dict) -> dict:
    m = n = k = int(point["size"])
    tm, tn, tk = int(point["tile_m"]), int(point["tile_n"]), int(point["tile_k"])
    unroll, cache = int(point["unroll"]), int(point["cache_kib"]) * 1024
    working_set = (tm * tk + tk * tn + tm * tn) * BYTES
    if working_set > cache:
        raise Infeasible(f"tiles need {working_set} B, the cache holds {cache} B",
                         {"cycles": math.inf, "traffic_mib": math.inf})
    flops = 2.0 * m * n * k
    # vector efficiency: partial vectors on the n edge, loop overhead shrinking with unrolling
    lanes = min(tn, VECTOR) / VECTOR
    overhead = 1.0 + 4.0 / (unroll * max(tk, 1))
    compute_cycles = flops / (2 * VECTOR * lanes) * overhead
    # DRAM traffic: A is read once per column of tiles, B once per row of tiles, C once
    traffic = (m * k * math.ceil(n / tn) + k * n * math.ceil(m / tm) + m * n) * BYTES
    memory_cycles = traffic / (DRAM_GBS * 1e9) * FREQ_GHZ * 1e9
    cycles = max(compute_cycles, memory_cycles) + 0.1 * min(compute_cycles, memory_cycles)
    return {"cycles": cycles, "traffic_mib": traffic / 2 ** 20}
