"""``run_deffe.py -config C -inference-only -icp MODEL -input in.csv -output out.csv``.

Predicts the costs of every row of a CSV file with a trained model, evaluating
nothing. The input needs a column per knob (and scenario) of the exploration
the model was trained on; extra columns are ignored. The output has, per row:
the knob columns, then per cost ``predicted-<cost>`` and ``std-<cost>`` (when
the model gives an uncertainty) and, when the input holds the true cost,
``<cost>``, ``error-<cost>`` (predicted - true) and ``error-percent-<cost>``
(100 * error / true); ``feasible`` (the probability that the point evaluates
ok) when the model's feasibility classifier was trained on failures.

A bad row (an empty cell, a value outside a knob's domain, a cost that is not
a number) is reported with its line number and skipped; ``-strict`` makes any
bad row an error (exit status 2, nothing written).
"""
from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import incompatibility, read_meta
from .config import Config, Explore, load_config
from .context import Budget, Framework
from .encoding import Encoding
from .errors import DeffeError
from .plugins import make_plugin
from .preload import read_rows
from .tables import csv_writer, write_csv
from .threads import limit as limit_threads
from .values import format_value, to_number

SHOW_BAD = 20   # bad rows listed on the terminal; the count says how many more


@dataclass
class Rows:
    """The good rows of an input file and what was wrong with the others."""

    lines: list[int] = field(default_factory=list)
    codes: list[np.ndarray] = field(default_factory=list)
    truth: list[list[float]] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)


def run_inference(args: Any) -> int:
    if not args.icp:
        raise DeffeError("-inference-only needs the model to predict with: -icp FILE",
                         hint="a .ckpt file from a run directory's checkpoints/")
    if not args.input:
        raise DeffeError("-inference-only needs the points to predict: -input CSV")
    config = load_config(args.config)
    log = _logger(args)
    meta = read_meta(args.icp)
    explore = pick_explore(config, meta, args.icp)
    space, costs = explore.space, config.cost_names
    # the input is read and checked before the model is loaded: its mistakes cost nothing
    rows, has_truth = read_input(Path(args.input), args.input, space, costs)
    if rows.bad and args.strict:
        line, what = rows.bad[0]
        raise DeffeError(f"{len(rows.bad)} bad row{'s' if len(rows.bad) > 1 else ''} of "
                         f"{len(rows.bad) + len(rows.lines)} (first: line {line}: {what})", file=args.input,
                         hint="fix the rows, or leave out -strict to predict the good rows")
    fwcfg = config.section("framework")
    seed = args.seed if args.seed is not None else fwcfg["seed"]
    jobs = args.jobs if args.jobs is not None else fwcfg["jobs"]
    threads = limit_threads(config.section("model").get("threads") or jobs)
    fw = Framework(config, args, Path(fwcfg["run_directory"]).expanduser().absolute(), seed, log, threads)
    fw.enter(explore, Budget())
    model = make_plugin("ml_model", meta.plugin, fw, config.dir, config.python_paths(),
                        file=config.data.get("__origin__"))
    if not callable(getattr(model, "Load", None)):
        raise DeffeError(f"model plugin '{meta.plugin}' cannot load checkpoints (it has no Load(path))",
                         file=args.icp)
    model.Load(args.icp)
    for line, what in rows.bad[:SHOW_BAD]:
        log.warning(f"warning: {args.input}:line {line}: {what}; row skipped")
    if len(rows.bad) > SHOW_BAD:
        log.warning(f"warning: {args.input}: {len(rows.bad) - SHOW_BAD} more bad rows skipped")

    codes = np.array(rows.codes, dtype=float).reshape(-1, len(space))
    truth = np.array(rows.truth, dtype=float).reshape(-1, len(costs))
    pred = model.Predict(codes) if len(codes) else None
    source = Path(args.input)
    output = Path(args.output) if args.output else source.with_name(f"{source.stem}-predicted.csv")
    show_feasible = bool(getattr(getattr(model, "feasibility", None), "trained", False))
    write_output(output, space, costs, codes, pred, truth, has_truth, show_feasible)

    summary = [f"{len(rows.lines)} row{'s' if len(rows.lines) != 1 else ''} predicted -> {output}"]
    if rows.bad:
        summary.append(f"{len(rows.bad)} bad row{'s' if len(rows.bad) != 1 else ''} skipped")
    if pred is not None:
        for j, c in enumerate(costs):
            if has_truth[j]:
                t, p = truth[:, j], pred.mean[:, j]
                keep = np.isfinite(t) & (t != 0)
                if keep.any():
                    err = float(np.mean(np.abs(p[keep] - t[keep]) / np.abs(t[keep])))
                    summary.append(f"{c}: MAPE {100 * err:.3g}% over {int(keep.sum())} rows with the true cost")
    if getattr(args, "model_stats_output", None):
        write_stats(Path(args.model_stats_output), meta)
    if pred is not None and any(has_truth) and (getattr(args, "model_stats_output", None)
                                                or config.section("model").get("plots")):
        from .training import plot_predicted_vs_true
        plot = output.with_name(f"{output.stem}-predicted-vs-true.png")
        plot_predicted_vs_true(truth, pred.mean, costs, plot, title="(inference)")
        summary.append(f"plot: {plot}")
    if not args.quiet:
        print("; ".join(summary))
    return 0


