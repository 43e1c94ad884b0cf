"""Mixed-radix indexing, value matching and the model encoding."""
import numpy as np
from hypothesis import given, settings, strategies as st

from framework.encoding import Encoding
from framework.space import ArithLevels, DesignSpace, GeomLevels, Knob, ListLevels


def knob(name, values, kind="ordinal", encoding="numeric", **kw):
    return Knob(name, kind, ListLevels(values), encoding=encoding, **kw)


SPACE = DesignSpace([knob("a", [1, 2, 3, 5]), knob("b", ["x", "y"], "categorical", "onehot"),
                     knob("c", [16, 32, 64])])


def test_index_order_is_last_knob_fastest():
    pts = SPACE.point_at(range(SPACE.size))
    assert SPACE.size == 24
    assert pts[:4].tolist() == [[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 1, 0]]
    assert list(SPACE.index_of(pts)) == list(range(24))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=25), st.data())
def test_index_point_round_trip_any_radix(radices, data):
    space = DesignSpace([Knob(f"k{i}", "ordinal", ArithLevels(0, 1, r, True)) for i, r in enumerate(radices)])
    index = data.draw(st.integers(0, space.size - 1))
    row = space.point_at([index])
    assert int(space.index_of(row)[0]) == index
    assert all(0 <= c < r for c, r in zip(row[0], radices))


def test_values_match_by_value():
    row = SPACE.code_row({"a": "3.0", "b": "y", "c": 64.0})
    assert SPACE.values(row) == {"a": 3, "b": "y", "c": 64}
    assert SPACE.key(row) == SPACE.key(SPACE.code_row(["3", "y", "64"]))


def test_ranges_are_not_materialised():
    big = Knob("n", "integer", ArithLevels(0, 1, 10 ** 12, True), low=0, high=10 ** 12 - 1)
    assert big.size == 10 ** 12 and big.value(123456789) == 123456789 and big.code(987654321) == 987654321
    geo = Knob("g", "integer", GeomLevels(16, 2, 6, True), low=16, high=512, log=True)
    assert list(geo.levels) == [16, 32, 64, 128, 256, 512] and geo.code("128") == 3


def test_invalid_codes_are_named():
    assert SPACE.invalid(np.array([[0, 1, 2]])) is None
    assert "knob 'c'" in SPACE.invalid(np.array([[0, 1, 3]]))
    assert "knob 'a'" in SPACE.invalid(np.array([[0.5, 1, 0]]))


def test_encoding_per_kind():
    space = DesignSpace([knob("a", [1, 2, 3, 5]), knob("b", ["x", "y"], "categorical", "onehot"),
                         knob("s", ["lo", "mid", "hi"], "ordinal", "ordinal"), knob("fixed", [7]),
                         Knob("lr", "real", None, low=1e-4, high=1e-2, log=True)])
    enc = Encoding(space)
    # single-valued knobs give no feature; a list of numbers also gives its place in the list
    assert enc.feature_names == ["a", "a:rank", "b=x", "b=y", "s", "lr"]
    x = enc.transform(np.array([[2, 1, 2, 0, 1e-3]]))  # codes: a is level 2 (value 3) of 4
    assert np.allclose(x, [[0.5, 2 / 3, 0, 1, 1.0, 0.5]])


def test_a_string_range_is_held_as_a_range_with_the_levels_of_its_list():
    """"1-1000000" made a million values, keys and texts (18 s, 530 MB for 100 samples); it is held as a
    range (RangeLevels) whose levels, codes, keys and description are those of the list of its values."""
    from framework.config.knobs import _build_knob
    from framework.space import RangeLevels
    from framework.values import parse_values
    for text in ("1-1000", " 3 - 100 - 7 ", ["0-50"]):
        lazy = _build_knob({"values": text}, "a", "c.json", "knobs[0]", False)
        listed = Knob("a", "ordinal", ListLevels(parse_values(text, "v")), encoding="numeric")
        assert isinstance(lazy.levels, RangeLevels)
        assert (lazy.kind, lazy.encoding, lazy.numeric) == (listed.kind, listed.encoding, listed.numeric)
        assert list(lazy.levels) == list(listed.levels) and len(lazy.levels) == len(listed.levels)
        assert np.array_equal(lazy.levels.numbers(), listed.levels.numbers())
        assert lazy.describe() == listed.describe()
        assert lazy.levels.duplicates() == listed.levels.duplicates() == []
        for v in (0, 1, 3, 10, 17, 24, 49, 50, 999, 1000, "1", "10", "10.0", " 17", "1e1", 10.0, 10.5, True, "x",
                  -3, [1]):
            try:
                want = listed.levels.index(v)
            except ValueError:
                want = "absent"
            try:
                got = lazy.levels.index(v)
            except ValueError:
                got = "absent"
            assert got == want, (text, v)
    # anything else is a list of values, as before
    for text in ("1-3, 7", "x[1-3]", "0.5-2-0.5", "5-3", "1-1"):
        try:
            k = _build_knob({"values": text}, "a", "c.json", "knobs[0]", False)
        except Exception:
            continue
        assert not isinstance(k.levels, RangeLevels), text
