"""From knob entries of the config to typed `Knob`s, and explore groups to spaces."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from ..errors import DeffeError, did_you_mean
from ..space import ArithLevels, DesignSpace, GeomLevels, Knob, ListLevels, RangeLevels
from ..values import format_value, parse_names, parse_values, value_key, whole_range
from .loader import ORIGIN


MAX_LEVELS = 2 ** 53   # levels of a range: its codes (floats) hold every level index exactly
MAX_COUNT = 10_000     # knobs one repeated entry (count) stands for
# a categorical knob of more values than this is one ordinal model feature unless its "encoding" says otherwise:
# one-hot, 10 knobs of 2,000 values ("v[0-2000]") made 20,000 model columns and a surrogate step 15-20x slower
ONEHOT_DEFAULT_MAX = 64


@dataclass
class KnobEntry:
    """One knob or scenario entry of the config, expanded into its knobs."""

    knobs: list[Knob]
    groups: tuple[str, ...]       # as written (empty: in every exploration)
    tokens: frozenset[str]        # what an explore group may name to select it
    file: str
    where: str


def build_entry(entry: dict, where: str, scenario: bool) -> KnobEntry:
    try:
        return _build_entry(entry, where, scenario)
    except DeffeError as e:
        raise e.located(file=entry.get(ORIGIN)) from None


# what to do about a mistake in a list of values that values.parse_values reports without saying it
_VALUES_HINTS = (("has a step of 0", "give the range a step other than 0 ('1-5-2'), or leave the step out for 1"),
                 ("a value must be a number or a string", "write each value as a number or as text"),
                 ("values must be a list", 'write a list such as [1, 2, 4], or text such as "1-5"'))


def _parsed_values(raw, where: str, delim: str = ",") -> list:
    try:
        return parse_values(raw, where, delim=delim)
    except DeffeError as e:
        hint = e.hint or next((h for words, h in _VALUES_HINTS if words in str(e.what)), None)
        raise DeffeError(e.what, file=e.file, where=e.where, hint=hint) from None


def _build_entry(entry: dict, where: str, scenario: bool) -> KnobEntry:
    file = entry.get(ORIGIN, "")
    name = entry.get("name")
    what = "scenario" if scenario else "knob"
    if not isinstance(name, str) or not name.strip():
        raise DeffeError(f"every {what} needs a 'name'", file=file, where=where,
                         hint='give it "name": "..."')
    name = name.strip()
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_.\-]*$", name):
        raise DeffeError(f"knob name '{name}' must start with an ASCII letter or '_' and hold only ASCII "
                         "letters, digits, '_', '.', '-' (a script gets it as a shell variable)",
                         file=file, where=f"{where}.name",
                         hint="rename it, e.g. with '_' for the other characters")
    knob = _build_knob(entry, name, file, where, scenario)
    exchangeable = _exchangeable(entry.get("exchangeable"), knob, file, f"{where}.exchangeable")
    if exchangeable and entry.get("count") is None:
        raise DeffeError("'exchangeable' describes a repeated knob: give 'count' too", file=file,
                         where=f"{where}.exchangeable",
                         hint="give 'count' (how many knobs it stands for), or leave 'exchangeable' out")
    groups = tuple(parse_names(entry.get("groups"), f"{where}.groups"))
    count = entry.get("count")
    if count is not None and count > MAX_COUNT:
        raise DeffeError(f"count {count:,} makes too many knobs", file=file, where=f"{where}.count",
                         hint=f"a repeated knob stands for at most {MAX_COUNT:,} knobs")
    if count is None:
        knobs = [replace(knob, groups=groups)]
    else:
        knobs = [replace(knob, name=f"{name}_{i}", family=name, member=i, groups=groups,
                         map=None, exchangeable=exchangeable) for i in range(count)]
    tokens = frozenset(groups) | {name} | {k.name for k in knobs}
    if knob.map:
        tokens |= {knob.map}
    return KnobEntry(knobs, groups, tokens, file, where)


def _exchangeable(raw, knob: Knob, file: str, where: str):
    """False, True (every value), or the value keys that are interchangeable labels."""
    if raw is None or raw is False:
        return False
    if raw is True:
        return True
    if not isinstance(raw, list) or isinstance(raw, bool):
        raise DeffeError("exchangeable is true, false or a list of the knob's values", file=file, where=where,
                         hint='write true, false or a list such as ["gpu0", "gpu1"]')
    if not knob.finite:
        raise DeffeError("a continuous knob has no labels to exchange", file=file, where=where,
                         hint="leave 'exchangeable' out, or give the knob a list of values")
    keys = []
    for v in raw:
        try:
            knob.levels.index(v)
        except ValueError:
            raise DeffeError(f"{v!r} is not a value of '{knob.name}'", file=file, where=where,
                             hint=f"list only values the knob '{knob.name}' has")
        keys.append(value_key(v))
    if len(set(keys)) < 2:
        raise DeffeError("list at least two interchangeable values", file=file, where=where,
                         hint="list two or more of the knob's values, or write true for all of them")
    return tuple(keys)


def _build_knob(entry: dict, name: str, file: str, where: str, scenario: bool) -> Knob:
    kind = entry.get("type")
    has_range = entry.get("min") is not None or entry.get("max") is not None
    has_values = entry.get("values") is not None
    log = bool(entry.get("log"))
    step = entry.get("step")
    if has_range and has_values:
        raise DeffeError("give either 'values' or 'min'/'max', not both", file=file, where=where,
                         hint="keep the list of values, or the range, and remove the other")
    if not has_range and not has_values:
        raise DeffeError(f"{'scenario' if scenario else 'knob'} '{name}' has no 'values' (or 'min' and 'max')",
                         file=file, where=where, hint="give its values, e.g. \"values\": [1, 2, 4], or a range, "
                                                      "\"min\": 1, \"max\": 8")

    if has_range:
        lo, hi = entry.get("min"), entry.get("max")
        if lo is None or hi is None:
            raise DeffeError("a range needs both 'min' and 'max'", file=file,
                             where=f"{where}.{'max' if hi is None else 'min'}",
                             hint="give both, or a list of 'values'")
        if lo > hi:
            raise DeffeError(f"min ({lo:g}) is greater than max ({hi:g})", file=file, where=f"{where}.min",
                             hint="swap them")
        if kind is None:
            kind = "integer" if float(lo).is_integer() and float(hi).is_integer() and \
                (step is None or float(step).is_integer()) else "real"
        if kind not in ("integer", "real"):
            raise DeffeError(f"a '{kind}' knob takes a list of 'values', not min/max", file=file,
                             where=f"{where}.type", hint="use type integer or real for a range")
        if log and lo <= 0:
            raise DeffeError(f"a log range needs min > 0, got {lo:g}", file=file, where=f"{where}.min",
                             hint="give min a positive number, or leave 'log' out")
        if step is not None and step <= 0:
            raise DeffeError(f"step must be positive, got {step:g}", file=file, where=f"{where}.step",
                             hint="give a step above 0, or leave it out for a continuous range")
        if kind == "integer":
            if not (float(lo).is_integer() and float(hi).is_integer()):
                raise DeffeError("an integer range needs integer min and max", file=file, where=where,
                                 hint="give whole numbers, or write type real")
            lo, hi = int(lo), int(hi)
        if not math.isfinite(float(hi) - float(lo)) or (log and not math.isfinite(float(hi) / float(lo))):
            raise DeffeError(f"the range from {lo:g} to {hi:g} is too wide for floating point", file=file,
                             where=where, hint="narrow it")
        levels = None
        if log and step is not None:
            if step <= 1:
                raise DeffeError(f"with 'log', step is a factor and must be > 1, got {step:g}",
                                 file=file, where=f"{where}.step",
                                 hint="give a factor above 1 (2 doubles each value), or leave 'log' out for a step "
                                      "added")
            n = int(math.floor(math.log(hi / lo) / math.log(step) + 1e-9)) + 1
            levels = GeomLevels(float(lo), float(step), n, kind == "integer", high=float(hi))
            twice = levels.repeated()
            # one value at two codes: a space counted larger than it is, a value drawn twice as often
            if twice is not None:
                raise DeffeError(f"integer knob '{name}': the factor {step:g} from {lo} gives the value {twice} twice "
                                 "(its levels are rounded to integers)", file=file, where=f"{where}.step",
                                 hint="use a larger step or min, or list the values")
        elif step is not None:
            if kind == "integer" and not float(step).is_integer():
                raise DeffeError("an integer range needs an integer step", file=file, where=f"{where}.step",
                                 hint="give a whole step, or write type real")
            count = (hi - lo) / step
            n = int(math.floor(count + 1e-9)) + 1 if count < MAX_LEVELS else MAX_LEVELS + 1
            levels = ArithLevels(lo, step, n, kind == "integer")
        elif kind == "integer":
            levels = ArithLevels(lo, 1, hi - lo + 1, True)
        elif lo == hi:   # a real range of one value is that value (a continuous range of width 0 has no scale)
            levels = ArithLevels(float(lo), 1.0, 1, False)
        if levels is not None and levels.n > MAX_LEVELS:
            raise DeffeError(f"the range from {lo:g} to {hi:g} has more than 2**53 values", file=file, where=where,
                             hint="use a larger step, or a real range without step")
        encoding = entry.get("encoding") or "numeric"
        if encoding == "onehot" and (levels is None or len(levels) > 4096):
            raise DeffeError("one-hot encoding needs a short list of values", file=file,
                             where=f"{where}.encoding",
                             hint="use ordinal or numeric encoding, or list fewer values (at most 4096)")
        return Knob(name=name, kind=kind, levels=levels, low=float(lo), high=float(hi), log=log,
                    encoding=encoding, scenario=scenario, map=entry.get("map"))

    values = whole_range(entry["values"])   # "1-1000000": held as a range, not a million values
    if values is not None:
        levels = RangeLevels(values)
    else:
        values = _parsed_values(entry["values"], f"{where}.values")
        if not values:
            raise DeffeError(f"knob '{name}' has an empty list of values", file=file, where=f"{where}.values",
                             hint='give at least one value, e.g. "values": [1, 2]')
        levels = ListLevels(values)
    dup = levels.duplicates()
    if dup:
        raise DeffeError(f"value {format_value(dup[0])} is listed twice", file=file, where=f"{where}.values",
                         hint="list each value once (a range '1-4' already holds 1, 2 and 3)")
    if step is not None:
        raise DeffeError("'step' belongs to a min/max range, not to a list of values", file=file,
                         where=f"{where}.step",
                         hint="remove 'step', or give 'min' and 'max' instead of the list")
    if kind is None:
        kind = "ordinal" if levels.numeric else "categorical"
    if kind in ("integer", "real"):
        if not levels.numeric:
            raise DeffeError(f"a '{kind}' knob takes numbers, got {next(v for v in values if isinstance(v, str))!r}",
                             file=file, where=f"{where}.values",
                             hint="list numbers only, or leave 'type' out for a list of text")
        if kind == "integer" and not all(float(v).is_integer() for v in values):
            raise DeffeError("an integer knob takes integers", file=file, where=f"{where}.values",
                             hint="list whole numbers only, or write type real")
    if log and not (levels.numeric and all(float(v) > 0 for v in values)):
        raise DeffeError("'log' needs positive numbers", file=file, where=f"{where}.log",
                         hint="list positive numbers only, or leave 'log' out")
    encoding = entry.get("encoding")
    if encoding is None:
        if kind == "categorical":
            encoding = "onehot" if len(levels) <= ONEHOT_DEFAULT_MAX else "ordinal"
        else:
            encoding = "numeric" if levels.numeric else "ordinal"
    if encoding == "numeric" and not levels.numeric:
        raise DeffeError("numeric encoding needs numbers", file=file, where=f"{where}.encoding",
                         hint="use onehot or ordinal")
    return Knob(name=name, kind=kind, levels=levels, log=log, encoding=encoding, scenario=scenario,
                map=entry.get("map"))


# ----------------------------------------------------------------------------- explores
def parse_explore_groups(raw, file: str, where: str) -> tuple[list[str], dict[str, list]]:
    """Group tokens of an explore entry and Deffe's value overrides ``name::v1;v2``."""
    tokens: list[str] = []
    overrides: dict[str, list] = {}
    for i, tok in enumerate(parse_names(raw, where)):
        if "::" in tok:
            head, _, vals = tok.partition("::")
            head = head.strip()
            values = _parsed_values(vals, f"{where}[{i}]", delim=";")
            if not values:
                raise DeffeError(f"override '{tok}' gives no values", file=file, where=where,
                                 hint="give values after '::', separated by ';' (e.g. 'a::1;2')")
            overrides[head] = values
            tokens.append(head)
        else:
            tokens.append(tok)
    return tokens, overrides


