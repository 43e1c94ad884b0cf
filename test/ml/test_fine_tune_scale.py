"""Fine-tuning an -icp checkpoint starts from the checkpoint's function: its targets' scale and range are kept
(Targets.carried), and the config's architecture settings it does not follow are named."""
import logging
from argparse import Namespace

import numpy as np
import pytest

from framework.protocols import TrainingData
from ml_helpers import framework, model, synthetic


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    d = tmp_path_factory.mktemp("source")
    fw = framework(d, model={"activation": "relu"})
    m = model(fw, "torch_mlp")
    m.Run(synthetic(fw, 150))
    return m.Save(d / "source.ckpt")


def narrow(fw, n=12):
    """A few points whose costs lie in the middle of the source's range (none near its ends)."""
    d = synthetic(fw, 400, seed=3)
    f = d.costs[:, 0]
    rows = np.flatnonzero((f > np.quantile(f, 0.45)) & (f < np.quantile(f, 0.55)))[:n]
    return TrainingData(d.codes[rows], d.features[rows], d.costs[rows], [d.status[i] for i in rows], 0)


def tuned(tmp_path, source, **settings):
    fw = framework(tmp_path, model={"activation": "relu", "epochs": 1, "learning_rate": 1e-12, **settings},
                   args=Namespace(icp=str(source)))
    return fw, model(fw, "torch_mlp")


def test_a_fine_tune_that_learns_nothing_predicts_as_the_checkpoint(tmp_path, source):
    fw, m = tuned(tmp_path, source)
    test = synthetic(fw, 300, seed=9)
    before = m.Predict(test.codes).mean
    few = narrow(fw)
    assert m.Run(few)["start"] == "checkpoint"
    after = m.Predict(test.codes).mean
    # the points checked reach beyond the new samples' range (where a narrowed bound clamped them)
    outside = (before[:, 0] < few.costs[:, 0].min()) | (before[:, 0] > few.costs[:, 0].max())
    assert outside.sum() > 100
    np.testing.assert_allclose(after, before, rtol=1e-6)


def test_the_bound_is_the_union_of_the_checkpoints_range_and_the_new_costs(tmp_path, source):
    fw, m = tuned(tmp_path, source)
    src = m.targets
    few = narrow(fw)
    few.costs[0, 0] = 50 * np.exp(src.high[0])     # beyond what the checkpoint saw
    m.Run(few)
    assert np.array_equal(m.targets.mean, src.mean) and np.array_equal(m.targets.std, src.std)
    assert m.targets.low[0] == src.low[0] and m.targets.high[0] == pytest.approx(np.log(few.costs[0, 0]))
    assert m.targets.low[1] == src.low[1] and m.targets.high[1] == src.high[1]
    # a later step going on from the fine-tuned model (continued) keeps that range too
    more = narrow(fw, 13)
    assert m.Run(more)["start"] == "continued"
    assert m.targets.low[0] == src.low[0] and m.targets.high[0] == pytest.approx(np.log(few.costs[0, 0]))


def test_a_log_scale_the_new_costs_cannot_take_is_fitted_afresh(tmp_path, source):
    fw, m = tuned(tmp_path, source)
    src = m.targets
    few = narrow(fw)
    few.costs[0, 1] = 0.0     # no log: cost g is learned on a fresh scale, f keeps the checkpoint's
    m.Run(few)
    assert list(m.targets.log) == [True, False]
    assert m.targets.mean[0] == src.mean[0] and m.targets.mean[1] != src.mean[1]
    assert (m.targets.low[1], m.targets.high[1]) == (0.0, few.costs[:, 1].max())


