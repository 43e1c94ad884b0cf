"""Rows evaluated elsewhere (``-pre-evaluated-data CSV``) entering the run store.

Values are matched by value, not by text: "1.0" in the CSV matches the knob
value 1. Columns: every knob of the exploration (extra columns are ignored),
every cost, and optionally ``status``. Rows whose values lie outside the
exploration's space are skipped and counted; a cost that is not a number is an
error naming its line.

Files written by the original Deffe are read as it read them (`match_columns`):
``, `` separators, a column named by a knob's ``map`` alias, headers in another
case (``CPU_Cycles``), and no column for a knob that takes one value in the
exploration (Deffe's tables may leave out a single-valued scenario).
"""
from __future__ import annotations

import csv
import math
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
    results: list[Result]
    skipped: int
    first_skip: str | None


def read_rows(path: Path, shown: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) of a CSV file."""
    try:
        # utf-8-sig: a CSV saved by Excel starts with a byte-order mark, which is not part of the first column
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, skipinitialspace=True)   # Deffe wrote ", " between cells
            try:
                header = next(reader)
            except StopIteration:
                raise DeffeError("the file is empty", file=shown) from None
            rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except FileNotFoundError:
        raise DeffeError("file not found", file=shown) from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise DeffeError(f"not a readable CSV file ({e})", file=shown) from None
    header = [h.strip() for h in header]
    return header, rows


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
                         file=shown, where="line 1", hint=f"the columns are: {', '.join(header)}")
    return cols


def cells_of(cells: list[str], cols: dict[str, int | None], space: DesignSpace) -> list[str]:
    """A row's text per knob (a knob without a column takes its one value)."""
    return [cells[cols[k.name]].strip() if cols[k.name] is not None else format_value(k.value(0))
            for k in space.knobs]


def load_csv(path: Path, shown: str, space: DesignSpace, cost_names: list[str]) -> Preloaded:
    header, rows = read_rows(path, shown)
    knob_cols = match_columns(header, space, shown)
    cost_cols = {c: find_column(header, c) for c in cost_names}
    missing_costs = [c for c, i in cost_cols.items() if i is None]
    if missing_costs:
        raise DeffeError(f"no column for cost{'s' if len(missing_costs) > 1 else ''} {', '.join(missing_costs)}",
                         file=shown, where="line 1", hint=f"the columns are: {', '.join(header)}")
    status_col = find_column(header, "status")
    codes, results = [], []
    skipped, first_skip = 0, None
    for line, cells in rows:
        if len(cells) < len(header):
            cells = cells + [""] * (len(header) - len(cells))
        try:
            row = space.code_row(cells_of(cells, knob_cols, space))
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
        costs: dict[str, float] = {}
        for c in cost_names:
            text = cells[cost_cols[c]].strip()
            if text == "" and status != "ok":
                continue
            n = to_number(text)
            if n is None or (isinstance(n, float) and math.isnan(n)):
                raise DeffeError(f"cost '{c}' is not a number: {text!r}", file=shown, where=f"line {line}")
            costs[c] = float(n)
        codes.append(row)
        results.append(Result(status, costs, None, None, cached=True, origin="pre-evaluated"))
    arr = np.array(codes, dtype=float).reshape(-1, len(space.names))
    return Preloaded(arr, results, skipped, first_skip)
