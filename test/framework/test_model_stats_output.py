"""-model-stats-output FILE is written whatever the model: a model without epochs (trees) gets a row per
training; a run that trains no model says the file has nothing to write instead of leaving it out silently."""
import csv
import json

from cli_helpers import run_deffe


def project(tmp_path, model):
    config = {"knobs": [{"name": "x", "values": "0-8"}], "costs": ["cost"], "python_path": ["."],
              "evaluate": {"plugin": "python", "function": "f:evaluate"}, "model": model,
              "exploration": {"plugin": "sampling", "samples_per_step": 4, "max_samples": 8},
              "framework": {"report_files": False, "progress": False}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "f.py").write_text("def evaluate(p):\n    return {'cost': (float(p['x']) - 3) ** 2 + 1}\n")


def test_a_model_without_epochs_writes_a_row_per_training(tmp_path):
    project(tmp_path, {"plugin": "sklearn_rf", "estimators": 5})
    r = run_deffe("-config", "config.json", "-model-stats-output", "stats.csv", "-quiet", cwd=tmp_path)
    assert r.rc == 0, r
    rows = list(csv.reader((tmp_path / "stats.csv").open()))
    assert rows[0] == ["Epoch", "TrainLoss", "ValLoss", "TestLoss", "Step", "TrainCount", "ValCount"]
    assert [row[4] for row in rows[1:]] == ["0", "1"]   # each step's training, with its size
    assert all(row[5] for row in rows[1:]) and not any(row[0] for row in rows[1:])


def test_no_model_warns_that_the_stats_file_has_nothing_to_write(tmp_path):
    project(tmp_path, {"plugin": None})
    r = run_deffe("-config", "config.json", "-model-stats-output", "stats.csv", "-quiet", cwd=tmp_path)
    assert r.rc == 0, r
    lines = [line for line in r.err.splitlines() if "-model-stats-output" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: -model-stats-output stats.csv: no model is trained"), r
    assert not (tmp_path / "stats.csv").exists()
