"""Scenarios are conditions a design must serve, not choices: every scenario value gets guided points,
its own best (or front), and the model is shared. A stand-in model (exact up to a chosen noise) keeps the
runs fast; the cost of the bigger problem sizes is larger, so a search that treated the scenario as a knob
would spend everything on the smallest size (as it did before scenarios were served one by one)."""
import itertools
import json
import sqlite3

import numpy as np
import pytest

from cli_helpers import read_csv, run_deffe, write
from framework.scenarios import MAX_SCENARIOS, ScenarioSet, balanced_shares
from framework.space import DesignSpace, Knob, ListLevels

# the best design moves with the problem size, and the cost grows with it
EVALUATOR = '''
OPT = {1: (2, 2, 2), 2: (5, 5, 5), 8: (9, 9, 9)}

def f(p):
    o = OPT[p["size"]]
    return p["size"] ** 2 * (1.0 + sum((p[k] - c) ** 2 for k, c in zip("pqr", o)))

def g(p):
    return p["size"] * (1.0 + p["p"] + p["q"])

def evaluate(p):
    return {"f": f(p), "g": g(p)}
'''

MODEL = '''
import numpy as np
from framework.protocols import Prediction
import ev

class Oracle:
    def __init__(self, fw):
        self.fw = fw
    def Initialize(self):
        self.rng = np.random.default_rng(0)
        self.error = float(self.fw.section("model")["options"].get("error", 0.0))
    def Run(self, data):
        return {"holdout_mape": self.error, "samples": len(data.status)}
    def Predict(self, codes):
        true = np.array([[ev.f(p), ev.g(p)] for p in self.fw.space.decode(codes)])
        mean = true * (1 + self.error * self.rng.standard_normal(true.shape))
        return Prediction(mean, np.abs(true) * max(self.error, 1e-3), None, None)

def GetObject(fw):
    return Oracle(fw)
'''

# a sampling plugin whose initial design misses every size but the first
ONE_SIZE = '''
import numpy as np

class OneSize:
    def __init__(self, fw):
        self.fw = fw
    def Initialize(self):
        self.space, self.rng, self.given = self.fw.space, self.fw.rng("one"), set()
    def Run(self, count):
        out = []
        while len(out) < count:
            row = self.space.random(self.rng, 1)[0]
            row[self.space.position("size")] = 0
            if self.space.key(row) not in self.given:
                self.given.add(self.space.key(row))
                out.append(row)
        return np.array(out).reshape(-1, len(self.space))

def GetObject(fw):
    return OneSize(fw)
'''

SIZES = (1, 2, 8)


def setup(tmp_path, costs=("f",), error=0.05, sampling=None, **exploration):
    write(tmp_path / "ev.py", EVALUATOR)
    write(tmp_path / "oracle.py", MODEL)
    write(tmp_path / "one_size.py", ONE_SIZE)
    cfg = {
        "python_path": ["."],
        "knobs": [{"name": n, "values": "0-11"} for n in "pqr"],
        "scenarios": [{"name": "size", "values": list(SIZES)}],
        "costs": list(costs) + [c for c in ("f", "g") if c not in costs],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "oracle", "options": {"error": error}},
        "exploration": {"plugin": "surrogate", "samples_per_step": 12, "max_samples": 90, "confirm": 2,
                        "objectives": list(costs), "analysis": False, **exploration},
        "framework": {"seed": 5},
    }
    if sampling:
        cfg["sampling"] = {"plugin": sampling}
    write(tmp_path / "config.json", json.dumps(cfg))


def steps_of(run_dir):
    """{step: [points]} in the order the exploration asked for them."""
    db = sqlite3.connect(run_dir / "deffe.db")
    rows = db.execute("SELECT m.step, s.params FROM membership m JOIN samples s ON s.id = m.sample "
                      "ORDER BY m.seq").fetchall()
    out = {}
    for step, params in rows:
        out.setdefault(step, []).append(json.loads(params))
    return out


def true_best(size):
    import importlib.util
    spec = importlib.util.spec_from_loader("ev_true", loader=None)
    ev = importlib.util.module_from_spec(spec)
    exec(EVALUATOR, ev.__dict__)
    return min(ev.f({"p": p, "q": q, "r": r, "size": size}) for p, q, r in itertools.product(range(11), repeat=3))


