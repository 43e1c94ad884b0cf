"""Checkpoints load without executing anything from the file.

* the format: a JSON header and an .npz of numeric arrays + JSON; a model after a save / load round trip predicts
  the same numbers bit for bit (the scikit-learn estimators and the feasibility classifier are refitted);
* old pickle checkpoints (format 1) are read only with the explicit opt-in (-trust-pickle, model.trust_pickle):
  a crafted one whose unpickling writes a marker file never writes it through any other path;
* damaged or crafted files are one-line errors naming the file and what is wrong, never a traceback.
"""
import copy
import dataclasses
import hashlib
import io
import json
import logging
import os
import pickle
import re
import subprocess
import sys
import zipfile
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

from framework.checkpoint import (FORMAT, MAGIC, PICKLE_FORMAT, CheckpointMeta, PayloadError, pack, read_checkpoint,
                                  read_meta, read_state, unpack)
from framework.config import load_config
from framework.errors import DeffeError
from framework.inference import evaluate_checkpoints, run_inference
from cli_helpers import run_deffe
from ml_helpers import PLUGINS, ROOT, framework, model, synthetic, write_config



def fails(a, b, c):
    """Which synthetic points fail: with failures the feasibility classifier is trained."""
    return (a >= 7) & (b == 1)


REFUSED = "is an old checkpoint (format 1) whose weights are Python pickle data, which can run any code when loaded"


