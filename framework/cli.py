"""``run_deffe.py``: Deffe's single-dash command line, and what it adds.

Every mistake a user can make ends in one line ``error: <file>:<where>: <what>;
<hint>`` and exit status 2, with nothing written; ``-debug`` shows tracebacks.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path

from . import deffe_cli
from .deffe_cli import Spelled, spelled
from .config import ensure_deffe_dir, load_config
from .config.deffe_args import BATCH_WARNING
from .config.schema import reference
from .config.validate import coerce
from .errors import DeffeError, Stopped, join_hints
from .executors import check_executor, executor_kind
from .guard import RunLock, check_fingerprints, fingerprints, stored_run_fits
from .store import DB_NAME, RunStore, check_store_file, move_aside, run_files
from .threads import limit as limit_threads


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit status 2 (argparse prints usage otherwise)
        raise DeffeError(message, hint="run_deffe.py -h lists the options")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=Path(sys.argv[0]).name or "run_deffe.py", allow_abbrev=False,
                description="Data-efficient design-space exploration: sample, evaluate, store, learn, explore.")
    a = p.add_argument
    a("-config", default="config.json", metavar="FILE", help="the JSON config (comments allowed) [config.json]")
    g = p.add_argument_group("run")
    g.add_argument("-seed", type=int, default=None, help="seed of every random choice (overrides framework.seed)")
    g.add_argument("-jobs", type=int, default=None, help="evaluations in parallel, local processes (framework.jobs)")
    g.add_argument("-executor", choices=("local", "dask", "slurm"), default=None,
                   help="where evaluations run: local processes, a Dask cluster, SLURM jobs (framework.executor)")
    g.add_argument("-async", dest="asynchronous", action="store_true",
                   help="asynchronous exploration: every worker busy, the model retrains in the background "
                        "(framework.asynchronous; Deffe's -pipeline)")
    g.add_argument("-fresh", action="store_true", help="start over: the old run directory is moved aside, not deleted")
    g.add_argument("-retry-failed", dest="retry_failed", action="store_true",
                   help="evaluate again the samples stored as failed or timed out")
    g.add_argument("-keep-results", dest="keep_results", action="store_true",
                   help="resume although the evaluate/extract settings or the files they read changed: the stored "
                        "results still hold (e.g. a fix that only made failures work; with -retry-failed)")
    g.add_argument("-no-run", dest="no_run", action="store_true",
                   help="dry run: print what would be evaluated, write nothing")
    g.add_argument("-quiet", action="store_true", help="no progress bar, warnings and errors only")
    g.add_argument("-debug", action="store_true", help="tracebacks; evaluations in this process (no timeouts)")
    g.add_argument("-show-defaults", dest="show_defaults", action="store_true",
                   help="print every config key with its type, default and meaning, and exit")
    g.add_argument("-report", metavar="RUN_DIR", default=None,
                   help="rebuild the reports of the run in RUN_DIR (deffe_report.html, deffe_report.xlsx, "
                        "report_*.png) from its tables and store, print their paths, and exit; evaluates nothing")
    s = p.add_argument_group("steps and budget")
    s.add_argument("-samples-per-step", dest="samples_per_step", type=int, default=None, action=Spelled,
                   help="points proposed per step (exploration.samples_per_step)")
    s.add_argument("-fixed-samples", dest="samples_per_step", type=int, action=Spelled, help="Deffe's name of -samples-per-step")
    s.add_argument("-custom-samples", dest="custom_samples", type=int, nargs="+", default=None,
                   help="cumulative sample counts, one per step")
    s.add_argument("-max-samples", dest="max_samples", type=int, default=None,
                   help="budget: samples per exploration (exploration.max_samples)")
    s.add_argument("-step-start", dest="step_start", type=int, default=None,
                   help="evaluate from this step on (earlier steps use stored results only)")
    s.add_argument("-step-end", dest="step_end", type=int, default=None, help="stop before this step")
    d = p.add_argument_group("data")
    d.add_argument("-pre-evaluated-data", dest="pre_evaluated_data", default=None, metavar="CSV",
                   help="CSV of samples evaluated elsewhere, entered into the store (matched by value)")
    d.add_argument("-only-preloaded-data-exploration", dest="only_preloaded_data_exploration",
                   action="store_true", help="explore only the pre-evaluated data; evaluate nothing")
    d.add_argument("-full-exploration", dest="full_exploration", action="store_true",
                   help="with -only-preloaded-data-exploration: all the data in one step")
    m = p.add_argument_group("model")
    m.add_argument("-no-train", dest="no_train", action="store_true", help="do not train the model")
    m.add_argument("-epochs", type=int, default=None, help="most training epochs of the torch models (model.epochs)")
    m.add_argument("-loss", default=None, help="training loss: mse, huber, mae, custom_mean_abs_log_loss, "
                                               "custom_mean_abs_exp_loss (model.loss)")
    m.add_argument("-train-batch-size", dest="train_batch_size", type=int, default=None,
                   help="mini-batch size of model training")
    m.add_argument("-batch-size", dest="deffe_batch_size", type=int, default=None,
                   help="Deffe's overloaded option: the training mini-batch, the evaluations in parallel and the "
                        "first step's size (our separate flags say which they mean)")
    m.add_argument("-train-test-split", dest="train_test_split", type=float, default=None,
                   help="share of the evaluated points the model trains on; the rest is the hold-out it is "
                        "measured on (model.train_test_split)")
    m.add_argument("-validation-split", dest="validation_split", type=float, default=None,
                   help="share of the training points kept for early stopping (model.validation_split)")
    m.add_argument("-learning-rate", "-lr", dest="learning_rate", type=float, default=None, action=Spelled,
                   help="learning rate of the torch models (model.learning_rate)")
    m.add_argument("-tl-samples", dest="tl_samples", action="store_true",
                   help="transfer learning: each step starts from the previous step's model (model.transfer_learning)")
    m.add_argument("-icp", default=None, nargs="*", metavar="FILE", action=Spelled,
                   help="a model checkpoint (.ckpt): training starts from it (model.initial_checkpoint); with "
                        "-inference-only, the model that predicts")
    m.add_argument("-trust-pickle", dest="trust_pickle", action="store_true",
                   help="read old (format 1) checkpoints given with -icp, model.initial_checkpoint, -inference-only "
                        "or -model-extract-dir: their weights are Python pickle data, which can run any code when "
                        "loaded; only for files from a source you trust (model.trust_pickle)")
    m.add_argument("-freeze-layers", dest="freeze_layers", type=int, default=None, metavar="N",
                   help="with -icp: keep the first N weight layers of the checkpoint fixed (model.freeze_layers)")
    m.add_argument("-model-stats-output", dest="model_stats_output", default=None, metavar="FILE",
                   help="CSV of per-epoch train, validation and test loss (Deffe's columns); also plots the "
                        "learning curve and predicted against true costs into the run directory")
    m.add_argument("-inference-only", dest="inference_only", action="store_true",
                   help="predict the costs of the rows of -input with the model -icp, write -output; evaluate nothing")
    m.add_argument("-input", default=None, metavar="CSV", help="-inference-only: the points to predict (a column per knob)")
    m.add_argument("-output", default=None, metavar="CSV",
                   help="-inference-only: where the predictions go [<input>-predicted.csv, next to the input]")
    m.add_argument("-strict", action="store_true",
                   help="-inference-only: a bad input row is an error (default: reported and skipped)")
    deffe_cli.add_flags(p)
    return p


def check_text_values(args: argparse.Namespace) -> None:
    """A flag given empty text (``-pre-evaluated-data "$DATA"`` with DATA unset) is an error: it was taken as
    not given (or -config "" read the directory "."). -report has its own message (check_report_args)."""
    for action in build_parser()._actions:
        if not action.option_strings or action.nargs == 0 or action.type is not None or action.choices \
                or action.dest == "report":
            continue
        value = getattr(args, action.dest, None)
        if any(isinstance(v, str) and not v.strip() for v in (value if isinstance(value, list) else [value])):
            flag = spelled(args, action.dest, action.option_strings[0])
            raise DeffeError("empty text (an unset shell variable?)", where=flag,
                             hint=f"give {flag} {action.metavar or action.dest.upper()}, or leave {flag} out")


def check_args(args: argparse.Namespace) -> None:
    """Every number on the command line obeys the rules of the config key it stands for, and no flag is
    given empty text."""
    from .config import schema
    check_text_values(args)
    model, fw = schema.MODEL, schema.FRAMEWORK
    # (None: no least value of its own; -custom-samples' counts are checked together below)
    ints = {"jobs": ("-jobs", fw["jobs"].min), "samples_per_step": ("-samples-per-step", 1),
            "max_samples": ("-max-samples", 1), "epochs": ("-epochs", model["epochs"].min),
            "train_batch_size": ("-train-batch-size", 1), "deffe_batch_size": ("-batch-size", 1),
            "step_start": ("-step-start", 0), "step_end": ("-step-end", 1),
            "freeze_layers": ("-freeze-layers", -1),   # Deffe wrote -1 for "no layer frozen"
            "init_batch_samples": ("-init-batch-samples", 1), "evaluate_batch_size": ("-evaluate-batch-size", 1),
            "mlmodel_batch_size": ("-mlmodel-batch-size", 1), "seed": ("-seed", None),
            "custom_samples": ("-custom-samples", None), "step_increment": ("-step-increment", None),
            "evaluate_out_flow": ("-evaluate-out-flow", None)}
    whole = schema.Key("int")   # the config's rule of every integer (config/validate.py): below 2^63
    for dest, (flag, least) in ints.items():
        v = getattr(args, dest, None)
        where = spelled(args, dest, flag)
        for n in v if isinstance(v, list) else [v]:
            if n is None:
                continue
            try:
                coerce(n, whole, None, where)
            except DeffeError as e:
                raise DeffeError(e.what, where=where, hint=f"give {where} a smaller number") from None
            if least is not None and n < least:
                raise DeffeError(f"must be at least {least:g}, got {n}", where=where,
                                 hint=f"give {where} {least:g} or more")
    fractions = {"train_test_split": ("-train-test-split", 0.0, 1.0, "(0, 1]"),
                 "validation_split": ("-validation-split", 0.0, 1.0, "[0, 1)")}
    for dest, (flag, lo, hi, text) in fractions.items():
        v = getattr(args, dest, None)
        if v is not None and not (lo < v <= hi if text == "(0, 1]" else lo <= v < hi):
            raise DeffeError(f"must be a fraction in {text}, got {v:g}", where=flag, hint=f"give {flag} a fraction in {text}")
    if args.learning_rate is not None and not args.learning_rate > 0:
        raise DeffeError(f"must be above 0, got {args.learning_rate:g}",
                         where=spelled(args, "learning_rate", "-learning-rate"),
                         hint=f"give {spelled(args, 'learning_rate', '-learning-rate')} a positive number, such as 0.001")
    if args.loss is not None and args.loss not in model["loss"].choices:
        from .config.schema import choice_hint
        known = [c for c in model["loss"].choices]
        raise DeffeError(f"'{args.loss}' is not a loss: one of {', '.join(known[:5])} (or Deffe's "
                         f"{', '.join(known[5:])})", where="-loss", hint=choice_hint(args.loss, model["loss"]))
    custom = args.custom_samples
    if custom is not None:
        if any(n < 1 for n in custom) or any(b <= a for a, b in zip(custom, custom[1:])):
            raise DeffeError(f"cumulative sample counts must be positive and increasing, got "
                             f"{' '.join(map(str, custom))}", where="-custom-samples", hint="e.g. 20 40 80")
    if args.step_start is not None and args.step_end is not None and args.step_end <= args.step_start:
        raise DeffeError(f"-step-end {args.step_end} is not after -step-start {args.step_start}",
                         where="-step-end",
                         hint="give -step-end a step after -step-start, or leave one out")


# what -report goes with: it reads no config (the run directory holds its own) and runs nothing
REPORT_FLAGS = {"report", "config", "quiet", "debug", "help"}


def check_report_args(args: argparse.Namespace) -> None:
    """-report RUN_DIR rebuilds the reports of a run and runs nothing: an empty RUN_DIR (an unset shell
    variable) or a flag that makes or changes a run with it is an error, not ignored."""
    if not args.report.strip():
        raise DeffeError("the run directory is empty text (an unset shell variable?)",
                         where="-report", hint="-report RUN_DIR rebuilds the reports of the run in RUN_DIR")
    spelled = getattr(args, "spelled_flags", None) or {}
    given = []
    for action in build_parser()._actions:
        if action.dest in REPORT_FLAGS or not action.option_strings or action.dest in {d for d, _f in given}:
            continue
        value = getattr(args, action.dest, action.default)
        if value is not None and value is not False and value != [] and value != action.default:
            given.append((action.dest, spelled.get(action.dest, action.option_strings[0])))
    if given:
        flags = " ".join(f for _d, f in given)
        raise DeffeError(f"{flags}: not with -report (it rebuilds the reports of the run in {args.report} "
                         "from its files, and runs, evaluates and changes nothing)", where="-report",
                         hint=f"run_deffe.py -report {args.report} alone; run the command with "
                              f"{flags} separately")


def flag_keys(args: argparse.Namespace) -> dict[str, str]:
    """The config keys the command line set, and the flag (as the user spelled it) that set each: an error
    about such a key is about the flag, not about the config file, which may not even have the key."""
    spelled = getattr(args, "spelled_flags", None) or {}
    given = {"model.epochs": ("epochs", "-epochs"), "model.loss": ("loss", "-loss"),
             "model.train_test_split": ("train_test_split", "-train-test-split"),
             "model.validation_split": ("validation_split", "-validation-split"),
             "model.learning_rate": ("learning_rate", spelled.get("learning_rate", "-learning-rate")),
             "model.freeze_layers": ("freeze_layers", "-freeze-layers"),
             "model.initial_checkpoint": ("icp", "-icp"), "model.transfer_learning": ("tl_samples", "-tl-samples"),
             "sampling.plugin": ("sampling_method", "-sampling-method"),
             "exploration.samples_per_step": ("samples_per_step", spelled.get("samples_per_step",
                                                                               "-samples-per-step")),
             "exploration.max_samples": ("max_samples", "-max-samples"), "framework.seed": ("seed", "-seed"),
             "framework.jobs": ("jobs", "-jobs"), "framework.executor": ("executor", "-executor")}
    out = {key: flag for key, (dest, flag) in given.items() if getattr(args, dest, None) not in (None, False, [])}
    batch = next((f for d, f in (("train_batch_size", "-train-batch-size"), ("mlmodel_batch_size",
                  "-mlmodel-batch-size"), ("deffe_batch_size", "-batch-size")) if getattr(args, d, None)), None)
    if batch:
        out["model.train_batch_size"] = batch
    return out


def blame_flag(e: DeffeError, flags: dict[str, str], config) -> DeffeError:
    """An error placed at a config key the command line set names the flag instead."""
    from .outputs import config_files, same_file
    flag = flags.get(e.where or "")
    if flag is None or (e.file is not None and not any(same_file(Path(e.file), Path(f))
                                                       for f in config_files(config))):
        return e
    return DeffeError(e.what, where=flag, hint=e.hint)


def _open_run(run_dir: Path, config, parts: dict[str, str], fresh: bool, keep: bool,
              reads=()) -> tuple[RunStore, RunLock]:
    """The run directory locked for this run, and its store (resumed, or started anew: -fresh, or a Deffe
    config whose stored run was made with other settings; the old one is moved aside, never deleted)."""
    lock = RunLock(run_dir).acquire()
    try:
        if fresh and ((run_dir / DB_NAME).exists() or run_files(run_dir)):
            moved = move_aside(run_dir)   # the lock file goes with it; this run locks the new directory
            lock.release()
            logging.getLogger("deffe").info(f"previous run moved to {moved}")   # (-quiet: warnings only)
            lock = RunLock(run_dir).acquire()
        store = RunStore(run_dir / DB_NAME)
        if not stored_run_fits(store, config, parts, run_dir, dry=False, keep=keep, reads=reads):
            lock.release()
            lock = RunLock(run_dir).acquire()
            store = RunStore(run_dir / DB_NAME)
            check_fingerprints(store, parts, run_dir)
    except BaseException:   # a stored run of other settings, say: the process goes on (the Python API)
        lock.release()      # and may run here again
        raise
    return store, lock


_DAMAGED = (11, 26)   # SQLITE_CORRUPT ("database disk image is malformed"), SQLITE_NOTADB ("file is not a database")


def damaged_store(e: Exception) -> bool:
    """An error of a run store that is damaged (a bad page, a bad copy), not of a disk that cannot be written:
    no free space or permission makes it readable again."""
    if not isinstance(e, sqlite3.DatabaseError) or isinstance(e, sqlite3.OperationalError):
        return False
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _DAMAGED
    return "malformed" in str(e) or "not a database" in str(e)


def _unwritable(run_dir: Path, e: Exception) -> DeffeError:
    """A full disk, a read-only or vanished run directory: one line, and the way on. A damaged run store gets
    the message of a store that is not a readable one (store.py), whatever query met the damage."""
    if damaged_store(e):
        return DeffeError(f"the run store is not a readable SQLite database ({e})", file=str(run_dir / DB_NAME),
                          hint="move the run directory aside, or run with -fresh")
    if isinstance(e, OSError) and os.path.lexists(run_dir) and not run_dir.is_dir():
        # (a file, or a link to nothing, in its place: no free space or permission would help)
        what = (f"a link to {os.readlink(run_dir)}, which does not exist," if run_dir.is_symlink() and
                not run_dir.exists() else "a file,")
        return DeffeError(f"the run directory is {what} not a directory", file=str(run_dir),
                          hint="move it aside, or choose another framework.run_directory")
    what = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
    where = getattr(e, "filename", None) or str(run_dir)
    if isinstance(e, IsADirectoryError) and Path(where).is_dir():   # a directory where the run writes a file
        return DeffeError(f"cannot write the run directory: a directory is in the place of this file ({what})",
                          file=str(where), hint="every result committed before is kept: move the directory "
                                                "aside, then run the same command to resume")
    return DeffeError(f"cannot write the run directory ({what})", file=str(where),
                      hint="every result committed before is kept: free space or make it writable, then run "
                           "the same command to resume")


class TqdmHandler(logging.Handler):
    """Log lines on stderr that do not break a progress bar being drawn."""

    def emit(self, record):
        try:
            from tqdm import tqdm
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


class _RunLogHandler(logging.FileHandler):
    """The run's log file. When it cannot be written (a full disk, a device like /dev/full) the run goes on and
    says so once on stderr, instead of a traceback of the logging module for every message after."""

    def handleError(self, record: logging.LogRecord) -> None:
        err = sys.exc_info()[1]
        logging.getLogger("deffe").removeHandler(self)
        try:
            self.close()
        except OSError:
            pass
        sys.stderr.write(f"warning: {self.baseFilename}: the run log cannot be written "
                         f"({getattr(err, 'strerror', None) or err}); the run goes on without it\n")


def _setup_logging(run_dir: Path | None, log_name: str, quiet: bool, debug: bool) -> logging.Logger:
    log = logging.getLogger("deffe")
    log.handlers.clear()
    log.setLevel(logging.DEBUG)
    log.propagate = False
    # tqdm's default lock holds a multiprocessing semaphore, shared by every process forked after it was made:
    # one killed while writing (a worker at its timeout, a forked run killed) left it held, and the next line
    # of any of them waited for ever. Only the driver draws bars and writes these lines: a lock of its threads
    from tqdm import tqdm
    tqdm.set_lock(threading.RLock())
    err = TqdmHandler()
    err.setLevel(logging.DEBUG if debug else (logging.WARNING if quiet else logging.INFO))
    err.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(err)
    if run_dir is not None:
        fh = _RunLogHandler(run_dir / log_name)
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(fh)
    return log


def _apply_cli(config, args) -> None:
    chosen = args.jobs is not None   # -jobs N: the user has set the evaluations in parallel
    flags = deffe_cli.apply(config, args)   # (Deffe's -batch-size N / -evaluate-batch-size N set -jobs N)
    # nothing is evaluated with the data only, and -jobs (or Deffe's batch flags) overrides the config's batch
    # sizes: no warning of them
    if args.only_preloaded_data_exploration or args.jobs is not None:
        config.warnings[:] = [w for w in config.warnings if BATCH_WARNING not in w]
    if args.only_preloaded_data_exploration or chosen:
        flags = [w for w in flags if BATCH_WARNING not in w]
    config.warnings.extend(flags)
    model = config.section("model")
    for key in ("epochs", "loss", "train_batch_size", "train_test_split", "validation_split"):
        v = getattr(args, key, None)
        if v is not None:
            model[key] = v


def reports_wanted() -> bool:
    """DEFFE_REPORTS=off skips the end-of-run reports whatever the config says (batch runs, the test suite:
    building them takes about a second, mostly drawing plots)."""
    return os.environ.get("DEFFE_REPORTS", "").strip().lower() not in ("0", "off", "false", "no")


def run(argv: list[str] | None = None, config=None) -> int:
    """The command line's work; ``config``: a config already loaded (the Python API's dict), else -config's."""
    args = build_parser().parse_args(argv)
    check_args(args)
    if isinstance(args.icp, list):   # Deffe: -icp FILE [FILE ...], one per cost; ours hold every cost
        args.icp = args.icp[0] if len(args.icp) == 1 else (args.icp or None)
    if args.show_defaults:
        print(json.dumps(reference(), indent=2))
        return 0
    if args.report is not None:   # from the run directory alone: no config is read, nothing is evaluated
        check_report_args(args)
        from .reports import build_reports_cli
        return build_reports_cli(args.report, quiet=args.quiet)
    # Deffe's directories, for $VARS in the config's values as for its scripts: where the run was started,
    # and the config's own directory
    os.environ["DEFFE_EXP_DIR"] = os.getcwd()
    os.environ["DEFFE_CONFIG_DIR"] = str(Path(args.config).expanduser().absolute().parent)
    if args.inference_only:
        for w in deffe_cli.inference_warnings(args):   # the run's flags it leaves unused
            print(f"warning: {w}", file=sys.stderr)
        from .inference import run_inference
        try:
            return run_inference(args)
        except DeffeError as e:
            raise file_flag_located(crash_hinted(e, args), args) from (e.__cause__ if args.debug else None)
    config = load_config(args.config) if config is None else config
    # -pre-evaluated-data (or Deffe's -input) replaces every entry's file, as in Deffe: those are not looked for
    if getattr(args, "pre_evaluated_data", None) or getattr(args, "input", None):
        for e in config.explores:
            e.pre_evaluated_data = None
    else:
        config.find_pre_evaluated_data()
    flags = flag_keys(args)
    try:
        return _run_config(args, config)
    except DeffeError as e:
        raise file_flag_located(blame_flag(e, flags, config), args, config) from None


