"""deffe_report.xlsx: the sheets users open, numbers stored as numbers, headers frozen and filtered.

No xlsx reader may be installed (openpyxl is not a dependency), so the workbook is read as what it is:
a zip of XML parts. Where pandas has an engine, the workbook is also read back with pandas.read_excel.
"""
import math
import re
import zipfile
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from framework.reports.xlsx import _cell

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}


def _sheets(path) -> dict[str, str]:
    """Sheet name -> its XML part."""
    with zipfile.ZipFile(path) as z:
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels}
        return {s.get("name"): "xl/" + target[s.get(f"{{{NS['r']}}}id")].lstrip("/").removeprefix("xl/")
                for s in wb.find("m:sheets", NS)}


def _column(ref: str) -> int:
    n = 0
    for ch in re.match(r"[A-Z]+", ref).group(0):
        n = n * 26 + ord(ch) - 64
    return n - 1


def read_sheet(path, name) -> tuple[list[list], ET.Element]:
    """The sheet's rows as lists of (kind, value): kind 'n' for a number cell, 's' for text, 'b' boolean."""
    with zipfile.ZipFile(path) as z:
        strings = []
        if "xl/sharedStrings.xml" in z.namelist():
            strings = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
                       for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", NS)]
        root = ET.fromstring(z.read(_sheets(path)[name]))
    rows = []
    for row in root.find("m:sheetData", NS).findall("m:row", NS):
        cells = {}
        for c in row.findall("m:c", NS):
            kind, v = c.get("t", "n"), c.find("m:v", NS)
            if v is None:
                continue
            if kind == "s":
                cells[_column(c.get("r"))] = ("s", strings[int(v.text)])
            elif kind == "b":
                cells[_column(c.get("r"))] = ("b", v.text == "1")
            else:
                assert kind == "n", (name, c.get("r"), kind)   # no formula, no inline string
                cells[_column(c.get("r"))] = ("n", float(v.text))
        rows.append([cells.get(j) for j in range(max(cells) + 1)] if cells else [])
    return rows, root


def _header_checks(root, ncols):
    pane = root.find("m:sheetViews/m:sheetView/m:pane", NS)
    assert pane is not None and pane.get("state") == "frozen" and pane.get("ySplit") == "1"
    assert root.find("m:autoFilter", NS) is not None
    widths = [float(c.get("width")) for c in root.find("m:cols", NS).findall("m:col", NS)]
    assert widths and all(4 <= w <= 70 for w in widths)


def test_sheets_of_a_one_exploration_run(minimal_run):
    path = minimal_run / "deffe_report.xlsx"
    assert list(_sheets(path)) == ["summary", "evaluations", "predictions", "front", "model accuracy",
                                   "knob importance", "config"]


def test_evaluations_are_numbers_under_a_frozen_filtered_header(minimal_run):
    path = minimal_run / "deffe_report.xlsx"
    rows, root = read_sheet(path, "evaluations")
    csv = pd.read_csv(minimal_run / "deffe_evaluation.csv")
    assert [v for _k, v in rows[0]] == list(csv.columns)
    assert all(k == "s" for k, _v in rows[0])
    assert len(rows) - 1 == len(csv)
    cost = list(csv.columns).index("exec_time")
    assert all(r[cost][0] == "n" for r in rows[1:])
    assert [r[cost][1] for r in rows[1:]] == pytest.approx(csv["exec_time"].tolist())
    assert all(r[0][0] == "n" for r in rows[1:])       # knob values that are numbers too
    assert {r[-1] for r in rows[1:]} == {("s", "ok")}
    _header_checks(root, len(csv.columns))