def test_architecture_settings_the_checkpoint_overrides_are_named(tmp_path, source, caplog):
    with caplog.at_level(logging.WARNING):
        _, m = tuned(tmp_path / "a", source, ensemble=2, hidden=[8])
    said = [r.getMessage() for r in caplog.records if "fine-tuned as it is" in r.getMessage()]
    assert said == [f"warning: {source}: the checkpoint's network is fine-tuned as it is: its ensemble 3, "
                    "hidden [16, 16], not the config's ensemble 2, hidden [8]"]
    assert m.net.members == 3 and m.net.config["hidden"] == [16, 16]
    caplog.clear()
    # the config's own architecture, or one it leaves to the defaults (activation silu here), is no request
    with caplog.at_level(logging.WARNING):
        fw = framework(tmp_path / "b", args=Namespace(icp=str(source)))
        model(fw, "torch_mlp")
    assert not [r for r in caplog.records if "fine-tuned as it is" in r.getMessage()]
    caplog.clear()
    with caplog.at_level(logging.WARNING):   # auto, the default, loads it as its choice: the same word
        fw = framework(tmp_path / "c", model={"ensemble": 2, "hidden": [8]}, args=Namespace(icp=str(source)))
        model(fw, "auto")
    assert [r.getMessage() for r in caplog.records if "fine-tuned as it is" in r.getMessage()] == [
        f"warning: {source}: the checkpoint's network is fine-tuned as it is: its ensemble 3, hidden [16, 16], "
        "not the config's ensemble 2, hidden [8]"]


def test_each_tl_samples_step_keeps_the_scale_of_the_weights_it_starts_from(tmp_path):
    fw = framework(tmp_path, model={"transfer_learning": True})
    m = model(fw, "torch_mlp")
    m.Run(synthetic(fw, 40))
    first = m.targets
    assert m.Run(synthetic(fw, 60, seed=1))["start"] == "previous step"
    # the scale kept (its mean shifted only by a bias the new samples show beyond their scatter: Targets.carried)
    assert np.array_equal(m.targets.std, first.std) and np.all(np.abs(m.targets.mean - first.mean) < 0.2)


def test_torch_cnn_names_its_convolutions_too(tmp_path, caplog):
    fw = framework(tmp_path / "src", model={"convs": 1, "epochs": 5})
    src = model(fw, "torch_cnn")
    src.Run(synthetic(fw, 30))
    ckpt = src.Save(tmp_path / "src.ckpt")
    with caplog.at_level(logging.WARNING):
        m = model(framework(tmp_path / "b", model={"convs": 2}, args=Namespace(icp=str(ckpt))), "torch_cnn")
    assert [r.getMessage() for r in caplog.records if "fine-tuned as it is" in r.getMessage()] == [
        f"warning: {ckpt}: the checkpoint's network is fine-tuned as it is: its convs 1, not the config's convs 2"]
    assert m.net.config["convs"] == 1


def test_auto_the_default_fine_tunes_from_the_checkpoints_scale_too(tmp_path, source):
    # auto loads a torch_mlp checkpoint given with -icp as its choice: the deep ensemble inside it re-fitted
    # the scale on the few new points, as torch_mlp itself did before
    fw = framework(tmp_path, model={"activation": "relu", "epochs": 1, "learning_rate": 1e-12},
                   args=Namespace(icp=str(source)))
    m = model(fw, "auto")
    test = synthetic(fw, 300, seed=9)
    before = m.Predict(test.codes).mean
    m.Run(narrow(fw))
    np.testing.assert_allclose(m.Predict(test.codes).mean, before, rtol=1e-6)


def test_costs_of_another_size_shift_the_checkpoints_scale(tmp_path, source):
    # a transfer to a problem of the same shape and costs ten times larger (another network, another kernel):
    # read on its own scale, the checkpoint predicted a tenth of every cost; shifted by the samples' bias
    # (in log units, log 10), it predicts their size from the first step
    fw, m = tuned(tmp_path, source)
    test = synthetic(fw, 300, seed=9)
    before = m.Predict(test.codes).mean
    d = synthetic(fw, 20, seed=4)
    m.Run(TrainingData(d.codes, d.features, 10 * d.costs, d.status, 0))
    ratio = m.Predict(test.codes).mean / before
    assert np.median(ratio) == pytest.approx(10, rel=0.05)
