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
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import Constraint, Cost
from .metrics import magnitude_exponents
from .scenarios import MAX_SCENARIOS, ScenarioSet, combination_label
from .search.pareto import hypervolume, pareto_front, reference_point
from .space import DesignSpace
from .store import RunStore
from .tables import row_formatter, table_path, write_csv
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
    scenario_refs: dict[str, np.ndarray] = field(default_factory=dict)
    scenario_history: dict[str, list[float]] = field(default_factory=dict)
    # per scenario label (None: all designs): the power of ten each objective's hypervolume is measured in
    exponents: dict = field(default_factory=dict)

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

    def update(self, costs: np.ndarray, status: list[str], scenarios: list[str] | None = None) -> dict:
        """The step's record; with ``scenarios`` (each sample's scenario label, see `scenario_labels`) the
        best or hypervolume of each scenario too, under "scenarios" (each with its own reference point):
        the combined figure mixes problem sizes whose costs differ by orders of magnitude."""
        costs = np.asarray(costs, dtype=float).reshape(len(status), len(self.costs))
        info = self._summary(costs, status, None, self.history)
        if scenarios is not None and len(set(scenarios)) > 1:
            labels = np.array(scenarios, dtype=object)
            info["scenarios"] = {}
            # in the combinations' order (that of the knobs' values, as the tables and reports give them, which
            # `scenario_labels` says), not in the order first evaluated: the progress line shows the first few
            met = dict.fromkeys(scenarios)
            order = [x for x in getattr(scenarios, "order", None) or [] if x in met]
            for label in order + [x for x in met if x not in order]:
                mine = labels == label
                info["scenarios"][label] = self._summary(costs[mine], [s for s, m in zip(status, mine) if m],
                                                         label, self.scenario_history.setdefault(label, []))
        return info

    def _summary(self, costs: np.ndarray, status: list[str], label: str | None, history: list[float]) -> dict:
        ok = self.feasible(costs, status)
        if not ok.any():
            return {"feasible": 0}
        v = signed(costs[ok][:, self.idx], self.signs)
        if len(self.idx) == 1:
            best = float(self.signs[0] * v[:, 0].min())
            history.append(best)
            return {"feasible": int(ok.sum()), "best": best}
        # the reference covers every feasible point so far (as the surrogate exploration's, guided.py): one
        # fixed from the first step's points gave later front points outside its box no volume
        ref = reference_point(v)
        if label is None:
            self.ref = ref
        else:
            self.scenario_refs[label] = ref
        # objectives of an extreme magnitude are measured in a power of ten of their own, fixed at the first
        # step that had them: the volume of costs near 1e-300 (a product of ~1e-300 extents) underflowed to 0
        # and that of costs near 1e300 overflowed; the record says which power of ten of the units it is in
        exps = self.exponents.setdefault(label, magnitude_exponents(v))
        scale = 10.0 ** exps
        hv = hypervolume(v / scale, ref / scale) if exps.any() else hypervolume(v, ref)
        history.append(hv)
        out = {"feasible": int(ok.sum()), "hypervolume": hv, "front": int(len(pareto_front(v)))}
        if exps.any():
            out["hypervolume_exponent"] = int(exps.sum())   # the volume is hypervolume x 10^this in cost units
        return out


class ScenarioLabels(list):
    """Each point's scenario label, and under ``order`` the distinct labels in the combinations' order."""
    order: list[str]


def scenario_labels(space: DesignSpace, params: list[dict]) -> ScenarioLabels | None:
    """Each point's scenario label ('size=512'), for `Tracker.update`; None without scenarios. Its ``order``:
    the labels met in the order of the knobs' values, the first scenario varying slowest (that of the
    combinations in the tables and reports: size=16, 32, 64, not the order evaluated)."""
    knobs = [k for k in space.knobs if k.scenario and not (k.finite and k.size == 1)]
    if not knobs:
        return None
    out = ScenarioLabels(combination_label((k.name, p.get(k.name)) for k in knobs) for p in params)
    keys: dict[str, tuple] = {}
    for label, p in zip(out, params):
        keys.setdefault(label, tuple(_value_rank(k, p.get(k.name)) for k in knobs))
    out.order = sorted(keys, key=keys.__getitem__)   # stable: values no knob has keep the order met
    return out


