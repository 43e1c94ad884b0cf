"""Variation operators on codes of any design space: neighbourhoods, mutation, crossover.

A *gene* is one knob. Finite knobs change level: uniformly to any other level,
or (``level_move="adjacent"``) one level up or down when the levels are ordered
(ordinal, integer and discretised real knobs; categorical knobs always move
uniformly, their order means nothing), or ``"mixed"``: an ordered knob takes
either move with probability 1/2 (small creeps to fine-tune, resets to jump). Continuous knobs move in the unit cube
(`Knob.to_unit` / `from_unit`, so log ranges move log-uniformly): a Gaussian step
of standard deviation ``step`` for mutation, exactly +-``step`` for neighbourhoods,
reflected at the bounds. Knobs with a single level never change.
"""
from __future__ import annotations

import numpy as np

from ..space import DesignSpace, Knob

LEVEL_MOVES = ("uniform", "adjacent", "mixed")
LEVEL_MOVE_DOC = ("finite knobs: uniform (any other level), adjacent (an ordered knob moves one level) "
                  "or mixed (either, half the time)")
ORDERED_KINDS = ("ordinal", "integer", "real")
_TOP = np.nextafter(1.0, 0.0)


def is_ordered(knob: Knob) -> bool:
    return knob.finite and knob.kind in ORDERED_KINDS


def varying_knobs(space: DesignSpace) -> np.ndarray:
    """Indices of the knobs that can change (more than one level, or a real range)."""
    return np.array([j for j, k in enumerate(space.knobs)
                     if (k.finite and k.size > 1) or (not k.finite and k.high > k.low)], dtype=int)


def _reflect(u: np.ndarray) -> np.ndarray:
    """Fold values into [0, 1) by reflection at 0 and 1."""
    u = np.mod(u, 2.0)
    u = np.where(u > 1.0, 2.0 - u, u)
    return np.clip(u, 0.0, _TOP)


def change_gene(knob: Knob, codes: np.ndarray, rng: np.random.Generator,
                level_move: str = "uniform", step: float = 0.1) -> np.ndarray:
    """New codes for one knob (a column): each differs from the old one where the knob allows."""
    codes = np.asarray(codes, dtype=float)
    n = len(codes)
    if knob.finite:
        size = knob.size
        if size < 2:
            return codes.copy()
        cur = codes.astype(np.int64)
        r = rng.integers(0, size - 1, size=n)
        new = r + (r >= cur)                # uniform over the other levels
        if is_ordered(knob) and level_move in ("adjacent", "mixed"):
            step_ = cur + rng.choice(np.array([-1, 1]), size=n)
            step_ = np.where(step_ < 0, 1, step_)
            step_ = np.where(step_ >= size, size - 2, step_)
            creep = np.ones(n, dtype=bool) if level_move == "adjacent" else rng.random(n) < 0.5
            new = np.where(creep, step_, new)
        return new.astype(float)
    u = knob.to_unit(codes)
    return knob.from_unit(_reflect(u + rng.normal(0.0, step, size=n)))


def mutate(space: DesignSpace, codes: np.ndarray, rng: np.random.Generator, rate: float | None = None,
           level_move: str = "uniform", step: float = 0.1, ensure_change: bool = True) -> np.ndarray:
    """Per-gene mutation: each varying knob changes with probability ``rate`` (default 1/varying).

    With ``ensure_change`` a row that drew no mutation gets one on a random gene,
    so a mutant is never its parent.
    """
    out = np.array(codes, dtype=float, copy=True).reshape(-1, len(space))
    var = varying_knobs(space)
    if not len(var) or not len(out):
        return out
    rate = 1.0 / len(var) if rate is None else rate
    mask = rng.random((len(out), len(var))) < rate
    none = ~mask.any(axis=1) & ensure_change
    mask[np.flatnonzero(none), rng.integers(0, len(var), size=int(none.sum()))] = True
    for col, j in enumerate(var):
        rows = np.flatnonzero(mask[:, col])
        if len(rows):
            out[rows, j] = change_gene(space.knobs[j], out[rows, j], rng, level_move, step)
    return out


