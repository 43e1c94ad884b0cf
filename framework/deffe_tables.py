"""The original Deffe's tables, where it wrote them, for the scripts that read them.

Deffe wrote, for each exploration, into the current directory (the names its
explore entry gives, relative to where it was started):

    evaluation_table          deffe_evaluation.csv   the points it evaluated
    ml_predict_table          deffe_prediction.csv   the points its model predicted
    evaluation_predict_table  deffe_eval_predict.csv both
    all_table                 deffe_output.csv       both, and the pre-evaluated points

each with one column per knob and scenario in the order of their names, the
costs (lower case, as Deffe read them), and ``EvaluateTime``, ``ExtractTime``
and ``RunDir``, cells separated by ``", "``. These are written from the run
store next to our own tables (which stay in the run directory) when
``framework.deffe_tables`` says so (by default for a config that uses Deffe's
own keys). A file named by the entries of two explorations (Deffe's default
names, left as they are) is written once per exploration, prefixed by its
name, with a warning (there, the later replaced the earlier). A table that would replace a file the run reads (the
pre-evaluated data is often a previous run's ``deffe_evaluation.csv``) is not
written, with a warning (`framework.outputs.skip_deffe_tables`). Where Deffe
wrote a failed evaluation as a row of zeros, the row is left out here: the run
directory's tables have it with its status.
"""
from __future__ import annotations

from pathlib import Path

from .atomic import replacing
from .config import Explore
from .store import RunStore
from .tables import cell, cost_cell, course_predictions

EXTRA = ["EvaluateTime", "ExtractTime", "RunDir"]
# the seconds of a sample's extract script, written in its directory by the extract plugin (Deffe read them
# from the `time -p` lines of its extract log): the sample's duration covers evaluate and extract together
EXTRACT_TIME_FILE = ".deffe_extract_seconds"


def _extract_seconds(directory: Path) -> float | None:
    try:
        return float((directory / EXTRACT_TIME_FILE).read_text())
    except (OSError, ValueError):
        return None


def write_deffe_tables(store: RunStore, run_dir: Path, explore: Explore, cost_names: list[str],
                       predicts: bool) -> list[Path]:
    """Write the four tables (the prediction table only when a model ``predicts``); return their paths."""
    names = sorted(explore.space.names)
    header = names + [c.lower() for c in cost_names] + EXTRA

    def row(params: dict, costs: list, seconds: float | None, directory: str, extract: float | None = None) -> str:
        cells = [cell(params.get(n)) for n in names] + [cost_cell(v) for v in costs]
        cells += [f"{x:.3f}" if x is not None else "0.0" for x in (seconds, extract)] + [directory]
        return ", ".join(cells)

    evaluated, pre_evaluated, known = [], [], set()
    for _step, s in store.explore_samples(explore.name):
        known.add(s.key)
        if s.status != "ok":
            continue
        directory = run_dir / f"explore_{s.id}"
        extract = _extract_seconds(directory) if s.origin != "pre-evaluated" else None
        evaluate = s.duration if s.duration is None or extract is None else max(s.duration - extract, 0.0)
        line = row(s.params, [s.costs.get(c) for c in cost_names], evaluate,
                   str(directory) if directory.is_dir() else "", extract)
        (pre_evaluated if s.origin == "pre-evaluated" else evaluated).append(line)
    predictions = course_predictions(store, explore.name)
    predicted = [row(params, mean, None, "") for _key, params, mean, _std in predictions]
    only_predicted = [row(params, mean, None, "") for key, params, mean, _std in predictions if key not in known]

    tables = {"evaluation": evaluated, "eval_predict": evaluated + only_predicted,
              "all": pre_evaluated + evaluated + only_predicted}
    if predicts:   # every prediction, evaluated later or not
        tables["prediction"] = predicted
    paths = []
    for kind, lines in tables.items():
        if kind not in explore.deffe_tables:   # left out: it would replace a file the run reads (outputs.py)
            continue
        path = deffe_table_path(explore, kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp:
            tmp.write_text("".join(f"{line}\n" for line in [", ".join(header), *lines]), encoding="utf-8")
        paths.append(path)
    return paths


def deffe_table_path(explore: Explore, kind: str, cwd: Path | None = None) -> Path:
    """Where the original Deffe's ``kind`` table of ``explore`` is written: the name its explore entry gives,
    relative to the current directory (a name two explorations give is prefixed by each one's name when the
    config is read: config._separate_deffe_tables)."""
    name = Path(explore.deffe_tables[kind])
    if name.is_absolute():
        return name
    if cwd is None:
        # the current directory of the first look (the run's start: outputs.skip_deffe_tables), kept: a plugin
        # that changes the working directory (to its tool's folder) moves no table, nor overwrites a file there
        cwd = vars(explore).setdefault("_deffe_tables_cwd", Path.cwd())
    return cwd / name
