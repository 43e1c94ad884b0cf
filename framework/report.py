"""What an exploration found: the best designs (the front, for several costs), step by step and at the end.

Generic for every exploration plugin: the driver tracks, after each step, the
best value of a single objective or the hypervolume of the evaluated Pareto
front (feasible points only: status ok and every constraint met), records it in
the store, and at the end writes ``deffe_exploration.csv``: the front (or the
top-k for one cost), each point with its true costs where it was evaluated and
its predicted costs where a model is trained, plus the points an exploration
predicted without evaluating them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import Constraint, Cost
from .search.pareto import hypervolume, pareto_front, reference_point
from .space import DesignSpace
from .store import RunStore
from .tables import table_path, write_csv
from .values import format_value, quantity_text


def signed(costs: np.ndarray, signs: np.ndarray) -> np.ndarray:
    v = np.asarray(costs, dtype=float) * signs
    return np.where(np.isnan(v), math.inf, v)


@dataclass
class Tracker:
    """Best value (one objective) or hypervolume (several) of the evaluated designs, per step."""

    costs: list[Cost]
    constraints: list[Constraint]
    objectives: list[str]
    ref: np.ndarray | None = None
    history: list[float] = field(default_factory=list)

    def __post_init__(self):
        names = [c.name for c in self.costs]
        self.idx = [names.index(o) for o in self.objectives]
        self.signs = np.array([self.costs[i].sign for i in self.idx])

    def feasible(self, costs: np.ndarray, status: list[str]) -> np.ndarray:
        names = [c.name for c in self.costs]
        ok = np.array([s == "ok" for s in status], dtype=bool)
        for c in self.constraints:
            col = costs[:, names.index(c.cost)]
            ok &= np.array([c.holds(v) if np.isfinite(v) else False for v in col], dtype=bool)
        return ok & np.isfinite(costs[:, self.idx]).all(axis=1)

    def update(self, costs: np.ndarray, status: list[str]) -> dict:
        costs = np.asarray(costs, dtype=float).reshape(len(status), len(self.costs))
        ok = self.feasible(costs, status)
        if not ok.any():
            return {"feasible": 0}
        v = signed(costs[ok][:, self.idx], self.signs)
        if len(self.idx) == 1:
            best = float(self.signs[0] * v[:, 0].min())
            self.history.append(best)
            return {"feasible": int(ok.sum()), "best": best}
        if self.ref is None:
            self.ref = reference_point(v)
        hv = hypervolume(v, self.ref)
        self.history.append(hv)
        return {"feasible": int(ok.sum()), "hypervolume": hv, "front": int(len(pareto_front(v)))}


def exploration_table(store: RunStore, run_dir: Path, explore, costs: list[Cost], constraints: list[Constraint],
                      objectives: list[str], top_k: int, model: Any = None, report: dict | None = None,
                      several: bool = False) -> tuple[Path, list[list]]:
    """Write deffe_exploration.csv; return its path and rows (for printing)."""
    space: DesignSpace = explore.space
    names = [c.name for c in costs]
    tracker = Tracker(costs, constraints, objectives)
    samples = [s for _st, s in store.explore_samples(explore.name)]
    codes, cost_rows, status = [], [], []
    for s in samples:
        try:
            codes.append(space.code_row(s.params))
        except Exception:  # noqa: BLE001 - a point from before a change of the knob values
            continue
        cost_rows.append([s.costs.get(c, math.nan) for c in names])
        status.append(s.status)
    codes = np.array(codes, dtype=float).reshape(-1, len(space))
    cost_arr = np.array(cost_rows, dtype=float).reshape(-1, len(names))
    ok = tracker.feasible(cost_arr, status) if len(status) else np.zeros(0, dtype=bool)
    chosen = np.flatnonzero(ok)
    if len(chosen):
        v = signed(cost_arr[chosen][:, tracker.idx], tracker.signs)
        if len(tracker.idx) == 1:
            chosen = chosen[np.argsort(v[:, 0], kind="stable")[:top_k]]
        else:
            front = chosen[pareto_front(v)]
            v_front = signed(cost_arr[front][:, tracker.idx], tracker.signs)
            chosen = front[np.lexsort(v_front.T[::-1])]
    rows_codes = [codes[i] for i in chosen]
    true = [cost_arr[i] for i in chosen]
    kinds = ["evaluated"] * len(chosen)
    if report and report.get("predicted_codes") is not None:
        keys_done = {space.key(c) for c in codes}
        pred = report["prediction"]
        for c, mean in zip(report["predicted_codes"], pred.mean):
            if space.key(c) in keys_done:
                continue
            rows_codes.append(c)
            true.append(np.full(len(names), math.nan))
            kinds.append("predicted")
    predicted = None
    if model is not None and rows_codes:
        try:
            predicted = model.Predict(np.array(rows_codes)).mean
        except Exception:  # noqa: BLE001 - a model that cannot predict leaves the column empty
            predicted = None
    header = space.names + names + [f"predicted-{c}" for c in names] + ["source", "rank"]
    rows = []
    for r, (c, t, kind) in enumerate(zip(rows_codes, true, kinds)):
        values = space.values(c)
        p = predicted[r] if predicted is not None else [math.nan] * len(names)
        rows.append([values[n] for n in space.names] + list(t) + list(p) + [kind, r + 1])
    path = table_path(run_dir, explore, "exploration", several)
    write_csv(path, header, rows)
    return path, rows


def front_text(rows: list[list], space: DesignSpace, costs: list[Cost], limit: int = 10) -> str:
    """The best designs for the terminal: each design's costs (with units) on one line, its knobs on the next.

    Nothing is cut off. The knobs that differ between the designs shown come first (they are what the
    choice is about); knobs set alike in all of them are listed once. A repeated knob (``device_0`` ..
    ``device_15``) is shown as one list.
    """
    if not rows:
        return "  (no feasible design evaluated)"
    names = [c.name for c in costs]
    k = len(space.names)
    shown = rows[:limit]
    groups = _knob_groups(space)
    texts = [[_group_text(row[:k], space, members) for _label, members in groups] for row in shown]
    varying = [g for g in range(len(groups)) if len({t[g] for t in texts}) > 1 or len(shown) == 1]
    same = [g for g in range(len(groups)) if g not in varying]
    lines = []
    if same:
        lines.append("  every design below has " + ", ".join(f"{groups[g][0]}={texts[0][g]}" for g in same))
    for row, text in zip(shown, texts):
        true = row[k:k + len(names)]
        pred = row[k + len(names):k + 2 * len(names)]
        vals = []
        for cost, t, p in zip(costs, true, pred):
            if isinstance(t, float) and math.isfinite(t):
                vals.append(f"{cost.name}={quantity_text(t, cost.unit)}")
            elif isinstance(p, float) and math.isfinite(p):
                vals.append(f"{cost.name}~{quantity_text(p, cost.unit)} (predicted)")
        lines.append(f"  {row[-1]:>3}. {', '.join(vals)}")
        if varying:
            lines.append("       " + ", ".join(f"{groups[g][0]}={text[g]}" for g in varying))
    if len(rows) > limit:
        lines.append(f"  ... {len(rows) - limit} more in the table")
    return "\n".join(lines)


def _knob_groups(space: DesignSpace) -> list[tuple[str, list[int]]]:
    """(label, knob positions): a repeated knob's members together under the family name."""
    groups: list[tuple[str, list[int]]] = []
    family_at: dict[str, int] = {}
    for i, knob in enumerate(space.knobs):
        if knob.family is None:
            groups.append((knob.name, [i]))
        elif knob.family in family_at:
            groups[family_at[knob.family]][1].append(i)
        else:
            family_at[knob.family] = len(groups)
            groups.append((knob.family, [i]))
    return groups


def _group_text(values: list, space: DesignSpace, members: list[int]) -> str:
    if len(members) == 1 and space.knobs[members[0]].family is None:
        return format_value(values[members[0]])
    return "[" + " ".join(format_value(values[i]) for i in members) + "]"
