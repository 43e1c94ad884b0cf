"""Predictions stay in a sane range around the costs seen in training, for every model plugin.

The rule (plugins/ml_model/_targets.py): in the learned scale t (log cost when positive), a prediction beyond
the training range [t_min, t_max] of width w is brought back smoothly (tanh) to at most m w beyond it
(m = model.bound_margin, 0.25), keeping its order.
"""
import warnings

import numpy as np
import pytest

from framework.protocols import TrainingData
from ml_helpers import PLUGINS, framework, model, synthetic
from plugins.ml_model._base import spread_of, summarise_members
from plugins.ml_model._targets import Targets

# one real knob x in [0, 10]; the cost exp(2x) + 1 grows by e^20 across the space: a model trained on x <= 4
# that extrapolates its log-cost output linearly predicts ~e^20 at x = 10 (the training maximum is e^8)
ONE_KNOB = [{"name": "x", "type": "real", "min": 0.0, "max": 10.0}]


def exponential(fw, n, lo, hi, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.uniform(lo, hi, (n, 1))
    costs = np.exp(2 * codes) + 1.0
    return TrainingData(codes, fw.encoding.transform(codes), costs, ["ok"] * n, 0)


def test_the_bound_is_the_identity_inside_smooth_and_ordered_outside():
    tg = Targets.fit(np.array([[1.0, -3.0], [100.0, 5.0], [10.0, 1.0]]), log_costs=True)
    assert list(tg.log) == [True, False] and tg.margin == 0.25
    inside = tg.forward(np.array([[2.0, 0.0], [99.0, 4.9]]))
    assert np.allclose(tg.inverse(inside), [[2.0, 0.0], [99.0, 4.9]])
    far = tg.forward(np.array([[1e30, 1e9], [1e3, 9.0], [1e-20, -1e9], [1e4, 12.0]]))
    out = tg.inverse(far)
    w = np.log(100.0)
    assert out[0, 0] < 100.0 * np.exp(0.25 * w) * (1 + 1e-12) and out[0, 1] < 5.0 + 0.25 * 8 + 1e-9
    assert out[2, 0] > np.exp(-0.25 * w) * (1 - 1e-12) and out[2, 1] > -3.0 - 0.25 * 8 - 1e-9
    assert 100.0 < out[1, 0] < out[3, 0] and 5.0 < out[1, 1] < out[3, 1]   # the order is kept beyond the range
    assert tg.inverse(far, bounded=False)[0, 0] > 1e29                # what an unbounded model would say


def test_old_targets_without_a_range_are_unbounded():
    tg = Targets(np.array([True]), np.array([0.0]), np.array([1.0]))
    assert tg.inverse(np.array([[50.0]]))[0, 0] == pytest.approx(np.exp(50.0))


@pytest.mark.parametrize("plugin", PLUGINS)
def test_no_plugin_extrapolates_beyond_the_margin(tmp_path, plugin):
    fw = framework(tmp_path, knobs=ONE_KNOB, costs=["f"], model={"epochs": 300, "patience": 300})
    m = model(fw, plugin)
    m.Run(exponential(fw, 40, 0.0, 4.0))
    x = np.linspace(0.0, 10.0, 41).reshape(-1, 1)
    p = m.Predict(x)
    t_min, t_max = np.log(np.exp(0.0) + 1.0), np.log(np.exp(8.0) + 1.0)   # about the training range
    reach = 0.25 * (t_max - t_min)
    assert np.all(np.log(p.mean) <= t_max + reach + 1e-9) and np.all(np.log(p.mean) >= t_min - reach - 1e-9)
    assert np.all(np.isfinite(p.std)) and np.all(p.std >= 0)
    if plugin == "torch_mlp":
        # a network extrapolates its log output about linearly: unbounded, its prediction at x = 10 lies far
        # beyond what the bound lets through (the test would fail without the bound)
        z = m._members(fw.encoding.transform(x[-1:])).mean(axis=0)
        unbounded = float(np.log(m.targets.inverse(z, bounded=False))[0, 0])
        assert unbounded > t_max + 2 * reach


def test_a_continued_model_predicts_within_the_range_of_everything_it_saw(tmp_path):
    fw = framework(tmp_path, knobs=ONE_KNOB, costs=["f"], model={"retrain_growth": 0.5})
    m = model(fw, "torch_mlp")
    first = exponential(fw, 40, 0.0, 4.0)
    m.Run(first)
    more = exponential(fw, 8, 4.0, 5.0, seed=1)    # 20% more: the model continues, its scale is kept
    both = TrainingData(np.vstack([first.codes, more.codes]), np.vstack([first.features, more.features]),
                        np.vstack([first.costs, more.costs]), ["ok"] * 48, 1)
    report = m.Run(both)
    assert report["start"] == "continued"
    assert m.targets.high[0] == pytest.approx(np.log(np.exp(2 * more.codes.max()) + 1.0))


def test_the_margin_is_an_option_and_survives_a_checkpoint(tmp_path):
    fw = framework(tmp_path, knobs=ONE_KNOB, costs=["f"], model={"bound_margin": 0.0})
    m = model(fw, "sklearn_gp")
    m.Run(exponential(fw, 30, 0.0, 4.0))
    p = m.Predict(np.array([[10.0]]))
    assert p.mean[0, 0] <= np.exp(8.0) + 1.0 + 1e-6                 # margin 0: never beyond the largest seen
    path = m.Save(tmp_path / "gp.ckpt")
    again = model(framework(tmp_path / "other", knobs=ONE_KNOB, costs=["f"]), "sklearn_gp")
    again.Load(path)
    assert again.targets.margin == 0.0 and np.array_equal(again.Predict(np.array([[10.0]])).mean, p.mean)



def test_the_members_std_is_finite_and_scale_free_at_any_magnitude():
    # squared, costs near 1e300 overflowed (std NaN, an empty std-<cost>) and costs near 1e-300 underflowed
    # (std 0): the std of members' costs scales with the costs, whatever their magnitude
    costs = np.array([[[1.0, 2.0]], [[3.0, 2.5]], [[2.0, 7.0]]])
    ordinary = spread_of(costs)
    assert ordinary.tobytes() == costs.std(axis=0).tobytes()      # ordinary costs: numpy's std, bit for bit
    for scale in (1e300, 1e-300, 1e-310):
        with warnings.catch_warnings():
            warnings.simplefilter("error")      # no numpy overflow warning on the console either
            assert np.allclose(spread_of(costs * scale) / scale, ordinary, rtol=1e-9)


@pytest.mark.parametrize("plugin", ["torch_mlp", "sklearn_rf"])
def test_a_model_of_costs_near_1e300_or_1e_minus_300_predicts_a_finite_positive_std(tmp_path, plugin):
    # the same data on those scales is the same log-cost problem: a std of the same size relative to the costs
    # (not the same bits: a tree's split or a float32 weight moves with the standardised targets' last bits)
    fw = framework(tmp_path, costs=["f"], model={"ensemble": 2, "epochs": 20, "estimators": 10})
    data = synthetic(fw, 40)
    codes = synthetic(fw, 30, seed=3).codes
    stds = {}
    for scale in (1.0, 1e300, 1e-300):
        m = model(fw, plugin)
        m.Run(TrainingData(data.codes, data.features, data.costs[:, :1] * scale, data.status, 0))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            p = m.Predict(codes)
        assert np.all(np.isfinite(p.std)) and np.all(p.std > 0)
        stds[scale] = np.median(p.std) / scale
    assert stds[1e300] == pytest.approx(stds[1.0], rel=0.2) and stds[1e-300] == pytest.approx(stds[1.0], rel=0.2)


def test_far_beyond_the_range_predictions_keep_their_order_and_their_spread():
    tg = Targets.fit(np.array([[1.0], [100.0], [10.0]]), log_costs=True)
    w = np.log(100.0)
    reach = 0.25 * w
    # up to six reaches beyond the range: the tanh bound, bit for bit
    near = np.linspace(-6.0, 6.0, 121)
    t = np.where(near > 0, w + near * reach, near * reach)
    old = np.where(t > w, w + reach * np.tanh((t - w) / reach), np.where(t < 0, reach * np.tanh(t / reach), t))
    assert tg.bound(t.reshape(-1, 1))[:, 0].tobytes() == old.tobytes()
    # further, tanh is 1.0 in float64 (every prediction the same, its std 0): the tail still rises
    reaches = np.array([10.0, 20.0, 50.0, 100.0, 1e3])
    up = tg.bound((w + reaches * reach).reshape(-1, 1))[:, 0]
    down = tg.bound((-reaches * reach).reshape(-1, 1))[:, 0]
    assert np.all(np.diff(up) > 0) and np.all(up < w + reach) and np.all(np.diff(down) < 0) and np.all(down > -reach)
    # members that agree far out keep their spread (at most half the range predictions may take), not 0
    t = w + reach * np.array([20.0, 40.0, 60.0])      # three members 20 to 60 reaches beyond the range
    z = ((t - tg.mean) / tg.std).reshape(3, 1, 1)
    _, std, costs = summarise_members(tg, z)
    assert np.ptp(costs) < 1e-3 * costs.mean()                     # squeezed together by the bound ...
    assert 0.1 * costs.mean() < std[0, 0] <= (100.0 * np.exp(reach) - np.exp(-reach)) / 2 * (1 + 1e-12)   # ... not 0


def test_the_gp_far_from_its_data_is_ordered_and_least_sure_there(tmp_path):
    # a GP trained on b in [0, 1] of a 0..100 domain, a cost of both signs: at b = 10 and 100 its predictions all
    # were the bound's edge (67.0795) and its std there exactly 0, while a training point's was 0.004
    fw = framework(tmp_path, knobs=[{"name": "a", "values": [1, 2, 3, 4, 5, 6, 7, 8]},
                                    {"name": "b", "type": "real", "min": 0.0, "max": 100.0}], costs=["c"])
    rng = np.random.default_rng(2)
    codes = np.column_stack([rng.integers(0, 4, 60), rng.uniform(0.0, 1.0, 60)])    # a in 1..4
    costs = (10 * (codes[:, 0] + 1) * (1 + codes[:, 1]) - 25).reshape(-1, 1)
    m = model(fw, "sklearn_gp")
    m.Run(TrainingData(codes, fw.encoding.transform(codes), costs, ["ok"] * 60, 0))
    far = np.array([[3, 10.0], [4, 10.0], [7, 10.0], [3, 100.0], [7, 100.0]])
    p = m.Predict(np.vstack([[3, 0.5], far]))
    latent = m._members(m._encode(far))[0, :, 0]
    assert len(np.unique(p.mean[1:, 0])) == len(far)                                 # told apart ...
    assert np.array_equal(np.argsort(p.mean[1:, 0]), np.argsort(latent))          # ... in the model's order
    assert np.all(p.std[1:, 0] > 10 * p.std[0, 0])                                 # least sure far out
    assert np.all(np.isfinite(p.std)) and np.all(p.mean <= costs.max() + 0.25 * np.ptp(costs))


def test_costs_of_any_magnitude_are_scaled_alike():
    # costs of 1e-297 that are not logged (negative) were taken as constant (std 1): a forest on them never
    # split and its MAPE was 608% against 68% on the same costs in other units
    costs = np.array([[-3.0, 2.0], [-1.0, 5.0], [-2.5, 4.0], [-7.0, 9.0]])
    unit = Targets.fit(costs, log_costs=True)
    for factor in (1e-297, 1e-12, 1e12, 1e297):
        scaled = Targets.fit(costs * factor, log_costs=True)
        assert np.allclose(scaled.forward(costs * factor), unit.forward(costs), rtol=1e-9, atol=1e-12), factor
        assert np.allclose(scaled.inverse(unit.forward(costs)), costs * factor, rtol=1e-9, atol=0), factor
    # a cost constant within rounding stays constant, whatever its magnitude
    for level in (0.5, -3e-300, 7e200):
        flat = Targets.fit(np.array([[level], [level * (1 + 1e-15)], [level]]), log_costs=False)
        assert np.all(np.abs(flat.forward(np.array([[level]]))) < 1e-3), level
