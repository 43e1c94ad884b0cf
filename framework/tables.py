"""CSV tables written from the run store (never the other way round).

``deffe_evaluation.csv``  every sample the exploration evaluated (or found
                          evaluated): knob columns by name, one column per
                          cost, then ``status``
``deffe_prediction.csv``  points whose costs were predicted: knob columns,
                          ``predicted-<cost>`` (and ``std-<cost>`` when the
                          model gives an uncertainty)
``deffe_output.csv``      both, with a ``source`` column

Files are replaced atomically, so a run killed while writing leaves the
previous complete table, and proper CSV quoting keeps text values with commas
or quotes intact.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Iterable

from .config import Explore
from .store import RunStore
from .values import format_value


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and math.isnan(v):
        return ""
    return format_value(v)


def write_csv(path: Path, header: list[str], rows: Iterable[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow([_cell(v) for v in row])
    os.replace(tmp, path)


def table_path(run_dir: Path, explore: Explore, kind: str, several: bool) -> Path:
    name = explore.tables[kind]
    p = Path(name)
    if p.is_absolute():
        return p
    return run_dir / (f"{explore.name}-{name}" if several else name)


def write_tables(store: RunStore, run_dir: Path, explore: Explore, cost_names: list[str],
                 several: bool) -> dict[str, Path]:
    names = explore.space.names
    samples = store.explore_samples(explore.name)
    eval_rows = [[s.params.get(n) for n in names] + [s.costs.get(c) for c in cost_names] + [s.status]
                 for _step, s in samples]
    paths = {k: table_path(run_dir, explore, k, several) for k in ("evaluation", "prediction", "output")}
    write_csv(paths["evaluation"], names + cost_names + ["status"], eval_rows)

    preds = store.predictions(explore.name)
    with_std = any(std is not None for _p, _m, std in preds)
    pred_header = names + [f"predicted-{c}" for c in cost_names]
    if with_std:
        pred_header += [f"std-{c}" for c in cost_names]
    pred_rows = []
    for params, mean, std in preds:
        row = [params.get(n) for n in names] + list(mean)
        if with_std:
            row += list(std) if std is not None else [None] * len(cost_names)
        pred_rows.append(row)
    write_csv(paths["prediction"], pred_header, pred_rows)

    out_rows = [[s.params.get(n) for n in names] + [s.costs.get(c) for c in cost_names] + [s.status, s.origin]
                for _step, s in samples]
    out_rows += [[params.get(n) for n in names] + list(mean) + ["predicted", "predicted"]
                 for params, mean, _std in preds]
    write_csv(paths["output"], names + cost_names + ["status", "source"], out_rows)
    return paths
