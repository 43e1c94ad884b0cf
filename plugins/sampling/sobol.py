"""Sampling ``sobol``: a (scrambled) Sobol' sequence (scipy.stats.qmc), continued across steps."""
from scipy.stats import qmc

from framework.sampling import UnitSampler


class SobolSampler(UnitSampler):
    name = "sobol"

    def unit_points(self, n):
        if not hasattr(self, "_engine"):
            self._engine = qmc.Sobol(d=len(self._varying), scramble=bool(self.options.get("scramble", True)),
                                     rng=self.rng)
        return self._engine.random(max(n, 1))


def GetObject(framework):
    return SobolSampler(framework)
