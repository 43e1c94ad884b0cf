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

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config, Explore
from .config.loader import variables_of
from .context import Budget, Framework
from .errors import DeffeError
from .evaluation import run_sample
from .async_loop import AsyncRun
from .executor import LocalExecutor
from .executors import executor_kind, make_executor
from .progress import Progress, best_text
from .remote import PluginTask
from .report import Tracker, exploration_table, front_text, scenario_labels
from .protocols import Proposal, Result, Sample
from .store import RunStore
from .handover import Built, Fingerprints, Held
from .driver_batch import BatchSteps
from .driver_model import ModelSteps
from .driver_plugins import PluginCalls
from .driver_preload import PreloadSteps
from .tally import CrashWatch, Tally
from .run_data import manifest, write_manifest
from .sampling import DesignSampler
from .space import count_text
from .tables import table_path, write_tables
from .values import parse_names


class Driver(PluginCalls, PreloadSteps, BatchSteps, ModelSteps):
    """One run of a config: the preflight, then every exploration's loop; its plugins, pre-evaluated data,
    batches and model are the mixins' (driver_plugins, driver_preload, driver_batch, driver_model)."""
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
        self.crashes = CrashWatch()   # (made anew for each exploration entry: _run_explore)
        self._table_paths: dict[str, dict[str, Path]] = {}
        self.reported = 0   # failures shown on the terminal
        self.said_synchronous = False   # the "runs in synchronous steps" warning (asked per exploration entry)
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
        if self._unbounded(explore, budget) and not space.finite:
            raise DeffeError(f"exploration '{explore.name}' has a continuous knob and no budget",
                             file=explore.file, where=explore.where,
                             hint="set exploration.max_samples (or max_steps / max_time), or -max-samples")
        return budget

    def _unbounded(self, explore: Explore, budget: Budget) -> bool:
        """No budget ends the exploration: no max_samples, max_steps or max_time, no custom_samples (every
        exploration ends at its last count: docs/config.md) and not only the pre-evaluated data (the data
        bounds the run: nothing else is evaluated)."""
        a = self.args
        return budget.max_samples is None and budget.max_steps is None and budget.max_time is None \
            and not (getattr(a, "custom_samples", None) or explore.settings.get("custom_samples")) \
            and not getattr(a, "only_preloaded_data_exploration", False)

    def _warn_unbounded(self, explore: Explore, exploration: Any) -> None:
        """Warn when an exploration without a budget will evaluate more than a million points: a finite space
        evaluated completely, or, for an exploration that proposes only what its sampler gives (the sampling
        exploration, not adaptive) with a finite design (a DesignSampler), that design."""
        fw = self.fw
        if not self._unbounded(explore, fw.budget) or not explore.space.finite:
            return
        points = explore.space.size
        sampler = getattr(fw.sampling, "_deffe_plugin", fw.sampling)
        design = getattr(sampler, "_design", None) if isinstance(sampler, DesignSampler) else None
        if design is not None and not self._optional(exploration, "adaptive", True):
            points = min(points, len(design))
        if points > 1_000_000:
            what = "the space has" if points == explore.space.size else "the design has"
            self.log.warning(f"exploration '{explore.name}': {what} {count_text(points)} points and no "
                             "budget: every point will be evaluated; set exploration.max_samples")

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
        # the crash watch is this entry's: another entry's successes (its evaluator's knobs, its points) say
        # nothing of this one's, and with one watch for the run a bug hitting only a later entry spent its
        # whole budget on one exception
        self.crashes = CrashWatch()
        self._preload(explore)
        if not self.dry_run:
            self._leave_out_others(explore)
        exploration, evaluate, extract, model = self._make_plugins() if built is None else self._use_built(built)
        self._warn_unbounded(explore, exploration)
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
        if step_start and not asynchronous and step <= step_start and (model is not None or not only_pre):
            # the steps are not known before they are made (the budget, the data or the exploration ends
            # them): a -step-start past the last one is found here, and said, not taken for a finished run
            log.warning(f"warning: -step-start {step_start}: exploration '{explore.name}' ended after {step} "
                        f"step{'s' if step != 1 else ''}{' of its data' if only_pre else ''}, before step "
                        f"{step_start}: " + ("no model was trained" if only_pre else
                                             "nothing was evaluated (the steps before it use stored results only)"))
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
        if model is not None and getattr(self, "_trainer", None) is not None:
            self._trainer.said_untrained(explore)   # an exploration that ended without enough samples to learn from
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
            if not self.said_synchronous:
                self.said_synchronous = True
                self.log.warning(f"warning: {blockers[0]} runs in synchronous steps: the asynchronous "
                                 "exploration is off for this run")
            return False
        return True

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
        data = manifest(self.config, self.fw.costs, self.config.explores, self._table_paths, self._objectives(),
                        self.run_dir)
        # the $VARS the config named, as this run read them: load_run reads the config back with them
        data["config_env"] = variables_of([data.get("config_text"), *self.config.included.values()])
        write_manifest(self.run_dir, data)

    def _objectives(self) -> list[str]:
        """The costs the front (or the best) is over: exploration.objectives, else every cost."""
        return parse_names(self.config.section("exploration").get("objectives"), "exploration.objectives") \
            or self.fw.cost_names

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
