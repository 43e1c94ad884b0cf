"""Shared machinery of sampling plugins: new points only, seeded, never the whole space in memory.

A sampler yields each point at most once. Its `Run(count)` returns up to
``count`` new codes, fewer (possibly none) when it has nothing more to give.
Subclasses only say how to draw candidates; this base removes points already
given and stops when a finite space or design is used up.
"""
from __future__ import annotations

import warnings

import numpy as np

from .space import DesignSpace

PERMUTATION_LIMIT = 2_000_000   # spaces up to this size are shuffled as a whole


class Sampler:
    """Base of the built-in sampling plugins (GetObject(framework) -> a subclass)."""

    name = "sampler"

    def __init__(self, framework):
        self.framework = framework
        self.options = dict(framework.section("sampling"))
        self.space: DesignSpace | None = None
        self.rng: np.random.Generator | None = None
        self._given: set[str] = set()
        self.exhausted = False

    def Initialize(self) -> None:
        self.space = self.framework.space
        # sampling.seed stands in for framework.seed in the sampler's stream: its documented default written
        # out (sampling.seed equal to framework.seed) gives the points of leaving it unset
        self.rng = self.framework.rng(f"sampling:{self.name}", seed=self.options.get("seed"))
        self._given = set()
        self.exhausted = False
        self.setup()

    def setup(self) -> None:
        """Prepare the sequence (called by Initialize once the space is known)."""

    def candidates(self, n: int) -> np.ndarray | None:
        """About ``n`` candidate codes, or None when the sequence is finished."""
        raise NotImplementedError

    def Run(self, count: int) -> np.ndarray:
        k = len(self.space)
        if self.space.finite:
            # never ask for more points than a finite space has left: a step of 1,000,000 lhs points on a
            # 4-point space drew and swapped a hypercube of a million points (quadratic), sobol ran for minutes
            left = max(self.space.size - self.given(), 0)
            if count > 0 and left == 0:
                self.exhausted = True
            count = min(count, left)
        out: list[np.ndarray] = []
        got = 0
        dry_rounds = 0
        while got < count and not self.exhausted:
            cand = self.candidates(count - got)
            if cand is None:
                self.exhausted = True
                break
            cand = np.atleast_2d(np.asarray(cand, dtype=float)).reshape(-1, k)
            fresh = []
            for row, key in zip(cand, self.space.keys(cand)):
                if key not in self._given:
                    self._given.add(key)
                    fresh.append(row)
                    if got + len(fresh) == count:
                        break
            if fresh:
                out.append(np.array(fresh))
                got += len(fresh)
                dry_rounds = 0
            else:
                dry_rounds += 1
                if dry_rounds >= 50:
                    self.exhausted = self.on_dry()
                    dry_rounds = 0
        return np.vstack(out) if out else np.empty((0, k))

    def on_dry(self) -> bool:
        """Candidates keep repeating points already given: True ends the sequence."""
        return True

    def given(self) -> int:
        return len(self._given)


class RandomSampler(Sampler):
    """Uniform random points without replacement (log-uniform on log ranges)."""

    name = "random"

    def setup(self) -> None:
        self._perm = None
        self._pos = 0
        # an integer log range is drawn log-uniformly (Knob.log_cells), which a shuffle of the space's
        # points (uniform over them) is not: such a space is drawn through the unit cube until the draws
        # keep repeating, then (a finite space, shuffled) the points not given yet fill it up
        self._weighted = space_has_log_cells(self.space)

    def candidates(self, n):
        space = self.space
        if self._weighted:
            if space.finite and self.given() >= space.size:
                return None
            return space.random(self.rng, max(n, 1))
        if space.finite and space.size <= PERMUTATION_LIMIT:
            if self._perm is None:
                self._perm = self.rng.permutation(space.size)
            if self._pos >= space.size:
                return None
            idx = self._perm[self._pos:self._pos + n]
            self._pos += len(idx)
            return space.point_at(idx)
        if space.finite and space.size < 2 ** 62:
            if self.given() >= space.size:
                return None
            return space.point_at(self.rng.integers(0, space.size, size=max(n, 1)))
        return space.random(self.rng, max(n, 1))

    def on_dry(self) -> bool:
        if self._weighted and self.space.finite and self.space.size <= PERMUTATION_LIMIT:
            self._weighted = False   # the rest from the shuffle
            return False
        # a shuffled space says itself when it is used up (candidates() returns None): until then every round
        # reads entries of the permutation not read before, so rounds of points already given (by the
        # low-discrepancy sequence this fills in for) are progress, not a sign of the end
        return self._perm is None


def space_has_log_cells(space: DesignSpace) -> bool:
    return any(k.log_cells for k in space.knobs)


class UnitSampler(Sampler):
    """Points from a sequence on the unit cube, mapped to the knobs' levels.

    In a finite space a low-discrepancy sequence may keep landing on points
    already given; the rest is then filled with random new points.
    """

    def setup(self) -> None:
        self._fallback: RandomSampler | None = None
        self._varying = [j for j, k in enumerate(self.space.knobs) if not (k.finite and k.size == 1)]

    def unit_points(self, n: int) -> np.ndarray:
        raise NotImplementedError

    def candidates(self, n):
        if self._fallback is not None:
            return self._fallback.candidates(n)
        k = len(self.space)
        if not self._varying:
            return None if self.given() else np.zeros((1, k))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy's balance warnings for n not a power of 2
            u_var = self.unit_points(n)
        u = np.full((len(u_var), k), 0.5)
        u[:, self._varying] = u_var
        return self.space.from_unit(u)

    def on_dry(self) -> bool:
        if self._fallback is not None:
            return self._fallback.on_dry()
        if not self.space.finite:
            return True
        self.framework.log.info(f"sampling {self.name}: the sequence repeats points; filling with random new points")
        fb = RandomSampler(self.framework)
        fb.space, fb.rng, fb._given = self.space, self.rng, self._given
        fb.setup()
        fb._weighted = False   # the points not given yet, straight from the shuffle
        self._fallback = fb
        return False


class DesignSampler(Sampler):
    """A finite design computed once (factorial designs); its points in design order."""

    def setup(self) -> None:
        self._design = np.atleast_2d(self.design()).reshape(-1, len(self.space))
        self._pos = 0

    def design(self) -> np.ndarray:
        raise NotImplementedError

    def candidates(self, n):
        if self._pos >= len(self._design):
            return None
        out = self._design[self._pos:self._pos + n]
        self._pos += len(out)
        return out
