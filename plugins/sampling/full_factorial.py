"""Sampling ``full_factorial`` (doepy): full factorial design over every level of every knob (a continuous knob gets ``levels`` values)."""
from ._doepy import FullFactorial


def GetObject(framework):
    return FullFactorial(framework)
