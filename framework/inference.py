"""``run_deffe.py -config C -inference-only -icp MODEL -input in.csv -output out.csv``.

Predicts the costs of every row of a CSV file with a trained model, evaluating
nothing. The input needs a column per knob (and scenario) of the exploration
the model was trained on; extra columns are ignored. The output has, per row:
the knob columns, then per cost ``predicted-<cost>`` and ``std-<cost>`` (when
the model gives an uncertainty) and, when the input holds the true cost,
``<cost>``; ``error-<cost>`` = |true - predicted| and ``error-percent-<cost>``
= |true - predicted| / true (a fraction, despite its name), both as the
original Deffe wrote them; ``signed-error-<cost>`` = predicted - true and
``percent-error-<cost>`` = 100 * signed error / true; ``feasible`` (the
probability that the point evaluates ok) when the model's feasibility
classifier was trained on failures.

A bad row (an empty cell, a value outside a knob's domain, a row cut short
before a knob's cell, a cost that is not a number or is NaN or infinite) is
reported with its line number and skipped; ``-strict`` makes any bad row an
error (exit status 2, nothing written). A row with more cells than the header,
or a quote never closed, is an error in any case: the columns after it could
not be told apart (framework/csv_rows.py).

`evaluate_checkpoints` is Deffe's ``-model-extract-dir DIR``: every checkpoint
of a directory measured on the pre-evaluated data, a row per checkpoint and
cost.
"""
from __future__ import annotations

import logging
import math
import os
import sys
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import KERAS_SUFFIXES, keras_error, match, one_checkpoint, read_meta
from .config import Config, Explore, load_config
from .context import Budget, Framework
from .contract import predicted
from .encoding import Encoding
from .errors import DeffeError
from .metrics import evaluate
from .plugins import builtin_names, make_plugin
from .csv_rows import read_rows
from .preload import cells_of, column_names, cost_columns, match_columns, short_row
from .tables import cost_cell, csv_writer, write_csv
from .threads import limit as limit_threads
from .values import format_value, to_float

SHOW_BAD = 20   # bad rows listed on the terminal; the count says how many more


@dataclass
class Rows:
    """The good rows of an input file, as numbers one row after another, and what was wrong with the others."""

    lines: array = field(default_factory=lambda: array("q"))
    codes: array = field(default_factory=lambda: array("d"))   # len(space) codes per row
    truth: array = field(default_factory=lambda: array("d"))   # a true cost per cost and row (NaN: none given)
    bad: list[tuple[int, str]] = field(default_factory=list)


