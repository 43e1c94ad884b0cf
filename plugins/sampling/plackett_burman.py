"""Sampling ``plackett_burman`` (doepy): Plackett-Burman screening design, each knob at its low or high end (a finite scenario takes every value: see docs/exploration.md, Initial design)."""
from ._doepy import PlackettBurman


def GetObject(framework):
    return PlackettBurman(framework)
