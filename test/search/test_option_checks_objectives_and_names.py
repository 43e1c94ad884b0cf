"""exploration.options.objectives listed twice is refused as exploration.objectives is; an empty list says
what to do; random_search's errors and log name the plugin as the config does ("random_search", not
"random")."""
from __future__ import annotations

import json

import pytest

from cli_helpers import assert_user_error, run_deffe


def setup(tmp_path, exploration):
    (tmp_path / "funcs.py").write_text("def f(p):\n    return {'f1': p['a'], 'f2': (p['a'] - 3) ** 2}\n")
    config = {"python_path": ["."], "costs": ["f1", "f2"], "model": {"plugin": None},
              "knobs": [{"name": "a", "values": list(range(6))}],
              "evaluate": {"plugin": "python", "function": "funcs:f"}, "exploration": exploration,
              "framework": {"seed": 1, "progress": False}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    return run_deffe("-config", "config.json", "-no-train", "-jobs", "1", cwd=tmp_path)


@pytest.mark.parametrize("plugin", ["nsga2", "random_search"])
def test_an_objective_listed_twice_in_the_options_is_refused(tmp_path, plugin):
    r = setup(tmp_path, {"plugin": plugin, "max_samples": 4, "options": {"objectives": ["f1", "f1"]}})
    assert_user_error(r, "config.json:exploration.options.objectives: objective 'f1' is listed twice",
                      "list each cost once")


def test_an_empty_objectives_list_says_what_to_do(tmp_path):
    r = setup(tmp_path, {"plugin": "nsga2", "max_samples": 4, "options": {"objectives": []}})
    line = assert_user_error(r, "exploration.options.objectives: objectives must be a list of cost names; ")
    assert "f1, f2" in line


def test_random_search_is_named_as_the_config_names_it(tmp_path):
    r = setup(tmp_path, {"plugin": "random_search", "max_samples": 4, "options": {"bach": 3}})
    assert_user_error(r, "exploration.options.bach: random_search has no such option", "'batch'")
    r = setup(tmp_path, {"plugin": "random_search", "max_samples": 4, "options": {"objective": "f2"}})
    assert r.rc == 0, r
    log = (tmp_path / "explore" / "deffe.log").read_text()
    assert "random_search: best f2 = " in log and "random: " not in log
