"""Rows evaluated elsewhere (``-pre-evaluated-data CSV``) entering the run store.

Values are matched by value, not by text: "1.0" in the CSV matches the knob
value 1. Columns: every knob of the exploration (extra columns are ignored),
every cost, and optionally ``status``. Rows whose values lie outside the
exploration's space are skipped and counted; a row cut short (fewer cells than
the header where a knob or cost is read) is an error; a cost that is not a number
(NaN and empty cells are "not measured" in a row whose status says so), or a
measured (ok) cost that is infinite, is an error naming its line; a measured
cost outside its valid range (``costs[].min``/``max``) makes the row failed, as
it makes an evaluation failed. A point given again with other costs keeps its
first row (the store is never overwritten), and the reader says which lines it
did not take (`Preloaded.notes`). The file is read row by row and the rows kept are held
as numbers, so a file of millions of rows needs memory for its numbers only.

How the cells are read (separators, quotes, a repeated header, decimal commas): `csv_rows`.

Files written by the original Deffe are read as it read them (`match_columns`):
``, `` separators, a column named by a knob's ``map`` alias, headers in another
case (``CPU_Cycles``), and no column for a knob that takes one value in the
exploration (Deffe's tables may leave out a single-valued scenario).
"""
from __future__ import annotations

import math
import re
from array import array
from collections.abc import Sequence
from typing import Any
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .csv_rows import read_rows
from .errors import DeffeError
from .protocols import STATUSES, Result
from .space import DesignSpace
from .values import format_value, shorten, to_number


@dataclass
class Preloaded:
    codes: np.ndarray
    results: Sequence[Result]
    skipped: int
    first_skip: str | None
    lines: Sequence[int] = ()                                  # the line of each row kept
    notes: list[str] = field(default_factory=list)             # what the reader warns of, one line each


def result_text(result: Result, names: Sequence[str]) -> str:
    """A row's outcome for a message: 't=10, m=2' when measured, else its status, and the costs it gives
    ('infeasible (t=inf)'): two rows of one status differ by them."""
    costs = ", ".join(f"{c}={result.costs[c]:g}" for c in names if c in result.costs)
    if result.status != "ok":
        return f"{result.status} ({costs})" if costs else result.status
    return costs


class PreloadedResults(Sequence):
    """The results of the rows read, held as numbers (a `Result` is made when a row is looked at), so that a
    file of a million rows does not become a million dicts."""

    def __init__(self, statuses: bytes, costs: np.ndarray, cost_names: list[str],
                 errors: dict[int, str] | None = None, measured: dict[int, dict[str, float]] | None = None):
        self.statuses, self.costs, self.cost_names = statuses, costs, cost_names
        self.errors = errors or {}   # row -> why it is failed, for the few rows the reader made failed
        self.measured = measured or {}   # row -> its costs, of those rows (outside a valid range: kept aside)

    def __len__(self) -> int:
        return len(self.statuses)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        costs = {c: float(v) for c, v in zip(self.cost_names, self.costs[i]) if not math.isnan(v)}
        i = range(len(self))[i]   # a negative index counts from the end
        return Result(STATUSES[self.statuses[i]], costs, self.errors.get(i), None, cached=True,
                      origin="pre-evaluated")


def find_column(header: list[str], *names: str) -> int | None:
    """The column of the first name found: as written, else in another case."""
    for name in names:
        if name in header:
            return header.index(name)
    lower = [h.lower() for h in header]
    for name in names:
        if name.lower() in lower:
            return lower.index(name.lower())
    return None