# ----------------------------------------------------------------------------- helpers
class Evil:
    """Unpickling it runs code: it writes `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('ran')",)


def trained(directory, plugin, n=150, **model_kw):
    fw = framework(directory, model=model_kw or None)
    m = model(fw, plugin)
    m.Run(synthetic(fw, n, fail_when=fails))
    assert m.feasibility.trained
    return fw, m


def split(path):
    """(header dict, payload bytes) of a checkpoint file."""
    data = Path(path).read_bytes()
    size = int.from_bytes(data[len(MAGIC):len(MAGIC) + 8], "big")
    start = len(MAGIC) + 8
    return json.loads(data[start:start + size]), data[start + size:]


def write_raw(path, header, payload: bytes):
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    Path(path).write_bytes(MAGIC + len(head).to_bytes(8, "big") + head + payload)
    return Path(path)


def zip_payload(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def entries_of(payload: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def npy(arr, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def evil_checkpoint(good, path, marker, fmt=PICKLE_FORMAT):
    """The header of a real checkpoint (it fits the config), then a pickle whose loading writes `marker`."""
    header, _ = split(good)
    header["format"] = fmt
    return write_raw(path, header, pickle.dumps({"targets": Evil(marker), "feasibility": None, "model": None}))


def one_line(e) -> str:
    text = str(e.value if hasattr(e, "value") else e)
    assert "\n" not in text and "Traceback" not in text, text
    return text


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    d = tmp_path_factory.mktemp("mlp")
    fw, m = trained(d / "train", "torch_mlp")
    return m.Save(d / "mlp.ckpt"), m


@pytest.fixture(scope="module")
def forest(tmp_path_factory):
    d = tmp_path_factory.mktemp("rf")
    fw, m = trained(d / "train", "sklearn_rf")
    return m.Save(d / "rf.ckpt"), m


def load(tmp_path, path, plugin="torch_mlp", args=None, **model_kw):
    m = model(framework(tmp_path, args=args, model=model_kw or None), plugin)
    m.Load(path)
    return m


# ----------------------------------------------------------------------------- the format, bit for bit
@pytest.mark.parametrize("plugin", PLUGINS)
def test_round_trip_is_bit_identical(tmp_path, plugin):
    fw, m = trained(tmp_path / "train", plugin)
    path = m.Save(tmp_path / "model.ckpt")
    header, payload = split(path)
    assert header["format"] == FORMAT == 2 and payload[:4] == b"PK\x03\x04"
    with np.load(io.BytesIO(payload), allow_pickle=False) as z:   # a plain .npz of numbers, read by numpy alone
        assert "targets/mean" in z.files and all(z[f].dtype.kind in "biufSU" for f in z.files if f != "state.json")
        assert json.loads(z["state.json"])["targets"]["mean"] == {"__array__": "targets/mean"}
    codes = synthetic(fw, 300, seed=7).codes
    a = m.Predict(codes)
    for threads in (1, 2):   # refitted on one thread or several: the same estimators
        again = load(tmp_path / f"load{threads}", path, plugin, threads=threads)
        b = again.Predict(codes)
        assert again.feasibility.trained
        for x, y in ((a.mean, b.mean), (a.std, b.std), (a.feasible, b.feasible)):
            assert x.tobytes() == y.tobytes(), plugin
        if a.members is not None:
            assert a.members.tobytes() == b.members.tobytes()
        # saved again, the model is the same bytes (the header's time aside)
        assert split(again.Save(tmp_path / f"again{threads}.ckpt"))[1] == payload


def test_histogram_boosting_does_not_depend_on_the_thread_count():
    """The refit relies on it: the feasibility classifier and sklearn_gbm under 1, 2 and 3 OpenMP threads."""
    code = (
        "import hashlib, numpy as np\n"
        "from sklearn.ensemble import HistGradientBoostingRegressor\n"
        "from sklearn.utils._openmp_helpers import _openmp_effective_n_threads\n"
        "from plugins.ml_model._feasibility import Feasibility\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.random((400, 6)).astype(np.float32)\n"
        "y = X[:, 0] * 3 + np.sin(X[:, 1] * 7) + rng.normal(0, .1, 400)\n"
        "T = rng.random((300, 6)).astype(np.float32)\n"
        "out = [Feasibility(3).fit(X, y > 1.2).predict(T)]\n"
        "for q in (None, .16):\n"
        "    extra = {'loss': 'quantile', 'quantile': q} if q else {}\n"
        "    out.append(HistGradientBoostingRegressor(max_iter=60, min_samples_leaf=20, early_stopping=False,\n"
        "                                             random_state=5, **extra).fit(X, y).predict(T))\n"
        "print(_openmp_effective_n_threads(), hashlib.sha1(b''.join(a.tobytes() for a in out)).hexdigest())\n")
    seen = {}
    for n in (1, 2, 3):
        env = dict(os.environ, OMP_NUM_THREADS=str(n), OMP_WAIT_POLICY="PASSIVE", PYTHONPATH=str(ROOT))
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT,
                           timeout=600)
        assert r.returncode == 0, r.stderr
        threads, digest = r.stdout.split()
        seen[int(threads)] = digest
    assert sorted(seen) == [1, 2, 3] and len(set(seen.values())) == 1, seen


def test_the_gaussian_process_does_not_depend_on_the_blas_thread_count(tmp_path):
    """One seed, one run whatever -jobs (docs/running.md): -jobs sets the BLAS threads, and on 2 threads the
    GP's marginal-likelihood optimiser took another path (deffe_prediction.csv differed in every row). Its fit
    and its predictions, under 1 and 2 BLAS threads, are the same bytes."""
    # the notebook example's smooth, noise-free cost (example/notebook_api.py), where the white noise goes to
    # its bound and the optimiser's path hangs on the last digits of the Cholesky
    code = (
        "import hashlib, sys, threadpoolctl\n"
        "import numpy as np\n"
        "from pathlib import Path\n"
        "from framework.protocols import TrainingData\n"
        "from ml_helpers import framework, model\n"
        "fw = framework(Path(sys.argv[1]), knobs=[{'name': 'tile', 'values': '8-65'},\n"
        "               {'name': 'unroll', 'values': [1, 2, 4, 8, 16]}], costs=['time'])\n"
        "m = model(fw, 'sklearn_gp')\n"
        "codes = fw.space.random(np.random.default_rng(1), 37)\n"
        "tile, unroll = codes[:, 0] + 8, np.array([1, 2, 4, 8, 16])[codes[:, 1].astype(int)]\n"
        "t = 1e-3 * (1 + 0.05 * (tile - 24) ** 2 / 24 + 4 / unroll + 0.1 * unroll)\n"
        "m.Run(TrainingData(codes, fw.encoding.transform(codes), t[:, None], ['ok'] * len(t), 0))\n"
        "p = m.Predict(fw.space.random(np.random.default_rng(9), 285))\n"
        "blas = [i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']\n"
        "print(max(blas), hashlib.sha1(p.mean.tobytes() + p.std.tobytes()).hexdigest())\n")
    seen = {}
    for n in (1, 2):
        env = dict(os.environ, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n), MKL_NUM_THREADS=str(n),
                   OMP_WAIT_POLICY="PASSIVE", PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "test" / "ml")]))
        r = subprocess.run([sys.executable, "-c", code, str(tmp_path / str(n))], env=env, capture_output=True,
                           text=True, cwd=ROOT, timeout=600)
        assert r.returncode == 0, r.stderr
        threads, digest = r.stdout.split()[-2:]
        seen[int(threads)] = digest
    assert sorted(seen) == [1, 2] and len(set(seen.values())) == 1, seen


def test_a_forest_of_1000_points_loads_in_a_training_time(tmp_path):
    """Not a timing assertion: the refit is what a load costs, and the figure is printed for people."""
    import time
    fw = framework(tmp_path / "train", model={"estimators": 200})
    m = model(fw, "sklearn_rf")
    m.Run(synthetic(fw, 1000, fail_when=fails))
    path = m.Save(tmp_path / "rf.ckpt")
    t0 = time.perf_counter()
    again = load(tmp_path / "load", path, "sklearn_rf", estimators=25)   # the checkpoint's settings win
    print(f"sklearn_rf, 1000 points, 2 x 200 trees: loaded in {time.perf_counter() - t0:.2f} s, "
          f"{path.stat().st_size / 1e3:.0f} kB")
    assert len(again.models[0][0].estimators_) == 200
    codes = synthetic(fw, 50, seed=3).codes
    assert m.Predict(codes).mean.tobytes() == again.Predict(codes).mean.tobytes()


# ----------------------------------------------------------------------------- old pickle checkpoints
def old_checkpoint(m, path):
    """What the previous version wrote: header of format 1, then pickle of the targets, the Feasibility object
    and the plugin's objects (torch: config and weights; scikit-learn: the fitted estimators)."""
    fresh = m.Save(Path(str(path) + ".new"))
    header, _ = split(fresh)
    header["format"] = PICKLE_FORMAT
    feas = copy.copy(m.feasibility)
    del feas.fitted_on                    # the old class had seed, rate and clf only
    if m.plugin.startswith("torch"):
        state = {"config": dict(m.net.config), "weights": m._weights()}
    elif m.plugin == "sklearn_rf":
        state = {"models": [ests[0] for ests in m.models]}
    else:
        state = {"models": [list(ests) for ests in m.models]}
    t = m.targets
    payload = pickle.dumps({"targets": {"log": t.log.tolist(), "mean": t.mean.tolist(), "std": t.std.tolist()},
                            "feasibility": feas, "model": state})
    return write_raw(path, header, payload)


