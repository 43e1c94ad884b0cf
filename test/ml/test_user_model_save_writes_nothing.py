"""A user's model plugin whose Save(path) writes nothing (docs/models.md "Writing a model plugin": Save writes
the checkpoint the run describes beside it): the run ended well with nothing said, and -inference-only then
called Load() on a file that was not there and predicted from an unloaded model."""
from __future__ import annotations

import pytest

import framework
from cli_helpers import assert_runtime_error, assert_user_error, run_deffe
from test_user_model_checkpoint import MODEL, _trained, project

WRITES_NOTHING = MODEL.replace('with open(path, "w") as f: json.dump({"mu": self.mu}, f)', "pass")


def test_a_save_that_writes_nothing_is_a_one_line_error_naming_the_plugin(tmp_path):
    # before: exit 0, no warning, checkpoints/ held only explore_0.ckpt.meta.json (the description of no file)
    assert WRITES_NOTHING != MODEL
    project(tmp_path, WRITES_NOTHING)
    r = run_deffe("-config", "cfg.json", "-jobs", "1", cwd=tmp_path)
    assert_runtime_error(r, "cfg.json:model.plugin:", "ml_model plugin 'my_model': Save() wrote no file at",
                         "Save(path) writes the trained model to the path it is given")
    assert not (tmp_path / "run" / "checkpoints" / "explore_0.ckpt.meta.json").exists()


def test_inference_refuses_a_described_checkpoint_whose_file_is_missing(tmp_path):
    # before: "2 rows predicted -> pred.csv", from a model whose Load() was given a file that is not there
    _trained(tmp_path)
    (tmp_path / "run" / "checkpoints" / "explore_0.ckpt").unlink()   # the description stays
    r = run_deffe("-config", "cfg.json", "-inference-only", "-icp", "run/checkpoints/explore_0.ckpt",
                  "-input", "in.csv", "-output", "pred.csv", cwd=tmp_path)
    assert_user_error(r, "run/checkpoints/explore_0.ckpt:", "checkpoint file not found",
                      "only its description explore_0.ckpt.meta.json is there", "model plugin 'my_model'")
    assert not (tmp_path / "pred.csv").exists()


def test_load_run_says_the_checkpoint_file_is_missing_rather_than_no_model(tmp_path):
    # before: load_run(...).model was None, as for a run that trained no model
    _trained(tmp_path)
    (tmp_path / "run" / "checkpoints" / "explore_0.ckpt").unlink()   # the description stays
    with pytest.raises(framework.DeffeError, match="checkpoint file not found.*only its description "
                                                    "explore_0.ckpt.meta.json is there"):
        framework.load_run(tmp_path / "run").model
