"""-inference-only -model-stats-output writes the checkpoint's training history as the training run wrote its
last training: a model without epochs (sklearn, what auto often chooses) gets its one row with the step and
the size (it had a header only), and a model with epochs that held no points back for validation says
ValCount 0 (it was empty)."""
import csv

import pytest

from cli_helpers import run_deffe
from test_model_stats_output import project


def rows(path):
    return list(csv.reader(path.open()))


@pytest.mark.parametrize("model", [{"plugin": "sklearn_rf", "estimators": 5},
                                   {"plugin": "torch_mlp", "epochs": 3, "validation_split": 0, "hidden": [4]}])
def test_inference_only_stats_are_the_last_trainings_rows(tmp_path, model):
    project(tmp_path, model)
    r = run_deffe("-config", "config.json", "-model-stats-output", "train.csv", "-quiet", cwd=tmp_path)
    assert r.rc == 0, r
    (tmp_path / "in.csv").write_text("x\n2\n5\n")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", "explore/checkpoints/explore_0.ckpt",
                  "-input", "in.csv", "-output", "out.csv", "-model-stats-output", "inf.csv", "-quiet", cwd=tmp_path)
    assert r.rc == 0, r
    trained, inferred = rows(tmp_path / "train.csv"), rows(tmp_path / "inf.csv")
    last = [row for row in trained[1:] if row[4] == trained[-1][4]]   # the last step's training
    assert inferred[0] == trained[0] and len(inferred) == 1 + len(last) >= 2, (trained, inferred)
    # the same epochs, step, sizes and validation count (the test loss is the training run's hold-out, not kept)
    assert [[row[0], row[1], row[4], row[5], row[6]] for row in inferred[1:]] == \
           [[row[0], row[1], row[4], row[5], row[6]] for row in last]