def select(entries: list[KnobEntry], tokens: list[str] | None, overrides: dict[str, list],
           file: str, where: str, notes: list[str] | None = None) -> DesignSpace:
    """The space of one exploration: the entries its groups select, overrides applied. Same-named knobs
    (or scenarios) of the entries selected are one knob with the values of both, as Deffe's
    Parameters.Initialize merged them (a note for each goes to ``notes``)."""
    everything = tokens is None or "all" in tokens
    wanted = set(tokens or [])
    matched: set[str] = set()
    picked: dict[str, tuple[Knob, KnobEntry, tuple[str, ...]]] = {}   # by name, in written order
    for e in entries:
        hit = wanted & e.tokens
        if not (everything or not e.groups or hit):
            continue
        matched |= hit
        for k in e.knobs:
            if k.name in picked:
                first, entry, groups = picked[k.name]
                picked[k.name] = (_merge(first, k, entry, e, file, where, notes), entry, groups + e.groups)
            else:
                picked[k.name] = (k, e, e.groups)
    chosen: list[Knob] = []
    for k, _entry, groups in picked.values():
        for tok in (k.name, k.family, *groups):
            if tok in overrides:
                k = _override(k, overrides[tok], file, where, tok)
                matched.add(tok)
                break
        chosen.append(k)
    unknown = [t for t in wanted if t not in matched and t != "all"]
    if unknown:
        known = sorted({t for e in entries for t in e.tokens})
        raise DeffeError(f"group '{unknown[0]}' matches no knob or scenario", file=file, where=f"{where}.groups",
                         hint=did_you_mean(unknown[0], known) or f"known groups and names: {', '.join(known)}")
    if not chosen:
        raise DeffeError("this exploration selects no knob or scenario", file=file, where=where,
                         hint="give it groups (or knob names) that the knobs and scenarios have, or 'all'")
    return DesignSpace(chosen)


