"""A finished (or running) run, read back as pandas DataFrames: what reports and the Python API show.

The driver writes ``deffe_run.json`` (the manifest) into the run directory when an exploration starts
(before its first evaluation) and after each step: the costs
(direction, unit), objectives, constraints, each exploration's knobs and table files, and the config's
own text. With it a run directory is self-describing: ``run_deffe.py -report RUN_DIR`` and
``framework.load_run(RUN_DIR)`` need nothing else, not even the config file (which may have changed or
moved since the run).

The tables are the run's CSV files (what a user sees), the per-step records come from the run store.
The manifest names the tables inside the run directory relative to it, so a run directory copied, moved,
or moved aside by ``-fresh`` (``run.1``) reads its own tables and checkpoints, never those of the
directory it came from.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .atomic import replacing
from .config import CONSTRAINT   # how the config reads a constraint: 'cost <= bound'
from .errors import DeffeError
from .store import DB_NAME, RunStore
from .values import value_key

MANIFEST = "deffe_run.json"
MANIFEST_FORMAT = 1


def manifest(config: Any, costs: list, explores: list, table_paths: dict[str, dict[str, Path]],
             objectives: list[str], run_dir: Path | None = None) -> dict:
    """What a report needs of a run, from the driver's objects (plain data, JSON-ready). Tables inside
    ``run_dir`` are named relative to it: a copy of the run directory reads its own."""
    text = getattr(config, "text", None)   # a config given as a dict (the Python API) has no file
    if text is None:
        try:
            text = Path(config.path).read_text()
        except OSError:
            text = None
    return {
        "format": MANIFEST_FORMAT,
        "config_path": str(config.path),
        "config_text": text,
        "config_includes": dict(getattr(config, "included", {}) or {}),   # rebuilt without them on the disk
        "costs": [{"name": c.name, "direction": c.direction, "unit": c.unit} for c in costs],
        "objectives": list(objectives),
        "constraints": [c.text for c in config.constraints],
        "explores": [{"name": e.name, "knobs": list(e.space.names),
                      "scenarios": [n for n, k in zip(e.space.names, e.space.knobs) if getattr(k, "scenario", False)],
                      "tables": {kind: _relative(p, run_dir) for kind, p in table_paths.get(e.name, {}).items()}}
                     for e in explores],
    }


def _relative(path: Path, run_dir: Path | None) -> str:
    """A table's path as the manifest keeps it: relative to the run directory when inside it."""
    path = Path(path)
    if run_dir is not None:
        try:
            return Path(path).absolute().relative_to(Path(run_dir).absolute()).as_posix()
        except ValueError:
            pass
    return str(path)


def write_manifest(run_dir: Path, data: dict) -> None:
    """Atomically: a report built while the run goes on never reads half a file."""
    with replacing(Path(run_dir) / MANIFEST) as tmp:
        tmp.write_text(json.dumps(data, indent=1, default=str))


@dataclass
class ExploreData:
    """One exploration of a run. Costs are floats (NaN where a sample has none)."""

    name: str
    knobs: list[str]
    scenarios: list[str]
    evaluations: pd.DataFrame         # every evaluated point: knobs, costs, status (in the order evaluated)
    predictions: pd.DataFrame         # points the model predicted: knobs, predicted-<cost>, std-<cost>
    front: pd.DataFrame               # the best designs (deffe_exploration.csv): knobs, costs, predicted-..., rank
    model_metrics: pd.DataFrame | None    # the model's hold-out accuracy per step (model_metrics.csv)
    steps: list[dict] = field(default_factory=list)   # the store's per-step records (best, hypervolume, model)
    files: dict[str, Path] = field(default_factory=dict)
    # the step each stored sample was asked in, in the order of `evaluations` (the store's order): how many
    # evaluations a step's record stands for; empty without a store
    sample_steps: list[int] = field(default_factory=list)
    knob_importance: Path | None = None   # knob_importance.txt, where the run wrote one
    # the scenario columns of `evaluations` as the table writes them (text, row for row): what the labels of
    # scenario combinations are made of, as the run made those of its front table and step records
    scenarios_as_written: pd.DataFrame | None = None
    # whether `front` (deffe_exploration.csv, written at the end of the exploration) is of every evaluation
    # shown: not on a run stopped, or still going on, before its end (no table yet, or the table of an earlier
    # run resumed, older than the evaluations the store holds)
    front_current: bool = True


