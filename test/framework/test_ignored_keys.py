"""Exploration keys only the surrogate exploration reads, written for a search exploration: a warning each
(a key given and silently ignored reads as if it had worked)."""
import json

import pytest

from cli_helpers import run_deffe
from framework.config.ignored import ignored_keys

SURROGATE_KEYS = {"accuracy_target": 0.05, "acquisition": "lcb", "kappa": 9, "confirm": 3, "diversity": 0.9,
                  "local_share": 0.8, "candidates": 50, "seek_feasible": False, "multi_objective": "parego"}


def no_run(tmp_path, exploration):
    config = {"knobs": [{"name": "k", "values": [0, 1, 2, 3]}], "costs": ["cost"],
              "evaluate": {"plugin": "python", "function": "x:y"}, "model": {"plugin": None},
              "python_path": ["."],
              "exploration": exploration}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "x.py").write_text("def y(p):\n    return {'cost': p['k']}\n")
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path, real=True)
    assert r.rc == 0, r
    return r.err


@pytest.mark.parametrize("plugin", ["genetic", "sampling"])
def test_each_surrogate_key_given_to_a_search_is_warned(tmp_path, plugin):
    err = no_run(tmp_path, {"plugin": plugin, "max_samples": 4, **SURROGATE_KEYS})
    for key in SURROGATE_KEYS:
        assert f"warning: config.json:exploration.{key}: the '{plugin}' exploration ignores {key}" in err, err


def test_the_keys_are_not_warned_where_they_apply_or_when_left_to_their_defaults(tmp_path):
    surrogate = {"exploration": {"plugin": "surrogate", **SURROGATE_KEYS}}
    assert ignored_keys(surrogate, ["cost"], surrogate, "config.json") == []
    defaults = {"exploration": {"plugin": "genetic", **SURROGATE_KEYS}}   # the defaults filled in, none written
    assert ignored_keys(defaults, ["cost"], {"exploration": {"plugin": "genetic"}}, "config.json") == []
    assert "ignores" not in no_run(tmp_path, {"plugin": "genetic", "max_samples": 4})
