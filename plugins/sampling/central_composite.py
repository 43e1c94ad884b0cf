"""Sampling ``central_composite`` (doepy): central composite design (``face``: ccf, cci or ccc), axial points clipped to the range."""
from ._doepy import CentralComposite


def GetObject(framework):
    return CentralComposite(framework)
