"""Where most designs fail for reasons no constraint states (a compiler rejecting most configurations), the
few that ran show where the next ones will: the search looks near them.

The model's classifier needs a few points of each outcome; until then (or with a model that has none) it
predicts one rate everywhere, and the search chose its points as blindly as random sampling. The points
that ran and failed now give the chance of running by their distance (guided_search._near_runs), and
where no candidate is expected to improve on the best, that chance still orders them.
"""
import json

import numpy as np

from cli_helpers import read_csv, run_deffe, write

# designs run only where p and q are both at least 6 (25 of 121 value pairs: 21%)
EVALUATOR = '''
from framework.protocols import Infeasible

def evaluate(p):
    if p["p"] < 6 or p["q"] < 6:
        raise Infeasible("rejected")                      # no costs: no constraint explains it
    return {"f": 1.0 + sum((p[k] - 7) ** 2 for k in "pqrstu")}
'''

# a model that has learned nothing: one value everywhere, no spread, one rate of running everywhere
MODEL = '''
import numpy as np
from framework.protocols import Prediction

class Blank:
    def __init__(self, fw):
        self.fw = fw
    def Initialize(self):
        pass
    def Run(self, data):
        return {"samples": len(data.status)}
    def Predict(self, codes):
        n = len(codes)
        return Prediction(np.full((n, 1), 50.0), np.zeros((n, 1)), np.full(n, 0.3), None)

def GetObject(fw):
    return Blank(fw)
'''


def run(tmp_path):
    write(tmp_path / "ev.py", EVALUATOR)
    write(tmp_path / "blank.py", MODEL)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": n, "values": "0-10"} for n in "pqrstu"],
        "costs": ["f"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "blank"},
        "exploration": {"plugin": "surrogate", "initial_samples": 20, "samples_per_step": 10, "max_samples": 60,
                        "candidates": 2000},
        "framework": {"seed": 5},
    }))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    return read_csv(tmp_path / "explore" / "deffe_evaluation.csv")


def test_with_a_model_that_tells_nothing_the_search_looks_near_the_designs_that_ran(tmp_path):
    rows = run(tmp_path)
    initial, guided = rows[:20], rows[20:]
    assert any(r["status"] == "ok" for r in initial)
    rate = np.mean([r["status"] == "ok" for r in guided])
    # random points run at 21%; near the ones that ran, most do
    assert rate >= 0.6, [r["status"] for r in guided]

