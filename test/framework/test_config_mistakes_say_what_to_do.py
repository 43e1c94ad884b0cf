"""Every config mistake says what to do about it (the `; <what to do>` of the error line), not only what is
wrong: knobs, costs, explorations, extract patterns, Deffe's option strings."""
import json

import pytest

from framework.config import load_config
from framework.errors import DeffeError

BASE = {"knobs": [{"name": "a", "values": [1, 2]}, {"name": "b", "values": [1, 2, 3]}], "costs": ["c"],
        "evaluate": {"script": "run.sh"}}

CASES = {
    "knob listed twice": (lambda d: d["knobs"][0].update(values="1-4, 3"), "knobs[0].values"),
    "range step 0": (lambda d: d["knobs"][0].update(values="1-5-0"), "knobs[0].values"),
    "knob min above max": (lambda d: d["knobs"].__setitem__(0, {"name": "a", "min": 5, "max": 1}), "knobs[0].min"),
    "log factor": (lambda d: d["knobs"].__setitem__(0, {"name": "a", "min": 1, "max": 8, "log": True, "step": 1}),
                   "knobs[0].step"),
    "step with a list": (lambda d: d["knobs"][0].update(step=2), "knobs[0].step"),
    "exchangeable without count": (lambda d: d["knobs"][0].update(exchangeable=True), "knobs[0].exchangeable"),
    "override text": (lambda d: d.update(exploration={"explore": [{"groups": ["a", "b::x;y"]}]}),
                      "exploration.explore[0]"),
    "override twice": (lambda d: d.update(exploration={"explore": [{"groups": ["a", "b::1;1"]}]}),
                       "exploration.explore[0]"),
    "cost twice": (lambda d: d.update(costs=["c", "c"]), "costs[1]"),
    "cost min above max": (lambda d: d.update(costs=[{"name": "c", "min": 3, "max": 1}]), "costs[0]"),
    "custom samples": (lambda d: d.update(exploration={"custom_samples": [20, 10]}), "exploration.custom_samples"),
    "regex without group": (lambda d: d.update(extract={"format": "regex", "regex": {"c": "time: [0-9]+"}}),
                            "extract.regex.c"),
    "regex of no cost": (lambda d: d.update(extract={"format": "regex", "regex": {"cc": "t: ([0-9]+)"}}),
                         "extract.regex.cc"),
    "option without value": (lambda d: d.update(model={"ml_arguments": "-epochs"}), "model.ml_arguments"),
    "option not a number": (lambda d: d.update(model={"ml_arguments": "-epochs many"}), "model.ml_arguments"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_config_mistake_says_what_to_do(tmp_path, case):
    patch, where = CASES[case]
    data = json.loads(json.dumps(BASE))
    patch(data)
    (tmp_path / "run.sh").write_text("echo 1\n")
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(DeffeError) as err:
        load_config(tmp_path / "config.json")
    e = err.value
    assert e.where == where and e.file and e.file.endswith("config.json"), str(e)
    assert e.hint and len(e.hint) > 8, str(e)
