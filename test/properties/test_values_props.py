"""Properties of Deffe's value syntax (framework/values.py): any input is a list of values or a DeffeError."""
import math

from hypothesis import given, settings, strategies as st

from framework.errors import DeffeError
from framework.values import format_value, parse_names, parse_values, quantity_text, to_number, typed, value_key

FAST = settings(max_examples=150, deadline=None)

# what a config may hold where values belong: text of the syntax's own characters, numbers, and anything else
SYNTAX = st.text(alphabet="0123456789-,;[]abx $.eE+ \t", max_size=30)
SCALARS = st.one_of(SYNTAX, st.text(max_size=20), st.integers(-10 ** 30, 10 ** 30), st.floats(), st.booleans(),
                    st.none())
RAW = st.one_of(SCALARS, st.lists(st.one_of(SCALARS, st.lists(st.integers(), max_size=2), st.dictionaries(
    st.text(max_size=3), st.integers(), max_size=2)), max_size=6), st.dictionaries(st.text(max_size=3), SCALARS,
                                                                                   max_size=2))


def _is_value(v) -> bool:
    return isinstance(v, (bool, int, str)) or (isinstance(v, float) and math.isfinite(v))


@FAST
@given(RAW, st.sampled_from([",", ";"]))
def test_any_input_is_values_or_a_deffe_error(raw, delim):
    try:
        values = parse_values(raw, "knobs[0].values", delim)
    except DeffeError as e:
        assert e.where and e.where.startswith("knobs[0].values")
        return
    assert isinstance(values, list) and all(_is_value(v) for v in values)
    for v in values:   # every value has an identity and a text
        value_key(v)
        assert isinstance(format_value(v), str)


@FAST
@given(st.lists(st.one_of(st.integers(-10 ** 6, 10 ** 6), st.floats(allow_nan=False, allow_infinity=False)),
                max_size=8))
def test_numbers_keep_their_value_and_order(numbers):
    assert parse_values(numbers, "v") == numbers
    text = ", ".join(format_value(n) for n in numbers)
    assert [value_key(v) for v in parse_values(text, "v")] == [value_key(n) for n in numbers]


@FAST
@given(st.integers(0, 500), st.integers(0, 500), st.integers(1, 50))
def test_a_range_excludes_its_end(start, end, step):
    text = f"{start}-{end}-{step}"
    try:
        values = parse_values(text, "v")
    except DeffeError as e:
        assert start >= end and "empty" in e.what
        return
    assert values == list(range(start, end, step))


@FAST
@given(st.integers(0, 500), st.integers(0, 500), st.integers(1, 50), st.integers(1, 3))
def test_a_decimal_range_excludes_its_end_and_keeps_the_written_decimals(start, end, step, places):
    scale = 10 ** places
    text = f"{start / scale:.{places}f}-{end / scale:.{places}f}-{step / scale:.{places}f}"
    try:
        values = parse_values(text, "v")
    except DeffeError as e:
        assert start >= end and "empty" in e.what
        return
    assert [format_value(v) for v in values] == [repr(float(f"{i / scale:.{places}f}"))
                                                 for i in range(start, end, step)]


@FAST
@given(st.text(alphabet="abc_", min_size=1, max_size=4), st.integers(0, 20), st.integers(0, 20),
       st.text(alphabet="xyz", max_size=3))
def test_a_bracket_range_keeps_its_prefix_and_postfix(prefix, start, end, postfix):
    try:
        values = parse_values(f"{prefix}[{start}-{end}]{postfix}", "v")
    except DeffeError:
        assert start >= end
        return
    assert values == [f"{prefix}{i}{postfix}" for i in range(start, end)]


@FAST
@given(st.one_of(st.integers(-10 ** 20, 10 ** 20), st.floats(), st.booleans(), st.text(max_size=12)))
def test_written_values_read_back_as_the_same_value(v):
    text = format_value(v)
    if isinstance(v, float) and not math.isfinite(v):
        return
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        assert to_number(text) == v and value_key(text) == value_key(v)
    if isinstance(v, str) and to_number(v) is None:
        assert typed(text) == v


@FAST
@given(st.one_of(st.none(), st.text(max_size=20), st.lists(st.one_of(st.text(max_size=6), st.integers()),
                                                           max_size=4), st.integers()))
def test_names_are_a_list_of_text_or_a_deffe_error(raw):
    try:
        names = parse_names(raw, "groups")
    except DeffeError:
        return
    assert all(isinstance(n, str) and n and n == n.strip() for n in names)


@FAST
@given(st.floats(), st.sampled_from([None, "", "s", "B", "FLOP/s", "samples/s"]), st.integers(1, 8))
def test_quantities_are_always_shown(value, unit, digits):
    assert isinstance(quantity_text(value, unit, digits), str)


def test_costs_without_a_unit_are_written_in_one_format():
    # a run's summary listed t=2,992, t=3128 (3127.8) and t=1.195e+04 (11954.3) side by side
    assert [quantity_text(v) for v in (2992, 3127.8, 11954.3, 12.345, 0.5)] == [
        "2,992", "3,128", "11,954", "12.35", "0.5"]
