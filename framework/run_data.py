"""A finished (or running) run, read back as pandas DataFrames: what reports and the Python API show.

The driver writes ``deffe_run.json`` (the manifest) into the run directory after each step: the costs
(direction, unit), objectives, constraints, each exploration's knobs and table files, and the config's
own text. With it a run directory is self-describing: ``run_deffe.py -report RUN_DIR`` and
``framework.load_run(RUN_DIR)`` need nothing else, not even the config file (which may have changed or
moved since the run).

The tables are the run's CSV files (what a user sees), the per-step records come from the run store.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DeffeError
from .store import DB_NAME, RunStore

MANIFEST = "deffe_run.json"
MANIFEST_FORMAT = 1


def manifest(config: Any, costs: list, explores: list, table_paths: dict[str, dict[str, Path]],
             objectives: list[str]) -> dict:
    """What a report needs of a run, from the driver's objects (plain data, JSON-ready)."""
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
        "costs": [{"name": c.name, "direction": c.direction, "unit": c.unit} for c in costs],
        "objectives": list(objectives),
        "constraints": [c.text for c in config.constraints],
        "explores": [{"name": e.name, "knobs": list(e.space.names),
                      "scenarios": [n for n, k in zip(e.space.names, e.space.knobs) if getattr(k, "scenario", False)],
                      "tables": {kind: str(p) for kind, p in table_paths.get(e.name, {}).items()}}
                     for e in explores],
    }


def write_manifest(run_dir: Path, data: dict) -> None:
    """Atomically: a report built while the run goes on never reads half a file."""
    path = Path(run_dir) / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


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


@dataclass
class RunData:
    run_dir: Path
    costs: list[dict]                 # {"name", "direction", "unit"}
    objectives: list[str]
    constraints: list[str]
    config_text: str | None
    config_path: str | None
    explores: dict[str, ExploreData]

    @property
    def cost_names(self) -> list[str]:
        return [c["name"] for c in self.costs]

    def first(self) -> ExploreData:
        return next(iter(self.explores.values()))


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame()
    try:
        return pd.read_csv(path, keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DeffeError(f"{path}: cannot read the table ({type(e).__name__}: {str(e).splitlines()[0]})") from None


def _costs_numeric(df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    for col in df.columns:
        base = col.split("-", 1)[1] if col.startswith(("predicted-", "std-")) else col
        if base in names:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def load_run(run_dir: str | os.PathLike) -> RunData:
    """Read a run directory written by the driver (its manifest, tables and store)."""
    run_dir = Path(run_dir).expanduser().absolute()
    path = run_dir / MANIFEST
    if not run_dir.is_dir():
        raise DeffeError(f"{run_dir}: no such run directory")
    if not path.is_file():
        hint = "it was written by an older version: run the same command again to resume and write it" \
            if (run_dir / DB_NAME).exists() else "run_deffe.py writes it in the run directory of each run"
        raise DeffeError(f"{path}: not found: {run_dir} is not a run directory", hint=hint)
    try:
        m = json.loads(path.read_text())
        if not isinstance(m, dict) or not isinstance(m.get("explores"), list):
            raise ValueError("not a manifest")
    except (ValueError, OSError) as e:
        raise DeffeError(f"{path}: not a run manifest ({e})") from None
    names = [c["name"] for c in m.get("costs", [])]
    store = RunStore.snapshot(run_dir / DB_NAME) if (run_dir / DB_NAME).exists() else None
    explores: dict[str, ExploreData] = {}
    try:
        for e in m["explores"]:
            files = {k: _moved(Path(v), run_dir) for k, v in e.get("tables", {}).items()}
            metrics = files.get("model_metrics")
            explores[e["name"]] = ExploreData(
                name=e["name"], knobs=list(e.get("knobs", [])), scenarios=list(e.get("scenarios", [])),
                evaluations=_costs_numeric(_read_table(files["evaluation"]), names) if "evaluation" in files
                else pd.DataFrame(),
                predictions=_costs_numeric(_read_table(files["prediction"]), names) if "prediction" in files
                else pd.DataFrame(),
                front=_costs_numeric(_read_table(files["exploration"]), names) if "exploration" in files
                else pd.DataFrame(),
                model_metrics=_read_table(metrics) if metrics is not None and metrics.is_file() else None,
                steps=[{"step": s, **info} for s, info in store.steps(e["name"])] if store is not None else [],
                files=files,
                sample_steps=[st for st, _s in store.explore_samples(e["name"])] if store is not None else [],
                knob_importance=_existing(run_dir / f"{e['name'] + '-' if len(m['explores']) > 1 else ''}"
                                                    "knob_importance.txt"))
    finally:
        if store is not None:
            store.close()
    return RunData(run_dir=run_dir, costs=list(m.get("costs", [])), objectives=list(m.get("objectives", [])),
                   constraints=list(m.get("constraints", [])), config_text=m.get("config_text"),
                   config_path=m.get("config_path"), explores=explores)


def _moved(path: Path, run_dir: Path) -> Path:
    """A table of the manifest (written with the absolute path of the time), in a run directory that has been
    moved or copied since: the file of that name in the run directory."""
    if not path.exists() and (run_dir / path.name).is_file():
        return run_dir / path.name
    return path


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None
