"""Asynchronous exploration: the workers never wait for the model.

The synchronous loop (driver.py) runs in steps: propose a batch, evaluate all of it, train, tell. Its
workers idle twice per step: while the slowest sample of the batch finishes, and while the model trains
and the exploration searches it. Here, instead:

* points wait in a queue for free workers: a step's worth, plus what covers the next ask (workers x the
  time an ask takes / the time an evaluation takes, both measured as the run goes); the exploration is
  asked before the queue runs dry, in a thread of its own, while the driver goes on dispatching and
  storing results (``Framework.ask_limit`` says how many points are wanted);
* each result is stored the moment it arrives and told to the exploration before it is asked again
  (never while an ask runs: the exploration is used by one thread at a time);
* the model retrains once ``retrain_after`` new results (default: as many as workers) came in since the
  last training started, in a process of its own (train_process.py: a thread would share the interpreter
  lock with the ask, and both ran five to ten times slower on two cores); its trained state is copied
  into the driver's instance between two asks;
* the points still being evaluated are given to the exploration (``Pending(codes)``, when it has it):
  the surrogate exploration never proposes them again and keeps new points at its diversity distance
  from them; a search algorithm waiting for a generation's last values proposes nothing until they come.

A seeded asynchronous run is not reproducible exactly (what the exploration knows when it is asked
depends on which evaluation finished first); the synchronous default is. A resumed asynchronous run tells
the exploration everything stored for it first, then goes on.
"""
from __future__ import annotations

import math
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .contract import checked
from .errors import DeffeError
from .progress import best_text
from .threads import limit as limit_threads
from .train_process import TrainingProcess
from .protocols import Result, Sample

MIN_EFFORT = 0.1   # an ask searches at least a tenth of what a synchronous step does (see AsyncRun._effort)
ASK_GUESS = 4.0    # seconds of a full-effort ask before one was measured (2 to 4 s measured on 2 busy cores)


@dataclass
class InFlight:
    code: np.ndarray
    key: str                 # the point's key in the store (space.key(code))
    sample: Sample
    attempt: int = 1


@dataclass
class Utilisation:
    """Busy worker-seconds over available worker-seconds, measured by the driver (bench/executors.py)."""

    workers: int
    started: float = field(default_factory=time.monotonic)
    busy: float = 0.0

    def add(self, seconds: float | None) -> None:
        self.busy += float(seconds or 0.0)

    def fraction(self) -> float:
        wall = time.monotonic() - self.started
        return self.busy / (wall * self.workers) if wall > 0 else math.nan


