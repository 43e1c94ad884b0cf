"""What a run writes is never what it reads, and what -fresh moves aside never holds what the run needs.

One check, made before anything is written or moved: the files the command
reads (`Inputs`: the config and the files it includes, the files the evaluation reads
(`_evaluator_files`: any the evaluate, extract and slurm settings or the knob and
scenario values name), -input, -icp,
-pre-evaluated-data and the explorations' pre_evaluated_data, the checkpoints of
-model-extract-dir, the run store) against the files it writes (-output,
-model-stats-output, ...). An output that is one of the inputs (the same file
under any name: `same_file`) is one error line, ``-output: in.csv is the -input
file; it would be overwritten; name another file``; so is an output that cannot
be written (a directory, a place no file can be made). The original Deffe's
tables, written to the current directory, are skipped with a warning when one
of them would replace an input (`skip_deffe_tables`).

`check_run_writes` refuses a file the run reads that is one the run writes into
its run directory (`run_writes`: every explore entry's tables, prefixed or not,
model_metrics.csv, its checkpoints/<entry>.ckpt, deffe_run.json, the log): a
previous run's deffe_evaluation.csv given as -pre-evaluated-data would be
replaced by the new run's table, its checkpoint given with -icp by the new
run's model.

`check_move` refuses to move a run directory aside (-fresh, or the stored run of
a Deffe config made with other settings) when it holds the working directory or
an input of the run: the config, the data, the checkpoint would be moved away
with it.
"""
from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .atomic import special
from .errors import DeffeError


@dataclass
class Item:
    """A file the command reads or writes: how the user knows it (``label``), as given (``shown``), where."""

    label: str
    shown: str
    path: Path
    flag: str | None = None   # the flag or config key that names it
    file: str | None = None   # the config file that wrote that key (a config key's error names it)


def _real(path: Path) -> Path:
    try:
        return Path(os.path.realpath(Path(path).expanduser()))
    except (OSError, ValueError):
        return Path(path).expanduser().absolute()