def crash_hinted(e: DeffeError, args: argparse.Namespace) -> DeffeError:
    """A plugin's crash (an error made of another exception, not of a file the system could not read) says
    where its traceback is, as a crash during a run says: -debug shows it."""
    cause = e.__cause__
    if args.debug or cause is None or isinstance(cause, (DeffeError, OSError)) or "-debug" in (e.hint or ""):
        return e
    hinted = DeffeError(e.what, file=e.file, where=e.where, hint=join_hints(e.hint, "run with -debug for the traceback"))
    hinted.__cause__ = cause
    return hinted


# the flags that name a file the command reads
FILE_FLAGS = (("input", "-input"), ("pre_evaluated_data", "-pre-evaluated-data"), ("icp", "-icp"))


def file_flag_located(e: DeffeError, args: argparse.Namespace, config=None) -> DeffeError:
    """An error about a whole file (not found, a directory, a Keras checkpoint: no place in it) at what named
    the file: its flag (-input, -pre-evaluated-data, -icp), or the config's model.initial_checkpoint."""
    if e.where or not e.file:
        return e
    for dest, flag in FILE_FLAGS:
        value = getattr(args, dest, None)
        if _names_file(value, e.file):
            flag = spelled(args, dest, flag)
            return DeffeError(f"{e.file}: {e.what}", where=flag, hint=e.hint or _file_hint(e.what, flag))
    if config is not None and _names_file(config.section("model").get("initial_checkpoint"), e.file):
        origins = getattr(config, "origins", None) or {}
        # (Deffe's -icp in model.ml_arguments or model.arguments set it: the key the user wrote)
        key = next((k for k in ("model.initial_checkpoint", "model.ml_arguments", "model.arguments") if k in origins),
                   "model.initial_checkpoint")
        return DeffeError(f"{e.file}: {e.what}", file=config.file_of(key), where=key,
                          hint=e.hint or _file_hint(e.what, key))
    return e


