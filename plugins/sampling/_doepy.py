"""Adapter of doepy's classical designs to the design space.

doepy maps its coded levels to the values it is given, but under pandas 3 that
mapping silently does nothing for full factorial, fractional factorial,
Plackett-Burman and Box-Behnken (they return the codes 0, 1, 2 instead of
the values asked for). So doepy is always handed identity level lists
([0, 1], [0, 1, 2], [0 .. n-1]): whichever pandas runs, what comes back is a
level code, and the mapping to knob values happens here, where it is tested.
"""
from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

from framework.errors import DeffeError
from framework.sampling import DesignSampler


def _level_code(knob, position: float) -> float:
    """Code of a knob at a position in [0, 1] of its range (0 = low end, 1 = high end).

    A finite knob takes the level nearest the position, a tie to the lower one (the middle of 4 values is
    the 2nd, as the scenario mapping does; round() sent ties to the even index: the 3rd of 4, the 3rd of
    6). A log range of evenly spaced levels (an integer range with 'log' and no step) is placed along the
    log of its values, as it is sampled: the middle of 1 to 1024 is 32, not 513."""
    position = float(np.clip(position, 0.0, 1.0))
    if knob.finite:
        if knob.log_cells:
            lv = knob.levels
            first, last = np.log(lv.low), np.log(lv.low + (lv.n - 1) * lv.step)
            at = (float(np.exp(first + position * (last - first))) - lv.low) / lv.step
        else:
            at = position * (knob.size - 1)
        # nearest level, ties down; the tolerance keeps 1.5000000000000002 (a position as a quotient) a tie
        return float(min(max(int(np.ceil(at - 0.5 - 1e-9)), 0), knob.size - 1))
    return float(knob.at_position(position))


class DoepySampler(DesignSampler):
    kind = ""          # full_fact | frac_fact_res | plackett_burman | box_behnken | central_composite
    min_factors = 1

    @property
    def name(self):
        return self.kind

    def build(self, doepy_build, factors):
        raise NotImplementedError

    def design(self) -> np.ndarray:
        from doepy import build as doepy_build

        space = self.space
        varying = [j for j, k in enumerate(space.knobs) if not (k.finite and k.size == 1)]
        if len(varying) < self.min_factors:
            raise DeffeError(f"{self.kind} needs at least {self.min_factors} knobs that take several values; "
                             f"exploration '{self.framework.explore.name}' has {len(varying)}",
                             file=self.framework.config.data.get("__origin__"), where="sampling.plugin",
                             hint="choose another sampling plugin")
        self._varying = varying
        factors = {f"f{j}": lv for j, lv in zip(varying, self.factor_levels(varying))}
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                frame = self.build(doepy_build, factors)
        except DeffeError:
            raise
        except Exception as e:
            raise DeffeError(f"{self.kind} design failed: {type(e).__name__}: {e}",
                             file=self.framework.config.data.get("__origin__"), where="sampling") from None
        coded = frame[list(factors)].to_numpy(dtype=float)
        out = np.zeros((len(coded), len(space)))
        for col, j in enumerate(varying):
            out[:, j] = [self.to_code(space.knobs[j], c, col) for c in coded[:, col]]
        return self.arrange(out)

    def arrange(self, out: np.ndarray) -> np.ndarray:
        """The design's points as given to the exploration: every value of a finite scenario knob in the
        design, and a prefix cut short by the budget spread over them (`_cover_scenarios`)."""
        return _cover_scenarios(out, self.space, self._varying)

    def factor_levels(self, varying):
        raise NotImplementedError

    def to_code(self, knob, coded, col):
        raise NotImplementedError


class TwoLevel(DoepySampler):
    """Fractional factorial / Plackett-Burman: each knob at its low or high end."""

    min_factors = 2

    def factor_levels(self, varying):
        return [[0, 1] for _ in varying]

    def to_code(self, knob, coded, col):
        return _level_code(knob, coded)


class FullFactorial(DoepySampler):
    """Every level of every knob. The points come in a spread order, not doepy's (first knob fastest, the
    scenarios, last in the space, slowest: a design cut short by the budget held one scenario value and
    one value of most knobs): point p is the design's cell that the p-th point of a Halton sequence over
    the knobs' levels falls in (cells met again skipped), the scenarios on its first dimensions (base 2, 3,
    ...: two scenario values alternate), so every prefix spreads over the scenario values and the knobs.
    The design's set of points is doepy's; cells the sequence has not met after 8 times the design's
    size follow in doepy's order."""

    kind = "full_fact"

    def arrange(self, out: np.ndarray) -> np.ndarray:
        return out[_spread_order(out, self._varying, [j for j in self._varying if self.space.knobs[j].scenario])]

    def factor_levels(self, varying):
        levels = int(self.options.get("levels") or 3)
        self._levels = [self.space.knobs[j].size if self.space.knobs[j].finite else levels for j in varying]
        return [list(range(n)) for n in self._levels]

    def to_code(self, knob, coded, col):
        if knob.finite:
            return float(int(round(coded)))
        return _level_code(knob, coded / (self._levels[col] - 1))

    def build(self, doepy_build, factors):
        return doepy_build.full_fact(factors)


