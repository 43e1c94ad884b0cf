"""Deffe's relative losses compute what they say; the framework-level options are checked."""
import warnings

import numpy as np
import pytest
import torch

from framework.errors import DeffeError
from ml_helpers import framework, model, synthetic
from plugins.ml_model._losses import make_loss
from plugins.ml_model._targets import Targets


def test_deffe_losses_on_the_cost_itself():
    costs = np.array([[2.0], [8.0], [5.0]])
    tg = Targets.fit(costs, log_costs=True)
    z = torch.as_tensor(tg.forward(costs), dtype=torch.float32)[None]          # (1 member, 3, 1)
    predicted = np.array([[2.2], [6.0], [5.0]])
    out = torch.as_tensor(tg.forward(predicted), dtype=torch.float32)[None]
    mask = torch.ones_like(z)
    args = (torch.as_tensor(tg.log), torch.as_tensor(tg.mean, dtype=torch.float32),
            torch.as_tensor(tg.std, dtype=torch.float32))
    exp_loss = make_loss("custom_mean_abs_exp_loss", *args)(out, z, mask)
    # Deffe's relative error when over-predicting; log(cost / predicted) when under-predicting (6 for 8)
    relative = np.where(predicted >= costs, (predicted - costs) / costs, np.log(costs / predicted))
    assert float(exp_loss) == pytest.approx(np.mean(relative), rel=1e-5)
    log_loss = make_loss("custom_mean_abs_log_loss", *args)(out, z, mask)
    expect = np.mean(np.abs(np.log(predicted) - np.log(costs)) / np.abs(np.log(costs)))
    assert float(log_loss) == pytest.approx(expect, rel=1e-5)
    mask[0, 1, 0] = 0.0                                                         # an unknown cost is left out
    masked = make_loss("custom_mean_abs_exp_loss", *args)(out, z, mask)
    assert float(masked) == pytest.approx(np.mean(relative[[0, 2]]), rel=1e-5)


def test_exp_loss_learns_costs_spanning_several_decades(tmp_path):
    """Deffe's relative loss on costs from 0.015 to 6.5e4: Deffe's 1 - predicted / cost saturated at 1 when
    under-predicting, and every prediction collapsed to about 0.01, ranked backwards (tau -0.72)."""
    from framework.metrics import kendall_tau
    from framework.protocols import TrainingData
    knobs = [{"name": "x1", "values": list(range(1, 21))}, {"name": "x2", "values": [1, 2, 4, 8, 16, 32]}]
    fw = framework(tmp_path, knobs=knobs, costs=["y"], model={"loss": "custom_mean_abs_exp_loss", "epochs": 300,
                                                                         "patience": 100})
    codes = fw.space.random(np.random.default_rng(1), 40)
    y = 1e-3 * np.exp(0.6 * (codes[:, 0] + 1)) * (2.0 ** codes[:, 1]) ** 1.5
    assert y.max() / y.min() > 1e4
    m = model(fw, "torch_mlp")
    m.Run(TrainingData(codes, fw.encoding.transform(codes), y[:, None], ["ok"] * 40, 0))
    predicted = m.Predict(codes).mean[:, 0]
    assert kendall_tau(y, predicted) > 0.8
    assert np.median(np.abs(predicted - y) / y) < 0.5


@pytest.mark.parametrize("loss", ["huber", "mae", "custom_mean_abs_exp_loss", "custom_mean_abs_log_loss"])
def test_every_loss_trains(tmp_path, loss):
    fw = framework(tmp_path, model={"loss": loss})
    m = model(fw, "torch_mlp")
    report = m.Run(synthetic(fw, 80))
    assert report["final_train_loss"] < report["history"][0]["train_loss"]


def test_relative_losses_need_positive_costs(tmp_path):
    fw = framework(tmp_path, model={"loss": "custom_mean_abs_exp_loss"})
    data = synthetic(fw, 30)
    data.costs[4, 1] = -1.0
    with pytest.raises(DeffeError, match="needs positive costs, and 'g' has -1"):
        model(fw, "torch_mlp").Run(data)