def same_file(a: Path, b: Path) -> bool:
    """Whether two names are one file (links and ``a/../`` included), existing or not."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return _real(a) == _real(b)


def inside(path: Path, directory: Path) -> bool:
    """Whether ``path`` is ``directory`` or lies under it."""
    p, d = _real(path), _real(directory)
    return p == d or d in p.parents


# ----------------------------------------------------------------------------- what is read
def config_files(config: Any) -> list[str]:
    """The config file and every file it includes (each key remembers the file that wrote it)."""
    from .config.loader import KEYS, ORIGIN
    found: dict[str, None] = {}

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            if isinstance(x.get(ORIGIN), str):
                found[x[ORIGIN]] = None
            for f in (x.get(KEYS) or {}).values() if isinstance(x.get(KEYS), dict) else ():
                if isinstance(f, str):
                    found[f] = None
            for k, v in x.items():
                if k not in (ORIGIN, KEYS):
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(getattr(config, "data", None))
    return [f for f in found if f and os.path.isfile(f)]


def inputs(config: Any, args: Any, run_dir: Path | None) -> list[Item]:
    """Every file the command reads that a mistake on the command line could overwrite."""
    out: list[Item] = []
    if config is not None:
        files = config_files(config)
        top = config.data.get("__origin__") if isinstance(getattr(config, "data", None), dict) else None
        for f in files:
            out.append(Item("the config file" if f == top else "a file the config includes", f, Path(f)))
        for e in config.explores:
            if e.pre_evaluated_data:
                out.append(Item(f"the pre_evaluated_data of exploration '{e.name}'", e.pre_evaluated_data,
                                Path(e.pre_evaluated_data), f"{e.where}.pre_evaluated_data",
                                _file_of(config, f"{e.where}.pre_evaluated_data")))
        out += _evaluator_files(config)
        # the plugins' folders: -fresh moving one aside with the old run left "plugin not found" behind
        for i, (entry, folder) in enumerate(zip(config.data.get("python_path") or [], _python_paths(config))):
            out.append(Item("a python_path folder", str(entry), folder, f"python_path[{i}]"))
        icp = config.section("model").get("initial_checkpoint")
        if isinstance(icp, str) and icp and not getattr(args, "inference_only", False):
            out.append(Item("the model.initial_checkpoint file", icp, config.resolve(icp), "model.initial_checkpoint",
                            _file_of(config, "model.initial_checkpoint")))
    given = getattr(args, "pre_evaluated_data", None)
    if given:
        out.append(Item("the -pre-evaluated-data file", given, Path(given), "-pre-evaluated-data"))
    if getattr(args, "inference_only", False) and getattr(args, "input", None):
        out.append(Item("the -input file", args.input, Path(args.input), "-input"))
    icp = getattr(args, "icp", None)
    for f in ([icp] if isinstance(icp, str) else list(icp or [])):
        out.append(Item("the -icp checkpoint", f, Path(f), "-icp"))
    extract = getattr(args, "model_extract_dir", None)
    if extract and os.path.isdir(extract):
        for f in sorted(Path(extract).glob("*.ckpt")):
            out.append(Item("a checkpoint of -model-extract-dir", str(f), f, "-model-extract-dir"))
    if run_dir is not None:
        from .store import DB_NAME
        db = Path(run_dir) / DB_NAME
        out.append(Item("the run store", _shown(db), db))
        for suffix in ("-wal", "-shm"):
            out.append(Item("a file of the run store", _shown(db) + suffix, Path(str(db) + suffix)))
    return out


def _evaluator_files(config: Any) -> list[Item]:
    """The files the evaluation reads that the config names: every text of the evaluate, extract and slurm
    sections, nested in lists and objects too (scripts, source_scripts, a Python evaluator's module, a network
    or device-graph JSON file), and every knob or scenario value that names a file (Deffe's command_file and
    command_option scripts, input files). A text names a file when one is there, as given (from the current
    directory, $VARIABLES expanded) or next to the config: the user's project, which no output may replace."""
    out: list[Item] = []
    seen: set[Path] = set()

    def add(label: str, candidates: list, where: str, file: str | None, shown: str | None = None) -> None:
        for c in candidates:
            try:
                if c is not None and c.is_file():
                    real = _real(c)
                    if real not in seen:
                        seen.add(real)
                        out.append(Item(label, shown or str(c), c, where, file))
                    return
            except (OSError, ValueError):
                continue

    def named(value: str) -> list:
        expanded = os.path.expandvars(value)
        return [config.resolve(value), Path(value), Path(expanded).expanduser(), config.dir / expanded]

    def modules(value: str) -> list:   # "module:function" or a plugin's module: its file on the python_path
        module = value.split(":", 1)[0].replace(".", "/")
        return [Path(d) / f"{module}.py" for d in _python_paths(config)] + [config.dir / f"{module}.py"]

    def walk(section: str, where: str, value: Any, depth: int = 0) -> None:
        if depth > 4:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and not k.startswith("__"):
                    walk(section, f"{where}.{k}", v, depth + 1)
        elif isinstance(value, (list, tuple)):
            for v in value[:1000]:
                walk(section, where, v, depth + 1)
        elif isinstance(value, str) and value.strip() and len(value) <= 4096:
            key = where.rsplit(".", 1)[-1]
            candidates = named(value)
            if key in ("function", "plugin") and "/" not in value:
                candidates = (modules(value) if ":" in value or key == "plugin" else []) + candidates
            add(f"the file of {where}", candidates, where, _file_of(config, where))

    for section in ("evaluate", "extract", "slurm"):
        try:
            settings = config.section(section)
        except (KeyError, TypeError):
            continue
        if isinstance(settings, dict):
            walk(section, section, settings)
    # the knobs' and scenarios' values that name files (read by the evaluation: a command script, an input)
    knobs: dict[str, Any] = {}
    for e in getattr(config, "explores", None) or []:
        for knob in getattr(getattr(e, "space", None), "knobs", None) or []:
            knobs.setdefault(knob.name, knob)
    for knob in knobs.values():
        values = getattr(knob.levels, "values", None)
        if not isinstance(values, (list, tuple)):
            continue
        what = "scenario" if knob.scenario else "knob"
        for v in [v for v in values if isinstance(v, str)][:1000]:
            if v.strip() and len(v) <= 4096:
                add(f"a file the {what} '{knob.name}' names", named(v), "scenarios" if knob.scenario else "knobs",
                    _file_of(config, "scenarios" if knob.scenario else "knobs"), v)
    return out


