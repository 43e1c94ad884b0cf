"""Reading pre-evaluated data (-pre-evaluated-data): what a row that cannot be a measurement becomes, and what
the reader says of a point given twice. End-to-end runs of the same files are in test_cli.py."""
import json
import math

import numpy as np
import pytest

from cli_helpers import write
from framework.config import Cost
from framework.errors import DeffeError
from framework.inference import read_input
from framework.preload import load_csv, other_than_stored
from framework.protocols import Result
from framework.space import DesignSpace, Knob, ListLevels
from framework.values import parse_values

SPACE = DesignSpace([Knob("a", "integer", ListLevels([0, 1, 2, 3, 4])),
                     Knob("c", "categorical", ListLevels(["x", "y"]))])


ALIASED = DesignSpace([Knob("a", "integer", ListLevels([0, 1, 2, 3, 4])),
                       Knob("size", "integer", ListLevels([64, 128]), scenario=True, map="options")])


@pytest.mark.parametrize("header", ["a,size,options,t", "a,Options,size,t"])
def test_a_knob_and_its_map_alias_both_given_is_an_error_naming_both(tmp_path, header):
    # size=64 was read and options=128 dropped in silence (the -inference-only input and the API's predict
    # read their columns the same way)
    write(tmp_path / "pre.csv", f"{header}\n1,64,128,5\n")
    with pytest.raises(DeffeError) as e:
        load_csv(tmp_path / "pre.csv", "pre.csv", ALIASED, ["t"])
    assert str(e.value).startswith("pre.csv:line 1: columns 'size' (knob size) and ") and \
        "(its map alias) both give knob size" in str(e.value) and "remove one of the two columns" in str(e.value)
    write(tmp_path / "one.csv", "a,options,t\n1,128,5\n")   # the alias alone names the knob, as in Deffe
    assert ALIASED.values(load_csv(tmp_path / "one.csv", "one.csv", ALIASED, ["t"]).codes[0])["size"] == 128


@pytest.mark.parametrize("cost", ["1e400", "-inf", "inf"])
def test_an_infinite_cost_is_an_error_naming_its_line(tmp_path, cost):
    # it was stored ok, and became the best design ("best t 3" with -inf in the table) or trained the model
    write(tmp_path / "pre.csv", f"a,c,t\n1,x,13\n4,y,{cost}\n")
    with pytest.raises(DeffeError) as e:
        load_csv(tmp_path / "pre.csv", "pre.csv", SPACE, ["t"])
    assert str(e.value).startswith(f"pre.csv:line 3: cost 't' is infinite: '{cost}'; a row that was not measured")


def test_an_integer_cost_beyond_any_float_says_how_long_it_is(tmp_path):
    # it quoted the first 40 digits as the number, and a 40-digit cost is fine
    write(tmp_path / "pre.csv", "a,c,t\n1,x,1" + "0" * 400 + "\n")
    with pytest.raises(DeffeError) as e:
        load_csv(tmp_path / "pre.csv", "pre.csv", SPACE, ["t"])
    assert "pre.csv:line 2: cost 't' is too large: an integer of 401 digits (100000000000...)" in str(e.value)


def test_an_infeasible_row_may_say_its_cost_is_infinite(tmp_path):
    write(tmp_path / "pre.csv", "a,c,t,status\n1,x,inf,infeasible\n")
    pre = load_csv(tmp_path / "pre.csv", "pre.csv", SPACE, ["t"])
    assert pre.results[0].status == "infeasible" and pre.results[0].costs == {"t": math.inf}


