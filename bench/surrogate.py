"""Surrogate accuracy and speed on a fixed placement data set.

The data set (cached in bench/results/, keyed by a hash of its settings and
input files): the analytical simulator in Paleo mode (batch 128, PPP 0.9 /
0.25) on Paleo's ResNet-50 and Exprimo's malvik-4gpu device graph (a Xeon and
four V100s), the network cut into 16 groups of consecutive layers in
topological order, each group on one of the four GPUs; 20,000 seeded
placements, half uniform at random, half made of 1 to 4 contiguous runs of one
GPU each (consecutive runs on different GPUs). The cost is the step time.

Protocol: a seeded split; the models train on 5% (1,000 placements) through
the model plugins' own interface (as the framework trains them) and are tested
on the other 19,000:

* torch_mlp (the default model, the ensemble of 5), sklearn_rf and sklearn_gbm,
  each with three feature sets of the framework's encoding (and torch_cnn,
  Deffe's CNN over the 16 knobs, for reference):
  - one-hot: 16 independent categorical knobs, one-hot encoded;
  - family:  one knob with count 16 (one-hot + "same device as the previous
             group" transition features);
  - exchangeable: the same with "exchangeable": true (GPUs are identical):
             labels renamed by first appearance, label shares, transitions;
* torch_mlp on the exchangeable features without relabelled training views
  (relabellings 0) at 1% and 5%, to show what the views buy;
* the learning curve of torch_mlp (exchangeable) and of the forest and
  boosting at 1, 2, 5, 10 and 20% of the data;
* training time of torch_mlp on 1,000 samples, and prediction speed on
  1,000,000 placements (codes in, predictions with std out, in one call);
* transfer learning: the ResNet-50 model fine-tuned (-icp, optionally with the
  first layer frozen) on 50, 100 and 200 Inception-V3 placements of the same
  protocol, against training from scratch on them.

Prints a table, then one JSON line (MAPE in percent, all at 5% unless named;
top_100_recall: the share of the 100 placements predicted fastest that are
among the truly fastest 100, ties included: thousands of single-GPU
placements tie for the fastest here).

    python bench/surrogate.py            # about 4 minutes on 2 cores
    python bench/surrogate.py --quick    # learning curve and baselines skipped
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from framework.config import load_config  # noqa: E402
from framework.context import Budget, Framework  # noqa: E402
from framework.metrics import evaluate  # noqa: E402
from framework.plugins import make_plugin  # noqa: E402
from framework.protocols import TrainingData  # noqa: E402

from simulator.data import DATA as REFERENCE  # noqa: E402  the files bundled with the simulator
RESULTS = REPO / "bench" / "results"
SETTINGS = {
    "network": "paleo-nets/resnet50.json",
    "devices": "exprimo-device-graphs/malvik-4gpu.json",
    "groups": 16, "cost_model": "paleo", "batch_size": 128, "ppp_comp": 0.9, "ppp_comm": 0.25,
    "samples": 20000, "seed": 20240501,
}
# transfer learning: the model trained on ResNet-50 above, fine-tuned on Inception-V3 placements
TRANSFER = dict(SETTINGS, network="paleo-nets/inception_v3.json", samples=5000, seed=20240502)
TRANSFER_SIZES = (50, 100, 200)
FRACTIONS = (0.01, 0.02, 0.05, 0.10, 0.20)
HEADLINE = 0.05
SPLIT_SEED = 7
# The model section of the benchmark's config: the defaults except the width of the layers, sized so
# that prediction reaches a million points per second on two cores (three layers of 16 are as accurate
# here as the default three layers of 32, which a harder function needs; the table shows both).
MODEL = {"hidden": [16, 16, 16]}


# ----------------------------------------------------------------------------- data
def _digest(settings: dict) -> str:
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for key in ("network", "devices"):
        h.update((REFERENCE / settings[key]).read_bytes())
    return h.hexdigest()[:16]


def placements(rng: np.random.Generator, n: int, groups: int, gpus: int) -> np.ndarray:
    """Half uniform at random, half 1 to 4 contiguous runs of one GPU each (GPU indices 0..gpus-1)."""
    half = n // 2
    uniform = rng.integers(0, gpus, size=(half, groups))
    runs = np.empty((n - half, groups), dtype=np.int64)
    for i in range(n - half):
        r = int(rng.integers(1, 5))
        cuts = np.sort(rng.choice(np.arange(1, groups), size=r - 1, replace=False))
        gpu = int(rng.integers(gpus))
        for part in np.split(np.arange(groups), cuts):
            runs[i, part] = gpu
            gpu = (gpu + int(rng.integers(1, gpus))) % gpus   # the next run on another GPU
    return np.vstack([uniform, runs])


def dataset(settings: dict = SETTINGS) -> tuple[np.ndarray, np.ndarray, float]:
    """(placements as GPU indices 0..3, step times, seconds it took to simulate or load)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"surrogate-data-{_digest(settings)}.npz"
    t0 = time.perf_counter()
    if path.exists():
        d = np.load(path)
        return d["placements"], d["step_time"], time.perf_counter() - t0
    import simulator as sim
    s = settings
    net = sim.load_network(str(REFERENCE / s["network"])).regroup(s["groups"], by="layers")
    devices = sim.load_device_graph(str(REFERENCE / s["devices"]))
    gpu_ids = np.array([i for i, d in enumerate(devices.devices) if d.kind == "gpu"])
    P = placements(np.random.default_rng(s["seed"]), s["samples"], s["groups"], len(gpu_ids))
    res = sim.simulate_batch(net, devices, gpu_ids[P], cost_model=s["cost_model"], batch_size=s["batch_size"],
                             ppp_comp=s["ppp_comp"], ppp_comm=s["ppp_comm"])
    if not np.all(res.feasible) or not np.all(np.isfinite(res.step_time)):
        raise SystemExit("the data set has infeasible placements: the protocol assumes none")
    np.savez_compressed(path, placements=P, step_time=res.step_time)
    return P, res.step_time, time.perf_counter() - t0


