"""Sampling ``random``: uniform random points without replacement, seeded.

Finite spaces up to two million points are shuffled as a whole; larger ones
draw indices and reject repeats; spaces with continuous knobs draw values
(log-uniform on log ranges). No memory proportional to the space.
"""
from framework.sampling import RandomSampler


def GetObject(framework):
    return RandomSampler(framework)
