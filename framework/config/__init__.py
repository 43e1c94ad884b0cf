"""The validated config of a run: `load_config(path)` -> `Config`.

Reading (comments, includes, merge) is in `loader`, keys and defaults in
`schema`, structural checks in `validate`, Deffe's option strings in
`deffe_args`, knobs and explore groups in `knobs`. Every mistake a user can
make in a config is a `DeffeError` naming the file and the key path.
"""
from __future__ import annotations

import filecmp
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DeffeError
from ..space import DesignSpace
from . import deffe_args, schema
from .ignored import ignored_keys
from .table_names import check_table_names
from .knobs import KnobEntry, build_entry, parse_explore_groups, select
from .loader import _INCLUDED, KEYS, ORIGIN, ensure_deffe_dir, included_texts, load_tree, origin_of, path_notes
from . import validate as validate_mod
from .validate import validate

BUDGET_KEYS = ("samples_per_step", "initial_samples", "max_samples", "max_steps", "max_time")


@dataclass(frozen=True)
class Cost:
    name: str
    direction: str = "min"   # "min" or "max"
    doc: str | None = None
    unit: str | None = None  # for people: "s", "B", "samples/s" (SI prefixes are added when shown)
    low: float | None = None   # valid range of a measurement: outside it, the sample failed
    high: float | None = None

    def invalid(self, value: float) -> str | None:
        """Why a measured value cannot be this cost, or None."""
        if self.low is not None and value < self.low:
            return f"{self.name} = {value:g} is below its minimum {self.low:g}"
        if self.high is not None and value > self.high:
            return f"{self.name} = {value:g} is above its maximum {self.high:g}"
        return None

    @property
    def sign(self) -> float:
        """+1 for costs to minimise, -1 for costs to maximise."""
        return 1.0 if self.direction == "min" else -1.0


@dataclass(frozen=True)
class Constraint:
    """A condition on a cost that a design must meet: ``cost op bound``."""

    cost: str
    op: str          # <=, <, >=, >
    bound: float
    text: str

    def holds(self, value: float) -> bool:
        return {"<=": value <= self.bound, "<": value < self.bound,
                ">=": value >= self.bound, ">": value > self.bound}[self.op]

    @property
    def upper(self) -> bool:
        """The cost must stay below the bound (else above it)."""
        return self.op in ("<=", "<")


def violations(constraints: list[Constraint], columns: list[int], raw) -> np.ndarray:
    """Per row of costs (evaluated or predicted; columns: each constraint's cost column), by how much it
    misses the constraints: the sum of each constraint's shortfall relative to its bound (|bound|, or 1 at
    a bound of 0). 0 where all hold; a strict bound met exactly is missed by a hair (1e-12); inf where a
    constraint's cost is missing, as for a design that failed before it was measured. What the searches
    and the guided exploration rank designs that miss the constraints by."""
    raw = np.atleast_2d(np.asarray(raw, dtype=float))
    total = np.zeros(len(raw))
    for c, j in zip(constraints, columns):
        v = raw[:, j]
        with np.errstate(invalid="ignore"):
            excess = (v - c.bound) if c.upper else (c.bound - v)
            missed = excess >= 0 if c.op in ("<", ">") else excess > 0
        scale = abs(c.bound) if c.bound else 1.0
        total += np.where(np.isfinite(v), np.where(missed, np.maximum(excess / scale, 1e-12), 0.0), np.inf)
    return total


@dataclass
class Explore:
    """One entry of exploration.explore: its space, tables and budget."""

    name: str
    index: int
    space: DesignSpace
    settings: dict              # exploration-level budget keys, overridden by the entry
    tables: dict[str, str]      # evaluation, prediction, output, exploration -> file name
    pre_evaluated_data: str | None
    file: str
    where: str
    deffe_tables: dict[str, str] = field(default_factory=dict)   # the original's tables: kind -> file name
    missing_data: str | None = None   # a pre_evaluated_data not found (find_pre_evaluated_data): left out


