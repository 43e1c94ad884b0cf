"""When the constraints explain every failure, the model's feasibility classifier does not weigh the search.

The search weighs a candidate by the probability that it meets the constraints (from the predicted
costs) times the classifier's probability that it evaluates ok. When every point that failed so far
broke a constraint by the costs it recorded (a placement over its memory cap), both estimate one risk:
the product counts it twice and sinks the best designs, which sit at the constraint's edge. A failure
that no constraint explains (a crash, a corner the evaluator refuses) brings the classifier back.
"""
import json

from cli_helpers import read_csv, run_deffe, write

# f has its minimum 1.0 at p=q=r=s=t=u=7; mem = 10 p, capped at 70: the optimum sits on the cap's edge
EVALUATOR = '''
from framework.protocols import Infeasible

def f(p):
    return 1.0 + sum((p[k] - 7) ** 2 for k in "pqrstu")

def evaluate(p):
    costs = {"f": f(p), "mem": p["p"] * 10.0}
    if costs["mem"] > 70:
        raise Infeasible("over the cap", costs)          # explained: it breaks mem <= 70
    if UNEXPLAINED and p["q"] <= 2:
        raise Infeasible("refused")                       # no costs: no constraint explains it
    return costs
'''

# the costs with an uncertainty of 30% (every candidate may improve), and a classifier that has wrongly learned that a high p fails: what the
# search does with it shows whether it is used
MODEL = '''
import numpy as np
from framework.protocols import Prediction
import ev

class Pessimist:
    def __init__(self, fw):
        self.fw = fw
    def Initialize(self):
        pass
    def Run(self, data):
        return {"samples": len(data.status)}
    def Predict(self, codes):
        pts = self.fw.space.decode(codes)
        mean = np.array([[ev.f(p), p["p"] * 10.0] for p in pts])
        feasible = np.array([0.001 if p["p"] >= 6 else 0.999 for p in pts])
        return Prediction(mean, np.abs(mean) * 0.3, feasible, None)

def GetObject(fw):
    return Pessimist(fw)
'''


def run(tmp_path, unexplained: bool):
    write(tmp_path / "ev.py", EVALUATOR.replace("UNEXPLAINED", str(unexplained)))
    write(tmp_path / "pessimist.py", MODEL)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": n, "values": "0-10"} for n in "pqrstu"],
        "costs": ["f", "mem"],
        "constraints": ["mem <= 70"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "pessimist"},
        "exploration": {"plugin": "surrogate", "samples_per_step": 10, "max_samples": 60, "objectives": ["f"],
                        "candidates": 4000},
        "framework": {"seed": 3},
    }))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    guided = rows[-30:]    # the last three steps, long after the initial design
    ok = [r for r in rows if r["status"] == "ok"]
    return min(float(r["f"]) for r in ok), sum(int(r["p"]) >= 6 for r in guided) / len(guided)


def test_failures_the_constraints_explain_leave_the_classifier_out(tmp_path):
    best, high = run(tmp_path, unexplained=False)
    assert best <= 2.0, best                 # the optimum (p = 7, on the cap's edge) or one step from it
    assert high >= 0.5, high                 # the search goes where the constraint allows


def test_a_failure_no_constraint_explains_brings_the_classifier_back(tmp_path):
    best, high = run(tmp_path, unexplained=True)
    assert high <= 0.2, high                 # the classifier's 0.001 keeps the search below p = 6
    assert best >= 5.0, best                 # and so from the optimum (the best below p = 6 is 5)
