"""A user's model plugin with the documented Save(path) / Load(path) (docs/models.md "Writing a model plugin"):
its checkpoints are written by a training run and read by -inference-only and the Python API."""
from __future__ import annotations

import json

from cli_helpers import assert_user_error, read_csv, run_deffe, write

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


def _trained(tmp_path, model=MODEL):
    project(tmp_path, model)
    r = run_deffe("-config", "cfg.json", "-jobs", "1", cwd=tmp_path)
    assert r.rc == 0, r
    write(tmp_path / "in.csv", "a,b,t\n1,1,11\n6,4,64\n")
    return json.loads((tmp_path / "run" / "checkpoints" / "explore_0.ckpt").read_text())["mu"]


def test_inference_and_the_python_api_load_a_user_models_checkpoint_through_its_load(tmp_path):
    # "run/checkpoints/explore_0.ckpt: not a model checkpoint of this framework", from -inference-only and from
    # load_run(...).model.predict(), though the docs say Save/Load serve -inference-only
    mu = _trained(tmp_path)
    assert (tmp_path / "run" / "checkpoints" / "explore_0.ckpt.meta.json").is_file()
    r = run_deffe("-config", "cfg.json", "-inference-only", "-icp", "run/checkpoints/explore_0.ckpt",
                  "-input", "in.csv", "-output", "pred.csv", cwd=tmp_path)
    assert r.rc == 0 and "2 rows predicted" in r.out, r
    rows = read_csv(tmp_path / "pred.csv")
    assert [float(row["predicted-t"]) for row in rows] == [mu, mu]
    import framework
    pred = framework.load_run(tmp_path / "run").model.predict({"a": 6, "b": 4})
    assert list(pred["predicted-t"]) == [mu]


def test_a_user_models_checkpoint_whose_plugin_is_not_found_names_the_python_path(tmp_path):
    _trained(tmp_path)
    cfg = json.loads((tmp_path / "cfg.json").read_text())
    cfg["python_path"] = []
    (tmp_path / "elsewhere").mkdir()
    write(tmp_path / "elsewhere" / "cfg.json", json.dumps(cfg))
    r = run_deffe("-config", "elsewhere/cfg.json", "-inference-only", "-icp", "run/checkpoints/explore_0.ckpt",
                  "-input", "in.csv", "-output", "pred.csv", cwd=tmp_path)
    line = assert_user_error(r, "written by the model plugin 'my_model', which is not found",
                             f"give the python_path the training run had ({tmp_path.resolve()})")
    assert "Traceback" not in r.err and line
    assert not (tmp_path / "pred.csv").exists()


def test_a_user_models_load_that_crashes_is_one_line_naming_it(tmp_path):
    _trained(tmp_path, MODEL.replace('json.load(f)["mu"]', 'json.load(f)["nu"]'))
    r = run_deffe("-config", "cfg.json", "-inference-only", "-icp", "run/checkpoints/explore_0.ckpt",
                  "-input", "in.csv", "-output", "pred.csv", cwd=tmp_path)
    assert_user_error(r, "ml_model plugin 'my_model' failed in Load(): KeyError: 'nu'")
    assert not (tmp_path / "pred.csv").exists()
