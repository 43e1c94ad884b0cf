"""Training the surrogate in the loop: after each step, on everything evaluated so far.

What one step does (`ModelTrainer.step`, called by the driver):

* a hold-out the model never sees: each point is in it or not by a hash of its
  values and the seed, so the same points are held out at every step and in a
  rerun (``model.train_test_split``, default 0.8: one point in five held out);
* the model plugin's ``Run`` gets the other points, failed and infeasible ones
  included (they feed only its feasibility classifier);
* on the hold-out's successful points, per cost: MAPE, R^2, Kendall's tau and
  the recall of the k best points (``model.top_k``); with failed points in the
  hold-out, the accuracy of the feasibility classifier;
* the figures go to the run store (the step's ``model`` record, which the
  exploration reads: ``holdout_mape`` is the worst cost's MAPE as a fraction)
  and to ``model_metrics.csv`` in the run directory, with the model that
  predicts (``model``: for ``auto``, the candidate it chose) and, at a step
  where a model chose among candidates, each one's out-of-sample score
  (``selection``, see `selection_text`);
* the model is written to ``checkpoints/<explore>.ckpt`` (``model.checkpoints``);
* ``-model-stats-output FILE`` gets the per-epoch train, validation and test
  (hold-out) losses in Deffe's columns, and plots of the learning curve and of
  predicted against true costs go in the run directory.

Model plugins may offer, besides ``Initialize``/``Run``/``Predict``:
``SetMonitor(codes, costs)`` (a set to report the loss on each epoch, never
trained on), ``Save(path)`` and ``Load(path)``; ``Run`` may return a
``history`` list of per-epoch records (``epoch``, ``train_loss``,
``val_loss``, ``test_loss``).
"""
from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import (CheckpointMeta, config_digest, is_framework_file, one_checkpoint, sidecar_path,
                         write_sidecar)
from .contract import Broken, frozen, model_report_of, prediction_of
from .encoding import Encoding
from .config.schema import KERAS_LOSSES, Key, choice_hint
from .errors import DeffeError
from .metrics import evaluate
from .protocols import TrainingData
from .tables import csv_writer, write_csv

LOSSES = ("mse", "huber", "mae", "custom_mean_abs_log_loss", "custom_mean_abs_exp_loss")
# Deffe's other loss names: its network predicted log(cost), so these are the same losses here
LOSS_ALIASES = {"mean_squared_error": "mse", "mean_squared_error_int": "mse",
                "custom_mean_abs_loss": "custom_mean_abs_exp_loss"}
NO_HOLDOUT_WARNING = 10   # samples from which a train_test_split that leaves no hold-out is warned about
STATS_COLUMNS = ["Epoch", "TrainLoss", "ValLoss", "TestLoss", "Step", "TrainCount", "ValCount"]


