"""The original Deffe's command-line flags, read as it read them.

Deffe's ``run_deffe.py`` (and the scripts of its README and ``test/run_deffe.sh``)
pass flags this driver does not need under their own name; they are accepted
so that a Deffe command line runs unchanged:

* some mean the same here: ``-init-batch-samples``, ``-batch-size`` (Deffe's
  overloaded batch: the first steps' size, the evaluations in parallel, and the
  training mini-batch), ``-evaluate-batch-size`` / ``-extract-batch-size``
  (evaluations in parallel), ``-mlmodel-batch-size``, ``-sampling-method``,
  ``-no-inference``, ``-model-extract-dir``, ``-input`` without
  ``-inference-only`` (explore those rows: ``-pre-evaluated-data`` +
  ``-only-preloaded-data-exploration``);
* some have nothing left to do: ``-no-slurm`` (evaluations run locally
  anyway), ``-hold-evaluated-data`` (every result is stored), ``-load-train-test``
  (the hold-out is the same at every step by construction);
* the rest change nothing here and say so in one warning each.

Deffe's step sizes: its first step evaluated ``init`` points for training plus
``2 x init`` for validation (``init`` from ``-init-batch-samples``, else
``-batch-size``), and each later step ``2 x init`` more, unless
``-fixed-samples N`` (the command line or the sampling arguments) set every
later step to N and the first to ``init``.
"""
from __future__ import annotations

import argparse
import os
from typing import Any

from .config.deffe_args import DEFFE_METHODS, DEFFE_METHODS_NEAREST, batch_warning
from .errors import DeffeError

# flags that change nothing here, and why (one warning each when given, naming the flag as spelled)
IGNORED = {
    "disable_threading": ("-disable-threading", "no threads to disable (evaluations run in processes, -jobs N)"),
    "validate_module": ("-validate-module", "Deffe's sample-filtering module is not supported"),
    "bounds_no_check": ("-bounds-no-check", "values are checked against the knobs' domains when they are read"),
    "evaluate_out_flow": ("-evaluate-out-flow", "results are stored as each evaluation completes"),
    "emulate_preload_feed": ("-emulate-preload-feed", "pre-evaluated data is used as it is read"),
}