@dataclass
class Config:
    path: Path
    data: dict
    costs: list[Cost]
    explores: list[Explore]
    warnings: list[str] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    deffe_keys: list[str] = field(default_factory=list)   # keys only the original Deffe's configs use
    text: str | None = None   # a config given as a dict: its JSON (there is no file to read it from)
    included: dict[str, str] = field(default_factory=dict)   # the included files' texts, by resolved path
    origins: dict[str, str] = field(default_factory=dict)   # "section.key" (or "key") -> the file that wrote it
    located: dict[str, Path] = field(default_factory=dict)   # names found where Deffe looked first (find_file)
    slurm_from: str | None = None   # the key that sends the samples to SLURM (framework.executor, evaluate.slurm)

    @property
    def deffe_tables(self) -> bool:
        """Whether to write the original's tables too (framework.deffe_tables; auto: a Deffe config)."""
        return _writes_deffe_tables(self.data, self.deffe_keys)

    @property
    def dir(self) -> Path:
        return self.path.parent

    @property
    def cost_names(self) -> list[str]:
        return [c.name for c in self.costs]

    def section(self, name: str) -> dict:
        return self.data[name]

    def file_of(self, where: str) -> str | None:
        """The file that wrote the key at ``where`` ("evaluate.script"): an included file's name for a key it
        wrote (errors found after loading name it, as the schema's do), else the config's."""
        parts = where.split(".")
        for n in range(min(len(parts), 3), 0, -1):
            found = self.origins.get(".".join(parts[:n]))
            if found:
                return found
        return self.data.get(ORIGIN)

    def resolve(self, relative: str | None) -> Path | None:
        """A file named in the config: relative to the config's directory."""
        if relative is None:
            return None
        if relative in self.located:
            return self.located[relative]
        p = Path(relative).expanduser()
        return p if p.is_absolute() else (self.dir / p)

    def find_file(self, name: str, file: str | None, where: str, what: str) -> tuple[Path | None, list[Path]]:
        """A file named as Deffe named its scripts and data (evaluate and extract scripts, pre_evaluated_data,
        -icp): Deffe looked in the current directory first, then next to the config. Returns the file (None
        when in neither place) and the places looked at. In both places and different: a DeffeError at
        ``file``:``where`` naming both, as either could be the one meant."""
        given = Path(name).expanduser()
        if given.is_absolute():
            return (given if given.is_file() else None), [given]
        looked = list(dict.fromkeys([given.absolute(), self.dir / given]))
        found = [p for p in looked if p.is_file()]
        if len(found) > 1 and not filecmp.cmp(found[0], found[1], shallow=False):
            raise DeffeError(f"{what} '{name}' is both {found[0]} (the current directory's, which Deffe used) and "
                             f"{found[1]} (next to the config), and they differ", file=file, where=where,
                             hint="keep one of them, or give an absolute path")
        return (found[0] if found else None), looked

    def find_pre_evaluated_data(self) -> None:
        """Each exploration's ``pre_evaluated_data``, looked for in the current directory and next to the config
        (find_file); a file in neither is left out with a warning, as Deffe does."""
        for e in self.explores:
            if not e.pre_evaluated_data:
                continue
            found, looked = self.find_file(e.pre_evaluated_data, e.file, f"{e.where}.pre_evaluated_data",
                                           "pre_evaluated_data")
            if found is None:
                self.warnings.append(f"{e.file}:{e.where}.pre_evaluated_data: {e.pre_evaluated_data} not found "
                                     f"(looked at {' and '.join(map(str, looked))}); going on without it")
                e.missing_data = e.pre_evaluated_data
            e.pre_evaluated_data = str(found) if found else None

    def python_paths(self) -> list[Path]:
        return [self.resolve(p) for p in self.data["python_path"]]

    def digest(self, *sections: str) -> str:
        """Fingerprint of some sections (what a stored run or a checkpoint depends on)."""
        blob = json.dumps({s: _strip(self.data.get(s)) for s in sections}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _strip(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items() if k not in (ORIGIN, "_where")}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


def load_config(path: str | Path, data: dict | None = None) -> Config:
    """The config of file ``path``; or, given ``data`` (a JSON-like dict), that config as if it were the
    file ``path`` (which need not exist: its directory is where relative names resolve; errors name
    the file ``<config dict>``)."""
    shown = str(path) if data is None else DICT_SHOWN
    try:
        return _load_config(path, data, shown)
    except DeffeError as e:
        e = e.located(file=shown)
        # one line, whatever text of the file the message quotes (a key holding a line end)
        raise DeffeError(_one_line(e.what), file=_one_line(e.file), where=_one_line(e.where),
                         hint=_one_line(e.hint)) from None


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _one_line(text: str | None) -> str | None:
    return None if text is None else _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


DICT_SHOWN = "<config dict>"


def _load_config(path: str | Path, given: dict | None, shown: str) -> Config:
    ensure_deffe_dir()
    path = Path(path)
    with included_texts(_INCLUDED.get()) as texts, path_notes() as notes:   # (texts: a replay's)
        raw = load_tree(path, _shown=shown, data=given)
    included = {k: v for k, v in texts.items() if k != str(path.resolve())}
    deffe_keys = validate_mod.deffe_keys(raw)
    data = validate(raw, shown)
    warnings = deffe_args.apply(data, raw)
    warnings.extend(dict.fromkeys(notes))   # (a directory an including file names again: once)
    _expand_paths(data)
    costs = _build_costs(data, shown)
    constraints = _build_constraints(data, costs, origin_of(raw, "constraints", shown))
    entries = _build_entries(data)
    explores = _build_explores(data, entries, costs, shown, warnings)
    if _writes_deffe_tables(data, deffe_keys):
        _own_tables_in_run_dir(explores, data["framework"].get("run_directory"))
    check_table_names(explores, data["framework"].get("output_log"), data["framework"].get("run_directory"))
    _check_sections(data, costs, raw, shown)
    warnings.extend(ignored_keys(data, costs, raw, shown))
    text = None if given is None else json.dumps(given, indent=1, default=str)
    config = Config(path=path.resolve(), data=data, costs=costs, explores=explores, warnings=warnings,
                    constraints=constraints, deffe_keys=deffe_keys, text=text, included=included,
                    origins=_origins(raw), slurm_from=deffe_args.slurm_from(raw, shown))
    _locate_initial_checkpoint(config)
    shared = _separate_deffe_tables(explores)
    if config.deffe_tables:   # (only then are they written)
        warnings.extend(shared)
    return config


def _locate_initial_checkpoint(config: Config) -> None:
    """model.initial_checkpoint (Deffe's -icp in ml_arguments: its run.sh kept kmeans.hdf5 in the current
    directory) is looked for in the current directory too, as Deffe did (find_file)."""
    icp = config.data["model"].get("initial_checkpoint")
    if isinstance(icp, str) and icp:
        found, _looked = config.find_file(icp, config.file_of("model.initial_checkpoint"), "model.initial_checkpoint",
                                          "the initial checkpoint")
        if found is not None:
            config.located[icp] = found


def _writes_deffe_tables(data: dict, deffe_keys: list[str]) -> bool:
    setting = data["framework"].get("deffe_tables", "auto")   # validated: "auto" or a bool
    return bool(deffe_keys) if setting == "auto" else bool(setting)


def _own_tables_in_run_dir(explores: list[Explore], run_dir: Any) -> None:
    """An absolute name of a table Deffe writes too (Deffe expanded "$DEFFE_EXP_DIR/tabs/ev.csv") is where
    Deffe's table goes; ours stays in the run directory, as for a relative name: under its path from the
    current directory, or under its file name when it is elsewhere. (A name inside the run directory is
    ours, as before: Deffe's would replace it and is left out with a warning.)"""
    cwd = Path.cwd()
    run = Path(run_dir).expanduser().absolute() if isinstance(run_dir, str) else None
    for e in explores:
        for kind in e.deffe_tables.keys() & e.tables.keys():
            p = Path(e.tables[kind]).expanduser()
            if p.is_absolute() and not (run is not None and p.is_relative_to(run)):
                e.tables[kind] = str(p.relative_to(cwd)) if p.is_relative_to(cwd) else p.name


def _origins(raw: dict) -> dict[str, str]:
    """The file that wrote each key of the top level, of the sections and of the objects in them
    (evaluate.simulator.devices: the loader marks them); a key not here was not given (its default)."""
    out = dict(raw.get(KEYS, {}))
    for section in schema.SECTIONS:
        if isinstance(raw.get(section), dict):
            out.update({f"{section}.{k}": f for k, f in raw[section].get(KEYS, {}).items()})
            for k, v in raw[section].items():
                if isinstance(v, dict) and isinstance(k, str) and not k.startswith("__"):
                    out.update({f"{section}.{k}.{kk}": f for kk, f in v.get(KEYS, {}).items()})
    return out


def _separate_deffe_tables(explores: list[Explore]) -> list[str]:
    """The original Deffe's tables are written where each explore entry names them; a file that entries of
    two explorations name (both leaving Deffe's default deffe_evaluation.csv: there, the later replaced
    the earlier) becomes one per exploration, prefixed by its name. Returns the warning saying so."""
    import os
    named: dict[str, list[tuple[Explore, str]]] = {}
    for explore in explores:
        for kind, name in explore.deffe_tables.items():
            key = os.path.normcase(os.path.normpath(os.path.join(os.getcwd(), name)))
            named.setdefault(key, []).append((explore, kind))
    shared, explorations = [], {}
    for users in named.values():
        if len({e.name for e, _kind in users}) < 2:
            continue
        first, kind = users[0]
        shared.append(first.deffe_tables[kind])
        for explore, k in users:
            shown = Path(explore.deffe_tables[k])
            explore.deffe_tables[k] = str(shown.with_name(f"{explore.name}-{shown.name}"))
            explorations.setdefault(explore.name, explore)
    if not shared:
        return []
    first = next(iter(explorations.values()))
    example = next(iter(explorations))
    return [f"{first.file}:exploration.explore: the explorations {', '.join(map(repr, explorations))} name the "
            f"same original Deffe's tables ({', '.join(shared)}; there, the later replaced the earlier): each "
            f"exploration's are written prefixed by its name ({example}-{Path(shared[0]).name}, ...); name a "
            "table per explore entry (evaluation_table, ...) to choose"]


# a constraint as written in a config: "cost <= bound" (the run manifest and the reports read it back so)
CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(<=|>=|<|>)\s*(\S+)\s*$")


def _build_constraints(data: dict, costs: list[Cost], shown: str) -> list[Constraint]:
    names = [c.name for c in costs]
    out = []
    for i, text in enumerate(data["constraints"]):
        where = f"constraints[{i}]"
        if not isinstance(text, str):
            raise DeffeError("a constraint is text such as 'peak_memory <= 16e9'", file=shown, where=where,
                             hint='write it in quotes, e.g. "peak_memory <= 16e9"')
        m = CONSTRAINT.match(text)
        bound = _finite_number(m.group(3)) if m else None
        if not m or bound is None:
            raise DeffeError(f"cannot read constraint {text!r}", file=shown, where=where,
                             hint="write 'cost <= number' (or <, >=, >)")
        if m.group(1) not in names:
            from ..errors import did_you_mean
            raise DeffeError(f"'{m.group(1)}' is not a cost", file=shown, where=where,
                             hint=did_you_mean(m.group(1), names) or f"costs: {', '.join(names)}")
        out.append(Constraint(m.group(1), m.group(2), bound, text.strip()))
    return out


def _finite_number(text: str) -> float | None:
    from ..values import to_float
    f = to_float(text)
    return f if f is not None and math.isfinite(f) else None


def _expand_paths(data: dict) -> None:
    import os
    data["python_path"] = [os.path.expandvars(p) for p in data["python_path"]]
    for section, keys in {"evaluate": ("script", "function", "plugin"), "extract": ("cost_output", "plugin",
                          "sample_extract_script"), "sampling": ("plugin",), "model": ("plugin",),
                          "exploration": ("plugin",), "framework": ("run_directory", "output_log")}.items():
        for k in keys:
            if isinstance(data[section].get(k), str):
                data[section][k] = os.path.expandvars(data[section][k])
    for e in data["exploration"]["explore"]:
        for k in ("pre_evaluated_data", "evaluation_table", "ml_predict_table", "output_table",
                  "exploration_table", "evaluation_predict_table", "all_table"):
            if isinstance(e.get(k), str):
                e[k] = os.path.expandvars(e[k])


def _build_costs(data: dict, shown: str) -> list[Cost]:
    costs: list[Cost] = []
    seen: dict[str, str] = {}
    for entry in data["costs"]:
        file, where = entry.get(ORIGIN, shown), entry["_where"]
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise DeffeError("a cost needs a name", file=file, where=where,
                             hint='give it "name": "...", or list it by name')
        direction = entry.get("direction") or "min"
        if "::" in name:
            name, _, d = name.partition("::")
            d = d.strip().lower()
            if d not in ("min", "max"):
                raise DeffeError(f"cost direction '{d}' must be min or max", file=file, where=where,
                                 hint="write 'name::min' or 'name::max'")
            # both ways of saying it, each another direction: which one was meant is the user's to say
            if entry.get("direction") is not None and entry["direction"] != d:
                raise DeffeError(f"cost '{name.strip()}' is to {d}imise by its name '{entry['name']}' and to "
                                 f"{entry['direction']}imise by its 'direction'", file=file, where=where,
                                 hint="give the direction once, in 'direction' or after '::'")
            direction = d
        name = name.strip()
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_.\-]*$", name):
            raise DeffeError(f"cost name '{name}' must start with an ASCII letter or '_' and hold only ASCII "
                             "letters, digits, '_', '.', '-'", file=file, where=where,
                             hint="rename it, e.g. with '_' for the other characters")
        if name in seen:
            raise DeffeError(f"cost '{name}' is listed twice (also at {seen[name]})", file=file, where=where,
                             hint="list each cost once")
        _not_a_table_column(name, "cost", file, where)
        seen[name] = where
        low, high = entry.get("min"), entry.get("max")
        if low is not None and high is not None and low > high:
            raise DeffeError(f"min {low:g} is above max {high:g}", file=file, where=where,
                             hint="swap them")
        costs.append(Cost(name, direction, entry.get("doc"), entry.get("unit"), low, high))
    if not costs:
        raise DeffeError("no costs are listed", file=shown, where="costs",
                         hint='name what each evaluation measures, e.g. "costs": ["exec_time"]')
    return costs


