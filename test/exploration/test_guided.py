"""The surrogate-guided exploration, with a stand-in model whose quality the test controls."""
import json
import sqlite3

from cli_helpers import read_csv, run_deffe, write

# f(a..f) has its minimum 1.0 at p=q=r=s=t=u=7 in a space of 10**6 points
EVALUATOR = '''
import math
from framework.protocols import Infeasible

def f(p):
    xs = [p[k] for k in "pqrstu"]
    return 1.0 + sum((x - 7) ** 2 for x in xs)

def evaluate(p):
    g = 2.0 + sum(abs(p[k] - 2) for k in "pqrstu")   # a second cost, best at 2
    if p["p"] == 0 and p["q"] == 0:
        raise Infeasible("corner")
    return {"f": f(p), "g": g, "mem": p["p"] * 10.0}
'''

# a model plugin that knows the function up to a relative noise: the test decides its accuracy
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
        pts = self.fw.space.decode(codes)
        true = np.array([[ev.f(p), 2.0 + sum(abs(p[k] - 2) for k in "pqrstu"), p["p"] * 10.0] for p in pts])
        noise = 1 + self.error * self.rng.standard_normal(true.shape)
        mean = true * noise
        return Prediction(mean, np.abs(true) * max(self.error, 1e-3), None, None)

def GetObject(fw):
    return Oracle(fw)
'''


def setup(tmp_path, costs=("f",), error=0.05, **exploration):
    write(tmp_path / "ev.py", EVALUATOR)
    write(tmp_path / "oracle.py", MODEL)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": n, "values": "0-10"} for n in "pqrstu"],
        "costs": list(costs) + [c for c in ("f", "g", "mem") if c not in costs],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "oracle", "options": {"error": error}},
        "exploration": {"plugin": "surrogate", "samples_per_step": 10, "max_samples": 80,
                        "objectives": list(costs), **exploration},
        "framework": {"seed": 3},
    }))


def best(tmp_path, cost="f"):
    rows = [r for r in read_csv(tmp_path / "explore" / "deffe_evaluation.csv") if r["status"] == "ok"]
    return min(float(r[cost]) for r in rows), len(rows)


def test_guided_search_finds_the_optimum_with_few_evaluations(tmp_path):
    setup(tmp_path / "guided")
    r = run_deffe("-config", "config.json", cwd=tmp_path / "guided")
    assert r.rc == 0, r
    value, n = best(tmp_path / "guided")
    assert value <= 2.0, (value, r.out)          # the optimum (1) or one step from it, in 10**6 points
    # random sampling with the same budget is far off
    setup(tmp_path / "random", plugin=None)
    cfg = json.loads((tmp_path / "random" / "config.json").read_text())
    cfg["exploration"]["plugin"] = "sampling"
    (tmp_path / "random" / "config.json").write_text(json.dumps(cfg))
    assert run_deffe("-config", "config.json", cwd=tmp_path / "random").rc == 0
    assert best(tmp_path / "random")[0] >= 4 * value
    # the exploration table lists the best designs, true and predicted costs
    table = read_csv(tmp_path / "guided" / "explore" / "deffe_exploration.csv")
    assert len(table) == 10 and float(table[0]["f"]) == value and table[0]["predicted-f"] != ""
    assert "scenario" not in table[0]            # without scenarios, one front as it always was
    assert "best (f):" in r.out and "1. f=" in r.out


def test_every_acquisition_runs_and_improves(tmp_path):
    for acq in ("ei", "lcb", "thompson", "exploit"):
        # fewer candidates than the default: the stand-in model predicts in Python, one point at a time
        setup(tmp_path / acq, acquisition=acq, max_samples=60, candidates=4000)
        r = run_deffe("-config", "config.json", cwd=tmp_path / acq)
        assert r.rc == 0, r
        assert best(tmp_path / acq)[0] <= 10.0, acq


def test_batches_are_diverse(tmp_path):
    setup(tmp_path, diversity=0.5, max_samples=40)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    db = sqlite3.connect(tmp_path / "explore" / "deffe.db")
    rows = db.execute("SELECT m.step, s.params FROM membership m JOIN samples s ON s.id = m.sample "
                      "WHERE m.step > 0 ORDER BY m.seq").fetchall()
    by_step = {}
    for step, params in rows:
        by_step.setdefault(step, []).append(json.loads(params))
    del by_step[max(by_step)]   # the confirmation step takes the predicted best, however alike
    assert len(by_step) >= 2
    for pts in by_step.values():
        for i in range(len(pts)):
            for j in range(i):
                differ = sum(pts[i][k] != pts[j][k] for k in "pqrstu")
                assert differ >= 3, (pts[i], pts[j])


def test_multi_objective_front_with_a_constraint(tmp_path):
    setup(tmp_path, costs=("f", "g"), max_samples=80)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["constraints"] = ["mem <= 60"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    front = read_csv(tmp_path / "explore" / "deffe_exploration.csv")
    assert len(front) >= 3 and all(float(x["mem"]) <= 60 for x in front)
    pts = [(float(x["f"]), float(x["g"])) for x in front]
    for p in pts:  # mutually non-dominated
        assert not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in pts)
    db = sqlite3.connect(tmp_path / "explore" / "deffe.db")
    hv = [json.loads(i).get("hypervolume") for (i,) in db.execute("SELECT info FROM steps ORDER BY step")]
    hv = [h for h in hv if h is not None]
    assert len(hv) >= 5 and hv[-1] >= hv[0] and all(b >= a - 1e-9 for a, b in zip(hv, hv[1:]))
    assert "front (f, g):" in r.out


def test_finishes_on_predictions_when_the_model_is_accurate(tmp_path):
    setup(tmp_path, error=0.0, accuracy_target=0.01, confirm=3, max_samples=200)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert "finishing on predictions" in r.out
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    initial = 2 * 6 + 2
    assert len(rows) == initial + 3          # the initial design, then only the confirmation step
    pred = read_csv(tmp_path / "explore" / "deffe_prediction.csv")
    assert len(pred) >= 10 and "predicted-f" in pred[0]
    table = read_csv(tmp_path / "explore" / "deffe_exploration.csv")
    assert "evaluated" in {x["source"] for x in table}
    # predicted rows follow the evaluated ones, none predicted worse than the best of them, best first (the
    # exact model's best were evaluated by the confirmation step: what it predicts beyond them is worse)
    predicted = [float(x["predicted-f"]) for x in table if x["source"] == "predicted"]
    assert all(p <= min(float(x["f"]) for x in table if x["source"] == "evaluated") for p in predicted)
    assert predicted == sorted(predicted)
    assert best(tmp_path)[0] <= 2.0


def test_patience_stops_a_stalled_search(tmp_path):
    setup(tmp_path, patience=2, max_samples=500, error=0.0, acquisition="exploit", diversity=0.0)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0 and "no improvement for 2 steps" in r.out, r
    assert best(tmp_path)[1] < 500


def test_without_a_model_it_samples(tmp_path):
    setup(tmp_path, max_samples=30)
    r = run_deffe("-config", "config.json", "-no-train", cwd=tmp_path)
    assert r.rc == 0, r
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 30


def test_custom_samples_are_kept_as_given_under_a_sample_budget(tmp_path):
    # the last custom step was cut to leave room for a confirmation step that never came (28 of 30 evaluated)
    setup(tmp_path, max_samples=30, custom_samples=[14, 24, 30], confirm=2)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 30
