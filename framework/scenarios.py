"""Scenarios: the conditions a design must serve (problem sizes, inputs), as opposed to its knobs.

A scenario is not a choice: the exploration must find the best designs for
*every* scenario value (or combination of values, with several scenarios),
while one model, with the scenarios among its features, learns from all of
them. This module says which combinations there are and which combination a
point belongs to; the guided exploration (``guided.py``) spends its batches
across them and the report (``report.py``) gives a front per combination.

* No scenario, or only single-valued ones: inactive; everything behaves as if
  there were none.
* Finite scenarios with at most ``MAX_SCENARIOS`` combinations: every
  combination, in the order of the config (the first scenario varies slowest).
* A continuous scenario, or more combinations than that: ``MAX_SCENARIOS``
  representative combinations, a scrambled Sobol design over the scenarios
  (seeded, so a rerun picks the same ones; continuous values rounded to 4
  significant digits, for labels people read). Points are snapped to the nearest
  representative where the exploration chooses them (the initial design); the
  fronts are those of the representatives.
"""
from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np

from .space import DesignSpace
from .values import format_value

MAX_SCENARIOS = 32   # combinations served one by one; beyond, representatives


@dataclass
class ScenarioSet:
    """The scenario combinations of a design space, as codes of its scenario columns."""

    space: DesignSpace
    columns: list[int]            # positions of the varying scenario knobs in the space
    combos: np.ndarray            # (S, len(columns)) codes, one row per combination
    representative: bool = False  # True: a sample of a larger (or continuous) set of combinations

    @staticmethod
    def of(space: DesignSpace, rng: np.random.Generator | None = None,
           pool: np.ndarray | None = None) -> "ScenarioSet":
        """The combinations an exploration serves. ``pool``: the only points it may propose
        (-only-preloaded-data-exploration), whose combinations are then the ones served."""
        columns = [j for j, k in enumerate(space.knobs) if k.scenario and not (k.finite and k.size == 1)]
        if not columns:
            return ScenarioSet(space, [], np.empty((1, 0)))
        if pool is not None and len(pool):
            # a combination without data cannot be served, and one the data hold must not be snapped to a
            # representative it lacks (Deffe's kmeans table: 4 object counts of a range of 1,000)
            seen = np.unique(np.asarray(pool, dtype=float)[:, columns], axis=0)
            if len(seen) <= MAX_SCENARIOS:
                return ScenarioSet(space, columns, seen)
            rng = rng if rng is not None else np.random.default_rng(0)
            pick = np.sort(rng.choice(len(seen), MAX_SCENARIOS, replace=False))
            return ScenarioSet(space, columns, seen[pick], representative=True)
        knobs = [space.knobs[j] for j in columns]
        count = 1
        for k in knobs:
            count = count * k.size if k.finite else MAX_SCENARIOS + 1
            if count > MAX_SCENARIOS:
                break
        if count <= MAX_SCENARIOS:
            combos = np.array(list(itertools.product(*[range(k.size) for k in knobs])), dtype=float)
            return ScenarioSet(space, columns, combos)
        from scipy.stats import qmc
        rng = rng if rng is not None else np.random.default_rng(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # scipy's balance warning for a count not a power of 2
            unit = qmc.Sobol(len(knobs), scramble=True, seed=rng).random(4 * MAX_SCENARIOS)
        codes = np.column_stack([k.from_unit(unit[:, i]) if k.finite else _round(k.from_unit(unit[:, i]), k)
                                 for i, k in enumerate(knobs)])
        _, first = np.unique(codes, axis=0, return_index=True)
        combos = codes[np.sort(first)][:MAX_SCENARIOS]
        return ScenarioSet(space, columns, combos, representative=True)

    @staticmethod
    def from_report(space: DesignSpace, report: dict | None) -> "ScenarioSet | None":
        """The combinations an exploration said it served (its Report()), or None."""
        combos = (report or {}).get("scenario_codes")
        if combos is None:
            return None
        columns = [j for j, k in enumerate(space.knobs) if k.scenario and not (k.finite and k.size == 1)]
        return ScenarioSet(space, columns, np.asarray(combos, dtype=float).reshape(-1, len(columns)),
                           bool(report.get("scenario_representative")))

    @staticmethod
    def observed(space: DesignSpace, codes: np.ndarray) -> "ScenarioSet":
        """The combinations met among evaluated points (for explorations that do not say theirs);
        inactive when there are more than MAX_SCENARIOS of them (a continuous scenario)."""
        columns = [j for j, k in enumerate(space.knobs) if k.scenario and not (k.finite and k.size == 1)]
        if not columns or not len(codes):
            return ScenarioSet(space, [], np.empty((1, 0)))
        seen = np.unique(np.asarray(codes)[:, columns], axis=0)
        if len(seen) > MAX_SCENARIOS:
            return ScenarioSet(space, [], np.empty((1, 0)))
        return ScenarioSet(space, columns, seen)

    # ------------------------------------------------------------------ queries
    @property
    def active(self) -> bool:
        return bool(self.columns)

    def __len__(self) -> int:
        return len(self.combos)

    @property
    def design_columns(self) -> list[int]:
        """Positions of the knobs the exploration chooses (everything but the scenarios)."""
        fixed = set(self.columns)
        return [j for j in range(len(self.space)) if j not in fixed]

    def index(self, codes: np.ndarray) -> np.ndarray:
        """The combination of each row (its position in ``combos``), -1 for none of them."""
        codes = np.atleast_2d(np.asarray(codes, dtype=float))
        if not self.active:
            return np.zeros(len(codes), dtype=int)
        part = codes[:, self.columns]
        out = np.full(len(codes), -1, dtype=int)
        for s, combo in enumerate(self.combos):
            out[(out < 0) & np.all(part == combo, axis=1)] = s
        return out

    def fix(self, codes: np.ndarray, s: int) -> np.ndarray:
        """The rows with their scenario set to combination s (a copy)."""
        out = np.array(np.atleast_2d(codes), dtype=float)
        if self.active and len(out):
            out[:, self.columns] = self.combos[s]
        return out

    def snap(self, codes: np.ndarray) -> np.ndarray:
        """Rows whose scenario is none of the combinations moved to the nearest one (in the unit cube)."""
        out = np.array(np.atleast_2d(codes), dtype=float)
        if not self.active or not len(out):
            return out
        idx = self.index(out)
        lost = np.flatnonzero(idx < 0)
        if len(lost):
            knobs = [self.space.knobs[j] for j in self.columns]
            # the scenario's own column of the rows (out's columns are the whole space's; combos' the scenarios')
            unit = np.column_stack([k.to_unit(out[lost][:, j]) for j, k in zip(self.columns, knobs)])
            centres = np.column_stack([k.to_unit(self.combos[:, i]) for i, k in enumerate(knobs)])
            nearest = np.argmin(((unit[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
            out[np.ix_(lost, self.columns)] = self.combos[nearest]
        return out

    def label(self, s: int) -> str:
        """'size=512' (several scenarios: 'size=512, threads=4')."""
        if not self.active:
            return ""
        return combination_label((self.space.knobs[j].name, self.space.knobs[j].value(c))
                                 for j, c in zip(self.columns, self.combos[s]))


def combination_label(pairs) -> str:
    """The one label of a scenario combination, from (name, value) pairs: the run's tables, its step records
    and its reports match combinations by it. A value is written as the run's CSV files write it (an integer
    of a list with decimals stays '1': read back by pandas as 1.0 it would be another label)."""
    return ", ".join(f"{name}={format_value(value)}" for name, value in pairs)


def _round(values: np.ndarray, knob) -> np.ndarray:
    """Continuous scenario values to 4 significant digits (load=2.268, not 2.268192069604993), in range."""
    out = np.array([float(f"{v:.4g}") for v in values])
    return np.clip(out, knob.low, knob.high)


def balanced_shares(n: int, counts: list[int], serve: list[int]) -> dict[int, int]:
    """How many of n slots each served scenario gets: slot by slot to the one with the fewest points
    so far (evaluated plus given this step), ties to the first in the list. A scenario the initial
    design missed is served first; over steps every scenario gets its share, within one point.

    Computed as water filling, not slot by slot: the time grows with the scenarios, not with n (a step
    of 10**9 points spun for ever here)."""
    if not serve or n <= 0:
        return {}
    have = sorted(counts[s] for s in serve)
    # the level every scenario below it is filled up to: raise the lowest i+1 together until they reach
    # the next one, or the slots run out
    level, left = have[0], n
    for i in range(len(have)):
        step = (have[i + 1] - level) * (i + 1) if i + 1 < len(have) else None
        if step is not None and step <= left:
            level, left = have[i + 1], left - step
            continue
        level, left = level + left // (i + 1), left % (i + 1)
        break
    shares = {s: max(level - counts[s], 0) for s in serve}
    for s in serve:   # the slots left over (fewer than the scenarios at the level): the first in the list
        if left and counts[s] <= level:
            shares[s] += 1
            left -= 1
    return {s: c for s, c in shares.items() if c}
