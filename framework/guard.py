"""What keeps a run directory trustworthy: one driver at a time, and stored results only reused for the
same question.

* `RunLock`: a run holds an exclusive lock on ``<run_directory>/deffe.lock``
  while it writes; a second driver started on the same directory stops with
  one line saying which one holds it (a lock of the operating system: a driver
  killed with kill -9 releases it, nothing stale is left behind; the evaluation
  workers it forked close their copies, so one still finishing a point does
  not hold it).
* `fingerprints`: what the stored costs depend on: the cost names, the whole
  evaluate and extract sections (the simulator's settings included), and what
  the evaluate and extract plugins say they read (`Fingerprint()`: the text of
  scripts, the source of a Python evaluator, the network and device files of
  the simulator), and the source of a user's evaluate or extract plugin module
  (its file, or a package's files; a built-in is the framework's version). A
  stored run made with other ones is not resumed.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from .contract import Broken, _plain
from .errors import DeffeError
from .store import DB_NAME, RunStore, move_aside

LOCK_NAME = "deffe.lock"
# keys of the evaluate and extract sections that do not change a cost
NOT_COSTS = {"evaluate": {"timeout", "keep_directories", "output_log", "retries", "pyscript", "arguments",
                          "batch_size", "slurm"},
             "extract": {"output_log", "pyscript", "arguments", "batch_size", "slurm", "hold_evaluated_data"}}


_HELD: list["RunLock"] = []   # locks this process holds: a forked child lets go of its copies


def _forget_locks_in_child() -> None:
    """In a forked child (an evaluation worker): close the inherited copies of the lock files. An flock lock
    lasts while any descriptor of it is open, so a worker still finishing its point after the driver was
    killed would otherwise keep the run directory locked, and the driver restarted at once would be refused.
    Closing a copy never releases the parent's lock."""
    for lock in _HELD:
        fh, lock.fh = lock.fh, None
        if fh is not None:
            try:
                fh.close()
            except OSError:
                pass
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_locks_in_child)


class RunLock:
    """An exclusive lock on a run directory for the life of a run."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_NAME
        self.fh = None

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another run_deffe"
            fh.close()
            raise DeffeError(f"{holder} is running in this run directory", file=str(self.path.parent),
                             hint="wait for it to finish, or give this run another framework.run_directory") \
                from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"run_deffe (pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        fh.flush()
        self.fh = fh
        _HELD.append(self)
        return self

    def release(self) -> None:
        if self in _HELD:
            _HELD.remove(self)
        if self.fh is not None:
            fcntl.flock(self.fh, fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None


def file_digests(paths: Any) -> list[list[str]]:
    """[file name, digest of its bytes] of the files a plugin's results depend on (for its Fingerprint()): by
    name and content, not by where they are, so that a project moved or copied with its run resumes."""
    out = []
    for p in paths:
        p = Path(p)
        try:
            out.append([p.name, hashlib.sha256(p.read_bytes()).hexdigest()[:16]])
        except OSError:
            out.append([p.name, "unreadable"])
    return sorted(out)


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def fingerprints(config: Any, plugins: dict[str, Any] | None = None) -> dict[str, str]:
    """The fingerprint of each part the stored results depend on: costs, evaluate, extract."""
    out = Parts(costs=_digest(config.cost_names))
    for section in ("evaluate", "extract"):
        settings = {k: v for k, v in config.section(section).items() if k not in NOT_COSTS[section]}
        plugin = (plugins or {}).get(section)
        said = _fingerprint(plugin, section, config)
        out[section] = _digest({"settings": settings, "plugin": said})
        source = _user_source(config, section)
        if source:   # a part of its own: a run stored before it was recorded resumes, and records it
            out[f"{section}{SOURCE}"] = _digest(source)
            out.shown[section] = f"'{config.section(section).get('plugin')}': " + ", ".join(f for f, _ in source)
    return out


class Parts(dict):
    """The fingerprints by part; ``shown``: what the errors say of a user's plugin module (its files)."""

    def __init__(self, **parts: str):
        super().__init__(**parts)
        self.shown: dict[str, str] = {}


SOURCE = " plugin source"   # the part of a user's evaluate or extract plugin module's source


def _user_source(config: Any, section: str) -> list[list[str]]:
    """[file, digest] of the user's module an evaluate or extract plugin name leads to (a package: each of its
    files, by their names inside it); nothing for a built-in, which the framework's version covers."""
    from .plugins import named_by_config, user_source
    name = config.section(section).get("plugin")
    try:
        files = user_source(section, name, config.dir, config.python_paths(), named_by_config(config, section, name))
    except (OSError, TypeError, ValueError):
        return []
    if not files:
        return []
    top = files[0].parent if len(files) == 1 else Path(os.path.commonpath([str(f) for f in files]))
    out = []
    for f in files:
        try:
            out.append([f.relative_to(top).as_posix(), hashlib.sha256(f.read_bytes()).hexdigest()[:16]])
        except OSError:
            out.append([f.relative_to(top).as_posix(), "unreadable"])
    return out


FINGERPRINT_HINT = ("Fingerprint() returns what the costs depend on besides the config (e.g. "
                    "framework.guard.file_digests(paths))")