@pytest.mark.parametrize("plugin", ["torch_mlp", "sklearn_gbm"])
def test_an_old_checkpoint_is_refused_unless_trusted(tmp_path, plugin, caplog):
    fw, m = trained(tmp_path / "train", plugin, estimators=10)
    path = old_checkpoint(m, tmp_path / "old.ckpt")
    assert read_meta(path).format == PICKLE_FORMAT      # the header is JSON: read without trust
    with pytest.raises(DeffeError) as e:
        load(tmp_path / "a", path, plugin)
    assert one_line(e) == (f"{path}: {REFUSED}; train the model again (checkpoints written now hold only "
                           "numbers), or, if you trust where the file came from, allow it with -trust-pickle "
                           "(model.trust_pickle: true)")
    for no in ("yes", 1, "true", None):                  # only True opts in
        with pytest.raises(DeffeError, match="old checkpoint"):
            load(tmp_path / "b", path, plugin, args=Namespace(trust_pickle=no))
    caplog.set_level(logging.WARNING)
    again = load(tmp_path / "c", path, plugin, args=Namespace(trust_pickle=True))
    assert f"warning: {path}: old checkpoint (format 1) unpickled" in caplog.text
    codes = synthetic(fw, 60, seed=3).codes
    m.targets = dataclasses.replace(m.targets, low=None, high=None)   # format 1 held no range: unbounded
    a, b = m.Predict(codes), again.Predict(codes)
    assert a.mean.tobytes() == b.mean.tobytes() and a.feasible.tobytes() == b.feasible.tobytes()
    with pytest.raises(DeffeError, match="loaded from an old \\(pickle\\) checkpoint and has not been trained"):
        again.Save(tmp_path / "resaved.ckpt")
    again.Run(synthetic(fw, 80, seed=5, fail_when=fails))
    assert read_meta(again.Save(tmp_path / "resaved.ckpt")).format == FORMAT