def _merge(k: Knob, other: Knob, first: KnobEntry, e: KnobEntry, file: str, where: str,
           notes: list[str] | None) -> Knob:
    """One knob of two same-named ones an exploration selects: the first's values, then the other's new ones
    (Deffe merged them so); refused where their values cannot be one list."""
    what = "scenario" if k.scenario else "knob"
    why = ("one is a continuous range" if not (k.finite and other.finite) else
           "one is a knob and the other a scenario" if k.scenario != other.scenario else
           f"their maps differ ({k.map} and {other.map})" if k.map != other.map else
           f"one has {_holds(k)} and the other {_holds(other)}" if k.levels.numeric != other.levels.numeric else
           "one is log-scaled and the other not" if k.log != other.log else
           "one is part of a repeated knob" if (k.family, k.member) != (other.family, other.member) else None)
    if why is not None:
        raise DeffeError(f"two {what}s named '{k.name}' are in the same exploration ({first.where} in {first.file} "
                         f"and {e.where} in {e.file}) and cannot be merged: {why}", file=file, where=where,
                         hint="give them different names, or explore their groups in separate explore entries")
    known = set(k.levels)
    values = list(k.levels) + [v for v in other.levels if v not in known]
    base = k if k.kind == other.kind else replace(k, kind="ordinal" if k.levels.numeric else "categorical")
    if notes is not None:
        notes.append(f"{e.file}:{where}: the {what}s named '{k.name}' of {first.where} and {e.where} are merged "
                     f"into one, as in Deffe ({len(values)} values)")
    return _with_values(base, values, file, where, k.name)


