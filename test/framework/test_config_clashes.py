"""Config entries that contradict each other: one line naming both, exit status 2, nothing written."""
from cli_helpers import run_deffe
from test_config_errors import check, config_with


# ---------------------------------------------------------------- a map shared with another knob or scenario
def test_a_knob_and_a_scenario_with_one_map_are_an_error(tmp_path):
    # the script got $options from the knob only: the scenario never reached it
    def patch(d):
        d["knobs"][0]["map"] = "options"
        d["scenarios"] = [{"name": "size", "map": "options", "values": [16, 32]}]
    line = check(tmp_path, patch, "scenarios[0].map", "'options'", "'size'", "'a'", "knobs[0]")
    assert "map of" in line


def test_a_map_that_is_another_knobs_name_is_an_error(tmp_path):
    def patch(d):
        d["knobs"][0]["map"] = "b"
    check(tmp_path, patch, "knobs[0].map", "'b'", "name of 'b'")


def test_a_map_that_is_a_scenarios_name_is_an_error(tmp_path):
    def patch(d):
        d["knobs"][0]["map"] = "size"
        d["scenarios"] = [{"name": "size", "values": [16, 32]}]
    check(tmp_path, patch, "knobs[0].map", "'size'", "name of 'size'")


def test_one_map_in_disjoint_explorations_is_allowed(tmp_path):
    # Deffe's own configs give the knobs of two applications (explored apart) one alias
    def patch(d):
        d["knobs"] = [{"name": "k_size", "map": "options", "groups": "k", "values": [1, 2]},
                      {"name": "m_size", "map": "options", "groups": "m", "values": [3, 4]},
                      {"name": "own", "map": "own", "values": [5]}]
        d["exploration"] = {"explore": [{"name": "k", "groups": "k"}, {"name": "m", "groups": "m"}]}
    config_with(tmp_path, patch)
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0, r


# ---------------------------------------------------------------- a cost's direction given twice
def test_two_directions_of_one_cost_are_an_error(tmp_path):
    # '::max' won silently over "direction": "min"
    check(tmp_path, lambda d: d.update(costs=[{"name": "c::max", "direction": "min"}]), "costs[0]",
          "cost 'c'", "'c::max'", "'direction'")


def test_one_direction_said_both_ways_is_fine(tmp_path):
    from framework.config import load_config
    for costs in ([{"name": "c::max", "direction": "max"}], ["c::max"], [{"name": "c", "direction": "max"}]):
        config_with(tmp_path, lambda d: d.update(costs=costs))
        assert [c.direction for c in load_config(tmp_path / "config.json").costs] == ["max"], costs


# ---------------------------------------------------------------- objectives that name nothing
def test_an_empty_list_of_objectives_is_an_error(tmp_path):
    # it meant every cost, without a word; leaving the key out says that
    for empty in ([], ""):
        check(tmp_path, lambda d: d.update(exploration={"objectives": empty}), "exploration.objectives",
              "lists no cost", "leave 'objectives' out")
