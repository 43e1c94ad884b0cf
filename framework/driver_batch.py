"""The Driver's batches: which proposed points the budget counts, each point looked up in the store or
evaluated, its result judged (valid ranges, retries) and stored as it arrives, failures reported."""
from __future__ import annotations

import shutil
from typing import Any

import numpy as np

from .config import Explore
from .errors import DeffeError
from .evaluation import describe as _describe
from .executor import LocalExecutor
from .protocols import Result, Sample
from .tables import table_path
from .tally import Tally


class BatchSteps:
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
        # the entry's table as written (e1-deffe_evaluation.csv with several entries, or its own name)
        table = table_path(self.run_dir, explore, "evaluation", several)
        table = table.name if table.parent == self.run_dir else str(table)
        log = self.config.section("framework").get("output_log") or "deffe.log"
        which = f" of exploration '{explore.name}'" if several else ""   # (the watch is the entry's own)
        raise DeffeError(f"every evaluation{which} so far ({watch.count}) failed with the same error: {watch.first}",
                         file=self.config.file_of(f"{watch.block}.plugin"), where=f"{watch.block}.plugin",
                         hint=f"a bug in {culprit} rather than bad points; the failures are stored "
                              f"({table}, {log}); fix it and rerun with -retry-failed "
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



def out_of_range(costs: Any, measured: dict[str, float]) -> str | None:
    """Why a measurement is outside a cost's valid range (costs[].min / max), or None."""
    for cost in costs:
        why = cost.invalid(measured[cost.name]) if cost.name in measured else None
        if why:
            return why
    return None


def _point_text(values: dict, limit: int | None = 160) -> str:
    from .values import format_value
    text = ", ".join(f"{k}={format_value(v)}" for k, v in values.items())
    return text if limit is None or len(text) <= limit else text[:limit - 3] + "..."