def test_every_scenario_gets_guided_points_and_its_own_best(tmp_path):
    setup(tmp_path)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    steps = steps_of(tmp_path / "explore")
    guided = [p for step, pts in steps.items() if step > 0 for p in pts]
    per_size = {s: sum(p["size"] == s for p in guided) for s in SIZES}
    assert min(per_size.values()) >= 20, per_size               # shared alike: 12 a step, 3 sizes
    assert max(per_size.values()) - min(per_size.values()) <= 2, per_size
    # one top-k per size, ranked within it, each best at (or next to) the true best of its size
    table = read_csv(tmp_path / "explore" / "deffe_exploration.csv")
    assert [row["scenario"] for row in table] == sorted((row["scenario"] for row in table),
                                                        key=lambda t: SIZES.index(int(t.split("=")[1])))
    for size in SIZES:
        rows = [row for row in table if row["scenario"] == f"size={size}"]
        assert rows and rows[0]["rank"] == "1" and all(row["size"] == str(size) for row in rows)
        assert float(rows[0]["f"]) <= true_best(size) * 2, (size, rows[0])   # optimum or one step from it
    # the summary has one section per size
    for size in SIZES:
        assert f"  size={size} (" in r.out, r.out


def test_a_scenario_the_initial_design_missed_is_served_by_the_guided_steps(tmp_path):
    setup(tmp_path, sampling="one_size.py", max_samples=60)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    steps = steps_of(tmp_path / "explore")
    assert {p["size"] for p in steps[0]} == {1}
    first = steps[1]                                             # the missed sizes come first
    assert {p["size"] for p in first} == {2, 8}
    table = read_csv(tmp_path / "explore" / "deffe_exploration.csv")
    assert {row["scenario"] for row in table} == {f"size={s}" for s in SIZES}


def test_several_costs_give_a_front_per_scenario(tmp_path):
    setup(tmp_path, costs=("f", "g"), max_samples=72)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    table = read_csv(tmp_path / "explore" / "deffe_exploration.csv")
    for size in SIZES:
        pts = [(float(x["f"]), float(x["g"])) for x in table if x["scenario"] == f"size={size}"]
        assert len(pts) >= 2, (size, table)
        for p in pts:   # mutually non-dominated within the scenario
            assert not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in pts)
    assert "front (f, g):" in r.out and "  size=8 (" in r.out


def test_scenario_sets():
    def knob(name, values, scenario=False):
        return Knob(name, "ordinal", ListLevels(values), scenario=scenario)
    # no scenario, or a single-valued one: inactive, one combination
    space = DesignSpace([knob("a", [1, 2]), knob("n", [64], scenario=True)])
    scen = ScenarioSet.of(space)
    assert not scen.active and len(scen) == 1 and scen.design_columns == [0, 1]
    # two scenarios: every combination, the first varying slowest
    space = DesignSpace([knob("a", [1, 2, 3]), knob("n", [64, 128], scenario=True),
                         knob("t", [1, 4], scenario=True)])
    scen = ScenarioSet.of(space)
    assert scen.combos.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert [scen.label(s) for s in range(4)] == ["n=64, t=1", "n=64, t=4", "n=128, t=1", "n=128, t=4"]
    codes = scen.fix(np.array([[2, 0, 0], [1, 1, 1]], dtype=float), 2)
    assert codes.tolist() == [[2, 1, 0], [1, 1, 0]] and scen.index(codes).tolist() == [2, 2]
    # a continuous scenario: MAX_SCENARIOS representatives, the same for the same seed; points snap to them
    space = DesignSpace([knob("a", [1, 2]), Knob("load", "real", None, low=1.0, high=10.0, scenario=True)])
    one = ScenarioSet.of(space, np.random.default_rng(3))
    assert one.representative and len(one) == MAX_SCENARIOS
    assert np.array_equal(one.combos, ScenarioSet.of(space, np.random.default_rng(3)).combos)
    assert ((one.combos >= 1) & (one.combos <= 10)).all() and len(np.unique(one.combos)) == MAX_SCENARIOS
    snapped = one.snap(np.array([[0, 5.123456], [1, 9.99]]))
    assert (one.index(snapped) >= 0).all()
    # slots go to the scenario with the fewest points; a missed scenario first
    assert balanced_shares(6, [10, 0, 0], [0, 1, 2]) == {1: 3, 2: 3}
    assert balanced_shares(7, [4, 4, 4], [0, 1, 2]) == {0: 3, 1: 2, 2: 2}
    assert balanced_shares(4, [0, 0, 0], [1, 2]) == {1: 2, 2: 2}   # a stalled scenario (0) gets none