def test_a_cost_outside_its_valid_range_makes_the_row_failed(tmp_path):
    # "costs": [{"name": "t", "min": 0}]: t = -44 was stored ok and shown as the best design
    write(tmp_path / "pre.csv", "a,c,t\n1,x,13\n4,y,-44\n3,x,32\n2,y,-1\n")
    pre = load_csv(tmp_path / "pre.csv", "pre.csv", SPACE, [Cost("t", low=0)])
    assert [r.status for r in pre.results] == ["ok", "failed", "ok", "failed"]
    assert pre.results[1].costs == {} and pre.results[0].costs == {"t": 13.0}
    assert pre.results[1].error == "t = -44 is below its minimum 0: not a valid measurement (pre.csv, line 3)"
    assert pre.notes == ["2 rows outside a cost's valid range stored as failed (first: line 3: t = -44 is below "
                         "its minimum 0)"]
    # names only (no ranges): read as they are
    assert [r.status for r in load_csv(tmp_path / "pre.csv", "pre.csv", SPACE, ["t"]).results] == ["ok"] * 4


def test_a_point_given_again_with_other_costs_is_named_and_the_first_row_kept(tmp_path):
    # 1,x,10 / 1,x,99 / 1.0,x,50: the first won without a word
    write(tmp_path / "pre.csv", "a,c,t,status\n1,x,10,\n1,x,99,\n1.0,x,50,\n3,x,30,\n3,x,30,\n2,y,5,\n2,y,,failed\n")
    pre = load_csv(tmp_path / "pre.csv", "pre.csv", SPACE, ["t"])
    assert pre.notes == ["3 rows give other costs for a point of an earlier row, whose costs are kept (line 3: "
                         "t=99 where line 2 gave t=10; line 4: t=50 where line 2 gave t=10; line 8: failed where "
                         "line 7 gave t=5)"]
    assert list(pre.lines) == [2, 3, 4, 5, 6, 7, 8]


def test_a_point_the_store_holds_with_other_costs_is_named(tmp_path):
    write(tmp_path / "again.csv", "a,c,t\n1,x,77\n3,x,30\n")
    pre = load_csv(tmp_path / "again.csv", "again.csv", SPACE, ["t"])
    stored = [Result("ok", {"t": 10.0}), Result("ok", {"t": 30.0})]
    assert other_than_stored(pre, [0, 1], stored, ["t"]) == (
        "1 row gives other costs than the store holds for its point, whose stored costs are kept "
        "(line 2: t=77 where the store holds t=10)")
    assert other_than_stored(pre, [1], stored[1:], ["t"]) is None


# ---- how the cells are read (framework/csv_rows.py); -inference-only's input is read by the same reader
ARANGE = DesignSpace([Knob("f", "real", ListLevels(parse_values("0.1-1.0-0.1", "f"))),
                      Knob("n", "integer", ListLevels([1, 2, 14]))])


def _error(path, space=SPACE, costs=("t",)):
    with pytest.raises(DeffeError) as e:
        load_csv(path, path.name, space, list(costs))
    return str(e.value)


def _bad_input(path, space=SPACE, costs=("t",)):
    """What -inference-only says of an input: (its error, or None; the bad rows)."""
    try:
        rows, _ = read_input(path, path.name, space, list(costs))
    except DeffeError as e:
        return str(e), None
    return None, rows.bad


def test_a_quote_never_closed_is_an_error_naming_the_line_it_opened(tmp_path):
    # a note '"approx. 12in' swallowed every later line: inference predicted 5 of 2,000 rows, exit 0, and the
    # preload named the last line with a 32 KB "value"
    notes = ['"approx. 12in' if i == 4 else "fine" for i in range(2000)]
    body = "".join(f"{i % 5},x,{i},{note}\n" for i, note in enumerate(notes))
    path = write(tmp_path / "in.csv", "a,c,t,note\n" + body)
    want = ("in.csv:line 6: a quoted cell opened on line 6 is never closed: it runs to the end of the file "
            "(line 2001); a '\"' at the start of a cell opens a quoted cell")
    for said in (_error(path), _bad_input(path)[0]):
        assert said.startswith(want) and len(said) < 300


