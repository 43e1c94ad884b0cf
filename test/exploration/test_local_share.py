"""exploration.local_share: part of every step goes to moves within the trust region of the best designs.

The stand-in model here is what a learned model is on a large placement space after a few dozen points:
right near what it was trained on, and no better than a guess (with a wide uncertainty) further away. Expected
improvement then favours the far-off points for their uncertainty, and the batch leaves the best design's
neighbourhood unexplored though one knob changed improves it; a local share keeps part of every step there.
"""
import json
import statistics

from cli_helpers import read_csv, run_deffe, write

EVALUATOR = '''
def f(p):
    return 1.0 + sum((p[k] - 7) ** 2 for k in "pqrstu")

def evaluate(p):
    return {"f": f(p)}
'''

MODEL = '''
import zlib
import numpy as np
from framework.protocols import Prediction
import ev

class Myopic:
    """The true cost within one knob of a point it was trained on; elsewhere a guess around the median seen,
    as uncertain as it is: among thousands of far-off candidates, some are always guessed better than the best
    (the winner's curse of a poor model)."""
    def __init__(self, fw):
        self.fw = fw
        self.seen = None
    def Initialize(self):
        pass
    def Run(self, data):
        self.seen = np.asarray(data.codes)
        self.typical = float(np.nanmedian(data.costs[:, 0]))
        return {"samples": len(data.status)}
    def Predict(self, codes):
        codes = np.asarray(codes)
        near = (codes[:, None, :] != self.seen[None, :, :]).sum(axis=2).min(axis=1) <= 1
        true = np.array([ev.f(p) for p in self.fw.space.decode(codes)])
        # far off, a guess: the typical cost seen, scattered by a noise fixed per point (seeded by its codes)
        noise = np.array([np.random.default_rng(zlib.crc32(row.tobytes())).standard_normal()
                          for row in codes.astype(np.int64)])
        mean = np.where(near, true, self.typical * np.exp(0.7 * noise))
        std = np.where(near, 1e-3 * true, 0.5 * self.typical)
        return Prediction(mean[:, None], std[:, None], None, None)

def GetObject(fw):
    return Myopic(fw)
'''


def run(directory, seed, share):
    write(directory / "ev.py", EVALUATOR)
    write(directory / "myopic.py", MODEL)
    write(directory / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": n, "values": "0-10"} for n in "pqrstu"],
        "costs": ["f"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "myopic"},
        "exploration": {"plugin": "surrogate", "samples_per_step": 10, "max_samples": 80, "candidates": 3000,
                        "local_share": share},
        "framework": {"seed": seed},
    }))
    r = run_deffe("-config", "config.json", cwd=directory)
    assert r.rc == 0, r
    return min(float(x["f"]) for x in read_csv(directory / "explore" / "deffe_evaluation.csv"))


def test_a_local_share_improves_on_the_best_where_the_model_is_only_right_nearby(tmp_path):
    seeds = (1, 2, 3)
    focused = [run(tmp_path / f"local-{s}", s, 0.3) for s in seeds]
    spread = [run(tmp_path / f"global-{s}", s, 0.0) for s in seeds]
    # one knob a move, three moves a step: 6 steps bring the best close to the optimum (1.0)
    assert statistics.median(focused) <= 0.5 * statistics.median(spread), (focused, spread)


def test_local_share_is_a_fraction(tmp_path):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "p", "values": "0-10"}], "costs": ["f"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "exploration": {"plugin": "surrogate", "local_share": 1.5},
    }))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 2 and "local_share" in r.err and "at most 1" in r.err, r
    assert "Traceback" not in r.err
