"""Whether a checkpoint fits a config (checkpoint/fit.py): a numeric knob of the same name and other values fits as
a renamed one does, with one warning; features of another kind at the same position are named in that warning;
a checkpoint that fits but for its model plugin says to name that plugin."""
import json
import logging

import pytest

from framework.checkpoint import CheckpointMeta, check_compatible, match
from framework.config import load_config
from framework.encoding import Encoding
from framework.errors import DeffeError

CACHE = [{"name": "l1d_ways", "values": [1, 2, 4, 8]}, {"name": "l1d_size", "values": [1, 2, 4, 8, 16, 32, 64]}]


def signature(tmp_path, knobs, name="config.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"knobs": knobs, "costs": ["cycles"],
                                "evaluate": {"plugin": "python", "function": "unused:unused"}}))
    return Encoding(load_config(path).explores[0].space).signature()


def meta(tmp_path, knobs, plugin="torch_mlp"):
    return CheckpointMeta(plugin=plugin, signature=signature(tmp_path, knobs, "trained.json"), costs=["cycles"])


def warned(caplog, ckpt, sig, plugin="torch_mlp"):
    caplog.clear()
    check_compatible(ckpt, sig, ["cycles"], "model.ckpt", plugin=plugin, log=logging.getLogger("test.fit"))
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# ----------------------------------------------------------------------------- fault 2: same name, other values
def test_a_numeric_knob_of_the_same_name_and_other_values_fits_with_a_warning(tmp_path, caplog):
    ckpt = meta(tmp_path, CACHE)
    fewer = [CACHE[0], dict(CACHE[1], values=[1, 2, 4, 8, 16])]
    assert warned(caplog, ckpt, signature(tmp_path, fewer)) == [
        "warning: model.ckpt: numeric knobs of other values (each read as one scaled number): "
        "l1d_size: 7 values (1 to 64) -> 5 values (1 to 16)"]
    # as a renamed one does (the rule it now follows), both in one line
    renamed = [CACHE[0], dict(CACHE[1], name="l1d_kb", values=[1, 2, 4, 8, 16])]
    assert warned(caplog, ckpt, signature(tmp_path, renamed)) == [
        "warning: model.ckpt: knobs matched by position (inputs of the same shape, other names): l1d_size -> l1d_kb"]


def test_a_same_named_knob_beside_a_renamed_one_may_have_other_values(tmp_path, caplog):
    ckpt = meta(tmp_path, CACHE + [{"name": "kmeans_objects", "values": [100, 500, 1000]}])
    sig = signature(tmp_path, [dict(CACHE[0], values=[1, 2]), CACHE[1], {"name": "matmul_size", "values": [16, 32]}])
    (line,) = warned(caplog, ckpt, sig)
    assert "kmeans_objects -> matmul_size" in line and "l1d_ways: 4 values (1 to 8) -> 2 values (1 to 2)" in line


def test_a_one_hot_knob_of_the_same_name_still_needs_its_values(tmp_path):
    onehot = [dict(CACHE[0], encoding="onehot"), CACHE[1]]
    ckpt = meta(tmp_path, onehot)
    fit = match(ckpt, signature(tmp_path, [dict(onehot[0], values=[1, 2, 4]), CACHE[1]]), ["cycles"])
    assert fit.why == "knob 'l1d_ways' differs: trained with 4 values (1 to 8), the config has 3 values (1 to 4): " \
                      "the config lacks 8"
    # a numeric knob made one-hot (or an ordinal one given other values) is refused as before
    assert match(meta(tmp_path, CACHE), signature(tmp_path, onehot), ["cycles"]).why.startswith(
        "knob 'l1d_ways' differs: trained as ordinal (numeric)")
    ordinal = [dict(CACHE[0], encoding="ordinal"), CACHE[1]]
    assert "knob 'l1d_ways' differs" in match(meta(tmp_path, ordinal), signature(
        tmp_path, [dict(ordinal[0], values=[1, 2]), CACHE[1]]), ["cycles"]).why


# ----------------------------------------------------------------------------- fault 3: features of another kind
def test_inputs_of_another_kind_at_the_same_position_are_named_in_the_warning(tmp_path, caplog):
    # Deffe's kmeans sizes "100-100100-100" are evenly spaced: their second feature is the log-scaled value; the
    # matmul sizes, powers of two, give their place in the list
    ckpt = meta(tmp_path, CACHE + [{"name": "kmeans_objects", "values": "100-2000-100"}])
    assert ckpt.features[-1] == "kmeans_objects:log"
    sig = signature(tmp_path, CACHE + [{"name": "matmul_size", "values": [16, 32, 64, 128, 256, 512]}])
    assert sig["features"][-1] == "matmul_size:rank"
    assert warned(caplog, ckpt, sig) == [
        "warning: model.ckpt: knobs matched by position (inputs of the same shape, other names): kmeans_objects -> "
        "matmul_size; inputs of another kind at the same position: kmeans_objects:log (log-scaled value) -> "
        "matmul_size:rank (place in the list)"]
    # the same knob whose new values change its second feature: named too
    same = CACHE + [{"name": "kmeans_objects", "values": [100, 1000, 10000]}]
    (line,) = warned(caplog, ckpt, signature(tmp_path, same))
    assert line.endswith("inputs of another kind at the same position: kmeans_objects:log (log-scaled value) -> "
                         "kmeans_objects:rank (place in the list)"), line


# ----------------------------------------------------------------------------- fault 4: the plugin differs
@pytest.mark.parametrize("plugin", ["torch_mlp", "sklearn_rf"])
def test_a_checkpoint_of_another_plugin_that_fits_says_to_name_its_plugin(tmp_path, plugin):
    ckpt = meta(tmp_path, CACHE, plugin="auto")
    with pytest.raises(DeffeError) as e:
        check_compatible(ckpt, signature(tmp_path, CACHE), ["cycles"], "model.ckpt", plugin=plugin)
    assert str(e.value) == (f"model.ckpt: checkpoint does not fit this config: it holds a 'auto' model, the config's "
                            f"model plugin is '{plugin}'; set \"plugin\": \"auto\" in the config's model section (the "
                            f"checkpoint's model), or train a '{plugin}' checkpoint on these knobs and costs")


def test_a_checkpoint_of_another_plugin_and_other_knobs_keeps_the_general_hint(tmp_path):
    ckpt = meta(tmp_path, CACHE, plugin="auto")
    with pytest.raises(DeffeError, match="it holds a 'auto' model.*; use a checkpoint trained on the same knobs"):
        check_compatible(ckpt, signature(tmp_path, CACHE[:1]), ["cycles"], "model.ckpt", plugin="torch_mlp")
