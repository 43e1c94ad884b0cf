"""Structural validation: unknown keys, wrong types, bad choices, out-of-range numbers.

Runs on the merged config; every error names the file the key came from and
its key path (``knobs[2].values``). Values are normalised on the way (Deffe
wrote numbers and booleans as text: ``"400"``, ``"True"``) and the defaults of
`schema.py` filled in, so the rest of the framework reads one clean structure.
"""
from __future__ import annotations

import math
from typing import Any

from ..errors import DeffeError, did_you_mean, join_hints
from ..values import SWITCH_WORDS, json_kind as _kind, to_number
from . import schema
from .loader import KEYS, ORIGIN, POSITION, origin_of

_TYPE_NAMES = {
    "str": "text", "int": "an integer", "number": "a number", "bool": "true or false",
    "bool|auto": "true, false or \"auto\"",
    "names": "a name or a list of names", "values": "a list, a number or a string of values",
    "list": "a list", "dict": "an object", "str|list": "text or a list", "any": "anything",
}


def _finite(n: int | float) -> bool:
    try:
        return math.isfinite(n)
    except OverflowError:   # an integer beyond any float
        return False


def coerce(value: Any, key: schema.Key, file: str, where: str) -> Any:
    """The value checked against the key's type (and normalised), or a DeffeError. null is no value: the key
    takes its default (framework.seed: null is seed 0, not None handed to every plugin), except where null
    says "none" (``Key.nullable``: model.plugin: null trains no model)."""
    if value is None:
        return None if key.nullable else _copy(key.default)
    t = key.type

    def bad(extra: str | None = None):
        if extra is None:   # what to write instead: a whole number near the one given, else the kind
            whole = t == "int" and isinstance(value, float) and _finite(value)
            extra = f"write a whole number, such as {math.floor(value)}" if whole else \
                f"write {_TYPE_NAMES.get(t, t)} (or remove the key for its default)"
        raise DeffeError(f"expected {_TYPE_NAMES.get(t, t)}, got {_kind(value)}" +
                         (f" ({value!r})" if isinstance(value, (str, int, float)) else ""),
                         file=file, where=where, hint=extra)

    if isinstance(value, str) and t in ("int", "number", "bool") and not key.deffe:
        # Deffe's own keys were written as text ("400", "True") and are read so; ours take JSON's own types,
        # so that "5" where a number belongs is not silently a different thing than the user meant
        word = value.strip().lower()
        if t == "bool" and word in SWITCH_WORDS:   # JSON's true is lower case: "True" unquoted is no JSON
            bad(f"write {str(SWITCH_WORDS[word]).lower()} (lower case, without quotes)")
        bad(f"write {value.strip()} without quotes" if to_number(value) is not None else None)

    if t == "any":
        out = value
    elif t == "str":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            bad()
        out = str(value)
    elif t == "int":
        n = value
        if isinstance(value, str):
            n = to_number(value)
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        if isinstance(n, bool) or not isinstance(n, int):
            bad()
        if abs(n) >= 2 ** 63:   # 1e300 is integral too; no count, size or seed is that large
            raise DeffeError(f"expected an integer below 2^63, got {value!r}", file=file, where=where,
                             hint="write a smaller number")
        out = n
    elif t == "number":
        n = to_number(value) if isinstance(value, str) else value
        if isinstance(n, bool) or not isinstance(n, (int, float)):
            bad()
        if not _finite(n):
            raise DeffeError(f"expected a finite number, got {n!r}", file=file, where=where,
                             hint="write a number other than infinity or NaN")
        out = n
    elif t in ("bool", "bool|auto"):
        # a switch (as text too); bool|auto also 'auto'; anything else ("maybe", 2) is a mistake, not a silent false
        word = value.strip().lower() if isinstance(value, str) else None
        if t == "bool|auto" and word == "auto":
            out = "auto"
        elif isinstance(value, bool):
            out = value
        elif word in SWITCH_WORDS:
            out = SWITCH_WORDS[word]
        else:
            bad()
    elif t == "names":
        if isinstance(value, str):
            out = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out = value
        elif isinstance(value, list):   # the element that is not a name, not "got a list"
            i = next(i for i, v in enumerate(value) if not isinstance(v, str))
            raise DeffeError(f"expected a name, got {_kind(value[i])}" +
                             (f" ({value[i]!r})" if isinstance(value[i], (int, float)) else ""),
                             file=file, where=f"{where}[{i}]", hint="write names as text")
        else:
            bad()
    elif t == "values":
        if isinstance(value, dict) or value is None:
            bad()
        out = value
    elif t == "list":
        if not isinstance(value, list):
            bad()
        out = value
    elif t == "dict":
        if not isinstance(value, dict):
            bad()
        out = value
    elif t == "str|list":
        if isinstance(value, str):
            out = [value]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out = value
        elif isinstance(value, list):   # the element that is not text, not "got a list"
            i = next(i for i, v in enumerate(value) if not isinstance(v, str))
            raise DeffeError(f"expected text, got {_kind(value[i])}" +
                             (f" ({value[i]!r})" if isinstance(value[i], (int, float)) else ""),
                             file=file, where=f"{where}[{i}]", hint="write each entry as text (in quotes)")
        else:
            bad()
    else:  # pragma: no cover - a schema mistake
        raise AssertionError(t)
    if key.choices and out not in key.choices:
        raise DeffeError(f"'{out}' is not one of {', '.join(map(str, key.choices))}", file=file,
                         where=where, hint=schema.choice_hint(out, key))
    if key.min is not None and isinstance(out, (int, float)) and out < key.min:
        raise DeffeError(f"must be at least {key.min:g}, got {out}", file=file, where=where,
                         hint=f"give it {key.min:g} or more")
    if key.max is not None and isinstance(out, (int, float)) and out > key.max:
        raise DeffeError(f"must be at most {key.max:g}, got {out}", file=file, where=where,
                         hint=f"give it {key.max:g} or less")
    return out


