"""Sampling ``plackett_burman`` (doepy): Plackett-Burman screening design, each knob at its low or high end."""
from ._doepy import PlackettBurman


def GetObject(framework):
    return PlackettBurman(framework)
