"""Adapter of doepy's classical designs to the design space.

doepy maps its coded levels to the values it is given, but under pandas 3 that
mapping silently does nothing for full factorial, fractional factorial,
Plackett-Burman and Box-Behnken (they return the codes 0, 1, 2 instead of
the values asked for). So doepy is always handed identity level lists
([0, 1], [0, 1, 2], [0 .. n-1]): whichever pandas runs, what comes back is a
level code, and the mapping to knob values happens here, where it is tested.
The full factorial, and the fractional factorial and Plackett-Burman designs
doepy (pyDOE) cannot build, are built here with numpy, as the same codes.
"""
from __future__ import annotations

import contextlib
import io
import math
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
    plugin = ""        # the sampling plugin's name, as the user writes it (in messages)
    min_factors = 1

    @property
    def name(self):
        return self.kind

    def build(self, factors: dict):
        """The design over ``factors`` (name -> identity level list): doepy's table or an array of codes."""
        raise NotImplementedError

    def design(self) -> np.ndarray:
        space = self.space
        varying = [j for j, k in enumerate(space.knobs) if not (k.finite and k.size == 1)]
        if len(varying) < self.min_factors:
            need = "one knob that takes" if self.min_factors == 1 else f"{self.min_factors} knobs that take"
            raise DeffeError(f"{self.plugin} needs at least {need} several values; exploration "
                             f"'{self.framework.explore.name}' has {len(varying)}",
                             file=self.origin, where="sampling.plugin",
                             hint="choose another sampling plugin (random, lhs, sobol, factorial), "
                                  "or give more knobs several values")
        self._varying = varying
        factors = {f"f{j}": lv for j, lv in zip(varying, self.factor_levels(varying))}
        self.check_size(len(varying))
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                built = self.build(factors)
        except DeffeError:
            raise
        except Exception as e:
            raise DeffeError(f"the {self.plugin} design over {len(varying)} knobs failed: "
                             f"{type(e).__name__}: {e}".rstrip(": "),
                             file=self.origin, where="sampling.plugin",
                             hint="choose another sampling plugin (random, lhs, sobol, factorial), "
                                  "or change the knobs") from None
        # doepy gives a table, the designs built here an array, both in the order of ``factors``
        coded = built[list(factors)].to_numpy(dtype=float) if hasattr(built, "columns") else np.asarray(built, float)
        out = np.zeros((len(coded), len(space)))
        for col, j in enumerate(varying):
            out[:, j] = self.to_codes(space.knobs[j], coded[:, col], col)
        return self.arrange(out)

    @property
    def origin(self):
        return self.framework.config.data.get("__origin__")

    def to_codes(self, knob, coded: np.ndarray, col: int) -> np.ndarray:
        """The knob's codes of a design column: `to_code` once for each level the column holds."""
        levels, at = np.unique(np.asarray(coded, dtype=float), return_inverse=True)
        return np.array([self.to_code(knob, c, col) for c in levels], dtype=float)[at.reshape(-1)]

    def arrange(self, out: np.ndarray) -> np.ndarray:
        """The design's points as given to the exploration: every value of a finite scenario knob in the
        design, and a prefix cut short by the budget spread over them (`_cover_scenarios`)."""
        return _cover_scenarios(out, self.space, self._varying)

    def factor_levels(self, varying):
        raise NotImplementedError

    def size(self, k: int) -> int | None:
        """The number of points of the design over ``k`` knobs, from the formula of its size (None: small)."""
        return None

    # how the design's size grows, in the error message
    grows = ""

    def check_size(self, k: int) -> None:
        """Refuse, before building it, a design of more than `DESIGN_LIMIT` points (or `DESIGN_CELL_LIMIT`
        codes, its points times its knobs): central_composite built all 2^k corners, 18 knobs in 76 s, 100 knobs
        filled 22 GB until the kernel killed the run without a message."""
        size = self.size(k)
        if size is None:
            return
        shown = f"{size:,}" if size < 10 ** 9 else f"{size:.3g}"
        if size > DESIGN_LIMIT:
            too = f"more than the {DESIGN_LIMIT:,} it builds"
        elif size * k > DESIGN_CELL_LIMIT:
            too = f"{size * k:,} codes with its {k} knobs, more than the {DESIGN_CELL_LIMIT:,} it builds"
        else:
            return
        raise DeffeError(f"the {self.plugin} design has {shown} points ({self.grows.format(k=k)}), {too}",
                         file=self.origin, where="sampling.plugin",
                         hint="use random or lhs (a sample of any size), factorial (every point, one at a time), "
                              "or fewer knobs")

    def to_code(self, knob, coded, col):
        raise NotImplementedError


