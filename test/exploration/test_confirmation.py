"""The last `confirm` evaluations of a budget always go to the confirmation step: the points the model
predicts best among those not evaluated yet (per scenario, when there are scenarios). With an exact
stand-in model and a space small enough to be scored whole, "predicted best" is checkable: the step
must hold the `confirm` truly best points that were still unevaluated before it."""
import itertools
import json
import sqlite3

import pytest

from cli_helpers import run_deffe, write

EVALUATOR = '''
def f(p):
    return p.get("size", 1) * (1.0 + (p["p"] - 7) ** 2 + 2 * (p["q"] - 3 * p.get("size", 1)) ** 2
                               + 3 * (p["r"] - 5) ** 2)

def evaluate(p):
    return {"f": f(p)}
'''

MODEL = '''
import numpy as np
from framework.protocols import Prediction
import ev

class Exact:
    def __init__(self, fw):
        self.fw = fw
    def Initialize(self):
        pass
    def Run(self, data):
        return {"holdout_mape": 0.0, "samples": len(data.status)}
    def Predict(self, codes):
        mean = np.array([[ev.f(p)] for p in self.fw.space.decode(codes)])
        return Prediction(mean, np.full(mean.shape, 1e-3), None, None)

def GetObject(fw):
    return Exact(fw)
'''

ns = {}
exec(EVALUATOR, ns)
f = ns["f"]


def run(tmp_path, sizes=None, **exploration):
    write(tmp_path / "ev.py", EVALUATOR)
    write(tmp_path / "exact.py", MODEL)
    cfg = {
        "python_path": ["."],
        "knobs": [{"name": n, "values": "0-11"} for n in "pqr"],
        "costs": ["f"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "exact"},
        "exploration": {"plugin": "surrogate", "samples_per_step": 10, "confirm": 3, "analysis": False,
                        **exploration},
        "framework": {"seed": 2},
    }
    if sizes:
        cfg["scenarios"] = [{"name": "size", "values": list(sizes)}]
    write(tmp_path / "config.json", json.dumps(cfg))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    db = sqlite3.connect(tmp_path / "explore" / "deffe.db")
    steps = {}
    for step, params in db.execute("SELECT m.step, s.params FROM membership m JOIN samples s "
                                   "ON s.id = m.sample ORDER BY m.seq"):
        steps.setdefault(step, []).append(json.loads(params))
    return r, [steps[s] for s in sorted(steps)]


def best_unevaluated(before, size, count):
    """The f values of the `count` best points of one size not among `before`."""
    done = {(p["p"], p["q"], p["r"]) for p in before if p.get("size", 1) == size}
    rest = [f({"p": p, "q": q, "r": r, "size": size})
            for p, q, r in itertools.product(range(11), repeat=3) if (p, q, r) not in done]
    return sorted(rest)[:count]


def assert_confirms_the_predicted_best(steps, confirm, sizes=(1,)):
    last, before = steps[-1], [p for step in steps[:-1] for p in step]
    assert len(last) == confirm * len(sizes)
    for size in sizes:
        got = sorted(f(p) for p in last if p.get("size", 1) == size)
        assert got == best_unevaluated(before, size, confirm), (size, got)


@pytest.mark.parametrize("budget, sizes", [
    (40, [10, 10, 10, 7, 3]),     # 30 after the initial design: 10 does not divide 30 - 3
    (43, [10, 10, 10, 10, 3]),    # 33: it does
])
def test_the_last_evaluations_of_a_sample_budget_confirm_the_predicted_best(tmp_path, budget, sizes):
    r, steps = run(tmp_path, max_samples=budget)
    assert [len(s) for s in steps] == sizes, r.out
    assert_confirms_the_predicted_best(steps, 3)
    assert "the rest of the budget confirms the predicted best" in r.out


def test_the_last_step_of_a_step_budget_is_the_confirmation(tmp_path):
    _r, steps = run(tmp_path, max_steps=4)
    assert [len(s) for s in steps] == [10, 10, 10, 3]
    assert_confirms_the_predicted_best(steps, 3)


def test_with_scenarios_each_one_gets_its_confirmation(tmp_path):
    # 28 after the initial design; 4 (2 per size) kept for the confirmation: 10, 10, 4, then 2 + 2
    _r, steps = run(tmp_path, sizes=(1, 2), max_samples=38, confirm=2)
    assert [len(s) for s in steps] == [10, 10, 10, 4, 4]
    assert_confirms_the_predicted_best(steps, 2, sizes=(1, 2))


def test_step_sizes_leave_exactly_the_confirmation_and_a_time_budget_ends_with_it():
    import time
    from types import SimpleNamespace

    from framework.context import Budget
    from framework.guided import GuidedExploration

    def explorer(budget, combinations=1, per_step=10, confirm=3, step_seconds=None, size=None, evaluated=0):
        g = GuidedExploration(SimpleNamespace(budget=budget))
        g.per_step, g.confirm, g.step_seconds = per_step, confirm, step_seconds
        g.scen = [None] * combinations          # only its length counts here
        g.space, g.keys = SimpleNamespace(size=size), set(range(evaluated))   # a continuous space by default
        return g

    assert explorer(Budget(max_samples=40, used_samples=20))._step_size() == 10
    # a finite space: never more than the points it has left, with a budget or without
    assert explorer(Budget(max_samples=40, used_samples=20), size=32, evaluated=26)._step_size() == 6
    assert explorer(Budget(), per_step=10 ** 9, size=32, evaluated=20)._step_size() == 12
    assert explorer(Budget(max_samples=40, used_samples=30))._step_size() == 7
    assert explorer(Budget(max_samples=40, used_samples=37))._step_size() == 0      # the confirmation
    assert explorer(Budget(max_samples=40, used_samples=20), combinations=2)._step_size() == 10
    assert explorer(Budget(max_samples=40, used_samples=30), combinations=2)._step_size() == 4
    # many combinations: the confirmation is one step's worth at most
    assert explorer(Budget(max_samples=100, used_samples=80), combinations=32)._reserve() == 10
    assert explorer(Budget(max_samples=40, used_samples=20), confirm=0)._step_size() == 10
    assert explorer(Budget(max_steps=4, steps=2))._step_size() == 10
    assert explorer(Budget(max_steps=4, steps=3))._step_size() == 0
    # a time budget: the step that starts with less than 1.5 last steps left is the confirmation
    started = time.monotonic() - 50
    assert explorer(Budget(max_time=3600, started=started), step_seconds=5.0)._step_size() == 10
    assert explorer(Budget(max_time=55, started=started), step_seconds=5.0)._step_size() == 0
