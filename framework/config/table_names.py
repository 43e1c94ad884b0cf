"""The tables of explore entries must not coincide with each other or with the files a run writes for itself.

A table written over another table loses the earlier one (an evaluation table replaced by the front), and one
written over the run's own files loses the run (``deffe.db`` becomes CSV text, the log or the report is
overwritten). Names are compared as the run writes them: with several explore entries each table is prefixed by
its entry's name (framework.tables.table_path), and so are the entry's own files (model_metrics.csv, ...).
"""
from __future__ import annotations

import fnmatch
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
    """Raise a DeffeError naming the key of the first table that takes another table's name or a name the run
    uses for itself."""
    several = len(explores) > 1
    base = Path(run_dir).expanduser().absolute() if isinstance(run_dir, str) else None
    own = list(RUN_FILES) + ([log_name] if isinstance(log_name, str) and "/" not in log_name else [])
    taken: dict[str, str] = {}   # the file as written -> "explore[i].key"
    for e in explores:
        prefix = f"{e.name}-" if several else ""
        mine = own + [prefix + n for n in ENTRY_FILES]
        for kind, key in KEYS.items():
            name = e.tables.get(kind)
            if not isinstance(name, str):
                continue
            where = f"{e.where}.{key}"
            p = Path(name).expanduser()
            if p.is_absolute():
                written = str(p)
                inside = base is not None and p.parent == base
                plain = p.name if inside else None
            else:
                written = prefix + name
                plain = written if "/" not in name else None
                written = str(base / written) if base is not None else written
            if written in taken:
                raise DeffeError(f"table {name!r} is also {taken[written]}: one would replace the other",
                                 file=e.file, where=where, hint="give each table its own file name")
            taken[written] = f"{e.where}.{key}"
            hit = next((n for n in mine if plain is not None and fnmatch.fnmatchcase(plain, n)), None)
            if hit is None and plain is not None and SAMPLE_DIR.fullmatch(plain):
                hit = plain
            if hit is not None:
                raise DeffeError(f"table {name!r} would replace {plain}, a file the run writes for itself",
                                 file=e.file, where=where,
                                 hint="choose another file name, e.g. one ending in .csv")
