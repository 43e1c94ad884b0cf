"""Spaces, objectives and a CLI runner shared by the search tests."""
from __future__ import annotations

import numpy as np

from framework.search import row_keys
from framework.space import ArithLevels, DesignSpace, Knob, ListLevels



def integer_knob(name: str, n: int) -> Knob:
    return Knob(name, "integer", ArithLevels(0, 1, n, True))


def categorical_knob(name: str, values) -> Knob:
    return Knob(name, "categorical", ListLevels(list(values)))


def real_knob(name: str, low: float, high: float, log: bool = False) -> Knob:
    return Knob(name, "real", None, low=low, high=high, log=log)


TARGET = np.array([3, 7, 1, 5, 6])


def grid_space() -> DesignSpace:
    """5 integer knobs 0..7 and a categorical knob: 131072 points."""
    return DesignSpace([integer_knob(f"x{i}", 8) for i in range(5)] + [categorical_knob("c", "abcd")])


def grid_objective(codes: np.ndarray) -> np.ndarray:
    """Unique minimum 0 at x = (3, 7, 1, 5, 6), c = 'c' (level 2)."""
    codes = np.atleast_2d(codes)
    return ((codes[:, :5] - TARGET) ** 2).sum(axis=1) + 4.0 * (codes[:, 5] != 2)


def mixed_space() -> DesignSpace:
    return DesignSpace([integer_knob(f"x{i}", 8) for i in range(3)] + [categorical_knob("c", "abc"),
                                                                        real_knob("r", -2.0, 2.0)])


def mixed_objective(codes: np.ndarray) -> np.ndarray:
    """Minimum 0 at x = (3, 7, 1), c = 'c', r = 0.5."""
    codes = np.atleast_2d(codes)
    return ((codes[:, :3] - TARGET[:3]) ** 2).sum(axis=1) + 3.0 * (codes[:, 3] != 2) + (codes[:, 4] - 0.5) ** 2


def tiny_space() -> DesignSpace:
    """27 points: every algorithm runs out of new points quickly."""
    return DesignSpace([integer_knob("a", 3), integer_knob("b", 3), categorical_knob("c", "xyz")])


def tiny_objective(codes: np.ndarray) -> np.ndarray:
    codes = np.atleast_2d(codes)
    return (codes[:, 0] - 1) ** 2 + (codes[:, 1] - 2) ** 2 + (codes[:, 2] != 0)


def unique_rows(codes: np.ndarray) -> bool:
    keys = row_keys(codes)
    return len(set(keys)) == len(keys)