def _value_rank(knob, value) -> float:
    """Where a value stands among a knob's values (its code); a value it does not have goes last."""
    try:
        return float(knob.code(value))
    except (ValueError, TypeError, KeyError):
        return math.inf


def exploration_table(store: RunStore, run_dir: Path, explore, costs: list[Cost], constraints: list[Constraint],
                      objectives: list[str], top_k: int, model: Any = None, report: dict | None = None,
                      several: bool = False) -> tuple[Path, list[list]]:
    """Write deffe_exploration.csv; return its path and rows (for printing).

    With scenarios (conditions a design must serve, see scenarios.py) the table holds one front (or
    top-k) per scenario combination, in the order of the combinations, with a ``scenario`` column
    ('size=512') and the rank counted within each; without, one front as before."""
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
    scen = ScenarioSet.from_report(space, report) or ScenarioSet.observed(space, codes)
    where = scen.index(codes) if len(codes) else np.zeros(0, dtype=int)
    pred_codes, pred_mean = _predicted_points(report, space, codes, len(names))
    pred_where = scen.index(pred_codes) if len(pred_codes) else np.zeros(0, dtype=int)
    chosen = [_best_rows(np.flatnonzero(ok & (where == s)), cost_arr, tracker, top_k) for s in range(len(scen))]
    shown = np.concatenate(chosen).astype(int) if chosen else np.zeros(0, dtype=int)
    model_mean = None   # the model's prediction of the evaluated rows shown, then of the predicted points
    if model is not None and (len(shown) or len(pred_codes)):
        try:
            model_mean = np.asarray(model.Predict(np.vstack([codes[shown], pred_codes])).mean, dtype=float)
        except Exception:  # noqa: BLE001 - a model that cannot predict leaves the column empty
            model_mean = None
        if model_mean is not None and model_mean.shape != (len(shown) + len(pred_codes), len(names)):
            model_mean = None
    if model_mean is not None:   # the predicted points are judged by the model whose predictions the table shows
        pred_mean = model_mean[len(shown):]
    evaluated_mean = dict(zip(shown.tolist(), model_mean)) if model_mean is not None else {}
    rows_codes, true, kinds, groups, predicted = [], [], [], [], []
    for s in range(len(scen)):
        extra = _predicted_front(np.flatnonzero(pred_where == s), pred_mean, cost_arr[chosen[s]], tracker)
        rows_codes += [codes[i] for i in chosen[s]] + [pred_codes[i] for i in extra]
        true += [cost_arr[i] for i in chosen[s]] + [np.full(len(names), math.nan)] * len(extra)
        kinds += ["evaluated"] * len(chosen[s]) + ["predicted"] * len(extra)
        groups += [s] * (len(chosen[s]) + len(extra))
        if model_mean is not None:
            predicted += [evaluated_mean[int(i)] for i in chosen[s]] + [pred_mean[i] for i in extra]
    header = space.names + names + [f"predicted-{c}" for c in names] + \
        (["scenario"] if scen.active else []) + ["source", "rank"]
    rows, rank = [], {}
    for r, (c, t, kind, s) in enumerate(zip(rows_codes, true, kinds, groups)):
        values = space.values(c)
        p = predicted[r] if predicted else [math.nan] * len(names)
        rank[s] = rank.get(s, 0) + 1
        rows.append([values[n] for n in space.names] + list(t) + list(p) +
                    ([scen.label(s)] if scen.active else []) + [kind, rank[s]])
    path = table_path(run_dir, explore, "exploration", several)
    # the costs (true and predicted) as in deffe_evaluation.csv: a whole number without '.0' (16, not 16.0)
    fmt = row_formatter(len(space.names), len(names))
    write_csv(path, header, [fmt(row) for row in rows], str)
    out = FrontRows(rows)
    out.labelled = scen.active
    if scen.active:   # the summary's sections: the combinations served, each with its evaluated designs
        # an exploration that does not say which it served: every combination of the config, or, when the
        # data gave every design (-only-preloaded-data-exploration), those the data gave (the config's others
        # can have no design: listing them 'without a feasible design' says they were served)
        from_data = bool(samples) and all(s.origin == "pre-evaluated" for s in samples)
        served = scen if report and report.get("scenario_codes") is not None else \
            ScenarioSet.observed(space, codes) if from_data else ScenarioSet.of(space)
        if served.active and not served.representative:
            at = served.index(codes) if len(codes) else np.zeros(0, dtype=int)
            out.evaluated = {served.label(s): int((at == s).sum()) for s in range(len(served))}
        elif served.active:
            out.evaluated = {scen.label(s): int((where == s).sum()) for s in range(len(scen))
                             if s in set(groups)}
        # designs of combinations the exploration did not serve (preloaded data of more combinations than it
        # serves, see scenarios.py) are in no front: the summary counts them rather than leave them out unsaid
        outside = where < 0
        if outside.any():
            out.outside = (int(outside.sum()), len(np.unique(codes[outside][:, scen.columns], axis=0)), len(scen))
    return path, out


