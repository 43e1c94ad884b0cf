"""One suite every model plugin passes (like scikit-learn's estimator checks)."""
import numpy as np
import pytest

from framework.errors import DeffeError
from framework.metrics import mape
from ml_helpers import PLUGINS, framework, model, synthetic


@pytest.fixture(params=PLUGINS)
def plugin(request):
    return request.param


def trained(tmp_path, plugin, n=150, seed=0, **kw):
    fw = framework(tmp_path, **kw)
    m = model(fw, plugin)
    report = m.Run(synthetic(fw, n, seed))
    return fw, m, report


def test_fit_and_prediction_shapes(tmp_path, plugin):
    fw, m, report = trained(tmp_path, plugin)
    assert report["plugin"] == plugin and report["log_costs"] == [True, True]
    codes = synthetic(fw, 37, seed=1).codes
    p = m.Predict(codes)
    assert p.mean.shape == (37, 2) and p.std.shape == (37, 2) and p.feasible.shape == (37,)
    assert np.all(np.isfinite(p.mean)) and np.all(p.std >= 0) and np.all((p.feasible > 0) & (p.feasible <= 1))
    if plugin.startswith("torch"):
        assert p.members.shape == (3, 37, 2)
        # the point is the members' mean on the scale they learned (log costs: their geometric mean; the
        # members are each kept within the training range, the mean once: near its edge they differ a little)
        assert np.allclose(np.exp(np.log(p.members).mean(axis=0)), p.mean, rtol=1e-2)
        assert np.allclose(p.members.std(axis=0), p.std)
    # ... for every plugin: the point prediction is the one `auto` scores when it chooses among them
    assert np.allclose(m.targets.inverse(m._members(m._encode(codes)).mean(axis=0)), p.mean, rtol=1e-9)
    one = m.Predict(codes[0])                       # a single point as a flat row
    assert one.mean.shape == (1, 2) and np.allclose(one.mean[0], p.mean[0])


def test_learns_the_function(tmp_path, plugin):
    fw, m, _ = trained(tmp_path, plugin, n=300)
    test = synthetic(fw, 200, seed=5)
    p = m.Predict(test.codes)
    for j in range(2):  # a loose bound: every model must beat predicting the mean by far
        assert mape(test.costs[:, j], p.mean[:, j]) < 0.25, (plugin, j)
        baseline = mape(test.costs[:, j], np.full(200, np.mean(test.costs[:, j])))
        assert mape(test.costs[:, j], p.mean[:, j]) < baseline / 3


def test_save_load_round_trip_gives_the_same_predictions(tmp_path, plugin):
    fw, m, _ = trained(tmp_path, plugin)
    path = m.Save(tmp_path / "model.ckpt")
    again = model(framework(tmp_path / "other"), plugin)
    meta = again.Load(path)
    assert meta.plugin == plugin and meta.costs == ["f", "g"] and meta.samples == 150
    codes = synthetic(fw, 50, seed=2).codes
    a, b = m.Predict(codes), again.Predict(codes)
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.std, b.std)
    assert np.array_equal(a.feasible, b.feasible)


def test_same_seed_same_model(tmp_path, plugin):
    codes = None
    preds = []
    for run in range(2):
        fw, m, _ = trained(tmp_path / f"run{run}", plugin, model={"seed": 11})
        codes = synthetic(fw, 40, seed=3).codes if codes is None else codes
        preds.append(m.Predict(codes).mean)
    assert np.array_equal(preds[0], preds[1])


# histogram gradient boosting without subsampling draws nothing at random: its seed changes nothing; nor does a
# Gaussian process's above 100 points (one start of its optimiser), which is what auto chooses on this function
@pytest.mark.parametrize("plugin", [p for p in PLUGINS if p not in ("sklearn_gbm", "sklearn_gp", "auto")])
def test_another_seed_another_model(tmp_path, plugin):
    fw, m1, _ = trained(tmp_path / "a", plugin, model={"seed": 1})
    _, m2, _ = trained(tmp_path / "b", plugin, model={"seed": 2})
    codes = synthetic(fw, 40, seed=3).codes
    assert not np.array_equal(m1.Predict(codes).mean, m2.Predict(codes).mean)


def test_refuses_wrong_columns_and_values(tmp_path, plugin):
    fw, m, _ = trained(tmp_path, plugin, n=60)
    codes = synthetic(fw, 5, seed=4).codes
    with pytest.raises(DeffeError, match="expected rows of 3 codes"):
        m.Predict(np.hstack([codes, codes[:, :1]]))
    bad = codes.copy()
    bad[3, 1] = 7                                     # b has 3 values
    with pytest.raises(DeffeError, match=r"row 3: 7 is not a code of knob 'b'"):
        m.Predict(bad)
    bad = codes.copy()
    bad[2, 2] = 9.0                                   # c is 0.5 to 4
    with pytest.raises(DeffeError, match="knob 'c'"):
        m.Predict(bad)
    data = synthetic(fw, 10)
    data.codes = np.hstack([data.codes, data.codes[:, :1]])
    with pytest.raises(DeffeError, match="expected rows of 3 codes"):
        m.Run(data)
    if plugin != "torch_cnn":                         # the CNN reads the knobs, not the features
        data = synthetic(fw, 10)
        data.features = data.features[:, :-1]
        with pytest.raises(DeffeError, match="the training features have"):
            m.Run(data)


def test_not_trained_is_an_error(tmp_path, plugin):
    fw = framework(tmp_path)
    m = model(fw, plugin)
    with pytest.raises(DeffeError, match="not trained yet"):
        m.Predict(synthetic(fw, 3).codes)


def test_failed_samples_feed_only_the_feasibility_classifier(tmp_path, plugin):
    fw = framework(tmp_path)
    m = model(fw, plugin)
    data = synthetic(fw, 240, fail_when=lambda a, b, c: a >= 7)   # a in 7, 8 fails
    report = m.Run(data)
    assert report["feasibility_classifier"] is True
    test = synthetic(fw, 200, seed=9)
    p = m.Predict(test.codes)
    a = test.codes[:, 0] + 1
    assert p.feasible[a >= 7].max() < 0.5 < p.feasible[a <= 5].min()
    assert np.all(np.isfinite(p.mean))                # NaN costs of failures never reach the regressors


def test_a_missing_cost_is_masked_not_dropped(tmp_path, plugin):
    fw = framework(tmp_path)
    m = model(fw, plugin)
    data = synthetic(fw, 200)
    data.costs[::2, 1] = np.nan                       # g measured on half the points only
    m.Run(data)
    test = synthetic(fw, 100, seed=6)
    p = m.Predict(test.codes)
    assert mape(test.costs[:, 0], p.mean[:, 0]) < 0.25 and mape(test.costs[:, 1], p.mean[:, 1]) < 0.25


@pytest.mark.parametrize("seed", [3, -1])
def test_model_seed_written_out_as_framework_seed_is_leaving_it_out(tmp_path, seed):
    """model.seed defaults to framework.seed: writing that default out drew another model than leaving it
    unset (the option was taken as the library's seed itself, the default derived from framework.seed), as
    sampling.seed once did. Another model.seed still draws another model."""
    unset = model(framework(tmp_path / "unset", seed=seed), "torch_mlp")
    written = model(framework(tmp_path / "written", seed=seed, model={"seed": seed}), "torch_mlp")
    other = model(framework(tmp_path / "other", seed=seed, model={"seed": seed + 1}), "torch_mlp")
    assert written.seed == unset.seed and other.seed != unset.seed
    assert 0 <= other.seed < 2 ** 31
