"""model_metrics.csv has one row per step and cost even when nothing is held out (train_test_split 1, or too
few samples): it had one row with an empty cost, so run.model_metrics.cost was NaN."""
import csv
import json

from cli_helpers import run_deffe


def test_every_cost_has_its_row_without_a_holdout(tmp_path):
    config = {"knobs": [{"name": "x", "values": "0-8"}], "costs": ["t", "m"], "python_path": ["."],
              "evaluate": {"plugin": "python", "function": "f:evaluate"},
              "model": {"plugin": "sklearn_rf", "estimators": 5, "train_test_split": 1},
              "exploration": {"plugin": "sampling", "samples_per_step": 4, "max_samples": 8},
              "framework": {"report_files": False, "progress": False}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "f.py").write_text("def evaluate(p):\n    x = float(p['x'])\n    return {'t': x + 1, 'm': 2 * x + 1}\n")
    r = run_deffe("-config", "config.json", "-quiet", cwd=tmp_path)
    assert r.rc == 0, r
    rows = list(csv.DictReader((tmp_path / "explore" / "model_metrics.csv").open()))
    assert [(row["step"], row["cost"]) for row in rows] == [("0", "t"), ("0", "m"), ("1", "t"), ("1", "m")]
    assert all(row["holdout"] == "0" and row["mape_percent"] == "" and row["train"] for row in rows)
