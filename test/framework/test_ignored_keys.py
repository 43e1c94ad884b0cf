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


def plugin_blocks(tmp_path, **blocks):
    """config.json -no-run with these sampling/evaluate/extract/model blocks; the warnings."""
    config = {"knobs": [{"name": "k", "values": [0, 1, 2, 3]}], "costs": ["cost"], "python_path": ["."],
              "evaluate": {"plugin": "python", "function": "x:y"}, "model": {"plugin": None},
              "exploration": {"plugin": "sampling", "max_samples": 4}, **blocks}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "x.py").write_text("def y(p):\n    return {'cost': p['k']}\n")
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path, real=True)
    assert r.rc == 0, r
    return [line for line in r.err.splitlines() if line.startswith("warning:")]


def test_keys_a_built_in_plugin_never_reads_are_warned_with_what_it_reads(tmp_path):
    """sampling.options.scramble with sobol changed nothing, nor did epochs for a random forest or a script
    for the python evaluator: each was accepted without a word."""
    warned = plugin_blocks(tmp_path, sampling={"plugin": "sobol", "options": {"scramble": False, "no_such": 1}},
                           evaluate={"plugin": "python", "function": "x:y", "script": "no_such_script.sh",
                                     "interpreter": "bash", "options": {"anything": 1}},
                           extract={"options": {"typo": 1}},
                           model={"plugin": "sklearn_rf", "estimators": 5, "epochs": 5, "hidden": [8],
                                  "learning_rate": 0.5, "options": {"x": 1}})
    said = "the 'sobol' sampling reads no options (they are for a plugin of your own)"
    assert warned == [
        f"warning: config.json:sampling.options.scramble: {said}; put it at sampling.scramble",
        f"warning: config.json:sampling.options.no_such: {said}; it reads sampling.scramble",
        "warning: config.json:evaluate.script: the 'python' evaluator ignores script (read by script only)",
        "warning: config.json:evaluate.interpreter: the 'python' evaluator ignores interpreter (read by script only)",
        "warning: config.json:evaluate.options.anything: the 'python' evaluator reads no options (they are for a "
        "plugin of your own); it reads evaluate.function",
        "warning: config.json:extract.options.typo: the 'cost_output' extract plugin reads no options (they are "
        "for a plugin of your own)",
        "warning: config.json:model.epochs: the 'sklearn_rf' model ignores epochs (read by torch_mlp, torch_cnn only)",
        "warning: config.json:model.hidden: the 'sklearn_rf' model ignores hidden (read by torch_mlp, torch_cnn only)",
        "warning: config.json:model.learning_rate: the 'sklearn_rf' model ignores learning_rate (read by "
        "torch_mlp, torch_cnn only)",
        "warning: config.json:model.options.x: the 'sklearn_rf' model reads no options (they are for a plugin of "
        "your own); it reads model.estimators, model.max_depth"], warned


def test_keys_the_plugin_reads_and_a_users_own_plugin_are_not_warned(tmp_path):
    assert plugin_blocks(tmp_path, sampling={"plugin": "sobol", "scramble": False},
                         model={"plugin": "auto", "epochs": 5, "estimators": 5, "gp_max_points": 50}) == []
    # a model of the user's own, under its own name or a built-in's (python_path is looked in first)
    plugin = ("class M:\n    def __init__(self, fw):\n        pass\n\n    def Initialize(self):\n        pass\n\n"
              "    def Run(self, data):\n        return {}\n\n    def Predict(self, codes):\n        return None\n\n\n"
              "def GetObject(fw):\n    return M(fw)\n")
    for name in ("my_model", "sklearn_rf"):
        (tmp_path / f"{name}.py").write_text(plugin)
        warned = plugin_blocks(tmp_path, model={"plugin": name, "epochs": 5, "options": {"x": 1}})
        assert not [w for w in warned if "model.epochs" in w or "model.options" in w], warned


def test_every_key_of_the_table_is_a_key_of_its_block_read_by_built_in_plugins():
    from framework.config.ignored import PLUGIN_FOLDERS
    from framework.config.schema import READ_BY, SECTIONS
    from framework.plugins import builtin_names
    for section, keys in READ_BY.items():
        for key, readers in keys.items():
            assert key in SECTIONS[section], (section, key)
            assert set(readers) <= set(builtin_names(PLUGIN_FOLDERS[section])), (section, key, readers)
