"""Sampling ``lhs``: Latin hypercube points (scipy.stats.qmc), one hypercube per step."""
from scipy.stats import qmc

from framework.sampling import UnitSampler


class LHSSampler(UnitSampler):
    name = "lhs"

    def unit_points(self, n):
        engine = qmc.LatinHypercube(d=len(self._varying), rng=self.rng)
        return engine.random(max(n, 1))


def GetObject(framework):
    return LHSSampler(framework)