def _names_file(value, file: str) -> bool:
    names = [n for n in (value if isinstance(value, list) else [value]) if isinstance(n, str) and n]
    if not names:
        return False
    if file in (", ".join(names), *names):
        return True
    try:
        return any(Path(n).expanduser().absolute() == Path(file).expanduser().absolute() for n in names)
    except (OSError, ValueError):
        return False


def _file_hint(what: str, flag: str) -> str | None:
    if "not found" in what:
        return f"check the name {flag} gives (a relative one is from the current directory)"
    if "is a directory" in what:
        return f"give {flag} a file, not a directory"
    return None


def _slurm_located(e: DeffeError, config, args: argparse.Namespace) -> DeffeError:
    """An error of SLURM as a whole (not reachable: where "slurm") at what sent the samples there: the
    -executor flag, or the config's key (framework.executor, Deffe's evaluate.slurm or extract.slurm)."""
    if e.where != "slurm" or e.file:
        return e
    if getattr(args, "executor", None) == "slurm":
        return DeffeError(e.what, where="-executor", hint=e.hint)
    key = config.slurm_from or "slurm"
    return DeffeError(e.what, file=config.file_of(key), where=key, hint=e.hint)


def _check_run_directory(config) -> None:
    """A $VAR of framework.run_directory that is not set is an error before anything is made: expanding it
    left the name as it was, and the run made a directory literally named '$VAR' (an include says the same
    of its path)."""
    from .config.loader import _VARIABLE
    text = config.section("framework")["run_directory"]
    unset = [a or b for a, b in _VARIABLE.findall(str(text)) if (a or b) not in os.environ]
    if unset:
        raise DeffeError(f"'{text}' names ${unset[0]}, which is not set",
                         file=config.file_of("framework.run_directory"), where="framework.run_directory",
                         hint=f"set {unset[0]} in the environment, or write the run directory without it")


