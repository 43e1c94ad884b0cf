"""Exploration ``annealing``: Simulated annealing as in the inlining project: k proposals per
step evaluated as one batch, exponential cooling, best state kept, energies cached.

Settings go in ``exploration.options`` (see ``framework/search/annealing.py`` for the
algorithm's own and ``framework/search/exploration.py`` for objective / objectives / seed).
"""
from framework.search.exploration import SearchExploration


def GetObject(framework):
    return SearchExploration(framework, "annealing")
