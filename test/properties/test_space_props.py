"""Properties of the design space (framework/space.py): index <-> point in mixed radix, values <-> codes."""
import itertools
import math

import numpy as np
from hypothesis import assume, given, settings, strategies as st

from framework.errors import DeffeError
from framework.space import ArithLevels, DesignSpace, GeomLevels, Knob, ListLevels
from framework.values import format_value, value_key

FAST = settings(max_examples=60, deadline=None)

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
SCALAR = st.one_of(st.integers(-10 ** 9, 10 ** 9), st.floats(-1e12, 1e12, allow_nan=False), TEXT)


def _distinct(values: list) -> list:
    out, seen = [], set()
    for v in values:
        k = value_key(v)
        if k not in seen and not (k[0] == "n" and not math.isfinite(k[1])):
            seen.add(k)
            out.append(v)
    return out


@st.composite
def finite_knob(draw, name):
    kind = draw(st.sampled_from(["list", "arith", "geom"]))
    if kind == "list":
        values = _distinct(draw(st.lists(SCALAR, min_size=1, max_size=7)))
        assume(values)
        return Knob(name, "categorical", ListLevels(values), encoding="onehot")
    n = draw(st.integers(1, 12))
    if kind == "arith":
        integer = draw(st.booleans())
        low = draw(st.integers(-100, 100)) if integer else draw(st.floats(-100, 100))
        step = draw(st.integers(1, 9)) if integer else draw(st.floats(0.01, 10))
        return Knob(name, "integer" if integer else "real", ArithLevels(low, step, n, integer))
    low = draw(st.floats(0.01, 100))
    factor = draw(st.floats(1.1, 4))
    return Knob(name, "real", GeomLevels(low, factor, n, False), log=True)


@st.composite
def spaces(draw, max_knobs=6):
    count = draw(st.integers(1, max_knobs))
    return DesignSpace([draw(finite_knob(f"k{i}")) for i in range(count)])


@FAST
@given(spaces(), st.data())
def test_index_and_point_are_inverse(space, data):
    indices = data.draw(st.lists(st.integers(0, space.size - 1), min_size=1, max_size=10))
    codes = space.point_at(indices)
    assert space.invalid(codes) is None
    assert [int(i) for i in space.index_of(codes)] == indices
    assert np.array_equal(space.point_at(space.index_of(codes)), codes)


@FAST
@given(spaces(max_knobs=4))
def test_the_last_knob_varies_fastest_like_itertools_product(space):
    assume(space.size <= 400)
    expected = np.array(list(itertools.product(*[range(r) for r in space.radices])), dtype=float)
    assert np.array_equal(space.point_at(range(space.size)), expected)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(2, 10 ** 6), min_size=4, max_size=12), st.data())
def test_spaces_beyond_int64_index_with_python_integers(radices, data):
    space = DesignSpace([Knob(f"k{i}", "ordinal", ArithLevels(0, 1, r, True)) for i, r in enumerate(radices)])
    assume(space.size > 2 ** 63)
    index = data.draw(st.integers(0, space.size - 1))
    row = space.point_at([index])
    assert space.index_of(row) == [index]


@FAST
@given(spaces(), st.data())
def test_values_and_codes_are_inverse(space, data):
    index = data.draw(st.integers(0, space.size - 1))
    row = space.point_at([index])[0]
    values = space.values(row)
    assert np.array_equal(space.code_row(values), row)                              # by name
    assert np.array_equal(space.code_row([values[n] for n in space.names]), row)    # in knob order
    texts = [format_value(values[n]) for n in space.names]                          # as a CSV holds them
    assert np.array_equal(space.code_row(texts), row)
    assert space.key(space.code_row(texts)) == space.key(row)


@FAST
@given(spaces(), st.lists(st.one_of(SCALAR, st.none(), st.booleans()), min_size=1, max_size=8))
def test_a_point_outside_the_space_is_a_deffe_error(space, values):
    try:
        row = space.code_row(values)
    except DeffeError as e:
        assert "outside its domain" in e.what or "expected" in e.what
        return
    assert space.invalid(row[None, :]) is None


@FAST
@given(st.floats(-1e6, 1e6), st.floats(1e-3, 1e6), st.booleans(), st.data())
def test_a_continuous_knob_takes_every_value_of_its_range(low, width, log, data):
    low = abs(low) + 1e-3 if log else low
    knob = Knob("x", "real", None, low=low, high=low + width, log=log)
    space = DesignSpace([knob])
    u = np.array([[data.draw(st.floats(0, 1))]])
    code = space.from_unit(u)
    assert space.invalid(code) is None
    value = space.values(code[0])["x"]
    assert space.code_row([format_value(value)])[0] == value