def _holds(k: Knob) -> str:
    """What a finite knob's values are, in a user's words (a list of true/false has no text)."""
    if k.levels.numeric:
        return "numbers"
    return "booleans" if all(isinstance(v, bool) for v in k.levels) else "text"


def _override(k: Knob, values: list, file: str, where: str, tok: str) -> Knob:
    """The knob as Deffe's override ``tok::v1;v2`` gives it values: each in the knob's own type and bounds
    (the override's text is typed as any value list is: 'true' stays text, 4 is an int)."""
    shown = f"override '{tok}::{';'.join(format_value(v) for v in values)}'"
    return _with_values(k, [_own_type(k, v, shown, file, where) for v in values], file, where, tok)


def _own_type(k: Knob, v, shown: str, file: str, where: str):
    """An override's value as knob k holds it: an evaluator given the text 'false' for a boolean knob takes it
    for true, and 64 for a range of 1 to 8 runs a design the config rules out."""
    if k.finite and all(isinstance(x, bool) for x in k.levels):
        word = v.strip().lower() if isinstance(v, str) else None
        if isinstance(v, bool) or word in ("true", "false"):
            return v if isinstance(v, bool) else word == "true"
        raise DeffeError(f"{shown} gives {format_value(v)} to the boolean knob '{k.name}'", file=file,
                         where=where, hint="give true or false")
    if k.kind not in ("integer", "real") or isinstance(v, (bool, str)):
        return v   # text for a number knob: _with_values says so
    if k.log and v <= 0:
        return v   # _with_values says a log knob takes positive numbers
    if k.low is not None and k.high is not None and not k.low <= v <= k.high:
        raise DeffeError(f"{shown} gives {format_value(v)} to '{k.name}', outside its range {k.low:g} to "
                         f"{k.high:g}", file=file, where=where,
                         hint="give values from its min to its max, or widen the knob's range")
    if k.kind == "real":
        return float(v)
    return int(v) if float(v).is_integer() else v   # 2.5 for an integer knob: _with_values says so