def test_bad_model_options_are_one_clear_error(tmp_path):
    with pytest.raises(DeffeError, match="model.loss: 'mean_squared' is not one of"):
        model(framework(tmp_path / "a", model={"loss": "mean_squared"}), "torch_mlp")
    with pytest.raises(DeffeError, match="loss 'mean_square' is not one of .*did you mean 'mean_squared_error'"):
        model(framework(tmp_path / "a2", model={"ml_arguments": "-loss mean_square"}), "torch_mlp")
    # a Keras name in Deffe's option string: the error named model.loss and suggested mean_squared_error
    with pytest.raises(DeffeError, match=r"config.json:model.ml_arguments: loss 'mean_absolute_error' is not one "
                                         r"of mse, huber, mae, .* \(or Deffe's mean_squared_error, .*\); write 'mae' "
                                         r"\(the name here of mean_absolute_error\)"):
        model(framework(tmp_path / "k", model={"ml_arguments": "-loss mean_absolute_error"}), "torch_mlp")
    # another case of a name here: refused, but suggested (difflib's ratio of 'MAE' and 'mae' is 0: no hint)
    with pytest.raises(DeffeError, match=r"model.loss: 'MAE' is not one of .*; did you mean 'mae'\?"):
        model(framework(tmp_path / "up", model={"loss": "MAE"}), "torch_mlp")
    with pytest.raises(DeffeError, match=r"loss 'Huber' is not one of .*; did you mean 'huber'\?"):
        model(framework(tmp_path / "up2", model={"ml_arguments": "-loss Huber"}), "torch_mlp")
    deffe = model(framework(tmp_path / "a3", model={"ml_arguments": "-loss custom_mean_abs_loss"}), "torch_mlp")
    assert deffe.opts["loss"] == "custom_mean_abs_exp_loss"
    with pytest.raises(DeffeError, match="train_test_split must be a fraction"):
        model(framework(tmp_path / "b", model={"train_test_split": 1.5}), "torch_mlp")
    with pytest.raises(DeffeError, match="hidden must be a list of layer widths"):
        model(framework(tmp_path / "c", model={"hidden": [16, 0]}), "torch_mlp")
    # scikit-learn refused a boosting rate of 0 in the middle of a run, as a plugin failure
    with pytest.raises(DeffeError, match=r"model.gbm_learning_rate: gbm_learning_rate must be above 0, got 0"):
        model(framework(tmp_path / "d", model={"gbm_learning_rate": 0}), "sklearn_gbm")
    with pytest.raises(DeffeError, match=r"model.learning_rate: learning_rate must be above 0, got 0"):
        model(framework(tmp_path / "e", model={"learning_rate": 0}), "torch_mlp")
    # a number where costs belong was a TypeError inside the plugin
    with pytest.raises(DeffeError, match=r"model.learn_infeasible: learn_infeasible is true, false, a cost or a list"):
        model(framework(tmp_path / "f", model={"learn_infeasible": 5}), "auto")


def test_targets_use_log_only_for_positive_costs():
    tg = Targets.fit(np.array([[1.0, -2.0], [10.0, 3.0], [np.nan, 1.0]]), log_costs=True)
    assert tg.log.tolist() == [True, False]
    back = tg.inverse(tg.forward(np.array([[4.0, -1.0]])))
    assert np.allclose(back, [[4.0, -1.0]])


def test_costs_of_1e200_of_both_signs_are_learned(tmp_path):
    # signed costs of about 1e200: their spread overflowed, the default model predicted NaN with numpy warnings;
    # then they were refused ("rescale the cost"); now the model scales them in units of their magnitude
    fw = framework(tmp_path)
    data = synthetic(fw, 30)
    data.costs[:, 1] = (data.codes[:, 0] - 3) * 1e200
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no numpy RuntimeWarning on the way
        m = model(fw, "sklearn_rf")
        m.Run(data)
        pred = np.asarray(m.Predict(data.codes).mean)[:, 1]
    assert np.all(np.isfinite(pred))
    assert np.max(np.abs(pred)) <= 1.5 * np.max(np.abs(data.costs[:, 1]))
    # the ranking the forest learned holds in those units
    assert np.corrcoef(pred / 1e200, data.costs[:, 1] / 1e200)[0, 1] > 0.9
    data.costs[:, 1] = np.abs(data.costs[:, 1]) + 1e199   # positive: learned on a log scale, no limit
    assert model(fw, "sklearn_rf").Run(data)["plugin"] == "sklearn_rf"


def test_a_cnn_works_with_a_single_knob(tmp_path):
    fw = framework(tmp_path, knobs=[{"name": "n", "values": [1, 2, 4, 8, 16]}], costs=["t"],
                   model={"plugin": "torch_cnn"})
    m = model(fw, "torch_cnn")
    codes = np.arange(5.0).reshape(-1, 1)
    from framework.protocols import TrainingData
    m.Run(TrainingData(codes, fw.encoding.transform(codes), 2.0 ** codes + 1, ["ok"] * 5, 0))
    assert m.Predict(codes).mean.shape == (5, 1)
