"""The exploration loop, in ask/tell form. The driver owns the loop and the store.

For each explore entry:
    ask    the exploration plugin proposes a batch of points
    look   points already in the store are not evaluated again (any step, any rerun)
    eval   the others go to the executor; each result is committed as it arrives
    train  the model plugin fits every successful sample of the exploration
    tell   the exploration is told what came back (stored results included)
until the budget (samples, steps, time) is spent or the exploration is done.
"""
from __future__ import annotations

import gc
import json
import logging
import math
import shutil
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config, Explore
from .contract import CHECKS, Broken, checked, units_of
from .context import Budget, Framework
from .errors import DeffeError
from .evaluation import describe as _describe, run_sample
from .async_loop import AsyncRun
from .executor import LocalExecutor
from .executors import executor_kind, make_executor
from .plugins import make_plugin
from .preload import load_csv, other_than_stored
from .preload_rows import RowText
from .progress import Progress, best_text
from .remote import PluginTask
from .report import Tracker, exploration_table, front_text, scenario_labels
from .protocols import Proposal, Result, Sample, TrainingData
from .store import RunStore
from .handover import Built, Fingerprints, Held, NotEvaluating
from .tally import CrashWatch, Tally
from .run_data import manifest, write_manifest
from .space import count_text
from .tables import table_path, write_tables
from .values import parse_names


