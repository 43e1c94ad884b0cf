"""Surrogate accuracy and speed: today's placement protocol, then a suite of problems of other kinds.

Part 1, today's protocol (its JSON keys at the top level of the JSON line).
The data set (cached in bench/results/, keyed by a hash of its settings and
input files): the analytical simulator in Paleo mode (batch 128, PPP 0.9 /
0.25) on Paleo's ResNet-50 and Exprimo's malvik-4gpu device graph (a Xeon and
four V100s), the network cut into 16 groups of consecutive layers in
topological order, each group on one of the four GPUs; 20,000 seeded
placements drawn WITHOUT replacement, distinct also up to renaming the four
identical GPUs (canonical labels by first appearance), half uniform at random,
half made of 1 to 4 contiguous runs of one GPU each (consecutive runs on
different GPUs; there are only about 2,500 such placements up to renaming, so
most of the 20,000 are uniform ones). The cost is the step time.
(Before, the 20,000 were drawn with replacement: 20% of the test rows equalled
a training row, 32% up to renaming the GPUs.)

Protocol: a seeded split; the models train on 5% (1,000 placements) through
the model plugins' own interface (as the framework trains them) and are tested
on the other 19,000 (none of them equal to a training placement, even up to
renaming the GPUs):

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

Part 2, the suite (bench/surrogate_problems.py, bench/surrogate_suite.py):
six simulated problems (CNN, transformer and LSTM networks; 4, 8 and 16-GPU
machines and a two-node cluster; placement with micro-batches and schedule,
data-parallel replicas, precision, optimizer, batch size and GPU memory caps as
knobs; Paleo and roofline cost models; step time or peak memory as the cost)
and Deffe's two real gem5 tables. On each: the default model (model.plugin's
default), sklearn_rf, sklearn_gbm and a Gaussian process, each with its
plugin's default settings, at 1%, 5% and 20% of a pool of 5,000 distinct points
(20% = 1,000), tested on the rest of the pool; the real tables by repeated
splits and leave-one-out. The JSON line gets `problems`: {problem: {model:
{fraction: {"mape", "kendall_tau"}}}} and the goal's verdict.

Prints tables, then one JSON line (MAPE in percent; in part 1 all at 5% unless
named; top_100_recall: the share of the 100 placements predicted fastest that
are among the truly fastest 100, ties included).

    python bench/surrogate.py                      # everything: about 30 minutes on 2 busy cores
    python bench/surrogate.py --quick              # smoke run: part 1 skipped, three problems at 5%
    python bench/surrogate.py --problems gpt2_pipeline_8gpu,real_kmeans
    python bench/surrogate.py --problems resnet50_paleo_4gpu   # part 1 runs when its problem is named
"""
from __future__ import annotations

import argparse
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

sys.path.append(str(REPO / "bench"))   # after the repository: bench/simulator.py must not shadow simulator/
import surrogate_problems as problems  # noqa: E402
import surrogate_suite as suite  # noqa: E402

SETTINGS = problems.LEGACY_SETTINGS
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
def dataset(settings: dict = SETTINGS) -> tuple[np.ndarray, np.ndarray, float]:
    """(placements as GPU indices 0..3, step times, seconds it took to simulate or load): distinct
    placements, also up to renaming the (identical) GPUs (bench/surrogate_problems.py)."""
    codes, y, info = problems.dataset(problems.legacy_problem(settings))
    return codes, y, info["seconds"]


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


def legacy(args: argparse.Namespace) -> dict:
    """Today's protocol on the ResNet-50 problem (its table; its keys of the JSON line)."""
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
    return out


def cached_legacy(args: argparse.Namespace) -> dict:
    """Part 1, its table printed; cached in bench/results/ like the suite's problems."""
    import contextlib
    import io
    # the data, the protocol and the model (the code is the digest suite.cached compares, bench/surrogate.py's in it)
    key = {"data": problems.digest(problems.legacy_problem(SETTINGS)),
           "transfer": problems.digest(problems.legacy_problem(TRANSFER)), "quick": args.quick, "model": MODEL,
           "protocol": {"headline": HEADLINE, "split_seed": SPLIT_SEED, "fractions": list(FRACTIONS),
                        "transfer_sizes": list(TRANSFER_SIZES)}}
    path, saved = suite.cached("part1", key, args.resume, args.fresh)
    if saved is not None:
        print(f"(part 1: {saved['note']})")
        print(saved["text"], end="")
        return saved["out"]
    code = suite._code_digest()
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        out = legacy(args)
    print(text.getvalue(), end="")
    suite.save(path, {"out": out, "text": text.getvalue()}, code)
    return out