def _file_of(config: Any, where: str) -> str | None:
    try:
        return config.file_of(where)
    except (AttributeError, KeyError, TypeError):
        return None


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


# ----------------------------------------------------------------------------- what is written
def check_outputs(reads: Iterable[Item], writes: Iterable[Item], probe: bool = True) -> None:
    """An output that is an input, another output, or a place that cannot be written: one error line.
    ``probe``: make (and remove at once) a file next to each output to learn whether one can be made there
    (a dry run, which writes nothing, only asks the system)."""
    reads, writes = list(reads), list(writes)
    for i, out in enumerate(writes):
        for src in reads:
            if same_file(out.path, src.path):
                raise DeffeError(f"{out.shown} is {src.label}{_also(src)}; it would be overwritten",
                                 where=out.flag, hint="name another file")
        for other in writes[:i]:
            if same_file(out.path, other.path):
                raise DeffeError(f"{out.shown} is also {other.label}; one would overwrite the other",
                                 where=out.flag, hint="name another file")
        writable(out, probe)


def _also(src: Item) -> str:
    return f" ({src.shown})" if src.shown and src.label.startswith(("a file", "a checkpoint")) else ""


def writable(out: Item, probe: bool = True) -> None:
    """Whether a file can be written at ``out.path`` (its directories are made when missing)."""
    p = Path(out.path).expanduser()
    if p.is_dir():
        raise DeffeError(f"{out.shown} is a directory", where=out.flag, hint="name a file (e.g. in that directory)")
    if special(p):   # a pipe, a terminal, a device: written in place (atomic.py), no file is made beside it
        if not os.access(p, os.W_OK):
            raise DeffeError(f"{out.shown} cannot be written", where=out.flag, hint="name another file")
        return
    if p.is_symlink():   # its target is replaced, by a file made beside the target
        p = _real(p)
    parent = p.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise DeffeError(f"{out.shown} cannot be written: {parent} is not a directory", where=out.flag,
                         hint="name another file")
    if p.exists() and stat.S_ISREG(p.stat().st_mode) and not os.access(p, os.W_OK):
        raise DeffeError(f"{out.shown} cannot be written (the file is read-only)", where=out.flag,
                         hint="name another file, or make it writable")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DeffeError(f"{out.shown} cannot be written: no file can be made in {parent}", where=out.flag,
                         hint="name a file in a directory you can write")
    if probe:
        try:
            fd, tmp = tempfile.mkstemp(prefix=".deffe-probe-", dir=parent)
        except OSError as e:
            raise DeffeError(f"{out.shown} cannot be written: no file can be made in {parent} "
                             f"({e.strerror or e})", where=out.flag,
                             hint="name a file in a directory you can write") from None
        os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass


# ----------------------------------------------------------------------------- the run directory's own files
def check_run_files(config: Any, run_dir: Path, writes: Iterable[Item]) -> None:
    """An output that is one of the files a run of ``config`` keeps in ``run_dir`` (its manifest, tables, lock,
    log, reports, checkpoints, model metrics, samples' directories; by name, as the run writes them, wherever
    the output's name leads): one error line. -output run/deffe_run.json replaced the manifest, and the run
    could no longer be reported on or loaded."""
    import fnmatch
    from .config.table_names import ENTRY_FILES, RUN_FILES, SAMPLE_DIR
    run_dir = Path(run_dir)
    names = list(RUN_FILES)   # patterns of the first name under the run directory
    for e in config.explores:
        names += [(f"{e.name}-" if len(config.explores) > 1 else "") + n for n in ENTRY_FILES]
    exact = [_real(w.path) for w in run_writes(config, run_dir)]   # tables (anywhere), the manifest, the log
    root = _real(run_dir)
    for out in writes:
        p = _real(out.path)
        first = p.relative_to(root).parts[0] if root in p.parents else None
        if p in exact or first is not None and (SAMPLE_DIR.fullmatch(first) is not None or
                                                any(fnmatch.fnmatchcase(first, n) for n in names)):
            raise DeffeError(f"{out.shown} is a file of the run in {_shown(run_dir)}; it would be overwritten",
                             where=out.flag, hint="name a file the run does not keep (e.g. outside its directory)")


