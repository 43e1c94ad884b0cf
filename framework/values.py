"""Deffe's value syntax, parsed once, in the order written.

A knob's ``values`` may be a list, a scalar, or a string:

* ``"1,2-4,5"``   -> 1, 2, 3, 5   (a range ``a-b`` excludes ``b``, as in Deffe)
* ``"0-100-25"``  -> 0, 25, 50, 75 (``a-b-step``)
* ``"0.5-2.0-0.5"`` -> 0.5, 1.0, 1.5 and ``"1.5-3"`` -> 1.5, 2.5 (a decimal range, Deffe's np.arange,
  counted in the decimals written: 0.1 steps give 0.3, never 0.30000000000000004, and the end is
  always excluded, where np.arange's rounding sometimes lists it)
* ``"core[0-3]x"`` -> core0x, core1x, core2x (a range inside brackets keeps its prefix/postfix; one such
  range per value: "a[1-3]b[1-3]" and an unclosed "x[1-3" are errors; other brackets are text: "arr[i]")
* ``[1, 2, "10-12"]`` -> 1, 2, 10, 11
* ``"$HOME/bin"`` -> environment variables expanded in plain values

Numbers written as text become numbers ("4" -> 4, "2.5" -> 2.5) so that values
compare by value everywhere; anything else stays text.
"""
from __future__ import annotations

import decimal
import math
import os
import re
from typing import Any

from .errors import DeffeError

_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)(?:\s*-\s*(\d+))?\s*$")
# Deffe's decimal range (a field with a '.'): like Deffe, a range starts with a digit, so "-1-5" is text
_DECIMAL_RANGE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*-\s*(\d+(?:\.\d*)?)(?:\s*-\s*(\d+(?:\.\d*)?))?\s*$")
_BRACKET = re.compile(r"^(.*)\[(.*)\](.*)$")
_INT = re.compile(r"^[+-]?\d+$")
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")   # control characters but the tab
_FLOAT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?(?:inf|nan)$", re.I)

Value = int | float | str | bool
MAX_LISTED = 1_000_000   # values one range of the string syntax may list


def json_kind(value: Any) -> str:
    """What a JSON value is, in the words of JSON rather than of Python (null, not NoneType)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# a switch written as text, in any case (a config's "true", Deffe's "True"): what it means
SWITCH_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def to_number(text: str) -> int | float | None:
    """The number a piece of text spells, or None."""
    t = text.strip()
    if _INT.match(t):
        try:
            return int(t)
        except ValueError:   # beyond Python's 4,300 digits for an int from text: no float holds it either
            return float(t)
    if _FLOAT.match(t):
        return float(t)
    return None


def shorten(text: str, limit: int = 60, quote: bool = True) -> str:
    """A value for a one-line message: quoted, its first ``limit`` characters and '...' (a stray quote makes the
    rest of a file one cell)."""
    cut = text if len(text) <= limit else text[:limit]
    return (repr(cut) if quote else cut) + ("..." if len(text) > limit else "")


def to_float(text: str) -> float | None:
    """The float a piece of text spells (NaN when it spells no number), or None for an integer beyond
    any float: callers decide which of NaN and inf they accept."""
    n = to_number(text)
    try:
        return float(n) if n is not None else math.nan
    except OverflowError:
        return None


def typed(value: Any) -> Value:
    """A JSON scalar as a knob value: numeric text becomes a number."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        n = to_number(value)
        return n if n is not None else value
    raise TypeError(f"not a scalar: {value!r}")


def _expand_piece(piece: str, where: str) -> list[Value]:
    return [_plain(v, where) for v in _expand(piece, where)]


def _plain(value: Value, where: str) -> Value:
    """A value as it can be written into a table, a script and a command line: text without control
    characters (a line end), numbers finite."""
    if isinstance(value, str) and _CONTROL.search(value):
        raise DeffeError(f"value {value!r} holds a control character", where=where,
                         hint="a knob's text values are one line of printable text")
    if isinstance(value, float) and not math.isfinite(value):
        raise DeffeError(f"{value!r} is not a value", where=where, hint="a knob's numbers are finite")
    return value