@dataclass
class RunData:
    run_dir: Path
    costs: list[dict]                 # {"name", "direction", "unit"}
    objectives: list[str]
    constraints: list[str]
    config_text: str | None
    config_path: str | None
    explores: dict[str, ExploreData]
    # what a reader should know of the data (evaluations shown from the store, a table's missing column):
    # -report says them on stderr, load_run() as Python warnings
    warnings: list[str] = field(default_factory=list)
    config_includes: dict[str, str] = field(default_factory=dict)   # the included files' texts, by path

    @property
    def cost_names(self) -> list[str]:
        return [c["name"] for c in self.costs]

    def first(self) -> ExploreData:
        return next(iter(self.explores.values()))


# what pandas reads as missing by default: right for costs and numbers, wrong for a knob's text value
_MISSING = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
            "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def _read_table(path: Path | io.StringIO, knobs: list[str] = ()) -> pd.DataFrame:
    """A run's table; the knobs' columns as written ("NA", "None" are text values there, only an empty cell
    is missing), the others with pandas' missing values."""
    if isinstance(path, Path) and (not path.is_file() or path.stat().st_size == 0):
        return pd.DataFrame()
    try:
        header = pd.read_csv(path, nrows=0).columns
        if isinstance(path, io.StringIO):
            path.seek(0)
        missing = {c: ([""] if c in knobs else _MISSING) for c in header}
        return pd.read_csv(path, keep_default_na=False, na_values=missing)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as e:
        text = (e.strerror or str(e)) if isinstance(e, OSError) else str(e).splitlines()[0]
        line = re.search(r"\bline (\d+)", text)
        where = f"byte {e.start}" if isinstance(e, UnicodeDecodeError) else f"line {line.group(1)}" if line else None
        raise DeffeError(f"cannot read the table ({type(e).__name__}: {text})", file=str(path), where=where,
                         hint="restore it from a copy of the run, or run the command that made the run again: "
                              "it resumes the run and rewrites its tables") from None


