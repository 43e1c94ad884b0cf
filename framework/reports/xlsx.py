"""``deffe_report.xlsx``: the run's tables in one workbook for a spreadsheet.

A summary sheet, then per exploration its evaluations, predictions, front, model accuracy per step and
knob importance, and the config's text. Cells are written one by one with xlsxwriter's typed calls:
numbers are numbers (sortable, plottable in the spreadsheet), text is text even where it starts with
'=' (a knob value is never run as a formula) or looks like a web address.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
import xlsxwriter.exceptions

from ..atomic import replacing
from ..run_data import RunData
from ..values import to_number
from . import content as c
from .content import Explored

NAME = "deffe_report.xlsx"
MIN_WIDTH, MAX_WIDTH = 6, 60       # characters
WIDTH_ROWS = 500                   # rows looked at to size a column: a long table sizes as fast as a short one


def write_xlsx(run: RunData, explored: list[Explored], path: Path) -> Path:
    try:
        with replacing(path) as tmp:
            _workbook(run, explored, tmp)
    except xlsxwriter.exceptions.FileCreateError as e:
        # xlsxwriter wraps the OSError of a full disk or an unwritable place in an exception of its own: give
        # it back as the OSError every other report raises, named by the workbook, not its temporary file
        err = e.args[0] if e.args and isinstance(e.args[0], OSError) else None
        raise OSError(getattr(err, "errno", None), getattr(err, "strerror", None) or str(e), str(path)) from None
    return path


def _workbook(run: RunData, explored: list[Explored], tmp: Path) -> None:
    wb = xlsxwriter.Workbook(str(tmp), {"nan_inf_to_errors": False})
    head = wb.add_format({"bold": True, "bg_color": "#dde6f0", "bottom": 1, "text_wrap": True, "valign": "top"})
    note = wb.add_format({"italic": True, "font_color": "#555555"})
    mono = wb.add_format({"font_name": "Courier New"})
    _table(wb, "summary", _summary(run, explored), head, note)
    for ex in explored:
        p = f"{ex.prefix} " if ex.prefix else ""
        d = ex.data
        _table(wb, f"{p}evaluations", d.evaluations, head, note, "no evaluation yet")
        _table(wb, f"{p}predictions", d.predictions, head, note, "the model predicted no point before its evaluation")
        _table(wb, f"{p}front", d.front, head, note, c.no_front(d))
        _table(wb, f"{p}model accuracy", c.learning_table(d), head, note, "no model was trained")
        ki = c.knob_importance(d.knob_importance)
        if ki.empty and d.knob_importance is not None:   # a format this reader does not know: the text as is
            ki = pd.DataFrame({"knob_importance.txt": d.knob_importance.read_text(errors="replace").splitlines()})
        _table(wb, f"{p}knob importance", ki, head, note,
               "no knob importance (written at the end of a run with at least 10 feasible points)")
    ws = wb.add_worksheet("config")
    ws.write_string(0, 0, run.config_path or "config", head)
    for i, line in enumerate((run.config_text or "(the config's text was not readable when the run wrote it)")
                             .splitlines(), start=1):
        ws.write_string(i, 0, line, mono)
    ws.set_column(0, 0, 110)
    ws.freeze_panes(1, 0)
    wb.close()


def _summary(run: RunData, explored: list[Explored]) -> pd.DataFrame:
    rows = [("run directory", str(run.run_dir)), ("config", run.config_path or "")]
    for cost in run.costs:
        rows.append((f"cost {cost['name']}", f"{cost.get('direction', 'min')}imise"
                     + (f", in {cost['unit']}" if cost.get("unit") else "")))
    rows.append(("objectives", ", ".join(run.objectives)))
    rows.append(("constraints", ", ".join(run.constraints) or "none"))
    for ex in explored:
        for what, n in c.counts(ex).items():
            rows.append((f"{ex.data.name}: {what.strip()}", n))
    return pd.DataFrame(rows, columns=["what", "value"])


def _table(wb, name: str, df: pd.DataFrame, head, note, empty: str = "") -> None:
    ws = wb.add_worksheet(name[:31])
    if df is None or df.empty:   # nothing to show (a header without rows is no table): one line saying why
        ws.write_string(0, 0, empty, note)
        ws.set_column(0, 0, len(empty) + 2)
        return
    widths = []
    for j, col in enumerate(df.columns):
        ws.write_string(0, j, str(col), head)
        widths.append(len(str(col)))
    for i, row in enumerate(df.itertuples(index=False, name=None), start=1):
        for j, v in enumerate(row):
            text = _cell(ws, i, j, v)
            if i <= WIDTH_ROWS:
                widths[j] = max(widths[j], len(text))
    for j, w in enumerate(widths):
        ws.set_column(j, j, min(max(w + 2, MIN_WIDTH), MAX_WIDTH))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, len(df), len(df.columns) - 1)


def _cell(ws, i: int, j: int, v) -> str:
    """Write one value with its type; returns its text (for the column width)."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""   # an empty cell: the spreadsheet's 'no value', not the text 'nan'
    if isinstance(v, bool):
        ws.write_boolean(i, j, v)
        return str(v)
    if isinstance(v, str):
        n = to_number(v)   # a knob column of text and numbers: its numbers are numbers
        if n is None or not math.isfinite(float(n)):
            ws.write_string(i, j, v)
            return v
        v = n
    if isinstance(v, (int, float)) and math.isfinite(v):
        ws.write_number(i, j, v)
        return f"{v:.6g}" if isinstance(v, float) else str(v)
    ws.write_string(i, j, str(v))   # inf, or anything else: its text
    return str(v)
