"""A user's model plugin with the documented Save(path) / Load(path) (docs/models.md "Writing a model plugin"):
its checkpoints are written by a training run and read by -inference-only and the Python API."""
from __future__ import annotations

import json

from cli_helpers import run_deffe, write

MODEL = '''import json, numpy as np
from framework.protocols import Prediction
class M:
    def __init__(self, fw): self.fw = fw; self.mu = None
    def Initialize(self): pass
    def Run(self, data):
        ok = np.array([s == "ok" for s in data.status]); self.mu = float(np.mean(data.costs[ok, 0])); return {}
    def Predict(self, codes):
        return Prediction(np.full((len(codes), 1), self.mu), None, None)
    def Save(self, path):
        with open(path, "w") as f: json.dump({"mu": self.mu}, f)
    def Load(self, path):
        with open(path) as f: self.mu = json.load(f)["mu"]
def GetObject(framework): return M(framework)
'''


def project(tmp_path, model=MODEL, **model_section):
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': p['a'] * 10 + p['b']}\n")
    write(tmp_path / "my_model.py", model)
    write(tmp_path / "cfg.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "a", "values": [1, 2, 3, 4, 5, 6]}, {"name": "b", "values": [1, 2, 3, 4]}],
        "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "my_model", **model_section},
        "exploration": {"samples_per_step": 6, "max_samples": 12, "analysis": False},
        "framework": {"run_directory": "run", "progress": False, "report_files": False}}))


def test_a_user_models_save_gets_a_path_whose_directory_exists(tmp_path):
    # "ml_model plugin 'my_model' failed in Save(): FileNotFoundError: .../checkpoints/explore_0.ckpt": the
    # framework never made checkpoints/ (the built-in models make it themselves)
    project(tmp_path)
    r = run_deffe("-config", "cfg.json", "-jobs", "1", cwd=tmp_path)
    assert r.rc == 0, r
    assert "mu" in json.loads((tmp_path / "run" / "checkpoints" / "explore_0.ckpt").read_text())