class Driver:
    # the preflight's plugins, waiting for the run of the same config and command line (cli.py makes both
    # drivers): (config, args, framework, {explore index: Built}, plugin names, held-warnings filter)
    _handover: tuple | None = None

    def __init__(self, config: Config, args: Any, run_dir: Path, store: RunStore, log: logging.Logger,
                 seed: int, jobs: int, dry_run: bool = False, progress: bool = True, threads: int = 1):
        self.config = config
        self.args = args
        self.run_dir = run_dir
        self.store = store
        self.log = log
        self.jobs = jobs
        self.dry_run = dry_run
        self.show_progress = progress
        self.fw = Framework(config, args, run_dir, seed, log, threads)
        self.started = time.time()   # samples 'running' since before this are of a run that was killed
        self.summaries: list[str] = []
        self._names: dict[int, tuple[str, str]] = {}
        self.crashes = CrashWatch()
        self._table_paths: dict[str, dict[str, Path]] = {}
        self.reported = 0   # failures shown on the terminal
        self.counted: set[str] = set()   # keys of the points the exploration's budget counted (see _fresh)
        # keys of the points this run found evaluated or evaluated, any exploration's, pre-evaluated data
        # included: what a fresh run would hold in its store at that moment (see _predict_batch)
        self.seen: set[str] = set()
        self.predicted: set[str] = set()   # keys of the points this run's model predicted, this exploration
        evaluate = config.section("evaluate")
        self.retries = int(evaluate.get("retries") or 0)
        self.keep_directories = evaluate.get("keep_directories", True) is not False
        self._built: dict[int, Built] = {}
        # the pre-evaluated data the preflight parsed, per exploration: the run stores them without reading
        # the file again (a file of millions of rows took as long to parse twice as to store)
        self._read: dict[int, list[tuple[str, Any]]] = {}
        handed, Driver._handover = Driver._handover, None
        if handed is not None and handed[0] is config and handed[1] is args and handed[2].seed == seed \
                and handed[2].run_dir == run_dir:
            # the plugins the preflight built are this run's: one object per block per exploration
            _config, _args, self.fw, self._built, names, held, self._read = handed
            self.fw.log = log
            self.fw.costs = config.costs   # as a new framework's: each exploration's, with its units, when it runs
            self._names.update(names)
            held.held = None   # a plugin that kept the preflight's logger now logs as the run's

    # ------------------------------------------------------------------ plugins
    def _plugin(self, block: str, name: str):
        obj = make_plugin(block, name, self.fw, self.config.dir, self.config.python_paths(),
                          file=self.config.data.get("__origin__"))
        self._names[id(obj)] = (block, name)
        return obj

    def _call(self, obj: Any, method: str, *args):
        """Call a plugin method; its crash (an exception, sys.exit() too) or an answer that breaks its block's
        contract (contract.py) becomes one clear error naming the plugin (the stored results stay)."""
        try:
            obj = getattr(obj, "_deffe_plugin", obj)   # a contract.Checked stand-in: the plugin itself
        except Exception:   # a plugin's own __getattr__ raising (a KeyError of a proxy): no stand-in, the plugin
            pass
        block, name = self._names.get(id(obj), ("?", type(obj).__name__))
        try:
            value = getattr(obj, method)(*args)
        except (DeffeError, KeyboardInterrupt):
            raise
        except (Exception, SystemExit) as e:
            debug = getattr(self.args, "debug", False)
            if debug and not isinstance(e, SystemExit):
                raise   # (sys.exit() would end the run quietly: the error below, whose cause -debug shows)
            from .errors import join_hints
            from .plugins import deffe_hint_of_call, deffe_hint_of_error   # (a plugin of the original Deffe's)
            hint = "the arrays a plugin is given are read-only: change a copy (np.array(codes))" \
                if isinstance(e, ValueError) and "read-only" in str(e) else \
                join_hints(deffe_hint_of_call(obj, method, args, e) or deffe_hint_of_error(e),
                           None if debug else "run with -debug for the traceback")
            raise self._plugin_error(block, name, f"failed in {method}(): {type(e).__name__}: {e}", hint) from e
        check = CHECKS.get((block, method))
        if check is None:
            return value
        try:
            return check(value, args, self.fw)
        except Broken as e:
            raise self._plugin_error(block, name, f"{method}() {e.what}", e.hint) from None

    def _plugin_error(self, block: str, name: str, what: str, hint: str | None) -> DeffeError:
        section = {"ml_model": "model"}.get(block, block)
        return DeffeError(f"{block} plugin '{name}': {what}" if not what.startswith("failed in")
                          else f"{block} plugin '{name}' {what}", file=self.config.file_of(f"{section}.plugin"),
                          where=f"{section}.plugin", hint=hint)

    def _make_plugins(self) -> tuple[Any, Any, Any, Any]:
        """Build and initialise one exploration's plugins (the framework entered it): the preflight does, for
        every exploration, and hands them to the run (`_use_built`)."""
        cfg = self.config
        sampling = self._plugin("sampling", cfg.section("sampling")["plugin"])
        self._call(sampling, "Initialize")
        if getattr(self.args, "only_preloaded_data_exploration", False):
            from .preloaded_sampler import PreloadedSampler
            sampling = PreloadedSampler(self.fw, self.store, ordered=getattr(self.args, "full_exploration", False))
            self._call(sampling, "Initialize")
        # the exploration calls the sampler and the model itself: through the driver, which checks their answers
        # and names them when they fail
        self.fw.sampling = checked(self, sampling, "Run")
        model = None
        model_name = cfg.section("model").get("plugin")
        if model_name and not getattr(self.args, "no_train", False):
            model = self._plugin("ml_model", model_name)
            self._call(model, "Initialize")
        # Deffe's -no-inference: the model trains, and its predictions choose nothing
        self.fw.model = None if getattr(self.args, "no_inference", False) else checked(self, model, "Predict")
        evaluate = self._evaluation_block("evaluate")
        units = self._units(evaluate)   # an evaluator may say the units of its costs
        self.fw.costs = [c if c.unit or not units.get(c.name) else replace(c, unit=units[c.name])
                         for c in cfg.costs]
        extract = self._evaluation_block("extract")
        exploration = self._plugin("exploration", cfg.section("exploration")["plugin"])
        self._call(exploration, "Initialize")
        return exploration, evaluate, extract, model

    def _units(self, evaluate: Any) -> dict[str, str]:
        units = self._optional(evaluate, "units", block="evaluate")
        try:
            return units_of(units)
        except Broken as e:
            block, name = self._names.get(id(evaluate), ("evaluate", type(evaluate).__name__))
            raise self._plugin_error(block, name, f"its units attribute {e.what}", e.hint) from None

    def _optional(self, obj: Any, attr: str, default: Any = None, block: str = "exploration") -> Any:
        """A plugin's optional attribute (units, adaptive, Finish, Report, Pending): one whose property or
        __getattr__ raises anything but AttributeError is a one-line error naming the plugin (``block``: its
        block when the driver did not make it), not a traceback."""
        try:
            return getattr(obj, attr, default)
        except DeffeError:
            raise
        except (Exception, SystemExit) as e:
            if getattr(self.args, "debug", False):
                raise
            block, name = self._names.get(id(obj), (block, type(obj).__name__))
            hint = f"an attribute it does not have raises AttributeError (the framework reads getattr(obj, " \
                f"'{attr}', None)); run with -debug for the traceback" if isinstance(e, LookupError) else \
                "run with -debug for the traceback"
            raise self._plugin_error(block, name, f"reading its {attr} attribute failed: {type(e).__name__}: {e}",
                                     hint) from e

    def _evaluation_block(self, block: str) -> Any:
        """The evaluate or extract plugin, initialised. With -only-preloaded-data-exploration nothing is
        evaluated, so one that cannot be built (Deffe's evaluate script or a simulator that is not on this
        machine, next to data measured elsewhere) is not needed: say so and go on without it."""
        try:
            obj = self._plugin(block, self.config.section(block)["plugin"])
            self._call(obj, "Initialize")
            return obj
        except DeffeError as e:
            if not getattr(self.args, "only_preloaded_data_exploration", False):
                raise
            stand_in = NotEvaluating(e)
            self._not_usable(block, stand_in)
            return stand_in

    def _not_usable(self, block: str, stand_in: Any) -> None:
        if isinstance(stand_in, NotEvaluating):
            self.log.warning(f"{block} block not usable ({stand_in.why.what}); not needed with "
                             "-only-preloaded-data-exploration, which evaluates nothing")

    def _use_built(self, built: Built) -> tuple[Any, Any, Any, Any]:
        """The plugins the preflight built for this exploration, as `_make_plugins` would give them: the
        framework as they were initialised with (the same budget, history and costs), what they said."""
        fw = self.fw
        fw.costs = built.costs
        fw.sampling = checked(self, built.sampling, "Run")
        fw.model = None if getattr(self.args, "no_inference", False) else checked(self, built.model, "Predict")
        for level, message, shown in built.said:
            if not shown:
                self.log.log(level, message)
                continue
            record = self.log.makeRecord(self.log.name, level, __file__, 0, message, None, None)
            for handler in self.log.handlers:   # the run's log file (the terminal had it)
                if isinstance(handler, logging.FileHandler) and level >= handler.level:
                    handler.handle(record)
        self._not_usable("evaluate", built.evaluate)
        self._not_usable("extract", built.extract)
        return built.exploration, built.evaluate, built.extract, built.model

    # ------------------------------------------------------------------ budget
    def _budget(self, explore: Explore) -> Budget:
        s = dict(explore.settings)
        a = self.args
        if getattr(a, "max_samples", None) is not None:
            s["max_samples"] = a.max_samples
        if getattr(a, "full_exploration", False) and getattr(a, "only_preloaded_data_exploration", False):
            s["max_steps"] = 1
            if getattr(a, "max_samples", None) is None:   # all the data (Deffe's meaning), whatever the config's
                s["max_samples"] = None                     # budget; a -max-samples given with it does cap it
        budget = Budget(s.get("max_samples"), s.get("max_steps"), s.get("max_time"))
        space = explore.space
        if budget.max_samples is None and budget.max_steps is None and budget.max_time is None:
            if not space.finite and not getattr(a, "only_preloaded_data_exploration", False):
                raise DeffeError(f"exploration '{explore.name}' has a continuous knob and no budget",
                                 file=explore.file, where=explore.where,
                                 hint="set exploration.max_samples (or max_steps / max_time), or -max-samples")
            # with the data only, the data bounds the run: nothing else would be evaluated
            if space.size and space.size > 1_000_000 and not getattr(a, "only_preloaded_data_exploration", False):
                self.log.warning(f"exploration '{explore.name}': the space has {count_text(space.size)} points and no "
                                 "budget: every point will be evaluated; set exploration.max_samples")
        return budget

    # ------------------------------------------------------------------ run
    def preflight(self) -> dict[str, Any]:
        """Build and initialise every plugin of every exploration once, before anything is written,
        so that a mistake in the config or a plugin is reported with nothing on disk; the run's driver (of
        the same config and command line) uses these objects (one per block per exploration, see
        `_handover`). Returns, for the run's fingerprint, the evaluate and extract plugins of every
        exploration (what they read is part of it)."""
        held = Held()
        plugins_log = logging.getLogger(f"{self.log.name}.plugins")
        plugins_log.filters = [held]
        self.fw.log = plugins_log
        built: dict[int, Built] = {}
        # a file the run reads (a previous run's deffe_evaluation.csv given as its data) that the run's own
        # tables would replace: refused before anything is read or written
        from . import outputs
        outputs.check_run_writes(outputs.inputs(self.config, self.args, self.run_dir),
                                 outputs.run_writes(self.config, self.run_dir))
        for explore in self.config.explores:
            self.fw.enter(explore, self._budget(explore))
            self.fw.preloaded = []
            read = [(shown, self._load(path, shown, explore)) for path, shown in self._preload_sources(explore)]
            self._read[explore.index] = read
            for _shown, pre in read:   # as the run's _preload: the points a preloaded sampler draws from
                self.fw.preloaded.extend(pre.codes)
            if read and getattr(self.args, "only_preloaded_data_exploration", False) and \
                    not any(len(pre.codes) for _shown, pre in read):   # nothing it could explore (deffe_cli: no data)
                shown, pre = read[0]
                if not any(len(p.results) + p.skipped for _s, p in read):   # a header alone: no row at all
                    raise DeffeError("the file has no data rows, only its header: "
                                     "-only-preloaded-data-exploration has nothing to explore", file=shown,
                                     hint="give a file with the evaluated rows under its header")
                raise DeffeError(f"no row of {shown} is in the space of exploration '{explore.name}'"
                                 + (f" (first: {pre.first_skip})" if pre.first_skip else ""),
                                 where="-only-preloaded-data-exploration",
                                 hint="check the data's columns and values against the knobs")
            exploration, evaluate, extract, model = self._make_plugins()
            fw = self.fw
            built[explore.index] = Built(exploration, evaluate, extract, model,
                                          getattr(fw.sampling, "_deffe_plugin", fw.sampling), fw.costs, fw.budget,
                                          fw.history, fw.encoding, held.take())
        Driver._handover = (self.config, self.args, self.fw, built, dict(self._names), held, self._read)
        return {block: Fingerprints([getattr(b, block) for b in built.values()])
                for block in ("evaluate", "extract")}

    def run(self) -> None:
        several = len(self.config.explores) > 1
        self._rejudge()
        for explore in self.config.explores:
            self._run_explore(explore, several)
        if not self.dry_run:
            gone = self.store.forget_interrupted(self.started)
            if gone:
                self.log.info(f"{gone} sample(s) in flight when an earlier run stopped were not asked for again "
                              "by this run: removed from the run store (they were never evaluated)")

    def _preload_sources(self, explore: Explore) -> list[tuple[Path, str]]:
        """The pre-evaluated data of an exploration: -pre-evaluated-data (or -input) when given, which
        replaces the explore entry's ``pre_evaluated_data``, as in Deffe; else that entry's file."""
        cli = getattr(self.args, "pre_evaluated_data", None)
        if cli:   # a pipe was copied once (cli.py, outputs.spool): every read is of the copy
            return [(Path(getattr(self.args, "pre_evaluated_file", None) or cli), cli)]
        if explore.pre_evaluated_data:   # found by Config.find_pre_evaluated_data
            return [(Path(explore.pre_evaluated_data), explore.pre_evaluated_data)]
        return []

    BIG_FILE = 10 * 2 ** 20   # bytes of pre-evaluated data from which reading it is announced (seconds)

    def _load(self, path: Path, shown: str, explore: Explore) -> Any:
        """A pre-evaluated data file parsed (preload.load_csv); a large one is announced, and its time said."""
        try:
            size = path.stat().st_size
        except OSError:
            size = 0   # not there: load_csv says so
        if size >= self.BIG_FILE:
            self.log.info(f"{shown}: reading {size / 2 ** 20:.0f} MB of pre-evaluated data ...")
        t0 = time.perf_counter()
        with _no_collection():
            pre = load_csv(path, shown, explore.space, self.fw.costs)
        if size >= self.BIG_FILE:
            self.log.info(f"{shown}: {len(pre.results) + pre.skipped} rows parsed in {time.perf_counter() - t0:.1f} s")
        return pre

    def _preload(self, explore: Explore) -> None:
        self._data_keys: list[str] = []   # the keys of the exploration's pre-evaluated rows
        read = self._read.pop(explore.index, None)
        if read is None:   # no preflight handed them over
            read = [(shown, self._load(path, shown, explore)) for path, shown in self._preload_sources(explore)]
        for shown, pre in read:
            t0 = time.perf_counter()
            n = len(pre.results)
            if n >= 100_000:
                self.log.info(f"{shown}: storing {n} rows ...")
            keys: list[str] = []
            # a dry run's store is a copy in memory (cli.py): the rows enter it as they enter the real run's, and
            # the dry run then explores them as the real run would
            with _no_collection():
                fresh = self.store.add_evaluated_many(explore.name, _stored_rows(explore.space, pre, keys))
            self.seen.update(keys)
            self._data_keys.extend(keys)
            added = sum(fresh)
            known: list[int] = []   # rows whose point the store held before this file (a repeat in it: a note)
            if added < len(keys):
                new = {k for k, f in zip(keys, fresh) if f}
                known = [i for i, (k, f) in enumerate(zip(keys, fresh)) if not f and k not in new]
                del new
            self.fw.preloaded.extend(pre.codes)
            read_rows = len(pre.results) + pre.skipped
            msg = f"{shown}: {read_rows} row{'s' if read_rows != 1 else ''} read, {added} new in the store"
            if pre.skipped:
                msg += f", {pre.skipped} outside the space skipped (first: {pre.first_skip})"
            seconds = time.perf_counter() - t0
            self.log.info(msg + (f" ({seconds:.1f} s)" if seconds >= 1 else ""))
            stored = self.store.lookup([keys[i] for i in known]) if known else {}
            clash = other_than_stored(pre, known, [stored[keys[i]].result() for i in known], self.fw.cost_names) \
                if known else None
            for note in pre.notes + ([clash] if clash else []):
                self.log.warning(f"warning: {shown}: {note}")

    def _run_explore(self, explore: Explore, several: bool) -> None:
        fw, store, log = self.fw, self.store, self.log
        built = self._built.pop(explore.index, None)
        budget = self._budget(explore)
        if built is None:
            fw.enter(explore, budget)
        else:   # the framework as the preflight initialised this exploration's plugins with, the budget from now
            fw.enter(explore, built.budget)
            for name in ("max_samples", "max_steps", "max_time", "started", "used_samples", "steps"):
                setattr(built.budget, name, getattr(budget, name))
            fw.history, fw.encoding = built.history, built.encoding
        fw.preloaded = []
        self.counted: set[str] = set()   # keys of the points the budget counted (see _fresh)
        self.predicted = set()
        self._preload(explore)
        if not self.dry_run:
            self._leave_out_others(explore)
        exploration, evaluate, extract, model = self._make_plugins() if built is None else self._use_built(built)
        self._dry_evaluate = evaluate if self.dry_run else None
        cost_names = fw.cost_names
        space = explore.space
        log.info(f"exploration '{explore.name}': {len(space)} knobs "
                 f"({_knob_list(space)}), space of {count_text(space.size) if space.finite else 'infinitely many'} points")

        timeout = self.config.section("evaluate").get("timeout")
        inline = bool(getattr(self.args, "debug", False))
        only_pre = getattr(self.args, "only_preloaded_data_exploration", False)
        # -full-exploration: the model trains once on all the data (Deffe put every row in its step 0, whatever
        # the first step's size), and the exploration is not asked
        whole = only_pre and getattr(self.args, "full_exploration", False)
        step_start = getattr(self.args, "step_start", None) or 0
        step_end = getattr(self.args, "step_end", None)
        retry = getattr(self.args, "retry_failed", False)
        # an exploration whose proposals do not depend on the results (the sampling exploration) can be
        # listed step by step in a dry run; for the others only the next batch is known
        adaptive = self._optional(exploration, "adaptive", True)

        def task(sample: Sample) -> Result:
            return run_sample(evaluate, extract, sample, cost_names)

        # with only the pre-evaluated data nothing is evaluated: a cluster config (Deffe's "slurm": "True")
        # runs its preloaded exploration on a laptop, as Deffe's own README runs it, without -no-slurm
        kind = "local" if only_pre else executor_kind(self.config, self.args)
        remote = PluginTask(self.config, self.args, self.run_dir, self.fw.seed, explore.index,
                            self.config.digest("evaluate", "extract")) if kind != "local" else None
        asynchronous = self._asynchronous()

        if whole and fw.preloaded:
            self._say_full_budget(explore)
        total = fw.budget.max_samples or (space.size if space.finite and space.size < 10 ** 12 else None)
        if only_pre:   # the data's distinct points: a point given twice (in a file or by two) is one
            total = min(x for x in (total, len(fw.sampling.pool)) if x is not None) if fw.preloaded else total
        progress = Progress(total, f"{explore.name}", enabled=self.show_progress and not self.dry_run,
                            max_time=fw.budget.max_time)
        tracker = Tracker(fw.costs, self.config.constraints, self._objectives())
        fw.training_report = None
        tally = Tally()
        told: list[int] = []          # ids of the stored samples this run's exploration was told, in order
        reason = "the exploration finished"
        finished = False
        if not self.dry_run:
            # deffe_run.json before the first evaluation: -report and load_run read a run still in its first
            # step, or killed there (the tables are written at the end of each step)
            self._write_manifest(explore, {k: table_path(self.run_dir, explore, k, several)
                                           for k in ("evaluation", "prediction", "output")}, several)
        executor = make_executor(kind, remote, task, jobs=self.jobs, timeout=timeout, inline=inline,
                                 config=self.config, run_dir=self.run_dir, log=log) \
            if not self.dry_run else LocalExecutor(task, jobs=self.jobs, timeout=timeout, inline=inline)
        try:
            step = 0
            if asynchronous:
                runner = AsyncRun(self, explore, exploration, model, executor, progress, tally, told, tracker)
                reason = runner.run()
            while not asynchronous:
                why = fw.budget.exhausted()
                if why:
                    reason = "every pre-evaluated point explored in one step (-full-exploration)" \
                        if whole and fw.budget.used_samples >= len(fw.sampling.pool) else why
                    break
                if step_end is not None and step >= step_end:
                    reason = f"-step-end {step_end} reached"
                    break
                t0 = time.perf_counter()
                if whole and step == 0:   # Deffe's full exploration: every point of the data in one step
                    proposal = Proposal(fw.sampling.Run(len(fw.sampling.pool)),
                                        note="every pre-evaluated point (-full-exploration)")
                else:
                    proposal = self._call(exploration, "Run")   # checked: None, or codes of points of the space
                if proposal is None or len(proposal.codes) == 0:
                    if step == 0 and not told:   # nothing at all: a plugin that gives no point (a missing return?)
                        reason = "the exploration proposed no point at all"
                        log.warning(f"warning: exploration '{explore.name}' proposed no point at all: its "
                                    f"exploration plugin (or the sampler it asks) gave none on its first call")
                    break
                seconds = time.perf_counter() - t0   # searching the model can take a while: say so
                (log.info if seconds >= 1 else log.debug)(
                    f"step {step}: {len(proposal.codes)} points proposed in {seconds:.2f} s"
                    + (f" ({proposal.note})" if proposal.note else ""))
                codes, new = self._fresh(space, proposal.codes, fw.budget.remaining_samples())
                if not new:
                    reason = f"step {step} proposed only points already evaluated in this run"
                    break
                evaluate_now = step >= step_start and not only_pre
                if evaluate_now and fw.model is not None and fw.training_report and not self.dry_run:
                    self._predict_batch(model, explore, codes, step, replay=True)
                would_before = tally.would
                results = self._evaluate_batch(explore, codes, step, executor, evaluate_now, retry,
                                               progress, tally, told)
                would = tally.would - would_before
                if only_pre and results and all(r.status == "skipped" for r in results):
                    # nothing it proposes can be evaluated: without this a search of the whole space would
                    # propose points outside the data for ever
                    reason = (f"step {step} proposed no pre-evaluated point (-only-preloaded-data-exploration "
                              "evaluates nothing)")
                    break
                if proposal.predicted is not None and proposal.prediction is not None and not self.dry_run:
                    self._store_predictions(explore, proposal, step)
                fw.budget.used_samples += self._count(space.keys(codes), results) + would
                fw.budget.steps += 1
                if would and adaptive:
                    reason = (f"step {step} would evaluate {would} new point{'s' if would > 1 else ''}; "
                              "the steps after it depend on their results")
                    break
                self._stop_if_broken(explore, several)
                fw.history.add(codes, results, guided=proposal.guided)
                # a dry run trains as the real run would only where the next proposals depend on the model;
                # with the data only, -step-start S is Deffe's: the steps before S are sampled and not trained,
                # the first model learns step S's cumulative samples. A run that evaluates trains in the steps
                # before S as a rerun does (on their stored results): a -step-start E run after a -step-end E
                # run continues the same course
                if model is not None and (step >= step_start or not only_pre) and not would and \
                        (adaptive or not self.dry_run):
                    # this run's model only: the store's latest step may be another run's (a config that shared
                    # the run directory and the exploration's name, or a longer earlier run)
                    if self._train(model, explore, step, final=self._spent(only_pre)) is not None:
                        fw.training_report = dict(store.steps(explore.name)).get(step, {}).get("model")
                    progress.model((fw.training_report or {}).get("holdout_mape"))
                self._call(exploration, "Tell", codes, results)
                if not self.dry_run:
                    progress.best(best_text(self._track(tracker, explore, step, told), fw.costs,
                                            tracker.objectives))
                    self._write_tables(explore, several)
                step += 1
            finished = True
        finally:
            executor.close()
            progress.close()
        if only_pre and model is not None and step_start and not asynchronous and step <= step_start:
            log.warning(f"warning: -step-start {step_start}: exploration '{explore.name}' ended after {step} "
                        f"step{'s' if step != 1 else ''} of its data, before step {step_start}: no model was trained")
        if self.dry_run:
            if not tally.would:
                reason += "; nothing to evaluate"
            if tally.reused:   # the points it would explore without evaluating them (pre-evaluated, stored)
                reason += f"; {tally.reused} point{'s' if tally.reused != 1 else ''} from the store"
            self.summaries.append(f"exploration '{explore.name}': {reason} (dry run: nothing written)")
            return
        if finished:
            # the exploration's tables list what this run's exploration was told: samples an earlier run
            # asked for and this one did not (its course changed with -retry-failed, say) stay in the store.
            # A run stopped by -step-end finished too (Deffe's "stop after this step"): a rerun with a smaller
            # -step-end shows its own course; a later -step-start run re-proposes the earlier steps from the store
            store.keep_members(explore.name, told)
            if not asynchronous:   # and its predictions are this run's: an earlier course's model's go (not
                # those of the steps before -step-start, which this run did not make; an asynchronous resume
                # does not replay its course: its predictions stay)
                store.keep_predictions(explore.name, self.predicted, step_start)
            if not asynchronous:   # the steps it made are 0 .. step - 1 (the asynchronous loop numbers its own)
                if store.forget_steps_from(explore.name, step) and model is not None:
                    self._trainer_for().write_metrics(explore)   # model_metrics.csv: this run's steps only
        finish = self._optional(exploration, "Finish")
        if callable(finish):
            self._call(exploration, "Finish")
        paths = self._write_tables(explore, several)
        report = self._call(exploration, "Report") if callable(self._optional(exploration, "Report")) else None
        sec = self.config.section("exploration")
        table, rows = exploration_table(store, self.run_dir, explore, fw.costs, self.config.constraints,
                                        tracker.objectives, sec["top_k"], model, report, several)
        why = (report or {}).get("finished") or reason
        summary = (f"exploration '{explore.name}': {why}; {tally.text()}; tables: {paths['evaluation']}, "
                   f"{table}\n{'front' if len(tracker.objectives) > 1 else 'best'} "
                   f"({', '.join(tracker.objectives)}):\n{front_text(rows, space, fw.costs)}")
        self.summaries.append(summary)
        log.debug(summary)
        if sec["analysis"]:
            self._analyse(explore, model if fw.training_report is not None else None, several)   # untrained: none

    def _say_full_budget(self, explore: Explore) -> None:
        """-full-exploration takes all the data: say so where the config's max_samples would have cut it, and
        warn where -max-samples does."""
        points = len(self.fw.sampling.pool)
        given = getattr(self.args, "max_samples", None)
        configured = explore.settings.get("max_samples")
        if given is not None and given < points:
            self.log.warning(f"warning: -full-exploration: -max-samples {given} explores {given} of the data's "
                             f"{points} points; leave -max-samples out to explore them all")
        elif given is None and configured is not None and configured < points:
            self.log.info(f"-full-exploration: all {points} points of the data, beyond the config's max_samples "
                          f"({configured}); -max-samples N explores fewer")

    def _leave_out_others(self, explore: Explore) -> None:
        """The exploration's stored members that this run cannot explore leave it (their results stay in the
        store): points outside its space, and with -only-preloaded-data-exploration points not in its data.
        Another config sharing the run directory and the exploration's name (Deffe's config_kmeans.json and
        config_kmeans_tl_samples.json) left them there; the tables, the best and the reports are of this run's
        points."""
        space = explore.space
        data = None
        members = self.store.explore_samples(explore.name, include_running=True)
        if getattr(self.args, "only_preloaded_data_exploration", False):
            # the members in the data (_preload's keys of its rows, not made again)
            data = {s.key for _st, s in members}.intersection(self._data_keys)
        keep = [s.id for _st, s in members if self._explorable(space, s, data)]
        if len(keep) < len(members):
            left = self.store.keep_members(explore.name, keep)
            self.log.info(f"exploration '{explore.name}': {left} stored sample{'s' if left != 1 else ''} of an "
                          "earlier run outside " + ("its data" if data is not None else "its space")
                          + " left out of its tables (still in the store)")

    @staticmethod
    def _explorable(space: Any, sample: Any, data: set[str] | None) -> bool:
        if data is not None:
            return sample.key in data
        if len(sample.params) != len(space.names):
            return False
        try:
            space.code_row(sample.params)
        except DeffeError:
            return False
        return True

    def _asynchronous(self) -> bool:
        """framework.asynchronous, -async or Deffe's -pipeline; never for a dry run, pre-evaluated data only
        or step windows (they are defined by synchronous steps)."""
        a = self.args
        wanted = bool(self.config.section("framework").get("asynchronous")) or \
            bool(getattr(a, "asynchronous", False)) or bool(getattr(a, "pipeline", False))
        if not wanted or self.dry_run:
            return False
        blockers = [flag for flag, on in (("-only-preloaded-data-exploration",
                                           getattr(a, "only_preloaded_data_exploration", False)),
                                          ("-step-start", getattr(a, "step_start", None)),
                                          ("-step-end", getattr(a, "step_end", None))) if on]
        if blockers:
            self.log.warning(f"warning: {blockers[0]} runs in synchronous steps: the asynchronous "
                             "exploration is off for this run")
            return False
        return True

    # ------------------------------------------------------------------ the budget's samples
    def _fresh(self, space: Any, codes: np.ndarray, remaining: float) -> tuple[np.ndarray, int]:
        """A proposal's rows to evaluate or look up: each point once, and no more points the budget has not
        counted yet than ``remaining`` (a point the exploration was told already in this run is not counted
        again); and how many of them the budget has not counted."""
        keep: list[int] = []
        seen: set[str] = set()
        new = 0
        for i, key in enumerate(space.keys(codes)):
            if key in seen:
                continue
            seen.add(key)
            if key not in self.counted:
                if new >= remaining:
                    continue
                new += 1
            keep.append(i)
        return codes[keep], new

    def _count(self, keys: list[str], results: list[Result]) -> int:
        """The budget's samples of a step: the points evaluated or found in the store that it had not counted
        yet in this run (the budget counts distinct points: a max_samples of 60 is 60 rows)."""
        added = 0
        for key, result in zip(keys, results):
            if result.status != "skipped" and key not in self.counted:
                self.counted.add(key)
                added += 1
        return added

    # ------------------------------------------------------------------ one batch
    def _evaluate_batch(self, explore: Explore, codes: np.ndarray, step: int, executor: LocalExecutor,
                        evaluate_now: bool, retry: bool, progress, tally: Tally, told: list[int]) -> list[Result]:
        space, store = explore.space, self.store
        keys = space.keys(codes)
        stored = store.lookup(keys)
        results: list[Result | None] = [None] * len(keys)
        first_index: dict[str, int] = {}
        pending: dict[int, tuple[int, int, Sample, int]] = {}  # task id -> (row in batch, sample id, sample, try)
        linked: list[int] = []
        for i, key in enumerate(keys):
            if key in first_index:  # the same point twice in one batch: evaluated once
                continue
            first_index[key] = i
            s = stored.get(key)
            # -retry-failed: failures stored before this run; one of this run's, proposed again, stays as it is
            again = s is not None and retry and s.status in ("failed", "timeout") and key not in self.counted
            if s is not None and s.status != "running" and not again:
                results[i] = s.result()
                linked.append(s.id)
                if key not in self.counted:   # told again (evaluated in an earlier step of this run): tallied then
                    tally.add(results[i], reused=True)
                    progress.update(cached=True)
                continue
            if not evaluate_now:
                results[i] = Result("skipped", error="not evaluated (before -step-start / preloaded only)")
                continue
            params = space.values(codes[i])
            if self.dry_run:
                results[i] = Result("skipped", error="not evaluated (dry run)")
                if key in self.counted:   # listed in an earlier step already: the real run evaluates it once
                    continue
                self.counted.add(key)     # the budget counts it as the real run's would (see _fresh)
                tally.would += 1
                print(f"would evaluate: {_point_text(params, limit=None)}")
                self._dry_commands(params)
                continue
            sid, sample = self._start_sample(explore, key, params, step)
            tally.retried += again
            linked.append(sid)
            tid = executor.submit(sample, key=str(sid))
            pending[tid] = (i, sid, sample, 1)
        if linked:
            store.link(explore.name, linked, step)
            told.extend(linked)
        if pending:
            try:
                for tid, result in executor.results():
                    i, sid, sample, attempt = pending.pop(tid)
                    result = self._commit(sample, result, attempt, progress, tally)
                    if result is None:   # failed, with tries left
                        pending[executor.submit(sample, key=str(sid))] = (i, sid, sample, attempt + 1)
                        continue
                    results[i] = result
            except BaseException:
                executor.cancel_pending()
                raise
        # duplicates within the batch share the first occurrence's result
        for i, key in enumerate(keys):
            if results[i] is None:
                results[i] = results[first_index[key]]
        self.seen.update(k for k, r in zip(keys, results) if r.status != "skipped")
        return results  # type: ignore[return-value]

    DRY_COMMANDS = 3   # points of a dry run whose commands are shown

    def _dry_commands(self, params: dict) -> None:
        """A dry run shows, for its first points, the commands the evaluate plugin would run (its optional
        DryRun(values): the script evaluator's substituted scripts), writing nothing."""
        evaluate = getattr(self, "_dry_evaluate", None)
        if evaluate is None or not callable(getattr(getattr(evaluate, "_deffe_plugin", evaluate), "DryRun", None)):
            return
        self._dry_shown = getattr(self, "_dry_shown", 0) + 1
        if self._dry_shown <= self.DRY_COMMANDS:
            for line in self._dry_lines(evaluate, self._call(evaluate, "DryRun", params)):
                print(f"    {line}")
        elif self._dry_shown == self.DRY_COMMANDS + 1:
            print(f"    (the commands of the points after the first {self.DRY_COMMANDS} are not shown)")

    def _dry_lines(self, evaluate: Any, lines: Any) -> list[str]:
        """What an evaluate plugin's DryRun() returned as lines: a str is one (or the lines it holds), a list
        or tuple of str are lines, None is none; anything else is the plugin's mistake, named."""
        if lines is None:
            return []
        if isinstance(lines, str):
            return lines.splitlines()
        if isinstance(lines, (list, tuple)) and all(isinstance(line, str) for line in lines):
            return [part for line in lines for part in (line.splitlines() or [""])]
        obj = getattr(evaluate, "_deffe_plugin", evaluate)
        block, name = self._names.get(id(obj), ("evaluate", type(obj).__name__))
        bad = next((line for line in lines if not isinstance(line, str)), None) \
            if isinstance(lines, (list, tuple)) else None
        what = f"a {type(lines).__name__} holding {_describe(bad)}" if isinstance(lines, (list, tuple)) \
            else _describe(lines)
        raise self._plugin_error(block, name, f"DryRun() returned {what}, not lines",
                                 "return the lines -no-run prints: a str, or a list of str")

    def _start_sample(self, explore: Explore, key: str, params: dict, step: int) -> tuple[int, Sample]:
        """Reserve the point's row in the store (status running) and describe it for the evaluator."""
        sid = self.store.start(key, explore.name, params, step)
        return sid, Sample(sid, params, self.run_dir / f"explore_{sid}", explore.name,
                           self.config.section("evaluate").get("timeout"))

    def _commit(self, sample: Sample, result: Result, attempt: int, progress, tally: Tally) -> Result | None:
        """Store one evaluation's result as it arrives; None when it failed and is to be tried again."""
        measured = result.costs if result.status == "ok" else None
        result = self._valid(result)
        measured = measured if result.status == "failed" else None   # outside a valid range: kept aside
        failed = result.status in ("failed", "timeout")
        if failed and attempt <= self.retries:
            self.log.debug(f"sample {sample.id}: {result.status} (try {attempt}); trying again")
            return None
        if attempt > 1 and failed:
            result.error = f"{result.error or result.status} (after {attempt} tries)"
        self.store.finish(sample.id, result, measured)
        self._tidy(sample, result)
        tally.add(result, reused=False)
        self.crashes.note(result)
        if result.status != "ok":
            self._report(sample.id, sample.values, result)
        progress.update(failed=failed)
        return result

    # ------------------------------------------------------------------ results
    def _valid(self, result: Result) -> Result:
        """A measurement outside its cost's valid range (costs[].min / max) makes the sample failed."""
        if result.status != "ok":
            return result
        why = out_of_range(self.fw.costs, result.costs)
        if why:
            return Result("failed", {}, f"{why}: not a valid measurement", result.duration)
        return result

    def _rejudge(self) -> None:
        """The stored measurements judged by the costs' valid ranges of this config, as this run would judge
        them if it evaluated them now (a range added, narrowed or widened since they were stored)."""
        costs = self.config.costs
        if not any(c.low is not None or c.high is not None for c in costs) and \
                not self.store.db.execute("SELECT 1 FROM samples WHERE measured IS NOT NULL LIMIT 1").fetchone():
            return
        failed, ok = self.store.rejudge(lambda measured: out_of_range(costs, measured))
        if failed or ok:
            said = ([f"{failed} now failed (outside a cost's valid range)"] if failed else []) + \
                ([f"{ok} ok again (inside the costs' valid ranges now)"] if ok else [])
            self.log.info(f"stored results judged by the costs' valid ranges of this config: {', '.join(said)}")

    def _tidy(self, sample: Sample, result: Result) -> None:
        """evaluate.keep_directories false: a sample's directory goes once its costs are stored; a failed
        sample's stays, for diagnosis."""
        if not self.keep_directories and result.status in ("ok", "infeasible"):
            shutil.rmtree(sample.directory, ignore_errors=True)

    # ------------------------------------------------------------------ failures
    def _stop_if_broken(self, explore: Explore, several: bool) -> None:
        """Every evaluation so far crashed with the same exception (a bug in a plugin, not a bad point):
        stop with one error line instead of spending the whole budget on it."""
        watch = self.crashes
        if not watch.broken():
            return
        self._write_tables(explore, several)
        plugin = self.config.section(watch.block)["plugin"]
        culprit = f"the {plugin} evaluation" if watch.block == "evaluate" else f"the extract plugin '{plugin}'"
        raise DeffeError(f"every evaluation so far ({watch.count}) failed with the same error: {watch.first}",
                         file=self.config.file_of(f"{watch.block}.plugin"), where=f"{watch.block}.plugin",
                         hint=f"a bug in {culprit} rather than bad points; the failures are stored "
                              "(deffe_evaluation.csv, deffe.log); fix it and rerun with -retry-failed "
                              "-keep-results, or run with -debug for the traceback")

    QUIET_AFTER = 20  # failures shown on the terminal; the rest go to the log file only

    def _report(self, sid: int, values: dict, result: Result) -> None:
        first = (result.error or "").strip().splitlines()
        line = f"sample {sid} ({_point_text(values)}): {result.status}" + (f": {first[0]}" if first else "")
        if result.status == "infeasible":  # an answer, not a failure
            self.log.info(line)
            return
        self.reported += 1
        if self.reported <= self.QUIET_AFTER:
            self.log.warning(line)
            if self.reported == self.QUIET_AFTER:
                self.log.warning("(further failures are written to the run log only)")
        else:
            self.log.debug(line)
        if result.error and "\n" in result.error.strip():
            self.log.debug(f"sample {sid} error:\n{result.error}")

    def _write_tables(self, explore: Explore, several: bool) -> dict[str, Path]:
        """Our tables in the run directory, and the original Deffe's where it wrote them (deffe_tables.py)."""
        paths = write_tables(self.store, self.run_dir, explore, self.fw.cost_names, several)
        self._write_manifest(explore, paths, several)
        if self.config.deffe_tables:
            from .deffe_tables import deffe_table_path, write_deffe_tables
            ours = {p.resolve() for p in paths.values()}
            # a run directory that is the current directory: a Deffe table named like one of ours is left out,
            # ours kept
            for kind in list(explore.deffe_tables):
                path = deffe_table_path(explore, kind)
                if path.resolve() in ours:
                    del explore.deffe_tables[kind]
                    self.log.warning(f"warning: {path}: the original Deffe's {kind} table is not written: it "
                                     "would replace this run's table of the same name")
            if explore.deffe_tables:
                write_deffe_tables(self.store, self.run_dir, explore, self.fw.cost_names,
                                   predicts=self.fw.model is not None)
        return paths

    def _write_manifest(self, explore: Explore, paths: dict[str, Path], several: bool) -> None:
        """deffe_run.json: what reports and the Python API need to read the run back (run_data.py)."""
        self._table_paths[explore.name] = {
            **{k: Path(v) for k, v in paths.items()},
            "exploration": table_path(self.run_dir, explore, "exploration", several),
            "model_metrics": self.run_dir / f"{explore.name + '-' if several else ''}model_metrics.csv"}
        write_manifest(self.run_dir, manifest(self.config, self.fw.costs, self.config.explores,
                                              self._table_paths, self._objectives(), self.run_dir))

    def _objectives(self) -> list[str]:
        """The costs the front (or the best) is over: exploration.objectives, else every cost."""
        return parse_names(self.config.section("exploration").get("objectives"), "exploration.objectives") \
            or self.fw.cost_names

    def _predict_batch(self, model: Any, explore: Explore, codes: np.ndarray, step: int,
                       replay: bool = False) -> None:
        """What the model expects of the points about to be evaluated (deffe_prediction.csv): how good
        its guesses were can be read next to the true costs. ``replay`` (the synchronous steps, which a
        resumed run replays): the points a fresh run would evaluate now, those this run has not met yet,
        also when the store holds them (an earlier course's, or this course's before it was interrupted),
        so that the predictions are this course's model's, as a fresh run's."""
        keys = explore.space.keys(codes)
        if replay:
            new = [i for i, k in enumerate(keys) if k not in self.seen]
        else:
            stored = self.store.lookup(keys)
            new = [i for i, k in enumerate(keys) if k not in stored]
        if not new:
            return
        pred = self._call(model, "Predict", codes[new])
        self.predicted.update(keys[i] for i in new)
        self.store.add_predictions(explore.name, [keys[i] for i in new], explore.space.decode(codes[new]),
                                   pred.mean, pred.std, step)

    def _store_predictions(self, explore: Explore, proposal: Proposal, step: int) -> None:
        pcodes = np.atleast_2d(proposal.predicted)
        keys = explore.space.keys(pcodes)
        params = explore.space.decode(pcodes)
        self.predicted.update(keys)
        self.store.add_predictions(explore.name, keys, params, proposal.prediction.mean,
                                   proposal.prediction.std, step)

    def _track(self, tracker: Tracker, explore: Explore, step: int, told: list[int]) -> None:
        """Best value or hypervolume of the designs this run's exploration was told (``told``: their ids) after
        this step, into the store."""
        told_ids = set(told)
        samples = [s for _st, s in self.store.explore_samples(explore.name) if s.id in told_ids]
        if not samples:
            return None
        costs = np.array([[s.costs.get(c, math.nan) for c in self.fw.cost_names] for s in samples], dtype=float)
        # per scenario too: one best over problem sizes whose costs differ by orders of magnitude says little
        info = tracker.update(costs, [s.status for s in samples],
                              scenario_labels(explore.space, [s.params for s in samples]))
        self.store.record_step(explore.name, step, info)
        return info

    def _analyse(self, explore: Explore, model: Any, several: bool) -> None:
        """Knob importance for every cost (lasso credit, and permutation importance on the model): the full
        tables to knob_importance.txt and plots, one line per cost to the terminal."""
        from .analysis import lasso_credit, permutation_importance
        data = self.training_data(explore, -1, everything=True)
        space = explore.space
        if len(space.varying()) == 0:
            return
        prefix = f"{explore.name}-" if several else ""
        tables, lines = [], []
        for j, cost in enumerate(self.fw.cost_names):
            ok = np.array([st == "ok" for st in data.status], dtype=bool) & np.isfinite(data.costs[:, j])
            if ok.sum() < 10 or np.ptp(data.costs[ok, j]) == 0:
                continue
            codes, y = data.codes[ok], data.costs[ok, j]
            try:
                credit = lasso_credit(space, codes, y, cost=cost, log_cost=bool((y > 0).all()), seed=self.fw.seed)
                credit.plot(self.run_dir / f"{prefix}knob_importance_lasso_{cost}.png")
                tables.append(credit.table(top=10))
                shown = credit
                if model is not None:
                    perm = permutation_importance(model, space, codes, y, cost=cost, column=j, seed=self.fw.seed)
                    perm.plot(self.run_dir / f"{prefix}knob_importance_permutation_{cost}.png")
                    tables.append(perm.table(top=10))
                    shown = perm
            except (ValueError, np.linalg.LinAlgError) as e:
                self.log.info(f"knob importance for {cost} skipped: {e}")
                continue
            lines.append(f"  {cost}: {_shares(shown.by_family(space))}")
        if not tables:
            return
        path = self.run_dir / f"{prefix}knob_importance.txt"
        path.write_text("\n\n".join(tables) + "\n")
        how = "the model's reliance on each knob" if model is not None else "the lasso credit of each knob"
        self.summaries.append(f"knobs that matter ({how}, as shares; details in {path.name}):\n" + "\n".join(lines))

    # ------------------------------------------------------------------ model
    def training_data(self, explore: Explore, step: int, everything: bool = False) -> TrainingData:
        """What the model learns from: the points this run's exploration has been told so far (so that
        a resumed run trains on what the first run had at the same step), plus pre-evaluated data;
        ``everything``: every sample of the exploration in the store (the end-of-run analysis)."""
        space, names = explore.space, self.fw.cost_names
        rows, costs, status = [], [], []
        seen: set[str] = set()
        guided: list[bool] = []   # per row: chosen by a search on the model (Proposal.guided)

        def add(row, cost_of, st, by_model=False):
            key = space.key(row)
            if key not in seen:
                seen.add(key)
                rows.append(row)
                costs.append([cost_of(c) for c in names])
                status.append(st)
                guided.append(by_model)

        if everything:
            for _st, s in self.store.explore_samples(explore.name):
                try:
                    add(space.code_row(s.params), lambda c: s.costs.get(c, math.nan), s.status)
                except DeffeError:
                    continue  # a point from before a change of the knob values
        else:
            history = self.fw.history
            for row, r, by_model in zip(history.codes, history.results, history.guided):
                if r.status != "skipped":
                    add(row, lambda c: r.costs.get(c, math.nan), r.status, by_model)
            if self.fw.preloaded and not getattr(self.args, "only_preloaded_data_exploration", False):
                pre = self.store.lookup(space.keys(np.array(self.fw.preloaded)))
                for row in self.fw.preloaded:
                    s = pre.get(space.key(row))
                    if s is not None:
                        add(row, lambda c: s.costs.get(c, math.nan), s.status)
        codes = np.array(rows, dtype=float).reshape(-1, len(space))
        data = TrainingData(codes, self.fw.encoding.transform(codes) if len(codes) else
                            np.empty((0, self.fw.encoding.n_features), dtype=np.float32),
                            np.array(costs, dtype=float).reshape(-1, len(names)), status, step)
        # how many of the last rows a search on the model chose, in order (none when pre-evaluated rows follow)
        data.guided_tail = len(guided) - max((i + 1 for i, g in enumerate(guided) if not g), default=0)
        return data

    def _trainer_for(self):
        from .training import ModelTrainer
        trainer = getattr(self, "_trainer", None)
        if trainer is None:
            trainer = self._trainer = ModelTrainer(self.fw, self.store, self.run_dir,
                                                   len(self.config.explores) > 1, self.dry_run)
        return trainer

    def _train(self, model: Any, explore: Explore, step: int, final: bool = False) -> dict | None:
        """Fit the model on everything evaluated, measure it on a hold-out, record (see training.py).
        ``final``: no step follows (the model a user keeps; a model may then choose its form again)."""
        data = self.training_data(explore, step)
        data.final = final
        return self._trainer_for().step(model, explore, step, data, call=self._call)

    def _spent(self, only_pre: bool) -> bool:
        """Whether the budget is spent after this step (or, with pre-evaluated data only, the data)."""
        fw = self.fw
        if fw.budget.exhausted():
            return True
        pool = getattr(fw.sampling, "pool", None)
        return bool(only_pre and pool is not None and fw.budget.used_samples >= len(pool))