def test_trust_pickle_in_the_config(tmp_path, mlp):
    marker = tmp_path / "ran"
    path = evil_checkpoint(mlp[0], tmp_path / "evil.ckpt", marker)
    with pytest.raises(DeffeError, match=re.escape(REFUSED)):
        load(tmp_path / "a", path, trust_pickle=False)
    assert not marker.exists()
    with pytest.raises(DeffeError) as e:   # opted in: the pickle runs (this is what the opt-in means)
        load(tmp_path / "b", path, trust_pickle=True)
    assert marker.exists() and "cannot read the model's weights" in one_line(e)


# ----------------------------------------------------------------------------- a malicious pickle, every path
def test_a_malicious_pickle_runs_through_no_path_but_the_opt_in(tmp_path, mlp):
    marker = tmp_path / "ran"
    evil = evil_checkpoint(mlp[0], tmp_path / "evil.ckpt", marker)
    refused = f"{evil}: {REFUSED}"
    attempts = {
        "Load": lambda: load(tmp_path / "1", evil),
        "Load sklearn": lambda: load(tmp_path / "2", evil, "sklearn_rf"),
        "-icp": lambda: model(framework(tmp_path / "3", args=Namespace(icp=str(evil))), "torch_mlp"),
        "-icp list": lambda: model(framework(tmp_path / "4", args=Namespace(icp=[str(evil)])), "torch_mlp"),
        "initial_checkpoint": lambda: model(framework(tmp_path / "5", model={"initial_checkpoint": str(evil)}),
                                            "torch_mlp"),
        "read_checkpoint": lambda: read_checkpoint(evil),
        "read_state": lambda: read_state(read_meta(evil), split(evil)[1], str(evil)),
        "read_state trust=1": lambda: read_state(read_meta(evil), split(evil)[1], str(evil), trust_pickle=1),
    }
    for name, attempt in attempts.items():
        with pytest.raises(DeffeError) as e:
            attempt()
        assert one_line(e).startswith(refused) or REFUSED in one_line(e), name
        assert not marker.exists(), name
    # the bytes as another format: a pickle is never a payload
    for fmt in (FORMAT,):
        other = evil_checkpoint(mlp[0], tmp_path / f"evil{fmt}.ckpt", marker, fmt=fmt)
        with pytest.raises(DeffeError, match="cannot read the model's weights: the weights are not a readable "
                                             ".npz archive"):
            load(tmp_path / "6", other)
    with pytest.raises(PayloadError, match="not a readable .npz archive"):
        unpack(split(evil)[1])
    raw = tmp_path / "raw.ckpt"                  # a bare pickle named .ckpt
    raw.write_bytes(pickle.dumps(Evil(marker)))
    with pytest.raises(DeffeError, match="not a model checkpoint of this framework"):
        load(tmp_path / "7", raw)
    # an .npz whose array is a pickled object
    header, payload = split(mlp[0])
    entries = entries_of(payload)
    entries["targets/mean.npy"] = npy(np.array([Evil(marker), 1], dtype=object), allow_pickle=True)
    obj = write_raw(tmp_path / "object.ckpt", header, zip_payload(entries))
    with pytest.raises(DeffeError, match="array 'targets/mean' holds object values"):
        load(tmp_path / "8", obj)
    assert not marker.exists()

    # inference and -model-extract-dir, in process
    config = write_config(tmp_path / "cfg")
    (tmp_path / "in.csv").write_text("a,b,c,f,g\n1,x,1.0,2.0,11.0\n2,y,2.0,8.0,22.0\n")
    args = Namespace(config=str(config), inference_only=True, icp=[str(evil)], input=str(tmp_path / "in.csv"),
                     output=str(tmp_path / "out.csv"), strict=False, seed=None, jobs=None, quiet=True,
                     debug=False, model_stats_output=None)
    with pytest.raises(DeffeError, match=re.escape(REFUSED)):
        run_inference(args)
    folder = tmp_path / "extract"
    folder.mkdir()
    (folder / "evil.ckpt").write_bytes(evil.read_bytes())
    with pytest.raises(DeffeError, match=re.escape(REFUSED)):
        evaluate_checkpoints(load_config(config), Namespace(pre_evaluated_data=str(tmp_path / "in.csv"),
                                                            quiet=True, seed=None, jobs=None), folder)
    assert not marker.exists() and not (tmp_path / "out.csv").exists()

    # the command line: training from it, inference, -model-extract-dir
    project = tmp_path / "project"
    project.mkdir()
    (project / "funcs.py").write_text("def evaluate(p):\n    return {'f': p['a'] * p['c'], 'g': p['a'] + p['c']}\n")
    cfg = json.loads(Path(config).read_text())
    cfg.update(evaluate={"plugin": "python", "function": "funcs:evaluate"},
               exploration={"plugin": "sampling", "samples_per_step": 10, "max_samples": 20})
    (project / "config.json").write_text(json.dumps(cfg))
    (project / "in.csv").write_text((tmp_path / "in.csv").read_text())
    for argv in (["-icp", evil], ["-inference-only", "-icp", evil, "-input", "in.csv"],
                 ["-model-extract-dir", folder, "-pre-evaluated-data", "in.csv"]):
        r = run_deffe("-config", "config.json", *argv, cwd=project)
        assert r.rc == 2 and "Traceback" not in r.err, r
        assert r.err.strip().splitlines()[-1].startswith("error: ") and REFUSED in r.err, r
        assert not marker.exists(), argv

    # the opt-in, and only it, unpickles (the test's pickle is live)
    with pytest.raises(DeffeError) as e:
        load(tmp_path / "9", evil, args=Namespace(trust_pickle=True))
    assert marker.exists() and "cannot read the model's weights" in one_line(e)


