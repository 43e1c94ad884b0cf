"""The deep ensemble's mini-batch: automatic by default (more steps per epoch on larger data), the config's when set."""
import pytest

from ml_helpers import framework, model, synthetic
from plugins.ml_model._trainer import batch_size_for, validation_split_for


@pytest.mark.parametrize("samples, batch", [(10, 256), (499, 256), (500, 32), (1000, 32), (4000, 125),
                                            (8192, 256), (100000, 256)])
def test_the_automatic_batch_gives_larger_data_sets_at_least_32_steps_an_epoch(samples, batch):
    assert batch_size_for(samples) == batch
    assert batch_size_for(samples, 64) == 64          # a configured batch always wins


def test_torch_mlp_trains_600_points_in_batches_of_32_unless_told_otherwise(tmp_path):
    fast = {"epochs": 3, "patience": 3, "ensemble": 2, "hidden": [8]}
    fw = framework(tmp_path / "auto", model=fast)
    report = model(fw, "torch_mlp").Run(synthetic(fw, 600))
    assert report["batch"] == 32 and report["train_count"] == 600     # 19 steps an epoch, not 3
    assert report["val_count"] == 0                                   # every member trains on all the points
    fw = framework(tmp_path / "val", model={**fast, "validation_split": 0.2})
    report = model(fw, "torch_mlp").Run(synthetic(fw, 600))
    assert report["train_count"] == 480 and report["val_count"] == 120  # Deffe's -validation-split keeps a part
    fw = framework(tmp_path / "set", model={**fast, "train_batch_size": 256})
    assert model(fw, "torch_mlp").Run(synthetic(fw, 600))["batch"] == 256
    fw = framework(tmp_path / "few", model=fast)
    assert model(fw, "torch_mlp").Run(synthetic(fw, 120))["batch"] == 256


@pytest.mark.parametrize("samples, configured, split", [(49, None, 0.2), (50, None, 0.0), (1000, None, 0.0),
                                                        (30, 0.0, 0.0), (1000, 0.23, 0.23)])
def test_early_stopping_below_50_points_unless_told_otherwise(samples, configured, split):
    assert validation_split_for(samples, configured) == split


def test_torch_mlp_on_30_points_keeps_a_validation_part(tmp_path):
    fast = {"epochs": 3, "patience": 3, "ensemble": 2, "hidden": [8]}
    fw = framework(tmp_path, model=fast)
    report = model(fw, "torch_mlp").Run(synthetic(fw, 30))
    assert report["val_count"] == 6 and report["train_count"] == 24


def test_deffe_cnn_keeps_deffes_batch_of_256(tmp_path):
    fw = framework(tmp_path, model={"epochs": 2, "patience": 2, "ensemble": 1, "hidden": [8]})
    assert model(fw, "torch_cnn").Run(synthetic(fw, 600))["batch"] == 256


def test_deffe_cnn_keeps_a_validation_part_at_any_size(tmp_path):
    # Deffe trains its CNN with early stopping; without it the CNN predicted placements 3 times worse
    fw = framework(tmp_path, model={"epochs": 2, "patience": 2, "ensemble": 1, "hidden": [8]})
    report = model(fw, "torch_cnn").Run(synthetic(fw, 100))
    assert report["val_count"] == 20 and report["train_count"] == 80


def test_deffe_cnn_validation_split_as_configured(tmp_path):
    fw = framework(tmp_path, model={"epochs": 2, "patience": 2, "ensemble": 1, "hidden": [8], "validation_split": 0})
    report = model(fw, "torch_cnn").Run(synthetic(fw, 100))
    assert report["val_count"] == 0 and report["train_count"] == 100
