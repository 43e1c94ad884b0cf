"""The original Deffe's transfer-learning workflows (its README and example/experiments/).

Its ``transfer_learning_samples_across_kernels`` experiment trains on one
kernel (scenario ``kmeans_objects``), then starts from that model on another
(``matmul_size``): the knobs are the same, the scenario has another name and
other values, and the model's inputs have the same shape.
"""
import json
import logging
from argparse import Namespace

import numpy as np
import pytest

from framework.checkpoint import one_checkpoint, read_meta
from framework.config import load_config
from framework.context import Budget, Framework
from framework.errors import DeffeError
from framework.inference import EVALUATE_COLUMNS, evaluate_checkpoints, pick_explore, run_inference
from framework.protocols import TrainingData
from cli_helpers import read_csv
from ml_helpers import FAST, framework, model, synthetic

CACHE = [{"name": n, "groups": "riscv0", "values": v} for n, v in
         (("l1d_ways", [1, 2, 4, 8]), ("l1d_size", [1, 2, 4, 8, 16, 32, 64]), ("cacheline", [16, 32, 64, 128]))]
SCENARIOS = [
    {"name": "kmeans_objects", "map": "options", "groups": "kmeans", "values": "100-100100-100"},
    {"name": "kmeans_binary", "map": "binary", "groups": "kmeans", "values": "bin/kmeans"},
    {"name": "matmul_size", "map": "options", "groups": "matmul", "values": [16, 32, 64, 128, 256, 512]},
    {"name": "matmul_binary", "map": "binary", "groups": "matmul", "values": "bin/matmul"},
]
HDF5 = b"\x89HDF\r\n\x1a\n" + b"\0" * 64
KERAS = "is a Keras checkpoint of the original Deffe: it cannot be read without TensorFlow"


def kernel_config(directory, kernels=("kmeans",), knobs=None, costs=("cpu_cycles",), model_section=None):
    """A config in Deffe's style: cache knobs of group riscv0, one exploration per kernel."""
    directory.mkdir(parents=True, exist_ok=True)
    cfg = {"knobs": knobs or CACHE, "scenarios": SCENARIOS, "costs": list(costs),
           "evaluate": {"plugin": "python", "function": "unused:unused"},
           "model": {**FAST, **(model_section or {})},
           "exploration": {"explore": [{"name": f"{k}_explore", "groups": f"riscv0, {k}"} for k in kernels]}}
    (directory / "config.json").write_text(json.dumps(cfg))
    return directory / "config.json"


def kernel_framework(directory, args=None, **kw):
    cfg = load_config(kernel_config(directory, **kw))
    fw = Framework(cfg, args or Namespace(), directory / "run", 0, logging.getLogger("test.ml"))
    fw.enter(cfg.explores[0], Budget())
    return fw


def cycles(fw, n, seed=0):
    """Points of the exploration; a made-up cycle count that grows with the problem and shrinks with the cache."""
    codes = fw.space.random(np.random.default_rng(seed), n)
    scale = 1 + codes[:, 3] / max(1, fw.space.knobs[3].size - 1)
    cost = 1e6 * scale * (3 - 0.2 * codes[:, 0] - 0.1 * codes[:, 1] + 0.05 * codes[:, 2])
    return TrainingData(codes, fw.encoding.transform(codes), cost[:, None], ["ok"] * n, 1)


@pytest.fixture(scope="module")
def kmeans(tmp_path_factory):
    """A torch_mlp model trained on the kmeans kernel, and its checkpoint."""
    d = tmp_path_factory.mktemp("kmeans")
    fw = kernel_framework(d)
    m = model(fw, "torch_mlp")
    m.Run(cycles(fw, 120))
    return m.Save(d / "kmeans.ckpt")