def test_inference_imports_no_module_a_checkpoint_names(tmp_path, mlp):
    marker = tmp_path / "imported"
    config = write_config(tmp_path / "cfg")
    (tmp_path / "cfg" / "evil_model.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n"
                                                    "def GetObject(fw):\n    return None\n")
    (tmp_path / "in.csv").write_text("a,b,c\n1,x,1.0\n")
    for name in ("evil_model", "evil_model.py"):
        header, payload = split(mlp[0])
        header["plugin"] = name
        path = write_raw(tmp_path / "named.ckpt", header, payload)
        args = Namespace(config=str(config), inference_only=True, icp=[str(path)], input=str(tmp_path / "in.csv"),
                         output=str(tmp_path / "out.csv"), strict=False, seed=None, jobs=None, quiet=True,
                         debug=False, model_stats_output=None)
        with pytest.raises(DeffeError) as e:
            run_inference(args)
        assert f"the checkpoint's model plugin '{name}' is neither a built-in model nor the config's " \
               "model.plugin" in one_line(e)
        assert not marker.exists()


# ----------------------------------------------------------------------------- damaged and crafted files
def header_cases(header):
    def h(**kw):
        return {**header, **kw}
    return {
        "[]": ([], "the checkpoint's header is damaged (it is not a JSON object)"),
        "costs": (h(costs="f,g"), "field 'costs' is not a list of cost names"),
        "step": (h(step="3"), "field 'step' is not an integer or null"),
        "format": (h(format="2"), "field 'format' is '2', expected an integer"),
        "format 3": (h(format=3), "checkpoint format 3 is not a format this framework reads (1 with -trust-pickle, 2)"),
        "signature": (h(signature={"knobs": "a"}), "field 'signature' is not an encoding signature"),
        "knob": (h(signature={**header["signature"], "knobs": [{"name": 3}]}), "field 'signature'"),
        "families": (h(signature={**header["signature"], "families": {"x": {"members": "ab"}}}), "field 'signature'"),
        "no fixed": (h(signature={**header["signature"], "families": {"x": {"members": ["a"], "exchangeable": True}}}),
                     "field 'signature'"),
        "line break": (h(plugin="torch_mlp\nerror: fake"), "field 'plugin' holds a control character"),
        "cost break": (h(costs=["f", "g\r"]), "field 'costs' holds a control character"),
        "history": (h(history=[{"epoch": 1, "val_loss": "low"}]), "field 'history' is not a list of per-epoch"),
        "unknown": (h(evil=1), "unknown field 'evil'"),
        "plugin": (h(plugin=["torch_mlp"]), "field 'plugin' is not a plugin name"),
        "missing": ({k: v for k, v in header.items() if k != "costs"}, "field 'costs' is missing"),
    }