def test_a_point_snaps_to_the_representative_nearest_its_own_scenario_value():
    """The scenario after design knobs: snap measured the distance from the first design knob's code, so
    every point with a=1 got one load and every point with a=3 another, whatever load the sampler chose."""
    space = DesignSpace([Knob("a", "ordinal", ListLevels([1, 2, 3])), Knob("b", "ordinal", ListLevels([10, 20])),
                         Knob("load", "real", None, low=1.0, high=5.0, scenario=True)])
    scen = ScenarioSet.of(space, np.random.default_rng(1))
    rng = np.random.default_rng(0)
    rows = np.column_stack([rng.integers(0, 3, 50), rng.integers(0, 2, 50), rng.uniform(1, 5, 50)])
    snapped = scen.snap(rows)
    loads = scen.combos[:, 0]
    nearest = loads[np.argmin(np.abs(rows[:, 2:3] - loads[None, :]), axis=1)]
    assert np.array_equal(snapped[:, 2], nearest) and np.array_equal(snapped[:, :2], rows[:, :2])
    assert len(np.unique(snapped[:, 2])) > 10


def test_a_continuous_scenario_keeps_the_initial_design_whole(tmp_path):
    """lhs, 30 initial samples and a scenario load 1-5: the run evaluated 6 points on 2 loads and ended."""
    def run(d, budget):
        write(d / "ev.py", "def evaluate(p):\n    return {'cost': p['a'] + p['b'] + p['load']}\n")
        write(d / "config.json", json.dumps({
            "python_path": ["."], "knobs": [{"name": "a", "values": [1, 2, 3]}, {"name": "b", "values": [10, 20]}],
            "scenarios": [{"name": "load", "type": "real", "min": 1, "max": 5}], "costs": ["cost"],
            "sampling": {"plugin": "lhs"}, "evaluate": {"plugin": "python", "function": "ev:evaluate"},
            "model": {"plugin": None}, "exploration": {"plugin": "surrogate", "initial_samples": 30,
                                                       "samples_per_step": 10, "max_samples": budget},
            "framework": {"seed": 1}}))
        r = run_deffe("-config", "config.json", cwd=d)
        assert r.rc == 0, r
        return r, read_csv(d / "explore" / "deffe_evaluation.csv")
    _, rows = run(tmp_path / "30", 30)
    assert len(rows) == 30 and len({(x["a"], x["b"], x["load"]) for x in rows}) == 30
    assert len({x["load"] for x in rows}) > 10
    # a budget beyond the 6 designs x 32 representative loads: all 192, then the run says why it ends
    r, rows = run(tmp_path / "250", 250)
    assert len(rows) == 192
    assert "32 representative scenario combinations, are all evaluated already" in r.out + r.err


def test_step_records_and_knob_shares_per_scenario():
    from framework.analysis import Importance
    from framework.config import Cost
    from framework.report import Tracker, scenario_labels
    space = DesignSpace([Knob("a", "ordinal", ListLevels([1, 2])),
                         Knob("size", "ordinal", ListLevels([512, 2048]), scenario=True)])
    params = [{"a": 1, "size": 512}, {"a": 2, "size": 512}, {"a": 1, "size": 2048}]
    labels = scenario_labels(space, params)
    assert labels == ["size=512", "size=512", "size=2048"]
    tracker = Tracker([Cost("t")], [], ["t"])
    info = tracker.update(np.array([[3.0], [2.0], [40.0]]), ["ok", "ok", "ok"], labels)
    assert info["best"] == 2.0 and info["scenarios"] == {"size=512": {"feasible": 2, "best": 2.0},
                                                         "size=2048": {"feasible": 1, "best": 40.0}}
    assert "scenarios" not in Tracker([Cost("t")], [], ["t"]).update(np.array([[1.0]]), ["ok"], None)
    # the shares of the knobs that matter are of the choices: the problem size is left out
    imp = Importance("lasso", "t", ["a", "size"], np.array([1.0, 9.0]))
    shares = imp.by_family(space)
    assert shares.knobs == ["a"] and "scenarios left out" in shares.note
    assert imp.by_family(space, scenarios=True).knobs == ["a", "size"]


