"""A guided run with a real model resumes value for value: a rerun evaluates nothing new."""
import json

from cli_helpers import read_csv, run_deffe, write


def test_rerun_of_a_model_guided_run_evaluates_nothing_again(tmp_path):
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': 1 + sum((p[k] - 3) ** 2 for k in 'pqrs')}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": n, "values": "0-8"} for n in "pqrs"],
        "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "torch_mlp", "epochs": 60, "ensemble": 2},
        "exploration": {"samples_per_step": 8, "max_samples": 40, "analysis": False},
    }))
    first = run_deffe("-config", "config.json", cwd=tmp_path)
    assert first.rc == 0, first
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    again = run_deffe("-config", "config.json", cwd=tmp_path)
    assert "0 evaluated now, 40 from the store" in again.out, again
    assert read_csv(tmp_path / "explore" / "deffe_evaluation.csv") == rows
