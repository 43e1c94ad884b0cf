"""Search algorithms over a design space, in ask/tell form (see `base` for the contract).

    from framework.search import make, minimize
    algo = make("annealing", space, m=1, seed=0, k=8)
    result = minimize(algo, objective, budget=500)     # objective(codes) -> (n, m), minimised

The same algorithm object drives the real evaluator through an exploration
plugin (``plugins/exploration/<name>.py``) or searches a surrogate model.
"""
from __future__ import annotations

from typing import Any

from .annealing import SimulatedAnnealing
from .base import Algorithm, Option, OptionError, SearchResult, minimize, row_keys
from .exhaustive import Exhaustive
from .genetic import GeneticAlgorithm
from .hill_climbing import HillClimbing
from .map_elites import MapElites
from .nsga2 import NSGA2
from .random_search import RandomSearch

ALGORITHMS: dict[str, type[Algorithm]] = {
    cls.name: cls for cls in (RandomSearch, Exhaustive, HillClimbing, SimulatedAnnealing, GeneticAlgorithm,
                              MapElites, NSGA2)
}


def make(name: str, space, m: int = 1, seed: int | None = 0, initial=None, **settings: Any) -> Algorithm:
    """Build the algorithm called ``name`` (a key of ``ALGORITHMS``)."""
    try:
        cls = ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown search algorithm {name!r}; known: {', '.join(ALGORITHMS)}") from None
    return cls(space, m=m, seed=seed, initial=initial, **settings)


__all__ = ["ALGORITHMS", "Algorithm", "Exhaustive", "GeneticAlgorithm", "HillClimbing", "MapElites", "NSGA2",
           "Option", "OptionError", "RandomSearch", "SearchResult", "SimulatedAnnealing", "make", "minimize",
           "row_keys"]