def test_front_model_accuracy_knob_importance_and_config(minimal_run):
    path = minimal_run / "deffe_report.xlsx"
    front, root = read_sheet(path, "front")
    header = [v for _k, v in front[0]]
    assert {"exec_time", "predicted-exec_time", "rank"} <= set(header)
    assert all(r[header.index("predicted-exec_time")][0] == "n" for r in front[1:])
    _header_checks(root, len(header))
    acc, _ = read_sheet(path, "model accuracy")
    head = [v for _k, v in acc[0]]
    assert "mape_percent" in head and len(acc) > 1
    assert acc[1][head.index("mape_percent")][0] == "n"
    ki, _ = read_sheet(path, "knob importance")
    head = [v for _k, v in ki[0]]
    assert head[:4] == ["cost", "method", "rank", "knob"]
    assert {r[head.index("knob")][1] for r in ki[1:]} >= {"param1", "param2", "size"}
    assert all(r[head.index("score")][0] == "n" for r in ki[1:])
    config, _ = read_sheet(path, "config")
    assert any("bare minimal" in r[0][1] for r in config[1:] if r)


def test_summary_counts(two_cost_run):
    path = two_cost_run / "deffe_report.xlsx"
    rows, _ = read_sheet(path, "summary")
    summary = {r[0][1]: r[1][1] for r in rows[1:] if len(r) > 1}
    assert summary["cost t"] == "minimise, in s"
    assert summary["constraints"] == "m <= 20e9"
    assert summary["first: evaluated"] == 24.0
    assert summary["first: failed"] >= 1          # a=7, b=3 raises
    assert summary["first: feasible"] + summary["first: failed"] + summary["first: constraint violated"] + \
        summary["first: infeasible"] == 24


def test_one_sheet_set_per_exploration_with_text_kept_as_text(two_cost_run):
    path = two_cost_run / "deffe_report.xlsx"
    names = list(_sheets(path))
    for prefix in ("first", "second_one"):
        for sheet in ("evaluations", "predictions", "front", "model accuracy", "knob importance"):
            assert f"{prefix} {sheet}" in names
    assert all(len(n) <= 31 for n in names)
    rows, _ = read_sheet(path, "first evaluations")
    kinds = {r[2][1] for r in rows[1:]}
    assert kinds <= {"<b>bold</b>", "a&b", 'q"uote'} and kinds
    failed = [r for r in rows[1:] if r[-1] == ("s", "failed")]
    assert failed and all(r[3] is None for r in failed)   # no cost: an empty cell, not 'nan'


class _Sheet:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *a: self.calls.append((name, a[2]))


@pytest.mark.parametrize("value, call", [
    (3, ("write_number", 3)), (2.5, ("write_number", 2.5)), ("4", ("write_number", 4)),
    ("=1+1", ("write_string", "=1+1")), ("http://x.org", ("write_string", "http://x.org")),
    (math.inf, ("write_string", "inf")), (True, ("write_boolean", True)), ("gpipe", ("write_string", "gpipe")),
])
def test_each_value_is_written_with_its_type(value, call):
    ws = _Sheet()
    _cell(ws, 1, 0, value)
    assert ws.calls == [call]


def test_missing_values_are_empty_cells():
    ws = _Sheet()
    for v in (None, math.nan, pd.NA):
        _cell(ws, 1, 0, v)
    assert ws.calls == []


def test_a_workbook_that_cannot_be_written_is_the_one_line_error_of_every_report(minimal_run, tmp_path, monkeypatch):
    """xlsxwriter wraps a full disk's OSError in its own FileCreateError, which the reports' one-line error
    did not catch: a traceback. Now: the workbook named, the system's reason, a way out, no temporary file."""
    import shutil

    import xlsxwriter
    from xlsxwriter.exceptions import FileCreateError

    from framework.errors import DeffeError
    from framework.reports import build_reports

    run = tmp_path / "run"
    shutil.copytree(minimal_run, run)

    def full_disk(self):
        raise FileCreateError(OSError(28, "No space left on device"))
    monkeypatch.setattr(xlsxwriter.Workbook, "close", full_disk)
    with pytest.raises(DeffeError) as e:
        build_reports(run)
    text = str(e.value)
    assert "cannot write deffe_report.xlsx (No space left on device)" in text and "free some space" in text
    assert not [p.name for p in run.iterdir() if ".tmp" in p.name]