def warnings_of(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# ----------------------------------------------------------------------------- 1: -freeze-layers without -icp
@pytest.mark.parametrize("how", ["config", "ml_arguments", "command line"])
def test_freeze_layers_without_a_checkpoint_is_a_warning(tmp_path, caplog, how):
    kw = {"config": {"model": {"freeze_layers": 2}}, "ml_arguments": {"model": {"ml_arguments": "-freeze-layers 2"}},
          "command line": {"args": Namespace(freeze_layers=2)}}[how]
    fw = framework(tmp_path, **kw)
    m = model(fw, "torch_mlp")
    assert warnings_of(caplog) == ["warning: freeze_layers 2 is ignored: there is no checkpoint to start from (-icp)"]
    report = m.Run(synthetic(fw, 30))
    assert report["start"] == "scratch" and report["frozen_layers"] == 0


def test_deffe_freeze_layers_minus_one_means_none(tmp_path, caplog):
    model(framework(tmp_path / "a", args=Namespace(freeze_layers=-1)), "torch_mlp")
    model(framework(tmp_path / "b", model={"ml_arguments": "-freeze-layers -1"}), "sklearn_rf")
    assert warnings_of(caplog) == []


# ----------------------------------------------------------------------------- 2: transfer across kernels
def test_a_checkpoint_of_another_kernel_starts_the_training(tmp_path, kmeans, caplog):
    fw = kernel_framework(tmp_path, args=Namespace(icp=str(kmeans), freeze_layers=1), kernels=("matmul",))
    m = model(fw, "torch_mlp")
    # kmeans' sizes are evenly spaced (their second input the log-scaled value), matmul's powers of two (their
    # place in the list): the model reads one where it learned the other, and the warning says so
    assert warnings_of(caplog) == [f"warning: {kmeans}: knobs matched by position (inputs of the same shape, "
                                   "other names): kmeans_objects -> matmul_size; inputs of another kind at the same "
                                   "position: kmeans_objects:log (log-scaled value) -> matmul_size:rank (place in "
                                   "the list)"]
    data = cycles(fw, 40, seed=2)
    assert np.all(np.isfinite(m.Predict(data.codes).mean))          # the kmeans model predicts matmul points
    report = m.Run(data)
    assert report["start"] == "checkpoint" and report["frozen_layers"] == 1


def test_the_same_kernel_loads_silently(tmp_path, kmeans, caplog):
    model(kernel_framework(tmp_path, args=Namespace(icp=str(kmeans))), "torch_mlp")
    assert warnings_of(caplog) == []


def test_costs_of_other_names_are_matched_by_position(tmp_path, kmeans, caplog):
    model(kernel_framework(tmp_path, args=Namespace(icp=str(kmeans)), kernels=("matmul",), costs=["cycles"]),
          "torch_mlp")
    assert warnings_of(caplog)[0].endswith("(place in the list); costs matched by position: cpu_cycles -> cycles")


def refusal(tmp_path, icp, **kw):
    with pytest.raises(DeffeError) as e:
        model(kernel_framework(tmp_path, args=Namespace(icp=str(icp)), **kw), "torch_mlp")
    text = str(e.value)
    assert "\n" not in text and text.startswith(f"{icp}: checkpoint does not fit this config: ")
    return text


def test_inputs_of_another_shape_are_refused_saying_what_differs(tmp_path, kmeans):
    more = CACHE + [{"name": "l2_ways", "groups": "riscv0", "values": [1, 2]}]
    assert "the config has a knob 'l2_ways' that it was not trained with (its inputs are 4 knobs that vary, " \
           "the config has 5)" in refusal(tmp_path / "a", kmeans, kernels=("matmul",), knobs=more)
    words = [dict(CACHE[0], type="categorical", values=["one", "two", "four", "eight"]), *CACHE[1:]]
    renamed = [dict(k, name=k["name"].upper()) for k in words]
    assert "knob 1 ('l1d_ways' in the checkpoint, 'L1D_WAYS' in the config) is ordinal (numeric) in the " \
           "checkpoint and categorical (onehot) in the config" in refusal(tmp_path / "b", kmeans, knobs=renamed)
    moved = [CACHE[1], CACHE[0], CACHE[2]]
    assert "knob 'l1d_ways' is knob 1 of the checkpoint and knob 2 of the config" in \
        refusal(tmp_path / "c", kmeans, kernels=("matmul",), knobs=moved)
    same_name = [dict(CACHE[0], values=[1, 2], encoding="onehot"), *CACHE[1:]]
    assert "knob 'l1d_ways' differs" in refusal(tmp_path / "d", kmeans, kernels=("matmul",), knobs=same_name)
    assert "it predicts the costs cpu_cycles, the config has cpu_cycles, power" in \
        refusal(tmp_path / "e", kmeans, kernels=("matmul",), costs=["cpu_cycles", "power"])


def test_one_hot_knobs_need_as_many_values(tmp_path):
    cat = {"name": "policy", "groups": "riscv0", "type": "categorical", "values": ["lru", "fifo", "random"]}
    fw = kernel_framework(tmp_path / "src", knobs=CACHE + [cat])
    m = model(fw, "sklearn_rf")
    m.Run(cycles(fw, 40))
    path = m.Save(tmp_path / "rf.ckpt")
    other = dict(cat, name="replacement", values=["lru", "fifo", "plru", "random"])
    with pytest.raises(DeffeError, match=r"knob 4 \('policy' in the checkpoint, 'replacement' in the config\) is "
                                         "one-hot over 3 values in the checkpoint and 4 in the config"):
        model(kernel_framework(tmp_path / "dst", args=Namespace(icp=str(path)), knobs=CACHE + [other]), "sklearn_rf")
    same = dict(cat, name="replacement", values=["lru", "fifo", "plru"])
    model(kernel_framework(tmp_path / "ok", args=Namespace(icp=str(path)), knobs=CACHE + [same]), "sklearn_rf")


def test_inference_only_with_a_checkpoint_of_another_kernel(tmp_path, kmeans, capsys):
    config = kernel_config(tmp_path, kernels=("matmul",))
    (tmp_path / "in.csv").write_text("l1d_ways,l1d_size,cacheline,matmul_size,matmul_binary,cpu_cycles\n"
                                     "2,16,64,128,bin/matmul,2000000\n8,64,32,16,bin/matmul,\n")
    args = Namespace(config=str(config), inference_only=True, icp=[str(kmeans)], input=str(tmp_path / "in.csv"),
                     output=str(tmp_path / "out.csv"), strict=False, seed=None, jobs=None, quiet=False,
                     debug=False, model_stats_output=None)
    assert run_inference(args) == 0
    assert "kmeans_objects -> matmul_size" in capsys.readouterr().err
    out = read_csv(tmp_path / "out.csv")
    assert [r["matmul_size"] for r in out] == ["128", "16"] and float(out[0]["predicted-cpu_cycles"]) > 0


def test_inference_prefers_the_exploration_with_the_checkpoints_names(tmp_path, kmeans):
    config = load_config(kernel_config(tmp_path, kernels=("matmul", "kmeans")))
    meta = read_meta(kmeans)
    meta.explore = "elsewhere"
    assert pick_explore(config, meta, str(kmeans)).name == "kmeans_explore"
    assert pick_explore(load_config(kernel_config(tmp_path / "m", kernels=("matmul",))), meta, "").name == \
        "matmul_explore"


# ----------------------------------------------------------------------------- 3: Keras checkpoints
def test_keras_checkpoints_of_deffe_are_named_with_what_to_do(tmp_path):
    (tmp_path / "kmeans.hdf5").write_bytes(HDF5)
    (tmp_path / "renamed.ckpt").write_bytes(HDF5)
    for icp in (tmp_path / "kmeans.hdf5", tmp_path / "renamed.ckpt"):
        with pytest.raises(DeffeError) as e:
            model(framework(tmp_path / "run", args=Namespace(icp=str(icp))), "torch_mlp")
        text = str(e.value)
        assert text.startswith(f"{icp}: {KERAS}; ") and "\n" not in text
        assert "-only-preloaded-data-exploration -pre-evaluated-data <the csv> -full-exploration" in text
        assert f"then give {tmp_path / 'run' / 'explore' / 'checkpoints'}/<explore>.ckpt" in text   # where they are
    # a .h5 or .hdf5 name that is not there is not found (it was called a Keras checkpoint)
    for icp, missing in ((str(tmp_path / "absent.h5"), "absent.h5"),
                         ([str(tmp_path / "a.hdf5"), str(tmp_path / "kmeans.hdf5")], "a.hdf5")):
        with pytest.raises(DeffeError) as e:
            model(framework(tmp_path / "run", args=Namespace(icp=icp)), "torch_mlp")
        text = str(e.value)
        assert missing in text and e.value.what.endswith("not found"), text
        assert "Keras" not in text and "kmeans.hdf5" not in text, text
        if isinstance(icp, str):   # what to give instead
            assert "<run directory>/checkpoints/<explore>.ckpt" in e.value.hint, text
    with pytest.raises(DeffeError, match=f"kmeans.hdf5: {KERAS}"):   # model.initial_checkpoint, next to the config
        model(framework(tmp_path, model={"initial_checkpoint": "kmeans.hdf5"}), "torch_mlp")
    args = Namespace(config=str(kernel_config(tmp_path / "inf")), icp=[str(tmp_path / "kmeans.hdf5")],
                     input="in.csv", output=None)
    with pytest.raises(DeffeError, match=KERAS) as e:
        run_inference(args)
    assert "then give explore/checkpoints/<explore>.ckpt" in str(e.value)   # the config's run directory


def test_deffe_gave_a_checkpoint_per_cost(tmp_path, kmeans):
    assert one_checkpoint([str(kmeans)]) == str(kmeans) and one_checkpoint([]) is None
    with pytest.raises(DeffeError, match=r"^-icp: 2 checkpoint files given \(a.ckpt, b.ckpt\): a checkpoint of "
                                         "this framework holds every cost in one file; give one .ckpt file$"):
        one_checkpoint(["a.ckpt", "b.ckpt"])
    for name in ("a.hdf5", "b.hdf5"):
        (tmp_path / name).write_bytes(HDF5)
    with pytest.raises(DeffeError, match="a.hdf5, .*b.hdf5: are Keras checkpoints of the original Deffe: they "
                                         "cannot be read without TensorFlow"):
        one_checkpoint([str(tmp_path / "a.hdf5"), str(tmp_path / "b.hdf5")])
    m = model(kernel_framework(tmp_path, args=Namespace(icp=[str(kmeans)])), "torch_mlp")
    assert m.initial is not None


# ----------------------------------------------------------------------------- 4: -model-extract-dir
def write_points(path, fw, data):
    names = fw.space.names
    lines = [",".join(names + ["cpu_cycles"])]
    for code, cost in zip(data.codes, data.costs[:, 0]):
        lines.append(",".join([str(k.value(c)) for k, c in zip(fw.space.knobs, code)] + [repr(float(cost))]))
    path.write_text("\n".join(lines) + "\n")


def test_every_checkpoint_of_a_directory_measured_on_the_data(tmp_path, kmeans, capsys, monkeypatch):
    # Deffe's -validation-split: the net's checkpoint records a validation loss (none without one)
    fw = kernel_framework(tmp_path / "train", model_section={"validation_split": 0.2})
    folder = tmp_path / "checkpoints"
    for step, n in ((2, 80), (1, 30)):
        m = model(fw, "torch_mlp" if step == 2 else "sklearn_rf")
        data = cycles(fw, n, seed=step)
        data.step = step
        m.Run(data)
        m.Save(folder / f"step{step}.ckpt")
    (folder / "step0-cost0-weights-improvement-10-loss0.1-valloss0.2.hdf5").write_bytes(HDF5)
    write_points(tmp_path / "points.csv", fw, cycles(fw, 50, seed=9))
    config = load_config(kernel_config(tmp_path / "cfg"))
    args = Namespace(pre_evaluated_data=str(tmp_path / "points.csv"), quiet=False, seed=None, jobs=None)
    monkeypatch.chdir(tmp_path)
    assert evaluate_checkpoints(config, args, folder) == 0
    err = capsys.readouterr().err
    assert f"warning: {folder}: 1 Keras checkpoint of the original Deffe (.hdf5) skipped: reading it needs " \
           "TensorFlow" in err
    rows = read_csv(tmp_path / "evaluate-model-output.csv")
    assert list(rows[0]) == EVALUATE_COLUMNS
    assert [(r["file"], r["step"], r["samples"], r["cost"], r["CostIndex"], r["rows"]) for r in rows] == [
        (str(folder / "step1.ckpt"), "1", "30", "cpu_cycles", "0", "50"),
        (str(folder / "step2.ckpt"), "2", "80", "cpu_cycles", "0", "50")]
    assert all(0 < float(r["mape_percent"]) < 100 and float(r["r2"]) <= 1 and -1 <= float(r["kendall_tau"]) <= 1
               for r in rows)
    forest, net = rows
    assert forest["Epoch"] == forest["TrainLoss"] == forest["ValLoss"] == ""       # a forest has no epochs
    assert int(net["Epoch"]) >= 1 and float(net["TrainLoss"]) > 0 and float(net["ValLoss"]) > 0
    assert net["TestLoss"] == ""                                                   # not recorded in training


def test_extract_dir_reads_the_explorations_data_and_says_what_is_missing(tmp_path, kmeans):
    fw = kernel_framework(tmp_path / "train")
    path = kernel_config(tmp_path / "cfg")
    write_points(tmp_path / "cfg" / "points.csv", fw, cycles(fw, 20, seed=4))
    cfg = json.loads(path.read_text())
    cfg["exploration"]["explore"][0]["pre_evaluated_data"] = "points.csv"
    path.write_text(json.dumps(cfg))
    folder = tmp_path / "ckpts"
    folder.mkdir()
    (folder / "kmeans.ckpt").write_bytes(kmeans.read_bytes())
    args = Namespace(pre_evaluated_data=None, quiet=True, seed=None, jobs=None)
    evaluate_checkpoints(load_config(path), args, folder, tmp_path / "stats.csv")
    assert [r["rows"] for r in read_csv(tmp_path / "stats.csv")] == ["20"]
    with pytest.raises(DeffeError, match="-model-extract-dir needs data to measure the checkpoints on"):
        evaluate_checkpoints(load_config(kernel_config(tmp_path / "nodata")), args, folder, tmp_path / "x.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DeffeError, match="no checkpoint"):
        evaluate_checkpoints(load_config(path), args, tmp_path / "empty", tmp_path / "x.csv")
