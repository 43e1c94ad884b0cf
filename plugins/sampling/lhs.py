"""Sampling ``lhs``: Latin hypercube points (scipy.stats.qmc), one hypercube per step.

On finite knobs a hypercube of n points gives each level its share (n / levels, within one). Two of its
points may land in the same cell, or on a point an earlier step gave; dropping the repeat and drawing the
missing point from a new hypercube unbalances the step (3 knobs of 3 values, 9 points: counts 2, 2, 5).
So a repeat is first moved off by swapping one knob's level between it and another point of the hypercube:
every column keeps its levels, hence its balance. Only what no swap can fix (the space nearly used up) is
left to the base sampler's top-up.
"""
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
        return self._without_repeats(codes)

    def _without_repeats(self, codes):
        """The hypercube with its repeated points swapped apart, column by column, as far as swaps can."""
        columns = [j for j in self._varying if self.space.knobs[j].finite]
        if not columns:   # continuous knobs: no two points alike
            return codes
        codes = codes.copy()
        keys = self.space.keys(codes)
        count: dict[str, int] = {}
        for key in keys:
            count[key] = count.get(key, 0) + 1

        def repeated(i):
            return keys[i] in self._given or count[keys[i]] > 1

        tries = 20 * len(codes) + 100   # bounded: a nearly used-up space may have no balanced way out
        for _ in range(tries):
            bad = [i for i in range(len(codes)) if repeated(i)]
            if not bad:
                break
            r = bad[int(self.rng.integers(len(bad)))]
            s = int(self.rng.integers(len(codes)))
            j = columns[int(self.rng.integers(len(columns)))]
            if s == r or codes[s, j] == codes[r, j]:
                continue
            codes[[r, s], j] = codes[[s, r], j]
            new_r, new_s = self.space.key(codes[r]), self.space.key(codes[s])
            old_r, old_s = keys[r], keys[s]
            # the swap must leave both points new: neither given before nor another point of the hypercube
            rest = dict(count)
            rest[old_r] -= 1
            rest[old_s] -= 1
            if (new_r == new_s or new_r in self._given or new_s in self._given
                    or rest.get(new_r, 0) > 0 or rest.get(new_s, 0) > 0):
                codes[[r, s], j] = codes[[s, r], j]   # undo
                continue
            rest[new_r] = 1
            rest[new_s] = 1
            count = {k: c for k, c in rest.items() if c > 0}
            keys[r], keys[s] = new_r, new_s
        return codes


def GetObject(framework):
    return LHSSampler(framework)