def _expand(piece: str, where: str) -> list[Value]:
    prefix, core, postfix = _bracketed(piece, where)
    r = _RANGE.match(core)
    if r:
        start, end = int(r.group(1)), int(r.group(2))
        step = int(r.group(3)) if r.group(3) else 1
        if step == 0:
            raise DeffeError(f"range '{piece}' has a step of 0", where=where)
        count = range_count(start, end, step)   # counted, not len(range(...)): beyond sys.maxsize it overflows
        if count > MAX_LISTED:
            raise DeffeError(f"range '{piece}' lists {count:,} values", where=where,
                             hint=f'list at most {MAX_LISTED:,}; a long range is a knob of its own: '
                                  f'{{"type": "integer", "min": {start}, "max": {end - 1}}}')
        if count == 0:
            single = _wrap(prefix, f"{start}-{start + step}", postfix)
            raise DeffeError(f"range '{piece}' is empty (the end is excluded, as in Deffe)", where=where,
                             hint=f"write '{single}' for the single value {prefix}{start}{postfix}")
        out = [f"{prefix}{i}{postfix}" for i in range(start, end, step)]
        return [typed(v) for v in out] if not (prefix or postfix) else out
    d = _DECIMAL_RANGE.match(core)
    if d:
        out = [f"{prefix}{v}{postfix}" for v in _decimal_range(piece, d, where, prefix, postfix)]
        return [typed(v) for v in out] if not (prefix or postfix) else out
    text = os.path.expandvars(piece.strip())
    return [typed(text)] if text != "" else []


def _is_range(text: str) -> bool:
    return bool(_RANGE.match(text) or _DECIMAL_RANGE.match(text))


def _wrap(prefix: str, core: str, postfix: str) -> str:
    """A range as written with its prefix and postfix: 'x[3-4]y' (a bare range without either)."""
    return f"{prefix}[{core}]{postfix}" if prefix or postfix else core


def _bracketed(piece: str, where: str) -> tuple[str, str, str]:
    """The prefix, range and postfix of a value with one range in brackets ("core[0-3]x"); the piece itself
    (no prefix or postfix) for anything else. Brackets around anything but a range are text ("arr[i]"). Two
    ranges in brackets, or a range whose bracket is not closed ("x[1-3"), are errors: they were read as one
    text value, or one range beside literal text."""
    groups = [g for g in re.finditer(r"\[([^\[\]]*)\]", piece) if _is_range(g.group(1))]
    if len(groups) > 1:
        raise DeffeError(f"value '{piece}' holds {len(groups)} ranges in brackets", where=where,
                         hint="a value takes one range in brackets ('core[0-3]x'); list the combinations, "
                              "or make each range a knob of its own")
    if groups:
        g = groups[0]
        return piece[:g.start()], g.group(1), piece[g.end():]
    if re.search(r"\[\s*\d[\d.]*\s*-\s*\d", piece) or re.search(r"\d\s*-\s*\d[\d.\s-]*\]", piece):
        raise DeffeError(f"value '{piece}' has a range with an unbalanced bracket", where=where,
                         hint="close the bracket ('x[1-3]' lists x1, x2) or remove it")
    return "", piece, ""