def check_keys(obj: dict, spec: dict[str, schema.Key], file: str, path: str,
               fill_defaults: bool = True) -> dict:
    """Unknown keys are errors (with a near-miss hint); known keys are type-checked."""
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if k in (ORIGIN, KEYS, POSITION):
            continue
        where = f"{path}.{k}" if path else k
        origin = origin_of(obj, k, file)
        if not isinstance(k, str) or k not in spec:
            hint = did_you_mean(k, spec.keys())
            raise DeffeError(f"unknown key '{k}'", file=origin, where=where,
                             hint=join_hints(hint, None if hint else f"known keys: {', '.join(sorted(spec))}"))
        out[k] = coerce(v, spec[k], origin, where)
    if fill_defaults:
        for k, key in spec.items():
            if k not in out and not key.deffe:
                out[k] = _copy(key.default)
    return out


def _copy(v: Any) -> Any:
    if isinstance(v, dict):
        return dict(v)
    if isinstance(v, list):
        return list(v)
    return v


def _position(item: Any, i: int) -> int:
    """An entry's index in the file that wrote it (the merged list puts the included file's entries first)."""
    return item.get(POSITION, i) if isinstance(item, dict) else i


def validate(data: dict, main_file: str) -> dict:
    """The merged config, checked and normalised (defaults filled in)."""
    file = data.get(ORIGIN, main_file)
    top = check_keys(data, schema.TOP, file, "", fill_defaults=True)
    top.pop("include", None)

    for list_key in ("knobs", "scenarios"):
        entries = []
        for i, item in enumerate(top[list_key]):
            where = f"{list_key}[{_position(item, i)}]"
            if not isinstance(item, dict):
                raise DeffeError(f"expected an object with 'name' and 'values', got {_kind(item)}",
                                 file=origin_of(data, list_key, file), where=where)
            origin = item.get(ORIGIN, file)
            entry = check_keys(item, schema.KNOB, origin, where, fill_defaults=False)
            entry[ORIGIN] = origin
            entry["_where"] = where
            entries.append(entry)
        top[list_key] = entries

    costs = []
    for i, item in enumerate(top["costs"]):
        where = f"costs[{_position(item, i)}]"
        if isinstance(item, str):
            costs.append({"name": item, ORIGIN: origin_of(data, "costs", file), "_where": where})
        elif isinstance(item, dict):
            origin = item.get(ORIGIN, file)
            entry = check_keys(item, schema.COST, origin, where, fill_defaults=False)
            entry[ORIGIN] = origin
            entry["_where"] = where
            costs.append(entry)
        else:
            raise DeffeError(f"a cost is a name or an object with 'name', got {_kind(item)}",
                             file=origin_of(data, "costs", file), where=where)
    top["costs"] = costs

    for name, spec in schema.SECTIONS.items():
        section = top.get(name) or {}
        top[name] = check_keys(section, spec, file, name)

    dask = top["framework"].get("dask") or {}
    top["framework"]["dask"] = check_keys(dask, schema.DASK, origin_of(data.get("framework"), "dask", file),
                                          "framework.dask", fill_defaults=False)
    if top["evaluate"].get("simulator"):
        top["evaluate"]["simulator"] = check_keys(top["evaluate"]["simulator"], schema.PLACEMENT, file,
                                                  "evaluate.simulator")
    else:
        top["evaluate"]["simulator"] = {k: _copy(v.default) for k, v in schema.PLACEMENT.items()}
    explores = []
    for i, item in enumerate(top["exploration"]["explore"]):
        where = f"exploration.explore[{_position(item, i)}]"
        if not isinstance(item, dict):
            raise DeffeError(f"expected an object, got {_kind(item)}",
                             file=origin_of(data.get("exploration"), "explore", file), where=where)
        origin = item.get(ORIGIN, file)
        entry = check_keys(item, schema.EXPLORE, origin, where, fill_defaults=True)
        entry[ORIGIN] = origin
        entry["_where"] = where
        explores.append(entry)
    top["exploration"]["explore"] = explores
    top[ORIGIN] = file
    return top


def deffe_keys(data: dict) -> list[str]:
    """The key paths of a (merged, raw) config that only the original Deffe's configs use: such a config
    gets Deffe's own outputs too (framework.deffe_tables: auto)."""
    found = []

    def scan(obj: Any, spec: dict[str, schema.Key], path: str) -> None:
        if isinstance(obj, dict):
            found.extend(f"{path}{k}" for k in obj if k in spec and spec[k].deffe)

    def items(x: Any) -> list:   # a list of the raw config (validate says what is wrong with anything else)
        return x if isinstance(x, list) else []

    for name, spec in schema.SECTIONS.items():
        scan(data.get(name), spec, f"{name}.")
    for list_key in ("knobs", "scenarios"):
        for i, item in enumerate(items(data.get(list_key))):
            scan(item, schema.KNOB, f"{list_key}[{i}].")
    explore = data["exploration"].get("explore") if isinstance(data.get("exploration"), dict) else None
    for i, item in enumerate(items(explore)):
        scan(item, schema.EXPLORE, f"exploration.explore[{i}].")
    return found
