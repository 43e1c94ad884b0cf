"""An example sampling plugin: the corners of the space first, then random points.

Corners (every knob at its first or last level) bound the responses; a model
trained on them plus random points extrapolates less. This file is the worked
example of "Writing a plugin" in the README: a module with GetObject(framework)
returning an object with Initialize() and Run(count).
"""
from __future__ import annotations

import itertools

import numpy as np


class CornersThenRandom:
    def __init__(self, framework):
        self.framework = framework

    def Initialize(self) -> None:
        self.space = self.framework.space              # the exploration's DesignSpace
        self.rng = self.framework.rng("corners")       # a seeded, repeatable stream
        ends = [[0.0, float(k.size - 1)] if k.size > 1 else [0.0] for k in self.space.knobs]
        self.queue = [np.array(c) for c in itertools.product(*ends)]
        self.given = set()

    def Run(self, count: int) -> np.ndarray:
        out = []
        while len(out) < count and len(self.given) < self.space.size:
            row = self.queue.pop(0) if self.queue else self.space.random(self.rng, 1)[0]
            key = self.space.key(row)
            if key not in self.given:      # a sampler never gives a point twice
                self.given.add(key)
                out.append(row)
        return np.array(out).reshape(-1, len(self.space))


def GetObject(framework):
    return CornersThenRandom(framework)