def run_inference(args: Any) -> int:
    if not args.icp:
        raise DeffeError("-inference-only needs the model to predict with: -icp FILE",
                         hint="a .ckpt file from a run directory's checkpoints/")
    if not args.input:
        raise DeffeError("-inference-only needs the points to predict: -input CSV")
    config = load_config(args.config)
    run_dir = Path(config.section("framework")["run_directory"]).expanduser()
    try:
        icp = one_checkpoint(args.icp)
    except DeffeError as e:   # Deffe's .hdf5 files: the error names where a training here writes its checkpoints
        raise (keras_error(e.keras_files, run_dir) if getattr(e, "keras_files", None) else e) from None
    log = _logger(args)
    source = Path(args.input)
    if not args.output and source.exists() and not source.is_file():
        # /dev/stdin, a pipe: the default output beside it would be /dev/stdin-predicted.csv
        raise DeffeError(f"-input {args.input} is no regular file, so the predictions have no default place beside "
                         "it", hint="name their file with -output FILE.csv")
    output = Path(args.output) if args.output else source.with_name(f"{source.stem}-predicted.csv")
    _check_outputs(config, args, output)
    try:
        meta = read_meta(icp)
    except DeffeError as e:
        raise (keras_error(e.keras_files, run_dir) if getattr(e, "keras_files", None) else e) from None
    explore = pick_explore(config, meta, icp)
    space, costs = explore.space, config.cost_names
    # the input is read and checked before the model is loaded: its mistakes cost nothing
    rows, has_truth = read_input(Path(args.input), args.input, space, costs)
    if rows.bad and args.strict:
        line, what = rows.bad[0]
        raise DeffeError(f"{what} (the first of {len(rows.bad)} bad row{'s' if len(rows.bad) > 1 else ''} of "
                         f"{len(rows.bad) + len(rows.lines)})", file=args.input, where=f"line {line}",
                         hint="fix the rows, or leave out -strict to predict the good rows")
    model = load_model(config, args, explore, meta, icp, log, _threads(config, args))
    for line, what in rows.bad[:SHOW_BAD]:
        log.warning(f"warning: {args.input}:line {line}: {what}; row skipped")
    if len(rows.bad) > SHOW_BAD:
        log.warning(f"warning: {args.input}: {len(rows.bad) - SHOW_BAD} more bad rows skipped")

    if getattr(args, "no_run", False):   # a dry run: what would be written, and nothing written
        stats = getattr(args, "model_stats_output", None)
        print(f"-no-run: {len(rows.lines)} row{'s' if len(rows.lines) != 1 else ''} would be predicted -> {output}"
              + (f"; the checkpoint's training history -> {stats}" if stats else "") + "; nothing is written")
        return 0
    # the numbers as read, without a copy (a million rows of 20 knobs: 160 MB, not twice that)
    codes = np.frombuffer(rows.codes, dtype=float).reshape(-1, len(space))
    truth = np.frombuffer(rows.truth, dtype=float).reshape(-1, len(costs))
    pred = predicted(model, codes, len(costs), meta.plugin, str(icp)) if len(codes) else None
    if pred is not None:   # a model trained before any design ran knows the constraints' costs only
        unknown = [c for j, c in enumerate(costs) if np.isnan(pred.mean[:, j]).all()]
        if unknown:
            log.warning(f"warning: {icp}: the model never saw a value of {', '.join(unknown)} (no design of its "
                        "training data ran): left empty")
    show_feasible = bool(getattr(getattr(model, "feasibility", None), "trained", False))
    write_output(output, space, costs, codes, pred, truth, has_truth, show_feasible,
                 with_std=pred.std is not None if pred is not None else
                 _gives_std(model, space, len(costs), meta.plugin, str(icp)))

    summary = [f"{len(rows.lines)} row{'s' if len(rows.lines) != 1 else ''} predicted -> {output}"]
    if rows.bad:
        summary.append(f"{len(rows.bad)} bad row{'s' if len(rows.bad) != 1 else ''} skipped")
    if pred is not None:
        for j, c in enumerate(costs):
            if has_truth[j]:
                t, p = truth[:, j], pred.mean[:, j]
                # rows with a prediction too: a cost the model never learned is predicted as NaN (warned above)
                keep = np.isfinite(t) & (t != 0) & np.isfinite(p)
                if keep.any():
                    err = float(np.mean(relative_errors(p[keep], t[keep])))
                    summary.append(f"{c}: MAPE {100 * err:.3g}% over {int(keep.sum())} rows with the true cost")
    if getattr(args, "model_stats_output", None):
        write_stats(Path(args.model_stats_output), meta)
    if pred is not None and any(has_truth) and (getattr(args, "model_stats_output", None)
                                                or config.section("model").get("plots")):
        plot = _plot_path(args, output)
        if plot is None:
            summary.append("no plot: -output is not a file to name it after (give -model-stats-output)")
        else:
            from .training import plot_predicted_vs_true
            plot_predicted_vs_true(truth, pred.mean, costs, plot, title="(inference)")
            summary.append(f"plot: {plot}")
    if not args.quiet:
        print("; ".join(summary))
    return 0


def _check_outputs(config: Config, args: Any, output: Path) -> None:
    """Before anything is read or predicted: what inference writes is none of the files it reads (the input,
    the checkpoint, the config, the run store) or the run directory's own files, and can be written."""
    from . import outputs
    run_dir = Path(config.section("framework")["run_directory"]).expanduser().absolute()
    writes = [outputs.Item("the -output file", str(output), output, "-output")]
    stats = getattr(args, "model_stats_output", None)
    if stats:
        writes.append(outputs.Item("the -model-stats-output file", stats, Path(stats), "-model-stats-output"))
    plot = _plot_path(args, output) if stats or config.section("model").get("plots") else None
    if plot is not None:   # the plot of predicted against true costs, if any
        writes.append(outputs.Item("the plot of -output", str(plot), plot, "-output"))
    # none is an input, nor the run's manifest, tables or checkpoints
    outputs.check_extra_outputs(config, run_dir, outputs.inputs(config, args, run_dir), writes,
                                probe=not getattr(args, "no_run", False))


