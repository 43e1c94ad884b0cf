"""Sampling ``fractional_factorial`` (doepy): 2-level fractional factorial design of the given ``resolution``, each knob at its low or high end."""
from ._doepy import FractionalFactorial


def GetObject(framework):
    return FractionalFactorial(framework)