def test_a_continuous_scenario_is_served_through_representatives(tmp_path):
    write(tmp_path / "ev.py", "def f(p):\n"
                              "    return p['load'] * (1 + (p['p'] - 3) ** 2 + (p['q'] - 2 * p['load']) ** 2)\n"
                              "def g(p):\n    return 1.0\n"
                              "def evaluate(p):\n    return {'f': f(p), 'g': g(p)}\n")
    write(tmp_path / "oracle.py", MODEL)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": n, "values": "0-11"} for n in "pq"],
        "scenarios": [{"name": "load", "type": "real", "min": 1, "max": 4}],
        "costs": ["f", "g"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "oracle", "options": {"error": 0.0}},
        "exploration": {"samples_per_step": 8, "max_samples": 48, "confirm": 1, "objectives": ["f"],
                        "candidates": 2000, "analysis": False},
        "framework": {"seed": 1},
    }))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    steps = steps_of(tmp_path / "explore")
    loads = {p["load"] for pts in steps.values() for p in pts}
    assert 1 < len(loads) <= MAX_SCENARIOS             # every point (the initial design too) at a representative
    assert len(steps[max(steps)]) == 8                 # the confirmation: one step's worth, shared
    table = read_csv(tmp_path / "explore" / "deffe_exploration.csv")
    assert {row["scenario"] for row in table} == {f"load={row['load']}" for row in table}
    assert len({row["scenario"] for row in table}) == len(loads)


def test_the_summary_has_a_section_for_every_scenario_even_without_a_feasible_design():
    from framework.config import Cost
    from framework.report import front_text
    space = DesignSpace([Knob("a", "ordinal", ListLevels([1, 2])),
                         Knob("size", "ordinal", ListLevels([512, 2048]), scenario=True)])
    rows = [[2, 512, 3.0, 3.1, "size=512", "evaluated", 1], [1, 512, 4.0, 4.2, "size=512", "evaluated", 2]]
    text = front_text(rows, space, [Cost("t")])
    # plain rows do not say how many designs were evaluated: the heading counts the designs listed
    assert text.splitlines()[0] == "  size=512 (2 listed):"
    assert "      1. t=3\n         a=2" in text and "size=512, a" not in text.replace("  size=512 (", "")
    assert text.endswith("  size=2048 (0 listed):\n    (no feasible design evaluated)")


def test_finishing_on_predictions_gives_a_predicted_front_per_scenario(tmp_path):
    setup(tmp_path, error=0.0, accuracy_target=0.01, max_samples=200, top_k=4)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0 and "finishing on predictions" in r.out, r
    steps = steps_of(tmp_path / "explore")
    assert sorted(p["size"] for p in steps[max(steps)]) == [1, 1, 2, 2, 8, 8]   # confirm 2 each, then done
    assert sum(map(len, steps.values())) < 200
    table = read_csv(tmp_path / "explore" / "deffe_exploration.csv")
    for size in SIZES:
        mine = [row for row in table if row["scenario"] == f"size={size}"]
        # the predicted rows (none here: the exact model's best were confirmed) never lose to the evaluated best
        assert "evaluated" in {row["source"] for row in mine} <= {"evaluated", "predicted"}, mine
        best = min(float(row["f"]) for row in mine if row["source"] == "evaluated")
        assert all(float(row["predicted-f"]) <= best for row in mine if row["source"] == "predicted"), mine
        assert [int(row["rank"]) for row in mine] == list(range(1, len(mine) + 1))
        assert all(row["size"] == str(size) for row in mine)