def _plot_path(args: Any, output: Path) -> Path | None:
    """Where the plot of predicted against true costs goes: beside -output, named after it; when -output is no
    file (/dev/stdout, a pipe), beside -model-stats-output, else nowhere (not /dev/stdout-predicted-vs-true.png)."""
    from .atomic import special
    if special(output):
        stats = getattr(args, "model_stats_output", None)
        if not stats or special(stats):
            return None
        output = Path(stats)
    return output.with_name(f"{output.stem}-predicted-vs-true.png")


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


def _threads(config: Config, args: Any) -> int:
    jobs = args.jobs if getattr(args, "jobs", None) is not None else config.section("framework")["jobs"]
    return limit_threads(config.section("model").get("threads") or jobs)


def load_model(config: Config, args: Any, explore: Explore, meta: Any, path: str | Path, log: logging.Logger,
               threads: int) -> Any:
    """The checkpoint's model plugin, for this exploration, with the checkpoint loaded. The plugin named in the
    checkpoint's header must be a built-in model or the config's ``model.plugin``: a file never chooses which
    module is imported (and run)."""
    configured = config.section("model").get("plugin")
    if meta.plugin != configured and meta.plugin not in builtin_names("ml_model"):
        raise DeffeError(f"the checkpoint's model plugin '{meta.plugin[:60]}' is neither a built-in model nor the "
                         f"config's model.plugin ('{configured}'): loading it would import a module the file chose",
                         file=str(path), hint="if you trust that module, name it in the config's model.plugin")
    fwcfg = config.section("framework")
    seed = args.seed if getattr(args, "seed", None) is not None else fwcfg["seed"]
    fw = Framework(config, args, Path(fwcfg["run_directory"]).expanduser().absolute(), seed, log, threads)
    fw.enter(explore, Budget())
    builtin = meta.plugin in builtin_names("ml_model")
    try:
        model = make_plugin("ml_model", meta.plugin, fw, config.dir, config.python_paths(),
                            file=config.data.get("__origin__"))
    except DeffeError as e:
        found = [p for p in (meta.info.get("python_path") or []) if isinstance(p, str)]
        if builtin or not e.what.endswith("not found"):
            raise
        # a checkpoint of a user's plugin (its sidecar names the directories the training found it in)
        raise DeffeError(f"the checkpoint was written by the model plugin '{meta.plugin}', which is not found with "
                         f"this config's python_path ({', '.join(map(str, config.python_paths())) or 'none'})",
                         file=str(path), hint=f"give the python_path the training run had ({', '.join(found)})"
                         if found else "add the plugin's directory to the config's python_path") from None
    if not callable(getattr(model, "Load", None)):
        raise DeffeError(f"model plugin '{meta.plugin}' cannot load checkpoints (it has no Load(path))",
                         file=str(path))
    # a user's plugin is set up as in a training run (Initialize, then Load); a built-in one loads on its own
    if builtin:
        model.Load(path)
        return model
    trained = meta.info.get("model")
    if isinstance(trained, dict):   # the plugin is built with this config's settings: say which differ
        now = config.section("model")
        differ = [k for k in sorted(set(trained) | set(now), key=str) if trained.get(k) != now.get(k)]
        if differ:
            log.warning(f"warning: {path}: trained with other model settings ({', '.join(map(str, differ[:6]))}"
                        f"{', ...' if len(differ) > 6 else ''}); the plugin '{meta.plugin}' is built with this "
                        "config's")
    for method, given in (("Initialize", ()), ("Load", (path,))):
        try:
            getattr(model, method)(*given)
        except (DeffeError, KeyboardInterrupt):
            raise
        except (Exception, SystemExit) as e:
            if getattr(args, "debug", False):
                raise
            raise DeffeError(f"ml_model plugin '{meta.plugin}' failed in {method}(): {type(e).__name__}: {e}",
                             file=str(path), hint="run with -debug for the traceback") from e
    return model