# ----------------------------------------------------------------------------- options
def model_options(section: dict, args: Any = None, file: str | None = None, config: Any = None) -> dict:
    """The model section with the command line's model options applied, checked.

    Options that `cli._apply_cli` does not copy into the config (-icp,
    -freeze-layers, -tl-samples, -learning-rate) are read here. ``config``: where the keys came from (a loss
    the schema did not check came from Deffe's option string, model.ml_arguments or model.arguments).
    """
    opts = dict(section)
    a = args
    if a is not None:
        if getattr(a, "icp", None) and not getattr(a, "inference_only", False):
            opts["initial_checkpoint"] = one_checkpoint(a.icp)   # Deffe's -icp took a file per cost
        if getattr(a, "freeze_layers", None) is not None:
            opts["freeze_layers"] = a.freeze_layers
        if getattr(a, "tl_samples", False):
            opts["transfer_learning"] = True
        if getattr(a, "learning_rate", None) is not None:
            opts["learning_rate"] = a.learning_rate
    where = "model"
    loss = opts["loss"] = LOSS_ALIASES.get(opts.get("loss"), opts.get("loss"))
    if loss not in LOSSES:
        key, origins = "loss", getattr(config, "origins", None) or {}
        for option in ("ml_arguments", "arguments"):   # the schema checked model.loss: an option string's -loss
            if f"{where}.{option}" in origins:
                key, file = option, origins[f"{where}.{option}"]
                break
        hint = choice_hint(str(loss), Key("str", choices=LOSSES + tuple(LOSS_ALIASES), foreign=KERAS_LOSSES))
        raise DeffeError(f"loss '{loss}' is not one of {', '.join(LOSSES)} (or Deffe's {', '.join(LOSS_ALIASES)})",
                         file=file, where=f"{where}.{key}", hint=hint)
    for key in ("train_test_split", "validation_split", "dropout"):
        v = opts.get(key)
        if v is None and key == "validation_split":   # automatic (see the torch plugins' validation_split_for)
            continue
        if v is None or not 0 <= float(v) <= 1 or (key == "train_test_split" and float(v) == 0):
            raise DeffeError(f"{key} must be a fraction in {'(0, 1]' if key == 'train_test_split' else '[0, 1)'}, "
                             f"got {v}", file=file, where=f"{where}.{key}",
                             hint=("give a fraction above 0 and up to 1 (1: every point trains, none is held out)"
                                   if key == "train_test_split" else "give a fraction from 0 up to, not including, 1"))
    if float(opts["validation_split"] or 0) >= 1 or float(opts["dropout"]) >= 1:
        bad = "validation_split" if float(opts["validation_split"] or 0) >= 1 else "dropout"
        raise DeffeError(f"{bad} must be below 1, got {opts[bad]}", file=file, where=f"{where}.{bad}",
                         hint="give a fraction below 1 (0: none)")
    hidden = opts.get("hidden")
    if not isinstance(hidden, list) or not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1
                                               for h in hidden):
        raise DeffeError(f"hidden must be a list of layer widths (positive integers), got {hidden!r}", file=file,
                         where=f"{where}.hidden", hint='e.g. "hidden": [32, 32]')
    for key in ("learning_rate", "gbm_learning_rate"):   # 0 trains nothing (scikit-learn refuses it mid-run)
        v = opts.get(key)
        if v is not None and not float(v) > 0:
            raise DeffeError(f"{key} must be above 0, got {v}", file=file, where=f"{where}.{key}",
                             hint="give a positive number, such as 0.001")
    fl = opts.get("freeze_layers")
    opts["freeze_layers"] = max(0, int(fl)) if fl is not None else 0   # Deffe wrote -1 for "none"
    for key in ("epochs", "train_batch_size", "ensemble", "patience", "estimators", "top_k"):
        v = opts.get(key)
        if v is None and key == "train_batch_size":   # automatic (see the torch plugins' batch_size_for)
            continue
        if v is None or int(v) < 1:
            raise DeffeError(f"{key} must be a positive integer, got {v}", file=file, where=f"{where}.{key}",
                             hint="give 1 or more")
    return opts


def _explore_of(explore: Any, several: bool) -> str:
    return f"exploration '{explore.name}': " if several else ""


# ----------------------------------------------------------------------------- hold-out
def holdout_mask(keys: list[str], train_fraction: float, seed: int) -> np.ndarray:
    """True for points held out: a hash of each point's key, so membership never changes between steps."""
    if train_fraction >= 1:
        return np.zeros(len(keys), dtype=bool)
    salt = str(int(seed)).encode()
    out = np.empty(len(keys), dtype=bool)
    for i, k in enumerate(keys):
        h = hashlib.blake2b(k.encode(), digest_size=8, key=salt).digest()
        out[i] = int.from_bytes(h, "big") / 2.0 ** 64 >= train_fraction
    return out


def _subset(data: TrainingData, rows: np.ndarray) -> TrainingData:
    return TrainingData(data.codes[rows], data.features[rows], data.costs[rows],
                        [data.status[i] for i in np.flatnonzero(rows)], data.step, final=data.final,
                        guided_tail=data.guided_tail_of(rows))