def test_damaged_or_crafted_headers(tmp_path, mlp):
    path = mlp[0]
    header, payload = split(path)
    data = path.read_bytes()
    files = {
        "magic": (b"DEFFE-MODEX\n" + data[len(MAGIC):], "not a model checkpoint of this framework"),
        "not json": (MAGIC + (9).to_bytes(8, "big") + b"{not json" + payload, "the checkpoint's header is damaged"),
        "too long": (MAGIC + (10 ** 12).to_bytes(8, "big") + b"{}", "it announces 1000000000000 bytes"),
        "nested": (MAGIC + (20000).to_bytes(8, "big") + b"[" * 20000, "the checkpoint's header is damaged"),
        "empty": (b"", "not a model checkpoint of this framework"),
    }
    for name, (header_value, expected) in header_cases(header).items():
        files[name] = (MAGIC + len(json.dumps(header_value)).to_bytes(8, "big") + json.dumps(header_value).encode()
                       + payload, expected)
    for name, (content, expected) in files.items():
        bad = tmp_path / f"{name}.ckpt"
        bad.write_bytes(content)
        for attempt in (lambda: read_meta(bad), lambda: load(tmp_path / "m", bad)):
            with pytest.raises(DeffeError) as e:
                attempt()
            assert one_line(e).startswith(f"{bad}: ") and expected in one_line(e), (name, one_line(e))


def tree_of(path):
    header, payload = split(path)
    return header, unpack(payload)


def crafted(tmp_path, path, name, change):
    """The checkpoint with its state tree changed by `change(tree)` (written with the real writer)."""
    header, tree = tree_of(path)
    change(tree)
    return write_raw(tmp_path / f"{name}.ckpt", header, pack(tree))