def pick_explore(config: Config, meta: Any, shown: str) -> Explore:
    """The exploration the checkpoint fits: the one it was trained in, else the first one it fits; one whose
    knobs and costs have the checkpoint's names before one of the same shape under other names."""
    named = [e for e in config.explores if e.name == meta.explore]
    fits = [(e, match(meta, Encoding(e.space).signature(), config.cost_names))
            for e in named + [e for e in config.explores if e not in named]]
    fine = [e for e, fit in fits if fit.why is None]
    exact = [e for e, fit in fits if fit.why is None and fit.note() is None]
    if fine:
        return (exact or fine)[0]
    first, fit = fits[0]
    raise DeffeError(f"checkpoint does not fit this config (exploration '{first.name}'): {fit.why}", file=shown,
                     hint=fit.hint or "use the config the model was trained with, or a checkpoint trained on "
                                      "these knobs (or on inputs of the same shape)")


def read_input(path: Path, shown: str, space: Any, costs: list[str]) -> tuple[Rows, list[bool]]:
    """The rows of an input file, read one at a time (a file of any size is never held whole)."""
    header, raw = read_rows(path, shown, column_names(space, costs))
    knob_cols = match_columns(header, space, shown)
    cost_cols = cost_columns(header, costs, shown)
    has_truth = [cost_cols[c] is not None for c in costs]
    read = [i for i in [*knob_cols.values(), *cost_cols.values()] if i is not None]
    last_knob = max((i for i in knob_cols.values() if i is not None), default=-1)
    out = Rows()
    for line, cells in raw.read(read):
        if len(cells) <= last_knob:   # cut short before a knob's cell (a cost's may be left off: no true cost)
            out.bad.append((line, short_row(cells, header)))
            continue
        cells = cells + [""] * (len(header) - len(cells))
        values = cells_of(cells, knob_cols, space)
        problem = next((f"no value for '{n}'" for n, v in zip(space.names, values) if v == ""), None)
        if problem is None:
            try:
                row = space.code_list(values)
            except DeffeError as e:
                problem = e.what
        truth = []
        if problem is None:
            for c, present in zip(costs, has_truth):
                text = cells[cost_cols[c]].strip() if present else ""
                if text == "":
                    truth.append(math.nan)
                    continue
                n = _number(text)
                if n is None:
                    problem = f"cost '{c}' is not a number: {text[:40]!r}" if _spelled_nan(text) else \
                        f"cost '{c}' is not a finite number: {text[:40]!r}"
                    break
                truth.append(n)
        if problem is not None:
            out.bad.append((line, problem))
            continue
        out.lines.append(line)
        out.codes.extend(row)
        out.truth.extend(truth)
    return out, has_truth


def _number(text: str) -> float | None:
    """A true cost: a finite number, not NaN nor inf (an empty cell says there is none; an error measured
    against inf is no error at all)."""
    f = to_float(text)
    return None if f is None or not math.isfinite(f) else f


def _spelled_nan(text: str) -> bool:
    """Text that is no number at all ('oops', 'nan'), not an infinite one ('inf', '-1e999')."""
    f = to_float(text)
    return f is not None and math.isnan(f)


def _gives_std(model: Any, space: Any, c: int, name: str, file: str) -> bool:
    """Whether the model gives an uncertainty, asked of one point of the space (the middle of every knob): an
    input without rows gets the columns an input with rows gets (std-<cost> included)."""
    probe = space.from_unit(np.full((1, len(space)), 0.5))
    return predicted(model, probe, c, name, file).std is not None


def write_output(path: Path, space: Any, costs: list[str], codes: np.ndarray, pred: Any, truth: np.ndarray,
                 has_truth: list[bool], show_feasible: bool, with_std: bool | None = None) -> None:
    """The predictions' table. ``with_std``: whether it has std-<cost> columns (default: whether ``pred`` has
    a std); with no rows (``pred`` None) the caller says, so that the columns are those of rows."""
    if with_std is None:
        with_std = pred is not None and pred.std is not None
    header = list(space.names)
    for j, c in enumerate(costs):
        if has_truth[j]:
            header.append(c)
        header.append(f"predicted-{c}")
        if with_std:
            header.append(f"std-{c}")
        if has_truth[j]:
            header += [f"error-{c}", f"error-percent-{c}", f"signed-error-{c}", f"percent-error-{c}"]
    if show_feasible:
        header.append("feasible")
    write_csv(path, header, _output_rows(space, costs, codes, pred, truth, has_truth, show_feasible), str)