def _fingerprint(plugin: Any, section: str, config: Any) -> Any:
    """What the plugin's optional Fingerprint() says; its crash, or an answer that is not plain JSON (a set's
    text differs between processes, as Python randomises string hashing: the run could never be resumed), is
    one line naming it."""
    name = config.section(section).get("plugin")
    try:
        method = getattr(plugin, "Fingerprint", None)   # optional; a proxy's __getattr__ may raise: named below
        if not callable(method):
            return None
        said = method()
    except DeffeError:
        raise
    except (Exception, SystemExit) as e:
        raise DeffeError(f"{section} plugin '{name}' failed in Fingerprint(): "
                         f"{type(e).__name__}: {e}", file=_file_of(config, f"{section}.plugin"),
                         where=f"{section}.plugin", hint=f"{FINGERPRINT_HINT}; fix it or remove it") from e
    try:   # numpy numbers (arr.sum(), shape[0]) as Python's, whose text is the same in every run; keys as given
        said = _plain(said, "Fingerprint()", text_keys=False)
    except Broken:   # it contains itself
        raise DeffeError(f"{section} plugin '{name}': Fingerprint() returned a value that contains itself",
                         file=_file_of(config, f"{section}.plugin"), where=f"{section}.plugin",
                         hint=f"{FINGERPRINT_HINT}: plain JSON only") from None
    odd = _not_plain_json(said, "")
    if odd is not None:
        at, kind = odd
        raise DeffeError(f"{section} plugin '{name}': Fingerprint() returned a {kind}{' at ' + at if at else ''}, "
                         "whose text is not the same in every run (a stored run could not be resumed)",
                         file=_file_of(config, f"{section}.plugin"), where=f"{section}.plugin",
                         hint=f"{FINGERPRINT_HINT}: plain JSON only (str, number, bool, None, list, dict with "
                              "str keys); a set: sorted(...)")
    return said


def _not_plain_json(value: Any, at: str) -> tuple[str, str] | None:
    """Where (and what type) the first value that is not plain JSON is in a Fingerprint() answer."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return None
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            odd = _not_plain_json(v, f"{at}[{i}]")
            if odd is not None:
                return odd
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{at}[{k!r}]", f"key of type {type(k).__name__}"
            odd = _not_plain_json(v, f"{at}[{k!r}]")
            if odd is not None:
                return odd
        return None
    return at, type(value).__name__


def _file_of(config: Any, where: str) -> str | None:
    """The file that wrote a key (an included file's name for a key it wrote)."""
    return config.file_of(where) if callable(getattr(config, "file_of", None)) else config.data.get("__origin__")


def check_fingerprints(store: RunStore, parts: dict[str, str], run_dir: Path, keep: bool = False) -> None:
    """Record the fingerprints of a new run; stop when a stored run's differ (``keep``, -keep-results: the user
    says its results still hold, e.g. after fixing a bug that only made samples fail; then say so and go on)."""
    changed = []
    for part, fp in parts.items():
        old = store.get_meta(f"fingerprint:{part}")
        if old is None or (old != fp and keep):
            store.set_meta(f"fingerprint:{part}", fp)
        if old is not None and old != fp:
            changed.append(part)
    sources = [p[:-len(SOURCE)] for p in changed if p.endswith(SOURCE)]
    settings = [p for p in changed if not p.endswith(SOURCE)]
    shown = getattr(parts, "shown", {})
    source = f"source of the {' and '.join(sources)} plugin module " \
             f"({'; '.join(shown[s] for s in sources if s in shown)})"
    if changed and keep:
        said = ([f"the {' and '.join(settings)} settings (or what they read)"] if settings else []) + \
            ([f"the {source}"] if sources else [])
        print(f"warning: {' and '.join(said)} changed since the stored run; "
              "its results are kept, as -keep-results says", file=sys.stderr)
    elif changed:
        said = ([f"different {' and '.join(settings)} settings (or "
                 f"{'scripts, files' if 'costs' not in settings else 'costs'} they read)"] if settings else []) + \
            ([f"another {source}"] if sources else [])
        raise DeffeError(f"the stored run was made with {' and '.join(said)}", file=str(run_dir / DB_NAME),
                         hint="run with -fresh to start over (the old run is moved aside), or -keep-results if "
                              "the stored results still hold (a fix that only made failures work: with "
                              "-retry-failed); or restore the config" + (" and the plugin's source" if sources
                                                                           else ""))


def stored_run_fits(store: RunStore, config: Any, parts: dict[str, str], run_dir: Path, dry: bool,
                    keep: bool = False, reads: Any = ()) -> bool:
    """Whether the stored run was made with these costs and evaluate/extract settings (then it is resumed).

    If not, a config of ours stops with the error that says so. A config written for the original Deffe
    starts anew, as Deffe always did (its test/run_deffe.sh runs three configs with two evaluate scripts in
    one run directory): the stored run is moved aside, nothing is deleted; not when the run directory holds the
    working directory or one of ``reads``, the files the run reads (`outputs.check_move`): then an error."""
    try:
        check_fingerprints(store, parts, run_dir, keep)
        return True
    except DeffeError as e:
        if not config.deffe_keys:
            raise
        from .outputs import check_move
        try:
            check_move(run_dir, reads, why="starting anew")
        except DeffeError as refused:
            raise DeffeError(f"{e.what}, and {refused.what}", file=e.file, hint=refused.hint) from None
        if dry:
            print(f"warning: {e.what}: this run would start anew, as Deffe's runs did (the stored run moved "
                  "aside)", file=sys.stderr)
            return False
        store.close()
        moved = move_aside(run_dir)
        print(f"warning: {e.what}: this run starts anew, as Deffe's runs did; the stored run is kept in {moved}",
              file=sys.stderr)
        return False