def test_damaged_or_crafted_payloads_torch(tmp_path, mlp):
    path = mlp[0]
    header, payload = split(path)
    entries = entries_of(payload)
    first = next(k for k in entries if k.startswith("model/weights/"))[:-4]
    shape = np.load(io.BytesIO(entries[first + ".npy"])).shape

    def without(name):
        return {k: v for k, v in entries.items() if k != name}

    def replaced(name, data):
        return {**entries, name: data}

    zips = {
        "no mean": (without("targets/mean.npy"), "array 'targets/mean' is missing"),
        "no state": (without("state.json"), "the archive has no state.json"),
        "state not json": (replaced("state.json", b"{oops"), "state.json is not JSON"),
        "extra entry": (replaced("run.py", b"print(1)"), "the archive holds 'run.py', which is neither"),
        "mean shape": (replaced("targets/mean.npy", npy(np.zeros(3))),
                       "array 'targets/mean' has shape (3,), expected (2,)"),
        "log dtype": (replaced("targets/log.npy", npy(np.zeros(2))),
                      "array 'targets/log' holds float64, expected booleans"),
        "record": (replaced("targets/mean.npy", npy(np.zeros(2, dtype=[("a", "f8")]))), "holds"),
        "weight shape": (replaced(first + ".npy", npy(np.zeros(shape[::-1], dtype=np.float32))),
                         f"array 'model/weights/{first.split('/')[-1]}' has shape"),
        "short npy": (replaced(first + ".npy", npy(np.zeros(shape, dtype=np.float32))[:-8]), "needs"),
    }
    trees = {
        "extra weight": (lambda t: t["model"]["weights"].update(extra=np.zeros(2, dtype=np.float32)),
                         "'model/weights/extra' is no weight of the network"),
        "hidden": (lambda t: t["model"]["config"].update(hidden=[-1]), "'model/config/hidden' is [-1], expected"),
        "huge": (lambda t: t["model"]["config"].update(hidden=[10 ** 5, 10 ** 5]), "has shape"),   # 120 GB: not made
        "too huge": (lambda t: t["model"]["config"].update(hidden=[10 ** 9, 10 ** 9]),
                     "'model/config' describes a network that cannot be built"),
        "kind": (lambda t: t["model"]["config"].update(kind="cnn"), "'model/config/kind' is 'cnn'"),
        "activation": (lambda t: t["model"]["config"].update(activation="os.system"),
                       "'model/config/activation' is 'os.system', expected one of"),
        "inputs": (lambda t: t["model"]["config"].update(inputs=99), "the network reads 99 inputs"),
        "config key": (lambda t: t["model"]["config"].update(module="os"), "has the key 'module'"),
        "std": (lambda t: t["targets"].update(std=np.zeros(2)), "not finite and positive"),
        "rate": (lambda t: t["feasibility"].update(rate="0.5"), "'feasibility/rate' is '0.5', expected a number"),
        "one class": (lambda t: t["feasibility"]["classifier"].update(
            ok=np.ones_like(t["feasibility"]["classifier"]["ok"])), "holds one kind of point only"),
        "clf setting": (lambda t: t["feasibility"]["classifier"]["settings"].update(loss="evil"),
                        "has the setting 'loss', which is not one of"),
        "clf value": (lambda t: t["feasibility"]["classifier"]["settings"].update(max_iter=[1]),
                      "'feasibility/classifier/settings/max_iter' is [1], expected a number"),
        "features": (lambda t: t["feasibility"]["classifier"].update(features=np.zeros((4, 2), dtype=np.float32)),
                     "array 'feasibility/classifier/features' has shape (4, 2), expected (n, 6)"),
        "no model": (lambda t: t.pop("model"), "'model' is missing"),
    }
    bad = {n: (write_raw(tmp_path / f"{n}.ckpt", header, zip_payload(e)), x) for n, (e, x) in zips.items()}
    bad.update({n: (crafted(tmp_path, path, n, f), x) for n, (f, x) in trees.items()})
    for name, (file, expected) in bad.items():
        with pytest.raises(DeffeError) as e:
            load(tmp_path / "m", file)
        text = one_line(e)
        assert text.startswith(f"{file}: cannot read the model's weights") and expected in text, (name, text)