# rows of the output formatted at a time: the file is written as they are made, never held whole as text
# (a million rows of 20 knobs took 2.3 GB as one list of cells)
OUTPUT_CHUNK = 4096


def _knob_cells(space: Any, codes: np.ndarray) -> list[list[str]]:
    """The knob cells of rows of codes, as text: a finite knob's levels formatted once each."""
    columns = []
    for j, k in enumerate(space.knobs):
        col = codes[:, j]
        if k.finite and len(col):
            whole = col.astype(np.int64)
            if np.array_equal(whole, col) and whole.min() >= 0 and whole.max() < k.size:
                shown = np.unique(whole)
                text = {int(c): format_value(k.value(np.float64(c))) for c in shown}
                columns.append([text[c] for c in whole.tolist()])
                continue
        columns.append([format_value(k.value(c)) for c in col])
    return [list(r) for r in zip(*columns)] if columns else [[] for _ in range(len(codes))]


def _output_rows(space: Any, costs: list[str], codes: np.ndarray, pred: Any, truth: np.ndarray,
                 has_truth: list[bool], show_feasible: bool):
    with_std = pred is not None and pred.std is not None
    for start in range(0, len(codes), OUTPUT_CHUNK):
        part = codes[start:start + OUTPUT_CHUNK]
        for i, cells in enumerate(_knob_cells(space, part), start):
            yield _cost_cells(cells, i, costs, pred, truth, has_truth, with_std, show_feasible)


def _cost_cells(cells: list[str], i: int, costs: list[str], pred: Any, truth: np.ndarray, has_truth: list[bool],
                with_std: bool, show_feasible: bool) -> list[str]:
    for j in range(len(costs)):
        p = float(pred.mean[i, j])
        t = float(truth[i, j])
        if has_truth[j]:
            cells.append(_cost(t))
        cells.append(_cost(p))
        if with_std:
            cells.append(_cost(float(pred.std[i, j])))
        if has_truth[j]:
            err, rel = error_of(p, t)                   # NaN without a true cost
            # Deffe's error-<cost> = |true - predicted| and error-percent-<cost> = that / true (a fraction,
            # despite its name); then ours: signed, and in percent. Where the plain arithmetic overflows or
            # underflows (costs near 1e308 or 1e-308), the ratio taken in the costs' own unit (error_of)
            fraction = abs(err) / t if t != 0 else math.nan   # Python floats: inf where it overflows
            percent = 100.0 * err / t if t != 0 else math.nan
            if not (math.isfinite(fraction) and math.isfinite(percent) and (fraction != 0 or rel == 0)):
                fraction, percent = (abs(rel) if t > 0 else -abs(rel)), 100.0 * rel
            cells += [_num(abs(err)), _num(fraction), _num(err), _num(percent)]
    if show_feasible:
        cells.append(_num(float(pred.feasible[i])))
    return cells


def error_of(p: float, t: float) -> tuple[float, float]:
    """``p - t`` and ``(p - t) / t`` (NaN at t = 0 or without a true cost), at any magnitude: both are taken in the
    unit of the larger's power of two (exact), so that costs near 1e308 (whose difference overflows) or 1e-308
    still give their relative error; the difference itself is inf only where no float holds it."""
    if not (math.isfinite(p) and math.isfinite(t)):
        return math.nan, math.nan
    e = math.frexp(max(abs(p), abs(t)))[1]
    ps, ts = math.ldexp(p, -e), math.ldexp(t, -e)
    d = ps - ts
    try:
        err = math.ldexp(d, e)
    except OverflowError:
        err = math.copysign(math.inf, d)
    if ts == 0:   # t is 0, or too small beside p to be held in p's unit: the ratio is past any float
        return err, (math.nan if t == 0 else math.copysign(math.inf, d * t))
    return err, d / ts


