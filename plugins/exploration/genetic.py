"""Exploration ``genetic``: A generational genetic algorithm: tournament selection, uniform or
one-point crossover, per-knob mutation, elitism.

Settings go in ``exploration.options`` (see ``framework/search/genetic.py`` for the
algorithm's own and ``framework/search/exploration.py`` for objective / objectives / seed).
"""
from framework.search.exploration import SearchExploration


def GetObject(framework):
    return SearchExploration(framework, "genetic")
