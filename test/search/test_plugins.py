"""Every search exploration plugin end to end through the real CLI, on functions with known optima."""
import itertools
import json

import numpy as np
import pytest

from framework.search.pareto import hypervolume, pareto_front, reference_point
from cli_helpers import assert_user_error, read_csv, run_deffe

FUNCTIONS = '''
TARGET = {"a": 3, "b": 7, "d": 1}

def bowl(p):
    """Unique minimum 0 at a=3, b=7, c=z, d=1; 'other' has its minimum elsewhere (a=0, b=0)."""
    cost = sum((p[k] - v) ** 2 for k, v in TARGET.items()) + (0 if p["c"] == "z" else 5)
    return {"cost": cost, "other": p["a"] + p["b"] + (p["c"] != "x")}

def capped(p):
    """The bowl where a >= 3 cannot run: the best feasible point is a=2 (cost 1)."""
    from framework.protocols import Infeasible
    if p["a"] >= 3:
        raise Infeasible("a too large")
    return {"cost": bowl(p)["cost"]}

def score(p):
    return {"score": -bowl(p)["cost"]}

PLACE = ["gpu0", "gpu0", "gpu0", "gpu1", "gpu1", "cpu"]

def placement(p):
    return {"time": sum(p[f"dev_{i}"] != d for i, d in enumerate(PLACE)) + 0.5 * (p["micro"] != 2)}

def sum_ab(p):
    """v (maximised) and m grow together: under 'm <= 4' the best is v = 4, far from the free optimum 18."""
    return {"v": p["a"] + p["b"], "m": p["a"] + p["b"], "w": p["a"] - p["b"]}

def two_costs(p):
    a, b, d = p["a"], p["b"], p["d"]
    return {"time": (a - 2) ** 2 + (b - 2) ** 2 + d + 3 * (p["c"] == "x"), "quality": a + b + d}
'''

DIGITS = list(range(10))
BOWL_KNOBS = [{"name": "a", "values": DIGITS}, {"name": "b", "values": DIGITS},
              {"name": "c", "values": ["x", "y", "z"]}, {"name": "d", "values": DIGITS}]


def setup(tmp_path, knobs, costs, function, exploration, seed=11, constraints=None):
    """A search exploration with no model: these algorithms search the real evaluator, and training a
    surrogate after each of their small steps (what a run does by default) would only slow the tests."""
    (tmp_path / "funcs.py").write_text(FUNCTIONS)
    config = {"python_path": ["."], "knobs": knobs, "costs": costs,
              "evaluate": {"plugin": "python", "function": f"funcs:{function}"}, "model": {"plugin": None},
              "exploration": exploration, "framework": {"seed": seed, "progress": False}}
    if constraints:
        config["constraints"] = constraints
    (tmp_path / "config.json").write_text(json.dumps(config, indent=1))
    return tmp_path


def evaluated(tmp_path, all_ok=True):
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert not all_ok or all(r["status"] == "ok" for r in rows)
    return rows


@pytest.mark.parametrize("plugin,options", [("hill_climbing", {}), ("annealing", {"k": 6}),
                                            ("genetic", {"population": 20})])
def test_single_objective_plugins_find_the_optimum(tmp_path, plugin, options):
    setup(tmp_path, BOWL_KNOBS, ["cost", "other"], "bowl",
          {"plugin": plugin, "max_samples": 250, "options": options})
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = evaluated(tmp_path)
    assert len(rows) <= 250                                  # of 3000 points
    assert len({(x["a"], x["b"], x["c"], x["d"]) for x in rows}) == len(rows)
    best = min(rows, key=lambda x: float(x["cost"]))
    assert float(best["cost"]) == 0 and (best["a"], best["b"], best["c"], best["d"]) == ("3", "7", "z", "1")
    assert f"{'genetic' if plugin == 'genetic' else plugin}: best cost = 0 at a=3, b=7, c=z, d=1" in \
        (tmp_path / "explore" / "deffe.log").read_text()


def test_a_cost_to_maximise_is_maximised(tmp_path):
    setup(tmp_path, BOWL_KNOBS, ["score::max"], "score", {"plugin": "genetic", "max_samples": 250})
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    assert max(float(x["score"]) for x in evaluated(tmp_path)) == 0


