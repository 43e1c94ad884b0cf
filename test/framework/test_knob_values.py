"""The values a knob of the config hands out: a log range with a step factor, and Deffe's explore-group
overrides (name::v1;v2) take the knob's own type and bounds."""
import pytest

from framework.config.knobs import build_entry, select
from framework.errors import DeffeError


def levels(**entry):
    return list(build_entry({"name": "k", **entry}, "knobs[0]", False).knobs[0].levels)


def test_a_real_log_range_with_a_step_factor_gives_the_decimals_written_and_stays_within_max():
    # before: 0.8999999999999999 and 2.6999999999999997; and 0.30000000000000004, above max 0.3
    assert levels(type="real", min=0.3, max=3, log=True, step=3) == [0.3, 0.9, 2.7]
    assert levels(type="real", min=0.1, max=0.3, log=True, step=3) == [0.1, 0.3]
    assert levels(type="real", min=0.1, max=1, log=True, step=1.5) == [0.1, 0.15, 0.225, 0.3375, 0.50625,
                                                                      0.759375]
    assert all(v <= 0.3 for v in levels(type="real", min=0.1, max=0.3, log=True, step=3))


def test_distinct_integers_beyond_2_53_are_distinct_values_and_3_and_3_0_are_one():
    # before: "value 9007199254740993 is listed twice" (every number was keyed by its float)
    big = [9007199254740992, 9007199254740993, 9007199254740994]
    assert levels(values=big) == big
    knob = build_entry({"name": "k", "values": big}, "knobs[0]", False).knobs[0]
    assert [knob.code(v) for v in big] == [0, 1, 2]
    assert knob.code("9007199254740993") == 1
    with pytest.raises(DeffeError, match="listed twice"):
        levels(values=[1, 3, 3.0])


def test_merging_a_boolean_knob_with_a_number_knob_says_booleans_not_text():
    entries = [build_entry({"name": "a", "groups": "g1", "values": [True]}, "knobs[0]", False),
               build_entry({"name": "a", "groups": "g2", "values": [1]}, "knobs[1]", False)]
    with pytest.raises(DeffeError) as e:
        select(entries, ["g1", "g2"], {}, "c.json", "explore[0]")
    assert "one has booleans and the other numbers" in str(e.value)
