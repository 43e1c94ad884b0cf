"""The CSV round trip: a table of evaluated points written as the run writes it (framework/tables.py) reads
back (framework/preload.py, the reader of -pre-evaluated-data) as the same points, statuses and costs."""
import math
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings, strategies as st

from framework.errors import DeffeError
from framework.preload import load_csv
from framework.protocols import STATUSES
from framework.space import ArithLevels, DesignSpace, Knob, ListLevels
from framework.tables import cell, cost_cell, write_csv
from framework.values import to_number, value_key

FAST = settings(max_examples=40, deadline=None)

# text values as a config can give them (no spaces around a value, no control character but the tab), with
# commas, quotes and any unicode
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\t"), min_size=1,
               max_size=10).filter(lambda t: t == t.strip() and (to_number(t) is None or
                                                                  math.isfinite(float(to_number(t)))))
SPECIAL = st.sampled_from(['a,b', 'say "hi"', '"', ',', "'", "ünïcødé", "日本", "🙂", "x;y", "tab\tin", "a, b"])
COST = st.one_of(st.floats(allow_nan=False), st.integers(-10 ** 15, 10 ** 15).map(float))
MEASURED = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10 ** 15, 10 ** 15).map(float))


@st.composite
def tables(draw, statuses=STATUSES):
    knobs = []
    for i in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            values, seen = [], set()
            for v in draw(st.lists(st.one_of(TEXT, SPECIAL, st.integers(-999, 999)), min_size=1, max_size=6)):
                if value_key(v) not in seen:
                    seen.add(value_key(v))
                    values.append(v)
            knobs.append(Knob(f"k{i}", "categorical", ListLevels(values), encoding="onehot"))
        else:
            knobs.append(Knob(f"k{i}", "integer", ArithLevels(draw(st.integers(-50, 50)), draw(st.integers(1, 7)),
                                                              draw(st.integers(1, 9)), True)))
    space = DesignSpace(knobs)
    costs = [f"cost{j}" for j in range(draw(st.integers(1, 3)))]
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        index = draw(st.integers(0, space.size - 1))
        status = draw(st.sampled_from(statuses))
        # a measurement is finite (an infinite one is an error); a failed or infeasible row's cost may be inf
        values = [draw(MEASURED) if status == "ok" else draw(st.one_of(st.none(), COST)) for _ in costs]
        rows.append((space.point_at([index])[0], values, status))
    return space, costs, rows


@FAST
@given(tables())
def test_written_tables_read_back_as_the_same_points_and_costs(table):
    space, costs, rows = table
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deffe_evaluation.csv"
        # as framework/tables.write_tables writes the evaluation table: knob values, costs, status
        header = space.names + costs + ["status"]
        write_csv(path, header, ([cell(v) for v in space.values(code).values()] + [cost_cell(c) for c in values]
                                 + [status] for code, values, status in rows), str)
        pre = load_csv(path, "deffe_evaluation.csv", space, costs)
    assert pre.skipped == 0 and len(pre.results) == len(rows)
    assert np.array_equal(pre.codes, np.array([code for code, _, _ in rows]).reshape(-1, len(space)))
    for (code, values, status), got in zip(rows, pre.results):
        assert got.status == status and got.origin == "pre-evaluated"
        assert got.costs == {c: v for c, v in zip(costs, values) if v is not None}


@FAST
@given(tables(statuses=("ok",)), st.sampled_from(["\r\n", "\n"]), st.booleans())
def test_excel_line_ends_and_byte_order_mark_are_read(table, line_end, bom):
    space, costs, rows = table
    import csv
    import io
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=line_end)
    w.writerow(space.names + costs)
    for code, values, _ in rows:
        w.writerow([cell(v) for v in space.values(code).values()] + [cost_cell(c) for c in values])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pre.csv"
        path.write_bytes(buf.getvalue().encode("utf-8-sig" if bom else "utf-8"))
        pre = load_csv(path, "pre.csv", space, costs)
    assert len(pre.results) == len(rows) and pre.skipped == 0
    assert [r.costs for r in pre.results] == [dict(zip(costs, values)) for _, values, _ in rows]


@FAST
@given(st.binary(max_size=300))
def test_any_bytes_are_rows_or_a_deffe_error(blob):
    space = DesignSpace([Knob("a", "ordinal", ListLevels([1, 2, 3])), Knob("b", "categorical", ListLevels(["x", "y"]),
                                                                             encoding="onehot")])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pre.csv"
        path.write_bytes(b"a,b,t\n" + blob if blob[:1] != b"!" else blob)
        try:
            pre = load_csv(path, "pre.csv", space, ["t"])
        except DeffeError as e:
            assert e.file == "pre.csv"
            return
    assert space.invalid(pre.codes) is None
    assert all(r.status in STATUSES and all(not math.isnan(v) for v in r.costs.values()) for r in pre.results)
