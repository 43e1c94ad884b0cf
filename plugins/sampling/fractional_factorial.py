"""Sampling ``fractional_factorial`` (doepy): 2-level fractional factorial design of the given ``resolution``, each knob at its low or high end (a finite scenario takes every value: see docs/exploration.md, Initial design)."""
from ._doepy import FractionalFactorial


def GetObject(framework):
    return FractionalFactorial(framework)
