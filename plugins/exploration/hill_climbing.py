"""Exploration ``hill_climbing``: Hill climbing over one-knob neighbourhoods (best- or first-
improvement) with random restarts.

Settings go in ``exploration.options`` (see ``framework/search/hill_climbing.py`` for the
algorithm's own and ``framework/search/exploration.py`` for objective / objectives / seed).
"""
from framework.search.exploration import SearchExploration


def GetObject(framework):
    return SearchExploration(framework, "hill_climbing")
