"""Sampling ``halton``: a (scrambled) Halton sequence (scipy.stats.qmc), continued across steps.

Its first points, the initial design, hold every value of each small finite scenario (`CoverScenarios`): a
Halton dimension is balanced only over powers of its base, and the scenarios, last in the space, get the
large bases (scenarios of 3 and 4 values on bases 7 and 11: 7 points never met t=30)."""
from scipy.stats import qmc

from framework.sampling import UnitSampler

from ._cover import CoverScenarios


class HaltonSampler(CoverScenarios, UnitSampler):
    name = "halton"

    def unit_points(self, n):
        if not hasattr(self, "_engine"):
            self._engine = qmc.Halton(d=len(self._varying), scramble=bool(self.options.get("scramble", True)),
                                      rng=self.rng)
        return self._engine.random(max(n, 1))


def GetObject(framework):
    return HaltonSampler(framework)
