"""Exploration ``exhaustive``: Exhaustive search: every point of a small finite space in index
order (refuses continuous knobs and spaces above options.max_points). Batch:
samples_per_step.

Settings go in ``exploration.options`` (see ``framework/search/exhaustive.py`` for the
algorithm's own and ``framework/search/exploration.py`` for objective / objectives / seed).
"""
from framework.search.exploration import SearchExploration


def GetObject(framework):
    return SearchExploration(framework, "exhaustive")