class TwoLevel(DoepySampler):
    """Fractional factorial / Plackett-Burman: each knob at its low or high end."""

    min_factors = 2

    def factor_levels(self, varying):
        return [[0, 1] for _ in varying]

    def to_code(self, knob, coded, col):
        return _level_code(knob, coded)


# The largest design built, in points. The design is held whole (a table of codes and its spread order:
# tens of bytes a point per knob), so a larger one is refused at once, from the formula of its size,
# instead of filling the memory; `factorial` gives every point of any space one at a time.
DESIGN_LIMIT = 1_000_000
FULL_FACTORIAL_LIMIT = DESIGN_LIMIT
# ... and in codes (points times knobs): a Box-Behnken design of 700 knobs has fewer than 1,000,000 points
# but 686 million codes (5 GB). A full factorial of 1,000,000 points has at most 20 knobs that vary.
DESIGN_CELL_LIMIT = 20_000_000


class FullFactorial(DoepySampler):
    """Every level of every knob, built with numpy (doepy filled a pandas table one cell at a time: a
    160,000-point design took half a minute before the first sample); at most `FULL_FACTORIAL_LIMIT`
    points. The points come in a spread order, not the factorial's (first knob fastest, the scenarios,
    last in the space, slowest: a design cut short by the budget held one scenario value and one value of
    most knobs): point p is the design's cell that the p-th point of a Halton sequence over the knobs'
    levels falls in (cells met again skipped), the scenarios on its first dimensions (base 2, 3, ...: two
    scenario values alternate), so every prefix spreads over the scenario values and the knobs. Cells the
    sequence has not met after 8 times the design's size follow in the factorial's order. With two or more
    scenarios the first max(#values) points are chosen to hold every value of each scenario
    (`_cover_first_round`); with none or one the order is the sequence's."""

    kind = "full_fact"
    plugin = "full_factorial"

    def arrange(self, out: np.ndarray) -> np.ndarray:
        return out[_spread_order(out, self._varying, [j for j in self._varying if self.space.knobs[j].scenario])]

    def factor_levels(self, varying):
        levels = int(self.options.get("levels") or 3)
        self._levels = [self.space.knobs[j].size if self.space.knobs[j].finite else levels for j in varying]
        return [list(range(n)) for n in self._levels]

    def to_codes(self, knob, coded, col):
        if knob.finite:
            return coded.astype(float)
        n = self._levels[col]
        return np.array([_level_code(knob, i / (n - 1)) for i in range(n)])[coded.astype(int)]

    def build(self, factors):
        size = math.prod(self._levels)
        if size > FULL_FACTORIAL_LIMIT:
            shown = f"{size:,}" if size < 10 ** 9 else f"{size:.3g}"
            raise DeffeError(f"the full_factorial design has {shown} points (every combination of the levels of "
                             f"{len(self._levels)} knobs), more than the {FULL_FACTORIAL_LIMIT:,} it builds",
                             file=self.origin, where="sampling.plugin",
                             hint="use factorial (every point, one at a time), random or lhs, "
                                  "or fewer knobs or levels")
        return _every_combination(self._levels)


def _every_combination(levels: list[int]) -> np.ndarray:
    """Every combination of level codes 0 .. levels[k]-1, the first column fastest (doepy's order)."""
    return np.indices(levels[::-1]).reshape(len(levels), -1)[::-1].T


class FractionalFactorial(TwoLevel):
    kind = "frac_fact_res"
    plugin = "fractional_factorial"
    grows = "2^b corners of b base knobs, for {k} knobs at its resolution"

    def size(self, k):
        res = int(self.options.get("resolution") or 3)
        if k > res:
            # pyDOE's fracfact_by_res: the fewest base knobs b whose interactions of order res - 1 and more
            # (and themselves) name all k knobs; 2^b points
            for b in range(res - 1, k):
                if sum(math.comb(b, r) for r in range(res - 1, b)) + b >= k:
                    return 2 ** b
            return None            # no such design: doepy says so
        return 2 ** (k - 1) if k == res else 2 ** k

    def build(self, factors):
        from doepy import build as doepy_build

        res = int(self.options.get("resolution") or 3)
        n = len(factors)
        if n > res:
            return doepy_build.frac_fact_res(factors, res=res)
        if n == res:
            # doepy wants more knobs than the resolution, but the half fraction I = AB...N (the last knob at
            # the product of the others' signs) has exactly this resolution: half of the corners
            # (pyDOE's ff2n does not run under numpy 2)
            half = 2 * _every_combination([2] * (n - 1)) - 1
            return (np.column_stack([half, half.prod(axis=1)]) + 1) / 2
        # fewer knobs than the resolution: no fraction has it, every corner is the design
        return _every_combination([2] * n)


def _plackett_burman_buildable(runs: int) -> bool:
    """pyDOE's pbdesign builds Plackett-Burman designs of 2^a, 12 * 2^a and 20 * 2^a runs only."""
    for base in (1, 12, 20):
        q, r = divmod(runs, base)
        if r == 0 and q >= 1 and q & (q - 1) == 0:
            return True
    return False