def _with_values(k: Knob, values: list, file: str, where: str, tok: str) -> Knob:
    levels = ListLevels(values)
    dup = levels.duplicates()
    if dup:
        raise DeffeError(f"override '{tok}::...' lists {format_value(dup[0])} twice", file=file, where=where,
                         hint="list each value once")
    if k.numeric and not levels.numeric:
        raise DeffeError(f"override of '{k.name}' gives text to a numeric knob", file=file, where=where,
                         hint=f"give '{k.name}' numbers after '::', or make the knob a list of text")
    # the rules of the knob's own values hold for the values an exploration gives it
    if k.kind == "integer" and not all(float(v).is_integer() for v in values):
        bad = next(v for v in values if not float(v).is_integer())
        raise DeffeError(f"override of '{k.name}' gives {format_value(bad)} to an integer knob", file=file,
                         where=where,
                         hint=f"give '{k.name}' whole numbers, or make it a real knob")
    if k.log and not all(float(v) > 0 for v in values):
        bad = next(v for v in values if not float(v) > 0)
        raise DeffeError(f"override of '{k.name}' gives {format_value(bad)} to a log knob, which takes "
                         "positive numbers", file=file, where=where,
                         hint=f"give '{k.name}' positive numbers, or leave 'log' out of the knob")
    kind = k.kind if k.kind in ("categorical", "ordinal") or levels.numeric else "categorical"
    encoding = k.encoding
    if encoding == "numeric" and not levels.numeric:
        encoding = "ordinal"
    return replace(k, levels=levels, kind=kind, encoding=encoding)
