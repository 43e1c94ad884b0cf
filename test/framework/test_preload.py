"""Reading pre-evaluated data (-pre-evaluated-data): what a row that cannot be a measurement becomes, and what
the reader says of a point given twice. End-to-end runs of the same files are in test_cli.py."""
import json
import math

import numpy as np
import pytest

from cli_helpers import write
from framework.config import Cost
from framework.errors import DeffeError
from framework.preload import load_csv, other_than_stored
from framework.protocols import Result
from framework.space import DesignSpace, Knob, ListLevels

SPACE = DesignSpace([Knob("a", "integer", ListLevels([0, 1, 2, 3, 4])),
                     Knob("c", "categorical", ListLevels(["x", "y"]))])


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