# ----------------------------------------------------------------------------- models
FEATURES = {
    "one-hot": [{"name": f"device_{i}", "type": "categorical", "values": [0, 1, 2, 3]} for i in range(16)],
    "family": [{"name": "device", "type": "categorical", "values": [0, 1, 2, 3], "count": 16}],
    "exchangeable": [{"name": "device", "type": "categorical", "values": [0, 1, 2, 3], "count": 16,
                      "exchangeable": True}],
}


def framework_for(features: str, plugin: str, workdir: Path, model: dict | None = None,
                  args: argparse.Namespace | None = None) -> Framework:
    cfg = {"knobs": FEATURES[features], "costs": ["step_time"],
           "evaluate": {"plugin": "python", "function": "unused:unused"},
           "model": {"plugin": plugin, **MODEL, **(model or {})}}
    path = workdir / f"{features}-{plugin}-{abs(hash(json.dumps(model, sort_keys=True)))}.json"
    path.write_text(json.dumps(cfg))
    config = load_config(path)
    fw = Framework(config, args or argparse.Namespace(), workdir, 0, logging.getLogger("bench"))
    fw.enter(config.explores[0], Budget())
    return fw


def train_and_test(features: str, plugin: str, P: np.ndarray, y: np.ndarray, train: np.ndarray,
                   test: np.ndarray, workdir: Path, model: dict | None = None,
                   args: argparse.Namespace | None = None):
    fw = framework_for(features, plugin, workdir, model, args)
    m = make_plugin("ml_model", plugin, fw, workdir, [])
    m.Initialize()
    codes = P.astype(float)
    data = TrainingData(codes[train], fw.encoding.transform(codes[train]), y[train, None],
                        ["ok"] * len(train), 0)
    t0 = time.perf_counter()
    m.Run(data)
    seconds = time.perf_counter() - t0
    pred = m.Predict(codes[test])
    metrics = evaluate(y[test], pred.mean[:, 0], top_k=100)
    width = len(fw.encoding.knob_names) if plugin == "torch_cnn" else fw.encoding.n_features  # its inputs
    return m, metrics, seconds, width


