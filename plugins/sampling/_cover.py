"""The first batch of a sequence sampler (halton, sobol) with every value of each small finite scenario.

lhs holds them by construction (a level per stratum). A sequence holds them only where its dimension is
balanced: sobol over powers of 2 (4 points of a 3-value scenario: one of the values may be missing), halton
over powers of its base, large for the scenarios, last in the space (7 points never met t=30 of 4 values).
So a value the initial design misses takes the place of a repeated value of that scenario; the rest of the
sequence is as it was."""
import numpy as np


class CoverScenarios:
    """Mixin of a UnitSampler: its first candidates cover the values of each finite scenario."""

    def setup(self):
        super().setup()
        self._covered = False

    def candidates(self, n):
        codes = super().candidates(n)
        first, self._covered = not self._covered, True
        if codes is None or self._fallback is not None or not first:
            return codes
        # a scenario of more values than the batch has points cannot be covered (nor looped over: 1..10**6)
        scen = [j for j in self._varying if self.space.knobs[j].scenario and self.space.knobs[j].finite
                and self.space.knobs[j].size <= len(codes)]
        return _cover_values(codes, self.space, scen) if scen else codes


def _cover_values(codes: np.ndarray, space, columns: list[int]) -> np.ndarray:
    """``codes`` with every value of each column in ``columns`` (as many as there are rows): each missing value
    replaces a value held by several rows, in the row holding the value nearest it (the last such row: the
    sequence's first points stay as they are), unless that makes the row a copy of another."""
    out = codes.copy()
    keys = set(space.keys(out))
    for j in columns:
        for v in range(space.knobs[j].size):
            values, counts = np.unique(out[:, j], return_counts=True)
            if v in values:
                continue
            repeated = set(values[counts > 1].tolist())
            donors = sorted((r for r in range(len(out)) if out[r, j] in repeated),
                            key=lambda r: (abs(out[r, j] - v), -r))
            for r in donors:
                row = out[r].copy()
                row[j] = v
                key = space.key(row)
                if key not in keys:
                    keys.discard(space.key(out[r]))
                    keys.add(key)
                    out[r] = row
                    break
    return out
