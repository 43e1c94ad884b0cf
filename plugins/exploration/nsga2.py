"""Exploration ``nsga2``: NSGA-II over several costs: non-dominated sorting and crowding
distance; reports the Pareto front.

Settings go in ``exploration.options`` (see ``framework/search/nsga2.py`` for the
algorithm's own and ``framework/search/exploration.py`` for objective / objectives / seed).
"""
from framework.search.exploration import SearchExploration


def GetObject(framework):
    return SearchExploration(framework, "nsga2")
