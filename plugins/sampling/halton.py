"""Sampling ``halton``: a (scrambled) Halton sequence (scipy.stats.qmc), continued across steps."""
from scipy.stats import qmc

from framework.sampling import UnitSampler


class HaltonSampler(UnitSampler):
    name = "halton"

    def unit_points(self, n):
        if not hasattr(self, "_engine"):
            self._engine = qmc.Halton(d=len(self._varying), scramble=bool(self.options.get("scramble", True)),
                                      rng=self.rng)
        return self._engine.random(max(n, 1))


def GetObject(framework):
    return HaltonSampler(framework)
