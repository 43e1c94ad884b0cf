"""Transfer learning: warm starts per step, and fine-tuning a checkpoint with frozen layers."""
from argparse import Namespace

import numpy as np
import pytest

from framework.errors import DeffeError
from framework.metrics import mape
from ml_helpers import framework, model, synthetic


def test_each_step_starts_from_the_previous_one_with_tl_samples(tmp_path):
    fw = framework(tmp_path / "tl", model={"transfer_learning": True})
    m = model(fw, "torch_mlp")
    assert m.Run(synthetic(fw, 40))["start"] == "scratch"
    assert m.Run(synthetic(fw, 60, seed=1))["start"] == "previous step"
    plain = model(framework(tmp_path / "plain"), "torch_mlp")
    plain.Run(synthetic(fw, 40))
    assert plain.Run(synthetic(fw, 60, seed=1))["start"] == "scratch"


def test_a_small_step_continues_the_current_model(tmp_path):
    fw = framework(tmp_path, model={"epochs": 300})
    m = model(fw, "torch_mlp")
    first = m.Run(synthetic(fw, 100))
    scale = m.targets.mean.copy()
    small = m.Run(synthetic(fw, 105))                # +5%: below retrain_growth (10%)
    assert (first["start"], small["start"], small["epochs"]) == ("scratch", "continued", 30)
    assert np.array_equal(m.targets.mean, scale)    # a continued model keeps its output scale
    assert m.Run(synthetic(fw, 111))["start"] == "scratch"    # +11% since the last full training
    never = model(framework(tmp_path / "never", model={"epochs": 300, "retrain_growth": 0}), "torch_mlp")
    never.Run(synthetic(fw, 100))
    assert never.Run(synthetic(fw, 105))["start"] == "scratch"


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    d = tmp_path_factory.mktemp("source")
    fw = framework(d, model={"epochs": 150})
    m = model(fw, "torch_mlp")
    m.Run(synthetic(fw, 400))
    return m.Save(d / "source.ckpt")


def test_icp_with_frozen_layers_keeps_them(tmp_path, source):
    args = Namespace(icp=str(source), freeze_layers=2)
    fw = framework(tmp_path, args=args)
    m = model(fw, "torch_mlp")
    before = {k: v.detach().clone() for k, v in m.net.state_dict().items()}
    test = synthetic(fw, 30, seed=8).codes
    assert np.all(np.isfinite(m.Predict(test).mean))      # the checkpoint predicts before any training
    report = m.Run(synthetic(fw, 30, seed=3))
    assert report["start"] == "checkpoint" and report["frozen_layers"] == 2
    after = m.net.state_dict()
    for name in ("dense.0.weight", "dense.0.bias", "dense.1.weight", "dense.1.bias"):
        assert np.array_equal(before[name].numpy(), after[name].numpy()), name
    assert not np.array_equal(before["dense.2.weight"].numpy(), after["dense.2.weight"].numpy())


def test_fine_tuning_beats_scratch_on_a_related_task(tmp_path, source):
    """A task like the source's (same knobs, costs scaled and shifted), with few samples."""
    def related(fw, n, seed):
        d = synthetic(fw, n, seed)
        d.costs = 1.7 * d.costs + 3.0
        return d
    errors = {}
    for name, args in (("scratch", Namespace()), ("tuned", Namespace(icp=str(source), freeze_layers=1))):
        fw = framework(tmp_path / name, args=args)
        m = model(fw, "torch_mlp")
        m.Run(related(fw, 25, seed=4))
        test = related(fw, 300, seed=5)
        errors[name] = mape(test.costs[:, 0], m.Predict(test.codes).mean[:, 0])
    assert errors["tuned"] < 0.7 * errors["scratch"], errors


def test_freezing_needs_a_layer_left(tmp_path, source):   # without a checkpoint: test_deffe_transfer.py
    # refused when the model is built from the checkpoint, before anything runs (-fresh then moves nothing)
    with pytest.raises(DeffeError, match="would freeze every layer of the network"):
        model(framework(tmp_path / "b", args=Namespace(icp=str(source), freeze_layers=3)), "torch_mlp")
    with pytest.raises(DeffeError, match="freeze_layers applies to the torch models"):
        model(framework(tmp_path / "c", args=Namespace(icp=str(source), freeze_layers=1)), "sklearn_rf")


def test_cnn_freezes_its_convolutions(tmp_path):
    fw = framework(tmp_path / "src", model={"plugin": "torch_cnn"})
    m = model(fw, "torch_cnn")
    m.Run(synthetic(fw, 60))
    path = m.Save(tmp_path / "cnn.ckpt")
    tuned = model(framework(tmp_path / "dst", args=Namespace(icp=str(path), freeze_layers=2)), "torch_cnn")
    before = [w.detach().clone() for w in tuned.net.conv_w]
    tuned.Run(synthetic(fw, 40, seed=2))
    assert all(np.array_equal(a.numpy(), b.detach().numpy()) for a, b in zip(before, tuned.net.conv_w))