def test_the_predicted_front_holds_no_design_predicted_dominated_or_against_a_constraint(tmp_path):
    """After accuracy_target, the predicted rows of deffe_exploration.csv (and of the printed front) used to
    include designs the model itself predicted to break `m <= 5` or to be dominated by the scenario's
    evaluated front (the confirmation step had since evaluated a design better in both objectives)."""
    write(tmp_path / "prob.py", """
def rich(p):
    x, y, s = float(p["x"]), float(p["y"]), float(p["s"])
    c = {"red": 0, "green": 1, "blue": 2}[p["c"]]
    return {"f1": s * ((x - 2) ** 2 + 0.5 * y + c), "g": s * (x + y) - c, "m": x + y + c}
""")
    write(tmp_path / "at.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "x", "values": [3, 0, 4, 1, 2]}, {"name": "y", "values": "0-5"},
                  {"name": "c", "values": ["red", "green", "blue"]}],
        "costs": ["f1", "g::max", "m"], "constraints": ["m <= 5"],
        "scenarios": [{"name": "s", "values": [2, 1]}],
        "evaluate": {"plugin": "python", "function": "prob:rich"},
        "model": {"plugin": "sklearn_rf", "estimators": 20},
        "exploration": {"samples_per_step": 10, "max_samples": 100, "accuracy_target": 0.9, "confirm": 2,
                        "objectives": ["f1", "g"], "top_k": 3},
        "framework": {"run_directory": "at", "seed": 1, "report_files": False}}))
    r = run_deffe("-config", "at.json", cwd=tmp_path)
    assert r.rc == 0 and "finishing on predictions" in r.out, r
    table = read_csv(tmp_path / "at" / "deffe_exploration.csv")
    for label in ("s=2", "s=1"):
        mine = [row for row in table if row["scenario"] == label]
        evaluated = [(float(row["f1"]), float(row["g"])) for row in mine if row["source"] == "evaluated"]
        predicted = [(float(row["predicted-f1"]), float(row["predicted-g"]), float(row["predicted-m"]))
                     for row in mine if row["source"] == "predicted"]
        assert evaluated, mine
        for f1, g, m in predicted:
            assert m <= 5, mine
            assert not any(ef <= f1 and eg >= g and (ef, eg) != (f1, g) for ef, eg in evaluated), mine
            assert not any(pf <= f1 and pg >= g and (pf, pg) != (f1, g) for pf, pg, _ in predicted), mine
        shown = r.out.split(f"  {label} (")[1].split("\n  s=")[0].split("knobs that matter")[0]
        assert shown.count("(predicted)") == 3 * len(predicted), shown


def test_a_continuous_scenario_spends_the_whole_budget_on_distinct_points(tmp_path):
    """More than 32 scenario values: the sampler's points are moved to the 32 representative combinations,
    which made some of them one; the initial design lost them (10 proposed, 8 trained on) and the run ended
    at 39 of 40 samples. The sampler is now asked again for as many new points as were merged."""
    write(tmp_path / "f.py", "def ev(p):\n    return {'t': (p['a'] - 4) ** 2 + p['b'] + p['r'] / 50}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-10"}, {"name": "b", "values": [1, 2, 3]}],
        "scenarios": [{"name": "r", "type": "integer", "min": 0, "max": 99}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "f:ev"}, "model": {"plugin": "sklearn_rf"},
        "exploration": {"samples_per_step": 10, "max_samples": 40}}))
    run = run_deffe("-config", "config.json", "-jobs", "1", cwd=tmp_path)
    assert run.rc == 0, run
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 40 and len({(r["a"], r["b"], r["r"]) for r in rows}) == 40
    assert "40 evaluated now, 0 from the store" in run.out + run.err


def test_a_growing_front_is_progress_whatever_the_first_step_held():
    # the hypervolume reference was fixed from the first step's feasible points: with one point there, a
    # later front point worse than it in one objective added no volume, and `patience` stalled the scenario
    # with its front still growing
    from types import SimpleNamespace
    from framework.guided import GuidedExploration, Track
    g = GuidedExploration.__new__(GuidedExploration)
    g.m, g.tracks, g.step, g.scen = 2, [Track(1)], 1, SimpleNamespace(design_columns=[0, 1])
    seen = {}
    g._arrays = lambda s: (None, seen["y"], np.ones(len(seen["y"]), dtype=bool))
    for y in ([[1.0, 1.0]], [[1.0, 1.0], [0.5, 3.0]], [[1.0, 1.0], [0.5, 3.0], [3.0, 0.2]]):
        seen["y"] = np.array(y)
        g._progress(0)
        assert g.tracks[0].stale == 0, y
        # every front point lies inside the box of the reference the HVI is measured against
        assert (np.array(y) < g.tracks[0].ref).all()
    seen["y"] = np.array([[1.0, 1.0], [0.5, 3.0], [3.0, 0.2], [2.0, 2.0]])   # dominated: no progress
    g._progress(0)
    assert g.tracks[0].stale == 1


