"""Pareto dominance, non-dominated sorting, crowding distance and hypervolume (all MINIMISED).

Values are (n, m) arrays, one row per point, one column per objective, to be
minimised (turn a cost to maximise into its negative first). Rows with a NaN
or infinite value are failed or infeasible points: they dominate nothing, are
on no front, and add no volume.

Hypervolume is exact in every dimension:
  m = 1   the length ``ref - min``;
  m = 2   a sweep over the front sorted by the first objective, O(n log n);
  m = 3   slicing along the third objective, a 2-D sweep per slice, O(n^2 log n);
  m >= 4  the WFG algorithm (While, Bradstreet and Barone, IEEE TEC 2012): the
          volume of the front is the sum, over points taken in decreasing order
          of the last objective, of each point's exclusive volume: its box minus
          the volume its box shares with the points after it (the "limit set",
          a smaller front one dimension down, computed recursively to m = 3).
          Exponential in m in the worst case; fronts of a few hundred points in
          4-5 objectives take well under a second.
"""
from __future__ import annotations

import math

import numpy as np

_CHUNK = 512


def _as_values(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2:
        raise ValueError(f"values must be an (n, m) array, got shape {v.shape}")
    return v


def feasible(values: np.ndarray) -> np.ndarray:
    """Rows whose every value is finite."""
    return np.isfinite(_as_values(values)).all(axis=1)


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """a is no worse than b in every objective and better in one."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(a <= b) and np.any(a < b))


def domination_matrix(values: np.ndarray) -> np.ndarray:
    """D[i, j] is True when row i dominates row j.

    A failed row (a non-finite value) dominates nothing and is dominated by every finite row.
    """
    v = _as_values(values)
    n = len(v)
    ok = feasible(v)
    out = np.zeros((n, n), dtype=bool)
    for s in range(0, n, _CHUNK):
        a = v[s:s + _CHUNK, None, :]
        le = (a <= v[None, :, :]).all(axis=2)
        lt = (a < v[None, :, :]).any(axis=2)
        out[s:s + _CHUNK] = le & lt
    out[~ok, :] = False
    out[np.ix_(ok, ~ok)] = True      # any finite row beats a failed one
    return out


def non_dominated_sort(values: np.ndarray) -> list[np.ndarray]:
    """Fronts of row indices, best first. Failed rows (a non-finite value) form one last front.

    Up to 2000 rows: Deb's fast non-dominated sorting on the domination matrix;
    beyond, front after front is peeled with `pareto_front` (no n x n matrix).
    """
    v = _as_values(values)
    ok = feasible(v)
    idx = np.flatnonzero(ok)
    fronts: list[np.ndarray] = []
    if 0 < len(idx) <= 2000:
        d = domination_matrix(v[idx])
        dominated_by = d.sum(axis=0)
        remaining = np.ones(len(idx), dtype=bool)
        while remaining.any():
            current = np.flatnonzero(remaining & (dominated_by == 0))
            fronts.append(idx[current])
            remaining[current] = False
            dominated_by = dominated_by - d[current].sum(axis=0)
    elif len(idx):
        rest = idx
        while len(rest):
            front = rest[pareto_front(v[rest])]
            fronts.append(front)
            rest = np.setdiff1d(rest, front, assume_unique=True)
    bad = np.flatnonzero(~ok)
    if len(bad):
        fronts.append(bad)
    return fronts


def pareto_front(values: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the non-dominated finite rows. Equal rows are all kept.

    Distinct rows are visited in lexicographic order, where a row's dominators all
    come before it: 2 objectives need one running minimum (O(n log n)); more are
    checked against the front found so far (O(n * front size)).
    """
    v = _as_values(values)
    idx = np.flatnonzero(feasible(v))
    if not len(idx):
        return idx
    uniq, inverse = np.unique(v[idx], axis=0, return_inverse=True)    # lexicographically sorted
    inverse = inverse.reshape(-1)
    m = uniq.shape[1]
    if m == 1:
        keep = np.zeros(len(uniq), dtype=bool)
        keep[0] = True
    elif m == 2:
        # a distinct row is dominated iff an earlier one has a second value no larger
        earlier_min = np.minimum.accumulate(np.concatenate([[np.inf], uniq[:-1, 1]]))
        keep = uniq[:, 1] < earlier_min
    else:
        keep = np.zeros(len(uniq), dtype=bool)
        front = np.empty((0, m))
        for i, p in enumerate(uniq):
            if len(front) and ((front <= p).all(axis=1)).any():    # distinct, so <= everywhere is dominance
                continue
            keep[i] = True
            front = np.vstack([front, p])
    return idx[keep[inverse]]


def crowding_distance(values: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row within its set (boundary rows get +inf)."""
    v = _as_values(values)
    n, m = v.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, math.inf)
    for j in range(m):
        order = np.argsort(v[:, j], kind="stable")
        col = v[order, j]
        dist[order[0]] = dist[order[-1]] = math.inf
        span = col[-1] - col[0]
        if span > 0 and math.isfinite(span):
            dist[order[1:-1]] += (col[2:] - col[:-2]) / span
    return dist


# ----------------------------------------------------------------------------- hypervolume
def hypervolume(values: np.ndarray, ref: np.ndarray) -> float:
    """Volume dominated by the rows and bounded by the reference point ``ref`` (minimisation).

    Rows not strictly better than ``ref`` in every objective add nothing; failed
    rows add nothing. Exact (see the module text for the algorithms).
    """
    v = _as_values(values)
    ref = np.asarray(ref, dtype=float).reshape(-1)
    if v.shape[1] != len(ref):
        raise ValueError(f"reference point has {len(ref)} objectives, values have {v.shape[1]}")
    if not np.isfinite(ref).all():
        raise ValueError("the reference point must be finite")
    pts = _inside(v, ref)
    if not len(pts):
        return 0.0
    return float(_hv(pts, ref))


def hypervolume_improvement(front: np.ndarray, candidates: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """How much each candidate row alone would add to the hypervolume of ``front``."""
    f = _inside(_as_values(front), np.asarray(ref, dtype=float)) if len(front) else \
        np.empty((0, len(ref)))
    ref = np.asarray(ref, dtype=float).reshape(-1)
    c = _as_values(candidates)
    if len(ref) == 2:
        return _hvi2(f, c, ref)
    out = np.zeros(len(c))
    for i, p in enumerate(c):
        if not (np.isfinite(p).all() and (p < ref).all()):
            continue
        box = float(np.prod(ref - p))
        if len(f):
            limited = _inside(np.maximum(f, p), ref)
            box -= _hv(limited, ref) if len(limited) else 0.0
        out[i] = max(box, 0.0)
    return out


def _hvi2(front: np.ndarray, cands: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Two objectives, every candidate at once: the front's staircase splits [-inf, ref_x] into strips
    (left of its first point: nothing dominated; from its j-th point to the next: dominated above y_j);
    a candidate (x, y) adds, in each strip it covers, the strip's width times the height between y and
    what the front already dominates there (or ref_y)."""
    f = front[np.argsort(front[:, 0], kind="stable")]           # x ascending, so y descending
    edges = np.concatenate([[-np.inf], f[:, 0], [ref[0]]])       # strip j is [edges[j], edges[j+1])
    tops = np.concatenate([[ref[1]], f[:, 1]])                   # undominated up to here in strip j
    ok = np.isfinite(cands).all(axis=1) & (cands < ref).all(axis=1)
    x = np.where(ok, cands[:, 0], ref[0])[:, None]
    y = np.where(ok, cands[:, 1], ref[1])[:, None]
    width = np.clip(np.minimum(edges[1:], ref[0]) - np.maximum(edges[:-1], x), 0.0, None)
    height = np.clip(np.minimum(tops, ref[1]) - y, 0.0, None)
    return np.where(ok, (width * height).sum(axis=1), 0.0)


def reference_point(values: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """A reference point just worse than the worst finite value of each objective.

    ``max + margin * (max - min)``; where an objective does not vary, ``max + margin * |max|``
    (or ``+ margin`` at 0). Fix it once per study so hypervolumes stay comparable.
    """
    v = _as_values(values)
    v = v[feasible(v)]
    if not len(v):
        raise ValueError("no finite values to place a reference point")
    hi, lo = v.max(axis=0), v.min(axis=0)
    span = hi - lo
    pad = np.where(span > 0, span, np.where(hi != 0, np.abs(hi), 1.0)) * margin
    return hi + pad


def _inside(v: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Unique non-dominated finite rows strictly better than ref in every objective."""
    v = v[feasible(v)]
    v = v[(v < ref).all(axis=1)]
    if not len(v):
        return v
    v = np.unique(v, axis=0)
    return v[pareto_front(v)]


def _hv(pts: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of unique non-dominated points strictly inside ref."""
    m = pts.shape[1]
    if m == 1:
        return float(ref[0] - pts[:, 0].min())
    if m == 2:
        return _hv2(pts, ref)
    if m == 3:
        return _hv3(pts, ref)
    return _wfg(pts, ref)


def _hv2(pts: np.ndarray, ref: np.ndarray) -> float:
    p = pts[np.lexsort((pts[:, 1], pts[:, 0]))]
    total, best_y = 0.0, ref[1]
    xs = np.append(p[1:, 0], ref[0])
    for (x, y), x_next in zip(p, xs):
        best_y = min(best_y, y)
        total += (x_next - x) * (ref[1] - best_y)
    return total


def _hv3(pts: np.ndarray, ref: np.ndarray) -> float:
    p = pts[np.argsort(pts[:, 2], kind="stable")]
    z = np.append(p[1:, 2], ref[2])
    total = 0.0
    for i in range(len(p)):
        depth = z[i] - p[i, 2]
        if depth > 0:
            total += depth * _hv2(p[:i + 1, :2], ref[:2])
    return total


def _wfg(pts: np.ndarray, ref: np.ndarray) -> float:
    if pts.shape[1] <= 3:
        return _hv(pts, ref)
    # Points in decreasing order of the last objective: every later point is no worse than
    # p_i in it, so the limit set max(later, p_i) shares p_i's last value and its volume is
    # (ref_m - p_i,m) times an (m-1)-dimensional one (WFG's dimension reduction).
    p = pts[np.argsort(-pts[:, -1], kind="stable")]
    total = 0.0
    for i in range(len(p)):
        depth = ref[-1] - p[i, -1]
        face = float(np.prod(ref[:-1] - p[i, :-1]))
        rest = p[i + 1:, :-1]
        if len(rest):
            limited = _inside(np.maximum(rest, p[i, :-1]), ref[:-1])
            if len(limited):
                face -= _wfg(limited, ref[:-1])
        total += depth * face
    return total