class Spelled(argparse.Action):
    """Stores the value (``const`` for a switch, ``nargs=0``) and the flag as the user spelled it: an error
    about -fixed-samples names -fixed-samples, not -samples-per-step."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)
        spelled = dict(getattr(namespace, "spelled_flags", None) or {})
        spelled[self.dest] = option_string
        namespace.spelled_flags = spelled


def spelled(args: argparse.Namespace, dest: str, flag: str) -> str:
    """The flag that set ``dest`` as the user spelled it (``flag``, its main name, when not recorded)."""
    return (getattr(args, "spelled_flags", None) or {}).get(dest, flag)


def add_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the original Deffe's flags (see 'Coming from Deffe' in the README)")
    a = g.add_argument
    a("-init-batch-samples", dest="init_batch_samples", type=int, default=None, metavar="N",
      help="Deffe: points of the first step (then 2N per step, or -fixed-samples)")
    a("-evaluate-batch-size", "-extract-batch-size", dest="evaluate_batch_size", type=int, default=None,
      action=Spelled, metavar="N", help="Deffe: evaluations in parallel (as -jobs)")
    a("-mlmodel-batch-size", dest="mlmodel_batch_size", type=int, default=None, metavar="N",
      help="Deffe: training mini-batch (as -train-batch-size)")
    a("-sampling-method", dest="sampling_method", default=None, metavar="METHOD",
      help="Deffe: the sampling method (random, lhs, halton, ...; as sampling.plugin)")
    a("-no-inference", dest="no_inference", action="store_true",
      help="Deffe: the model's predictions choose nothing (the exploration samples); with -no-train: no model")
    a("-model-extract-dir", dest="model_extract_dir", default=None, metavar="DIR",
      help="Deffe: measure every checkpoint in DIR on the pre-evaluated data; rows to -model-stats-output")
    a("-no-slurm", dest="no_slurm", action="store_true", help="Deffe: do not submit to SLURM")
    a("-hold-evaluated-data", dest="hold_evaluated_data", action="store_true",
      help="Deffe: keep evaluated data (always done: the run store)")
    a("-load-train-test", dest="load_train_test", action="store_true",
      help="Deffe: reuse the saved train/test split (the hold-out is the same at every step here)")
    a("-step-increment", dest="step_increment", type=int, default=None, metavar="N", help="Deffe: steps taken at once")
    a("-pipeline", dest="pipeline", action="store_true",
      help="Deffe: evaluations, training and exploration overlap (as -async)")
    for flag, dest in (("-disable-threading", "disable_threading"),
                       ("-bounds-no-check", "bounds_no_check"), ("-emulate-preload-feed", "emulate_preload_feed")):
        a(flag, dest=dest, action="store_true", help=argparse.SUPPRESS)
    a("-validate-module", "-validate-samples", dest="validate_module", action=Spelled, nargs=0, const=True,
      default=False, help=argparse.SUPPRESS)
    a("-evaluate-out-flow", "-extract-out-flow", dest="evaluate_out_flow", type=int, default=None, action=Spelled,
      help=argparse.SUPPRESS)


# training options that -no-train leaves with nothing to do (dest -> flag); Deffe's -batch-size is not one:
# it sets the first step's size and the evaluations in parallel too
TRAINING_FLAGS = {"icp": "-icp", "tl_samples": "-tl-samples", "epochs": "-epochs", "freeze_layers": "-freeze-layers",
                  "learning_rate": "-learning-rate", "loss": "-loss", "train_test_split": "-train-test-split",
                  "validation_split": "-validation-split", "train_batch_size": "-train-batch-size",
                  "mlmodel_batch_size": "-mlmodel-batch-size"}


def _given(args: argparse.Namespace, dests: dict[str, str]) -> list[str]:
    """The flags of ``dests`` given on the command line, as the user spelled them."""
    return [spelled(args, d, flag) for d, flag in dests.items() if getattr(args, d, None) not in (None, False, [])]


def inference_warnings(args: argparse.Namespace) -> list[str]:
    """-inference-only predicts the rows of -input with -icp and does nothing else: the flags of a run that
    it leaves unused, one warning each."""
    unused = {"model_extract_dir": "-model-extract-dir", "only_preloaded_data_exploration":
              "-only-preloaded-data-exploration", "full_exploration": "-full-exploration",
              "pre_evaluated_data": "-pre-evaluated-data"}
    return [f"{flag}: ignored with -inference-only (it predicts the rows of -input with the model -icp, and "
            "explores and measures nothing)" for flag in _given(args, unused)]


def conflicts(args: argparse.Namespace) -> list[str]:
    """Flags that another flag of the same command line makes pointless: one warning each, saying which
    one is ignored and why. Read before `apply` sets flags from others (-batch-size sets the training
    mini-batch, -input the pre-evaluated data)."""
    warnings = []
    if args.input and args.pre_evaluated_data and not args.inference_only:
        warnings.append(f"-input {args.input}: ignored: -pre-evaluated-data {args.pre_evaluated_data} is the data "
                        "explored (without -inference-only, -input is Deffe's way of giving it)")
    if getattr(args, "full_exploration", False) and not (args.only_preloaded_data_exploration or args.input):
        warnings.append("-full-exploration: ignored without -only-preloaded-data-exploration (it trains on all "
                        "the pre-evaluated data in one step)")
    if not args.inference_only:   # -inference-only's own flags (-input has a meaning without it: Deffe's)
        warnings.extend(f"{flag}: ignored without -inference-only ({why})" for flag, why in (
            ("-output", "it names the file of the predictions of -input's rows"),
            ("-strict", "it makes a bad -input row an error when predicting")) if getattr(args, flag[1:]))
    if "icp" in (getattr(args, "spelled_flags", None) or {}) and not args.icp:
        warnings.append("-icp: ignored: no checkpoint file follows it (-icp FILE)")
    if args.model_extract_dir:
        # the checkpoints are measured as they are, on every row of the data: Deffe's EvaluateModel re-scored
        # them with -loss on its -train-test-split hold-out, which needs the plugin's target scaling (plugins/)
        warnings.extend(f"{flag}: ignored with -model-extract-dir (it trains nothing: each checkpoint is measured "
                        "on every row of the data by MAPE, R^2 and Kendall's tau; TrainLoss, ValLoss and TestLoss "
                        "are those its training recorded, with its own loss and split)"
                        for flag in _given(args, TRAINING_FLAGS))
    if args.no_train and not args.model_extract_dir:
        unused = _given(args, TRAINING_FLAGS)
        if unused:
            warnings.append(f"{', '.join(unused)}: ignored with -no-train (no model is trained)")
    if args.custom_samples:
        sizes = _given(args, {"init_batch_samples": "-init-batch-samples", "samples_per_step": "-samples-per-step"})
        if sizes:
            warnings.append(f"{', '.join(sizes)}: ignored: -custom-samples "
                            f"{' '.join(map(str, args.custom_samples))} sets the size of every step")
    if args.executor == "slurm" and args.no_slurm:
        warnings.append("-executor slurm: ignored with -no-slurm (the evaluations run on this machine)")
    return warnings


def _need_data(config: Any, args: argparse.Namespace) -> None:
    """-only-preloaded-data-exploration explores the pre-evaluated data and evaluates nothing: without data
    it can do nothing at all (an empty run, exit 0, was all it did). Data whose every row is outside the
    space is found when it is read (the driver's preflight)."""
    if args.pre_evaluated_data:
        return
    for e in config.explores:
        if e.pre_evaluated_data:
            continue
        hint = "give -pre-evaluated-data CSV, or leave out -only-preloaded-data-exploration to evaluate"
        if e.missing_data:   # a warning otherwise (Deffe went on without it); here nothing would be left
            raise DeffeError(f"{e.missing_data} not found (looked next to the config and in the current "
                             "directory): -only-preloaded-data-exploration has no data to explore",
                             file=e.file, where=f"{e.where}.pre_evaluated_data", hint=hint)
        raise DeffeError(f"no pre-evaluated data to explore in exploration '{e.name}' (no -pre-evaluated-data, "
                         "no pre_evaluated_data in the config)", where="-only-preloaded-data-exploration", hint=hint)


def apply(config: Any, args: argparse.Namespace) -> list[str]:
    """Read Deffe's flags into the config and the other flags; return the warnings to show."""
    warnings = [f"{spelled(args, dest, flag)}: {why}" for dest, (flag, why) in IGNORED.items()
                if getattr(args, dest, None)]
    warnings.extend(conflicts(args))
    if config.section("model").get("plugin") is None and not args.no_train and not args.model_extract_dir:
        unused = _given(args, TRAINING_FLAGS)   # (-no-train's own warning says the same of them)
        if unused:
            warnings.append(f"{', '.join(unused)}: ignored: the config trains no model (model.plugin is null)")
    if args.step_increment not in (None, 1):
        warnings.append(f"-step-increment {args.step_increment}: steps are taken one at a time")
    batch = args.deffe_batch_size
    if args.train_batch_size is None:
        args.train_batch_size = args.mlmodel_batch_size or batch
    if args.jobs is None and (args.evaluate_batch_size or batch):
        args.jobs = args.evaluate_batch_size or batch
    method = args.sampling_method
    if method:
        if method in DEFFE_METHODS_NEAREST:   # as in a config's "-method onedim" (config/deffe_args.py)
            warnings.append(f"-sampling-method {method}: Deffe's sampling method '{method}' is not here: "
                            f"'{DEFFE_METHODS_NEAREST[method]}' is used instead")
        method = DEFFE_METHODS_NEAREST.get(method, method)
        plugin, extra = DEFFE_METHODS.get(method, (method, {}))
        config.section("sampling").update(plugin=plugin, **extra)
        origins = getattr(config, "origins", None)
        if isinstance(origins, dict):   # the flag wrote the key, not an included template: an error about it
            origins["sampling.plugin"] = config.data.get("__origin__")   # is the flag's (cli.blame_flag)
    init = args.init_batch_samples or batch
    if init:
        fixed = args.samples_per_step or config.section("exploration").get("_deffe_fixed_samples")
        for explore in config.explores:
            explore.settings["initial_samples"] = init if fixed else 3 * init
        if args.samples_per_step is None:
            args.samples_per_step = fixed or 2 * init
    if args.input and not args.inference_only:   # Deffe: explore the rows of -input
        args.pre_evaluated_data = args.pre_evaluated_data or args.input
        args.only_preloaded_data_exploration = True
    if args.only_preloaded_data_exploration and not args.model_extract_dir:
        _need_data(config, args)
    if args.no_inference and args.no_train:
        config.section("model")["plugin"] = None
    if args.jobs and (args.evaluate_batch_size or batch) and args.jobs > (os.cpu_count() or 1):
        warnings.append(batch_warning(args.jobs))
    return warnings
