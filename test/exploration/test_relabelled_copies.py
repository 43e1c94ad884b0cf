"""Interchangeable values (an `exchangeable` family: identical devices) name one design many ways; the
guided exploration evaluates each design once, whatever the naming."""
import json
import sqlite3

import numpy as np

from cli_helpers import run_deffe, write
from framework.encoding import Relabelling
from framework.space import DesignSpace, Knob, ListLevels
from framework.values import value_key

# six tasks on four identical machines and the host ("cpu"): the cost depends on the machines' loads,
# never on which machine is which
EVALUATOR = '''
WORK = [5, 3, 8, 2, 7, 4]

def loads(p):
    out = {}
    for i, w in enumerate(WORK):
        d = p["device_%d" % i]
        out[d] = out.get(d, 0) + w * (3 if d == "cpu" else 1)
    return out

def cost(p):
    ld = loads(p)
    return 1.0 + max(ld.values()) + 0.5 * len(ld)

def evaluate(p):
    return {"time": cost(p)}
'''

# a model that cannot tell renamings apart, as the pooling block's deep ensemble cannot: a renamed copy
# of the best point scores as well as the point itself
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
        mean = np.array([[ev.cost(p)] for p in self.fw.space.decode(codes)])
        return Prediction(mean, 0.05 * mean, None, None)

def GetObject(fw):
    return Exact(fw)
'''


def canonical(params: dict) -> tuple:
    """The design behind a naming: each machine renamed by the order in which the tasks first use it."""
    names: dict = {"cpu": "cpu"}
    return tuple(names.setdefault(params[f"device_{i}"], f"m{len(names)}") for i in range(6))


def run(tmp_path, exchangeable):
    write(tmp_path / "ev.py", EVALUATOR)
    write(tmp_path / "exact.py", MODEL)
    device = {"name": "device", "values": ["cpu", "g1", "g2", "g3", "g4"], "count": 6}
    if exchangeable:
        device["exchangeable"] = ["g1", "g2", "g3", "g4"]
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [device], "costs": ["time"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "exact"},
        "exploration": {"plugin": "surrogate", "samples_per_step": 10, "max_samples": 60, "candidates": 3000},
        "framework": {"seed": 5},
    }))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    db = sqlite3.connect(tmp_path / "explore" / "deffe.db")
    rows = db.execute("SELECT s.params FROM membership m JOIN samples s ON s.id = m.sample ORDER BY m.seq")
    return [json.loads(p) for (p,) in rows]


def test_the_guided_exploration_evaluates_no_renamed_copy_of_a_design(tmp_path):
    points = run(tmp_path / "exchangeable", exchangeable=True)
    designs = [canonical(p) for p in points]
    assert len(points) == 60
    assert len(set(designs)) == len(designs), "a renamed copy of a design was evaluated"
    # without the declaration the machines are different machines, and renamings are new points: the
    # same model then spends evaluations on them (which is what the declaration saves)
    points = run(tmp_path / "plain", exchangeable=False)
    assert len({canonical(p) for p in points}) < len(points)


def test_canonical_naming_keeps_fixed_values_and_tells_designs_apart():
    swap = tuple(value_key(v) for v in ("g1", "g2", "g3"))     # the host ("cpu") is not interchangeable
    levels = ListLevels(["cpu", "g1", "g2", "g3"])
    r = Relabelling(DesignSpace([Knob(f"device_{i}", "categorical", levels, family="device", member=i,
                                      exchangeable=swap) for i in range(4)]))
    assert r.active
    codes = np.array([[1, 1, 0, 2],     # g1 g1 cpu g2
                      [3, 3, 0, 1],     # g3 g3 cpu g1: the same design, renamed
                      [0, 0, 1, 2],     # cpu cpu g1 g2: another design
                      [1, 1, 0, 1]])    # g1 g1 cpu g1: another design (two machines, not three)
    c = r.canonical(codes)
    assert (c[0] == c[1]).all()
    assert not (c[0] == c[2]).all() and not (c[0] == c[3]).all() and not (c[2] == c[3]).all()
    plain = Relabelling(DesignSpace([Knob(f"device_{i}", "categorical", levels, family="device", member=i)
                                     for i in range(4)]))
    assert not plain.active and (plain.canonical(codes) == codes).all()
