"""A model plugin that is no model: it answers every prediction with the simulator itself.

Used only by bench/exploration.py to find a stronger "best known" for its problems: the surrogate
exploration's own search (a genetic search of the acquisition, trust-region moves around the best
points, 20,000 predictions a step) run with a perfect model. It also measures what the search alone can
do, so that the benchmark can tell a search that misses the optimum from a model that misleads it.
Config: {"plugin": "simulator_as_model", "options": {"problem": "<name in exploration_problems.SPECS>"}}.
"""
import sys
from pathlib import Path

import numpy as np

# appended, not prepended: bench/simulator.py must not shadow the simulator package
sys.path.append(str(Path(__file__).resolve().parents[1]))
from exploration_problems import Problem  # noqa: E402

from framework.protocols import Prediction  # noqa: E402

INFEASIBLE_TIME = 1e3   # a point the simulator cannot run gets a step time no design comes near


class SimulatorAsModel:
    def __init__(self, framework):
        self.framework = framework

    def Initialize(self):
        self.problem = Problem(self.framework.section("model")["options"]["problem"])

    def Run(self, data):
        return {"samples": len(data.status)}

    def Predict(self, codes):
        raw, mem, _ = self.problem.evaluate(np.asarray(codes).astype(np.int64))
        mean = np.column_stack([np.where(np.isfinite(raw), raw, INFEASIBLE_TIME),
                                np.where(np.isfinite(mem), mem, 10.0)])
        # a spread of 0.1% keeps expected improvement informative between points that do not beat the best
        return Prediction(mean, 1e-3 * np.abs(mean), None, None)


def GetObject(framework):
    return SimulatorAsModel(framework)
