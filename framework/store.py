"""The run store: one SQLite database in the run directory.

Every sample is recorded as it completes (one transaction each, WAL journal),
so a run killed at any moment (kill -9) loses at most the evaluations in
flight. Points are identified by their values (`DesignSpace.key`), so a point
is evaluated once across steps, explorations and reruns. Only the driver
writes here; plugins hand their values back to it.

Tables
  meta        key/value facts of the run (format, config fingerprints)
  samples     one row per point: params, costs, status, error, timings; ``measured``: the costs of a
              measurement outside a cost's valid range (costs[].min / max), kept so that a rerun with
              another range judges it again (`rejudge`)
  membership  which exploration asked for which sample, in which step (table order)
  predictions predicted costs of points per exploration
  steps       per-step records of an exploration (model statistics, notes)
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import DeffeError
from .protocols import Result

FORMAT = 1
DB_NAME = "deffe.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    explore TEXT NOT NULL,
    params TEXT NOT NULL,
    costs TEXT,
    status TEXT NOT NULL,
    error TEXT,
    origin TEXT NOT NULL DEFAULT 'evaluated',
    step INTEGER,
    started REAL,
    finished REAL,
    duration REAL,
    measured TEXT
);
CREATE TABLE IF NOT EXISTS membership (
    explore TEXT NOT NULL,
    sample INTEGER NOT NULL REFERENCES samples(id),
    step INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (explore, sample)
);
CREATE TABLE IF NOT EXISTS predictions (
    explore TEXT NOT NULL,
    key TEXT NOT NULL,
    params TEXT NOT NULL,
    mean TEXT NOT NULL,
    std TEXT,
    step INTEGER,
    created REAL,
    PRIMARY KEY (explore, key)
);
CREATE TABLE IF NOT EXISTS steps (
    explore TEXT NOT NULL,
    step INTEGER NOT NULL,
    info TEXT NOT NULL,
    PRIMARY KEY (explore, step)
);
"""


# json writes NaN / Infinity and reads them back: infeasible costs survive the round trip (one encoder for
# every call: json.dumps with these settings makes a new one each time)
_dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode


