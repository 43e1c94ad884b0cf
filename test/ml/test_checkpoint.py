"""Checkpoints: what they record, and a clear error when they do not fit the config."""
import logging

import numpy as np
import pytest

from framework.checkpoint import read_meta
from framework.errors import DeffeError
from ml_helpers import KNOBS, framework, model, synthetic


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt")
    fw = framework(d / "train")
    m = model(fw, "torch_mlp")
    data = synthetic(fw, 80)
    data.step = 3
    m.Run(data)
    return m.Save(d / "model.ckpt"), fw


def test_metadata(saved):
    path, fw = saved
    meta = read_meta(path)
    assert meta.plugin == "torch_mlp" and meta.costs == ["f", "g"] and meta.step == 3 and meta.samples == 80
    assert meta.signature == fw.encoding.signature() and len(meta.config_digest) == 16
    assert meta.info["network"]["hidden"] == [16, 16] and meta.history[-1]["epoch"] >= 1


def load_into(tmp_path, path, plugin="torch_mlp", **kw):
    m = model(framework(tmp_path, **kw), plugin)
    return m.Load(path)


# knob 'a' read as its place in the list, not as its scaled value: its values must be the checkpoint's (a numeric
# knob's may differ: test_checkpoint_fit_values.py)
ORDINAL = [dict(KNOBS[0], encoding="ordinal"), *KNOBS[1:]]


@pytest.fixture(scope="module")
def ordinal(tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt_ordinal")
    fw = framework(d / "train", knobs=ORDINAL)
    m = model(fw, "sklearn_rf")
    m.Run(synthetic(fw, 40))
    return m.Save(d / "model.ckpt")


def load_ordinal(tmp_path, path, values):
    return load_into(tmp_path, path, "sklearn_rf", knobs=[dict(ORDINAL[0], values=values), *ORDINAL[1:]])


def test_other_knob_values_are_refused(tmp_path, ordinal):
    with pytest.raises(DeffeError) as e:
        load_ordinal(tmp_path, ordinal, [1, 2, 3])
    assert "checkpoint does not fit this config: knob 'a' differs" in str(e.value)
    assert "\n" not in str(e.value) and str(ordinal) in str(e.value)



def test_a_numeric_knob_of_other_values_loads_with_a_warning(tmp_path, saved, caplog):
    # refused ("the config lacks 8") while the same knob renamed loaded: a numeric knob is one scaled number
    load_into(tmp_path, saved[0], knobs=[dict(KNOBS[0], values=list(range(1, 17))), *KNOBS[1:]])
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"warning: {saved[0]}: numeric knobs of other values (each read as one scaled number): "
        "a: 8 values (1 to 8) -> 16 values (1 to 16)"]


def test_a_knob_that_differs_past_its_first_values_says_what_differs(tmp_path, ordinal):
    # a knob widened from 1..8 to 1..16 showed "trained with ordinal [1, 2, 3, 4, 5, 6, ...], the config has
    # ordinal [1, 2, 3, 4, 5, 6, ...]": the same text on both sides
    with pytest.raises(DeffeError, match=r"knob 'a' differs: trained with 8 values \(1 to 8\), the config has 16 "
                                         r"values \(1 to 16\): the config adds 9, 10, 11, 12, \.\.\."):
        load_ordinal(tmp_path / "wider", ordinal, list(range(1, 17)))
    with pytest.raises(DeffeError, match=r"trained with 8 values \(1 to 8\), the config has 7 values \(1 to 7\): "
                                         r"the config lacks 8"):
        load_ordinal(tmp_path / "narrower", ordinal, list(range(1, 8)))
    with pytest.raises(DeffeError, match="knob 'a' differs: the 8th value is 8 in the checkpoint and 9 in the "
                                         "config"):
        load_ordinal(tmp_path / "moved", ordinal, [1, 2, 3, 4, 5, 6, 7, 9])


def test_knob_values_are_compared_as_values_and_the_first_true_difference_named(tmp_path, ordinal):
    # [1.0, ..., 8.0] was refused for a model trained on [1, ..., 8] ("value 1 is 1 in the checkpoint and 1.0 in
    # the config") though a run reads 1 as 1.0; with a true difference at the end the message named the 1 vs 1.0
    floats = [float(v) for v in KNOBS[0]["values"]]
    load_ordinal(tmp_path / "floats", ordinal, floats)
    with pytest.raises(DeffeError, match=r"knob 'a' differs: the 8th value is 8 in the checkpoint and 8\.5 in the "
                                         "config"):
        load_ordinal(tmp_path / "end", ordinal, floats[:7] + [8.5])
    # a reversed list: "value 1 is 1 in the checkpoint and 8 in the config" mixed a position with a value
    with pytest.raises(DeffeError, match="knob 'a' differs: the 1st value is 1 in the checkpoint and 8\\.0 in the config"):
        load_ordinal(tmp_path / "reversed", ordinal, floats[::-1])

def test_other_knobs_costs_or_plugin_are_refused(tmp_path, saved):
    with pytest.raises(DeffeError, match="the config has a knob 'd'"):
        load_into(tmp_path / "1", saved[0], knobs=KNOBS + [{"name": "d", "values": [1, 2]}])
    with pytest.raises(DeffeError, match="it predicts the costs f, g, the config has f"):
        load_into(tmp_path / "2", saved[0], costs=["f"])
    with pytest.raises(DeffeError, match="it holds a 'torch_mlp' model, the config's model plugin is 'sklearn_rf'"):
        load_into(tmp_path / "3", saved[0], plugin="sklearn_rf")


def test_exchangeable_or_not_is_part_of_the_fit(tmp_path):
    dev = {"name": "dev", "type": "categorical", "values": [0, 1, 2], "count": 4}
    fw = framework(tmp_path / "a", knobs=[dev], costs=["t"])
    m = model(fw, "sklearn_rf")
    codes = fw.space.random(np.random.default_rng(0), 40)
    from framework.protocols import TrainingData
    m.Run(TrainingData(codes, fw.encoding.transform(codes), codes.sum(axis=1, keepdims=True) + 1, ["ok"] * 40, 0))
    path = m.Save(tmp_path / "m.ckpt")
    with pytest.raises(DeffeError, match="repeated knobs"):
        load_into(tmp_path / "b", path, plugin="sklearn_rf", knobs=[dict(dev, exchangeable=True)], costs=["t"])


def test_not_a_checkpoint_or_damaged(tmp_path, saved):
    (tmp_path / "x.ckpt").write_text("hello")
    with pytest.raises(DeffeError, match="not a model checkpoint of this framework"):
        load_into(tmp_path / "a", tmp_path / "x.ckpt")
    with pytest.raises(DeffeError, match="checkpoint file not found"):
        load_into(tmp_path / "b", tmp_path / "missing.ckpt")
    data = saved[0].read_bytes()
    (tmp_path / "cut.ckpt").write_bytes(data[:-200])
    with pytest.raises(DeffeError, match="cannot read the model's weights"):
        load_into(tmp_path / "c", tmp_path / "cut.ckpt")
