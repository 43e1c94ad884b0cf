"""The surrogate-guided exploration with a real learned model (the default, ``auto``), not a stand-in.

test_guided.py checks the exploration's machinery with an oracle whose error the test sets; here the model
learns from what was evaluated, as in a real run. On a function a model can learn from a few dozen points (a
smooth bowl over three knobs, 9,261 designs, optimum off-centre), the guided exploration with default settings
must beat its own initial design and random search given the same number of evaluations, in the median over
seeds (one seed could be lucky either way).
"""
import json
import statistics

from cli_helpers import read_csv, run_deffe, write

EVALUATOR = '''
def evaluate(p):
    # a smooth bowl with a tilt: best (1.0) at p=14, q=5, r=17, knobs of different weight
    return {"cost": 1.0 + (p["p"] - 14) ** 2 + 3 * (p["q"] - 5) ** 2 + 0.5 * (p["r"] - 17) ** 2}
'''
BUDGET, INITIAL, STEP = 30, 12, 6
SEEDS = (1, 2, 3)


def run(directory, seed, plugin):
    write(directory / "bowl.py", EVALUATOR)
    write(directory / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": n, "values": "0-20"} for n in "pqr"],
        "costs": ["cost"],
        "evaluate": {"plugin": "python", "function": "bowl:evaluate"},
        "exploration": {"plugin": plugin, "initial_samples": INITIAL, "samples_per_step": STEP,
                        "max_samples": BUDGET},
        "framework": {"seed": seed},
    }))
    # random search needs no model: -no-train keeps its runs cheap
    r = run_deffe("-config", "config.json", *(["-no-train"] if plugin == "random_search" else []), cwd=directory)
    assert r.rc == 0, r
    rows = [x for x in read_csv(directory / "explore" / "deffe_evaluation.csv") if x["status"] == "ok"]
    assert len(rows) == BUDGET, len(rows)
    return [float(x["cost"]) for x in rows]        # in the order evaluated


def test_a_learned_surrogate_beats_its_initial_design_and_random_search(tmp_path):
    guided, initial, rand = [], [], []
    for seed in SEEDS:
        costs = run(tmp_path / f"guided{seed}", seed, "surrogate")
        guided.append(min(costs))
        initial.append(min(costs[:INITIAL]))
        rand.append(min(run(tmp_path / f"random{seed}", seed, "random_search")))
    # the model's proposals found better designs than the initial design did, for every seed
    assert all(g < i for g, i in zip(guided, initial)), (guided, initial)
    # and in the median far better than random search with the same 30 evaluations
    assert statistics.median(guided) * 2 <= statistics.median(rand), (guided, rand)
    # the model that guided the search is the learned default, and it says which candidate it chose
    metrics = read_csv(tmp_path / f"guided{SEEDS[0]}" / "explore" / "model_metrics.csv")
    # (a candidate, the average of two: "sklearn_gbm+sklearn_gp", or per cost: "f=sklearn_rf; g=sklearn_gp")
    candidates = {"torch_mlp", "sklearn_rf", "sklearn_gbm", "sklearn_gp"}

    def named(label):
        return {n for part in label.split("; ") for n in part.split("=")[-1].split("+")}
    assert metrics and all(named(m["model"]) <= candidates for m in metrics), [m["model"] for m in metrics]
    assert "score=" in metrics[0]["selection"]