# ----------------------------------------------------------------------------- the step
class ModelTrainer:
    """Trains the model after each step of an exploration and records how good it is."""

    def __init__(self, fw: Any, store: Any, run_dir: Path, several: bool, dry_run: bool = False):
        self.fw = fw
        self.store = store
        self.run_dir = Path(run_dir)
        self.several = several
        self.dry_run = dry_run
        self.stats_started = False
        self.warned: set[str] = set()          # warnings said once a run
        self.pending: dict[str, str] = {}      # per exploration: a too-few-samples warning not said yet

    def _warn_once(self, key: str, text: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.fw.log.warning(text)

    def _untrained(self, explore: Any, data: TrainingData, text: str) -> None:
        """Too few samples to train on: said once the exploration ends without a model (`said_untrained`), or
        at once at its last training. A search that evaluates one point per step (annealing, hill climbing)
        has one sample at its first training and a model from its second: no warning for that."""
        if getattr(data, "final", True):
            self._warn_once(f"few:{explore.name}", text)
        else:
            self.pending[explore.name] = text

    def said_untrained(self, explore: Any) -> None:
        """At the end of an exploration: the warning of a training that found too few samples, when no
        training after it found enough."""
        text = self.pending.pop(explore.name, None)
        if text is not None:
            self._warn_once(f"few:{explore.name}", text)

    def _warn_no_holdout(self, explore: Any, split: float, samples: int, measured: bool) -> None:
        """A train_test_split that leaves no hold-out because of its value (not the chance of a few points):
        below 1, from NO_HOLDOUT_WARNING successful samples on, when it expects fewer than 2 of them to train
        on or less than 1 to hold out."""
        if measured or split >= 1 or samples < NO_HOLDOUT_WARNING:
            return
        if split * samples < 2 or (1 - split) * samples < 1:
            self._warn_once(f"holdout:{explore.name}",
                            f"warning: {_explore_of(explore, self.several)}train_test_split {split:g} leaves no "
                            f"hold-out of the {samples} samples (with fewer than 2 to train on, the model trains "
                            "on all of them): its accuracy is not measured (model_metrics.csv has no figures); a "
                            "split such as 0.8 holds one point in five out")

    def _prefix(self, explore: Any) -> str:
        return f"{explore.name}-" if self.several else ""

    def step(self, model: Any, explore: Any, step: int, data: TrainingData, call=None) -> dict | None:
        """Train on ``data`` (all the exploration's samples), measure on the hold-out, record. None if too few."""
        fitted = self.fit(model, explore, data, call)
        return None if fitted is None else self.record(model, explore, step, fitted, call)

    def fit(self, model: Any, explore: Any, data: TrainingData, call=None) -> dict | None:
        """Train and measure, touching neither the store nor the run directory: the asynchronous exploration
        runs this in a background thread. Returns what `record` needs, or None if too few points."""
        fw = self.fw
        call = call or (lambda obj, method, *a: getattr(obj, method)(*a))
        opts = model_options(fw.section("model"), fw.args, fw.config.data.get("__origin__"), fw.config)
        ok = np.array([s == "ok" for s in data.status], dtype=bool)
        if len(ok) < 2:
            self._untrained(explore, data, f"warning: {_explore_of(explore, self.several)}"
                            f"{len(ok)} sample{'' if len(ok) == 1 else 's'} {'is' if len(ok) == 1 else 'are'} too few "
                            "to train the model: no model was trained and no checkpoint written (at least 2 samples "
                            "are needed)")
            return None
        if not ok.any():   # one design that ran is enough beside others that failed; none, only for a model that
            # learns the constraints' costs from the designs that missed them (CanLearn; a plugin without it: no)
            can = getattr(model, "CanLearn", None)
            if not callable(can) or not call(model, "CanLearn", data):
                self._untrained(explore, data, f"warning: {_explore_of(explore, self.several)}{len(ok)} "
                                "samples, none of which ran: no model was trained and no checkpoint written (a "
                                "model needs at least one sample with measured costs)")
                return None
        self.pending.pop(explore.name, None)   # a model will be trained: nothing to say
        space = explore.space
        held = holdout_mask(space.keys(data.codes), float(opts["train_test_split"]), fw.seed)
        if (ok & ~held).sum() < 2:   # too few to learn from yet: train on everything, measure nothing
            held[:] = False
        self._warn_no_holdout(explore, float(opts["train_test_split"]), int(ok.sum()), bool((ok & held).any()))
        refit = bool(opts.get("refit")) and held.any()
        train = _subset(data, ~held)
        train.fresh = refit   # the weights of the last refit saw the hold-out: measure a model that did not
        test = _subset(data, held)
        test_ok = np.array([s == "ok" for s in test.status], dtype=bool)
        stats = bool(getattr(fw.args, "model_stats_output", None)) or bool(opts.get("plots"))
        if stats and test_ok.any() and callable(getattr(model, "SetMonitor", None)):
            # the per-epoch test loss costs a pass over the hold-out every epoch: only when it is shown
            call(model, "SetMonitor", test.codes[test_ok], test.costs[test_ok])
        t0 = time.perf_counter()
        # checked here too: the asynchronous exploration's training process calls the plugin without the driver
        report = _checked(fw, "Run", lambda: model_report_of(call(model, "Run", train))) or {}
        seconds = time.perf_counter() - t0
        history = report.pop("history", None) or []
        if report.get("train_seconds") is None:
            report["train_seconds"] = seconds
        report["samples"] = len(data.status)
        report["train"] = int((~held).sum())
        report["holdout"] = int(test_ok.sum())
        report["failed"] = int((~ok).sum())
        report["train_failed"] = int((~ok & ~held).sum())   # in "train": the feasibility part learns from them

        metrics: dict[str, dict] = {}
        predicted = None
        if test_ok.any():
            predicted = _checked(fw, "Predict", lambda: prediction_of(call(model, "Predict", frozen(test.codes)),
                                                                      len(test.codes), len(fw.costs)))
            for j, cost in enumerate(fw.costs):
                m = evaluate(test.costs[test_ok, j], predicted.mean[test_ok, j], int(opts["top_k"]),
                             maximize=cost.direction == "max")
                metrics[cost.name] = _finite(m.as_dict())
            if (~test_ok).any() and predicted.feasible is not None:
                guess = np.asarray(predicted.feasible) >= 0.5
                report["feasibility_accuracy"] = float(np.mean(guess == test_ok))
        report["metrics"] = metrics
        worst = [m["mape"] for m in metrics.values() if m.get("mape") is not None]
        report["holdout_mape"] = max(worst) if worst else None
        if refit:   # the exploration predicts with a model of everything; the figures above stay honest
            t0 = time.perf_counter()
            call(model, "Run", data)
            report["refit_seconds"] = time.perf_counter() - t0
        return {"report": report, "history": history, "test": test, "test_ok": test_ok, "predicted": predicted,
                "opts": opts}

    def record(self, model: Any, explore: Any, step: int, fitted: dict, call=None) -> dict:
        """Checkpoint, store, tables, plots and the log line of a fitted model (the driver's thread)."""
        fw = self.fw
        call = call or (lambda obj, method, *a: getattr(obj, method)(*a))
        report, history, opts = fitted["report"], fitted["history"], fitted["opts"]
        test, test_ok, predicted = fitted["test"], fitted["test_ok"], fitted["predicted"]
        if not self.dry_run:
            ckpt = self._checkpoint(model, explore, opts, call, step, report, history)
            if ckpt:
                report["checkpoint"] = str(ckpt)
        self.store.record_step(explore.name, step, {"model": report})
        if not self.dry_run:
            self.write_metrics(explore)
            self._write_stats(history, step, report)
            if opts.get("plots") or getattr(fw.args, "model_stats_output", None):
                self._plot(explore, history, test, test_ok, predicted)
        fw.log.info(_summary(step, report))
        return report

    # ------------------------------------------------------------------ outputs
    def _checkpoint(self, model: Any, explore: Any, opts: dict, call, step: int | None = None,
                    report: dict | None = None, history: list | None = None) -> Path | None:
        if not opts.get("checkpoints") or not callable(getattr(model, "Save", None)):
            return None
        path = self.run_dir / "checkpoints" / f"{explore.name}.ckpt"
        try:   # a user's Save(path) writes the file it is given: its directory is there (the built-ins make it too)
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DeffeError(f"the checkpoints' directory {path.parent} cannot be made ({e.strerror or e})",
                             where="model.checkpoints",
                             hint="free space or fix the run directory's permissions (or set \"checkpoints\": "
                                  "false), then run the same command to resume") from None
        call(model, "Save", path)
        self._describe(path, explore, step, report or {}, history or [])
        return path

    def _describe(self, path: Path, explore: Any, step: int | None, report: dict, history: list) -> None:
        """A checkpoint a user's plugin wrote in its own format gets ``<path>.meta.json`` beside it (which plugin,
        space, costs, settings: checkpoint.write_sidecar), read by -inference-only and the Python API; one in the
        framework's format (a built-in model's) carries all that in its header."""
        side = sidecar_path(path)
        try:
            if is_framework_file(path):
                side.unlink(missing_ok=True)   # a previous plugin's description would be stale
                return
            fw = self.fw
            section = fw.section("model")
            meta = CheckpointMeta(plugin=str(section.get("plugin")), signature=Encoding(explore.space).signature(),
                                  costs=list(fw.cost_names), config_digest=config_digest(fw.config),
                                  explore=explore.name, step=step, samples=report.get("train"),
                                  info={"python_path": [str(p) for p in fw.config.python_paths()],
                                        "model": dict(section)},
                                  history=[{k: v for k, v in h.items() if v is None or isinstance(v, (bool, int, float, str))}
                                           for h in history if isinstance(h, dict)])
            write_sidecar(path, meta)
        except OSError as e:
            raise DeffeError(f"{side} cannot be written ({e.strerror or e})", where="model.checkpoints",
                             hint="free space or fix the run directory's permissions (or set \"checkpoints\": "
                                  "false), then run the same command to resume") from None

    def write_metrics(self, explore: Any) -> None:
        """model_metrics.csv from the store's step records (rewritten when a rerun's fewer steps drop some)."""
        rows = []
        for step, info in self.store.steps(explore.name):
            rep = info.get("model")
            if not rep:
                continue
            # one row per cost, its figures empty when nothing was held out to measure it on
            measured = rep.get("metrics") or {}
            for cost, m in ((c.name, measured.get(c.name) or {}) for c in self.fw.costs):
                rows.append([step, cost or "", rep.get("train"), rep.get("holdout"), rep.get("failed"),
                             _pct(m.get("mape")), m.get("r2"), m.get("kendall_tau"), m.get("top_k_recall"),
                             m.get("k"), rep.get("train_seconds"), rep.get("epochs"), rep.get("start"),
                             rep.get("chosen") or rep.get("plugin"), selection_text(rep.get("selection"))])
        header = ["step", "cost", "train", "holdout", "failed", "mape_percent", "r2", "kendall_tau",
                  "top_k_recall", "k", "train_seconds", "epochs", "start", "model", "selection"]
        _write_csv(self.run_dir / f"{self._prefix(explore)}model_metrics.csv", header, rows)

    def _write_stats(self, history: list[dict], step: int, report: dict) -> None:
        target = getattr(self.fw.args, "model_stats_output", None)
        if not target:
            return
        # a model without epochs (trees, a Gaussian process) gets a row per training, its losses empty: the file
        # the flag promised is there, with each step's sizes (its hold-out figures are in model_metrics.csv)
        history = history or [{}]
        path = Path(target)
        mode = "a" if self.stats_started else "w"
        self.stats_started = True
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, mode, newline="", encoding="utf-8") as fh:
                w = csv_writer(fh)
                if mode == "w":
                    w.writerow(STATS_COLUMNS)
                for h in history:
                    w.writerow([h.get("epoch"), _num(h.get("train_loss")), _num(h.get("val_loss")),
                                _num(h.get("test_loss")), step, report.get("train_count", report.get("train")),
                                report.get("val_count", "")])
        except OSError as e:   # checked before the run (outputs.py); a disk that filled up since, or the like
            raise DeffeError(f"{target} cannot be written ({e.strerror or e})", where="-model-stats-output",
                             hint="every result is stored: free space or name another file, then run the same "
                                  "command to resume") from None

    def _plot(self, explore: Any, history: list[dict], test: TrainingData, test_ok: np.ndarray,
              predicted: Any) -> None:
        prefix = self._prefix(explore)
        steps = [(s, info["model"]) for s, info in self.store.steps(explore.name) if info.get("model")]
        plot_learning_curve(history, steps, [c.name for c in self.fw.costs],
                            self.run_dir / f"{prefix}model_learning_curve.png")
        if predicted is not None:
            plot_predicted_vs_true(test.costs[test_ok], predicted.mean[test_ok], [c.name for c in self.fw.costs],
                                   self.run_dir / f"{prefix}model_predicted_vs_true.png",
                                   title=f"hold-out of step {test.step}")