def _costs_numeric(df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    for col in df.columns:
        base = col.split("-", 1)[1] if col.startswith(("predicted-", "std-")) else col
        if base in names:
            # floats always (docs/api.md): a column of whole numbers would read back as int64
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return df


def load_run(run_dir: str | os.PathLike) -> RunData:
    """Read a run directory written by the driver (its manifest, tables and store). What the reader should
    know of what it got (evaluations shown from the store, a table without its status column) is in
    ``RunData.warnings``."""
    run_dir = Path(run_dir).expanduser().absolute()
    path = run_dir / MANIFEST
    if not run_dir.is_dir():
        raise DeffeError(f"{run_dir}: no such run directory")
    if not path.is_file():
        hint = "run_deffe.py writes it when a run starts; a run directory without it (a run stopped before " \
               "its first evaluation, or made by an older version) gets it when the same command is run again " \
               "to resume" if (run_dir / DB_NAME).exists() else "run_deffe.py writes it in the run directory of each run"
        raise DeffeError(f"{path}: not found: {run_dir} is not a run directory", hint=hint)
    m = _read_manifest(path)
    names = [c["name"] for c in m.get("costs", [])]
    store = _open_store(run_dir / DB_NAME)
    explores: dict[str, ExploreData] = {}
    notes: list[str] = []
    try:
        for i, e in enumerate(m["explores"]):
            files = {k: _table_file(v, run_dir, m, f"explores[{i}].tables.{k}", str(path))
                     for k, v in (e.get("tables") or {}).items()}
            metrics = files.get("model_metrics")
            knobs = list(e.get("knobs", []))
            asked = store.explore_samples(e["name"], include_running=True) if store is not None else []
            stored = [(st, s) for st, s in asked if s.status != "running"]
            if len(asked) > len(stored):
                notes.append(f"{len(asked) - len(stored)} sample(s) of exploration '{e['name']}' are marked running "
                             f"in the run store: being evaluated now, or in flight when the run stopped (running "
                             f"the command that made the run again evaluates them)")
            evaluations = _read_table(files["evaluation"], knobs) if "evaluation" in files else pd.DataFrame()
            shown = files.get("evaluation")   # the text `evaluations` come from
            # the store is the record: what the tables show of the evaluations is checked against it
            stored_text = _stored_text(stored, knobs, names) if stored else None
            record = _costs_numeric(_read_table(stored_text, knobs), names) if stored else None
            stale = len(stored) > len(evaluations)
            if stale:   # a run killed (or still running) mid-step: tables at step ends
                table = files.get("evaluation", run_dir / "deffe_evaluation.csv")
                notes.append(f"{table}: {len(stored) - len(evaluations)} of the {len(stored)} evaluations in the "
                             f"run store are not in this table (the run stopped, or is still running, in the "
                             f"middle of a step: tables are written at the end of each step); they are shown "
                             f"from the store; running the command that made the run again resumes it and "
                             f"rewrites its tables")
                evaluations, shown = record.copy(), stored_text
            elif record is not None:   # a table edited by hand is not what the run measured
                edited = _edited_rows(_costs_numeric(evaluations.copy(), names), record, knobs, names)
                if len(evaluations) and "status" not in evaluations:
                    # the store holds each row's status (and its costs, and knob values of their own types):
                    # shown from it, not guessed from which costs a row has; the comparison above is of costs
                    notes.append(f"{files['evaluation']}: no 'status' column (edited?), and {edited} of its "
                                 f"{len(evaluations)} rows differ from the run store (a cost edited by hand?): "
                                 f"the store's values and statuses are shown; running the command that made the "
                                 f"run again rewrites the table")
                    evaluations, shown = record.copy(), stored_text
                elif edited:
                    notes.append(f"{files['evaluation']}: {edited} of its {len(evaluations)} rows differ from the "
                                 f"run store (a cost or status edited by hand?): the store's values are shown; "
                                 f"running the command that made the run again rewrites the table")
                    evaluations, shown = record.copy(), stored_text
            elif len(evaluations) and "status" not in evaluations:   # no store to tell: guessed from the costs
                notes.append(f"{files['evaluation']}: no 'status' column (edited?): rows with every cost are "
                             "counted as evaluated ok, the others as failed")
            front = _costs_numeric(_read_table(files["exploration"], knobs), names) if "exploration" in files \
                else pd.DataFrame()
            if record is not None:
                front, edited, unknown = _stored_front_costs(front, record, knobs, names)
                if edited:
                    notes.append(f"{files['exploration']}: the costs of {edited} of its evaluated designs differ "
                                 f"from the run store (edited by hand?): the store's values are shown; running "
                                 f"the command that made the run again rewrites the table")
                if unknown:
                    notes.append(f"{files['exploration']}: {unknown} of its rows marked evaluated are designs the "
                                 f"run store never evaluated (added or changed by hand?): they are left out; "
                                 f"running the command that made the run again rewrites the table")
            explores[e["name"]] = ExploreData(
                name=e["name"], knobs=knobs, scenarios=list(e.get("scenarios", [])),
                scenarios_as_written=_as_written(shown, list(e.get("scenarios", []))),
                evaluations=_costs_numeric(evaluations, names),
                predictions=_costs_numeric(_read_table(files["prediction"], knobs), names) if "prediction" in files
                else pd.DataFrame(),
                front=front,
                model_metrics=_read_table(metrics) if metrics is not None and metrics.is_file() else None,
                steps=[{"step": s, **_own_checkpoint(info, run_dir)} for s, info in store.steps(e["name"])]
                if store is not None else [],
                files=files,
                sample_steps=[st for st, _s in stored],
                front_current=not stale and (len(evaluations) == 0 or ("exploration" in files
                                                                        and files["exploration"].is_file())),
                knob_importance=_existing(run_dir / f"{e['name'] + '-' if len(m['explores']) > 1 else ''}"
                                                    "knob_importance.txt"))
    finally:
        if store is not None:
            store.close()
    return RunData(run_dir=run_dir, costs=list(m.get("costs", [])), objectives=list(m.get("objectives", [])),
                   constraints=list(m.get("constraints", [])), config_text=m.get("config_text"),
                   config_path=m.get("config_path"), explores=explores, warnings=notes,
                   config_includes=dict(m.get("config_includes") or {}))


REWRITE = "run the command that made the run again: it resumes the run and rewrites deffe_run.json"


def _read_manifest(path: Path) -> dict:
    """deffe_run.json, read and checked: what is not the manifest the driver writes (not JSON, not an object,
    a key of the wrong kind) is one DeffeError naming the file, the place in it and the way on."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DeffeError(f"not a run manifest: not text (a byte 0x{e.object[e.start]:02x} that is not UTF-8)",
                         file=str(path), where=f"byte {e.start}", hint=REWRITE) from None
    except OSError as e:
        raise DeffeError(f"cannot read the run manifest ({e.strerror or e})", file=str(path),
                         hint="make it readable (or restore it from a copy of the run), then try again") from None
    try:
        m = json.loads(text)
    except json.JSONDecodeError as e:
        raise DeffeError(f"not a run manifest: not JSON ({e.msg})", file=str(path),
                         where=f"line {e.lineno} column {e.colno}", hint=REWRITE) from None
    if not isinstance(m, dict):   # where the value starts: the place to look
        start = len(text) - len(text.lstrip())
        line = text.count("\n", 0, start) + 1
        raise DeffeError(f"not a run manifest (a JSON object), but {_kind(m)}", file=str(path),
                         where=f"line {line} column {start - (text.rfind(chr(10), 0, start) + 1) + 1}",
                         hint=REWRITE)
    check_manifest(m, str(path))
    return m


def check_manifest(m: Any, shown: str) -> None:
    """The manifest's structure, as the driver writes it: a hand-edited or damaged one is one DeffeError
    naming the place, never a KeyError of the code reading it."""
    def bad(where: str | None, what: str) -> None:
        raise DeffeError(what, file=shown, where=where, hint=REWRITE)

    def texts(value: Any, where: str, what: str) -> None:
        if not isinstance(value, list):
            bad(where, f"{what}, not {_kind(value)}")
        for i, v in enumerate(value):
            if not isinstance(v, str):
                bad(f"{where}[{i}]", f"a name (text), not {_kind(v)}")

    if not isinstance(m, dict):
        bad(None, f"not a run manifest (a JSON object), but {_kind(m)}")
    costs = m.get("costs", [])
    if not isinstance(costs, list):
        bad("costs", f"a list of costs, not {_kind(costs)}")
    for i, c in enumerate(costs):
        if not isinstance(c, dict):
            bad(f"costs[{i}]", f"a cost is an object with a name, not {_kind(c)}")
        if not isinstance(c.get("name"), str) or not c["name"]:
            bad(f"costs[{i}]", "no 'name'" if "name" not in c else f"a cost's name is text, not {_kind(c['name'])}")
        if c.get("direction", "min") not in ("min", "max"):
            bad(f"costs[{i}].direction", f"'min' or 'max', not {_kind(c['direction'])}")
        if not isinstance(c.get("unit"), (str, type(None))):
            bad(f"costs[{i}].unit", f"a unit is text, not {_kind(c['unit'])}")
    for key, what in (("objectives", "a list of cost names"), ("constraints", "a list of constraints (text)")):
        texts(m.get(key, []), key, what)
    # an objective or constraint on no cost would count every design as infeasible in the report
    names = [c["name"] for c in costs]
    if names:
        for i, o in enumerate(m.get("objectives", [])):
            if o not in names:
                bad(f"objectives[{i}]", f"'{o}' is not one of the run's costs ({', '.join(names)})")
        for i, text in enumerate(m.get("constraints", [])):
            found = CONSTRAINT.match(text)
            if found is None or found.group(1) not in names:
                bad(f"constraints[{i}]", f"'{text}' is not a constraint 'COST <= BOUND' on one of the run's "
                                         f"costs ({', '.join(names)})")
    for key in ("config_text", "config_path"):
        if not isinstance(m.get(key), (str, type(None))):
            bad(key, f"text, not {_kind(m[key])}")
    includes = m.get("config_includes") or {}
    if not isinstance(includes, dict) or not all(isinstance(v, str) for v in includes.values()):
        bad("config_includes", f"an object of the included files' texts, not {_kind(includes)}")
    explores = m.get("explores")
    if not isinstance(explores, list):
        bad("explores", f"a list of explorations, not {_kind(explores)}")
    seen = set()
    for i, e in enumerate(explores):
        where = f"explores[{i}]"
        if not isinstance(e, dict):
            bad(where, f"an exploration is an object with a name, not {_kind(e)}")
        if "name" not in e:
            bad(where, "no 'name'")
        if not isinstance(e["name"], str) or not e["name"]:
            bad(f"{where}.name", f"an exploration's name is text, not {_kind(e['name'])}")
        if e["name"] in seen:
            bad(f"{where}.name", f"'{e['name']}' is the name of an exploration before it")
        seen.add(e["name"])
        for key in ("knobs", "scenarios"):
            texts(e.get(key, []), f"{where}.{key}", "a list of knob names")
        tables = e.get("tables", {})
        if not isinstance(tables, dict):
            bad(f"{where}.tables", f"an object of the exploration's table files, not {_kind(tables)}")
        for kind, file in tables.items():
            if not isinstance(file, str) or not file:
                bad(f"{where}.tables.{kind}", f"a table's file is a path (text), not {_kind(file)}")


def _kind(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {json.dumps(value, default=str)}"[:60]


STORE_HINT = "restore deffe.db from a copy of the run, or run the command that made the run again with -fresh " \
             "to start it anew (the run directory is moved aside, nothing is deleted)"
_STORE_TABLES = ("meta", "samples", "membership", "predictions", "steps")


def _open_store(path: Path) -> RunStore | None:
    """A copy of the run store, or None without one; a store that is not one (emptied, another tool's SQLite
    file, a table missing) is one DeffeError naming it."""
    if not path.exists():
        return None
    if path.is_dir():
        raise DeffeError(f"{path.name} is a directory, not a run store", file=str(path), hint=STORE_HINT)
    if path.stat().st_size == 0:
        raise DeffeError("the run store is empty (0 bytes: cut short, e.g. by a full disk, or emptied): the "
                         "run's steps and evaluations cannot be read", file=str(path), hint=STORE_HINT)
    try:
        store = RunStore.snapshot(path)
    except sqlite3.Error as e:
        raise DeffeError(f"not a run store of run_deffe.py ({e})", file=str(path), hint=STORE_HINT) from None
    try:
        have = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as e:
        store.close()
        raise DeffeError(f"not a readable run store ({e})", file=str(path), hint=STORE_HINT) from None
    missing = [t for t in _STORE_TABLES if t not in have]
    if missing:
        store.close()
        raise DeffeError(f"not a run store of run_deffe.py (no table {', '.join(missing)})", file=str(path),
                         hint=STORE_HINT)
    return store


def _stored_text(stored: list, knobs: list[str], costs: list[str]) -> io.StringIO:
    """The evaluations of the store as deffe_evaluation.csv would hold them (the driver's own rows): the run's
    files are not written."""
    from .tables import evaluation_table
    header, rows = evaluation_table(stored, knobs, costs)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    text.seek(0)
    return text


def _as_written(source: Path | io.StringIO | None, columns: list[str]) -> pd.DataFrame | None:
    """``columns`` of a table as its text (pandas reads '1' of a column with '2.5' as 1.0, which a label
    built from it writes '1.0'); None without the table or the columns."""
    if source is None or not columns or (isinstance(source, Path) and not source.is_file()):
        return None
    if isinstance(source, io.StringIO):
        source.seek(0)
    try:
        header = pd.read_csv(source, nrows=0).columns
        if isinstance(source, io.StringIO):
            source.seek(0)
        use = [c for c in columns if c in header]
        return pd.read_csv(source, usecols=use, dtype=str, keep_default_na=False)[use] if use else None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return None   # _read_table of the same table says what is wrong with it


def _compare(table: pd.DataFrame, record: pd.DataFrame, knobs: list[str], costs: list[str]):
    """For each row of ``table``: the row of ``record`` (the store's evaluations) of the same point (-1: none),
    and whether its costs (and status, where both have one) are the stored ones. Rows are matched by their
    knob values, so a table sorted in a spreadsheet is still the same table."""
    def key(v) -> tuple:   # 1 and 1.0 are one value: pandas types each table's column by its own cells
        return ("s", "nan") if isinstance(v, float) and math.isnan(v) else value_key(v)

    def keys(df: pd.DataFrame) -> list[tuple]:
        return list(zip(*[[key(v) for v in df[k].tolist()] for k in knobs])) if knobs else [()] * len(df)
    where = {k: j for j, k in enumerate(keys(record))}
    found = np.array([where.get(k, -1) for k in keys(table)], dtype=int)
    ok = found >= 0
    cols = [c for c in costs if c in table and c in record]
    same = np.zeros(len(table), dtype=bool)
    mine = table[cols].to_numpy(dtype=float)[ok]
    theirs = record[cols].to_numpy(dtype=float)[found[ok]]
    same[ok] = np.isclose(mine, theirs, rtol=1e-12, atol=0.0, equal_nan=True).all(axis=1)
    if "status" in table and "status" in record:
        same[ok] &= table["status"].astype(str).to_numpy()[ok] == record["status"].astype(str).to_numpy()[found[ok]]
    return found, same


def _edited_rows(table: pd.DataFrame, record: pd.DataFrame, knobs: list[str], costs: list[str]) -> int:
    """How many rows of an evaluation table differ from the store's (``record``, the table as the run wrote
    it): a point whose costs or status are not the stored ones, or that the store does not hold (a row added,
    a knob value changed)."""
    if any(k not in table for k in knobs) or not len(table):
        return 0   # not the run's table at all: its own warnings say so
    _found, same = _compare(table, record, knobs, costs)
    return int((~same).sum())


def _stored_front_costs(front: pd.DataFrame, record: pd.DataFrame, knobs: list[str],
                        costs: list[str]) -> tuple[pd.DataFrame, int, int]:
    """The front table (deffe_exploration.csv) with the store's costs in its evaluated rows; how many of those
    differed (edited by hand); and how many rows marked evaluated are of designs the store does not hold (a
    row added or a knob value changed by hand), which are left out, as a row added to deffe_evaluation.csv
    is: the store is the record of what was evaluated. Its predicted rows are the model's and stay as they
    are."""
    if any(k not in front for k in knobs) or "source" not in front or not len(front):
        return front, 0, 0
    evaluated = (front["source"].astype(str) == "evaluated").to_numpy()
    found, same = _compare(front, record, knobs, costs)
    unknown = evaluated & (found < 0)
    fix = evaluated & ~same & (found >= 0)
    cols = [c for c in costs if c in front and c in record]
    if fix.any():
        front = front.copy()
        for c in cols:
            front[c] = front[c].astype(float)
        front.loc[fix, cols] = record[cols].to_numpy(dtype=float)[found[fix]]
    if unknown.any():
        front = front[~unknown].reset_index(drop=True)
    return front, int(fix.sum()), int(unknown.sum())


def in_run(text: str | os.PathLike, run_dir: Path) -> Path:
    """A file the manifest (or the store) names, in the run directory read. A relative name is relative to
    it. An absolute one (a manifest of an older version, the store's checkpoints) is the file of that name
    (and place) here where there is one; else, one in another run directory (the one this was copied from,
    or the new run of -fresh) is this run's file of the same place, which is missing; else the path itself
    (a table the config placed outside the run directory)."""
    path = Path(text)
    if not path.is_absolute():
        return run_dir / path
    if path.is_relative_to(run_dir):
        return path
    for k in range(min(3, len(path.parts) - 1), 0, -1):
        here = run_dir.joinpath(*path.parts[-k:])
        if here.is_file():
            return here
    owner = next((d for d in list(path.parents)[:3] if (d / MANIFEST).is_file()), None)
    if owner is not None:
        return run_dir / path.relative_to(owner)
    return path


def _table_file(text: str, run_dir: Path, m: dict, where: str, shown: str) -> Path:
    """A table the manifest names, in the run directory read (in_run). One outside it (an absolute name, or
    one with '..') is the run's only where the run's config placed a table there (its text, or an included
    file's, names that file): else the manifest was edited to point at another file (another run's table,
    any file of the system), which is not this run's and is refused."""
    file = in_run(text, run_dir)
    if Path(os.path.normpath(file)).is_relative_to(run_dir):
        return file
    texts = [m.get("config_text")] + list((m.get("config_includes") or {}).values())
    if m.get("config_text") is None or any(isinstance(t, str) and file.name in t for t in texts):
        return file
    raise DeffeError(f"'{text}' is outside the run directory, and the run's config names no table "
                     f"'{file.name}': not a table this run wrote", file=shown, where=where, hint=REWRITE)


def _own_checkpoint(info: dict, run_dir: Path) -> dict:
    """A step's record, with the checkpoint it names (written as an absolute path) in the run directory read."""
    model = info.get("model")
    if isinstance(model, dict) and isinstance(model.get("checkpoint"), str):
        return {**info, "model": {**model, "checkpoint": str(in_run(model["checkpoint"], run_dir))}}
    return info


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None
