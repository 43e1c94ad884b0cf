"""``deffe_report.html``: one page that holds everything, to open in a browser or send by mail.

Self-contained: no external address anywhere (the plots are base64 data URIs, the style and the table
sorting are inline), so it shows the same offline, from an attachment, or moved away from the run
directory. Every value from the run (knob values, cost names, the config) is escaped: it is user text.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
from pathlib import Path

import pandas as pd

from ..atomic import replacing
from ..run_data import RunData
from . import content as c
from .content import Explored
from .plots import plot_name

NAME = "deffe_report.html"
MAX_ROWS = 2000   # of a table in the page; the workbook has them all
CAPTIONS = {
    "front": "Evaluated designs (grey), infeasible ones or ones against a constraint (crosses), the front "
             "(red) and where the model predicted the front's points (blue circles, joined to the true point).",
    "progress": "How the best design improved with the number of evaluations.",
    "predicted": "What the model predicted of each point before it was evaluated, against the true cost.",
    "learning": "The model's accuracy on held-out points after each step: error (MAPE) and ranking (Kendall tau).",
    "knob_importance": "Which knobs matter for each cost (from knob_importance.txt).",
    "memory_timeline": "Memory in use over time, from the memory timeline files in the run directory.",
}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;max-width:1300px;padding:0 1em;
color:#1f2933;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:2px solid #dde6f0}h3{margin-top:1.4em}
.meta{color:#52606d;font-size:.9em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #cbd2d9;padding:.25em .55em;text-align:left;vertical-align:top}
th{background:#dde6f0;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable th[aria-sort=descending]::after{content:" \\25BC"}
tbody tr:nth-child(even){background:#f5f7fa}
.scroll{overflow-x:auto;max-height:38em;overflow-y:auto}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #e4e7eb}
figcaption{color:#52606d;font-size:.9em}
pre{background:#f5f7fa;padding:.8em;overflow-x:auto;font-size:.85em}
"""

# click a header: sort by that column, ascending, then descending; numbers by value, empty cells last
_JS = """
(function () {
  function key(cell) {
    var v = cell.getAttribute("data-sort");
    return v === null ? cell.textContent.trim() : v;
  }
  function isNum(s) { return s !== "" && !isNaN(Number(s)); }
  function compare(a, b, asc) {
    if (a === "" || b === "") { return a === b ? 0 : (a === "" ? 1 : -1); }
    var r = isNum(a) && isNum(b) ? Number(a) - Number(b)
      : a.localeCompare(b, undefined, {numeric: true, sensitivity: "base"});
    return asc ? r : -r;
  }
  function sortBy(table, th, col) {
    var asc = th.getAttribute("aria-sort") !== "ascending";
    var heads = table.tHead.rows[0].cells;
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) { return compare(key(r1.cells[col]), key(r2.cells[col]), asc); });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(table, th, col); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th, col); }
      });
    });
  });
})();
"""


def e(value) -> str:
    return html.escape(str(value), quote=True)


def write_html(run: RunData, explored: list[Explored], plots: dict[str, Path], path: Path) -> Path:
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             f"<link rel=\"icon\" href=\"data:,\">"   # no request for favicon.ico
             f"<title>Deffe report: {e(run.run_dir.name)}</title><style>{_CSS}</style></head><body>",
             f"<h1>Deffe report</h1><p class=\"meta\">run directory {e(run.run_dir)}"
             f" &middot; config {e(run.config_path or '')}"
             f" &middot; written {e(_dt.datetime.now().strftime('%Y-%m-%d %H:%M'))}</p>",
             _summary(run, explored)]
    for n, ex in enumerate(explored, start=1):
        parts.append(_explore(run, ex, plots, n, len(explored) > 1))
    memory = plots.get(Path(plot_name("", "memory_timeline")).stem)
    if memory is not None:
        parts.append("<h2 id=\"memory\">Memory timelines</h2>" + _figure(memory, "memory_timeline"))
    parts.append("<h2 id=\"config\">Config</h2><details><summary>the config the run was made with"
                 "</summary><pre>" + e(run.config_text or "(not readable when the run wrote it)")
                 + "</pre></details>")
    parts.append(f"<script>{_JS}</script></body></html>\n")
    with replacing(path) as tmp:   # another writer of the same report (a second -report) writes its own
        tmp.write_text("\n".join(parts), encoding="utf-8")
    return path


def _summary(run: RunData, explored: list[Explored]) -> str:
    costs = pd.DataFrame([{"cost": k["name"], "direction": k.get("direction", "min"), "unit": k.get("unit") or "",
                           "objective": "yes" if k["name"] in run.objectives else "no"} for k in run.costs])
    # one objective: the table holds the top-k designs, not a front
    best = "front" if len(run.objectives) > 1 else "top designs"
    rows = [{"exploration": ex.data.name, **{k.strip(): v for k, v in c.counts(ex).items()},
             best: int((ex.data.front["source"].astype(str) == "evaluated").sum())
             if "source" in ex.data.front else len(ex.data.front)} for ex in explored]
    return ("<h2 id=\"summary\">Summary</h2>"
            + "<h3>Costs</h3>" + _table(costs, run, sortable=False)
            + f"<p>Objectives: {e(', '.join(run.objectives))}. Constraints: "
            + (e("; ".join(run.constraints)) if run.constraints else "none") + ".</p>"
            + "<h3>Evaluations</h3>" + _table(pd.DataFrame(rows).fillna(0), run, sortable=False)
            + "<p class=\"meta\">feasible: status ok, every constraint met; failed: every other status but "
              "infeasible (timeouts too).</p>")


