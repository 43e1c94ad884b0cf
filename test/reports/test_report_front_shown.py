"""The front the reports show is of designs the run evaluated: a row of deffe_exploration.csv the store never
evaluated is left out; a run stopped before its exploration's end (no deffe_exploration.csv yet, or one older
than the evaluations) shows the front of its evaluations so far, the same in the HTML page, the workbook and
the plot; a workbook sheet without a row to show holds one line, without a frozen header or filters."""
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from cli_helpers import run_deffe, write
from framework.reports.content import explorations
from framework.reports.plots import _front
from framework.run_data import load_run
from test_report_xlsx import NS, read_sheet


def _copy(run_dir, where):
    return shutil.copytree(run_dir, where)


def _summary_front(html: str, name: str) -> int:
    """The 'front' count of the exploration `name` in the HTML summary (the row's last cell)."""
    row = html.split(f"<td>{name}</td>", 1)[1].split("</tr>", 1)[0]
    return int(re.findall(r">([^<]*)</td>", row)[-1])


def _pareto(ev: pd.DataFrame) -> set:
    """(a, b, kind) of the feasible evaluations none dominates in (t, m), both minimised; 'm <= 20e9'."""
    ok = ev[(ev["status"] == "ok") & (ev["m"] <= 20e9)]
    x = ok[["t", "m"]].to_numpy(dtype=float)
    keep = [i for i in range(len(x)) if not any((x[j] <= x[i]).all() and (x[j] < x[i]).any() for j in range(len(x)))]
    return {(int(r.a), int(r.b), str(r.kind)) for r in ok.iloc[keep].itertuples()}


def test_a_front_row_the_store_never_evaluated_is_left_out_and_said(two_cost_run, tmp_path):
    """A row added by hand to deffe_exploration.csv, of a design never evaluated, with a made-up cost: shown as
    the first evaluated design of the front (HTML, load_run), though the warning said the store's values are."""
    d = _copy(two_cost_run, tmp_path / "run")
    table = d / "first-deffe_exploration.csv"
    front = pd.read_csv(table, dtype=str, keep_default_na=False)
    ev = pd.read_csv(d / "first-deffe_evaluation.csv", dtype=str, keep_default_na=False)
    evaluated = set(zip(ev["a"], ev["b"], ev["kind"]))
    fake = front[front["source"] == "evaluated"].iloc[[0]].copy()
    fake[["a", "b", "kind"]] = next((a, b, k) for a in "0123456789" for b in "123" for k in sorted(set(ev["kind"]))
                                    if (a, b, k) not in evaluated)
    fake[["t", "predicted-t"]] = "1e-09"
    pd.concat([fake, front]).to_csv(table, index=False)
    r = run_deffe("-report", d, cwd=tmp_path)
    assert r.rc == 0, r
    said = [line for line in r.err.splitlines() if "never evaluated" in line]
    assert said == [f"warning: {table}: 1 of its rows marked evaluated are designs the run store never evaluated "
                    "(added or changed by hand?): they are left out; running the command that made the run again "
                    "rewrites the table"], r.err
    html = (d / "deffe_report.html").read_text()
    assert 'data-sort="1e-09"' not in html   # the made-up cost is nowhere in the page
    assert _summary_front(html, "first") == int((front["source"] == "evaluated").sum())
    run = load_run(d)
    assert [w for w in run.warnings if "never evaluated" in w] == [said[0][len("warning: "):]]
    shown = run.explores["first"].front
    assert len(shown) == len(front) and not (shown["t"] == 1e-9).any()
    pd.testing.assert_frame_equal(shown[["a", "b", "kind", "source"]].astype(str),
                                  front[["a", "b", "kind", "source"]].reset_index(drop=True))


def _no_front_table(d):
    (d / "first-deffe_exploration.csv").unlink()   # killed before the end of the exploration, at a step's end


def _older_tables(d):
    # killed mid-step in a run resumed with a larger budget: the evaluation table of an earlier step (the
    # store holds more), and the front of the earlier run (here, its first row)
    for name, rows in (("first-deffe_evaluation.csv", 12), ("first-deffe_exploration.csv", 1)):
        lines = (d / name).read_text().splitlines(keepends=True)
        (d / name).write_text("".join(lines[:rows + 1]))


@pytest.mark.parametrize("stop", [_no_front_table, _older_tables])
def test_a_run_stopped_before_its_end_shows_the_front_of_its_evaluations_so_far(two_cost_run, tmp_path, stop):
    """A run killed mid-exploration: 'front 0' in the summary and 'front (0)' in the plot's legend (or the
    front of an earlier run), though it had non-dominated feasible designs (the best designs showed one)."""
    d = _copy(two_cost_run, tmp_path / "run")
    expected = _pareto(load_run(d).explores["first"].evaluations)
    assert len(expected) >= 2   # (more than the older table's one row)
    stop(d)
    r = run_deffe("-report", d, cwd=tmp_path)
    assert r.rc == 0, r
    html = (d / "deffe_report.html").read_text()
    assert _summary_front(html, "first") == len(expected)
    assert f"({len(expected)} rows, of the 24 evaluations so far: the run stopped, or is still going on, before " \
           "the end of the exploration, when first-deffe_exploration.csv is written)" in html
    rows, root = read_sheet(d / "deffe_report.xlsx", "first front")
    head = [v for _k, v in rows[0]]
    assert {(int(r[head.index("a")][1]), int(r[head.index("b")][1]), r[head.index("kind")][1])
            for r in rows[1:]} == expected
    run = load_run(d)
    assert any("not in this table" in w for w in run.warnings) == (stop is _older_tables)
    ex = next(x for x in explorations(run) if x.data.name == "first")
    assert ex.provisional and set(ex.data.front["source"]) == {"evaluated"}
    assert set(zip(ex.data.front["a"], ex.data.front["b"], ex.data.front["kind"])) == expected
    labels = _front(run, ex).axes[0].get_legend_handles_labels()[1]
    assert f"front ({len(expected)})" in labels
    other = next(x for x in explorations(run) if x.data.name == "second one")
    assert not other.provisional   # its tables are whole


def test_a_sheet_without_a_row_to_show_holds_one_line_without_header_or_filters(tmp_path):
    """The workbook's front sheet of a run without a feasible design kept a frozen header and an autofilter
    around its one-line message (docs/reports.md: such a sheet holds one line saying why, without either)."""
    write(tmp_path / "ev.py", "def evaluate(p):\n    raise ValueError('never')\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-9"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"max_samples": 2}}))
    assert run_deffe("-config", "config.json", "-quiet", cwd=tmp_path).rc == 0
    assert run_deffe("-report", "explore", cwd=tmp_path).rc == 0
    path = tmp_path / "explore" / "deffe_report.xlsx"
    for sheet, why in (("front", "no feasible design: none of the 2 evaluations"),
                       ("predictions", "the model predicted no point")):
        rows, root = read_sheet(path, sheet)
        assert len(rows) == 1 and len(rows[0]) == 1 and rows[0][0][1].startswith(why), (sheet, rows)
        assert root.find("m:sheetViews/m:sheetView/m:pane", NS) is None, sheet
        assert root.find("m:autoFilter", NS) is None, sheet
    rows, root = read_sheet(path, "evaluations")   # a table with rows keeps both
    assert len(rows) == 3 and root.find("m:autoFilter", NS) is not None
    assert np.array_equal([v for _k, v in rows[0]][:2], ["a", "t"])
