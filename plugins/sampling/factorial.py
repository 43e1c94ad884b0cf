"""Sampling ``factorial``: every point of the space, in index order (last knob fastest).

A continuous knob contributes ``levels`` evenly spaced values (min and max
included; log-spaced on log ranges). Huge spaces are enumerated lazily.
"""
import numpy as np

from framework.sampling import DesignSampler


class FactorialSampler(DesignSampler):
    name = "factorial"

    def setup(self) -> None:
        levels = int(self.options.get("levels") or 3)
        self._codes = []
        for k in self.space.knobs:
            if k.finite:
                self._codes.append(None)
            else:
                self._codes.append(k.at_position(np.linspace(0.0, 1.0, levels)))
        self._radices = [k.size if k.finite else len(c) for k, c in zip(self.space.knobs, self._codes)]
        self._size = 1
        for r in self._radices:
            self._size *= r
        self._pos = 0

    def candidates(self, n):
        if self._pos >= self._size:
            return None
        stop = min(self._size, self._pos + n)
        rows = []
        for index in range(self._pos, stop):
            row = []
            for r, codes in zip(reversed(self._radices), reversed(self._codes)):
                digit = index % r
                index //= r
                row.append(float(digit) if codes is None else float(codes[digit]))
            rows.append(row[::-1])
        self._pos = stop
        return np.array(rows)


def GetObject(framework):
    return FactorialSampler(framework)