# the columns the run's tables write beside the knobs and the costs (tables.py, report.py, inference.py, and
# the original Deffe's tables, deffe_tables.py): a knob or cost of that name made a table with a column twice,
# which the driver then refused to read back (-pre-evaluated-data of its own table)
# ('feasible' is not among them: the inference output's column of that name stands beside the predicted-<cost>
# columns, and the placement evaluator gives a cost 'feasible')
TABLE_COLUMNS = ("status", "source", "rank", "scenario", "EvaluateTime", "ExtractTime", "RunDir")
TABLE_PREFIXES = ("predicted-", "std-")


def _not_a_table_column(name: str, what: str, file: str | None, where: str) -> None:
    if name in TABLE_COLUMNS or name.startswith(TABLE_PREFIXES):
        raise DeffeError(f"a {what} cannot be named '{name}': the run's tables have a column of that name",
                         file=file, where=where, hint=f"rename the {what} (the tables' own columns: "
                         f"{', '.join(TABLE_COLUMNS)}, predicted-<cost>, std-<cost>)")


def _build_entries(data: dict) -> list[KnobEntry]:
    entries = [build_entry(e, e.pop("_where", f"knobs[{i}]"), False) for i, e in enumerate(data["knobs"])]
    entries += [build_entry(e, e.pop("_where", f"scenarios[{i}]"), True) for i, e in enumerate(data["scenarios"])]
    for entry in entries:
        for knob in entry.knobs:
            _not_a_table_column(knob.name, "scenario" if entry.where.startswith("scenarios") else "knob",
                                entry.file, f"{entry.where}.name")
    if not entries:
        raise DeffeError("no knobs are defined", file=data.get(ORIGIN), where="knobs",
                         hint='add e.g. {"name": "param1", "values": "1,2-4,5"}')
    return entries