class AsyncRun:
    """One exploration run asynchronously; the driver's synchronous `_run_explore` hands over to it."""

    def __init__(self, driver: Any, explore: Any, exploration: Any, model: Any, executor: Any, progress: Any,
                 tally: Any, told: list[int], tracker: Any):
        self.d, self.explore, self.exploration = driver, explore, exploration
        self.model, self.executor, self.progress = model, executor, progress
        self.tally, self.told, self.tracker = tally, told, tracker
        self.fw = driver.fw
        self.space = explore.space
        fwcfg = driver.config.section("framework")
        self.workers = max(1, int(driver.jobs))
        # points queued beyond the running ones: a step's worth (samples_per_step, or a worker's worth if that
        # is more) proposed at once, plus what covers the next ask: asking (a search of the model) can take
        # seconds, and the workers must not run dry meanwhile (see _cover)
        per_step = getattr(driver.args, "samples_per_step", None) or explore.settings.get("samples_per_step") or 1
        self.base = max(self.workers, int(per_step))
        self.ask_seconds: float | None = None    # how long asking takes, and an evaluation (moving averages)
        self.eval_seconds: float | None = None
        self.full_ask_seconds: float | None = None   # ... an ask at full search effort (see _effort)
        self.effort = 1.0                            # the share of its search effort the running ask spends
        self.retrain_after = max(1, int(fwcfg.get("retrain_after") or self.workers))
        self.in_flight: dict[int, InFlight] = {}
        self.queue: deque[np.ndarray] = deque()
        self.untold: list[tuple[np.ndarray, Result]] = []
        self.guided_keys: set[str] = set()   # points a search on the model proposed (Proposal.guided)
        self.resumed: set[str] = set()       # stored points told at a resume (_resume), counted once already
        self.redone: set[str] = set()        # stored points evaluated again at a resume (in flight, -retry-failed)
        self.new_results = 0
        self.step = 0
        self.training: Future | None = None
        # the model trains in a process of its own (train_process.py) while the exploration is asked here: the
        # two share the thread budget (half each). Each with the whole budget, 4 threads on 2 cores made a
        # training 4-6x and an ask 10x slower than alone, and the workers waited (bench/executors.py: worker
        # utilisation 74% -> 96% on one seed). Started now: its imports take a few seconds, which the first
        # evaluations cover.
        self.threads = driver.fw.threads
        self.shared_threads = max(1, self.threads // 2)
        self.trainer = TrainingProcess(model, self.fw, driver.config, driver.args, driver.run_dir, explore.index,
                                       self.shared_threads) if model is not None and not driver.dry_run else None
        self.think_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deffe-ask")
        self.thinking: Future | None = None   # the exploration's ask running in the asking thread
        self.wait_for_result = False          # the exploration had nothing to propose until a result comes
        self.wait_for_model = False           # ... nor until the first model is trained (its confirmation)
        self.usage = Utilisation(self.workers)
        self.trained_once = False
        self.no_first_model = False         # the first training had too little to learn from: go on without
        self.recorded = -1                  # the last step a training was recorded under
        self.first_ids: set[int] = set()   # samples of the first proposal (the initial design)
        self.done = False            # the exploration has nothing more to propose
        self.reason = "the exploration finished"

    # ------------------------------------------------------------------ the loop
    def run(self) -> str:
        if self.trainer is not None:
            self._hold_threads(self.shared_threads)
        try:
            return self._run()
        finally:
            self._hold_threads(self.threads)

    def _hold_threads(self, n: int) -> None:
        limit_threads(n)
        if self.model is not None and hasattr(self.model, "threads"):
            self.model.threads = n

    def _run(self) -> str:
        self._resume()
        results = None
        try:
            while True:
                self._collect_ask()
                self._fill()
                if not self.in_flight:
                    if self.thinking is not None:   # nothing to wait for but the exploration's next points
                        wait_futures([self.thinking])
                        continue
                    self._tell()
                    if self.training is not None:   # ... or the model
                        self._swap()
                        continue
                    if self._first_model_pending():
                        if not self._start_training(force=True):
                            self.no_first_model = True
                        continue
                    if self.done or not self._start_ask():
                        break
                    continue
                if results is None:
                    results = self.executor.results()
                try:
                    tid, result = next(results)
                except StopIteration:
                    results = None
                    continue
                self._arrived(tid, result)
                if self.training is not None and self.training.done() and self.thinking is None:
                    self._swap()
                self._start_training()
        except BaseException:
            self.executor.cancel_pending()
            if self.thinking is not None:
                try:
                    self.thinking.result()   # a plugin call in a thread must not outlive the run's plugins
                except Exception:  # noqa: BLE001 - the run stops with its own error, which wins
                    pass
            if self.trainer is not None:
                self.trainer.close()
            raise
        finally:
            self.think_pool.shutdown(wait=True)
        try:
            if self.training is not None:   # the last background training counts: recorded like the others
                self._swap()
        finally:
            if self.trainer is not None:
                self.trainer.close()
        self._tell()
        self._hold_threads(self.threads)   # nothing trains beside it any more
        self._final_training()
        self.d.log.info(f"asynchronous exploration: worker utilisation {self.usage.fraction():.0%} "
                        f"({self.workers} workers)")
        return self.reason

    # ------------------------------------------------------------------ proposing
    def _cover(self) -> int:
        """Points that keep the workers busy while the exploration is asked: workers x ask time / evaluation
        time (the workers' own count until both were measured), at most four steps' worth."""
        if not self.ask_seconds or not self.eval_seconds:
            return self.workers
        return min(math.ceil(self.workers * self.ask_seconds / self.eval_seconds), 4 * self.base)

    def _effort(self) -> float:
        """The share of its search effort (the surrogate's `candidates`) the next ask may spend, so that an ask
        takes no longer than the workers need to evaluate a step's worth of points (80% of it): an ask that
        outlasts them leaves the workers idle, however many points are queued ahead, because each ask yields
        only a step's worth. At least MIN_EFFORT. (On 2 cores an ask of the default 20,000 predictions of a
        forest took about 3 s, while 2 workers evaluated a step of 4 one-second points in 2 s.)"""
        if not self.eval_seconds:
            return 1.0
        target = 0.8 * self.base * self.eval_seconds / self.workers
        return min(1.0, max(MIN_EFFORT, target / (self.full_ask_seconds or ASK_GUESS)))

    def _free(self) -> int:
        return self.workers + self._cover() + self.base - len(self.in_flight)

    def _fill(self) -> None:
        """Send queued points to free places; once the queue is dry and the points waiting for a worker no
        more than cover the next ask, ask for the next points (in the asking thread: the driver goes on
        dispatching and storing meanwhile)."""
        while self._free() > 0 and self.queue:
            self._submit(self.queue.popleft())
        if not self.queue and len(self.in_flight) <= self.workers + self._cover():
            self._start_ask()

    @staticmethod
    def _average(old: float | None, new: float) -> float:
        return new if old is None else 0.5 * old + 0.5 * new

    def _start_ask(self) -> bool:
        """Ask the exploration, in the asking thread, for as many points as there are free places; False when
        no ask starts (one runs already, the budget is spent, the exploration is done or waits for results)."""
        if self.thinking is not None or self.done or self.wait_for_result or self.wait_for_model:
            return False
        budget = self.fw.budget
        why = budget.exhausted()
        if why:
            self.reason, self.done = why, True
            return False
        if self.training is not None and self.training.done():
            self._swap()   # the newest model, before the exploration uses it
        self._tell()
        # between two asks is when a training can start (it must not tell the exploration results during an
        # ask): when asks follow each other closely, a training started only as results arrive would wait
        # for a gap that never comes, and the exploration would go on with its first model
        self._start_training()
        codes = np.array([f.code for f in self.in_flight.values()], dtype=float).reshape(-1, len(self.space))
        # no max_samples (a finite space evaluated completely, or a time budget alone): no limit but the free
        # places (the budget's remaining samples are then infinite, which int() refuses)
        limit = max(1, int(min(max(self._free(), self.base), budget.remaining_samples())))
        self.effort = self._effort()
        self.thinking = self.think_pool.submit(self._think, codes, limit, self.effort)
        return True

    def _think(self, pending: np.ndarray, limit: int, effort: float):
        """The asking thread: the exploration is used by no other thread meanwhile (the driver tells it
        results and swaps models only between asks)."""
        if callable(self.d._optional(self.exploration, "Pending")):
            self.d._call(self.exploration, "Pending", pending)
        self.fw.ask_limit = limit
        self.fw.ask_effort = None if effort >= 1.0 else effort
        # whether a model will come if the exploration waits for one (the surrogate's confirmation does)
        self.fw.model_coming = self.trainer is not None and not self.no_first_model
        t0 = time.monotonic()
        try:
            return self.d._call(self.exploration, "Run"), time.monotonic() - t0
        finally:
            self.fw.ask_limit = self.fw.ask_effort = None
            self.fw.model_coming = False

    def _collect_ask(self) -> None:
        """A finished ask's points join the queue (checked, trimmed to the budget, predictions stored)."""
        if self.thinking is None or not self.thinking.done():
            return
        proposal, seconds = self.thinking.result()   # an exploration's error is raised here, in this thread
        self.thinking = None
        if self.step > 0:   # the first ask is the initial design: no search, no measure of what asks take
            self.ask_seconds = self._average(self.ask_seconds, seconds)
            if self.fw.training_report:   # an ask with a model to search (not the sampler's points)
                self.full_ask_seconds = self._average(self.full_ask_seconds, seconds / self.effort)
        budget = self.fw.budget
        if proposal is None:
            self.done = True
            return
        if np.size(proposal.codes) == 0:   # nothing now (a search waiting for the points in flight) ...
            if self.in_flight:
                self.wait_for_result = True
            elif self.untold:                # values that came in during the ask: told, then it is asked again
                pass
            elif not self.fw.training_report and self.trainer is not None and not self.no_first_model:
                self.wait_for_model = True   # ... or the first model (trained next: _first_model_pending)
            else:
                self.done = True           # ... and nothing will come: it is finished
            return
        # checked by the driver's _call (codes of points of the space); each point once, the budget's new ones
        # at most what it has left (a point told already, or in flight, is not counted again)
        codes, new = self.d._fresh(self.space, proposal.codes, budget.remaining_samples())
        if not new:   # only points it was told or is being told: as if it had proposed nothing ...
            flying = {f.key for f in self.in_flight.values()}   # (told when they come back: wait for them)
            replayed = [c for c, k in zip(codes, self.space.keys(codes))
                        if (k in self.resumed or k in self.redone) and k not in flying] if len(codes) else []
            if replayed:   # ... unless it proposes again what it was told at a resume (a sampler starts over):
                self.queue.extend(replayed)   # told again (_submit), then it goes on
                return
            if self.in_flight:
                self.wait_for_result = True
            elif not self.untold:   # (values that came in during the ask: told, then it is asked again)
                self.done = True
                self.reason = "the exploration proposed only points already evaluated in this run"
            return
        if self.fw.model is not None and self.fw.training_report:
            self.d._predict_batch(self.fw.model, self.explore, codes, self.step)
        if proposal.predicted is not None and proposal.prediction is not None:
            self.d._store_predictions(self.explore, proposal, self.step)
        budget.steps += 1
        self.step += 1
        self.d.log.debug(f"asynchronous ask {self.step}: {len(codes)} point(s)"
                         + (f" ({proposal.note})" if proposal.note else ""))
        if proposal.guided:
            self.guided_keys.update(self.space.keys(codes))
        self.queue.extend(codes)

    def _submit(self, code: np.ndarray) -> None:
        """Evaluate one point, or take it from the store; the budget counts it now (not when it returns),
        so that the points in flight never overshoot it."""
        d, store = self.d, self.d.store
        key = self.space.key(code)
        if any(f.key == key for f in self.in_flight.values()):
            return   # proposed twice (an exploration without Pending): evaluated once
        s = store.lookup([key]).get(key)
        d.seen.add(key)   # (a synchronous exploration after this one predicts only points not met: see _predict_batch)
        fresh = key not in d.counted
        if fresh:   # the budget counts a point once, however often it is proposed
            d.counted.add(key)
            self.fw.budget.used_samples += 1
        again = getattr(d.args, "retry_failed", False) and s is not None and s.status in ("failed", "timeout") \
            and (fresh or key in self.resumed)   # a failure of this run proposed again is not tried again
        if again:
            self.resumed.discard(key)   # tried again once: from now on a failure of this run
        if s is not None and s.status != "running" and not again:
            result = s.result()
            self.redone.discard(key)   # a failure evaluated again at the resume, proposed again: told again
            if key in self.resumed:
                # told at the resume (linked and tallied then). Proposed again (a sampler's sequence starts
                # over), it is told again (a search may wait for its value), nothing more
                self.resumed.discard(key)
            elif fresh:   # (a point evaluated earlier in this run and proposed again was tallied then)
                store.link(self.explore.name, [s.id], self.step)
                self.told.append(s.id)
                self.tally.add(result, reused=True)
                self.progress.update(cached=True)
            self.untold.append((code, result))
            return
        sid, sample = d._start_sample(self.explore, key, self.space.values(code), self.step)
        store.link(self.explore.name, [sid], self.step)
        self.told.append(sid)
        tid = self.executor.submit(sample, key=str(sid))
        self.tally.retried += again
        self.in_flight[tid] = InFlight(code, key, sample)
        if self.step == 1:
            self.first_ids.add(sid)

    # ------------------------------------------------------------------ results
    def _arrived(self, tid: int, result: Result) -> None:
        f = self.in_flight.pop(tid)
        self.usage.add(result.duration)
        if result.duration:
            self.eval_seconds = self._average(self.eval_seconds, result.duration)
        self.wait_for_result = False
        committed = self.d._commit(f.sample, result, f.attempt, self.progress, self.tally)
        if committed is None:   # failed, tries left
            new = self.executor.submit(f.sample, key=str(f.sample.id))
            self.in_flight[new] = InFlight(f.code, f.key, f.sample, f.attempt + 1)
            return
        self.d._stop_if_broken(self.explore, len(self.d.config.explores) > 1)
        self.untold.append((f.code, committed))
        self.new_results += 1

    def _tell(self) -> None:
        if not self.untold:
            return
        codes = np.array([c for c, _ in self.untold], dtype=float).reshape(-1, len(self.space))
        results = [r for _, r in self.untold]
        self.untold = []
        self.fw.history.add(codes, results, guided=[k in self.guided_keys for k in self.space.keys(codes)])
        self.d._call(self.exploration, "Tell", codes, results)

    def _resume(self) -> None:
        """A resumed run: the exploration first learns everything stored for this exploration, and the points
        that were in flight when the run stopped are evaluated first (the synchronous mode replays the course
        and meets them again; an asynchronous course depends on arrival order and might never ask them again).
        With -retry-failed the stored failures are evaluated first too, in the order the exploration asked
        for them (the synchronous replay's order), instead of being told as known: the budget counts them
        as they are evaluated (a finished run's failures are retried within its budget, as a synchronous
        rerun's are)."""
        members = self.d.store.explore_samples(self.explore.name, include_running=True)
        retry = bool(getattr(self.d.args, "retry_failed", False))

        def redo(s) -> bool:   # evaluated again now: in flight when the run stopped, or a failure to retry
            return s.status == "running" or retry and s.status in ("failed", "timeout")

        stored = [(s.id, s) for _st, s in members if not redo(s)]
        if stored:
            self._tell_stored(stored)
        room = int(min(self.fw.budget.remaining_samples(), 1e9))
        queued: set[str] = set()
        running = failures = 0
        for _st, s in members:
            if not redo(s) or room <= 0:
                continue
            try:
                code = np.asarray(self.space.code_row(s.params), dtype=float)
            except DeffeError:
                continue   # a point from before a change of the knob values
            key = self.space.key(code)
            if key in queued or key in self.d.counted:
                continue   # a point asked twice (or told already): evaluated once
            queued.add(key)
            self.queue.append(code)
            room -= 1
            # evaluated again now, and told again when the exploration proposes it (a sampler starts its
            # sequence over): a point in flight at the stop, evaluated before the first ask, then proposed
            # with the others so evaluated ended the run early ("proposed only points already evaluated")
            self.redone.add(key)
            if s.status == "running":
                running += 1
            else:
                failures += 1
        if running:
            self.d.log.info(f"resuming asynchronously: {running} sample(s) in flight when the run "
                            "stopped are evaluated first")
        if failures:
            self.d.log.info(f"resuming asynchronously: {failures} stored failure(s) are evaluated again first "
                            "(-retry-failed)")

    def _tell_stored(self, stored: list) -> None:
        codes, kept = [], []
        for sid, s in stored:
            try:
                codes.append(self.space.code_row(s.params))
            except DeffeError:
                continue   # a point from before a change of the knob values
            kept.append((sid, s))
        for code, (sid, s) in zip(codes, kept):
            self.untold.append((np.asarray(code, dtype=float), s.result()))
            self.told.append(sid)
            self.tally.add(self.untold[-1][1], reused=True)
            self.progress.update(cached=True)
            self.resumed.add(self.space.key(code))
        keys = set(self.space.keys(np.array(codes, dtype=float).reshape(-1, len(self.space))))
        self.d.counted.update(keys)
        self.fw.budget.used_samples += len(keys)
        self.d.log.info(f"resuming asynchronously: {len(kept)} stored sample(s) told to the exploration")
        self._tell()
        if self.model is not None:
            self._publish(self.model, self.d._train(self.model, self.explore, self._record_step()))
            self.trained_once = True

    # ------------------------------------------------------------------ training in the background
    def _first_model_pending(self) -> bool:
        """The initial design is out and no model was trained yet: with nothing in flight, the first training
        starts now (the exploration meanwhile proposes from the sampler: the workers do not wait for it;
        waiting was measured worse, in utilisation and in the best found, on bench/executors.py)."""
        return self.model is not None and not self.d.dry_run and not self.fw.training_report and \
            not self.no_first_model and self.step >= 1 and not self.queue

    def _start_training(self, force: bool = False) -> bool:
        """Train the model in the training process on everything told so far, once enough new
        results came in (``retrain_after``) since the last training started; False if nothing started."""
        if self.model is None or self.d.dry_run or self.training is not None or self.thinking is not None:
            return False   # (while the exploration is asked, it must not be told results: next time)
        # the first model waits for the whole first proposal (the initial design): a model of its first two
        # points would steer nothing and cost a training
        first_batch_out = self.trained_once or (self.step > 1 or not self.queue) and not self.in_flight_from_first()
        if not force and not (self.new_results >= self.retrain_after and first_batch_out):
            return False
        self.trained_once = True
        self._tell()   # the model learns what the exploration was told: one history for both
        data = self.d.training_data(self.explore, self.step)
        self.new_results = 0
        self.training = self.trainer.fit(data)
        return True

    def _record_step(self) -> int:
        """The step a training is recorded under: the asks so far, but never one recorded already (two
        trainings may end between two asks; the store keeps one record per step)."""
        self.recorded = max(self.step, self.recorded + 1)
        return self.recorded

    def in_flight_from_first(self) -> bool:
        return any(f.sample.id in self.first_ids for f in self.in_flight.values())

    def _swap(self) -> None:
        """The model trained in the training process serves the exploration from now on (waits for the
        training to end; only between asks: the asking thread predicts with this instance)."""
        fitted = self.training.result()   # copies the trained state into self.model; a failure raises here
        self.training = None
        self.wait_for_model = False
        if fitted is None:   # too few successful points to learn from yet
            if not self.fw.training_report:
                self.no_first_model = True
            return
        self._publish(self.model, self.d._trainer_for().record(self.model, self.explore, self._record_step(), fitted,
                                                               call=self.d._call))
        if not self.d.dry_run:
            self._track()
            self.d._write_tables(self.explore, len(self.d.config.explores) > 1)

    def _track(self) -> None:
        info = self.d._track(self.tracker, self.explore, self.recorded, self.told)
        self.progress.best(best_text(info, self.fw.costs, self.tracker.objectives))

    def _publish(self, model: Any, report: dict | None) -> None:
        """``model`` serves the exploration from now on; ``report``: its training's (None: too few points to
        train on, the previous one stays). Never the store's latest step: it may be another run's."""
        self.fw.model = None if getattr(self.d.args, "no_inference", False) else checked(self.d, model, "Predict")
        if report is not None:
            self.fw.training_report = dict(self.d.store.steps(self.explore.name)).get(self.recorded, {}).get("model")
        self.progress.model((self.fw.training_report or {}).get("holdout_mape"))

    def _final_training(self) -> None:
        """The run ends with a model of everything evaluated (as a synchronous run does), trained as the
        final one (``TrainingData.final``: a model may choose its form again on all the data)."""
        if self.model is None or self.d.dry_run:
            return
        model = self.model
        # Even when the last background training saw every result: it was not trained as the final one, so
        # a model that chooses its form again at the end (auto) would keep an older choice. A synchronous run
        # trains its last step as the final one; so does this.
        self._publish(model, self.d._train(model, self.explore, self._record_step(), final=True))
        self._track()