class FrontRows(list):
    """exploration_table's rows, and for the summary (`front_text`) the scenario combinations served with
    how many designs each had evaluated (``evaluated``: label -> count, in the order served; None without
    scenarios)."""
    evaluated: dict[str, int] | None = None
    # False: the rows carry no scenario label, one front over every combination (an exploration that does not
    # say which it served, with more than MAX_SCENARIOS among its evaluated points)
    labelled: bool = True
    # evaluated designs of combinations not served, how many such combinations, how many were served
    outside: tuple[int, int, int] | None = None


def _predicted_points(report: dict | None, space: DesignSpace, done: np.ndarray,
                      n_costs: int) -> tuple[np.ndarray, np.ndarray]:
    """The points an exploration predicted without evaluating them (its Report()'s "predicted_codes", those
    evaluated since left out) and the costs it predicted for them (NaN where it gave none)."""
    empty = np.empty((0, len(space))), np.empty((0, n_costs))
    if not report or report.get("predicted_codes") is None:
        return empty
    every = np.asarray(report["predicted_codes"], dtype=float).reshape(-1, len(space))
    keys_done = {space.key(c) for c in done}
    keep = [i for i, c in enumerate(every) if space.key(c) not in keys_done]
    mean = getattr(report.get("prediction"), "mean", None)
    mean = np.asarray(mean, dtype=float) if mean is not None else None
    if mean is None or mean.shape != (len(every), n_costs):
        mean = np.full((len(every), n_costs), math.nan)
    return every[keep], mean[keep]


def _predicted_front(idx: np.ndarray, mean: np.ndarray, evaluated: np.ndarray, tracker: Tracker) -> list[int]:
    """Of the predicted points idx (of one scenario combination), those the table shows: predicted to meet
    every constraint and, with several objectives, not dominated by the evaluated front shown (its true
    costs) nor by another of them. With one objective the table is the top_k, and the predicted points
    that meet the constraints and are predicted at least as good as the best evaluated one follow the
    evaluated ones, best first. Without a prediction of a point's costs (no
    model, a plugin that gives none) it cannot be judged and is shown."""
    keep = []
    for i in idx:
        p = mean[i]
        if not np.isnan(p).all() and not tracker.feasible(p[None, :], ["ok"])[0]:
            continue
        keep.append(int(i))
    if not keep:
        return keep
    judged = [i for i in keep if not np.isnan(mean[i]).all()]
    if len(tracker.idx) == 1:   # after the evaluated rows: none predicted worse than their best, best first
        v = signed(mean[judged][:, tracker.idx], tracker.signs)[:, 0] if judged else np.zeros(0)
        best = signed(evaluated[:, tracker.idx], tracker.signs)[:, 0].min() if len(evaluated) else math.inf
        order = [judged[j] for j in np.argsort(v, kind="stable") if v[j] <= best]
        return order + [i for i in keep if i not in judged]
    v = np.vstack([signed(evaluated[:, tracker.idx], tracker.signs).reshape(-1, len(tracker.idx)),
                   signed(mean[judged][:, tracker.idx], tracker.signs)])
    front = set((pareto_front(v) - len(evaluated)).tolist())
    return [i for j, i in enumerate(judged) if j in front] + [i for i in keep if i not in judged]