def test_infeasible_points_are_avoided_not_chosen(tmp_path):
    setup(tmp_path, BOWL_KNOBS, ["cost"], "capped", {"plugin": "annealing", "max_samples": 250})
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = evaluated(tmp_path, all_ok=False)
    assert any(x["status"] == "infeasible" for x in rows)
    ok = [x for x in rows if x["status"] == "ok"]
    best = min(ok, key=lambda x: float(x["cost"]))
    assert float(best["cost"]) == 1 and best["a"] == "2"
    assert "annealing: best cost = 1 at a=2, b=7, c=z, d=1" in (tmp_path / "explore" / "deffe.log").read_text()


@pytest.mark.parametrize("plugin,options", [("annealing", {}), ("hill_climbing", {}), ("genetic", {"population": 8})])
def test_a_point_breaking_a_constraint_is_no_best_for_the_search(tmp_path, plugin, options):
    # before: the searches climbed to v = 18 (m = 18), the log said "best v = 18" while the summary said 4,
    # and only 3-4 of the 40 evaluations met m <= 4
    setup(tmp_path, [{"name": "a", "values": DIGITS}, {"name": "b", "values": DIGITS}], ["v::max", "m"], "sum_ab",
          {"plugin": plugin, "max_samples": 40, "objectives": ["v"], "options": {"objective": "v", **options}}, seed=1,
          constraints=["m <= 4"])
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = evaluated(tmp_path)
    assert sum(float(x["m"]) <= 4 for x in rows) >= 6, rows       # 15 of the 100 points meet it
    log = (tmp_path / "explore" / "deffe.log").read_text()
    assert f"{plugin}: best v = 4 at " in log


def test_nsga2_front_in_its_log_meets_the_constraints(tmp_path):
    # v (max) and w = a - b (min): the free front is every a=0 point (10); under m <= 4 it is a=0, b=4 alone
    setup(tmp_path, [{"name": "a", "values": DIGITS}, {"name": "b", "values": DIGITS}], ["v::max", "w", "m"],
          "sum_ab", {"plugin": "nsga2", "max_samples": 60, "objectives": ["v", "w"],
                     "options": {"objectives": ["v", "w"], "population": 10}}, seed=1, constraints=["m <= 4"])
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    log = (tmp_path / "explore" / "deffe.log").read_text()
    assert "nsga2: 1 non-dominated point(s) over v, w meeting the constraints" in log


def test_a_dry_run_shows_the_first_batch_and_stops(tmp_path):
    setup(tmp_path, BOWL_KNOBS, ["cost"], "bowl", {"plugin": "genetic", "max_samples": 250,
                                                   "options": {"population": 6}})
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0, r
    assert r.out.count("would evaluate:") == 6 and not (tmp_path / "explore").exists()


def test_objective_option_picks_the_cost(tmp_path):
    setup(tmp_path, BOWL_KNOBS, ["cost", "other"], "bowl",
          {"plugin": "hill_climbing", "max_samples": 120, "options": {"objective": "other", "strategy": "best"}})
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    assert min(float(x["other"]) for x in evaluated(tmp_path)) == 0          # a=0, b=0, c=x


def test_exploration_objectives_are_the_default_objective(tmp_path):
    # before: the search took the first cost (m, minimised: "hill_climbing: best m = 0") while the summary
    # ranked by exploration.objectives (v)
    setup(tmp_path, [{"name": "a", "values": DIGITS}, {"name": "b", "values": DIGITS}], ["m", "v::max"], "sum_ab",
          {"plugin": "hill_climbing", "max_samples": 40, "objectives": ["v"], "options": {"strategy": "best"}})
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert max(float(x["v"]) for x in evaluated(tmp_path)) == 18
    assert "hill_climbing: best v = 18 at a=9, b=9" in (tmp_path / "explore" / "deffe.log").read_text()


def test_an_objective_option_the_exploration_does_not_rank_by_is_an_error(tmp_path):
    setup(tmp_path, [{"name": "a", "values": DIGITS}, {"name": "b", "values": DIGITS}], ["m", "v::max"], "sum_ab",
          {"plugin": "annealing", "max_samples": 40, "objectives": ["v"], "options": {"objective": "m"}})
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "config.json:exploration.options.objective",
                      "the search would optimise m, which exploration.objectives (v) does not rank by")
    assert not (tmp_path / "explore").exists()


def test_map_elites_finds_a_placement(tmp_path):
    knobs = [{"name": "dev", "values": ["cpu", "gpu0", "gpu1"], "count": 6, "type": "categorical"},
             {"name": "micro", "values": [1, 2, 4]}]
    setup(tmp_path, knobs, ["time"], "placement", {"plugin": "map_elites", "max_samples": 300})
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = evaluated(tmp_path)
    assert len(rows) <= 300                                  # of 2187 points
    best = min(rows, key=lambda x: float(x["time"]))
    assert float(best["time"]) == 0
    assert [best[f"dev_{i}"] for i in range(6)] == ["gpu0", "gpu0", "gpu0", "gpu1", "gpu1", "cpu"]


