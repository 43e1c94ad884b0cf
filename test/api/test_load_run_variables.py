"""load_run reads a run's config with the $VARS it was run with, not those of the process reading it."""
import json
import os

import pandas as pd

import framework

LEARNABLE = '''
def evaluate(point):
    return {"cost": 10.0 + 2.0 * float(point["a"])}
'''


def test_a_loaded_run_reads_its_config_with_the_variables_of_the_run(tmp_path, monkeypatch):
    run_at, elsewhere = tmp_path / "work", tmp_path / "notebook"
    run_at.mkdir()
    elsewhere.mkdir()
    (run_at / "learnable_cost.py").write_text(LEARNABLE)
    (run_at / "cfg.json").write_text(json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "a", "values": "0-8"}, {"name": "flavour", "values": ["$G4_FLAVOUR", "plain"]}],
        "scenarios": [{"name": "input", "values": "$DEFFE_EXP_DIR/input.dat"}],
        "costs": ["cost"],
        "evaluate": {"plugin": "python", "function": "learnable_cost:evaluate"},
        "model": {"plugin": "sklearn_rf"},
        "exploration": {"samples_per_step": 16, "max_samples": 16},
        "framework": {"run_directory": "explore", "seed": 3}}))
    monkeypatch.chdir(run_at)
    monkeypatch.setenv("G4_FLAVOUR", "spicy")
    framework.explore(run_at / "cfg.json")
    # read back from another directory, DEFFE_EXP_DIR unset and the other variable changed
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("DEFFE_EXP_DIR", raising=False)
    monkeypatch.setenv("G4_FLAVOUR", "mild")
    run = framework.load_run(run_at / "explore")
    assert set(run.evaluations["input"]) == {f"{run_at}/input.dat"}
    assert set(run.evaluations["flavour"]) <= {"spicy", "plain"}
    space = run.config.explores[0].space
    assert [str(v) for v in space.knobs[space.names.index("input")].levels] == [f"{run_at}/input.dat"]
    pred = run.model.predict(run.evaluations)
    assert len(pred) == 16 and pred["predicted-cost"].notna().all()
    # and the process is as it was
    assert "DEFFE_EXP_DIR" not in os.environ and os.environ["G4_FLAVOUR"] == "mild"


def test_a_run_of_an_older_version_is_read_as_before(tmp_path, monkeypatch):
    # a manifest without config_env: the config is read in the environment of now, as before
    monkeypatch.chdir(tmp_path)
    (tmp_path / "learnable_cost.py").write_text(LEARNABLE)
    (tmp_path / "cfg.json").write_text(json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-8"}], "costs": ["cost"],
        "scenarios": [{"name": "input", "values": "$DEFFE_EXP_DIR/input.dat"}],
        "evaluate": {"plugin": "python", "function": "learnable_cost:evaluate"},
        "exploration": {"samples_per_step": 8, "max_samples": 8}, "framework": {"run_directory": "explore"}}))
    framework.explore(tmp_path / "cfg.json", no_train=True)
    manifest = tmp_path / "explore" / "deffe_run.json"
    data = json.loads(manifest.read_text())
    assert data["config_env"] == {"DEFFE_EXP_DIR": str(tmp_path)}
    del data["config_env"]
    manifest.write_text(json.dumps(data))
    monkeypatch.setenv("DEFFE_EXP_DIR", "/somewhere/else")
    space = framework.load_run(tmp_path / "explore").config.explores[0].space
    assert [str(v) for v in space.knobs[space.names.index("input")].levels] == ["/somewhere/else/input.dat"]
    pd.testing.assert_index_equal(pd.Index(space.names), pd.Index(["a", "input"]))