class PlackettBurman(TwoLevel):
    kind = "plackett_burman"
    plugin = "plackett_burman"
    grows = "a multiple of 4 above {k} knobs"

    def size(self, k):
        runs = 4 * (k // 4 + 1)
        while not _plackett_burman_buildable(runs):
            runs += 4
        return runs

    def build(self, factors):
        from doepy import build as doepy_build
        from pyDOE import pbdesign

        k = len(factors)
        runs = 4 * (k // 4 + 1)   # the smallest Plackett-Burman design for k knobs (pbdesign's choice)
        if _plackett_burman_buildable(runs):
            return doepy_build.plackett_burman(factors)
        # 24 knobs need 28 runs, which pyDOE cannot build: the first k columns of the next size it builds
        # (32 runs) are a design too, their columns balanced and orthogonal as all of that design's are
        while not _plackett_burman_buildable(runs):
            runs += 4
        return (pbdesign(runs - 1)[:, :k] + 1) / 2


def _center_points(options) -> int:
    """sampling.center: 0 is no centre point (the schema's default is 1)."""
    center = options.get("center")
    return 1 if center is None else int(center)


class BoxBehnken(DoepySampler):
    """Each knob at its low end, middle or high end (three levels)."""

    kind = "box_behnken"
    plugin = "box_behnken"
    min_factors = 3
    grows = "4 for each of the {k}({k}-1)/2 pairs of {k} knobs, and the centre points"

    def size(self, k):
        return 2 * k * (k - 1) + _center_points(self.options)

    def factor_levels(self, varying):
        return [[0, 1, 2] for _ in varying]

    def to_code(self, knob, coded, col):
        return _level_code(knob, coded / 2.0)

    def build(self, factors):
        return box_behnken_codes(len(factors), _center_points(self.options))


def box_behnken_codes(k: int, center: int) -> np.ndarray:
    """doepy's Box-Behnken design over ``k`` knobs as its level codes 0, 1, 2 (pyDOE's bbdesign + 1), built
    with numpy: for each pair of knobs (i < j, in order) the 4 corners (-1, -1), (1, -1), (-1, 1), (1, 1)
    with the other knobs in the middle, then ``center`` centre points. doepy filled a pandas table cell by
    cell: 100 knobs (19,801 points) took 211 s."""
    i, j = np.triu_indices(k, 1)
    pairs = len(i)
    out = np.zeros((4 * pairs + center, k))
    rows = np.arange(4 * pairs).reshape(pairs, 4)
    out[rows, i[:, None]] = [-1, 1, -1, 1]
    out[rows, j[:, None]] = [-1, -1, 1, 1]
    return out + 1


class CentralComposite(DoepySampler):
    """Factorial corners, axial points and the centre; axial points beyond the range are clipped."""

    kind = "central_composite"
    plugin = "central_composite"
    min_factors = 2
    grows = "the 2^{k} corners of {k} knobs, 2 x {k} axial points and the centre points"

    def size(self, k):
        return 2 ** k + 2 * k + 2 * _center_points(self.options)

    def factor_levels(self, varying):
        return [[0.0, 1.0] for _ in varying]

    def to_code(self, knob, coded, col):
        return _level_code(knob, coded)

    def build(self, factors):
        from doepy import build as doepy_build
        c = _center_points(self.options)
        return doepy_build.central_composite(factors, center=(c, c), face=self.options.get("face") or "ccf")


# Halton points drawn at once by `_spread_order` (its memory: this many times the knobs, in floats)
_SPREAD_CHUNK = 1 << 17


def _spread_order(codes: np.ndarray, varying: list[int], first: list[int]) -> np.ndarray:
    """A permutation of the rows of a full factorial design (`FullFactorial`): the order in which a Halton
    sequence over the levels of the columns ``varying`` (those in ``first`` on its first dimensions) meets
    the rows' cells, then the rows it did not meet."""
    n = len(codes)
    if n <= 1 or not varying:
        return np.arange(n)
    dims = list(first) + [j for j in varying if j not in first]
    levels = [np.unique(codes[:, j], return_inverse=True) for j in dims]
    radices = np.array([len(u) for u, _ in levels], dtype=np.int64)
    # a cell's number: its levels as digits in mixed radix, the first dimension most significant
    weights = np.concatenate([np.cumprod(radices[::-1])[::-1][1:], [1]]).astype(np.int64)
    cell = sum(inv.reshape(-1).astype(np.int64) * w for (_u, inv), w in zip(levels, weights))
    row_of = np.full(int(np.prod(radices)), -1, dtype=np.int64)
    row_of[cell] = np.arange(n)
    from scipy.stats import qmc
    halton = qmc.Halton(len(dims), scramble=False)
    order: list[np.ndarray] = []
    taken = np.zeros(n, dtype=bool)
    met = drawn = 0
    while met < n and drawn < 8 * n:
        u = halton.random(min(max(n, 64), 8 * n - drawn, _SPREAD_CHUNK))
        drawn += len(u)
        at = np.minimum((u * radices).astype(np.int64), radices - 1)
        rows = row_of[at @ weights]
        rows = rows[rows >= 0]
        _, once = np.unique(rows, return_index=True)   # each row where the sequence first meets it
        rows = rows[np.sort(once)]
        rows = rows[~taken[rows]]
        taken[rows] = True
        met += len(rows)
        order.append(rows)
    order = np.concatenate(order + [np.flatnonzero(~taken)]).astype(int)
    return _cover_first_round(codes, order, list(first)) if len(first) >= 2 else order


def _cover_first_round(codes: np.ndarray, order: np.ndarray, scen: list[int]) -> np.ndarray:
    """The spread order ``order`` of a full factorial with its first max(#values) rows chosen to hold every
    value of each scenario (columns ``scen``, two or more). The Halton sequence met s2=w of scenarios of 3
    and 4 values only at its 6th point. Round i (i < max(#values)) takes, for each scenario, its
    (i mod #values)-th value in the order the spread order first meets them; each of these combinations
    comes with its first row in the spread order, the rows kept in that order, the others after them as
    they were. A full factorial holds every combination, so the round is always there."""
    vals = [np.unique(codes[order, j], return_inverse=True)[1].reshape(-1).astype(np.int64) for j in scen]
    sizes = np.array([int(v.max()) + 1 for v in vals], dtype=np.int64)
    m = int(sizes.max())
    met = []                          # each scenario's values in the order the spread order meets them
    for v in vals:
        u, at = np.unique(v, return_index=True)
        met.append(u[np.argsort(at)])
    weights = np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]]).astype(np.int64)
    combo = sum(v * w for v, w in zip(vals, weights))          # each row's combination, as a number
    want = sum(s[np.arange(m) % len(s)] * w for s, w in zip(met, weights))
    ids, at = np.unique(combo, return_index=True)              # the first row of each combination
    head = np.sort(at[np.searchsorted(ids, want)])
    return np.concatenate([order[head], np.delete(order, head)])


