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
or quotes intact. A step that only adds rows appends them in one write instead
(the same bytes; the next run replaces every table whole again).
"""
from __future__ import annotations

import csv
import io
import math
import os
import stat
from pathlib import Path
from typing import Any, Callable, Iterable

from .atomic import replacing
from .config import Explore
from .store import RunStore
from .values import format_value


def cell(v) -> str:
    """A value as a CSV cell: empty for None or NaN, numbers as they read back."""
    if v is None:
        return ""
    if isinstance(v, float) and math.isnan(v):
        return ""
    return format_value(v)


def cost_cell(v) -> str:
    """A cost as a CSV cell: a whole number without '.0' (512, not 512.0), other numbers as they read back."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
        return str(int(v))
    return cell(v)


def csv_writer(fh):
    """Every CSV file of a run: Unix line ends (the csv module writes \\r\\n by default)."""
    return csv.writer(fh, lineterminator="\n")


def write_csv(path: Path, header: list[str], rows: Iterable[list], fmt: Callable[[Any], str] = cell) -> None:
    """Write a table atomically: a run killed while writing leaves the previous complete file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv_writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow([fmt(v) for v in row])


def _signature(path: Path) -> tuple | None:
    """What tells whether a regular file is still as it was written (None: missing, or not a regular file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else None


def _write_rows(store: RunStore, path: Path, header: list[str], rows: list[list[str]]) -> None:
    """One of a run's tables, of rows already as text. A step that only adds rows after those this store last
    wrote to the file, the file being as it left it, appends them (one write); otherwise the table is
    replaced whole, atomically. The bytes are the same either way: rewriting three whole tables after every
    step made a run of small steps quadratic (1,000 samples at 4 per step: 15 of 46 s)."""
    written = store.__dict__.setdefault("_written_tables", {})
    last = written.get(path)
    now = _signature(path)
    if last is not None and now is not None and last[2] == now and last[0] == header \
            and len(rows) >= len(last[1]) and rows[:len(last[1])] == last[1]:
        new = rows[len(last[1]):]
        if new:
            text = io.StringIO()
            csv_writer(text).writerows(new)
            with open(path, "a", newline="", encoding="utf-8") as fh:
                fh.write(text.getvalue())
    else:
        write_csv(path, header, rows, str)
    written[path] = (header, rows, _signature(path))


def table_path(run_dir: Path, explore: Explore, kind: str, several: bool) -> Path:
    name = explore.tables[kind]
    p = Path(name)
    if p.is_absolute():
        return p
    return run_dir / (f"{explore.name}-{name}" if several else name)


def row_formatter(n: int, c: int) -> Callable[[list], list[str]]:
    """The cells of a row of n knob values, then 2c costs (a table's costs and predicted costs, or predicted
    costs and their std), then the rest: the costs by cost_cell, whole numbers without '.0'."""
    def fmt(row: list) -> list[str]:   # knob values as they are, costs as costs, the rest as text
        return [cell(v) for v in row[:n]] + [cost_cell(v) for v in row[n:n + 2 * c]] + \
            [cell(v) for v in row[n + 2 * c:]]
    return fmt


def evaluation_table(samples: list, names: list[str], cost_names: list[str]) -> tuple[list[str], list[list[str]]]:
    """deffe_evaluation.csv's header and rows (as text) of the stored samples ``[(step, sample)]``."""
    fmt = row_formatter(len(names), len(cost_names))
    return names + cost_names + ["status"], \
        [fmt([s.params.get(k) for k in names] + [s.costs.get(k) for k in cost_names] + [s.status])
         for _step, s in samples]


def course_predictions(store: RunStore, explore: str, members: list | None = None
                       ) -> list[tuple[str, dict, list[float], list[float] | None]]:
    """The stored predictions (`RunStore.predictions`) that belong to the exploration's course: the one the
    last run to finish followed, whose samples are the exploration's members, as deffe_evaluation.csv lists
    them (a rerun with a smaller budget or another course keeps only what it was told, `keep_members`).

    Kept: the predictions of member points (the model predicted them before they were evaluated), and of
    points never evaluated for this exploration (an exploration's predicted front) stored at a step the
    course reaches. Left out: points evaluated for the exploration that are no members (an abandoned course
    evaluated them: they have real costs and are no prediction of this course), and never-evaluated points
    predicted at a later step than the course's last. Everything stays in the store, as samples do.
    ``members``: the exploration's stored samples with the running ones (`RunStore.explore_samples`), if read."""
    if members is None:
        members = store.explore_samples(explore, include_running=True)
    keys = {s.key for _st, s in members}
    last = max((st for st, _s in members), default=-1)
    preds = store.predictions(explore)
    others = [p[0] for p in preds if p[0] not in keys]
    evaluated = {k for k, s in store.lookup(others).items() if s.explore == explore and s.status != "running"}
    step = store.prediction_steps(explore)

    def mine(key: str) -> bool:
        if key in keys:
            return True
        return key not in evaluated and (step.get(key) is None or step[key] <= last)
    return [p for p in preds if mine(p[0])]


def _row_cache(store: RunStore, explore: str, names: list[str], cost_names: list[str]) -> dict:
    """The rows as text of the samples of the last tables written with these columns, by sample."""
    caches = store.__dict__.setdefault("_table_rows", {})
    return caches.setdefault((explore, tuple(names), tuple(cost_names)), {})


def write_tables(store: RunStore, run_dir: Path, explore: Explore, cost_names: list[str],
                 several: bool) -> dict[str, Path]:
    names = list(explore.space.names)
    members = store.explore_samples(explore.name, include_running=True)   # the one read of the step
    samples = [(st, s) for st, s in members if s.status != "running"]
    c = len(cost_names)
    fmt = row_formatter(len(names), c)
    # each sample's rows as text, made once: a sample read again (the store shares it while its row is
    # unchanged) is not formatted again at every step
    cache = _row_cache(store, explore.name, names, cost_names)
    rows = []
    for _step, s in samples:
        hit = cache.get(id(s))
        if hit is None or hit[0] is not s:
            values = [s.params.get(k) for k in names] + [s.costs.get(k) for k in cost_names]
            hit = (s, fmt(values + [s.status]), fmt(values + [s.status, s.origin]))
        rows.append(hit)
    cache.clear()
    cache.update((id(h[0]), h) for h in rows)

    header = names + cost_names + ["status"]
    paths = {k: table_path(run_dir, explore, k, several) for k in ("evaluation", "prediction", "output")}
    _write_rows(store, paths["evaluation"], header, [h[1] for h in rows])

    # every prediction the model made of a point before (or instead of) its evaluation, in this course
    preds = course_predictions(store, explore.name, members)
    pred_rows = [fmt([params.get(k) for k in names] + list(mean) + (list(std) if std is not None else [None] * c))
                 for _key, params, mean, std in preds]
    _write_rows(store, paths["prediction"],
                names + [f"predicted-{k}" for k in cost_names] + [f"std-{k}" for k in cost_names], pred_rows)

    # evaluated points with their true costs, and the points only predicted
    evaluated = {s.key for _step, s in samples}
    out_rows = [h[2] for h in rows]
    out_rows += [fmt([params.get(k) for k in names] + list(mean) + ["predicted", "predicted"])
                 for key, params, mean, _std in preds if key not in evaluated]
    _write_rows(store, paths["output"], names + cost_names + ["status", "source"], out_rows)
    return paths