# ----------------------------------------------------------------------------- helpers
def _checked(fw: Any, method: str, answer):
    """``answer()``: a model plugin's answer through its contract check (contract.py); what breaks it is one
    error naming the plugin, as the driver's `_call` words it."""
    try:
        return answer()
    except Broken as e:
        raise DeffeError(f"ml_model plugin '{fw.section('model').get('plugin')}': {method}() {e.what}",
                         file=fw.config.data.get("__origin__"), where="model.plugin", hint=e.hint) from None


def selection_text(selection: dict | None) -> str:
    """A model's choice among candidates, for one cell: 'name score=0.12 mape=8.1% (5-fold); ...'.

    ``selection`` is what a choosing model (``auto``) reports at a step where it chose: per candidate its
    out-of-sample ``score`` (lower is better; with ``costs``, per cost by name), ``mape`` (a fraction) and
    ``protocol`` (with ``for``: the costs an average competes for), or a ``note`` saying why it was not scored.
    Empty at steps that kept the previous choice."""
    parts = []
    for name, s in (selection or {}).items():
        if s.get("score") is None:
            parts.append(f"{name} ({s.get('note', 'not scored')})")
            continue
        text = f"{name} score={s['score']:.4g}"
        if len(s.get("costs") or {}) > 1:   # per cost too: each cost takes the entry best for it
            text += " [" + ", ".join(f"{c} {v:.4g}" for c, v in s["costs"].items() if v is not None) + "]"
        if s.get("for"):
            text += f" [for {', '.join(s['for'])}]"
        if s.get("mape") is not None:
            text += f" mape={100 * s['mape']:.3g}%"
        parts.append(text + (f" ({s['protocol']})" if s.get("protocol") else ""))
    return "; ".join(parts)


