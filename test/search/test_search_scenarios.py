"""Search algorithms with scenarios: one search per scenario combination, so every problem size gets its
own best designs (before, the scenario was a knob like the others and a search drifted to the size with
the smallest costs)."""
import json
from collections import Counter

import pytest

from cli_helpers import read_csv, run_deffe, write

EVALUATOR = '''
def evaluate(p):
    # the best x depends on the size: a search must find it for each size
    best = {16: 3, 512: 12}[p["size"]]
    return {"cost": p["size"] * (1 + (p["x"] - best) ** 2 + (p["y"] - 7) ** 2)}
'''


@pytest.mark.parametrize("plugin", ["genetic", "annealing", "random_search"])
def test_each_scenario_gets_its_own_search_and_its_own_best(tmp_path, plugin):
    write(tmp_path / "model.py", EVALUATOR)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "x", "values": "0-15"}, {"name": "y", "values": "0-15"}],
        "scenarios": [{"name": "size", "values": [16, 512]}],
        "costs": ["cost"],
        "evaluate": {"plugin": "python", "function": "model:evaluate"},
        "exploration": {"plugin": plugin, "samples_per_step": 10, "max_samples": 160},
        "framework": {"seed": 2},
    }))
    r = run_deffe("-config", "config.json", "-no-train", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    sizes = Counter(x["size"] for x in rows)
    # both sizes are searched, about equally (a knob-like search put nearly all points on size 16)
    assert set(sizes) == {"16", "512"} and min(sizes.values()) >= 0.4 * len(rows), sizes
    table = read_csv(tmp_path / "explore" / "deffe_exploration.csv")
    assert {x["scenario"] for x in table} == {"size=16", "size=512"}
    best = {s: min(float(x["cost"]) for x in rows if x["size"] == s) for s in ("16", "512")}
    # near each size's own optimum (16 and 512 at x = 3 / 12, y = 7): within a few steps of it
    assert best["16"] <= 16 * 5 and best["512"] <= 512 * 5, best
    log = (tmp_path / "explore" / "deffe.log").read_text()
    assert "(size=512)" in log and "(size=16)" in log


@pytest.mark.parametrize("plugin", ["random_search", "genetic"])
def test_a_budget_smaller_than_a_step_is_shared_between_the_scenarios(tmp_path, plugin):
    # before: the step's proposal was each search's batch one after another, and the budget cut it:
    # all 15 evaluations went to n=1, and n=2, n=3 had none
    write(tmp_path / "model.py", "def evaluate(p):\n    return {'t': p['a'] * p['n'] + p['b']}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "a", "values": [1, 2, 3, 4, 5, 6]}, {"name": "b", "values": [0, 1, 2, 3, 4, 5]}],
        "scenarios": [{"name": "n", "values": [1, 2, 3]}],
        "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "model:evaluate"},
        "model": {"plugin": None},
        "exploration": {"plugin": plugin, "max_samples": 16},
        "framework": {"seed": 1},
    }))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 16
    assert sorted(Counter(x["n"] for x in rows).values()) == [5, 5, 6]
