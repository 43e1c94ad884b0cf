"""The rows of a CSV file of design points (pre-evaluated data, inference input), read one at a time.

What the reader makes sure of, so that no row is read with another row's or another column's text:

* the separator is the header's: a comma, a semicolon (Excel where the decimal mark is a comma), a tab, or,
  when the header holds none of them, runs of whitespace (as the original Deffe split such a line);
* a row has no more cells than the header (a trailing empty cell aside): ``1,000`` in a cell would shift the
  columns after it;
* a quoted cell holding a line break (Excel writes a note of several lines so) is only accepted in a column
  that is not read, and a quote never closed is an error naming the line where it opened, not the end of the
  file it swallowed;
* a line repeating the header (files joined with ``cat``) is no row; when it names the columns in another order
  the rows after it are read in its order;
* in a ';' file the numbers of the columns read share one decimal mark: ``12,5`` is 12.5 and then ``1.000`` (a
  thousands point, or a decimal one?) is an error, not 1.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

from .errors import DeffeError
from .values import shorten, to_number

_UNDECODED = re.compile("[\udc80-\udcff]")   # bytes that are not UTF-8, as surrogateescape keeps them
# a number written with a decimal comma (12,5  -0,25  1,5e-3), as Excel writes it where ';' separates cells
_DECIMAL_COMMA = re.compile(r"\s*[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?\s*")
# a number written with both marks (1.000,5  1,000.5): a thousands separator
_BOTH_MARKS = re.compile(r"\s*[+-]?\d[\d.,]*\.[\d.,]*,[\d,]*\s*|\s*[+-]?\d[\d.,]*,[\d.,]*\.[\d.]*\s*")
QUOTE_HINT = ("a '\"' at the start of a cell opens a quoted cell that runs to the next '\"'; remove the stray "
              "quote, or quote the whole cell and double the quotes in it (\"12\"\"in\")")


_EXTRA_HINTS = {   # a row of more cells than the header: what holds a separator
    ",": "quote a cell that holds the separator ',' (\"1,000\"), or write the number without it (1000)",
    ";": "quote a cell that holds the separator {sep!r}, or leave it out",
    " ": "in a table separated by spaces a cell holds no space; write it without, or separate the cells by commas",
}


class _Lines:
    """The lines of a file, counted (the reader names the line where a row starts); a line holding bytes that
    are not UTF-8 is an error naming it."""

    def __init__(self, fh, shown: str):
        self.fh, self.shown = fh, shown
        self.n = 0            # lines handed out
        self.eof = False      # the reader asked for a line past the last
        self.first = self._checked(fh.readline(), 1)   # the header, which decides the separator

    def _checked(self, line: str, n: int) -> str:
        if _UNDECODED.search(line):
            raise DeffeError("not UTF-8 text", file=self.shown, where=f"line {n}",
                             hint="save the file as UTF-8 (Excel: 'CSV UTF-8')")
        return line

    def __iter__(self) -> Iterator[str]:
        if self.first:
            self.n = 1
            yield self.first
            for line in self.fh:   # a generator, not a method call per line: a file of millions of lines
                if _UNDECODED.search(line):
                    self._checked(line, self.n + 1)
                self.n += 1
                yield line
        self.eof = True


def read_rows(path: Path, shown: str, names: Collection[str] = ()) -> tuple[list[str], "Rows"]:
    """Header and rows of a CSV file; ``names``: the columns the caller looks for (a header of one of them is
    one column, not words separated by spaces). The rows are read as they are iterated (`Rows.read`): a file
    of any size is never held whole."""
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
    try:
        lines = _Lines(fh, shown)
        rows = Rows(fh, lines, shown, separator(lines.first, names))
        header = next(rows.records, None)
        if header is None:
            raise DeffeError("the file is empty", file=shown, hint="the first line of a CSV file names its columns")
        if not any(h.strip() for h in header[2]):
            raise DeffeError("the first line is empty", file=shown, where="line 1",
                             hint="the first line of a CSV file names its columns")
    except BaseException:
        fh.close()
        raise
    rows.header = [h.strip() for h in header[2]]
    return rows.header, rows


def separator(header: str, names: Collection[str] = ()) -> str:
    """The cells' separator, from the header line: a comma, else a semicolon (Excel's CSV where the decimal
    mark is a comma), else a tab (a sheet's cells pasted as text), else whitespace (" ": a table of columns
    lined up with spaces, which the original Deffe read) when the line has several words and is not itself
    one of the ``names`` looked for."""
    for sep in (",", ";", "\t"):
        if sep in header:
            return sep
    words = header.split()
    if len(words) > 1 and header.strip().lower() not in {n.lower() for n in names}:
        return " "
    return ","


class Rows:
    """The rows of a file after its header."""

    header: list[str]

    def __init__(self, fh, lines: _Lines, shown: str, sep: str):
        self.fh, self.lines, self.shown, self.sep = fh, lines, shown, sep
        self.records = self._split() if sep == " " else self._parsed()

    def _parsed(self) -> Iterator[tuple[int, int, list[str]]]:
        """(first line, last line, cells) of each record, quoted cells as CSV quotes them."""
        lines = self.lines
        reader = csv.reader(iter(lines), delimiter=self.sep, skipinitialspace=True)   # Deffe wrote ", " between cells
        while True:
            start = lines.n + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:   # the field limit (128 KiB) met by a quote that swallowed the lines after it
                raise DeffeError(f"not a readable CSV row ({e}; the row starts on line {start} and reaches line "
                                 f"{lines.n})", file=self.shown, where=f"line {start}", hint=QUOTE_HINT) from None
            except OSError as e:
                raise DeffeError(f"cannot read the file ({e.strerror or e})", file=self.shown,
                                 where=f"line {lines.n + 1}") from None
            if lines.eof:   # the reader asked for a line past the last inside this row: a quote never closed
                raise DeffeError(f"a quoted cell opened on line {start} is never closed: it runs to the end of the "
                                 f"file (line {lines.n})", file=self.shown, where=f"line {start}",
                                 hint=QUOTE_HINT)
            yield start, lines.n, row

    def _split(self) -> Iterator[tuple[int, int, list[str]]]:
        """Deffe's reading of a line without a separator: its words."""
        lines = self.lines
        for line in lines:
            yield lines.n, lines.n, line.split()

    def read(self, columns: Iterable[int]) -> Iterator[tuple[int, list[str]]]:
        """(line number, cells) of each row holding a cell, in the header's column order; ``columns``: those
        the caller reads (where a cell holding a line break or a number of the other decimal mark is an
        error). A row may have fewer cells than the header (the caller says which are missing)."""
        header, shown = self.header, self.shown
        columns = sorted(set(columns))
        names = {h.lower() for h in header}
        decimal_comma = self.sep == ";"
        marks: dict[str, tuple[int, str]] = {}   # decimal mark -> the first (line, cell) written with it
        order: list[int] | None = None            # the columns of a later header, in the first header's order
        with self.fh:
            for start, end, row in self.records:
                text = "".join(row)
                if not text or text.isspace():   # a row of empty cells is no row
                    continue
                if row[0].strip().lower() in names and self._header_again(row, start):
                    order = _reorder(header, row)
                    continue
                if len(row) > len(header) and any(c.strip() for c in row[len(header):]):
                    raise DeffeError(f"the row has {len(row)} cells where the header (line 1) has {len(header)}",
                                     file=shown, where=f"line {start}",
                                     hint=_EXTRA_HINTS.get(self.sep, _EXTRA_HINTS[";"]).format(sep=self.sep))
                if order is not None:
                    row = [row[i] if i < len(row) else "" for i in order]
                if end > start:
                    for i in columns:
                        if i < len(row) and ("\n" in row[i] or "\r" in row[i]):
                            raise DeffeError(f"the quoted cell of column '{header[i]}' runs from line {start} to "
                                             f"line {end}", file=shown, where=f"line {start}", hint=QUOTE_HINT)
                if decimal_comma:
                    row = self._decimals(row, columns, marks, start)
                yield start, row

    def _header_again(self, row: list[str], line: int) -> bool:
        """Whether a row is the header again (files joined with cat): the same names, in any order. A row naming
        the columns read but other columns besides is an error: its rows would be read under the wrong names."""
        cells = [c.strip().lower() for c in row]
        header = [h.lower() for h in self.header]
        if sorted(cells) == sorted(header):
            return True
        if sum(c in header for c in cells) > len(cells) // 2:
            raise DeffeError(f"line {line} is a header with other columns than line 1's "
                             f"({shorten(', '.join(c.strip() for c in row), 100, quote=False)})", file=self.shown,
                             where=f"line {line}", hint="join only files of the same columns, or give each on its own")
        return False

    def _decimals(self, row: list[str], columns: list[int], marks: dict[str, tuple[int, str]],
                  line: int) -> list[str]:
        """A ';' file's numbers with a decimal comma read with a point ('12,5' is 12.5); a number with the other
        mark than an earlier one of the file is an error: '1.000' after '12,5' may be a thousand."""
        for i in columns:
            if i >= len(row):
                continue
            cell = row[i]
            if "," in cell:
                if _DECIMAL_COMMA.fullmatch(cell):
                    row[i] = cell.replace(",", ".")
                    mark = ","
                elif _BOTH_MARKS.fullmatch(cell):
                    raise DeffeError(f"{shorten(cell.strip())} in column '{self.header[i]}' has both a '.' and "
                                     "a ',': one of them separates thousands", file=self.shown, where=f"line {line}",
                                     hint="write numbers without a thousands separator (1000,5)")
                else:
                    continue
            elif "." in cell and to_number(cell) is not None:
                mark = "."
            else:
                continue
            marks.setdefault(mark, (line, cell.strip()))
            if len(marks) > 1:
                other, (at, text) = next((m, v) for m, v in marks.items() if m != mark)
                raise DeffeError(f"{shorten(cell.strip())} in column '{self.header[i]}' has a decimal "
                                 f"{'point' if mark == '.' else 'comma'} where line {at} has a decimal "
                                 f"{'point' if other == '.' else 'comma'} ({shorten(text)}): in a file separated "
                                 "by ';' a '.' may separate thousands", file=self.shown, where=f"line {line}",
                                 hint="write the numbers with one decimal mark and no thousands separator")
        return row


def _reorder(header: list[str], row: list[str]) -> list[int] | None:
    """Where each of the first header's columns is in a later header (None: in the same place)."""
    cells = [c.strip().lower() for c in row]
    order = [cells.index(h.lower()) for h in header]
    if len(set(order)) < len(order):   # names given twice: matched by place, as the first header reads them
        return None
    return None if order == list(range(len(header))) else order