def test_damaged_or_crafted_payloads_sklearn(tmp_path, forest):
    path = forest[0]
    cases = {
        "no features": (lambda t: t["model"].pop("features"), "'model/features' is missing"),
        "targets shape": (lambda t: t["model"].update(targets=t["model"]["targets"][:, :1]),
                          "array 'model/targets' has shape"),
        "settings count": (lambda t: t["model"].update(settings=t["model"]["settings"][:1]),
                           "'model/settings' has 1 entries, expected 2"),
        "n_jobs": (lambda t: t["model"]["settings"][0][0].update(n_jobs=-1),
                   "has the setting 'n_jobs', which is not one of n_estimators, max_depth, random_state"),
        "bad value": (lambda t: t["model"]["settings"][0][0].update(n_estimators="many"), "n_estimators"),
        "nothing to fit": (lambda t: t["model"]["targets"].__setitem__(slice(None), np.nan),
                           "has no value of any cost to fit"),
        "infinite": (lambda t: t["model"]["features"].__setitem__((0, 0), np.inf), "infinite values"),
    }
    for name, (change, expected) in cases.items():
        file = crafted(tmp_path, path, name, change)
        with pytest.raises(DeffeError) as e:
            load(tmp_path / "m", file, "sklearn_rf")
        text = one_line(e)
        assert text.startswith(f"{file}: cannot read the model's weights") and expected in text, (name, text)


def test_cut_short_or_flipped_anywhere_is_a_one_line_error(tmp_path, mlp, forest):
    rng = np.random.default_rng(0)
    for path, plugin in ((mlp[0], "torch_mlp"), (forest[0], "sklearn_rf")):
        data = path.read_bytes()
        cuts = sorted({1, len(MAGIC), len(MAGIC) + 4, len(MAGIC) + 9, len(data) - 1, len(data) - 30,
                       *rng.integers(1, len(data), 25).tolist()})
        for cut in cuts:
            bad = tmp_path / "cut.ckpt"
            bad.write_bytes(data[:cut])
            with pytest.raises(DeffeError) as e:
                load(tmp_path / "m", bad, plugin)
            assert one_line(e).startswith(f"{bad}: "), cut
        for i in rng.integers(0, len(data), 40 if plugin == "torch_mlp" else 10).tolist():
            flipped = bytearray(data)
            flipped[i] ^= 0x5A
            bad = tmp_path / "flip.ckpt"
            bad.write_bytes(bytes(flipped))
            try:
                load(tmp_path / "m", bad, plugin)      # a flip in the header's text may leave a valid file
            except DeffeError as e:
                assert one_line(e).startswith(f"{bad}: "), i


def test_the_writer_refuses_objects(tmp_path):
    meta = CheckpointMeta(plugin="x", signature={}, costs=[])
    from framework.checkpoint import write_checkpoint
    for state, text in (({"a": object()}, "a: a object"), ({"a": np.array([None], dtype=object)}, "array of object"),
                        ({"a": float("nan")}, "a float"), ({1: 2}, "key 1")):
        with pytest.raises(TypeError, match=text):
            write_checkpoint(tmp_path / "x.ckpt", meta, state)
    tree = {"a": [1, "two", None, {"b": np.arange(3, dtype=np.int16)}], "c": np.array(["x", "yz"]), "d": 1.5,
            "e": np.float64(2.5), "f": np.array(7.0), "g": np.arange(6.0).reshape(2, 3).T, "h": np.zeros((0, 4))}
    back = unpack(pack(tree))
    assert back["a"][:3] == [1, "two", None] and back["a"][3]["b"].tolist() == [0, 1, 2] and back["d"] == 1.5
    assert back["e"] == 2.5 and back["f"].shape == () and back["f"] == 7.0 and back["h"].shape == (0, 4)
    assert np.array_equal(back["g"], tree["g"]) and back["g"].flags.writeable
    assert back["c"].tolist() == ["x", "yz"] and back["a"][3]["b"].dtype == np.int16
    assert hashlib.sha1(pack(tree)).digest() == hashlib.sha1(pack(tree)).digest()   # deterministic bytes
