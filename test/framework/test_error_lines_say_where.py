"""Error lines of the documented form `error: <file>:<where>: <what>; <what to do>`: the place a user goes to
(the config key, or the flag, that said it) and something to do, for the mistakes found by testers."""
import json
import os
import shutil
import stat
from pathlib import Path

from cli_helpers import assert_user_error, run_deffe, write

DEFFE_CONFIG = Path(__file__).resolve().parent / "deffe_config"
BASE = {"knobs": [{"name": "a", "values": [1, 2]}, {"name": "b", "values": [1, 2, 3]}], "costs": ["c"],
        "evaluate": {"script": "run.sh"}}


def _config(tmp_path, patch):
    write(tmp_path / "run.sh", "echo 1 > results.out\n")
    data = json.loads(json.dumps(BASE))
    patch(data)
    write(tmp_path / "config.json", json.dumps(data, indent=1))


def _check(tmp_path, patch, *fragments, args=()):
    _config(tmp_path, patch)
    line = assert_user_error(run_deffe("-config", "config.json", *args, cwd=tmp_path), *fragments)
    assert not (tmp_path / "explore").exists()
    return line


def _hint(line):
    assert "; " in line, line
    return line.split("; ", 1)[1]


def test_unreachable_slurm_names_the_key_that_asked_for_it(tmp_path):
    for f in DEFFE_CONFIG.iterdir():
        shutil.copy(f, tmp_path / f.name)
    fake = tmp_path / "bin" / "sinfo"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'sinfo: fatal: Could not establish a configuration source' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    r = run_deffe("-config", "config.json", "-no-train", cwd=tmp_path,
                  env={"PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"})
    line = assert_user_error(r, "error: config.json:evaluate.slurm: ", "not reachable", "-no-slurm")
    assert "Could not establish" in line


def test_unknown_key_in_an_evaluate_slurm_object_with_or_without_slurm(tmp_path):
    def patch(d):
        d["evaluate"]["slurm"] = {"nodes": 2, "bogus": 1}
    for args in ((), ("-no-slurm",)):
        line = _check(tmp_path, patch, "error: config.json:evaluate.slurm.bogus: unknown key 'bogus'", args=args)
        assert "partition" in _hint(line)


def test_an_evaluate_slurm_object_keeps_its_settings(tmp_path):
    # the slurm section's defaults do not replace what evaluate.slurm gives (a value there is checked too)
    def patch(d):
        d["evaluate"]["slurm"] = {"nodes": 0}
    _check(tmp_path, patch, "config.json:evaluate.slurm.nodes", "at least 1")
    from framework.config import load_config
    _config(tmp_path, lambda d: d["evaluate"].update(slurm={"nodes": 3, "partition": "gpu"}))
    slurm = load_config(tmp_path / "config.json").data["slurm"]
    assert slurm["nodes"] == 3 and slurm["partition"] == "gpu"
    _config(tmp_path, lambda d: (d["evaluate"].update(slurm={"nodes": 3, "partition": "gpu"}),
                                 d.update(slurm={"nodes": 2})))
    slurm = load_config(tmp_path / "config.json").data["slurm"]
    assert slurm["nodes"] == 2 and slurm["partition"] == "gpu"   # the section's own keys win


def test_knob_value_mistakes_say_what_to_do(tmp_path):
    def override(d):
        d["exploration"] = {"explore": [{"groups": ["a", "b::x;y"]}]}
    assert "numbers" in _hint(_check(tmp_path, override, "config.json:exploration.explore[0]",
                                     "gives text to a numeric knob"))
    assert "step" in _hint(_check(tmp_path, lambda d: d["knobs"][0].update(values="1-5-0"),
                                  "config.json:knobs[0].values", "has a step of 0"))
    assert "once" in _hint(_check(tmp_path, lambda d: d["knobs"][0].update(values="1-4, 3"),
                                  "config.json:knobs[0].values", "value 3 is listed twice"))