def check_extra_outputs(config: Any, run_dir: Path, reads: Iterable[Item], writes: Iterable[Item],
                        probe: bool = True) -> None:
    """The files a command writes besides the run's own (-output, -model-stats-output, a plot): none is an
    input, another of them, a place that cannot be written (check_outputs) or a file the run keeps
    (check_run_files)."""
    writes = list(writes)
    check_outputs(reads, writes, probe)
    check_run_files(config, run_dir, writes)


def run_writes(config: Any, run_dir: Path) -> list[Item]:
    """The files a run writes into its run directory: every explore entry's tables (prefixed by its name when
    there are several), its model_metrics.csv and knob_importance.txt, its checkpoint (unless model.checkpoints is
    false or there is no model.plugin), deffe_run.json and the run log."""
    from .run_data import MANIFEST
    from .tables import table_path
    run_dir = Path(run_dir)
    several = len(config.explores) > 1
    out: list[Item] = []
    for e in config.explores:
        prefix = f"{e.name}-" if several else ""
        out += [Item("a table this run writes", e.tables[kind], table_path(run_dir, e, kind, several),
                     f"{e.where}.{TABLE_KEYS.get(kind, kind)}", e.file) for kind in e.tables]
        out += [Item("a table this run writes", _shown(p), p)
                for p in (run_dir / f"{prefix}model_metrics.csv", run_dir / f"{prefix}knob_importance.txt")]
    out.append(Item("a file this run writes", _shown(run_dir / MANIFEST), run_dir / MANIFEST))
    model = config.section("model")
    if model.get("plugin") and model.get("checkpoints", True) is not False:
        # each entry's model is saved to checkpoints/<entry>.ckpt (training.py) after every step: an -icp
        # checkpoint there, the one a previous run saved, was replaced by the new run's without a word
        for e in config.explores:
            ckpt = run_dir / "checkpoints" / f"{e.name}.ckpt"
            out.append(Item("the checkpoint this run saves", _shown(ckpt), ckpt))
    log = config.section("framework").get("output_log")
    if isinstance(log, str) and log:
        out.append(Item("the run's log", log, run_dir / log, "framework.output_log",
                        config.file_of("framework.output_log")))
    return out


# the key of an explore entry that names each of its tables (Explore.tables' kinds)
TABLE_KEYS = {"evaluation": "evaluation_table", "prediction": "ml_predict_table", "output": "output_table",
              "exploration": "exploration_table"}


def check_run_writes(reads: Iterable[Item], writes: Iterable[Item]) -> None:
    """A file the run reads (its pre-evaluated data, above all: a previous run's deffe_evaluation.csv) that is
    one the run writes into its run directory would be replaced by the run's own table: one error line."""
    writes = list(writes)
    for src in reads:
        if not os.path.exists(src.path):
            continue
        out = next((w for w in writes if same_file(w.path, src.path)), None)
        if out is None:
            continue
        data = (src.flag or "").endswith(("pre_evaluated_data", "-pre-evaluated-data"))
        if src.flag in ("-icp", "model.initial_checkpoint"):   # the model to start from, saved over by the run's
            raise DeffeError(f"{src.shown} ({src.label}) is {out.label} into its run directory; the run would "
                             "overwrite it", file=src.file, where=src.flag,
                             hint=f"copy it out of the run directory first (cp {src.shown} start.ckpt) and give "
                                  "the copy, or give the run another run directory (framework.run_directory)")
        if out.flag and not data:   # a table or log named like the user's evaluator or config: that name is wrong
            raise DeffeError(f"{out.shown} would overwrite {_real(src.path)}, {src.label}", file=out.file,
                             where=out.flag, hint=f"name another {'log' if 'output_log' in out.flag else 'table'}")
        # data a previous run wrote there (its deffe_evaluation.csv): the data is right, its place is not
        raise DeffeError(f"{src.shown} ({src.label}) is {out.label} into its run directory; the run "
                         "would overwrite it", file=src.file, where=src.flag,
                         hint=f"copy it out of the run directory first (cp {src.shown} data.csv) and give the copy"
                         if data else "move it out of the run directory first and name it there")