def match_columns(header: list[str], space: DesignSpace, shown: str) -> dict[str, int | None]:
    """Knob name -> its column (None: not in the file, and the knob has one value, which every row takes)."""
    cols: dict[str, int | None] = {}
    missing = []
    for knob in space.knobs:
        i = find_column(header, knob.name)
        alias = find_column(header, knob.map) if knob.map else None
        if i is not None and alias is not None and alias != i:
            # one would be read and the other dropped in silence, even where the two disagree
            raise DeffeError(f"columns '{header[i]}' (knob {knob.name}) and '{header[alias]}' (its map alias) both "
                             f"give knob {knob.name} (columns {i + 1} and {alias + 1})", file=shown,
                             where="line 1", hint="remove one of the two columns")
        i = alias if i is None else i
        if i is None and not (knob.finite and knob.size == 1):
            missing.append(knob.name)
        cols[knob.name] = i
    if missing:
        raise DeffeError(f"no column for knob{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                         file=shown, where="line 1", hint=_columns_hint(header))
    _no_twins(header, cols.values(), shown)
    return cols


def _columns_hint(header: list[str], budget: int = 160) -> str:
    """The header, short enough for one line: a JSON file given as a CSV has its whole text as line 1."""
    shown: list[str] = []
    length = 0
    for h in header:
        h = h if len(h) <= 40 else h[:37] + "..."
        if shown and length + len(h) > budget:
            return f"the columns are: {', '.join(shown)}, ... ({len(header)} columns)"
        shown.append(h)
        length += len(h) + 2
    return f"the columns are: {', '.join(shown)}"


def cost_columns(header: list[str], names: list[str], shown: str) -> dict[str, int | None]:
    """Cost name -> its column (None: not in the file)."""
    cols = {c: find_column(header, c) for c in names}
    _no_twins(header, cols.values(), shown)
    return cols


def _no_twins(header: list[str], columns, shown: str) -> None:
    """A column the rows are read from must be the only one of its name."""
    for i in columns:
        if i is not None and header.count(header[i]) > 1:
            where = [str(k + 1) for k, h in enumerate(header) if h == header[i]]
            raise DeffeError(f"column '{header[i]}' appears {len(where)} times (columns {', '.join(where)})",
                             file=shown, where="line 1", hint="rename or remove all but one of them")


def cells_of(cells: list[str], cols: dict[str, int | None], space: DesignSpace) -> list[str]:
    """A row's text per knob (a knob without a column takes its one value)."""
    return [cells[cols[k.name]].strip() if cols[k.name] is not None else format_value(k.value(0))
            for k in space.knobs]


def load_csv(path: Path, shown: str, space: DesignSpace, costs: Sequence[Any]) -> Preloaded:
    """The rows of a pre-evaluated data file. ``costs``: the config's costs (`config.Cost`, whose valid range
    then applies: a measurement outside it makes the row failed, as it makes an evaluation failed), or their
    names."""
    cost_names = [c if isinstance(c, str) else c.name for c in costs]
    ranges = [None if isinstance(c, str) else c for c in costs]
    header, rows = read_rows(path, shown, column_names(space, cost_names))
    knob_cols = match_columns(header, space, shown)
    cost_cols = cost_columns(header, cost_names, shown)
    missing_costs = [c for c, i in cost_cols.items() if i is None]
    if len(missing_costs) == len(cost_names):
        raise DeffeError(f"no column for cost {missing_costs[0]}" if len(missing_costs) == 1 else
                         f"no column for any cost ({', '.join(missing_costs)})", file=shown, where="line 1",
                         hint=f"{_columns_hint(header)}; name a cost's column as the config's costs, or give "
                              "data that has them")
    notes = []
    if missing_costs:   # as Deffe ("Couldn't find data for power in preloaded data file"), which went on
        s = "s" if len(missing_costs) > 1 else ""
        notes.append(f"no column for cost{s} {', '.join(missing_costs)}: its rows are measured for "
                     f"{', '.join(c for c in cost_names if c not in missing_costs)} only (a model learns "
                     f"{'those costs' if s else 'that cost'} from other rows)")
    status_col = cost_columns(header, ["status"], shown)["status"]
    codes, values = array("d"), array("d")   # the rows kept, as numbers
    lines = array("I")   # 4 bytes a row
    statuses = bytearray()
    errors: dict[int, str] = {}
    aside: dict[int, dict[str, float]] = {}
    skipped, first_skip = 0, None
    needed = [i for i in [*knob_cols.values(), *cost_cols.values()] if i is not None]
    # each knob's codes of the texts met (a finite knob takes few values: a cell's text is matched once, not on
    # every row); a knob without a column reads its one value
    knob_read = [(k, knob_cols[k.name], {} if k.finite else None,
                  None if knob_cols[k.name] is not None else format_value(k.value(0))) for k in space.knobs]
    cost_read = [(c, cost_cols[c]) for c in cost_names]
    for line, cells in rows.read(needed + ([status_col] if status_col is not None else [])):
        if len(cells) < len(header):
            if max(needed, default=-1) >= len(cells):   # a row cut short is no point outside the space
                raise DeffeError(short_row(cells, header), file=shown, where=f"line {line}",
                                 hint="a row has a cell for each column of the header; was the file cut short?")
            cells = cells + [""] * (len(header) - len(cells))
        try:
            row = [_code(m, k, cells[i].strip() if i is not None else fixed_text)
                   for k, i, m, fixed_text in knob_read]
        except (ValueError, TypeError):   # outside the space: the space's own reading names the value
            try:
                row = space.code_list(cells_of(cells, knob_cols, space))
            except DeffeError as e:
                _no_other_header(cells, header, cost_cols, shown, line)
                skipped += 1
                if first_skip is None:
                    first_skip = f"line {line}: {e.what}"
                continue
        status = cells[status_col].strip() if status_col is not None else "ok"
        status = status or "ok"
        if status not in STATUSES:
            _no_other_header(cells, header, cost_cols, shown, line)
            raise DeffeError(f"status '{status}' is not one of {', '.join(STATUSES)}", file=shown,
                             where=f"line {line}")
        measured = []
        for c, col in cost_read:
            if col is None:   # a cost the file has no column for: not measured (a NaN, as an empty cell)
                measured.append(math.nan)
                continue
            text = cells[col].strip()
            if _PLAIN.match(text):   # a plain number: what to_number reads it as, without its two regexes
                f = float(text)
                if f - f == 0 and f != 0:   # finite (else: as below, an integer beyond a float too); -0 is 0
                    measured.append(f)
                    continue
            n = to_number(text)
            if status != "ok" and (text == "" or n is None and text.lower() in NO_NUMBER
                                   or isinstance(n, float) and math.isnan(n)):
                # not measured: empty, or NaN as pandas and numpy write a missing measurement (an infinite cost
                # stays: an infeasible row may say its cost is infinite)
                measured.append(math.nan)
                continue
            if n is None or (isinstance(n, float) and math.isnan(n)):
                _no_other_header(cells, header, cost_cols, shown, line)
                raise DeffeError(f"cost '{c}' is not a number: {shorten(text)}", file=shown, where=f"line {line}",
                                 hint=NOT_MEASURED)
            f = _float(n, c, text, shown, line)
            if math.isinf(f) and status == "ok":
                raise DeffeError(f"cost '{c}' is infinite: {shorten(text, 40)}", file=shown, where=f"line {line}",
                                 hint=NOT_MEASURED)
            measured.append(f)
        if status == "ok":
            why = next((w for cost, v in zip(ranges, measured) if cost is not None and (w := cost.invalid(v))),
                       None)
            if why:   # as an evaluation's (driver_batch's _valid): failed, its costs no measurement (kept aside)
                aside[len(statuses)] = dict(zip(cost_names, measured))
                status, measured = "failed", [math.nan] * len(cost_names)
                errors[len(statuses)] = f"{why}: not a valid measurement ({shown}, line {line})"
        values.extend(measured)
        codes.extend(row)
        lines.append(line)
        statuses.append(STATUSES.index(status))
    arr = np.frombuffer(codes, dtype=float).reshape(-1, len(space.names))
    cost_arr = np.frombuffer(values, dtype=float).reshape(-1, len(cost_names))
    results = PreloadedResults(bytes(statuses), cost_arr, list(cost_names), errors, aside)
    if errors:
        first = min(errors)
        notes.append(f"{_rows(len(errors))} outside a cost's valid range stored as failed (first: line "
                     f"{lines[first]}: {errors[first].split(': not a valid')[0]})")
    notes += _repeats(arr, results, lines, cost_names)
    return Preloaded(arr, results, skipped, first_skip, lines, notes)


def _no_other_header(cells: list[str], header: list[str], cost_cols: dict[str, int | None], shown: str,
                     line: int) -> None:
    """A row that is no point (outside the space, a status or a cost that is no value) but a header: files of
    other columns joined with cat. A repeat of line 1 (in any order) is taken out by `csv_rows` already, and so
    is a header whose first cell names a column; one that starts with a name line 1 lacks reached here, was
    skipped as a point outside the space, and the rows after it read in line 1's order. It is a header when its
    cost cells are the header's cost names, or when every cell under a name is text, no number, and its cost
    cells name columns. Checked only on a row already refused: a file's good rows cost nothing."""
    at = [i for i in cost_cols.values() if i is not None]
    text = [c.strip().lower() for c in cells]
    named = all(text[i] == header[i].lower() for i in at)
    if not named:
        names = {h.lower() for h in header if h}
        named = all(text[i] in names for i in at) and \
            all(c and to_number(c) is None for c, h in zip(text, header) if h)
    if named:
        raise DeffeError(f"line {line} is a header with other columns than line 1's "
                         f"({shorten(', '.join(c.strip() for c in cells), 100, quote=False)})", file=shown,
                         where=f"line {line}", hint="join only files of the same columns, or give each on its own")


def other_than_stored(pre: Preloaded, rows: Sequence[int], stored: Sequence[Result], names: list[str]) -> str | None:
    """The note for rows of the data (indices into ``pre``) whose point the store already held (``stored``,
    in the same order) with other costs or another status: the store is never overwritten, the stored
    result stays. None when they all agree."""
    other = [(i, s) for i, s in zip(rows, stored) if not _same(pre.results[i], s, names)]
    if not other:
        return None
    shown = "; ".join(f"line {pre.lines[i]}: {result_text(pre.results[i], names)} where the store holds "
                      f"{result_text(s, names)}" for i, s in other[:3])
    return (f"{_rows(len(other))} give{'s' if len(other) == 1 else ''} other costs than the store holds for "
            f"{'its' if len(other) == 1 else 'their'} point, whose stored costs are kept "
            f"({shown}{'; ...' if len(other) > 3 else ''})")


def _same(a: Result, b: Result, names: list[str]) -> bool:
    if a.status != b.status:
        return False
    return all(a.costs.get(c) == b.costs.get(c) or (c in a.costs and c in b.costs and math.isnan(a.costs[c])
                                                     and math.isnan(b.costs[c])) for c in names)


# what tools write for a missing number (pandas' NA, R's NA, numpy's nan are spelled so)
NO_NUMBER = {"na", "n/a", "nan", "null", "none", "-nan", "<na>"}


def column_names(space: DesignSpace, costs: Sequence[str]) -> list[str]:
    """The names of the columns a reader looks for: knobs (or their Deffe alias) and costs."""
    return [*space.names, *(k.map for k in space.knobs if k.map), *costs]


def short_row(cells: list[str], header: list[str]) -> str:
    return f"the row has {len(cells)} cell{'s' if len(cells) != 1 else ''} where the header (line 1) has {len(header)}"


NOT_MEASURED = ("a row that was not measured says so in a 'status' column (failed, infeasible or timeout), "
                "its costs left empty; or leave it out")


def _rows(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"


def _repeats(codes: np.ndarray, results: PreloadedResults, lines: Sequence[int], names: list[str]) -> list[str]:
    """A point given again with other costs (or another status): the first row stays (the store keeps the
    first result of a point, never overwritten); say which rows were not taken. Repeats of the same costs are
    silent."""
    n = len(codes)
    if n < 2:
        return []
    # rows of the same codes are the same point: group them by sorting the rows as bytes (a view, no copy)
    rows = np.ascontiguousarray(codes).view(np.dtype((np.void, codes.itemsize * codes.shape[1]))).ravel()
    index = np.int32 if n < 2 ** 31 else np.int64   # half the memory of the indices, as a file has rows
    key = np.zeros(n, dtype=np.uint64)        # a hash of each row's bytes: the same point, the same key
    for j in range(codes.shape[1]):           # splitmix64 of each code's bits, combined
        z = codes[:, j].view(np.uint64).copy()
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
        key *= np.uint64(0x9E3779B97F4A7C15)
        key ^= z
        del z
    order = np.argsort(key, kind="stable").astype(index)   # within a point, its rows in file order
    del key   # rows of one key are compared below: two points of one key (a collision) are told apart
    repeat = np.empty(n - 1, dtype=bool)      # the sorted row before is the same point
    for start in range(0, n - 1, 1 << 20):    # in chunks: no copy of every row at once
        end = min(n - 1, start + (1 << 20))
        repeat[start:end] = rows[order[start + 1:end + 1]] == rows[order[start:end]]
    if not repeat.any():
        return []
    first = np.arange(n, dtype=index)
    first[1:][repeat] = 0
    np.maximum.accumulate(first, out=first)   # the sorted position of the first row of each point
    again = np.flatnonzero(repeat).astype(index) + 1
    del repeat
    later = order[again]
    earlier = order[first[again]]
    del order, first, again
    statuses = np.frombuffer(results.statuses, dtype=np.uint8)
    same = statuses[later] == statuses[earlier]
    for j in range(results.costs.shape[1]):
        a, b = results.costs[later, j], results.costs[earlier, j]
        same &= (a == b) | (np.isnan(a) & np.isnan(b))
    other = np.flatnonzero(~same)
    if not len(other):
        return []
    later, earlier = later[other], earlier[other]
    keep = np.argsort(later, kind="stable")   # in the file's order
    later, earlier = later[keep], earlier[keep]
    other = later
    pairs = [(int(i), int(j)) for i, j in zip(later[:3], earlier[:3])]
    shown = "; ".join(f"line {lines[i]}: {result_text(results[i], names)} where line {lines[j]} gave "
                      f"{result_text(results[j], names)}" for i, j in pairs)
    more = "; ..." if len(other) > 3 else ""
    return [f"{_rows(len(other))} give{'s' if len(other) == 1 else ''} other costs for a point of an earlier row, "
            f"whose costs are kept ({shown}{more})"]


# a number as to_number reads it, ASCII digits only (float() also takes '1_000', 'infinity' and other digits)
_PLAIN = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z", re.ASCII)


def _code(memo: dict[str, float] | None, knob: Any, text: str) -> float:
    """A knob's code of a cell's text, remembered (``memo``, for a finite knob); ValueError or TypeError when
    the text is no value of the knob."""
    if memo is None:
        return knob.code(text)
    code = memo.get(text)
    if code is None:
        code = knob.code(text)
        if len(memo) < 1_000_000:
            memo[text] = code
    return code


def _float(n: int | float, cost: str, text: str, shown: str, line: int) -> float:
    try:
        return float(n)
    except OverflowError:   # an integer beyond any float
        digits = len(text.strip().lstrip("+-"))
        raise DeffeError(f"cost '{cost}' is too large: an integer of {digits} digits ({text.strip()[:12]}...), "
                         "beyond any floating-point number (about 1.8e308)", file=shown, where=f"line {line}",
                         hint="check the column; a cost is a measurement") from None