def _build_explores(data: dict, entries: list[KnobEntry], costs: list[Cost], shown: str,
                    notes: list[str] | None = None) -> list[Explore]:
    explo = data["exploration"]
    items = explo["explore"] or [dict(schema_defaults_explore(), **{ORIGIN: shown, "_where": "exploration"})]
    out: list[Explore] = []
    names: dict[str, str] = {}
    cost_names = {c.name for c in costs}
    for i, e in enumerate(items):
        file, where = e.get(ORIGIN, shown), e["_where"]
        name = e.get("name")
        if name is None:
            name = f"explore_{i}"
        problem = _not_a_file_name(name)
        if problem:
            raise DeffeError(f"exploration name {name!r} {problem}", file=file, where=f"{where}.name",
                             hint="the name becomes a file name (its tables, its checkpoint): use letters, "
                                  "digits, '_', '-', '.'")
        if name in names:
            raise DeffeError(f"exploration name '{name}' is used twice (also at {names[name]})",
                             file=file, where=f"{where}.name",
                             hint="give each exploration a name of its own")
        names[name] = where
        try:
            if e.get("groups") is None:
                tokens, overrides = None, {}
            else:
                tokens, overrides = parse_explore_groups(e["groups"], file, f"{where}.groups")
            space = select(entries, tokens, overrides, file, where, notes)
        except DeffeError as err:
            raise err.located(file=file) from None
        _no_alias_clash(space, entries, name)
        clash = [n for n in space.names if n in cost_names]
        if clash:
            raise DeffeError(f"'{clash[0]}' is both a knob and a cost", file=file, where=where,
                             hint="a table column can only be one of them")
        settings = {k: explo.get(k) for k in BUDGET_KEYS + ("custom_samples",)}
        for k in BUDGET_KEYS:
            if e.get(k) is not None:
                settings[k] = e[k]
        tables = {"evaluation": e["evaluation_table"], "prediction": e["ml_predict_table"],
                  "output": e["output_table"], "exploration": e["exploration_table"]}
        deffe = {"evaluation": e["evaluation_table"], "prediction": e["ml_predict_table"],
                 "eval_predict": e.get("evaluation_predict_table") or "deffe_eval_predict.csv",
                 "all": e.get("all_table") or "deffe_output.csv"}
        out.append(Explore(name, i, space, settings, tables, e.get("pre_evaluated_data"), file, where, deffe))
    return out


