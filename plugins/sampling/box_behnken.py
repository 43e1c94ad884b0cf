"""Sampling ``box_behnken`` (doepy): Box-Behnken design, each knob at its low end, middle or high end (needs 3 knobs or more)."""
from ._doepy import BoxBehnken


def GetObject(framework):
    return BoxBehnken(framework)
