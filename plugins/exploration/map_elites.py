"""Exploration ``map_elites``: MAP-Elites with Exprimo's placement descriptors (values used,
jumps along a knob sequence) on a grid archive.

Settings go in ``exploration.options`` (see ``framework/search/map_elites.py`` for the
algorithm's own and ``framework/search/exploration.py`` for objective / objectives / seed).
"""
from framework.search.exploration import SearchExploration


def GetObject(framework):
    return SearchExploration(framework, "map_elites")
