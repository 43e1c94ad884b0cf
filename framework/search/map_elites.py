"""MAP-Elites with Exprimo's placement descriptors, made generic.

The search keeps a grid archive: each cell holds the best point (the elite)
among those whose *descriptors* fall in that cell. Each step mutates a batch of
elites picked uniformly from the archive, so the search keeps many kinds of
solutions alive instead of converging on one (Mouret and Clune, 2015).

Descriptors come from a *sequence* of knobs, read in order (by default the
largest repeated knob family, e.g. ``device_0 .. device_49``, else every
categorical knob): for a placement, the devices of the layers.
  distinct  how many different values the sequence uses (devices used), 1..min(L, V)
  jumps     how many times consecutive knobs change value (device-to-device
            transfers along the chain), 0..L-1, binned into ``jump_bins`` bins
  mode      the most frequent value (the main device), one bin per value
Exprimo's MAP-Elites used the main device, the devices used and the jumps
along the graph's edges (binned in 10); here jumps run along the knob order,
which is the layer order of a placement family.

Children: with probability ``crossover_rate`` a one-point crossover of two
elites, else a copy of one; then, with probability ``segment_rate``, a run of
consecutive sequence knobs set to one value (Exprimo's zone mutation: a block
of layers moved to one device), else a per-gene mutation. The start population
is ``initial_size`` random points plus (``include_uniform``) every sequence with
one value throughout (all layers on one device), the trivial placements.

A custom descriptor can replace the built-in ones: ``MapElites(space,
descriptor=f, shape=(a, b))`` with ``f(codes) -> (n, d)`` integer cells.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .base import STEP_MAX, Algorithm, Option, OptionError
from .operators import LEVEL_MOVE_DOC, LEVEL_MOVES, crossover, mutate, segment_mutation
from ..values import value_key

DESCRIPTORS = ("distinct", "jumps", "mode")


class MapElites(Algorithm):
    name = "map_elites"
    uses_initial = True
    OPTIONS = {
        "batch": Option("int", 16, "children per step (at most 100,000)", min=1, max=STEP_MAX),
        "initial_size": Option("int", 32, "random start points (plus the uniform sequences) (at most 100,000)",
                               min=1, max=STEP_MAX),
        "sequence": Option("names", None, "the knobs read by the descriptors, in order: knob names and "
                                          "repeated knobs' names (one stands for its members in order) (null: the largest family, else every categorical "
                                          "knob)", nullable=True),
        "descriptors": Option("names", ["distinct", "jumps"], "grid axes, from distinct (values used), jumps, "
                                                              "mode (most frequent value)", choices=DESCRIPTORS),
        "jump_bins": Option("int", 10, "bins of the jumps axis (at most one per possible count)", min=1),
        "crossover_rate": Option("float", 0.4, "probability that a child crosses two elites", min=0, max=1),
        "mutation_rate": Option("float", None, "probability that each knob mutates (null: 1 / varying knobs)",
                                min=0, max=1, nullable=True),
        "segment_rate": Option("float", 0.1, "probability of a segment mutation instead of per-gene mutation",
                               min=0, max=1),
        "segment_length": Option("float", 5.0, "mean length of a mutated segment", min=1),
        "include_uniform": Option("bool", True, "start with every one-value sequence (all on one device)"),
        "level_move": Option("str", "mixed", LEVEL_MOVE_DOC, choices=LEVEL_MOVES),
        "step": Option("float", 0.1, "continuous knobs: standard deviation of a mutation in the unit cube",
                       min=1e-9),
    }

    def __init__(self, space, m: int = 1, seed: int | None = 0, initial=None,
                 descriptor: Callable[[np.ndarray], np.ndarray] | None = None,
                 shape: tuple[int, ...] | None = None, **settings):
        if (descriptor is None) != (shape is None):
            raise ValueError("map_elites: give both descriptor and shape, or neither")
        self._custom = (descriptor, tuple(int(s) for s in shape)) if descriptor is not None else None
        super().__init__(space, m, seed, initial, **settings)

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        self.elites: dict[tuple[int, ...], tuple[np.ndarray, float]] = {}
        self._started = False
        if self._custom is not None:
            self.describe, self.shape = self._custom
            self.members = np.empty(0, dtype=int)
            self._same_levels = False
            return
        self._check_descriptors()
        self.members = self._sequence()
        knobs = [self.space.knobs[j] for j in self.members]
        ids: dict[tuple, int] = {}
        self._lut = []
        for k in knobs:
            self._lut.append(np.array([ids.setdefault(value_key(v), len(ids)) for v in k.levels], dtype=np.int64))
        self._n_values = len(ids)
        L = len(self.members)
        self._jump_bins = min(self.o.jump_bins, L)
        axes = {"distinct": min(L, self._n_values), "jumps": self._jump_bins, "mode": self._n_values}
        self.shape = tuple(axes[d] for d in self.o.descriptors)
        first = knobs[0].levels
        self._same_levels = all(len(k.levels) == len(first) and
                                all(value_key(a) == value_key(b) for a, b in zip(k.levels, first)) for k in knobs)
        self.describe = self._describe

    def _check_descriptors(self) -> None:
        names = self.o.descriptors
        if not names:
            raise OptionError("descriptors", "is empty; the grid needs at least one axis",
                              f"name one or more of {', '.join(DESCRIPTORS)}")
        twice = [d for i, d in enumerate(names) if d in names[:i]]
        if twice:
            raise OptionError("descriptors", f"'{twice[0]}' is named twice; each axis of the grid is one "
                                             f"descriptor", f"e.g. {', '.join(dict.fromkeys(names))}")

    def _sequence(self) -> np.ndarray:
        space = self.space
        families = space.families()
        names = self.o.sequence
        if names:
            given = list(names)
            # a repeated knob's name stands for its members in order, alone or among other knobs
            names = [m for n in given for m in (families[n] if n in families else [n])]
            twice = [n for i, n in enumerate(names) if n in names[:i]]
            if twice:
                via = [g for g in given if g in families and twice[0] in families[g]]
                raise OptionError("sequence", f"'{twice[0]}' is named twice"
                                              f"{f' (also as a member of the repeated knob {via[0]!r})' if via and twice[0] != via[0] else ''}"
                                              f"; each knob is one place of the sequence",
                                  "name each knob once, in order" if not via else
                                  f"name '{via[0]}' or its members, not both")
            missing = [n for n in names if n not in space.names]
            if missing:
                raise OptionError("sequence", f"'{missing[0]}' is neither a knob nor a repeated knob of the "
                                              f"space", f"knobs: {', '.join(space.names[:12])}"
                                                        f"{' ...' if len(space.names) > 12 else ''}")
            bad = [n for n in names if not space[n].finite]
            if bad:
                raise OptionError("sequence", f"knob '{bad[0]}' is continuous; the descriptors need finite knobs")
            if len(names) < 2:
                family = max(families.items(), key=lambda f: len(f[1]), default=None)
                raise OptionError("sequence", f"names 1 knob ('{names[0]}'); the descriptors (values used, "
                                              f"jumps) read a sequence of at least 2",
                                  f"name a repeated knob (e.g. '{family[0]}' for {', '.join(family[1][:3])}"
                                  f"{' ...' if len(family[1]) > 3 else ''}) or 2 or more knobs in order"
                                  if family else "name 2 or more finite knobs in order")
        elif families:
            names = max(families.values(), key=len)
        else:
            names = [k.name for k in space.knobs if k.finite and k.kind == "categorical" and k.size > 1]
        if len(names) < 2:
            raise ValueError("map_elites needs a sequence of at least 2 finite knobs for its descriptors "
                             "(values used, jumps): the space has no repeated knob and fewer than 2 "
                             "categorical knobs; name the knobs in options.sequence")
        return np.array([space.position(n) for n in names], dtype=int)

    # ------------------------------------------------------------------ descriptors
    def value_ids(self, codes: np.ndarray) -> np.ndarray:
        """(n, L) ids of the sequence's values (equal values share an id across knobs)."""
        codes = np.atleast_2d(codes)
        return np.column_stack([lut[codes[:, j].astype(np.int64)] for lut, j in zip(self._lut, self.members)])

    def _describe(self, codes: np.ndarray) -> np.ndarray:
        ids = self.value_ids(codes)
        n, L = ids.shape
        cols = []
        for d in self.o.descriptors:
            if d == "distinct":
                distinct = 1 + (np.diff(np.sort(ids, axis=1), axis=1) != 0).sum(axis=1)
                cols.append(distinct - 1)
            elif d == "jumps":
                jumps = (ids[:, 1:] != ids[:, :-1]).sum(axis=1)
                cols.append(jumps * self._jump_bins // L)
            else:
                counts = np.zeros((n, self._n_values), dtype=np.int64)
                np.add.at(counts, (np.repeat(np.arange(n), L), ids.reshape(-1)), 1)
                cols.append(np.argmax(counts, axis=1))
        return np.column_stack(cols).astype(np.int64)

    # ------------------------------------------------------------------ archive
    @property
    def archive(self) -> list[tuple[tuple[int, ...], np.ndarray, float]]:
        """(cell, code, value) of every elite, by cell."""
        return [(cell, code.copy(), value) for cell, (code, value) in sorted(self.elites.items())]

    @property
    def coverage(self) -> float:
        """Fraction of the grid's cells that hold an elite."""
        return len(self.elites) / float(np.prod(self.shape))

    def _insert(self, codes: np.ndarray, values: np.ndarray) -> None:
        v = values[:, 0]
        ok = np.isfinite(v)
        if not ok.any():
            return
        cells = np.asarray(self.describe(codes[ok]), dtype=np.int64).reshape(int(ok.sum()), -1)
        for cell, code, value in zip(map(tuple, cells.tolist()), codes[ok], v[ok]):
            old = self.elites.get(cell)
            if old is None or value < old[1]:
                self.elites[cell] = (code.copy(), float(value))

    def observe(self, codes, values):
        self._insert(codes, values)

    # ------------------------------------------------------------------ steps
    def propose(self, n):
        if not self._started:
            self._started = True
            start = self.initial_points(self.o.initial_size)
            if self.o.include_uniform and self._custom is None and self._same_levels:
                uniform = np.repeat(self.space.random(self.rng, 1), self.space.knobs[self.members[0]].size, axis=0)
                for level in range(len(uniform)):
                    uniform[level, self.members] = level
                start = np.vstack([start, uniform])
            return start
        if not self.elites:
            fresh = self.fresh_random(self.o.batch)
            if not len(fresh):
                self.reason = "no feasible point and no new random point"
                return None
            return fresh
        return self._children(self.room(self.o.batch))

    def update(self, codes, values):
        self._insert(codes, values)

    def _children(self, n: int) -> np.ndarray:
        pool = [code for code, _ in self.elites.values()]
        pick = self.rng.integers(0, len(pool), size=(n, 2))
        a = np.array([pool[i] for i in pick[:, 0]])
        b = np.array([pool[i] for i in pick[:, 1]])
        crossed = self.rng.random(n) < self.o.crossover_rate
        kids = np.where(crossed[:, None], crossover(a, b, self.rng, "one_point"), a)
        return self.vary_known(self._mutate(kids), self._mutate)

    def _mutate(self, kids: np.ndarray) -> np.ndarray:
        seg = np.zeros(len(kids), dtype=bool)
        if self._same_levels and len(self.members) > 1:
            seg = self.rng.random(len(kids)) < self.o.segment_rate
        out = kids.copy()
        if seg.any():
            out[seg] = segment_mutation(self.space, kids[seg], self.members, self.rng, self.o.segment_length)
        rest = ~seg
        if rest.any():
            out[rest] = mutate(self.space, kids[rest], self.rng, self.o.mutation_rate, self.o.level_move, self.o.step)
        return out