def test_a_quote_beyond_the_field_limit_names_the_line_it_opened(tmp_path):
    # csv's 128 KiB limit was met 8,000 lines later, and that line was named
    quotes = ['"' if i == 4 else "" for i in range(20000)]
    body = "".join(f"{i % 5},x,{q}{i}\n" for i, q in enumerate(quotes))
    said = _error(write(tmp_path / "big.csv", "a,c,t\n" + body))
    assert said.startswith("big.csv:line 6: not a readable CSV row (field larger than field limit")
    assert "a '\"' at the start of a cell" in said and len(said) < 400


def test_a_quoted_cell_of_several_lines_is_read_only_in_a_column_not_read(tmp_path):
    path = write(tmp_path / "note.csv", 'a,c,t,note\n1,x,3,"two\nlines"\n2,y,4,one\n')
    assert list(load_csv(path, "note.csv", SPACE, ["t"]).lines) == [2, 4]
    path = write(tmp_path / "cost.csv", 'a,c,t\n1,x,"3\n2,y,4"\n3,x,5\n')
    assert _error(path).startswith("cost.csv:line 2: the quoted cell of column 't' runs from line 2 to line 3; ")


def test_a_value_in_a_message_is_cut_short(tmp_path):
    with pytest.raises(DeffeError) as e:
        SPACE.code_row(["1", "y" * 5000])
    assert str(e.value) == f"value '{'y' * 60}'... of 'c' is outside its domain (x, y)"


def test_a_row_with_more_cells_than_the_header_is_an_error(tmp_path):
    # '1,000' read as 1 and the next cost's text: the columns after it shifted, silently
    path = write(tmp_path / "x.csv", "a,c,t,u\n1,x,1,000,5\n3,y,7,8\n")
    want = ("x.csv:line 2: the row has 5 cells where the header (line 1) has 4; quote a cell that holds the "
            "separator ',' (\"1,000\"), or write the number without it (1000)")
    assert _error(path, costs=("t", "u")) == want
    assert _bad_input(path, costs=["t", "u"])[0] == want
    # empty cells after the last column (a spreadsheet's ragged rows) hold nothing to shift
    path = write(tmp_path / "ragged.csv", "a,c,t\n1,x,3,,\n")
    assert load_csv(path, "ragged.csv", SPACE, ["t"]).results[0].costs == {"t": 3.0}


def test_a_row_cut_short_says_so(tmp_path):
    path = write(tmp_path / "cut.csv", "a,c,t\n1,x,3\n1\n")
    assert _error(path) == ("cut.csv:line 3: the row has 1 cell where the header (line 1) has 3; a row has a cell "
                            "for each column of the header; was the file cut short?")
    assert _bad_input(path) == (None, [(3, "the row has 1 cell where the header (line 1) has 3")])