@pytest.mark.parametrize("unit", [1e-300, 1e300])
@pytest.mark.parametrize("m", [1, 2])
def test_progress_is_judged_alike_in_any_unit(unit, m):
    # costs of 1e-300: the front's volume underflowed to 0 and a better single cost never beat the absolute
    # 1e-12 margin, so no step counted as progress: the trust region shrank and `patience` stopped the run
    from types import SimpleNamespace
    from framework.guided import GuidedExploration, Track
    stale = {}
    for factor in (1.0, unit):
        g = GuidedExploration.__new__(GuidedExploration)
        g.m, g.tracks, g.step, g.scen = m, [Track(1)], 1, SimpleNamespace(design_columns=[0, 1])
        seen = {}
        g._arrays = lambda s: (None, seen["y"], np.ones(len(seen["y"]), dtype=bool))
        got = []
        for y in ([[1.0, 1.0]], [[1.0, 1.0], [0.5, 3.0]], [[1.0, 1.0], [0.5, 3.0], [3.0, 0.2]],
                  [[1.0, 1.0], [0.5, 3.0], [3.0, 0.2], [2.0, 2.0]]):
            seen["y"] = np.array(y)[:, :m] * factor
            g._progress(0)
            got.append((g.tracks[0].stale, g.tracks[0].radius))
        stale[factor] = got
    assert stale[unit] == stale[1.0]
    assert stale[1.0][1][0] == 0   # the second step improved on the first


def test_step_records_count_front_points_beyond_the_first_steps_box():
    from framework.config import Cost
    from framework.report import Tracker
    tracker = Tracker([Cost("t"), Cost("m")], [], ["t", "m"])
    first = tracker.update(np.array([[1.0, 1.0]]), ["ok"], ["s=1"])["hypervolume"]
    later = tracker.update(np.array([[1.0, 1.0], [0.5, 3.0]]), ["ok", "ok"], ["s=1"] * 2)["hypervolume"]
    assert later > first


def test_patience_stalls_a_combination_no_design_fits():
    # a scenario value no design can fit never counted a stale step, so it never stalled and took every
    # remaining point; now a step that serves it without coming closer to the constraints is stale
    from types import SimpleNamespace
    from framework.config import Constraint
    from framework.guided import GuidedExploration, Track
    g = GuidedExploration.__new__(GuidedExploration)
    g.m, g.tracks, g.step, g.patience = 2, [Track(1)], 1, 2
    g.scen = SimpleNamespace(active=True, design_columns=[0])
    g.constraints, g.con_idx, g.raw, g.where, g.codes = [Constraint("t", "<=", 2.0, "t <= 2")], [0], [], [], []
    g._arrays = lambda s: (None, np.zeros((len(g.raw), 2)), np.zeros(len(g.raw), dtype=bool))
    stale = []
    for t in (5.0, 6.0, 4.0, 4.0, 7.0):   # closer, not, closer, not, not
        g.raw.append(np.array([t]))
        g.where.append(0)
        g.codes.append(np.zeros(1))
        g._progress(0)
        stale.append(g.tracks[0].stale)
    assert stale == [0, 1, 0, 1, 2] and g._stalled(0)
    assert g.tracks[0].radius == 1   # the trust region is left alone while nothing fits


def test_one_cost_predicted_rows_never_lose_to_the_evaluated_best_and_come_best_first():
    # a maximised cost: evaluated 12 and 9 shown, then predicted 7.7 and 10.3 (worse than the best above them),
    # 13 and 12.5 out of order
    from framework.config import Cost
    from framework.guided_search import ModelSearch
    from framework.protocols import Prediction
    from framework.report import Tracker, _predicted_front
    tracker = Tracker([Cost("thr", "max")], [], ["thr"])
    mean = np.array([[7.7], [10.3], [13.0], [12.5]])
    shown = _predicted_front(np.arange(4), mean, np.array([[12.0], [9.0]]), tracker)
    assert shown == [2, 3]
    # the exploration's own predicted front (stored as predictions), on the minimised scale
    g = ModelSearch.__new__(ModelSearch)
    g.m = 1
    g._p_ok = lambda pred, codes, constraints=True: np.ones(len(codes))
    g._violations = lambda raw: np.zeros(len(raw))
    g._moments = lambda pred: (pred.mean, np.zeros_like(pred.mean))
    g._front_values = lambda s: np.array([[-12.0]])
    pred = Prediction(-mean, None, None, None)
    kept = g._predicted_front(np.zeros((4, 1)), pred, np.array([0, 1, 3, 2]), 0)
    assert kept.tolist() == [2, 3]
