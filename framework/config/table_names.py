"""The tables of explore entries must not coincide with each other or with the files a run writes for itself.

A table written over another table loses the earlier one (an evaluation table replaced by the front), and one
written over the run's own files loses the run (``deffe.db`` becomes CSV text, the log or the report is
overwritten). Names are compared as the run writes them: with several explore entries each table is prefixed by
its entry's name (framework.tables.table_path), and so are the entry's own files (model_metrics.csv, ...).
"""
from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any

from ..errors import DeffeError

KEYS = {"evaluation": "evaluation_table", "prediction": "ml_predict_table", "output": "output_table",
        "exploration": "exploration_table"}

# the run directory's files of the run itself; kept in step with store.DB_NAME, guard.LOCK_NAME,
# run_data.MANIFEST, reports/html.NAME, reports/xlsx.NAME (test_config checks it). The log is added from
# framework.output_log.
RUN_FILES = ("deffe.db", "deffe.db-wal", "deffe.db-shm", "deffe.db-journal", "deffe.lock", "deffe_run.json",
             "deffe_report.html", "deffe_report.xlsx", "checkpoints", "slurm", "report_*.png")
SAMPLE_DIR = re.compile(r"explore_[0-9]+")   # each sample's directory (not an entry named explore_2's tables)
# files of one explore entry, prefixed by its name when there are several (training.py, driver.py, driver_model.py)
ENTRY_FILES = ("model_metrics.csv", "model_learning_curve.png", "model_predicted_vs_true.png",
               "knob_importance.txt", "knob_importance_*.png")


def check_table_names(explores: list[Any], log_name: str | None, run_dir: str | None) -> None:
    """Raise a DeffeError naming the key of the first table that takes another table's file or a file (or
    folder) the run writes for itself.

    Every table is compared by the path it is written to (relative names under the run directory with their
    entry's prefix, absolute ones as given), never by its name alone: a path into checkpoints/ (relative, or
    absolute into this run directory) wrote CSV text over a model checkpoint, and entry a's table
    ``b-model_metrics.csv`` became ``a-b-model_metrics.csv``, entry a-b's own metrics file, so the own files of
    every entry are checked against the tables of every entry."""
    several = len(explores) > 1
    base = Path(os.path.realpath(Path(run_dir if isinstance(run_dir, str) else ".").expanduser()))
    # names (patterns) of the first component under the run directory that the run writes itself: one file
    # or a folder and everything in it (checkpoints/, slurm/, each sample's explore_N/)
    own = list(RUN_FILES)
    for e in explores:
        own += [(f"{e.name}-" if several else "") + n for n in ENTRY_FILES]
    log = None
    if isinstance(log_name, str) and log_name:
        log = _real(base / Path(log_name).expanduser())   # (as cli.py opens it: run_dir / output_log)
    taken: dict[Path, str] = {}   # the file as written -> "explore[i].key"
    for e in explores:
        prefix = f"{e.name}-" if several else ""
        for kind, key in KEYS.items():
            name = e.tables.get(kind)
            if not isinstance(name, str):
                continue
            where = f"{e.where}.{key}"
            p = Path(name).expanduser()
            written = _real(p if p.is_absolute() else base / (prefix + name))
            for other, at in taken.items():
                if other == written or other in written.parents or written in other.parents:
                    raise DeffeError(f"table {name!r} is also {at}: one would replace the other",
                                     file=e.file, where=where, hint="give each table its own file name")
            taken[written] = where
            rel = written.relative_to(base).parts if base in written.parents else None
            hit = None
            if log is not None and (written == log or log in written.parents):
                hit = str(written.relative_to(base)) if rel else str(log)
            elif rel:
                first = rel[0]
                if SAMPLE_DIR.fullmatch(first) or any(fnmatch.fnmatchcase(first, n) for n in own):
                    hit = first
            if hit is not None and rel is not None and len(rel) > 1 and hit == rel[0]:
                raise DeffeError(f"table {name!r} would be written in {hit}/, a folder the run writes for itself",
                                 file=e.file, where=where, hint=f"name a file outside {hit}/")
            if hit is not None:
                raise DeffeError(f"table {name!r} would replace {hit}, a file the run writes for itself",
                                 file=e.file, where=where,
                                 hint="choose another file name, e.g. one ending in .csv")


def _real(p: Path) -> Path:
    """The path with symbolic links and .. resolved (the file it names need not exist)."""
    return Path(os.path.realpath(p))