def test_decimal_range_values_written_by_arange_match_their_level(tmp_path):
    # np.arange(0.1, 1.0, 0.1) writes 0.30000000000000004 and 0.7000000000000001: skipped as outside the domain
    import numpy as np
    rows = "".join(f"{v!s},1,{i}\n" for i, v in enumerate(np.arange(0.1, 1.0, 0.1)))
    path = write(tmp_path / "d.csv", "f,n,t\n" + rows)
    pre = load_csv(path, "d.csv", ARANGE, ["t"])
    assert pre.skipped == 0 and [ARANGE.values(c)["f"] for c in pre.codes] == [
        0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert _bad_input(path, ARANGE)[1] == []
    # not a value near one, and an integer that is not one
    path = write(tmp_path / "e.csv", "f,n,t\n0.3000001,1,1\n0.3,14.00000000001,2\n")
    pre = load_csv(path, "e.csv", ARANGE, ["t"])
    assert pre.skipped == 2 and not len(pre.codes)


def test_a_semicolon_file_reads_its_numbers_with_one_decimal_mark(tmp_path):
    # '12,5' was 12.5 and then '1.000' (a thousand, as Excel shows it there) 1
    path = write(tmp_path / "s.csv", "a;c;t\n1;x;12,5\n4;x;1.000\n")
    assert _error(path) == ("s.csv:line 3: '1.000' in column 't' has a decimal point where line 2 has a decimal "
                            "comma ('12,5'): in a file separated by ';' a '.' may separate thousands; write the "
                            "numbers with one decimal mark and no thousands separator")
    assert _bad_input(path)[0] == _error(path)
    path = write(tmp_path / "both.csv", "a;c;t\n4;x;1.000,5\n")
    assert _error(path).startswith("both.csv:line 2: '1.000,5' in column 't' has both a '.' and a ','")
    # one mark in the whole file: read with it
    for mark in (",", "."):
        path = write(tmp_path / "one.csv", f"a;c;t;note\n1;x;12{mark}5;v1.2\n2;y;3;x,y\n")
        assert [r.costs["t"] for r in load_csv(path, "one.csv", SPACE, ["t"]).results] == [12.5, 3.0]


def test_a_header_repeated_by_joining_files_is_no_row_and_its_order_is_followed(tmp_path):
    # the second header was a row outside the space, and the rows under it were read in the first's order
    path = write(tmp_path / "all.csv", "a,c,t,u\n1,x,0.08,6\na,c,u,t\n2,x,10,0.24\na,c,t,u\n3,x,1,2\n")
    pre = load_csv(path, "all.csv", SPACE, ["t", "u"])
    assert pre.skipped == 0 and list(pre.lines) == [2, 4, 6]
    assert [r.costs for r in pre.results] == [{"t": 0.08, "u": 6}, {"t": 0.24, "u": 10}, {"t": 1, "u": 2}]
    rows, _ = read_input(path, "all.csv", SPACE, ["t", "u"])
    assert list(rows.truth) == [0.08, 6, 0.24, 10, 1, 2]
    path = write(tmp_path / "other.csv", "a,c,t\n1,x,1\na,c,t,note\n2,x,3,n\n")
    assert _error(path).startswith("other.csv:line 3: line 3 is a header with other columns than line 1's "
                                   "(a, c, t, note); join only files of the same columns")


def test_a_header_of_other_knob_columns_joined_by_cat_is_an_error_naming_its_line(tmp_path):
    # a second header whose first cell names no column of line 1 was a row outside the space, skipped: its
    # costs 't', 'u' never checked, and the rows after it read in line 1's order (exit 0)
    for second in ("q,r,t,u", "q,r,u,t", "4,y,t,u", "Q,R,T,U"):
        path = write(tmp_path / "cat.csv", f"a,c,t,u\n1,x,0.5,6\n{second}\n2,x,3,3\n")
        assert _error(path, costs=("t", "u")) == (
            f"cat.csv:line 3: line 3 is a header with other columns than line 1's ({second.replace(',', ', ')}); "
            "join only files of the same columns, or give each on its own"), second
    path = write(tmp_path / "status.csv", "a,c,t,status\n1,x,0.5,ok\n4,y,t,status\n")
    assert _error(path).startswith("status.csv:line 3: line 3 is a header with other columns than line 1's")
    # rows of text outside the space are still points outside it, skipped, and a repeated header no row
    path = write(tmp_path / "data.csv", "a,c,t,u\n1,x,0.5,6\nq,r,1,2\nz,w,n/a,n/a\n9,x,1,2\na,c,t,u\n2,x,3,3\n")
    pre = load_csv(path, "data.csv", SPACE, ["t", "u"])
    assert pre.skipped == 3 and pre.first_skip.startswith("line 3:") and list(pre.lines) == [2, 7]

def test_nan_costs_are_not_measured_in_a_row_whose_status_says_so(tmp_path):
    path = write(tmp_path / "nan.csv", "a,c,t,status\n1,x,3,ok\n4,y,nan,timeout\n2,y,NaN,failed\n")
    pre = load_csv(path, "nan.csv", SPACE, ["t"])
    assert [(r.status, r.costs) for r in pre.results] == [("ok", {"t": 3.0}), ("timeout", {}), ("failed", {})]
    # measured: no measurement
    path = write(tmp_path / "ok.csv", "a,c,t,status\n1,x,nan,ok\n")
    assert _error(path).startswith("ok.csv:line 2: cost 't' is not a number: 'nan'")


def test_a_table_separated_by_spaces_is_read_as_deffe_read_it(tmp_path):
    # Deffe split a line without a comma on whitespace; the header was one column "a c t"
    path = write(tmp_path / "d.txt", "a c t\n1 x 3\n2  y\t 4\n\n")
    pre = load_csv(path, "d.txt", SPACE, ["t"])
    assert [(SPACE.values(c), r.costs) for c, r in zip(pre.codes, pre.results)] == [
        ({"a": 1, "c": "x"}, {"t": 3.0}), ({"a": 2, "c": "y"}, {"t": 4.0})]
    path = write(tmp_path / "e.txt", "a c t\n1 x fast run 3\n")
    assert _error(path) == ("e.txt:line 2: the row has 5 cells where the header (line 1) has 3; in a table "
                            "separated by spaces a cell holds no space; write it without, or separate the cells "
                            "by commas")
    # a one-column input whose column is named with spaces stays one column
    one = DesignSpace([Knob("batch size", "integer", ListLevels([1, 2]))])
    rows, _ = read_input(write(tmp_path / "one.csv", "batch size\n2\n"), "one.csv", one, [])
    assert list(rows.codes) == [1.0]


def test_rows_of_one_status_and_other_costs_say_which_costs(tmp_path):
    # "line 3: timeout where the store holds timeout"
    path = write(tmp_path / "inf.csv", "a,c,t,status\n4,x,-inf,timeout\n")
    pre = load_csv(path, "inf.csv", SPACE, ["t"])
    assert other_than_stored(pre, [0], [Result("timeout", {})], ["t"]) == (
        "1 row gives other costs than the store holds for its point, whose stored costs are kept "
        "(line 2: timeout (t=-inf) where the store holds timeout)")


def test_many_rows_enter_the_store_at_once_with_the_keys_and_values_of_their_points(tmp_path):
    # the rows entered one transaction each (200,000 rows: a minute); now in batches, with the same text
    from framework.preload_rows import RowText
    from framework.store import RunStore
    space = DesignSpace([Knob("n", "integer", ListLevels([1, 2, 4])), Knob("f", "real", ListLevels([0.5, 1.0])),
                         Knob("s", "categorical", ListLevels(["x", "y, z", 'q"'])),
                         Knob("b", "categorical", ListLevels([True, False]))])
    codes = np.array([[i % 3, i % 2, i % 3, (i // 6) % 2] for i in range(6)] * 2, dtype=float)   # 6 points twice
    keys, params = RowText(space).texts(codes)
    assert keys == space.keys(codes) and len(set(keys)) == 6
    assert [json.loads(p) for p in params] == space.decode(codes)
    store = RunStore(tmp_path / "deffe.db")
    store.add_evaluated_many("e", [(keys[0], params[0], "ok", {"t": 1.0}, None, "pre-evaluated", None)])
    rows = [(k, p, "ok", {"t": float(i)}, None, "pre-evaluated", None) for i, (k, p) in enumerate(zip(keys, params))]
    added = store.add_evaluated_many("e", rows, chunk=5)   # a point held, and points given twice
    assert added == [False] + [i < 6 for i in range(1, 12)]
    store.close()
    store = RunStore(tmp_path / "deffe.db")   # committed
    held = store.lookup(keys)
    assert len(held) == 6 and held[keys[0]].costs == {"t": 1.0} and held[keys[5]].costs == {"t": 5.0}
    assert held[keys[3]].params == space.values(codes[3]) and held[keys[3]].origin == "pre-evaluated"
    assert sorted(s.id for s in held.values()) == list(range(1, 7))


def test_a_finite_knobs_cell_text_is_matched_once_and_a_value_outside_is_still_named(tmp_path, monkeypatch):
    # each cell went through space.code (value_key, to_number) on every row: 200,000 rows took 2 s of it
    from framework.space import Knob as KnobClass
    calls = []
    code = KnobClass.code
    monkeypatch.setattr(KnobClass, "code", lambda self, value: calls.append((self.name, value)) or code(self, value))
    write(tmp_path / "pre.csv", "a,c,t\n" + "1,x,2\n2,y,3\n" * 50 + "9,x,1\n")
    pre = load_csv(tmp_path / "pre.csv", "pre.csv", SPACE, ["t"])
    assert len(pre.results) == 100 and pre.skipped == 1 and pre.first_skip.startswith("line 102: value '9' of 'a'")
    assert sorted(set(calls)) == [("a", "1"), ("a", "2"), ("a", "9"), ("c", "x"), ("c", "y")]
    assert calls.count(("a", "1")) == 1 and calls.count(("c", "x")) == 1   # the row outside is read again to name it


def test_costs_read_as_numbers_keep_what_to_number_made_of_them(tmp_path):
    # a plain number is read by float(): -0 stays the 0 it was, '1_0' and other digits are still no number
    write(tmp_path / "pre.csv", "a,c,t,m\n0,x,-0,1e2\n1,x,-0.0,.5\n2,x,12345678901234567890123,7.\n")
    pre = load_csv(tmp_path / "pre.csv", "pre.csv", SPACE, ["t", "m"])
    assert [r.costs for r in pre.results] == [{"t": 0.0, "m": 100.0}, {"t": -0.0, "m": 0.5},
                                             {"t": 1.2345678901234568e22, "m": 7.0}]
    assert str(pre.results[0].costs["t"]) == "0.0" and str(pre.results[1].costs["t"]) == "-0.0"
    write(tmp_path / "bad.csv", "a,c,t\n0,x,1_0\n")
    with pytest.raises(DeffeError, match="line 2: cost 't' is not a number: '1_0'"):
        load_csv(tmp_path / "bad.csv", "bad.csv", SPACE, ["t"])


def test_the_preloaded_sampler_finds_each_point_once_without_the_keys_text(monkeypatch):
    # the text key of every row was made to find the points given twice (a million rows: 1 GB)
    from types import SimpleNamespace
    from framework.preloaded_sampler import PreloadedSampler
    space = DesignSpace([Knob("a", "integer", ListLevels([0, 1, 2])), Knob("x", "real", None, low=-1.0, high=1.0)])
    monkeypatch.setattr(DesignSpace, "keys", lambda *a: pytest.fail("keys made"))
    rows = np.array([[1, 0.5], [0, 0.0], [1, 0.5], [2, -0.0], [0, -0.0], [2, 0.0]])   # -0.0 is the point 0.0
    sampler = PreloadedSampler(SimpleNamespace(preloaded=list(rows), space=space), None, ordered=True)
    sampler.Initialize()
    assert sampler.codes.tolist() == [[1, 0.5], [0, 0.0], [2, -0.0]]


def test_the_costs_text_handed_to_the_store_is_what_the_store_writes_of_them(tmp_path):
    # made without json.dumps per row: the same text, infinite and not measured costs included
    from framework.driver_preload import _stored_rows
    from framework.store import _dumps
    write(tmp_path / "pre.csv", "a,c,t,m,status\n0,x,1.5,-0,ok\n1,x,inf,,infeasible\n2,y,-inf,nan,infeasible\n"
                                "3,y,1e-300,2,failed\n")
    pre = load_csv(tmp_path / "pre.csv", "pre.csv", SPACE, ["t", "m"])
    keys: list[str] = []
    rows = list(_stored_rows(SPACE, pre, keys))
    assert [r[3] for r in rows] == [_dumps(r.costs) for r in pre.results]
    assert [r[3] for r in rows][:3] == ['{"t":1.5,"m":0.0}', '{"t":Infinity}', '{"t":-Infinity}']
