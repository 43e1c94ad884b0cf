"""Exploration ``random_search``: Random search: uniform random points of the space, each at
most once (a finite space is drawn as a permutation; the search ends when it is used up).
Batch: samples_per_step.

Settings go in ``exploration.options`` (see ``framework/search/random_search.py`` for the
algorithm's own and ``framework/search/exploration.py`` for objective / objectives / seed).
"""
from framework.search.exploration import SearchExploration


def GetObject(framework):
    return SearchExploration(framework, "random", label="random_search")
