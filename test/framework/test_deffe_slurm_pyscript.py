"""Deffe's "pyscript" in its top-level "slurm" section (its SLURM module) is accepted, as docs/config.md says."""
import json

from framework.config import load_config


def test_slurm_pyscript_is_accepted(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"],
                                "evaluate": {"sample_evaluate_script": "evaluate.sh"},
                                "slurm": {"nodes": 1, "pyscript": "deffe_slurm.py"}}))
    cfg = load_config(path)
    assert cfg.data["slurm"]["nodes"] == 1 and "pyscript" not in cfg.data["slurm"]
    # every other block's pyscript naming one of Deffe's own modules keeps the built-in plugin
    data = json.loads(path.read_text())
    for section, module in (("sampling", "_sampling.py"), ("evaluate", "_evaluate.py"), ("extract", "_extract.py"),
                            ("model", "_ml_model.py"), ("exploration", "_exploration.py")):
        data.setdefault(section, {})["pyscript"] = module
    path.write_text(json.dumps(data))
    load_config(path)