class FractionalFactorial(TwoLevel):
    kind = "frac_fact_res"

    def build(self, doepy_build, factors):
        res = int(self.options.get("resolution") or 3)
        if len(factors) <= res:
            # too few knobs for a fraction of this resolution: every corner is the design
            return doepy_build.full_fact(factors)
        return doepy_build.frac_fact_res(factors, res=res)


class PlackettBurman(TwoLevel):
    kind = "plackett_burman"

    def build(self, doepy_build, factors):
        return doepy_build.plackett_burman(factors)


class BoxBehnken(DoepySampler):
    """Each knob at its low end, middle or high end (three levels)."""

    kind = "box_behnken"
    min_factors = 3

    def factor_levels(self, varying):
        return [[0, 1, 2] for _ in varying]

    def to_code(self, knob, coded, col):
        return _level_code(knob, coded / 2.0)

    def build(self, doepy_build, factors):
        return doepy_build.box_behnken(factors, center=max(1, int(self.options.get("center") or 1)))


class CentralComposite(DoepySampler):
    """Factorial corners, axial points and the centre; axial points beyond the range are clipped."""

    kind = "central_composite"
    min_factors = 2

    def factor_levels(self, varying):
        return [[0.0, 1.0] for _ in varying]

    def to_code(self, knob, coded, col):
        return _level_code(knob, coded)

    def build(self, doepy_build, factors):
        c = max(1, int(self.options.get("center") or 1))
        return doepy_build.central_composite(factors, center=(c, c), face=self.options.get("face") or "ccf")


def _spread_order(codes: np.ndarray, varying: list[int], first: list[int]) -> np.ndarray:
    """A permutation of the rows of a full factorial design (`FullFactorial`): the order in which a Halton
    sequence over the levels of the columns ``varying`` (those in ``first`` on its first dimensions) meets
    the rows' cells, then the rows it did not meet."""
    n = len(codes)
    if n <= 1 or not varying:
        return np.arange(n)
    dims = list(first) + [j for j in varying if j not in first]
    levels = [np.unique(codes[:, j], return_inverse=True) for j in dims]
    radices = np.array([len(u) for u, _ in levels])
    cell = np.zeros(n, dtype=np.int64)
    for (_u, inv), r in zip(levels, radices):
        cell = cell * r + inv.reshape(-1)
    row_of = {int(c): i for i, c in enumerate(cell)}
    from scipy.stats import qmc
    halton = qmc.Halton(len(dims), scramble=False)
    order: list[int] = []
    taken = np.zeros(n, dtype=bool)
    drawn = 0
    while len(order) < n and drawn < 8 * n:
        u = halton.random(min(max(n, 64), 8 * n - drawn))
        drawn += len(u)
        at = np.minimum((u * radices).astype(np.int64), radices - 1)
        flat = np.zeros(len(u), dtype=np.int64)
        for k, r in enumerate(radices):
            flat = flat * r + at[:, k]
        for c in flat:
            i = row_of.get(int(c))
            if i is not None and not taken[i]:
                taken[i] = True
                order.append(i)
    return np.array(order + [int(i) for i in np.flatnonzero(~taken)], dtype=int)


def _cover_scenarios(codes: np.ndarray, space, varying: list[int]) -> np.ndarray:
    """The rows of a two- or three-level design (all but `FullFactorial`) with every value of each finite
    scenario knob. Such a design puts a knob at its ends (and middle), so a scenario of 3 or more values
    missed its other values, the values the exploration must serve. Each scenario value goes with the
    design level nearest it (ties to the lower); the rows at a level take the level's own value, then the
    others of its group in turn, so the design knobs keep their structure and the scenario its low/high
    split. The rows are then ordered round robin over the scenario values met (rows of one value keep
    their order), so a design cut short by the budget still holds every scenario value."""
    scen = [j for j in varying if space.knobs[j].scenario and space.knobs[j].finite]
    if not scen or len(codes) <= 1:
        return codes
    out = codes.copy()
    for j in scen:
        n = space.knobs[j].size
        col = codes[:, j]
        levels = np.unique(col)
        if len(levels) >= n:
            continue
        owner = np.abs(np.arange(n)[:, None] - levels[None, :]).argmin(axis=1)
        for li, lv in enumerate(levels):
            group = [float(lv)] + [float(v) for v in np.flatnonzero(owner == li) if v != lv]
            rows = np.flatnonzero(col == lv)
            out[rows, j] = [group[k % len(group)] for k in range(len(rows))]
    queues: dict[tuple, list[int]] = {}
    for i, row in enumerate(out[:, scen]):
        queues.setdefault(tuple(row), []).append(i)
    order: list[int] = []
    lists = list(queues.values())
    for k in range(max(len(q) for q in lists)):
        order.extend(q[k] for q in lists if k < len(q))
    return out[np.array(order, dtype=int)]