def _run_config(args: argparse.Namespace, config) -> int:
    """A run of the config (or Deffe's -model-extract-dir) with the command line applied."""
    from . import outputs
    _apply_cli(config, args)
    fwcfg = config.section("framework")
    _check_run_directory(config)
    run_dir = Path(fwcfg["run_directory"]).expanduser().absolute()
    dry = args.no_run
    if args.model_extract_dir:   # Deffe: measure checkpoints on the data, write the statistics, run nothing
        for w in config.warnings:
            print(f"warning: {w}", file=sys.stderr)
        from .inference import EVALUATE_OUTPUT, evaluate_checkpoints
        stats = args.model_stats_output or EVALUATE_OUTPUT
        writes = [outputs.Item("the -model-stats-output file", stats, Path(stats), "-model-stats-output")]
        outputs.check_extra_outputs(config, run_dir, outputs.inputs(config, args, run_dir), writes, probe=not dry)
        return evaluate_checkpoints(config, args, args.model_extract_dir, args.model_stats_output, dry=dry)
    # one check before anything is read, written or moved: what the run writes is none of what it reads
    reads = outputs.inputs(config, args, run_dir)
    if args.model_stats_output:
        writes = [outputs.Item("the -model-stats-output file", args.model_stats_output,
                               Path(args.model_stats_output), "-model-stats-output")]
        outputs.check_extra_outputs(config, run_dir, reads, writes, probe=not dry)
    if config.deffe_tables:
        config.warnings.extend(outputs.skip_deffe_tables(config, reads))
    stored = run_dir / DB_NAME
    # (a dry run says what the real one would refuse); a run directory holding the working directory is refused
    # before there is a run to move too, or only a second -fresh would say that it cannot work
    if args.fresh and (stored.exists() or run_files(run_dir) or outputs.inside(Path.cwd(), run_dir)):
        outputs.check_move(run_dir, reads, config_file=config.data.get("__origin__"))
    if not args.fresh:
        empty = check_store_file(stored)
        if empty:
            config.warnings.append(empty)
    if args.pre_evaluated_data:   # a pipe (/dev/stdin, <(...)) is read once, then from a copy
        args.pre_evaluated_file = outputs.spool(args.pre_evaluated_data)
    seed = args.seed if args.seed is not None else fwcfg["seed"]
    jobs = args.jobs if args.jobs is not None else fwcfg["jobs"]
    threads = limit_threads(config.section("model").get("threads") or jobs)
    run_dir = Path(fwcfg["run_directory"]).expanduser().absolute()
    dry = args.no_run
    from .driver import Driver
    # every plugin is built once before anything is written: mistakes cost nothing (what it logs, such as
    # a compilation that takes a while, goes to the terminal)
    _setup_logging(None, "", args.quiet, args.debug)
    preflight_log = logging.getLogger("deffe.preflight")
    preflight_log.filters = [lambda record: record.levelno < logging.WARNING]   # the run says them again
    plugins = Driver(config, args, run_dir, RunStore(None), preflight_log, seed, jobs,
                     dry_run=True, progress=False, threads=threads).preflight()
    parts = fingerprints(config, plugins)
    # the executor's settings, and its scheduler or controller reached, before the run directory is made or
    # a previous run moved aside (a dry run sends nothing: its settings only); with the data only, or -debug,
    # the evaluations (if any) are local
    if not args.only_preloaded_data_exploration and not args.debug:
        try:
            check_executor(executor_kind(config, args), config, jobs, reach=not dry)
        except DeffeError as e:
            raise _slurm_located(e, config, args) from e
    lock = None
    if dry:   # what a real run would do: from a copy of the stored run, if any; nothing is written
        store = RunStore.snapshot(stored) if stored.is_file() and stored.stat().st_size and not args.fresh \
            else RunStore(None)
        if not stored_run_fits(store, config, parts, run_dir, dry=True, keep=args.keep_results, reads=reads):
            store.close()
            store = RunStore(None)
        log = _setup_logging(None, "", args.quiet, args.debug)
    else:
        try:
            store, lock = _open_run(run_dir, config, parts, args.fresh, args.keep_results, reads)
            log = _setup_logging(run_dir, fwcfg["output_log"], args.quiet, args.debug)
        except (OSError, sqlite3.Error) as e:
            raise _unwritable(run_dir, e) from None
        interrupted = store.interrupted()
        if interrupted:
            again = "their SLURM jobs are attached to if still queued or running, else they are evaluated again" \
                if executor_kind(config, args) == "slurm" else "they are evaluated again"
            log.info(f"resuming: {interrupted} sample(s) were in flight when the last run stopped; {again} "
                     "when the exploration asks for them")
    for w in config.warnings:
        log.warning(w if w.startswith("warning:") else f"warning: {w}")
    driver = Driver(config, args, run_dir, store, log, seed, jobs, dry_run=dry,
                    progress=fwcfg["progress"] and not args.quiet, threads=threads)
    try:
        driver.run()
        if not dry and fwcfg.get("report_files", True) and reports_wanted():
            from .reports import reports_after_run   # under the lock: no other driver writes meanwhile
            reports_after_run(run_dir, log)
    except BrokenPipeError:   # stdout's reader went away (`-no-run | head -1`): not the run directory; main()
        raise                 # ends quietly
    except (OSError, sqlite3.Error) as e:   # the run directory's own files: the plugins' errors are wrapped
        raise _unwritable(run_dir, e) from None
    finally:
        store.close()
        if lock is not None:
            lock.release()
    if not args.quiet:
        for line in driver.summaries:
            print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line (``run_deffe`` when installed, ``framework/run_deffe.py`` in a checkout)."""
    ensure_deffe_dir()
    debug = "-debug" in (argv if argv is not None else sys.argv[1:])
    before = _stop_on_signals()
    try:
        status = run(argv)
        sys.stdout.flush()   # here, where a reader gone is caught, not at the interpreter's exit
        return status
    except BrokenPipeError:   # stdout's reader went away (`run_deffe ... | head -1`): stop quietly, as the
        _stdout_to_devnull()  # Python docs advise, with the status of a process stopped by SIGPIPE
        return 128 + SIGPIPE
    except DeffeError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        by = f" by {signal.Signals(e.signum).name}" if isinstance(e, Stopped) else ""
        try:   # (a closed terminal may take stderr with it)
            print(f"interrupted{by}: every finished evaluation is stored; run the same command again to resume",
                  file=sys.stderr)
        except OSError:
            pass
        return 128 + e.signum if isinstance(e, Stopped) else 130
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


SIGPIPE = 13   # (signal.SIGPIPE, which Windows lacks)


def _stdout_to_devnull() -> None:
    """What is left in stdout's buffer goes nowhere: the interpreter's flush at exit would fail again and
    print an 'Exception ignored' message."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