@contextmanager
def _no_collection():
    """The cyclic garbage collector paused while many rows are read or stored: they make no cycles, and each
    of its passes walked every object of the process (the plugins' libraries included) again and again, which
    took half the time of storing 200,000 rows."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _stored_rows(space: Any, pre: Any, keys: list[str], chunk: int = 20_000):
    """The rows of pre-evaluated data (preload.Preloaded) as RunStore.add_evaluated_many takes them, made a
    chunk at a time (the text of a million rows is not held at once): each cost read from the array, with no
    Result made per row. Their keys are appended to ``keys``."""
    from .preload import STATUSES
    results, text = pre.results, RowText(space)
    names, errors, measured = results.cost_names, results.errors, results.measured
    # a row's costs as the store writes them (store._dumps of {name: cost}), made here: json.dumps per row took
    # a second of 200,000 rows. A float is written as its repr, an infinite one as JSON's Infinity
    prefix = [json.dumps(c) + ":" for c in names]

    def cost_text(row: list[float]) -> str:
        return "{" + ",".join(p + (repr(v) if v - v == 0 else "Infinity" if v > 0 else "-Infinity")
                              for p, v in zip(prefix, row) if v == v) + "}"   # v == v: not NaN
    for start in range(0, len(pre.codes), chunk):
        part, params = text.texts(pre.codes[start:start + chunk])
        keys.extend(part)
        costs = results.costs[start:start + chunk].tolist()
        for i, (key, values, status, row) in enumerate(zip(part, params, results.statuses[start:start + chunk],
                                                           costs), start):
            yield (key, values, STATUSES[status], cost_text(row),
                   errors.get(i), "pre-evaluated", measured.get(i))


def out_of_range(costs: Any, measured: dict[str, float]) -> str | None:
    """Why a measurement is outside a cost's valid range (costs[].min / max), or None."""
    for cost in costs:
        why = cost.invalid(measured[cost.name]) if cost.name in measured else None
        if why:
            return why
    return None


def _shares(importance: Any, top: int = 5) -> str:
    """'micro_batches 52%, device 30%, ...': each knob's share of the total importance (negative = 0)."""
    ranking = [(name, max(0.0, score)) for name, score in importance.ranking()]
    total = sum(score for _n, score in ranking)
    if total <= 0:
        return "no knob stands out"
    parts = [f"{name} {100 * score / total:.0f}%" for name, score in ranking[:top] if score > 0]
    return ", ".join(parts) + (", ..." if sum(1 for _n, s in ranking if s > 0) > top else "")


def _point_text(values: dict, limit: int | None = 160) -> str:
    from .values import format_value
    text = ", ".join(f"{k}={format_value(v)}" for k, v in values.items())
    return text if limit is None or len(text) <= limit else text[:limit - 3] + "..."


def _knob_list(space: Any) -> str:
    """The knobs' names for a log line, a repeated knob once with its count ('device x16'): a count of 5,000
    made a line of 39 KB."""
    families, out = space.families(), []
    for k in space.knobs:
        if k.family is None:
            out.append(k.name)
        elif k.name == families[k.family][0]:
            out.append(f"{k.family} x{len(families[k.family])}")
    return ", ".join(out)