def test_model_setting_mistakes_say_what_to_do(tmp_path):
    assert "write one of them" in _hint(_check(tmp_path, lambda d: d.update(model={"loss": "foo"}),
                                               "config.json:model.loss", "'foo' is not one of"))
    assert "'silu'" in _hint(_check(tmp_path, lambda d: d.update(model={"activation": "foo"}),
                                    "config.json:model.activation"))
    assert "fraction" in _hint(_check(tmp_path, lambda d: d.update(model={"train_test_split": 0}),
                                      "config.json:model.train_test_split"))
    assert "below 1" in _hint(_check(tmp_path, lambda d: d.update(model={"dropout": 1.0}),
                                     "config.json:model.dropout"))


def test_a_file_flag_names_the_flag(tmp_path):
    (tmp_path / "adir").mkdir()
    line = _check(tmp_path, lambda d: None, "error: -pre-evaluated-data: nonexist.csv: file not found",
                  args=("-pre-evaluated-data", "nonexist.csv", "-only-preloaded-data-exploration"))
    assert "check the name" in _hint(line)
    line = _check(tmp_path, lambda d: None, "error: -pre-evaluated-data: adir: is a directory",
                  args=("-pre-evaluated-data", "adir", "-only-preloaded-data-exploration"))
    assert "a file, not a directory" in _hint(line)
    (tmp_path / "kmeans.hdf5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    _check(tmp_path, lambda d: None, "error: -icp: kmeans.hdf5: is a Keras checkpoint", args=("-icp", "kmeans.hdf5"))
    _check(tmp_path, lambda d: d.update(model={"ml_arguments": "-icp kmeans.hdf5"}),
           "error: config.json:model.ml_arguments: kmeans.hdf5: is a Keras checkpoint")


MODEL = '''
import os
import numpy as np
from framework.protocols import Prediction


class M:
    def __init__(self, framework):
        self.fw = framework

    def Initialize(self):
        pass

    def Run(self, data):
        self.w = np.zeros(len(data.costs[0]))
        return {}

    def Predict(self, codes):
        if os.environ.get("G4_MODEL") == "crash":
            raise RuntimeError("boom in predict")
        return Prediction(np.tile(self.w, (len(codes), 1)), None)

    def Save(self, path):
        with open(path, "wb") as f:
            np.save(f, self.w)

    def Load(self, path):
        self.w = np.load(path)


def GetObject(framework):
    return M(framework)
'''


def test_inference_names_its_flags_and_a_plugin_crash_says_how_to_see_it(tmp_path):
    write(tmp_path / "mymodel.py", MODEL)
    write(tmp_path / "cost.py", "def evaluate(p):\n    return {'c': float(p['a']) + float(p['b'])}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": BASE["knobs"], "costs": ["c"],
        "evaluate": {"plugin": "python", "function": "cost:evaluate"}, "model": {"plugin": "mymodel"},
        "exploration": {"samples_per_step": 6, "max_samples": 6}}))
    assert run_deffe("-config", "config.json", "-quiet", cwd=tmp_path).rc == 0
    ckpt = next((tmp_path / "explore" / "checkpoints").glob("*.ckpt"))
    write(tmp_path / "in.csv", "a,b\n1,2\n")
    line = assert_user_error(run_deffe("-config", "config.json", "-inference-only", "-icp", ckpt, "-input",
                                       "nonexist.csv", "-output", "o.csv", cwd=tmp_path),
                             "error: -input: nonexist.csv: file not found")
    assert "check the name" in _hint(line)
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", ckpt, "-input", "in.csv", "-output", "o.csv",
                  cwd=tmp_path, env={"G4_MODEL": "crash"})
    line = assert_user_error(r, "failed in Predict(): RuntimeError: boom in predict")
    assert line.endswith("; run with -debug for the traceback")
    assert not (tmp_path / "o.csv").exists()