def test_nsga2_reaches_most_of_the_true_front(tmp_path):
    setup(tmp_path, BOWL_KNOBS, ["time", "quality::max"], "two_costs",
          {"plugin": "nsga2", "max_samples": 400, "options": {"population": 40}})
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = evaluated(tmp_path)
    found = np.array([[float(x["time"]), -float(x["quality"])] for x in rows])

    def two_costs(a, b, c, d):
        return (a - 2) ** 2 + (b - 2) ** 2 + d + 3 * (c == "x"), -(a + b + d)
    truth = np.array([two_costs(*p) for p in itertools.product(DIGITS, DIGITS, "xyz", DIGITS)])
    ref = reference_point(truth)
    assert hypervolume(found, ref) >= 0.97 * hypervolume(truth[pareto_front(truth)], ref)
    assert "non-dominated point(s) over time, quality" in (tmp_path / "explore" / "deffe.log").read_text()


@pytest.mark.parametrize("plugin", ["random_search", "exhaustive"])
def test_random_and_exhaustive_cover_a_small_space_once_and_stop(tmp_path, plugin):
    knobs = [{"name": "a", "values": [0, 1, 2, 3, 4]}, {"name": "c", "values": ["x", "y", "z"]},
             {"name": "d", "values": [1]}, {"name": "b", "values": [7]}]
    setup(tmp_path, knobs, ["cost"], "bowl", {"plugin": plugin, "max_samples": 100, "samples_per_step": 4})
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert "the exploration finished; 15 evaluated now" in r.out
    rows = evaluated(tmp_path)
    points = [(x["a"], x["c"]) for x in rows]
    assert sorted(points) == sorted(itertools.product("01234", "xyz"))
    if plugin == "exhaustive":
        assert points == list(itertools.product("01234", "xyz"))            # index order
    assert min(float(x["cost"]) for x in rows) == 0


@pytest.mark.parametrize("plugin", ["hill_climbing", "annealing", "genetic", "nsga2", "random_search"])
def test_a_one_point_space_is_evaluated_once_and_the_search_ends(tmp_path, plugin):
    # before: hill_climbing failed in Run() with "ValueError: attempt to get argmin of an empty sequence"
    knobs = [{"name": "a", "values": [3]}, {"name": "b", "values": [7]}, {"name": "c", "values": ["z"]},
             {"name": "d", "values": [1]}]
    setup(tmp_path, knobs, ["cost"], "bowl", {"plugin": plugin, "max_samples": 6})
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert "the exploration finished; 1 evaluated now" in r.out
    assert len(evaluated(tmp_path)) == 1


@pytest.mark.parametrize("plugin", ["annealing", "genetic", "hill_climbing"])
def test_step_start_on_a_fresh_run_directory_spends_the_budget(tmp_path, plugin):
    """-step-start 3 with nothing stored: the points of steps 0-2 are not evaluated, so the search asks them
    again and they are evaluated from step 3 on (it evaluated nothing and said the exploration finished)."""
    setup(tmp_path, BOWL_KNOBS, ["cost"], "bowl", {"plugin": plugin, "max_samples": 30, "samples_per_step": 8})
    r = run_deffe("-config", "config.json", "-step-start", "3", cwd=tmp_path)
    assert r.rc == 0, r
    assert "budget of 30 samples reached; 30 evaluated now" in r.out, r
    assert len(evaluated(tmp_path)) == 30


def test_step_start_after_an_earlier_step_end_goes_on_from_the_store(tmp_path):
    """-step-end 2, then -step-start 4: steps 2 and 3 never ran; the search goes on to spend the budget."""
    setup(tmp_path, BOWL_KNOBS, ["cost"], "bowl", {"plugin": "annealing", "max_samples": 30})
    assert run_deffe("-config", "config.json", "-step-end", "2", cwd=tmp_path).rc == 0
    first = len(evaluated(tmp_path))
    r = run_deffe("-config", "config.json", "-step-start", "4", cwd=tmp_path)
    assert r.rc == 0, r
    assert f"budget of 30 samples reached; {30 - first} evaluated now, {first} from the store" in r.out, r
    assert len(evaluated(tmp_path)) == 30