STOP_SIGNALS = ("SIGTERM", "SIGHUP")


def _stop(signum: int, _frame) -> None:
    """Ctrl-C, SIGTERM (kill, timeout, a batch system) or SIGHUP (the terminal closed): stop the run. The first
    signal decides the message and the exit status; any second one while the run stops is ignored (the
    samples' processes are being killed, the store closed): a SIGTERM after a Ctrl-C made it exit 143 after
    saying it was a Ctrl-C."""
    for name in ("SIGINT", *STOP_SIGNALS):
        if signal.getsignal(getattr(signal, name)) is _stop:
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Stopped(signum)


def _stop_on_signals() -> dict:
    """Handle SIGTERM and SIGHUP as a Ctrl-C (without this the driver died at once and the processes its samples
    started ran on, adopted by init); a signal ignored already (nohup) stays ignored. Returns the handlers
    replaced. (Workers forked later set them back to the default: executor.py.)"""
    if threading.current_thread() is not threading.main_thread():
        return {}
    before = {}
    for name in STOP_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None or signal.getsignal(signum) == signal.SIG_IGN:
            continue
        before[signum] = signal.signal(signum, _stop)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:   # (Ctrl-C as Python has it: so that
        before[signal.SIGINT] = signal.signal(signal.SIGINT, _stop)      # a signal after it is ignored too)
    return before
