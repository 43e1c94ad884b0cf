"""A plugin reads the run's settings (framework.config.section(...), framework.explore.settings): what it does
to the dicts it is given never changes the run (docs/plugins.md). Before, they were the run's own dicts, which
the driver reads after the plugins ran: an exploration that popped max_samples evaluated the whole space, a
sampler that set exploration.top_k cut the front.
"""
import json
import pickle

import pytest

from cli_helpers import read_csv, run_deffe, write
from helpers import framework_for

SAMPLER = '''
import numpy as np
class S:
    def __init__(self, fw): self.fw = fw
    def Initialize(self):
        self.rng = self.fw.rng("s"); self.order = None
        s = self.fw.config.section("exploration"); s["top_k"] = 1; s["analysis"] = False   # "my own view"
        self.fw.config.data["exploration"]["top_k"] = 1
    def Run(self, count):
        if self.order is None: self.order = list(self.rng.permutation(self.fw.space.size))
        idx, self.order = self.order[:count], self.order[count:]
        return np.array([self.fw.space.point_at(i) for i in idx]).reshape(-1, len(self.fw.space))
def GetObject(fw): return S(fw)
'''
EXPLORE = '''
from framework.protocols import Proposal
class P:
    def __init__(self, fw): self.fw = fw
    def Initialize(self):
        self.limit = self.fw.explore.settings.pop("max_samples", None)   # read (and consume) my setting
        self.fw.config.explores[0].settings.pop("max_samples", None)
        assert self.limit == 6
    def Run(self):
        codes = self.fw.sampling.Run(3)
        return Proposal(codes) if len(codes) else None
    def Tell(self, codes, results): pass
def GetObject(fw): return P(fw)
'''


def test_a_plugin_editing_the_settings_it_read_leaves_the_run_as_configured(tmp_path):
    write(tmp_path / "my_sampler.py", SAMPLER)
    write(tmp_path / "my_explore.py", EXPLORE)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "x", "values": [1, 2, 3, 4, 5, 6, 7, 8]},
                                        {"name": "y", "values": [1, 2]}],
        "costs": ["t::min"],
        "evaluate": {"plugin": "python", "function": "fn:evaluate"},
        "sampling": {"plugin": "my_sampler"}, "model": {"plugin": None},
        "exploration": {"plugin": "my_explore", "samples_per_step": 3, "max_samples": 6, "top_k": 10},
        "framework": {"run_directory": "run", "seed": 1}}))
    write(tmp_path / "fn.py", 'def evaluate(p): return {"t": float(p["x"] * p["y"])}\n')
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert len(read_csv(tmp_path / "run" / "deffe_evaluation.csv")) == 6   # max_samples, not the 16 points
    assert len(read_csv(tmp_path / "run" / "deffe_exploration.csv")) == 6   # top_k 10 as configured, not 1


def test_a_plugin_keeps_and_edits_its_own_copy(tmp_path):
    fw = framework_for(tmp_path, {"knobs": [{"name": "a", "values": [1, 2]}], "costs": ["c"],
                                  "evaluate": {"plugin": "python", "function": "x:y"},
                                  "exploration": {"max_samples": 5}})
    mine = fw.section("exploration")
    mine["max_samples"] = 1
    settings = fw.explore.settings
    settings["max_samples"] = 2
    assert (mine["max_samples"], settings["max_samples"]) == (1, 2)   # its own dicts keep its edits
    assert fw.config.section("exploration")["max_samples"] == 5       # the run's do not change
    assert fw.explore.settings["max_samples"] == 5
    assert fw.config.explores[0].settings["max_samples"] == 5
    assert fw.config.data["exploration"]["max_samples"] == 5
    assert fw.explore.name == fw.config.explores[0].name                # everything else reads through
    assert fw.config.file_of("exploration.max_samples") == str(tmp_path / "config.json")


def test_setting_an_attribute_of_the_runs_objects_says_they_are_read_only(tmp_path):
    fw = framework_for(tmp_path, {"knobs": [{"name": "a", "values": [1, 2]}], "costs": ["c"],
                                  "evaluate": {"plugin": "python", "function": "x:y"}})
    with pytest.raises(AttributeError, match="read-only.*docs/plugins.md"):
        fw.explore.settings = {}
    # a model's state that holds one is pickled (the asynchronous training sends it back to the driver)
    again = pickle.loads(pickle.dumps(fw.config))
    assert again.section("exploration") == fw.config.section("exploration")