def _no_alias_clash(space, entries: list[KnobEntry], explore: str) -> None:
    """A script gets each knob under its name and its `map` alias: an alias that is another knob's (or
    scenario's) alias or name gave that variable one of the two values, silently (the other never reached the
    script). Checked per exploration: Deffe's configs give knobs of disjoint groups one alias."""
    def entry_of(name: str) -> KnobEntry:
        return next(e for e in entries if any(k.name == name for k in e.knobs))

    owner: dict[str, str] = {k.name: k.name for k in space.knobs}   # variable -> the knob it comes from
    for k in space.knobs:
        if not k.map or k.map == k.name:
            continue
        other = owner.get(k.map)
        if other is not None and other != k.name:
            mine, theirs = entry_of(k.name), entry_of(other)
            what = "name" if other == k.map else "map"
            raise DeffeError(f"the map '{k.map}' of '{k.name}' is also the {what} of '{other}' ({theirs.where}"
                             f"{'' if theirs.file == mine.file else ' in ' + theirs.file}) in exploration "
                             f"'{explore}'; a script would get only one of their values", file=mine.file,
                             where=f"{mine.where}.map", hint="give each knob and scenario a map that no other "
                             "one of the exploration uses as its name or map")
        owner[k.map] = k.name


def _not_a_file_name(name: str) -> str | None:
    """Why a name cannot be a plain file name of the run directory, or None."""
    if not name.strip():
        return "is empty"
    if name in (".", "..") or "/" in name or "\\" in name:
        return "is a path, not a plain file name"
    if name != name.strip():
        return "starts or ends with a space"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "holds a control character"
    if len(name.encode("utf-8", "surrogatepass")) > 200:
        return "is longer than 200 bytes"
    return None


