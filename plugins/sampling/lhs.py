"""Sampling ``lhs``: Latin hypercube points (scipy.stats.qmc), one hypercube per step.

On finite knobs a hypercube of n points gives each level its share (n / levels, within one): scipy's
continuous hypercube floored onto the levels did not (7 levels, 5 points: one level twice), so each finite
knob's column is a stratified permutation of its levels (every level n // levels times, the n % levels extra
ones one in each of as many equal runs of levels, drawn with the seed, then shuffled); continuous knobs and
log-spaced integer ranges (whose share is along the log) keep scipy's column. Two of its
points may land in the same cell, or on a point an earlier step gave; dropping the repeat and drawing the
missing point from a new hypercube unbalances the step (3 knobs of 3 values, 9 points: counts 2, 2, 5).
So a repeat is first moved off by swapping one knob's level between it and another point of the hypercube:
every column keeps its levels, hence its balance. Only what no swap can fix (the space nearly used up) is
left to the base sampler's top-up.
"""
import numpy as np
from scipy.stats import qmc

from framework.sampling import UnitSampler


class LHSSampler(UnitSampler):
    name = "lhs"

    def unit_points(self, n):
        engine = qmc.LatinHypercube(d=len(self._varying), rng=self.rng)
        return engine.random(max(n, 1))

    def candidates(self, n):
        codes = super().candidates(n)
        if codes is None or self._fallback is not None or len(codes) < 2:
            return codes
        codes = codes.copy()
        for j in self._varying:
            knob = self.space.knobs[j]
            if knob.finite and not knob.log_cells:
                codes[:, j] = self._stratified(len(codes), knob.size)
        return self._without_repeats(codes)

    def _stratified(self, n: int, levels: int) -> np.ndarray:
        """n codes of a knob of ``levels`` levels, each level n // levels or one more times, shuffled. The
        n % levels levels that get one more are one in each of n % levels equal runs of consecutive levels (as a
        hypercube of that many points would place them: spread over the knob, not bunched), drawn with the
        seed."""
        q, r = divmod(n, levels)
        parts = [np.repeat(np.arange(levels, dtype=float), q)] if q else []
        if r:
            bounds = [i * levels // r for i in range(r + 1)]   # Python integers: levels may be near 2**53
            parts.append(np.array([b + int(self.rng.integers(e - b)) for b, e in zip(bounds, bounds[1:])],
                                  dtype=float))
        return self.rng.permutation(np.concatenate(parts))

    def _without_repeats(self, codes):
        """The hypercube with its repeated points swapped apart, column by column, as far as swaps can.

        Each try costs O(log n): the repeated points are kept in a Fenwick tree over the rows (the try picks
        the same one as a list of them in row order would), the count of each point's key and its rows are
        updated for the two rows a swap changes. Rebuilding the list and the counts at each try made a step
        quadratic (1000 points of a 1000-point space: 51 s)."""
        columns = [j for j in self._varying if self.space.knobs[j].finite]
        if not columns:   # continuous knobs: no two points alike
            return codes
        codes = codes.copy()
        n = len(codes)
        keys = self.space.keys(codes)
        given = self._given
        count: dict[str, int] = {}
        rows: dict[str, set[int]] = {}
        for i, key in enumerate(keys):
            count[key] = count.get(key, 0) + 1
            rows.setdefault(key, set()).add(i)
        bad = _RowSet(n)
        for i, key in enumerate(keys):
            if key in given or count[key] > 1:
                bad.add(i)

        tries = 20 * n + 100   # bounded: a nearly used-up space may have no balanced way out
        for _ in range(tries):
            if not bad.size:
                break
            r = bad.kth(int(self.rng.integers(bad.size)))
            s = int(self.rng.integers(n))
            j = columns[int(self.rng.integers(len(columns)))]
            if s == r or codes[s, j] == codes[r, j]:
                continue
            codes[[r, s], j] = codes[[s, r], j]
            new_r, new_s = self.space.key(codes[r]), self.space.key(codes[s])
            old_r, old_s = keys[r], keys[s]
            # the swap must leave both points new: neither given before nor another point of the hypercube
            count[old_r] -= 1
            count[old_s] -= 1
            if (new_r == new_s or new_r in given or new_s in given
                    or count.get(new_r, 0) > 0 or count.get(new_s, 0) > 0):
                count[old_r] += 1
                count[old_s] += 1
                codes[[r, s], j] = codes[[s, r], j]   # undo
                continue
            for i, old in ((r, old_r), (s, old_s)):
                rows[old].discard(i)
            for old in (old_r, old_s):
                left = rows.get(old)
                if not left:
                    rows.pop(old, None)
                    count.pop(old, None)
                elif count[old] == 1 and old not in given:
                    bad.discard(next(iter(left)))     # its other copy moved away: no longer a repeat
            count[new_r] = count[new_s] = 1
            rows[new_r], rows[new_s] = {r}, {s}
            keys[r], keys[s] = new_r, new_s
            bad.discard(r)
            bad.discard(s)
        return codes


class _RowSet:
    """A set of row numbers 0 .. n-1 with add, discard and its k-th smallest member in O(log n)."""

    def __init__(self, n: int):
        self.n = n
        self.tree = [0] * (n + 1)
        self.member = bytearray(n)
        self.size = 0
        self.top = 1 << max(n.bit_length() - 1, 0)

    def _update(self, i: int, d: int) -> None:
        i += 1
        while i <= self.n:
            self.tree[i] += d
            i += i & -i

    def add(self, i: int) -> None:
        if not self.member[i]:
            self.member[i] = 1
            self.size += 1
            self._update(i, 1)

    def discard(self, i: int) -> None:
        if self.member[i]:
            self.member[i] = 0
            self.size -= 1
            self._update(i, -1)

    def kth(self, k: int) -> int:
        """The k-th smallest member (k from 0)."""
        pos, step = 0, self.top
        while step:
            nxt = pos + step
            if nxt <= self.n and self.tree[nxt] <= k:
                pos = nxt
                k -= self.tree[nxt]
            step >>= 1
        return pos


def GetObject(framework):
    return LHSSampler(framework)
