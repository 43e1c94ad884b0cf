"""Before any design meets the constraints, the exploration heads for where they hold.

Without a design that meets them there is no best to improve on, and the exploration proposed what the
sampler gives until one turned up. Now the
designs that missed by the least are where the search starts, and a trained model's chance of meeting the
constraints orders the candidates (guided_search._feasibility_batch). The tests use the default model,
learned from the runs' own data; where the evaluator raises (a placement that does not fit: its load only),
the model learns the load from the designs that missed before any design ran. Measured (seeds 3, 4, 6, 7, 40
guided points): before, 0, 0, 12 and 38 of them met the constraint where the evaluator returns the load, 0,
0, 12 and 33 where it raises; with moves of one knob from the least overloaded (no model while nothing ran)
30, 39, 35, 38 and 21, 22, 22, 33; with the model learned from the overloaded designs, 30, 39, 35, 38 and
37, 35, 35, 33 (seed 7's initial design had two that met it).
"""
import json

import pytest

from cli_helpers import read_csv, run_deffe, write

# the load is the sum of six knobs of 0..10; "load <= 12" holds for about 1% of random designs
EVALUATOR = '''
from framework.protocols import Infeasible

def evaluate(p):
    load = float(sum(p[k] for k in "pqrstu"))
    costs = {"f": 1.0 + sum((p[k] - 2) ** 2 for k in "pqrstu"), "load": load}
    if MODE == "raise" and load > 12:
        raise Infeasible("overloaded", {"load": load})   # as a placement that does not fit: its load only
    return costs
'''


def setup(tmp_path, mode: str, seed: int, scenarios: list | None = None, **exploration) -> None:
    """The evaluator (MODE "raise": a design over the bound raises with its load; "never": every design does)
    and the config, with these exploration settings over the tests' own. With scenarios (a scenario "size"),
    the load is size times the sum."""
    source = EVALUATOR.replace('MODE == "raise" and load > 12', 'MODE == "never" or MODE == "raise" and load > 12')
    if scenarios:
        source = source.replace("sum(p[k] for k", 'p["size"] * sum(p[k] for k')
    write(tmp_path / "ev.py", f"MODE = {mode!r}\n" + source)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": n, "values": "0-10"} for n in "pqrstu"],
        **({"scenarios": scenarios} if scenarios else {}),
        "costs": ["f", "load"],
        "constraints": ["load <= 12"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "exploration": {"plugin": "surrogate", "objectives": ["f"], "initial_samples": 20,
                        "samples_per_step": 10, "max_samples": 60, "candidates": 1000, **exploration},
        "framework": {"seed": seed},
    }))


def run(tmp_path, mode: str, seed: int, seek: bool = True):
    setup(tmp_path, mode, seed, seek_feasible=seek)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    return [sum(float(r[k]) for k in "pqrstu") <= 12 for r in rows]


@pytest.mark.parametrize("mode", ["raise", "return"])
def test_before_any_design_meets_the_constraint_the_search_heads_where_it_holds(tmp_path, mode):
    meets = run(tmp_path, mode, seed=3)
    initial, guided = meets[:20], meets[20:]
    assert not any(initial)   # the case: the initial design has no design that meets the constraint
    # random designs meet it about 1% of the time; the model's search from the least overloaded: most of 40
    assert sum(guided) >= 25, meets
    # a model was trained on the 20 overloaded designs, also when none ran (the evaluator raised: load only)
    log = (tmp_path / "explore" / "deffe.log").read_text()
    assert "step 0: model" in log, log[-2000:]


def test_with_seek_feasible_false_the_exploration_proposes_the_samplers_points_until_one_fits(tmp_path):
    meets = run(tmp_path, "return", seed=3, seek=False)
    # what it did before: seed 3's sampler finds none of the ~1% in 40 more points
    assert not any(meets), meets


def test_a_run_where_nothing_ever_fits_keeps_a_model_of_the_constraint_only(tmp_path):
    # every design raises with its load: the run ends with a model of the load, none of f, and a user asking
    # it about points gets the load and an empty f, with a warning that says why
    setup(tmp_path, "never", seed=1, initial_samples=12, samples_per_step=6, max_samples=24)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0 and "(no feasible design evaluated)" in r.out, r
    write(tmp_path / "points.csv", "p,q,r,s,t,u\n0,0,0,0,0,0\n9,9,9,9,9,9\n")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", "explore/checkpoints/explore_0.ckpt",
                  "-input", "points.csv", "-output", "pred.csv", cwd=tmp_path)
    assert r.rc == 0 and "never saw a value of f" in r.err, r
    rows = read_csv(tmp_path / "pred.csv")
    assert [row["predicted-f"] for row in rows] == ["", ""]
    low, high = (float(row["predicted-load"]) for row in rows)
    assert low < 12 < high   # the load was learned from the designs that missed: 0 for all zeros, 54 for nines


def test_a_scenario_no_design_fits_yet_heads_for_where_the_constraint_holds_in_it(tmp_path):
    # scenario size 3 triples the load: "load <= 12" needs p + ... + u <= 4 there (0.02% of the designs),
    # against 12 at size 1. The best designs of size 1 (all knobs near 2) overload size 3 three times over;
    # before, the exploration proposed them and their neighbours for size 3, and none of its 50 fitted
    setup(tmp_path, "raise", seed=3, scenarios=[{"name": "size", "values": [1, 3]}], max_samples=100)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    fits = [r for r in rows if float(r["size"]) * sum(float(r[k]) for k in "pqrstu") <= 12]
    assert sum(r["size"] == "3" for r in fits) >= 10, [(r["size"], r["load"]) for r in rows]
    assert sum(r["size"] == "1" for r in fits) >= 10


def test_while_nothing_meets_the_constraints_no_point_is_proposed_twice(tmp_path):
    """A constraint no design meets: after a step towards the constraints the exploration fell back to the
    sampler, which gave again points the guided steps had evaluated ('22 evaluated now, 2 from the store'
    in a fresh run, 22 of 24 rows)."""
    import json
    from cli_helpers import read_csv, run_deffe, write
    write(tmp_path / "f.py", "def ev(p):\n    a, b = p['a'], p['b']\n"
                             "    return {'t': (a - 4) ** 2 + b, 'm': a * b + 1}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-10"}, {"name": "b", "values": [1, 2, 3]}],
        "costs": ["t", "m"], "constraints": ["m <= 0"], "evaluate": {"plugin": "python", "function": "f:ev"},
        "model": {"plugin": "sklearn_rf"},
        "exploration": {"samples_per_step": 8, "max_samples": 24, "objectives": ["t"]}}))
    run = run_deffe("-config", "config.json", "-jobs", "1", cwd=tmp_path)
    assert run.rc == 0, run
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 24 and len({(r["a"], r["b"]) for r in rows}) == 24
    assert "24 evaluated now, 0 from the store" in run.out + run.err


def test_with_nothing_that_fits_the_last_step_keeps_seeking_and_says_so(tmp_path):
    # the confirmation's points went to the sampler, logged "sampling (no model yet)" after a model was
    # trained at every step
    setup(tmp_path, "never", seed=1, initial_samples=12, samples_per_step=6, max_samples=24, confirm=3)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    log = (tmp_path / "explore" / "deffe.log").read_text()
    assert "no model yet" not in log, log[-2000:]
    assert "towards a design that meets the constraints (the last step: nothing to confirm)" in log, log[-2000:]
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 24