def _best_rows(idx: np.ndarray, cost_arr: np.ndarray, tracker: Tracker, top_k: int) -> np.ndarray:
    """Of the feasible rows idx: the top_k best (one objective) or the front, in order of the costs."""
    if not len(idx):
        return idx
    v = signed(cost_arr[idx][:, tracker.idx], tracker.signs)
    if len(tracker.idx) == 1:
        return idx[np.argsort(v[:, 0], kind="stable")[:top_k]]
    front = idx[pareto_front(v)]
    v_front = signed(cost_arr[front][:, tracker.idx], tracker.signs)
    return front[np.lexsort(v_front.T[::-1])]


def front_text(rows: list[list], space: DesignSpace, costs: list[Cost], limit: int = 10) -> str:
    """The best designs for the terminal: each design's costs (with units) on one line, its knobs on the next.

    Nothing is cut off. The knobs that differ between the designs shown come first (they are what the
    choice is about); knobs set alike in all of them are listed once. A repeated knob (``device_0`` ..
    ``device_15``) is shown as one list. With scenarios, one section per scenario combination (rows of
    exploration_table carry its label before source and rank), each with its own front, headed by how many
    designs of the combination were evaluated (when exploration_table says: its `FrontRows`), how many of
    them the front (or top-k) lists, and how many predicted designs follow.
    """
    scenario_knobs = [j for j, k in enumerate(space.knobs) if k.scenario and not (k.finite and k.size == 1)]
    if not scenario_knobs:
        return _front_lines(rows, space, costs, limit, [])
    if not getattr(rows, "labelled", True):   # the table's one front: each row's row[-3] is a cost, not a label
        listed = sum(1 for row in rows if row[-2] == "evaluated")
        return (f"  every scenario combination together (more than {MAX_SCENARIOS} among the evaluated designs: "
                f"one front over all; {listed} listed):\n"
                + textwrap.indent(_front_lines(rows, space, costs, limit, []), "  "))
    counts = getattr(rows, "evaluated", None)
    if counts is not None:   # the combinations the exploration served (exploration_table), in its order
        sections: dict[str, list[list]] = {label: [] for label in counts}
    else:   # every combination of finite scenarios gets its section, one without a feasible design too
        scen = ScenarioSet.of(space)
        sections = {} if scen.representative else {scen.label(s): [] for s in range(len(scen))}
    for row in rows:
        sections.setdefault(str(row[-3]), []).append(row)
    if not sections:
        return "  (no feasible design evaluated in any scenario)"
    lines = []
    for label, group in sections.items():
        listed = sum(1 for row in group if row[-2] == "evaluated")
        parts = [] if counts is None else [f"{counts.get(label, 0)} evaluated design"
                                           f"{'s' if counts.get(label, 0) != 1 else ''}"]
        if listed or counts is None:
            parts.append(f"{listed} listed")
        if len(group) > listed:
            parts.append(f"{len(group) - listed} predicted")
        lines.append(f"  {label} ({', '.join(parts)}):")
        lines.append(textwrap.indent(_front_lines(group, space, costs, limit, scenario_knobs), "  "))
    outside = getattr(rows, "outside", None)
    if outside:
        n, combos, served = outside
        lines.append(f"  ({n} more evaluated design{'s' if n != 1 else ''}, of {combos} other scenario "
                     f"combination{'s' if combos != 1 else ''}, {'are' if n != 1 else 'is'} in no section: the "
                     f"exploration serves {served} combinations; deffe_evaluation.csv lists every design)")
    return "\n".join(lines)


def _front_lines(rows: list[list], space: DesignSpace, costs: list[Cost], limit: int,
                 hidden: list[int]) -> str:
    """The designs of one front; knobs at positions `hidden` (the scenario of a section) are left out."""
    if not rows:
        return "  (no feasible design evaluated)"
    names = [c.name for c in costs]
    k = len(space.names)
    shown = rows[:limit]
    groups = [(label, members) for label, members in _knob_groups(space) if not set(members) <= set(hidden)]
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
    if len(members) > 64:   # a knob repeated thousands of times: its ends, on one line (the tables hold it all)
        head, tail = members[:24], members[-8:]
        return ("[" + " ".join(format_value(values[i]) for i in head) + f" ... ({len(members) - 32} more) " +
                " ".join(format_value(values[i]) for i in tail) + "]")
    return "[" + " ".join(format_value(values[i]) for i in members) + "]"
