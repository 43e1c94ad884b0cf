"""Exploration ``surrogate`` (the default): model-guided search, see ``framework/guided.py``."""
from framework.guided import GuidedExploration


def GetObject(framework):
    return GuidedExploration(framework)
