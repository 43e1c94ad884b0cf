"""What every report shows, derived once from a run read back (run_data.RunData): which evaluations are
feasible, the counts, the best designs, progress per evaluation, predictions next to true costs, the knob
importance tables. Generic over knobs and costs: nothing here knows what a design is.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics import magnitude_exponents
from ..config import CONSTRAINT   # the config's constraint syntax, read back from the manifest's text
from ..run_data import ExploreData, RunData
from ..scenarios import combination_label
from ..search.pareto import hypervolume, pareto_front, reference_point
from ..values import quantity_text, value_key

_OPS = {"<=": np.less_equal, "<": np.less, ">=": np.greater_equal, ">": np.greater}
MAX_SCENARIO_LINES = 8   # more scenario curves in one plot are unreadable: the first 8 are drawn, the title says so


@dataclass
class Explored:
    """One exploration with what the reports derive from it."""

    data: ExploreData
    prefix: str                 # '' for a run of one exploration, else a short name for sheets and files
    feasible: pd.Series         # per evaluation: status ok, every constraint met, every objective known
    scenario: pd.Series | None  # per evaluation: its scenario label ('size=16'), None without scenarios
    status: pd.Series | None = None   # per evaluation: its status (from the costs without a status column)
    # data.front is not deffe_exploration.csv but the front of the feasible evaluations so far, computed here:
    # the run stopped (or is still going on) before the end of the exploration, when the table is written
    provisional: bool = False


def explorations(run: RunData) -> list[Explored]:
    """Every exploration of the run; with several, each gets a distinct short prefix."""
    several = len(run.explores) > 1
    out, used = [], set()
    for i, ex in enumerate(run.explores.values(), start=1):
        prefix = ""
        if several:
            # short: a sheet name holds 31 characters, 'knob importance' and a space take 16
            prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", ex.name)[:14] or f"e{i}"
            if prefix in used:   # two names alike in their first characters
                prefix = f"{prefix[:10]}_{i}"
            used.add(prefix)
        feasible, scenario = feasible_mask(run, ex.evaluations), scenario_labels(ex)
        provisional = not ex.front_current
        if provisional:   # every report shows (and counts) the same front: that of the evaluations shown
            ex = replace(ex, front=front_so_far(run, ex, feasible, scenario))
        out.append(Explored(ex, prefix, feasible, scenario, statuses(run, ex.evaluations), provisional))
    return out


TOP_K = 10   # rows of a run's top designs for one objective (exploration.top_k's default: not in the manifest)


def front_so_far(run: RunData, ex: ExploreData, feasible: pd.Series, scenario: pd.Series | None) -> pd.DataFrame:
    """The front (several objectives) or the TOP_K best designs (one) of the feasible evaluations, as
    deffe_exploration.csv holds them (without the model's predictions): a front per scenario combination,
    in the order first evaluated, with a ``scenario`` column and the rank counted within each. What the
    reports show of a run stopped before the end of its exploration, where the table is written."""
    ev = ex.evaluations
    objectives = [o for o in run.objectives if o in ev]
    columns = [k for k in ex.knobs if k in ev] + [c for c in run.cost_names if c in ev]
    labels = list(dict.fromkeys(scenario[feasible])) if scenario is not None else []
    if ev.empty or not objectives or not feasible.any():
        return pd.DataFrame(columns=columns + (["scenario"] if labels else []) + ["source", "rank"])
    signed = np.column_stack([pd.to_numeric(ev[o], errors="coerce").to_numpy(dtype=float) * cost_sign(run, o)
                              for o in objectives])
    groups = [(label, feasible & scenario.eq(label)) for label in labels] if labels else [(None, feasible)]
    parts = []
    for label, mask in groups:
        idx = np.flatnonzero(mask.to_numpy())
        v = signed[idx]
        if len(objectives) == 1:
            keep = idx[np.argsort(v[:, 0], kind="stable")[:TOP_K]]
        else:
            keep = idx[pareto_front(v)]
            keep = keep[np.lexsort(signed[keep].T[::-1])]
        part = ev.iloc[keep][columns].reset_index(drop=True)
        if label is not None:
            part["scenario"] = label
        part["source"] = "evaluated"
        part["rank"] = np.arange(1, len(part) + 1)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def cost_unit(run: RunData, name: str) -> str | None:
    return next((c.get("unit") for c in run.costs if c["name"] == name), None)


def cost_sign(run: RunData, name: str) -> float:
    """+1 for a cost to minimise, -1 for one to maximise: signed costs are always minimised."""
    direction = next((c.get("direction") for c in run.costs if c["name"] == name), "min")
    return -1.0 if direction == "max" else 1.0


def feasible_mask(run: RunData, ev: pd.DataFrame) -> pd.Series:
    """The evaluations that count as designs: status ok, every constraint met, every objective a number
    (as the driver's Tracker decides)."""
    if ev.empty:
        return pd.Series([], dtype=bool)
    ok = statuses(run, ev).eq("ok")
    for text in run.constraints:
        m = CONSTRAINT.match(text)
        if not m or m.group(1) not in ev:
            continue
        try:
            bound = float(m.group(3))
        except ValueError:
            continue
        values = pd.to_numeric(ev[m.group(1)], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            ok &= pd.Series(_OPS[m.group(2)](values, bound) & np.isfinite(values), index=ev.index)
    for o in run.objectives:
        if o in ev:
            ok &= pd.Series(np.isfinite(pd.to_numeric(ev[o], errors="coerce").to_numpy(dtype=float)),
                            index=ev.index)
        else:
            ok &= False
    return ok.astype(bool)


def scenario_labels(ex: ExploreData) -> pd.Series | None:
    """Each evaluation's scenario ('size=16'), as report.scenario_labels writes it; scenario knobs held at
    one value take no part."""
    ev = ex.evaluations
    # the values as the table writes them where load_run has them: pandas' typed ones print an integer of a
    # column with decimals as '1.0', which matches no label of the front table or the step records ('s=1')
    text = ex.scenarios_as_written
    if text is None or len(text) != len(ev):
        text = ev
    knobs = [k for k in ex.scenarios if k in text and text[k].nunique(dropna=False) > 1]
    if not knobs or ev.empty:
        return None
    return pd.Series([combination_label((k, row[k]) for k in knobs) for _i, row in text[knobs].iterrows()],
                     index=ev.index, dtype=object)


def scenario_order(ex: Explored) -> list[str]:
    """The scenario labels of the evaluations in the order the run wrote them: that of deffe_exploration.csv
    and of the summary (the combinations in the order of the config's values), then any other in the order
    evaluated (a combination without a feasible design has no row in the front)."""
    if ex.scenario is None:
        return []
    front = ex.data.front
    written = [str(v) for v in front["scenario"]] if "scenario" in front else []
    present = set(ex.scenario)
    return list(dict.fromkeys(label for label in written + list(ex.scenario) if label in present))


def statuses(run: RunData, ev: pd.DataFrame) -> pd.Series:
    """Each evaluation's status; a table without its status column (edited in a spreadsheet): 'ok' where
    every cost is a number, 'failed' elsewhere (load_run warns of it)."""
    if "status" in ev:
        return ev["status"].astype(str)
    costs = [c for c in run.cost_names if c in ev]
    if len(costs) < len(run.cost_names):
        return pd.Series("failed", index=ev.index, dtype=object)
    known = np.isfinite(ev[costs].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)).all(axis=1)
    return pd.Series(np.where(known, "ok", "failed"), index=ev.index, dtype=object)


def counts(ex: Explored) -> dict[str, int]:
    """Evaluated, feasible, and how the others ended (infeasible, failed, timed out, constraint broken)."""
    ev = ex.data.evaluations
    status = ex.status if ex.status is not None else \
        ev["status"].astype(str) if "status" in ev else pd.Series([], dtype=str)
    out = {"evaluated": int(len(ev)), "feasible": int(ex.feasible.sum()),
           "infeasible": int(status.eq("infeasible").sum()),
           "failed": int((~status.isin(["ok", "infeasible"])).sum())}
    out["constraint violated"] = max(0, int(status.eq("ok").sum()) - out["feasible"])
    if "status" in ev:
        for s, n in status.value_counts().items():
            if s not in ("ok", "infeasible"):
                out[f"  status {s}"] = int(n)
    return out


def no_front(ex: ExploreData) -> str:
    """Why an exploration's front is empty: no design was feasible, in its table or (before the table is
    written, at the end of the exploration) in the evaluations so far."""
    table = ex.files.get("exploration")
    name = table.name if table is not None else "deffe_exploration.csv"
    if not ex.front_current:
        if ex.evaluations.empty:
            return f"no front yet: no evaluation yet ({name} is written at the end of the exploration)"
        return (f"no feasible design yet: none of the {len(ex.evaluations)} evaluations so far succeeded and met "
                f"every constraint ({name} is written at the end of the exploration)")
    if table is not None and table.is_file():
        return (f"no feasible design: none of the {len(ex.evaluations)} evaluations succeeded and met every "
                f"constraint ({table.name} is empty)")
    return "no front yet: deffe_exploration.csv is written at the end of the run"


def best_designs(run: RunData, ex: Explored) -> pd.DataFrame:
    """The feasible evaluation best in each objective (with scenarios, in each scenario too): a row per
    objective (and scenario), its knobs and every cost. A tie goes to the design best in the other
    objectives (lexicographically, in their order), so the design shown is on the front."""
    ev = ex.data.evaluations
    if ev.empty or not ex.feasible.any():
        return pd.DataFrame()
    groups = [("", ex.feasible)]
    if ex.scenario is not None:
        groups = [(label, ex.feasible & ex.scenario.eq(label)) for label in scenario_order(ex)]
    rows = []
    for label, mask in groups:
        if not mask.any():
            continue
        for o in run.objectives:
            # ties broken by the other objectives in turn: the design shown is never dominated by another
            order = [o] + [q for q in run.objectives if q != o]
            signed = pd.DataFrame({n: pd.to_numeric(ev.loc[mask, q], errors="coerce") * cost_sign(run, q)
                                   for n, q in enumerate(order)})
            signed = signed[signed[0].notna()].fillna(np.inf)
            if signed.empty:
                continue
            i = signed.sort_values(list(signed.columns), kind="stable").index[0]
            rows.append({"best in": o, **({"scenario": label} if label else {}),
                         **{k: ev.at[i, k] for k in ex.data.knobs if k in ev},
                         **{c: ev.at[i, c] for c in run.cost_names if c in ev}})
    return pd.DataFrame(rows)


def best_so_far(run: RunData, ex: Explored, mask: pd.Series | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(evaluation number from 1, best feasible value of the first objective so far) of the evaluations
    in `mask` (all by default); NaN before the first feasible one."""
    ev = ex.data.evaluations
    o = run.objectives[0]
    sel = ex.feasible if mask is None else (ex.feasible & mask)
    sign = cost_sign(run, o)
    v = np.where(sel.to_numpy(), pd.to_numeric(ev[o], errors="coerce").to_numpy(dtype=float) * sign, np.inf)
    best = np.minimum.accumulate(v) if len(v) else v
    best = np.where(np.isfinite(best), best * sign, np.nan)
    return np.arange(1, len(v) + 1), best


def hypervolume_progress(run: RunData, ex: Explored, label: str | None = None
                         ) -> tuple[np.ndarray, np.ndarray, int, str]:
    """(evaluations, hypervolume, its power of ten, where from) for several objectives: the volume is
    hypervolume x 10^power in the costs' units (power 0 but for costs beyond 1e100 or below 1e-100, whose
    volume in their own units under- or overflows: `metrics.magnitude_exponents`). The run's own per-step
    figures (recorded by the driver, its reference point) at the evaluation count each step ended at;
    without them, computed here after each evaluation with a reference point from every feasible design.
    With ``label``, of that scenario combination's designs only (its own record: a front pooled over problem
    sizes loses the larger size's designs to the smaller's)."""
    def record(s: dict) -> dict:
        return s if label is None else (s.get("scenarios") or {}).get(label) or {}
    steps = [s for s in ex.data.steps if finite(record(s).get("hypervolume"))]
    if steps and len(ex.data.sample_steps):
        ends = np.array(ex.data.sample_steps)
        x = np.array([int((ends <= s["step"]).sum()) for s in steps])
        powers = np.array([int(record(s).get("hypervolume_exponent") or 0) for s in steps])
        power = int(powers.max())   # (one per run and scenario: the tracker fixes it at its first step)
        hv = np.array([float(record(s)["hypervolume"]) for s in steps]) * 10.0 ** (powers - power)
        return x, hv, power, "per step, as recorded by the run"
    ev = ex.data.evaluations
    mine = ex.feasible if label is None else ex.feasible & ex.scenario.eq(label)
    if ev.empty or not mine.any():
        return np.zeros(0), np.zeros(0), 0, ""
    signed = np.column_stack([pd.to_numeric(ev[o], errors="coerce").to_numpy(dtype=float) * cost_sign(run, o)
                              for o in run.objectives])
    ok = mine.to_numpy()
    exps = magnitude_exponents(signed[ok])
    signed = signed / 10.0 ** exps
    ref = reference_point(signed[ok])
    n = len(ev)
    xs = np.unique(np.linspace(1, n, min(n, 200)).round().astype(int))   # at most 200 points: fast on any run
    hv = [hypervolume(signed[:k][ok[:k]], ref) if ok[:k].any() else np.nan for k in xs]
    return (xs, np.array(hv, dtype=float), int(exps.sum()),
            "after each evaluation, reference point from all feasible designs")


def predicted_vs_true(run: RunData, ex: ExploreData) -> pd.DataFrame:
    """Every prediction next to the true cost of the same point (matched by knob values: 4 and 4.0 are the
    same value), for the costs both tables hold; only evaluations with status ok."""
    pred, ev = ex.predictions, ex.evaluations
    knobs = [k for k in ex.knobs if k in pred and k in ev]
    if pred.empty or ev.empty or not knobs:
        return pd.DataFrame()
    ok = ev[ev["status"].astype(str).eq("ok")] if "status" in ev else ev
    true = {tuple(value_key(v) for v in row): i for i, row in zip(ok.index, ok[knobs].itertuples(index=False))}
    rows = []
    for i, row in zip(pred.index, pred[knobs].itertuples(index=False)):
        j = true.get(tuple(value_key(v) for v in row))
        if j is None:
            continue
        for c in run.cost_names:
            if f"predicted-{c}" in pred and c in ok:
                p, t = pred.at[i, f"predicted-{c}"], ok.at[j, c]
                if finite(p) and finite(t):
                    rows.append({"cost": c, "predicted": float(p), "true": float(t)})
    return pd.DataFrame(rows, columns=["cost", "predicted", "true"])


def learning_table(ex: ExploreData) -> pd.DataFrame:
    """The model's hold-out accuracy per step and cost: model_metrics.csv, or the store's step records."""
    mm = ex.model_metrics
    if mm is not None and not mm.empty and {"step", "cost"} <= set(mm.columns):
        return mm
    rows = []
    for s in ex.steps:
        model = s.get("model") or {}
        for cost, m in (model.get("metrics") or {}).items():
            rows.append({"step": s["step"], "cost": cost, "train": model.get("train"),
                         "holdout": model.get("holdout"),
                         "mape_percent": 100 * m["mape"] if finite(m.get("mape")) else math.nan,
                         "r2": m.get("r2"), "kendall_tau": m.get("kendall_tau"),
                         "top_k_recall": m.get("top_k_recall"), "model": model.get("chosen")})
    return pd.DataFrame(rows)


_IMPORTANCE_HEAD = re.compile(r"^knob importance for (?P<cost>.+?): (?P<method>[^,]+)")
_IMPORTANCE_ROW = re.compile(r"^\s+(?P<rank>\d+)\s+(?P<knob>\S+)\s+(?P<score>\S+)(?:\s+(?P<spread>\S+))?\s*$")


def knob_importance(path: Path | None) -> pd.DataFrame:
    """The rank tables of knob_importance.txt: cost, method, rank, knob, score, +- (permutation)."""
    if path is None or not path.is_file():
        return pd.DataFrame()
    rows, head, in_table = [], None, False
    for line in path.read_text(errors="replace").splitlines():
        m = _IMPORTANCE_HEAD.match(line)
        if m:
            head, in_table = m.groupdict(), False
            continue
        if head and line.strip().startswith("rank"):
            in_table = True
            continue
        r = _IMPORTANCE_ROW.match(line) if in_table else None
        if r is None:
            in_table = False
            continue
        score = _number(r["score"])
        if score is None:
            in_table = False
            continue
        rows.append({"cost": head["cost"], "method": head["method"], "rank": int(r["rank"]), "knob": r["knob"],
                     "score": score, "+-": _number(r["spread"]) if r["spread"] else math.nan})
    return pd.DataFrame(rows, columns=["cost", "method", "rank", "knob", "score", "+-"])


def memory_timelines(run_dir: Path, limit: int = 16) -> list[Path]:
    """Memory timeline files in the run directory (``*memory_timeline*.txt`` or ``.csv``), at most `limit`."""
    found = sorted(p for p in run_dir.glob("*memory_timeline*") if p.suffix in (".txt", ".csv") and p.is_file())
    return found[:limit]


def read_timeline(path: Path) -> tuple[np.ndarray, np.ndarray, str, str]:
    """(time, value, x label, y label) of a timeline file: a CSV's first two numeric columns, or the first
    two numbers of each line of a text file (ZPP-MEM's `timestamp bytes_in_use delta op`)."""
    if path.suffix == ".csv":
        df = pd.read_csv(path)
        num = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
        if len(num) < 2:
            return np.zeros(0), np.zeros(0), "", ""
        return df[num[0]].to_numpy(dtype=float), df[num[1]].to_numpy(dtype=float), str(num[0]), str(num[1])
    xs, ys = [], []
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        x, y = (_number(parts[0]), _number(parts[1])) if len(parts) >= 2 else (None, None)
        if x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    return np.array(xs), np.array(ys), "time (as written)", "in use"


def cost_text(run: RunData, name: str, value) -> str:
    """A cost for people: with its unit ('206.6 ms'); empty where there is none."""
    return quantity_text(float(value), cost_unit(run, name)) if finite(value) else ""


def finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _number(text: str | None) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None