def test_a_seeded_run_is_repeatable(tmp_path):
    runs = []
    for name in ("one", "two"):
        d = tmp_path / name
        d.mkdir()
        setup(d, BOWL_KNOBS, ["cost"], "bowl", {"plugin": "annealing", "max_samples": 60})
        assert run_deffe("-config", "config.json", cwd=d).rc == 0
        runs.append((d / "explore" / "deffe_evaluation.csv").read_text())
    assert runs[0] == runs[1]


def test_mistakes_in_the_options_are_one_line_errors(tmp_path):
    setup(tmp_path, BOWL_KNOBS, ["cost"], "bowl", {"plugin": "annealing", "options": {"kk": 4}, "max_samples": 9})
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path),
                      "config.json:exploration.options.kk", "did you mean 'k'")
    setup(tmp_path, BOWL_KNOBS, ["cost"], "bowl",
          {"plugin": "genetic", "options": {"objective": "cots"}, "max_samples": 9})
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path),
                      "exploration.options.objective", "'cots' is not a cost", "did you mean 'cost'")
    setup(tmp_path, BOWL_KNOBS, ["cost"], "bowl",
          {"plugin": "random_search", "options": {"objective": "cots"}, "max_samples": 9})
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path),
                      "exploration.options.objective:", "'cots' is not a cost")   # not options.objectives
    setup(tmp_path, BOWL_KNOBS + [{"name": "r", "type": "real", "min": 0, "max": 1}], ["cost"], "bowl",
          {"plugin": "exhaustive", "max_samples": 9})
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path),
                      "exploration.plugin", "knob 'r' is continuous")
    setup(tmp_path, BOWL_KNOBS, ["cost"], "bowl", {"plugin": "map_elites", "max_samples": 9})
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "options.sequence")
    assert not (tmp_path / "explore").exists()                # nothing written before the error


MAP_KNOBS = [{"name": "dev", "values": ["cpu", "gpu0", "gpu1"], "count": 4, "type": "categorical"}]


@pytest.mark.parametrize("plugin,knobs,options,where,what", [
    # before: at exploration.plugin, "the space has no repeated knob and fewer than 2 categorical knobs"
    ("map_elites", MAP_KNOBS, {"sequence": ["dev_0"]}, "exploration.options.sequence",
     "names 1 knob ('dev_0'); the descriptors (values used, jumps) read a sequence of at least 2; "
     "name a repeated knob (e.g. 'dev' for dev_0, dev_1, dev_2 ...)"),
    # before: each of these ran without a word
    ("map_elites", MAP_KNOBS, {"descriptors": []}, "exploration.options.descriptors", "is empty"),
    ("map_elites", MAP_KNOBS, {"sequence": ["dev_0", "dev_0"]}, "exploration.options.sequence",
     "'dev_0' is named twice"),
    ("map_elites", MAP_KNOBS, {"descriptors": ["jumps", "mode", "jumps"]}, "exploration.options.descriptors",
     "'jumps' is named twice"),
    ("annealing", BOWL_KNOBS, {"t_max": 1, "t_min": 5}, "exploration.options.t_min",
     "must be at most t_max (1), got 5"),
    ("annealing", BOWL_KNOBS, {"t_max": 0}, "exploration.options.t_max", "must be above 0, got 0"),
    ("genetic", BOWL_KNOBS, {"population": 6, "tournament": 8}, "exploration.options.tournament",
     "must be at most population (6), got 8"),
])
def test_options_that_cannot_work_are_one_line_errors_before_anything_runs(tmp_path, plugin, knobs, options,
                                                                           where, what):
    setup(tmp_path, knobs, ["time"], "placement" if plugin == "map_elites" else "bowl",
          {"plugin": plugin, "max_samples": 9, "options": options})
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), f"config.json:{where}: {what}")
    assert not (tmp_path / "explore").exists()


def test_search_seed_written_out_as_framework_seed_is_leaving_it_out(tmp_path):
    """exploration.options.seed defaults to what framework.seed gives: writing framework.seed out drew
    another search than leaving it unset (the option was the algorithm's seed itself)."""
    runs = []
    for name, options in (("unset", {}), ("written", {"seed": 11}), ("other", {"seed": 12})):
        d = tmp_path / name
        d.mkdir()
        setup(d, BOWL_KNOBS, ["cost"], "bowl", {"plugin": "annealing", "max_samples": 30, "options": options},
              seed=11)
        assert run_deffe("-config", "config.json", cwd=d).rc == 0
        runs.append((d / "explore" / "deffe_evaluation.csv").read_text())
    assert runs[0] == runs[1] and runs[2] != runs[0]