def _logger(args: Any) -> logging.Logger:
    log = logging.getLogger("deffe.inference")
    log.handlers.clear()
    log.propagate = False
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(h)
    log.setLevel(logging.DEBUG if getattr(args, "debug", False) else
                 (logging.ERROR if getattr(args, "quiet", False) else logging.WARNING))
    return log


def pick_explore(config: Config, meta: Any, shown: str) -> Explore:
    """The exploration the checkpoint fits: the one it was trained in, else the first one it fits."""
    named = [e for e in config.explores if e.name == meta.explore]
    for e in named + [e for e in config.explores if e not in named]:
        if incompatibility(meta, Encoding(e.space).signature(), config.cost_names) is None:
            return e
    first = named[0] if named else config.explores[0]
    why = incompatibility(meta, Encoding(first.space).signature(), config.cost_names)
    raise DeffeError(f"checkpoint does not fit this config (exploration '{first.name}'): {why}", file=shown,
                     hint="use the config the model was trained with, or a checkpoint trained on these knobs")


def read_input(path: Path, shown: str, space: Any, costs: list[str]) -> tuple[Rows, list[bool]]:
    header, raw = read_rows(path, shown)
    col = {h: i for i, h in enumerate(header)}
    missing = [n for n in space.names if n not in col]
    if missing:
        raise DeffeError(f"no column for knob{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                         file=shown, where="line 1", hint=f"the columns are: {', '.join(header)}")
    has_truth = [c in col for c in costs]
    out = Rows()
    for line, cells in raw:
        cells = cells + [""] * (len(header) - len(cells))
        values = []
        problem = None
        for name in space.names:
            text = cells[col[name]].strip()
            if text == "":
                problem = f"no value for '{name}'"
                break
            values.append(text)
        if problem is None:
            try:
                row = space.code_row(values)
            except DeffeError as e:
                problem = e.what
        truth = []
        if problem is None:
            for c, present in zip(costs, has_truth):
                text = cells[col[c]].strip() if present else ""
                if text == "":
                    truth.append(math.nan)
                    continue
                n = to_number(text)
                if n is None:
                    problem = f"cost '{c}' is not a number: {text!r}"
                    break
                truth.append(float(n))
        if problem is not None:
            out.bad.append((line, problem))
            continue
        out.lines.append(line)
        out.codes.append(row)
        out.truth.append(truth)
    return out, has_truth


def write_output(path: Path, space: Any, costs: list[str], codes: np.ndarray, pred: Any, truth: np.ndarray,
                 has_truth: list[bool], show_feasible: bool) -> None:
    with_std = pred is not None and pred.std is not None
    header = list(space.names)
    for j, c in enumerate(costs):
        if has_truth[j]:
            header.append(c)
        header.append(f"predicted-{c}")
        if with_std:
            header.append(f"std-{c}")
        if has_truth[j]:
            header += [f"error-{c}", f"error-percent-{c}"]
    if show_feasible:
        header.append("feasible")
    rows = []
    for i, row in enumerate(codes):
        cells = [format_value(k.value(c)) for k, c in zip(space.knobs, row)]
        for j in range(len(costs)):
            p = float(pred.mean[i, j])
            t = float(truth[i, j])
            if has_truth[j]:
                cells.append(_num(t))
            cells.append(_num(p))
            if with_std:
                cells.append(_num(float(pred.std[i, j])))
            if has_truth[j]:
                err = p - t if math.isfinite(t) else math.nan
                cells += [_num(err), _num(100.0 * err / t if math.isfinite(t) and t != 0 else math.nan)]
        if show_feasible:
            cells.append(_num(float(pred.feasible[i])))
        rows.append(cells)
    write_csv(path, header, rows, str)


def _num(x: float) -> str:
    return "" if not math.isfinite(x) else repr(float(x))


def write_stats(path: Path, meta: Any) -> None:
    """The checkpoint's own training history, in the columns of -model-stats-output."""
    from .training import STATS_COLUMNS
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv_writer(fh)
        w.writerow(STATS_COLUMNS)
        for h in meta.history:
            w.writerow([h.get("epoch"), *(("" if h.get(k) is None else f"{h[k]:.6g}")
                                          for k in ("train_loss", "val_loss", "test_loss")),
                        meta.step, meta.samples, ""])
