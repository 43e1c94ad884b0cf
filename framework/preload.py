"""Rows evaluated elsewhere (``-pre-evaluated-data CSV``) entering the run store.

Values are matched by value, not by text: "1.0" in the CSV matches the knob
value 1. Columns: every knob of the exploration (extra columns are ignored),
every cost, and optionally ``status``. Rows whose values lie outside the
exploration's space are skipped and counted; a cost that is not a number is an
error naming its line. The file is read row by row and the rows kept are held
as numbers, so a file of millions of rows needs memory for its numbers only.

A file with ';' between cells (Excel where the decimal mark is a comma) has its numbers' decimal commas
read as points: ``12,5`` is 12.5.

Files written by the original Deffe are read as it read them (`match_columns`):
``, `` separators, a column named by a knob's ``map`` alias, headers in another
case (``CPU_Cycles``), and no column for a knob that takes one value in the
exploration (Deffe's tables may leave out a single-valued scenario).
"""
from __future__ import annotations

import csv
import itertools
import math
import re
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DeffeError
from .protocols import STATUSES, Result
from .space import DesignSpace
from .values import format_value, to_number


@dataclass
class Preloaded:
    codes: np.ndarray
    results: Sequence[Result]
    skipped: int
    first_skip: str | None


class PreloadedResults(Sequence):
    """The results of the rows read, held as numbers (a `Result` is made when a row is looked at), so that a
    file of a million rows does not become a million dicts."""

    def __init__(self, statuses: bytes, costs: np.ndarray, cost_names: list[str]):
        self.statuses, self.costs, self.cost_names = statuses, costs, cost_names

    def __len__(self) -> int:
        return len(self.statuses)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        costs = {c: float(v) for c, v in zip(self.cost_names, self.costs[i]) if not math.isnan(v)}
        return Result(STATUSES[self.statuses[i]], costs, None, None, cached=True, origin="pre-evaluated")


_UNDECODED = re.compile("[\udc80-\udcff]")   # bytes that are not UTF-8, as surrogateescape keeps them


