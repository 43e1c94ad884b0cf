"""The Driver's pre-evaluated data: read (once, by the preflight), stored, and what the store holds of
other runs' points left out of this run's exploration."""
from __future__ import annotations

import gc
import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import Explore
from .errors import DeffeError
from .preload import load_csv, other_than_stored
from .preload_rows import RowText


class PreloadSteps:
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