def _explore(run: RunData, ex: Explored, plots: dict[str, Path], n: int, several: bool) -> str:
    d = ex.data
    out = [f"<h2 id=\"explore-{n}\">{'Exploration ' + e(d.name) if several else 'Designs'}</h2>"]
    best = c.best_designs(run, ex)
    if not best.empty:
        out.append("<h3>Best designs</h3><p class=\"meta\">the feasible evaluation best in each objective"
                   + (", in each scenario" if "scenario" in best else "") + "</p>"
                   + _table(_costs_first(best, run), run, sortable=True, cls="best"))
    front = d.front
    if front.empty:
        why = c.no_front(d)
        out.append(f"<h3>Front</h3><p>{e(why[0].upper() + why[1:])}.</p>")
    else:
        what = "the Pareto front" if len(run.objectives) > 1 else "the top designs"
        table = e(d.files.get('exploration', Path('deffe_exploration.csv')).name)
        where = (f"{len(front)} rows of {table}" if not ex.provisional else
                 f"{len(front)} rows, of the {len(d.evaluations)} evaluations so far: the run stopped, or is still "
                 f"going on, before the end of the exploration, when {table} is written")
        out.append(f"<h3>Front</h3><p class=\"meta\">{what} ({where}); click a column to sort"
                   "</p>" + _table(_costs_first(front, run), run, sortable=True, cls="front"))
    for kind in ("front", "progress", "predicted", "learning", "knob_importance"):
        p = plots.get(Path(plot_name(ex.prefix, kind)).stem)
        if p is not None:
            out.append(_figure(p, kind))
    lt = c.learning_table(d)
    if not lt.empty:
        keep = [k for k in ("step", "cost", "train", "holdout", "mape_percent", "r2", "kendall_tau",
                            "top_k_recall", "model") if k in lt]
        out.append("<h3>Model accuracy per step</h3>" + _table(lt[keep], run, sortable=True, cls="accuracy"))
    return "\n".join(out)


def _costs_first(df: pd.DataFrame, run: RunData) -> pd.DataFrame:
    """Rank, scenario, costs and predicted costs before the knobs: with many knobs the costs would be off
    the screen, and they are what a choice among designs starts from."""
    lead = [k for k in ("rank", "best in", "scenario") if k in df]
    costs = [k for k in run.cost_names if k in df] + \
        [f"predicted-{k}" for k in run.cost_names if f"predicted-{k}" in df]
    tail = [k for k in ("source",) if k in df]
    return df[lead + costs + tail + [k for k in df.columns if k not in lead + costs + tail]]


def _figure(path: Path, kind: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption = CAPTIONS.get(kind, "")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{e(kind.replace('_', ' '))}\">"
            f"<figcaption>{e(path.name)}: {e(caption)}</figcaption></figure>")


def _table(df: pd.DataFrame, run: RunData, sortable: bool, cls: str = "") -> str:
    """A table; cost columns shown with their unit, sorted by their number (data-sort)."""
    names = set(run.cost_names)
    classes = " ".join(x for x in ("sortable" if sortable else "", cls) if x)
    attr = f" class=\"{classes}\"" if classes else ""
    head = "".join(f"<th scope=\"col\">{e(col)}</th>" for col in df.columns)
    rows = []
    for row in df.head(MAX_ROWS).itertuples(index=False, name=None):
        cells = []
        for col, v in zip(df.columns, row):
            base = col.split("-", 1)[1] if isinstance(col, str) and col.startswith(("predicted-", "std-")) else col
            if v is None or (isinstance(v, float) and v != v):
                cells.append("<td></td>")
            elif base in names and c.finite(v):
                cells.append(f"<td class=\"num\" data-sort=\"{e(repr(float(v)))}\">{e(c.cost_text(run, base, v))}"
                             "</td>")
            elif isinstance(v, (int, float)) and not isinstance(v, bool) or hasattr(v, "dtype"):
                cells.append(f"<td class=\"num\">{e(_plain(v))}</td>")
            else:
                cells.append(f"<td>{e(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p class=\"meta\">first {MAX_ROWS} of {len(df)} rows; all are in deffe_report.xlsx</p>" \
        if len(df) > MAX_ROWS else ""
    return (f"<div class=\"scroll\"><table{attr}><thead><tr>{head}</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div>" + more)


def _plain(v) -> str:
    if hasattr(v, "item"):
        v = v.item()
    return f"{v:.6g}" if isinstance(v, float) else str(v)
