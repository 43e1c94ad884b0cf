"""Edges of Deffe's value syntax: ranges beyond the machine's index limit, values written alike, brackets."""
import json

import pytest

from cli_helpers import assert_user_error, run_deffe, write
from framework.config.knobs import build_entry
from framework.errors import DeffeError
from framework.values import parse_values

HUGE = "1-100000000000000000000"   # 10**20 - 1 values: len(range(...)) overflows (before: OverflowError)


@pytest.mark.parametrize("raw", [HUGE, f"x[{HUGE}]", f"1,{HUGE}-3", "0.5-100000000000000000000.0-0.5"])
def test_a_range_beyond_the_index_limit_is_the_one_line_error_of_a_long_range(raw):
    with pytest.raises(DeffeError, match=r"lists [0-9,]{20,} values; list at most 1,000,000"):
        parse_values(raw, "knobs[0].values")


def test_a_range_beyond_the_index_limit_ends_a_run_with_one_line_and_status_2(tmp_path):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": "1-4"}], "scenarios": [{"name": "s", "values": HUGE}],
        "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:f"}}))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert_user_error(r, "config.json:scenarios[0].values", "lists 99,999,999,999,999,999,999 values")


def test_an_explore_override_beyond_the_index_limit_is_the_same_error(tmp_path):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": "1-4"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:f"},
        "exploration": {"explore": [{"name": "e", "groups": f"all, a::{HUGE}"}]}}))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert_user_error(r, "config.json:exploration.explore[0].groups[1]", "lists 99,999,999,999,999,999,999 values")


@pytest.mark.parametrize("values", [[True, "true"], ["false", False], [0, False, "false"]])
def test_two_values_written_alike_in_the_tables_are_listed_twice(values):
    # before: true and "true" were two values, both written "true" in every table and script
    with pytest.raises(DeffeError, match="is listed twice"):
        build_entry({"name": "k", "values": values}, "knobs[0]", False)


def test_values_written_differently_stay_distinct():
    knob = build_entry({"name": "k", "values": [True, 1, "yes", "True"]}, "knobs[0]", False).knobs[0]
    assert list(knob.levels) == [True, 1, "yes", "True"]


def test_the_hint_for_an_empty_range_keeps_its_prefix_and_postfix():
    with pytest.raises(DeffeError) as e:
        parse_values("x[3-1]y", "w")
    assert "write 'x[3-4]y' for the single value x3y" in str(e.value)
    with pytest.raises(DeffeError) as e:
        parse_values("x[3.0-1.0]y", "w")
    assert "write 'x[3.0-4.0-1]y' for the single value x3.0y" in str(e.value)
    with pytest.raises(DeffeError) as e:   # a bare range: as before
        parse_values("3-1", "w")
    assert "write '3-4' for the single value 3" in str(e.value)


def test_two_ranges_in_brackets_in_one_value_are_an_error():
    # before: ['a[1-3]b1', 'a[1-3]b2'] (the first bracket taken as text)
    with pytest.raises(DeffeError, match="holds 2 ranges in brackets"):
        parse_values("a[1-3]b[1-3]", "w")


@pytest.mark.parametrize("raw", ["x[1-3", "x1-3]", "[0.5-2.0"])
def test_a_range_with_an_unbalanced_bracket_is_an_error(raw):
    # before: the one text value 'x[1-3'
    with pytest.raises(DeffeError, match="unbalanced bracket"):
        parse_values(raw, "w")


def test_brackets_around_text_stay_text_and_one_range_in_brackets_expands():
    assert parse_values("arr[i]", "w") == ["arr[i]"]
    assert parse_values("a[x]b[1-3]", "w") == ["a[x]b1", "a[x]b2"]
    assert parse_values("core[0-3]x", "w") == ["core0x", "core1x", "core2x"]
    assert parse_values("x[0.5-1.5-0.5]", "w") == ["x0.5", "x1.0"]