def _finite(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def _pct(x) -> float | None:
    return None if x is None else 100.0 * x


def _num(x):
    return "" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.6g}"


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    write_csv(path, header, rows, lambda v: "" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v)))


def _summary(step: int, report: dict) -> str:
    chosen = f" ({report['chosen']})" if report.get("chosen") else ""
    failed = f" ({report['train_failed']} of them failed)" if report.get("train_failed") else ""
    text = (f"step {step}: model{chosen} trained on {report['train']} of {report['samples']} samples{failed} "
            f"in {report['train_seconds']:.2f} s")
    parts = []
    for cost, m in (report.get("metrics") or {}).items():
        if m.get("mape") is not None:
            tau = m.get("kendall_tau")
            parts.append(f"{cost} MAPE {100 * m['mape']:.2f}%" + (f", tau {tau:.3f}" if tau is not None else ""))
    if parts:
        text += f"; hold-out of {report['holdout']}: " + "; ".join(parts)
    return text


def plot_learning_curve(history: list[dict], steps: list[tuple[int, dict]], costs: list[str], path: Path) -> None:
    """Left: per-epoch losses of the last training. Right: hold-out MAPE against training samples, per step."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    if history:
        ep = [h["epoch"] for h in history]
        for key, label in (("train_loss", "train"), ("val_loss", "validation"), ("test_loss", "test (hold-out)")):
            ys = [h.get(key) for h in history]
            if any(y is not None for y in ys):
                a.plot(ep, [np.nan if y is None else y for y in ys], label=label)
        a.set_yscale("log")
        if a.get_legend_handles_labels()[0]:
            a.legend()
    a.set_xlabel("epoch")
    a.set_ylabel("loss")
    a.set_title("last training")
    for cost in costs:
        xs = [rep.get("train") for _s, rep in steps if (rep.get("metrics") or {}).get(cost, {}).get("mape") is not None]
        ys = [100 * rep["metrics"][cost]["mape"] for _s, rep in steps
              if (rep.get("metrics") or {}).get(cost, {}).get("mape") is not None]
        if xs:
            b.plot(xs, ys, marker="o", label=cost)
    b.set_xlabel("training samples")
    b.set_ylabel("hold-out MAPE (%)")
    b.set_title("learning curve")
    if b.get_legend_handles_labels()[0]:   # no hold-out, no curve: a legend of nothing warned on stderr
        b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_predicted_vs_true(true: np.ndarray, pred: np.ndarray, costs: list[str], path: Path,
                           title: str = "") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    c = len(costs)
    fig, axes = plt.subplots(1, c, figsize=(4.5 * c, 4.2), squeeze=False)
    for j, (ax, cost) in enumerate(zip(axes[0], costs)):
        t, p = true[:, j], pred[:, j]
        keep = np.isfinite(t) & np.isfinite(p)
        ax.scatter(t[keep], p[keep], s=6, alpha=0.5)
        if keep.any():
            lo, hi = float(min(t[keep].min(), p[keep].min())), float(max(t[keep].max(), p[keep].max()))
            ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8)
        ax.set_xlabel(f"true {cost}")
        ax.set_ylabel(f"predicted {cost}")
        ax.set_title(f"{cost} {title}".strip())
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