def _not_a_run_directory(path: str) -> str | None:
    """Why a run directory is a mistake rather than a place, or None: "" would put the run store among the
    config's own files, "/" at the root of the machine; a newline or a space at either end is a typo."""
    if not path.strip():
        return "is empty (\".\" is the current directory)"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return "holds a control character"
    if path != path.strip():
        return "starts or ends with a space"
    p = Path(path).expanduser()
    if p.is_absolute() and p.resolve() == Path(p.anchor):
        return "is the root of the file system"
    return None


def schema_defaults_explore() -> dict:
    return {k: v.default for k, v in schema.EXPLORE.items() if not v.deffe}


def _check_sections(data: dict, costs: list[Cost], raw: dict, shown: str) -> None:
    def at(section: str, key: str) -> str:   # the file that wrote the key
        return origin_of(raw.get(section), key, origin_of(raw, section, shown))

    objectives = data["exploration"].get("objectives")
    if objectives is not None:
        from ..errors import did_you_mean
        from ..values import parse_names
        names = [c.name for c in costs]
        listed: list[str] = []
        given = parse_names(objectives, "exploration.objectives")
        if not given:   # it meant every cost, silently: leaving the key out says that
            raise DeffeError("objectives lists no cost", file=at("exploration", "objectives"),
                             where="exploration.objectives",
                             hint=f"name the costs to optimise ({', '.join(names)}), or leave 'objectives' out "
                                  "for every cost")
        for o in given:
            if o in listed:   # run as two objectives, the front would weigh one cost twice
                raise DeffeError(f"objective '{o}' is listed twice", file=at("exploration", "objectives"),
                                 where="exploration.objectives", hint="list each cost once")
            listed.append(o)
            if o not in names:
                raise DeffeError(f"'{o}' is not a cost", file=at("exploration", "objectives"),
                                 where="exploration.objectives",
                                 hint=did_you_mean(o, names) or f"costs: {', '.join(names)}")
    run_dir = data["framework"].get("run_directory")
    why = _not_a_run_directory(run_dir) if isinstance(run_dir, str) else None
    if why:
        raise DeffeError(f"run_directory {run_dir!r} {why}", file=at("framework", "run_directory"),
                         where="framework.run_directory", hint="e.g. \"run_directory\": \"explore\"")
    cs = data["exploration"].get("custom_samples")
    if cs is not None:
        if not cs or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in cs):
            raise DeffeError("custom_samples must be a list of positive integers",
                             file=at("exploration", "custom_samples"), where="exploration.custom_samples",
                             hint="e.g. [20, 40, 80]")
        if any(b <= a for a, b in zip(cs, cs[1:])):
            raise DeffeError("custom_samples are cumulative counts and must increase",
                             file=at("exploration", "custom_samples"), where="exploration.custom_samples",
                             hint="give each count larger than the one before, e.g. [20, 40, 80]")
    ex = data["extract"]
    if ex.get("format") == "regex" and not ex.get("regex"):
        raise DeffeError("format 'regex' needs a 'regex' object (cost name -> pattern)",
                         file=at("extract", "format"), where="extract.regex",
                         hint='give "regex": {"<cost>": "time: ([0-9.]+)"}, or another format')
    if ex.get("regex"):
        file = at("extract", "regex")
        for cost, pattern in ex["regex"].items():
            if not isinstance(pattern, str):
                raise DeffeError("a pattern must be text", file=file, where=f"extract.regex.{cost}",
                                 hint='e.g. "time: ([0-9.]+)"')
            try:
                compiled = re.compile(pattern)
            except re.error as e:
                raise DeffeError(f"bad regular expression ({e})", file=file, where=f"extract.regex.{cost}",
                                 hint="fix the pattern (Python's re syntax)") from None
            if compiled.groups < 1:
                raise DeffeError("the pattern needs a group ( ... ) around the value", file=file,
                                 where=f"extract.regex.{cost}",
                                 hint='put ( ) around the part that is the number, e.g. "time: ([0-9.]+)"')
        cost_names = [x["name"].partition("::")[0] for x in data["costs"]]
        unknown = [c for c in ex["regex"] if c not in cost_names]
        if unknown:
            from ..errors import did_you_mean
            raise DeffeError(f"'{unknown[0]}' is not a cost", file=file, where=f"extract.regex.{unknown[0]}",
                             hint=did_you_mean(unknown[0], cost_names) or f"name one of the costs "
                                                                           f"({', '.join(cost_names)})")
