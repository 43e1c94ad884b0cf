"""Sampling ``sobol``: a (scrambled) Sobol' sequence (scipy.stats.qmc), continued across steps; its first points
hold every value of each small finite scenario (`CoverScenarios`)."""
from scipy.stats import qmc

from framework.errors import DeffeError
from framework.sampling import UnitSampler

from ._cover import CoverScenarios

MAX_DIMENSIONS = 21_201   # scipy's Sobol' direction numbers stop here (scipy.stats._qmc._MAXDIM)


class SobolSampler(CoverScenarios, UnitSampler):
    name = "sobol"

    def setup(self):
        super().setup()
        # refused here, when the sampler is set up, not once the run is under way with scipy's message
        if len(self._varying) > MAX_DIMENSIONS:
            raise DeffeError(f"sobol takes at most {MAX_DIMENSIONS:,} knobs that take several values; exploration "
                             f"'{self.framework.explore.name}' has {len(self._varying):,}",
                             file=self.framework.config.data.get("__origin__"), where="sampling.plugin",
                             hint="use lhs, halton or random")

    def unit_points(self, n):
        if not hasattr(self, "_engine"):
            self._engine = qmc.Sobol(d=len(self._varying), scramble=bool(self.options.get("scramble", True)),
                                     rng=self.rng)
        return self._engine.random(max(n, 1))


def GetObject(framework):
    return SobolSampler(framework)