def _loads_costs(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    return {k: float(v) for k, v in json.loads(text).items()}


@dataclass
class StoredSample:
    id: int
    key: str
    explore: str
    params: dict
    costs: dict[str, float]
    status: str
    error: str | None
    origin: str
    duration: float | None

    def result(self) -> Result:
        return Result(self.status, dict(self.costs), self.error, self.duration, cached=True, origin=self.origin)


class RunStore:
    def __init__(self, path: Path | str | None):
        """Open (or create) the store at ``path``; ``None`` gives a throwaway in-memory store."""
        self.path = Path(path) if path is not None else None
        target = str(self.path) if self.path is not None else ":memory:"
        try:
            self.db = sqlite3.connect(target, timeout=30, isolation_level=None)
            self._check_ours(target)   # before the journal mode is set: that alone rewrites the file's header
            self.db.execute("PRAGMA journal_mode=WAL" if self.path is not None else "PRAGMA journal_mode=MEMORY")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.OperationalError:
            raise   # cannot be opened for writing (read-only, full disk): the caller says what to do
        except sqlite3.DatabaseError as e:
            raise DeffeError(f"the run store is not a readable SQLite database ({e})", file=target,
                             hint="move the run directory aside, or run with -fresh") from None
        self._check_format(target)

    def _add_columns(self) -> None:
        """A store written before a column was added gets it (empty)."""
        have = {r[1] for r in self.db.execute("PRAGMA table_info(samples)")}
        if "measured" not in have:
            self.db.execute("ALTER TABLE samples ADD COLUMN measured TEXT")

    def _check_ours(self, shown: str) -> None:
        """A database with tables but none of a run store's is someone else's: a run must not add its tables
        to it (nor a dry run read it)."""
        names = sorted(r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'"))
        if names and "meta" not in names:
            self.db.close()
            raise DeffeError(f"not a run store of run_deffe.py but another SQLite database (its tables: "
                             f"{', '.join(names[:5])}{', ...' if len(names) > 5 else ''})", file=shown,
                             hint="move it aside, choose another framework.run_directory, or run with -fresh "
                                  "(the run directory is moved aside, nothing is deleted)")

    def _check_format(self, shown: str) -> None:
        fmt = self.get_meta("format")
        if fmt is None:
            self.set_meta("format", str(FORMAT))
        elif int(fmt) != FORMAT:
            raise DeffeError(f"run store format {fmt} is not the supported format {FORMAT}", file=shown,
                             hint="run with -fresh to start a new run (the old one is moved aside)")
        self._add_columns()

    @classmethod
    def snapshot(cls, path: Path) -> "RunStore":
        """An in-memory copy of the store at ``path`` (a dry run reads it and writes nothing to disk)."""
        store = cls(None)
        path = Path(path).absolute()
        # a store closed cleanly is one file, read without creating the -shm / -wal files a connection would;
        # one left by a killed run has its last transactions in the -wal file, which only a reader sees
        wal = path.with_name(path.name + "-wal").exists()
        try:
            src = sqlite3.connect(f"file:{path}?{'mode=ro' if wal else 'immutable=1'}", uri=True, timeout=30)
            try:
                src.backup(store.db)
            finally:
                src.close()
        except sqlite3.DatabaseError as e:
            raise DeffeError(f"the run store is not a readable SQLite database ({e})", file=str(path),
                             hint="move the run directory aside, or run with -fresh") from None
        store._check_ours(str(path))
        store._check_format(str(path))
        return store

    def close(self) -> None:
        self.db.close()

    # ---- meta
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                        (key, value))

    # ---- samples
    def _row(self, r) -> StoredSample:
        return StoredSample(r[0], r[1], r[2], json.loads(r[3]), _loads_costs(r[4]), r[5], r[6], r[7], r[8])

    _COLS = "id, key, explore, params, costs, status, error, origin, duration"

    def lookup(self, keys: Iterable[str]) -> dict[str, StoredSample]:
        keys = list(keys)
        out: dict[str, StoredSample] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            q = f"SELECT {self._COLS} FROM samples WHERE key IN ({','.join('?' * len(chunk))})"
            for r in self.db.execute(q, chunk):
                out[r[1]] = self._row(r)
        return out

    def start(self, key: str, explore: str, params: dict, step: int) -> int:
        """Reserve a row for a point about to be evaluated; returns its id (reused after a crash)."""
        now = time.time()
        with self.db:
            row = self.db.execute("SELECT id FROM samples WHERE key=?", (key,)).fetchone()
            if row:
                self.db.execute("UPDATE samples SET status='running', costs=NULL, error=NULL, measured=NULL, "
                                "started=?, finished=NULL, duration=NULL, step=? WHERE id=?", (now, step, row[0]))
                return row[0]
            cur = self.db.execute("INSERT INTO samples(id, key, explore, params, status, step, started) "
                                  f"VALUES({self._NEXT_ID}, ?, ?, ?, 'running', ?, ?)",
                                  (self._id_floor(), key, explore, _dumps(params), step, now))
            return cur.lastrowid

    def finish(self, sample_id: int, result: Result, measured: dict[str, float] | None = None) -> None:
        """Store a result; ``measured``: the costs of a measurement the valid ranges made failed."""
        with self.db:
            self.db.execute("UPDATE samples SET status=?, costs=?, error=?, finished=?, duration=?, origin=?, "
                            "measured=? WHERE id=?",
                            (result.status, _dumps(result.costs), result.error, time.time(), result.duration,
                             result.origin, None if measured is None else _dumps(measured), sample_id))

    def rejudge(self, judge) -> tuple[int, int]:
        """Judge the stored measurements again by the costs' valid ranges of now: ``judge(costs)`` says why
        they are no valid measurement, or None. A measurement now outside a range becomes failed (its costs
        kept aside in ``measured``), one failed only by a range it is now inside is ok again. Returns
        (now failed, ok again)."""
        failed, ok, still = [], [], []
        for sid, costs, status, measured in self.db.execute(
                "SELECT id, costs, status, measured FROM samples WHERE status='ok' OR "
                "(status='failed' AND measured IS NOT NULL)").fetchall():
            why = judge(_loads_costs(costs if status == "ok" else measured))
            if status == "ok" and why:
                failed.append((f"{why}: not a valid measurement", costs, sid))
            elif status != "ok" and not why:
                ok.append((measured, sid))
            elif status != "ok":   # still outside a range (perhaps another one)
                still.append((f"{why}: not a valid measurement", sid))
        with self.db:
            self.db.executemany("UPDATE samples SET status='failed', costs='{}', error=?, measured=? WHERE id=?",
                                failed)
            self.db.executemany("UPDATE samples SET status='ok', costs=?, error=NULL, measured=NULL WHERE id=?",
                                ok)
            self.db.executemany("UPDATE samples SET error=? WHERE id=?", still)
        return len(failed), len(ok)

    def add_evaluated_many(self, explore: str, rows: Iterable[tuple], chunk: int = 20_000) -> list[bool]:
        """Insert points evaluated elsewhere (pre-evaluated data), in one transaction and in batches; a row is
        ``(key, params, status, costs, error, origin, measured)``, ``params``, ``costs`` and ``measured`` as
        dicts or as their JSON text (`_dumps`). Per row, whether it entered the store (False: the point was
        held, or given by an earlier row). One transaction per row made a file of 200,000 rows take a minute."""
        added: list[bool] = []
        now = time.time()
        it = iter(rows)
        # a larger page cache while the rows go in (the key index grows at random places): a third faster
        cache = self.db.execute("PRAGMA cache_size").fetchone()[0]
        self.db.execute("PRAGMA cache_size=-65536")
        try:
            # an explicit transaction (committed, or rolled back, by `with self.db` in _insert_many): the
            # connection commits every statement by itself (isolation_level None), one commit per row
            self.db.execute("BEGIN IMMEDIATE")
            return self._insert_many(explore, it, chunk, now, added)
        finally:
            self.db.execute(f"PRAGMA cache_size={int(cache)}")

    def _insert_many(self, explore: str, it, chunk: int, now: float, added: list[bool]) -> list[bool]:
        def text(x):
            return x if x is None or isinstance(x, str) else _dumps(x)
        with self.db:
            next_id = max(self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM samples").fetchone()[0],
                          self._id_floor())
            while True:
                batch = [r for _, r in zip(range(chunk), it)]
                if not batch:
                    break
                held = set(self.lookup_keys([r[0] for r in batch]))
                values = []
                for key, params, status, costs, error, origin, measured in batch:
                    if key in held:
                        added.append(False)
                        continue
                    held.add(key)
                    added.append(True)
                    values.append((next_id, key, explore, text(params), text(costs), status, error, origin, now,
                                   text(measured)))
                    next_id += 1
                self.db.executemany(
                    "INSERT INTO samples(id, key, explore, params, costs, status, error, origin, step, finished, "
                    "measured) VALUES(?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)", values)
        return added

    def lookup_keys(self, keys: Iterable[str]) -> list[str]:
        """The keys of ``keys`` the store holds (without reading their rows)."""
        keys = list(keys)
        out: list[str] = []
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            out += [r[0] for r in self.db.execute(
                f"SELECT key FROM samples WHERE key IN ({','.join('?' * len(chunk))})", chunk)]
        return out

    def interrupted(self) -> int:
        """Samples left 'running' by a run that was killed."""
        return self.db.execute("SELECT COUNT(*) FROM samples WHERE status='running'").fetchone()[0]

    # A sample's id names its directory (explore_<id>) and its SLURM job in the record of jobs: an id is never
    # given twice, also after forget_interrupted removed the newest rows (SQLite would reuse the largest id)
    _NEXT_ID = "MAX((SELECT COALESCE(MAX(id), 0) + 1 FROM samples), ?)"

    def _id_floor(self) -> int:
        return int(self.get_meta("next_id") or 0)

    def forget_interrupted(self, before: float) -> int:
        """Remove the samples a killed run left 'running' (started before ``before``) that no exploration
        holds any more: the run that finished did not ask for them again (a smaller budget, another course),
        and they were never evaluated. Returns how many went."""
        with self.db:
            rows = [r[0] for r in self.db.execute(
                "SELECT id FROM samples WHERE status='running' AND COALESCE(started, 0) < ? "
                "AND id NOT IN (SELECT sample FROM membership)", (before,))]
            if not rows:
                return 0
            top = self.db.execute("SELECT MAX(id) FROM samples").fetchone()[0]
            self.set_meta("next_id", str(max(self._id_floor(), top + 1)))
            self.db.executemany("DELETE FROM samples WHERE id=?", [(i,) for i in rows])
        return len(rows)

    # ---- membership
    def link(self, explore: str, sample_ids: Iterable[int], step: int) -> None:
        with self.db:
            seq = self.db.execute("SELECT COALESCE(MAX(seq), -1) FROM membership WHERE explore=?",
                                  (explore,)).fetchone()[0]
            for sid in sample_ids:
                exists = self.db.execute("SELECT 1 FROM membership WHERE explore=? AND sample=?",
                                         (explore, sid)).fetchone()
                if not exists:
                    seq += 1
                    self.db.execute("INSERT INTO membership(explore, sample, step, seq) VALUES(?, ?, ?, ?)",
                                    (explore, sid, step, seq))

    def keep_members(self, explore: str, sample_ids: Iterable[int]) -> int:
        """Make the exploration's samples exactly ``sample_ids`` (what a finished run was told), renumbered
        in that order; the samples themselves stay in the store. Returns how many left the exploration."""
        ids = list(dict.fromkeys(sample_ids))
        with self.db:
            old = dict(self.db.execute("SELECT sample, step FROM membership WHERE explore=? ORDER BY seq",
                                       (explore,)))
            if list(old) == ids:
                return 0
            self.db.execute("DELETE FROM membership WHERE explore=?", (explore,))
            self.db.executemany("INSERT INTO membership(explore, sample, step, seq) VALUES(?, ?, ?, ?)",
                                [(explore, sid, old.get(sid, 0), seq) for seq, sid in enumerate(ids)])
        return len(set(old) - set(ids))

    def _sample_version(self) -> tuple | None:
        """What changes whenever a sample or a membership changes: a counter this connection's writes bump (by
        temporary triggers, which see every statement, wherever it is made) and SQLite's data_version (another
        connection's commits). None where the triggers cannot be made: nothing is then reused."""
        if not self.__dict__.get("_versioned"):
            try:
                self.db.execute("CREATE TEMP TABLE IF NOT EXISTS sample_version(n INTEGER)")
                if self.db.execute("SELECT COUNT(*) FROM temp.sample_version").fetchone()[0] == 0:
                    self.db.execute("INSERT INTO temp.sample_version VALUES(0)")
                for table in ("samples", "membership"):
                    for event in ("INSERT", "UPDATE", "DELETE"):
                        self.db.execute(f"CREATE TEMP TRIGGER IF NOT EXISTS bump_{table}_{event.lower()} AFTER "
                                        f"{event} ON main.{table} BEGIN UPDATE sample_version SET n = n + 1; END")
            except sqlite3.Error:
                return None
            self._versioned = True
        return (self.db.execute("SELECT n FROM temp.sample_version").fetchone()[0],
                self.db.execute("PRAGMA data_version").fetchone()[0])

    def explore_samples(self, explore: str, include_running: bool = False) -> list[tuple[int, StoredSample]]:
        """The samples an exploration asked for, in the order it asked: (step, sample)."""
        # nothing changed since the last read (the step's tables read what its progress record just read):
        # that read again, without a query over every member
        version = self._sample_version()
        last = self.__dict__.setdefault("_last_read", {}).get(explore)
        rows = last[1] if version is not None and last is not None and last[0] == version else \
            self._read_members(explore, version)
        return list(rows) if include_running else [(st, s) for st, s in rows if s.status != "running"]

    def _read_members(self, explore: str, version: tuple | None) -> list[tuple[int, StoredSample]]:
        q = (f"SELECT m.step, {', '.join('s.' + c.strip() for c in self._COLS.split(','))} "
             "FROM membership m JOIN samples s ON s.id = m.sample WHERE m.explore=? ORDER BY m.seq")
        # a row read before, unchanged, is not decoded again: the samples of the last read are kept, by their
        # row (each step's tables read every member: 4000 samples spent 86 of 133 s there, mostly decoding).
        # So the samples returned are shared between calls: read them, do not change them.
        memos = self.__dict__.setdefault("_decoded", {})
        before = memos.get(explore, {})
        now: dict[tuple, StoredSample] = {}
        rows = []
        for r in self.db.execute(q, (explore,)):
            raw = r[1:]
            s = before.get(raw)
            if s is None:
                s = self._row(raw)
            now[raw] = s
            rows.append((r[0], s))
        memos[explore] = now
        self._last_read[explore] = (version, rows)
        return rows

    def count(self, explore: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM membership m JOIN samples s ON s.id=m.sample "
                               "WHERE m.explore=? AND s.status != 'running'", (explore,)).fetchone()[0]

    # ---- predictions
    def add_predictions(self, explore: str, keys: list[str], params: list[dict], mean, std, step: int) -> None:
        now = time.time()
        with self.db:
            for i, (k, p) in enumerate(zip(keys, params)):
                self.db.execute(
                    # a point predicted again is listed where it was predicted last (a new row)
                    "INSERT OR REPLACE INTO predictions(explore, key, params, mean, std, step, created) "
                    "VALUES(?,?,?,?,?,?,?)",
                    (explore, k, _dumps(p), _dumps(list(map(float, mean[i]))),
                     None if std is None else _dumps(list(map(float, std[i]))), step, now))

    def keep_predictions(self, explore: str, keys: set[str], from_step: int = 0) -> int:
        """Keep of the exploration's predictions stored at ``from_step`` or later only those of ``keys`` (what
        the run that finished predicted: an earlier course's model's go). Returns how many went."""
        with self.db:
            rows = [k for (k,) in self.db.execute("SELECT key FROM predictions WHERE explore=? AND "
                                                   "COALESCE(step, 0) >= ?", (explore, from_step))
                    if k not in keys]
            self.db.executemany("DELETE FROM predictions WHERE explore=? AND key=?", [(explore, k) for k in rows])
        return len(rows)

    def prediction_steps(self, explore: str) -> dict[str, int]:
        """The step at which each point the exploration's model predicted was stored, by key."""
        return dict(self.db.execute("SELECT key, step FROM predictions WHERE explore=?", (explore,)))

    def predictions(self, explore: str) -> list[tuple[str, dict, list[float], list[float] | None]]:
        """(key, params, predicted costs, their std or None) of the points the exploration's model predicted."""
        rows = self.db.execute("SELECT key, params, mean, std FROM predictions WHERE explore=? "
                               "ORDER BY created, rowid", (explore,))
        return [(k, json.loads(p), [float(x) for x in json.loads(m)], None if s is None else
                 [float(x) for x in json.loads(s)]) for k, p, m, s in rows]

    # ---- steps
    def record_step(self, explore: str, step: int, info: dict) -> None:
        """Merge ``info`` into the record of a step (model statistics, best, hypervolume, ...)."""
        with self.db:
            row = self.db.execute("SELECT info FROM steps WHERE explore=? AND step=?", (explore, step)).fetchone()
            merged = dict(json.loads(row[0])) if row else {}
            merged.update(info)
            self.db.execute("INSERT INTO steps(explore, step, info) VALUES(?,?,?) ON CONFLICT(explore, step) "
                            "DO UPDATE SET info=excluded.info", (explore, step, _dumps(merged)))

    def forget_steps_from(self, explore: str, step: int) -> int:
        """Remove the step records of an exploration from ``step`` on: a run that finished after fewer steps
        than an earlier one (a smaller budget) leaves no record of the earlier run's later steps, whose best
        and hypervolume the reports would plot as its own. Returns how many went."""
        with self.db:
            return self.db.execute("DELETE FROM steps WHERE explore=? AND step>=?", (explore, step)).rowcount

    def steps(self, explore: str) -> list[tuple[int, dict]]:
        return [(s, json.loads(i)) for s, i in
                self.db.execute("SELECT step, info FROM steps WHERE explore=? ORDER BY step", (explore,))]


# files of a run directory that are not results: a store alone with these holds nothing to lose
_NOT_RESULTS = {DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", "deffe.lock", "deffe.log"}


# the file every run writes beside its store with its tables (run_data.py): a run's files are there (not the
# tables of the original Deffe, say, in a directory a first run is given)
_MANIFEST = "deffe_run.json"
_RUN_TABLES = ("deffe_evaluation.csv", "deffe_exploration.csv", "deffe_prediction.csv", "model_metrics.csv")


def run_files(run_dir: Path) -> list[str]:
    """The files of a run of ours in ``run_dir`` (its manifest, then its tables); none when there is none."""
    try:
        names = [p.name for p in Path(run_dir).iterdir()]
    except OSError:
        return []
    if _MANIFEST not in names:
        return []
    return sorted(n for n in names if n.endswith(_RUN_TABLES)) + [_MANIFEST]


def check_store_file(path: Path) -> str | None:
    """What is wrong with the file at a run store's place before it is opened: a directory is an error; an
    empty file (a store cut short, e.g. by a full disk, or made by a run killed as it began) is started anew
    with a warning (returned) when the run directory holds nothing else of a run, and is an error when it
    does (its tables still hold the results a new run would write over); no store at all beside a run's
    tables (deleted, or not copied with them) is that error too."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        found = run_files(path.parent)
        if found:
            raise DeffeError(f"the run store is missing, but the run directory holds a run's files "
                             f"({', '.join(found[:3])}{', ...' if len(found) > 3 else ''}) and a new run would "
                             "write over them", file=str(path),
                             hint=f"restore {path.name} if you have a copy (with its -wal file), or run with "
                                  "-fresh to start over (the run directory is moved aside, tables included)")
        return None
    if path.is_dir():
        raise DeffeError(f"{path.name} is a directory, not a run store", file=str(path.parent),
                         hint=f"move {path.name} away (or run with -fresh: the run directory is moved aside)")
    try:
        empty = path.is_file() and path.stat().st_size == 0
    except OSError:
        return None
    if not empty:
        return None
    others = sorted(p.name for p in path.parent.iterdir() if p.name not in _NOT_RESULTS)
    if others:
        raise DeffeError("the run store is empty (0 bytes: cut short, e.g. by a full disk); the results it held "
                         f"are lost, but the run directory's other files ({', '.join(others[:3])}"
                         f"{', ...' if len(others) > 3 else ''}) still hold them and a new run would write over "
                         "them", file=str(path),
                         hint="run with -fresh to start over (the old run directory is moved aside, tables "
                              "included), or move the run directory aside yourself")
    return f"{path}: the run store was empty (0 bytes) and held nothing else: the run starts anew"


def move_aside(run_dir: Path) -> Path | None:
    """``-fresh``: move an existing run directory to ``<dir>.1``, ``<dir>.2``, ... (never delete)."""
    if not run_dir.exists():
        return None
    n = 1
    while True:
        target = run_dir.with_name(f"{run_dir.name}.{n}")
        if not target.exists():
            os.replace(run_dir, target)
            return target
        n += 1