def relative_errors(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """|p - t| / |t| per element, as error_of takes it (finite at any magnitude; NaN where t is 0 or not finite)."""
    p, t = np.asarray(p, dtype=float), np.asarray(t, dtype=float)
    with np.errstate(all="ignore"):
        e = np.frexp(np.maximum(np.abs(p), np.abs(t)))[1]
        ps, ts = np.ldexp(p, -e), np.ldexp(t, -e)
        return np.where(t == 0, np.nan, np.where(ts != 0, np.abs(ps - ts) / np.abs(ts), np.inf))


def _num(x: float) -> str:
    return "" if not math.isfinite(x) else repr(float(x))


def _cost(x: float) -> str:
    """A cost (true, predicted, or its std) as in the run's tables: a whole number without '.0'."""
    return "" if not math.isfinite(x) else cost_cell(float(x))


def write_stats(path: Path, meta: Any) -> None:
    """The checkpoint's own training history, in the columns of -model-stats-output."""
    from .training import STATS_COLUMNS
    path.parent.mkdir(parents=True, exist_ok=True)
    # a model without epochs (trees, a Gaussian process) has no history: one row for its training, losses empty,
    # with its step and size, as the training run wrote it. A model with epochs validated on held-back points
    # exactly when its epochs have a validation loss: none is ValCount 0, as the training run wrote; how many
    # it held back is not in the checkpoint (left empty)
    history = list(meta.history) or [{}]
    validated = any(h.get("val_loss") is not None for h in history)
    val_count = "" if not meta.history or validated else 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv_writer(fh)
        w.writerow(STATS_COLUMNS)
        for h in history:
            w.writerow([h.get("epoch"), *(("" if h.get(k) is None else f"{h[k]:.6g}")
                                          for k in ("train_loss", "val_loss", "test_loss")),
                        meta.step, meta.samples, val_count])


# ----------------------------------------------------------------------------- -model-extract-dir
EVALUATE_COLUMNS = ["file", "step", "samples", "cost", "rows", "mape_percent", "r2", "kendall_tau",
                    "Epoch", "CostIndex", "TrainLoss", "ValLoss", "TestLoss"]
EVALUATE_OUTPUT = "evaluate-model-output.csv"   # Deffe's default -model-stats-output with -model-extract-dir


def _checkpoint_folder(config: Config, directory: str | Path, log: logging.Logger) -> Path:
    """The directory of -model-extract-dir DIR. Deffe wrote its checkpoints into ./checkpoints, this framework
    into the run directory's checkpoints/: a DIR not found here but in the config's run directory (Deffe's
    README: train, then -model-extract-dir checkpoints in the same directory) is that one, said on stderr."""
    folder = Path(directory)
    if folder.is_dir():
        return folder
    run_dir = Path(os.path.expandvars(config.section("framework")["run_directory"])).expanduser()
    if not run_dir.is_absolute():
        run_dir = Path.cwd() / run_dir
    there = run_dir / folder
    if not folder.is_absolute() and there.is_dir():
        log.warning(f"note: {directory}: no such directory; measuring {_shown(there)}, the one in the config's run "
                    "directory (checkpoints are written there, not into the current directory as in Deffe)")
        return there
    ours = run_dir / "checkpoints"
    raise DeffeError("no such directory", file=str(directory), hint=(
        f"this config's runs write their checkpoints to {_shown(ours)}/ (the run directory's checkpoints/, not "
        "./checkpoints as in Deffe)" if ours.is_dir() else
        f"-model-extract-dir DIR: a directory of .ckpt files, e.g. a run's checkpoints/ ({_shown(ours)}/ for "
        "this config)"))


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def evaluate_checkpoints(config: Config, args: Any, directory: str | Path, output: str | Path | None = None,
                         dry: bool = False) -> int:
    """Deffe's ``-model-extract-dir DIR``: every checkpoint (``*.ckpt``, sorted) of DIR measured on the
    pre-evaluated data (``-pre-evaluated-data``, else the exploration's ``pre_evaluated_data``), one row
    per checkpoint and cost in ``output`` (default ``evaluate-model-output.csv``): the checkpoint's step
    and samples, the rows with a true cost, MAPE (%), R^2, Kendall's tau; and Deffe's columns from its
    training history: Epoch (of the lowest validation loss, near the weights kept), CostIndex, TrainLoss,
    ValLoss, TestLoss (the hold-out's, when it was recorded). Every row of the data counts, including
    those the checkpoint was trained on. Keras ``.hdf5`` files are skipped with one warning. ``dry`` (-no-run):
    everything but the writing."""
    log = _logger(args)
    folder = _checkpoint_folder(config, directory, log)
    keras = [p for p in folder.iterdir() if p.suffix.lower() in KERAS_SUFFIXES]
    if keras:
        log.warning(f"warning: {directory}: {len(keras)} Keras checkpoint{'s' if len(keras) > 1 else ''} of the "
                    f"original Deffe (.hdf5) skipped: reading {'them' if len(keras) > 1 else 'it'} needs TensorFlow")
    files = sorted(folder.glob("*.ckpt"))
    if not files:
        raise DeffeError("no checkpoint (.ckpt) to evaluate", file=str(directory),
                         hint="give a directory of .ckpt files, e.g. a run's checkpoints/")
    costs = config.cost_names
    threads = _threads(config, args)
    data: dict[tuple, tuple[Rows, list[bool], str]] = {}
    table = []
    for path in files:
        meta = read_meta(path)
        explore = pick_explore(config, meta, str(path))
        source, shown = _evaluation_data(config, args, explore)
        if (explore.name, source) not in data:
            rows, has_truth = read_input(source, shown, explore.space, costs)
            if not any(has_truth):
                raise DeffeError(f"no column for the cost{'s' if len(costs) > 1 else ''} {', '.join(costs)}: "
                                 "nothing to measure the checkpoints against", file=shown, where="line 1")
            if rows.bad:
                line, what = rows.bad[0]
                log.warning(f"warning: {shown}: {len(rows.bad)} bad row{'s' if len(rows.bad) > 1 else ''} "
                            f"skipped (first: line {line}: {what})")
            data[explore.name, source] = rows, has_truth, shown
        rows, has_truth, shown = data[explore.name, source]
        model = load_model(config, args, explore, meta, path, log, threads)
        codes = np.array(rows.codes, dtype=float).reshape(-1, len(explore.space))
        truth = np.array(rows.truth, dtype=float).reshape(-1, len(costs))
        pred = predicted(model, codes, len(costs), meta.plugin, str(path)).mean if len(codes) else \
            np.empty((0, len(costs)))
        epoch = _kept_epoch(meta.history)
        for j, cost in enumerate(costs):
            m = evaluate(truth[:, j], pred[:, j]) if has_truth[j] else None
            figures = [m.n, 100 * m.mape, m.r2, m.kendall_tau] if m else [None] * 4
            table.append([str(path), meta.step, meta.samples, cost, *figures, epoch.get("epoch"), j,
                          epoch.get("train_loss"), epoch.get("val_loss"), epoch.get("test_loss")])
    out = Path(output or EVALUATE_OUTPUT)
    if dry:   # -no-run: every checkpoint measured, nothing written
        print(f"-no-run: {len(files)} checkpoint{'s' if len(files) > 1 else ''} measured; {len(table)} rows would "
              f"be written to {out}; nothing is written")
        return 0
    write_csv(out, EVALUATE_COLUMNS, table,
              lambda v: "" if v is None or (isinstance(v, float) and not math.isfinite(v))
              else (f"{v:.6g}" if isinstance(v, float) else str(v)))
    if not getattr(args, "quiet", False):
        print(f"{len(files)} checkpoint{'s' if len(files) > 1 else ''} evaluated on "
              f"{', '.join(dict.fromkeys(shown for _r, _h, shown in data.values()))} -> {out}")
    return 0


def _evaluation_data(config: Config, args: Any, explore: Explore) -> tuple[Path, str]:
    given = getattr(args, "pre_evaluated_data", None)
    if given:
        return Path(given), given
    if explore.pre_evaluated_data:
        return config.resolve(explore.pre_evaluated_data), explore.pre_evaluated_data
    raise DeffeError(f"-model-extract-dir needs data to measure the checkpoints on (exploration "
                     f"'{explore.name}' has no pre_evaluated_data)", file=explore.file, where=explore.where,
                     hint="give -pre-evaluated-data CSV")


def _kept_epoch(history: list[dict]) -> dict:
    """The record of a training history nearest the weights a checkpoint keeps: the lowest validation loss."""
    scored = [h for h in history if h.get("val_loss") is not None]
    if scored:
        return min(scored, key=lambda h: h["val_loss"])
    return history[-1] if history else {}