def read_rows(path: Path, shown: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header and (line number, cells) of each row of a CSV file that holds a cell. The rows are read as they
    are iterated: a file of any size is never held whole."""
    try:
        # utf-8-sig: a CSV saved by Excel starts with a byte-order mark, which is not part of the first column;
        # bytes that are not UTF-8 are kept (as surrogates) until their line is known
        fh = open(path, newline="", encoding="utf-8-sig", errors="surrogateescape")
    except FileNotFoundError:
        raise DeffeError("file not found", file=shown) from None
    except IsADirectoryError:
        raise DeffeError("is a directory, not a CSV file", file=shown) from None
    except (OSError, ValueError) as e:   # no permission, a name the system refuses
        raise DeffeError(f"cannot read the file ({getattr(e, 'strerror', None) or e})", file=shown) from None
    lines = _utf8_lines(fh, shown)
    try:
        first = next(lines, "")
    except BaseException:
        fh.close()
        raise
    sep = separator(first)
    reader = csv.reader(itertools.chain([first] if first else [], lines), delimiter=sep,
                        skipinitialspace=True)   # Deffe wrote ", " between cells
    try:
        header = _next_row(reader, shown)
        if header is None:
            raise DeffeError("the file is empty", file=shown, hint="the first line of a CSV file names its columns")
        if not any(h.strip() for h in header):
            raise DeffeError("the first line is empty", file=shown, where="line 1",
                             hint="the first line of a CSV file names its columns")
    except BaseException:
        fh.close()
        raise
    return [h.strip() for h in header], _body(fh, reader, shown, decimal_comma=sep == ";")


def separator(header: str) -> str:
    """The cells' separator, from the header line: a comma, else a semicolon (Excel's CSV where the decimal
    mark is a comma), else a tab (a sheet's cells pasted as text)."""
    for sep in (",", ";", "\t"):
        if sep in header:
            return sep
    return ","


def _next_row(reader, shown: str) -> list[str] | None:
    try:
        row = next(reader)
    except StopIteration:
        return None
    except csv.Error as e:
        raise DeffeError(f"not a readable CSV row ({e})", file=shown, where=f"line {reader.line_num}") from None
    except OSError as e:
        raise DeffeError(f"cannot read the file ({e.strerror or e})", file=shown,
                         where=f"line {reader.line_num + 1}") from None
    return row


def _utf8_lines(fh, shown: str) -> Iterator[str]:
    """The lines of a file; a line holding bytes that are not UTF-8 is an error naming it."""
    for n, line in enumerate(fh, 1):
        if _UNDECODED.search(line):
            raise DeffeError("not UTF-8 text", file=shown, where=f"line {n}",
                             hint="save the file as UTF-8 (Excel: 'CSV UTF-8')")
        yield line


# a number written with a decimal comma (12,5  -0,25  1,5e-3), as Excel writes it where ';' separates cells
_DECIMAL_COMMA = re.compile(r"\s*[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?\s*")


def _body(fh, reader, shown: str, decimal_comma: bool = False) -> Iterator[tuple[int, list[str]]]:
    """The rows; with ``decimal_comma`` (cells separated by ';') a cell that is a number with a decimal comma
    reads as that number with a point: '12,5' is 12.5."""
    with fh:
        while (row := _next_row(reader, shown)) is not None:
            text = "".join(row)
            if text and not text.isspace():   # a row of empty cells is no row
                if decimal_comma and "," in text:
                    row = [c.replace(",", ".") if "," in c and _DECIMAL_COMMA.fullmatch(c) else c for c in row]
                yield reader.line_num, row


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
        i = find_column(header, knob.name, *([knob.map] if knob.map else []))
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


def load_csv(path: Path, shown: str, space: DesignSpace, cost_names: list[str]) -> Preloaded:
    header, rows = read_rows(path, shown)
    knob_cols = match_columns(header, space, shown)
    cost_cols = cost_columns(header, cost_names, shown)
    missing_costs = [c for c, i in cost_cols.items() if i is None]
    if missing_costs:
        raise DeffeError(f"no column for cost{'s' if len(missing_costs) > 1 else ''} {', '.join(missing_costs)}",
                         file=shown, where="line 1", hint=_columns_hint(header))
    status_col = cost_columns(header, ["status"], shown)["status"]
    codes, costs = array("d"), array("d")   # the rows kept, as numbers
    statuses = bytearray()
    skipped, first_skip = 0, None
    for line, cells in rows:
        if len(cells) < len(header):
            cells = cells + [""] * (len(header) - len(cells))
        try:
            row = space.code_list(cells_of(cells, knob_cols, space))
        except DeffeError as e:
            skipped += 1
            if first_skip is None:
                first_skip = f"line {line}: {e.what}"
            continue
        status = cells[status_col].strip() if status_col is not None else "ok"
        status = status or "ok"
        if status not in STATUSES:
            raise DeffeError(f"status '{status}' is not one of {', '.join(STATUSES)}", file=shown,
                             where=f"line {line}")
        for c in cost_names:
            text = cells[cost_cols[c]].strip()
            if text == "" and status != "ok":
                costs.append(math.nan)   # not measured
                continue
            n = to_number(text)
            if n is None or (isinstance(n, float) and math.isnan(n)):
                raise DeffeError(f"cost '{c}' is not a number: {text!r}", file=shown, where=f"line {line}",
                                 hint="a row that was not measured says so in a 'status' column "
                                      "(failed, infeasible or timeout), its costs left empty; or leave it out")
            costs.append(_float(n, c, text, shown, line))
        codes.extend(row)
        statuses.append(STATUSES.index(status))
    arr = np.frombuffer(codes, dtype=float).reshape(-1, len(space.names))
    results = PreloadedResults(bytes(statuses), np.frombuffer(costs, dtype=float).reshape(-1, len(cost_names)),
                               list(cost_names))
    return Preloaded(arr, results, skipped, first_skip)


def _float(n: int | float, cost: str, text: str, shown: str, line: int) -> float:
    try:
        return float(n)
    except OverflowError:   # an integer beyond any float
        raise DeffeError(f"cost '{cost}' is too large: {text[:40]!r}", file=shown, where=f"line {line}") from None
