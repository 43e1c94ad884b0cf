"""Deffe's explore-group override 'name::v1;v2': its values take the knob's own type and bounds."""
import json

import pytest

from cli_helpers import assert_user_error, run_deffe
from framework.config.knobs import build_entry, parse_explore_groups, select
from framework.errors import DeffeError

KNOBS = [{"name": "t", "values": [True, False]}, {"name": "word", "values": ["true", "x"]},
         {"name": "cores", "type": "integer", "min": 1, "max": 8},
         {"name": "frac", "type": "real", "min": 0, "max": 1}]


def space(groups):
    entries = [build_entry(k, f"knobs[{i}]", False) for i, k in enumerate(KNOBS)]
    tokens, overrides = parse_explore_groups(groups, "c.json", "explore[0]")
    return {k.name: list(k.levels) for k in select(entries, tokens, overrides, "c.json", "explore[0]").knobs}


def test_a_boolean_knob_overridden_gets_booleans_not_text():
    # before: the evaluator got the text 'false', which is true in Python
    got = space("all, t::true;False, word::true;y, cores::2;4.0, frac::0;1")
    assert got["t"] == [True, False] and all(type(v) is bool for v in got["t"])
    assert got["word"] == ["true", "y"]                          # a text knob keeps its text
    assert got["cores"] == [2, 4] and all(type(v) is int for v in got["cores"])
    assert got["frac"] == [0.0, 1.0] and all(type(v) is float for v in got["frac"])


@pytest.mark.parametrize("groups,said", [("all, t::true;maybe", "gives maybe to the boolean knob 't'"),
                                         ("all, cores::2;64", "gives 64 to 'cores', outside its range 1 to 8"),
                                         ("all, frac::0.5;-3", "gives -3 to 'frac', outside its range 0 to 1")])
def test_an_override_value_the_knob_cannot_hold_is_an_error_naming_the_override(groups, said):
    with pytest.raises(DeffeError) as e:
        space(groups)
    assert said in str(e.value) and f"override '{groups.split(', ')[1]}" in str(e.value)


def test_an_override_outside_the_range_ends_the_run_with_one_line(tmp_path):
    config = {"knobs": KNOBS[2:], "costs": ["cost"], "evaluate": {"plugin": "python", "function": "x:y"},
              "exploration": {"plugin": "exhaustive", "explore": [{"name": "e", "groups": "all, cores::2;64"}]}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path, real=True),
                      "config.json:exploration.explore[0]: ",
                      "override 'cores::2;64' gives 64 to 'cores', outside its range 1 to 8")
    assert not (tmp_path / "explore").exists()