def _cover_scenarios(codes: np.ndarray, space, varying: list[int]) -> np.ndarray:
    """The rows of a two- or three-level design (all but `FullFactorial`) with every value of each finite
    scenario knob. Such a design puts a knob at its ends (and middle), so a scenario of 3 or more values
    missed its other values, the values the exploration must serve. Each scenario value goes with the
    design level nearest it (ties to the lower); the rows at a level take the level's own value, then the
    others of its group in turn, so the design knobs keep their structure and the scenario its low/high
    split. The rows are then ordered so that a design cut short by the budget still holds every value of
    each scenario (`_cover_order`)."""
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
    return out[_cover_order(out[:, scen].astype(np.int64), [space.knobs[j].size for j in scen])]


def _cover_order(values: np.ndarray, sizes: list[int]) -> np.ndarray:
    """An order of rows of scenario values (row i: the value codes of each scenario) in rounds: a round
    takes, one at a time, the next row of the combination of values that brings the most values not yet in
    the round (ties: the combination met first in the design; rows of one combination keep their order),
    until no row brings one. With one scenario a round is a row of each value; with several, the first
    rows hold every value of each scenario as soon as the design's combinations allow (a round of 4 rows
    for scenarios of 3 and 4 values). Round robin over the combinations instead missed values: 6 rows of a
    design held 6 combinations of the first values."""
    combos, first, inverse = np.unique(values, axis=0, return_index=True, return_inverse=True)
    by_first = np.argsort(first)
    combos = combos[by_first]
    rank = np.empty(len(by_first), dtype=np.int64)
    rank[by_first] = np.arange(len(by_first))
    queues = [[] for _ in combos]
    for i, c in enumerate(rank[inverse.reshape(-1)]):
        queues[c].append(i)
    heads = np.zeros(len(combos), dtype=np.int64)
    lengths = np.array([len(q) for q in queues])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    cells = combos + offsets           # each combination's values as positions in one table of seen values
    seen = np.zeros(int(sum(sizes)), dtype=bool)
    order: list[int] = []
    while len(order) < len(values):
        gain = np.where(heads < lengths, (~seen[cells]).sum(axis=1), -1)
        c = int(np.argmax(gain))       # the first of the best
        if gain[c] == 0:
            seen[:] = False            # every value the rows left can bring is in the round: a new round
            continue
        order.append(queues[c][heads[c]])
        heads[c] += 1
        seen[cells[c]] = True
    return np.array(order, dtype=int)