# ----------------------------------------------------------------------------- the original Deffe's tables
def skip_deffe_tables(config: Any, reads: Iterable[Item], cwd: Path | None = None) -> list[str]:
    """Leave out the original Deffe's tables that would replace a file the run reads (they are written into the
    current directory, where Deffe's data usually is); return a warning for each."""
    from .deffe_tables import deffe_table_path
    reads = list(reads)
    warnings = []
    for explore in config.explores:
        for kind in list(explore.deffe_tables):
            path = deffe_table_path(explore, kind, cwd)
            src = next((r for r in reads if same_file(path, r.path)), None)
            if src is not None:
                del explore.deffe_tables[kind]
                warnings.append(f"{_shown(path)}: the original Deffe's {kind} table is not written: it is "
                                f"{src.label}{_also(src)}, which it would overwrite (the run directory's tables "
                                "have the results)")
    return warnings


# ----------------------------------------------------------------------------- moving a run aside
def _python_paths(config: Any) -> list[Path]:
    try:
        return list(config.python_paths())
    except (AttributeError, TypeError):   # a config made by hand (the Python API's tests) may have none
        return []


def check_move(run_dir: Path, reads: Iterable[Item], why: str = "-fresh", config_file: str | None = None) -> None:
    """Refuse to move ``run_dir`` aside when it holds the working directory or a file the run reads
    (``config_file``: the config that sets framework.run_directory, named in the error)."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        return
    from .store import DB_NAME
    shown = _shown(run_dir)
    if inside(Path.cwd(), run_dir):
        what = "is the working directory" if _real(Path.cwd()) == _real(run_dir) else "holds the working directory"
        raise DeffeError(f"the run directory {shown} {what} (the project's files with it); {why} would move "
                         "it aside", file=config_file if why == "-fresh" else None,
                         where="framework.run_directory" if why == "-fresh" else None,
                         hint="give the run a directory of its own (framework.run_directory), or move the old run "
                              "yourself")
    for src in reads:
        if src.path.name.startswith(DB_NAME) and same_file(src.path.parent, run_dir):
            continue   # the run's own store moves with it
        if os.path.exists(src.path) and inside(src.path, run_dir):
            from_config = bool(src.flag) and not src.flag.startswith("-")   # a config key, not a flag
            raise DeffeError(f"the run directory {shown} holds {src.label} ({src.shown}); {why} would move it "
                             "aside with the old run", file=config_file if from_config else None, where=src.flag,
                             hint="give the run a directory of its own (framework.run_directory), copy "
                                  f"{'the folder' if src.path.is_dir() else 'the file'} out of it first, or move "
                                  "the old run yourself")


# ----------------------------------------------------------------------------- data from a pipe
def spool(path: str) -> str | None:
    """A file that can be read once only (a pipe, /dev/stdin, <(...)) copied into a temporary file, which is
    read as often as needed (and removed at exit); None for a regular file (or one that is not there)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    import atexit
    fd, tmp = tempfile.mkstemp(prefix="deffe-data-", suffix=".csv")
    atexit.register(lambda: os.path.exists(tmp) and os.unlink(tmp))
    with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
        while True:
            chunk = src.read(1 << 20)
            if not chunk:
                break
            dst.write(chunk)
    return tmp