def range_count(start: int, end: int, step: int) -> int:
    """How many values range(start, end, step) holds (step > 0), for integers of any size: len(range(...))
    raises OverflowError beyond sys.maxsize."""
    return max(0, (end - start + step - 1) // step)


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def _decimal_range(piece: str, m: re.Match, where: str, prefix: str = "", postfix: str = "") -> list[str]:
    """Deffe's np.arange(start, end, step) of a range with a decimal point, as the texts of its values,
    computed in decimal so that no value has more decimals than the start and the step have."""
    fields = [m.group(1), m.group(2), m.group(3) or "1"]
    with decimal.localcontext() as ctx:
        ctx.prec = 50 + sum(len(f) for f in fields)
        start, end, step = (decimal.Decimal(f) for f in fields)
        if step == 0:
            raise DeffeError(f"range '{piece}' has a step of 0", where=where)
        n = max(0, int(((end - start) / step).to_integral_value(rounding=decimal.ROUND_CEILING)))
        if n > MAX_LISTED:
            raise DeffeError(f"range '{piece}' lists {n:,} values", where=where,
                             hint=f'list at most {MAX_LISTED:,}; a long range is a knob of its own: '
                                  f'{{"type": "real", "min": {fields[0]}, "max": {fields[1]}, "step": {fields[2]}}}')
        if n == 0:
            raise DeffeError(f"range '{piece}' is empty (the end is excluded, as in Deffe)", where=where,
                             hint=f"write '{_wrap(prefix, f'{fields[0]}-{start + step}-{fields[2]}', postfix)}' "
                                  f"for the single value {prefix}{fields[0]}{postfix}")
        quantum = decimal.Decimal(1).scaleb(-max(1, _decimals(fields[0]), _decimals(fields[2])))
        return [_shortest(start + i * step, quantum) for i in range(n)]


def _shortest(value: decimal.Decimal, quantum: decimal.Decimal) -> str:
    """A decimal value's text as Deffe's str(float) writes it: 1.0, 0.75, 2.5."""
    text = format(value.quantize(quantum).normalize(), "f")
    return text if "." in text else text + ".0"


def parse_values(raw: Any, where: str, delim: str = ",") -> list[Value]:
    """Expand Deffe's value syntax into the list of values, in written order."""
    if isinstance(raw, list):
        out: list[Value] = []
        for i, item in enumerate(raw):
            if isinstance(item, str):
                out.extend(parse_string(item, f"{where}[{i}]", delim))
            elif isinstance(item, (int, float, bool)):
                out.append(_plain(item, f"{where}[{i}]"))
            else:
                raise DeffeError(f"a value must be a number or a string, not {json_kind(item)}",
                                 where=f"{where}[{i}]")
        return out
    if isinstance(raw, str):
        return parse_string(raw, where, delim)
    if isinstance(raw, (int, float, bool)):
        return [_plain(raw, where)]
    raise DeffeError(f"values must be a list, a number or a string, not {type(raw).__name__}",
                     where=where)


def whole_range(raw: Any, delim: str = ",") -> range | None:
    """The integers of a values entry that is one plain range of the string syntax ("1-1000000", "0-100-5",
    or a list of that one string), as a range: the values `parse_values` lists, without making them. None for
    anything else (several pieces, a prefix or suffix, a decimal range, an empty range or a step of 0, which
    `parse_values` reports), and for integers beyond 2**53 (their keys are floats)."""
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if not isinstance(raw, str) or delim in raw or _BRACKET.match(raw):
        return None
    r = _RANGE.match(raw.strip())
    if not r:
        return None
    start, end = int(r.group(1)), int(r.group(2))
    step = int(r.group(3)) if r.group(3) else 1
    if step == 0 or max(start, end) > 2 ** 53:
        return None
    return range(start, end, step) if 0 < range_count(start, end, step) <= MAX_LISTED else None


def parse_string(text: str, where: str, delim: str = ",") -> list[Value]:
    out: list[Value] = []
    for piece in re.split(r"\s*" + re.escape(delim) + r"\s*", text.strip()):
        if piece == "":
            continue
        out.extend(_expand_piece(piece, where))
    return out


def parse_names(raw: Any, where: str) -> list[str]:
    """A list of names: ``"a, b"`` or ``["a", "b"]`` (groups, costs)."""
    if raw is None:
        return []
    if isinstance(raw, str):
        return [p for p in re.split(r"\s*,\s*", raw.strip()) if p]
    if isinstance(raw, list):
        names: list[str] = []
        for i, item in enumerate(raw):
            if not isinstance(item, str):
                raise DeffeError(f"expected a name (text), got {type(item).__name__}",
                                 where=f"{where}[{i}]")
            names.extend(parse_names(item, f"{where}[{i}]"))
        return names
    raise DeffeError(f"expected a name or a list of names, got {type(raw).__name__}", where=where)


def value_key(value: Value) -> tuple:
    """Identity of a value for matching: 1, 1.0, "1" and "1.0" are the same value."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return _number_key(value)
    if isinstance(value, str):
        n = to_number(value)
        return _number_key(n) if n is not None else ("s", value)
    return ("s", str(value))


def _number_key(n: int | float) -> tuple:
    """A number's key: its float (3 and 3.0 are one value, and the keys of points stored by earlier runs stay
    what they were), but an integer no float holds exactly keeps itself: 2**53 + 1 and 2**53 are two values
    (as floats they were one, and a list of both was refused as listing one value twice)."""
    if isinstance(n, int):
        try:
            f = float(n)
        except OverflowError:
            return ("n", n)
        if f != n:
            return ("n", n)
    else:
        f = n
    return ("n", 0.0 if f == 0 else f)


def format_value(value: Value) -> str:
    """How a value is written into scripts, CSV files and command lines."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars print as plain numbers
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as the same float
    return str(value)


# units whose values read best with an SI prefix (0.000231 s -> 231 us, 5.8e9 B -> 5.8 GB)
_PREFIXED = {"s", "B", "FLOP", "FLOP/s", "B/s", "Hz", "W", "J", "bit/s"}
_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"))


def quantity_text(value: float, unit: str | None = None, digits: int = 4) -> str:
    """A measured number for people: its unit, an SI prefix where the unit takes one (no kiloseconds)."""
    v = float(value)
    if not math.isfinite(v):
        return f"{v:g}" + (f" {unit}" if unit else "")
    if not unit:   # a count (cycles, instructions) in full, as any number of 1,000 or more: 2,992 and 3,128,
        # never 2,992 beside 3128 (3127.8 to 4 places) and 1.195e+04; below 1,000 to `digits` places
        if abs(v) < 1e15 and (v.is_integer() or abs(v) >= 999.5):
            return f"{round(v):,}"
        return f"{v:.{digits}g}"
    if unit in _PREFIXED and v != 0:
        for factor, prefix in _PREFIXES:
            if abs(v) >= factor or factor == 1e-9:
                if unit == "s" and factor > 1:
                    continue
                return f"{v / factor:.{digits}g} {prefix}{unit}"
    return f"{v:.{digits}g} {unit}"