def prediction_speed(model, n: int = 1_000_000, seed: int = 1) -> float:
    codes = np.random.default_rng(seed).integers(0, 4, size=(n, 16)).astype(float)
    model.Predict(codes[:50_000])          # warm up (the encoding kernel's compile cache, thread pool)
    best = 0.0
    for _ in range(3):                     # the best of three: the machine is shared
        t0 = time.perf_counter()
        model.Predict(codes)
        best = max(best, n / (time.perf_counter() - t0))
    return best


def transfer(source, work: Path) -> dict:
    """MAPE (%) on Inception-V3 from a few samples: from scratch, and starting from the ResNet-50 model."""
    ckpt = source.Save(work / "resnet50.ckpt")
    P, y, _ = dataset(TRANSFER)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    out = {}
    for n in TRANSFER_SIZES:
        train, test = order[:n], order[n:]
        row = {}
        for name, args in (("scratch", None), ("tuned", argparse.Namespace(icp=str(ckpt))),
                           ("tuned_frozen1", argparse.Namespace(icp=str(ckpt), freeze_layers=1))):
            _, m, _, _ = train_and_test("exchangeable", "torch_mlp", P, y, train, test, work, args=args)
            row[name] = 100 * m.mape
        out[str(n)] = row
    return out


def _width(hidden: list[int]) -> str:
    return ",".join(map(str, hidden))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the 5%% figures of the exchangeable features")
    args = ap.parse_args()
    logging.getLogger("bench").addHandler(logging.NullHandler())
    P, y, data_seconds = dataset()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    rows = []
    out: dict = {}

    def split(fraction: float):
        n = int(round(fraction * len(y)))
        return order[:n], order[n:]

    with tempfile.TemporaryDirectory(prefix="bench-surrogate-") as tmp:
        work = Path(tmp)
        train, test = split(HEADLINE)
        mlp, m, train_seconds, nfeat = train_and_test("exchangeable", "torch_mlp", P, y, train, test, work)
        rows.append((f"torch_mlp {_width(MODEL['hidden'])}", "exchangeable", HEADLINE, len(train), nfeat, m,
                     train_seconds))
        out.update(mape_step_time=100 * m.mape, kendall_tau=m.kendall_tau, r2=m.r2,
                   top_100_recall=m.top_k_recall, train_seconds=train_seconds)
        speed = prediction_speed(mlp)
        out["predictions_per_second"] = speed
        for plugin in ("sklearn_rf", "sklearn_gbm"):
            _, mm, s, nf = train_and_test("exchangeable", plugin, P, y, train, test, work)
            rows.append((plugin, "exchangeable", HEADLINE, len(train), nf, mm, s))
            key = plugin.split("_")[1]
            out[f"mape_{key}"] = 100 * mm.mape
            out[f"kendall_tau_{key}"] = mm.kendall_tau
        if not args.quick:
            from framework.config.schema import MODEL as DEFAULTS
            width = DEFAULTS["hidden"].default
            wide, mm, s, nf = train_and_test("exchangeable", "torch_mlp", P, y, train, test, work, {"hidden": width})
            rows.append((f"torch_mlp {_width(width)}", "exchangeable", HEADLINE, len(train), nf, mm, s))
            out["mape_mlp_default_width"] = 100 * mm.mape
            out["predictions_per_second_default_width"] = prediction_speed(wide)
            _, mm, s, nf = train_and_test("exchangeable", "torch_cnn", P, y, train, test, work)
            rows.append(("torch_cnn (Deffe)", "exchangeable", HEADLINE, len(train), nf, mm, s))
            out["mape_cnn"] = 100 * mm.mape
            # what the relabelled training views buy: the same model on the canonical naming only
            for fraction in (0.01, HEADLINE):
                tr, te = split(fraction)
                _, mm, s, nf = train_and_test("exchangeable", "torch_mlp", P, y, tr, te, work, {"relabellings": 0})
                rows.append((f"torch_mlp {_width(MODEL['hidden'])} no views", "exchangeable", fraction, len(tr),
                             nf, mm, s))
                out[f"mape_mlp_no_views_{fraction:g}"] = 100 * mm.mape
            for features in ("one-hot", "family"):
                for plugin in ("torch_mlp", "sklearn_rf", "sklearn_gbm"):
                    _, mm, s, nf = train_and_test(features, plugin, P, y, train, test, work)
                    name = f"torch_mlp {_width(MODEL['hidden'])}" if plugin == "torch_mlp" else plugin
                    rows.append((name, features, HEADLINE, len(train), nf, mm, s))
                    key = {"torch_mlp": "mlp", "sklearn_rf": "rf", "sklearn_gbm": "gbm"}[plugin]
                    out[f"mape_{key}_{features.replace('-', '')}"] = 100 * mm.mape
            curve: dict = {}
            for fraction in FRACTIONS:
                if fraction == HEADLINE:
                    continue
                tr, te = split(fraction)
                for plugin in ("torch_mlp", "sklearn_rf", "sklearn_gbm"):
                    _, mm, s, nf = train_and_test("exchangeable", plugin, P, y, tr, te, work)
                    name = f"torch_mlp {_width(MODEL['hidden'])}" if plugin == "torch_mlp" else plugin
                    rows.append((name, "exchangeable", fraction, len(tr), nf, mm, s))
                    if plugin == "torch_mlp":
                        curve[f"{fraction:g}"] = {"mape": 100 * mm.mape, "kendall_tau": mm.kendall_tau}
            curve[f"{HEADLINE:g}"] = {"mape": out["mape_step_time"], "kendall_tau": out["kendall_tau"]}
            out["learning_curve"] = dict(sorted(curve.items(), key=lambda kv: float(kv[0])))
            out["transfer"] = transfer(mlp, work)

    print(f"data: {len(y)} placements of ResNet-50 (16 groups) on 4 V100s, step time "
          f"{y.min() * 1e3:.1f} to {y.max() * 1e3:.1f} ms ({data_seconds:.1f} s to simulate or load)")
    print(f"{'model':18s} {'features':13s} {'train':>6s} {'n':>6s} {'feat':>5s} {'MAPE %':>8s} {'tau':>7s} "
          f"{'R^2':>8s} {'fit s':>7s}")
    for name, features, fraction, n, nf, m, s in sorted(rows, key=lambda r: (r[1] != "exchangeable", r[2], r[0])):
        print(f"{name:18s} {features:13s} {fraction:6.0%} {n:6d} {nf:5d} {100 * m.mape:8.3f} {m.kendall_tau:7.4f} "
              f"{m.r2:8.5f} {s:7.2f}")
    if "transfer" in out:
        print("transfer: the ResNet-50 model (5%) fine-tuned on Inception-V3 placements (5,000, same protocol), "
              "MAPE % on the rest")
        print(f"{'samples':>8s} {'scratch':>9s} {'tuned':>9s} {'tuned, 1 frozen':>16s}")
        for n, t in out["transfer"].items():
            print(f"{n:>8s} {t['scratch']:9.3f} {t['tuned']:9.3f} {t['tuned_frozen1']:16.3f}")
    print(f"prediction: {out['predictions_per_second']:,.0f} points/s (torch_mlp {_width(MODEL['hidden'])}, 1,000,000 "
          f"placements in one call, encoding included, best of 3)")
    if "predictions_per_second_default_width" in out:
        print(f"            {out['predictions_per_second_default_width']:,.0f} points/s with the default width")
    goal = (out["mape_step_time"] <= 2 and out["kendall_tau"] >= 0.95 and out["mape_step_time"] < out["mape_rf"]
            and out["mape_step_time"] < out["mape_gbm"] and out["train_seconds"] < 20
            and out["predictions_per_second"] >= 1e6)
    print(f"goal (MAPE <= 2%, tau >= 0.95, ahead of RF and GBM, < 20 s, >= 1e6 points/s): "
          f"{'met' if goal else 'NOT met'}")
    out.update(train_fraction=HEADLINE, train_samples=int(round(HEADLINE * len(y))), test_samples=len(y)
               - int(round(HEADLINE * len(y))), model=dict(MODEL), goal_met=goal)
    print(json.dumps({k: (round(v, 6) if isinstance(v, float) else v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