def _rounded(v):
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, dict):
        return {k: _rounded(x) for k, x in v.items()}
    return v


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: today's protocol at 5%% only, three problems of the suite at 5%% "
                         "(real tables: 50%%)")
    ap.add_argument("--problems", default=None,
                    help="comma-separated problems of the suite (default: all; with --quick: " +
                         ",".join(QUICK) + "); today's protocol runs when resnet50_paleo_4gpu is among them")
    ap.add_argument("--fresh", action="store_true",
                    help="measure anew (by default results cached in bench/results/ under the same data, "
                         "protocol and code are reused)")
    ap.add_argument("--resume", action="store_true",
                    help="reuse cached results even when measured under other code (said in the tables)")
    ap.add_argument("--skip-part1", action="store_true",
                    help="do not run today's protocol even when its problem is named (to split a run into "
                         "processes; the JSON line then lacks part 1's keys)")
    args = ap.parse_args()
    logging.getLogger("bench").addHandler(logging.NullHandler())
    if args.problems is not None and not args.problems.strip():
        ap.exit(2, f"error: --problems is empty; name problems, comma-separated ({', '.join(problems.PROBLEMS)}), "
                   "or leave it out for all\n")
    names = ([n.strip() for n in args.problems.split(",")] if args.problems is not None else list(QUICK)
             if args.quick else list(problems.PROBLEMS))
    if "" in names:
        ap.exit(2, f"error: --problems {args.problems!r} holds an empty name; name problems separated by single "
                   f"commas ({', '.join(problems.PROBLEMS)})\n")
    unknown = [n for n in names if n not in problems.PROBLEMS]
    if unknown:
        ap.exit(2, f"error: unknown problem(s) {', '.join(unknown)}; known: {', '.join(problems.PROBLEMS)}\n")
    names = list(dict.fromkeys(names))
    out: dict = {}
    t0 = time.perf_counter()
    if LEGACY in names and not args.skip_part1:
        out.update(cached_legacy(args))
    results, verdicts, tables = {}, {}, []
    # every model of the suite on one thread, as a run with -jobs 1 holds them (framework/threads.py): on
    # the shared 2-core machine OpenMP's spinning threads made one histogram-boosting fit 7 times slower
    from framework.threads import limit
    limit(1)
    with tempfile.TemporaryDirectory(prefix="bench-surrogate-suite-") as tmp:
        for name in names:
            problem = problems.PROBLEMS[name]
            print(f"suite: {name} ...", file=sys.stderr, flush=True)
            res, rows, info = suite.run_problem(problem, Path(tmp), quick=args.quick,
                                                log=lambda m: print(m, file=sys.stderr, flush=True),
                                                fresh=args.fresh, resume=args.resume)
            # fitted_on: the points the model was fitted on (the training size; absent from results
            # cached before it was recorded)
            results[name] = {model: {f: {"mape": m["mape"], "kendall_tau": m["kendall_tau"],
                                         **({"fitted_on": m["fitted_on"]} if "fitted_on" in m else {})}
                                     for f, m in per.items()} for model, per in res.items()}
            verdicts[name] = suite.verdict(problem, res)
            tables.append((problem, rows, info, res))
    print(f"\nsuite: default model = {suite.default_plugin()} (framework/config/schema.py), GP = {suite.gp_name()}"
          + (" (benchmark-local stand-in: no sklearn_gp plugin yet)" if suite.gp_name() == "gp_fallback" else ""))
    for problem, rows, info, res in tables:
        suite.print_table(problem, rows, info)
        v = verdicts[problem.name]
        if v:
            behind = [b for b, ok in v["ahead_of"].items() if not ok]
            extra = (f"MAPE <= 2%: {'yes' if v['mape_ok'] else 'NO'}, tau >= 0.95: {'yes' if v['tau_ok'] else 'NO'}, "
                     if "mape_ok" in v else "")
            print(f"  goal at {v['at']}: {extra}ahead of every baseline (MAPE and tau): "
                  f"{'yes' if not behind else 'NO, behind or level with ' + ', '.join(behind)}")
    sim = [n for n in results if problems.PROBLEMS[n].kind == "simulated"]
    real = [n for n in results if problems.PROBLEMS[n].kind == "real"]
    goal = {"simulated": all(verdicts[n].get("met") for n in sim) if sim and not args.quick else None,
            "real": all(verdicts[n].get("met") for n in real) if real and not args.quick else None}
    print(f"suite goal (default: MAPE <= 2% and tau >= 0.95 from 1,000 points and ahead of every baseline on "
          f"every simulated problem; ahead of every baseline on the real tables): simulated "
          f"{_met(goal['simulated'])}, real {_met(goal['real'])}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    out.update(default_model=suite.default_plugin(), gp_model=suite.gp_name(), problems=results,
               suite_goal_met=goal,
               suite_goal={n: {"met": v.get("met"), "at": v.get("at"),
                               "behind": [b for b, ok in v.get("ahead_of", {}).items() if not ok]}
                           for n, v in verdicts.items()})
    print(json.dumps(_rounded(out)))


def _met(flag) -> str:
    return "n/a" if flag is None else "met" if flag else "NOT met"


LEGACY = "resnet50_paleo_4gpu"
QUICK = ("gpt2_pipeline_8gpu", "lstm_memcap_4gpu", "real_matmul")


if __name__ == "__main__":
    main()