def random_neighbour(space: DesignSpace, codes: np.ndarray, rng: np.random.Generator, moves: int = 1,
                     level_move: str = "uniform", step: float = 0.1) -> np.ndarray:
    """Each row with exactly ``moves`` distinct varying knobs changed (fewer if the space has fewer)."""
    out = np.array(codes, dtype=float, copy=True).reshape(-1, len(space))
    var = varying_knobs(space)
    if not len(var):
        return out
    moves = max(1, min(moves, len(var)))
    for i in range(len(out)):
        for j in rng.choice(var, size=moves, replace=False):
            out[i, j] = change_gene(space.knobs[j], out[i:i + 1, j], rng, level_move, step)[0]
    return out


class Neighbours:
    """The one-knob neighbourhood of ``code`` (see `neighbourhood`), numbered 0 .. size-1 without being
    built: knob by knob in config order, each knob's options in `neighbourhood`'s order. `rows` builds only
    the neighbours asked for, so a search can draw a few of a neighbourhood of millions (12 knobs of
    100,001 levels: 1.2 million rows, 115 MB, per move) in memory that does not grow with the levels."""

    def __init__(self, space: DesignSpace, code: np.ndarray, mode: str = "all", step: float = 0.1):
        self.code = np.asarray(code, dtype=float).reshape(-1).copy()
        self.options: list[tuple[int, np.ndarray | None]] = []   # (knob, its values; None: every other level)
        self.ordered: list[bool] = []
        counts = []
        for j in varying_knobs(space):
            knob = space.knobs[j]
            if knob.finite:
                cur = int(self.code[j])
                if mode == "adjacent" and is_ordered(knob):
                    values = np.array([lv for lv in (cur - 1, cur + 1) if 0 <= lv < knob.size], dtype=float)
                else:
                    values = None
            else:
                u = float(knob.to_unit(np.array([self.code[j]]))[0])
                moved = [float(knob.from_unit(np.array([min(max(u + d, 0.0), _TOP)]))[0]) for d in (-step, step)]
                values = np.array([v for v in moved if v != self.code[j]], dtype=float)
            self.options.append((j, values))
            counts.append(knob.size - 1 if values is None else len(values))
            # every other level of an ordered knob: drawn by distance (see `draw`); else uniformly
            self.ordered.append(values is None and is_ordered(knob))
        self.starts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
        self.size = int(self.starts[-1])
        self._sizes = [space.knobs[j].size for j, _ in self.options]

    def _distance_weights(self, w: int) -> np.ndarray:
        """Probabilities of option ``w``'s neighbours under `draw`: a distance d from the current level with
        probability log((d + 1) / d) / log(n + 1) (n: the longer side), either side with probability 1/2,
        renormalised over the levels that exist (a draw past the end is drawn again)."""
        cur, size = int(self.code[self.options[w][0]]), self._sizes[w]
        levels = np.arange(size, dtype=np.int64)
        levels = levels[levels != cur]
        d = np.abs(levels - cur).astype(float)
        p = np.log1p(1.0 / d)
        return p / p.sum()

    def weights(self) -> np.ndarray:
        """The probability of each neighbour (numbered as in `rows`) under one `draw`: each knob 1/knobs,
        shared by its neighbours uniformly, or by distance for every other level of an ordered knob."""
        out = np.empty(self.size)
        knobs = int(np.count_nonzero(np.diff(self.starts)))
        for w in range(len(self.options)):
            a, b = int(self.starts[w]), int(self.starts[w + 1])
            if b > a:
                out[a:b] = (self._distance_weights(w) if self.ordered[w] else 1.0 / (b - a)) / knobs
        return out

    def draw(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` neighbour numbers drawn independently (repeats possible): a knob first, uniformly over
        the knobs that have neighbours, then one of its neighbours. Uniform over all neighbours, a knob of
        1,024 levels took 97% of the draws beside one of 21 levels; a climb changed little else. Every other
        level of an ordered knob is drawn by a log-uniform distance from the current level (half of the
        draws within the square root of the knob's levels), so the climb fine-tunes and still jumps."""
        live = np.flatnonzero(np.diff(self.starts) > 0)
        if not len(live) or count <= 0:
            return np.empty(0, dtype=np.int64)
        w = live[rng.integers(0, len(live), size=count)]
        counts = self.starts[w + 1] - self.starts[w]
        idx = self.starts[w] + np.minimum((rng.random(count) * counts).astype(np.int64), counts - 1)
        for i in np.flatnonzero(np.array([self.ordered[x] for x in w], dtype=bool)):
            x = int(w[i])
            cur, size = int(self.code[self.options[x][0]]), self._sizes[x]
            n = max(cur, size - 1 - cur)
            while True:            # a level past an end is drawn again (the longer side always has one)
                d = max(1, min(int((n + 1.0) ** rng.random()), n))
                level = cur + (d if rng.random() < 0.5 else -d)
                if 0 <= level < size:
                    break
            idx[i] = self.starts[x] + level - (level > cur)
        return idx

    def rows(self, index: np.ndarray) -> np.ndarray:
        """The neighbours numbered ``index`` (in that order), as code rows."""
        index = np.asarray(index, dtype=np.int64).reshape(-1)
        out = np.repeat(self.code[None, :], len(index), axis=0)
        which = np.searchsorted(self.starts, index, side="right") - 1
        offset = index - self.starts[which]
        for w in np.unique(which):
            sel = which == w
            j, values = self.options[w]
            off = offset[sel]
            out[sel, j] = off + (off >= int(self.code[j])) if values is None else values[off]
        return out


def neighbourhood(space: DesignSpace, code: np.ndarray, mode: str = "all", step: float = 0.1) -> np.ndarray:
    """Every point one knob away from ``code`` (built whole: `Neighbours` numbers them without building).

    Finite knobs: every other level (``mode="all"``), or the adjacent levels of an
    ordered knob (``mode="adjacent"``; categorical knobs still offer every level).
    Continuous knobs: +-``step`` in the unit cube, clipped to the range.
    """
    nb = Neighbours(space, code, mode, step)
    return nb.rows(np.arange(nb.size)).reshape(-1, len(space))


def neighbourhood_size(space: DesignSpace, mode: str = "all") -> int:
    """How many points `neighbourhood` gives at most (continuous knobs count 2)."""
    total = 0
    for j in varying_knobs(space):
        k = space.knobs[j]
        total += 2 if not k.finite else (min(2, k.size - 1) if mode == "adjacent" and is_ordered(k) else k.size - 1)
    return total


CROSSOVERS = ("uniform", "one_point")


def crossover(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, kind: str = "uniform") -> np.ndarray:
    """Children of parent rows ``a`` and ``b`` (n, k).

    ``uniform``: each gene from either parent with probability 1/2. ``one_point``:
    the genes before a random cut from ``a``, the rest from ``b``; knobs keep their
    config order, so a repeated knob family (a placement) passes on whole segments.
    """
    a = np.atleast_2d(np.asarray(a, dtype=float))
    b = np.atleast_2d(np.asarray(b, dtype=float))
    n, k = a.shape
    if kind == "uniform":
        return np.where(rng.random((n, k)) < 0.5, a, b)
    if kind == "one_point":
        if k < 2:
            return a.copy()
        cut = rng.integers(1, k, size=n)
        return np.where(np.arange(k)[None, :] < cut[:, None], a, b)
    raise ValueError(f"unknown crossover {kind!r}; choose one of {', '.join(CROSSOVERS)}")


def segment_mutation(space: DesignSpace, codes: np.ndarray, members: np.ndarray,
                     rng: np.random.Generator, mean_length: float = 5.0) -> np.ndarray:
    """Set a run of consecutive knobs of a sequence (``members``, knob indices) to one value.

    For placements this moves a contiguous block of layers to one device at once
    (Exprimo's "zone" mutation). Members must share their levels; the value is a
    level of the first member.
    """
    out = np.array(codes, dtype=float, copy=True).reshape(-1, len(space))
    L = len(members)
    size = space.knobs[members[0]].size
    for i in range(len(out)):
        start = int(rng.integers(0, L))
        length = min(int(rng.geometric(1.0 / max(mean_length, 1.0))), L - start)
        out[i, members[start:start + length]] = float(rng.integers(0, size))
    return out
