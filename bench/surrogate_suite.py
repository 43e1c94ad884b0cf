"""The suite part of bench/surrogate.py: every model on every problem of bench/surrogate_problems.py.

Models, all called by name through the framework's model-plugin interface (as
a run trains them) on the framework's features of the problem's design space,
each with its plugin's default settings:

* ``default``: whatever ``model.plugin`` defaults to (framework/config/schema.py);
* ``torch_mlp`` for reference when it is not the default (the deep ensemble, the default before ``auto``;
  not one of the goal's baselines);
* ``sklearn_rf``, ``sklearn_gbm``;
* a Gaussian process: the ``sklearn_gp`` plugin when it exists, otherwise a
  benchmark-local stand-in (``gp_fallback``: scikit-learn's
  GaussianProcessRegressor on the same features and log costs, constant x
  isotropic Matern 5/2 + white noise, normalised targets, 2 optimiser
  restarts), labelled as such.

Simulated problems: a pool of POOL distinct points; train on the first 1%, 5%
and 20% of a seeded permutation (20% = 1,000 points), test on the rest of the
pool. Real tables (40 and 20 points): repeated random splits (REPEATS = 20 seeds)
training on 25%, 50% and 75% of the table (leave-one-out is supported,
fraction "loo", but left out of the default run: with the ``auto`` default's
cross-validation inside every fit it cost more than the rest of the suite);
MAPE over all predictions of the repeats, Kendall's tau the mean over the
repeats (a split whose predictions are all alike counts 0: they rank nothing).

Each model's results on each problem are cached in bench/results/ (keyed by
the problem's data digest, the protocol and the model; reused only under the
same code digest: the model plugins, the features, the metrics, the model
defaults and these modules), so that an interrupted run, or problems run as
separate ``--problems`` processes, are not measured twice; ``--fresh`` measures
anew, ``--resume`` also reuses results measured under other code (the tables
say when and under which digests).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import bench_support as digests
import surrogate_problems as problems
from framework.metrics import evaluate
from framework.plugins import make_plugin
from framework.protocols import Prediction, TrainingData

POOL = 5000
FRACTIONS = (0.01, 0.05, 0.20)
REAL_FRACTIONS = (0.25, 0.5, 0.75)
REPEATS = 20   # splits of a tiny table (10 test points each at 75% of kmeans): enough that one split does not decide
SPLIT_SEED = 11
BASELINES = ("sklearn_rf", "sklearn_gbm")


def default_plugin() -> str:
    from framework.config.schema import MODEL
    return MODEL["plugin"].default


def gp_name() -> str:
    return "sklearn_gp" if (problems.REPO / "plugins" / "ml_model" / "sklearn_gp.py").exists() else "gp_fallback"


def models() -> list[tuple[str, str]]:
    """(key in the JSON, plugin) of every model of the suite: the default, torch_mlp for reference (the
    deep ensemble, the default before ``auto``; not a baseline of the goal) when it is not the default, the
    baselines."""
    extra = [("torch_mlp", "torch_mlp")] if default_plugin() != "torch_mlp" else []
    return [("default", default_plugin()), *extra, *[(b, b) for b in BASELINES], (gp_name(), gp_name())]


# ----------------------------------------------------------------------------- the GP stand-in
class GPFallback:
    """A benchmark-local GP with the plugins' interface (used only when there is no sklearn_gp plugin)."""

    def __init__(self, fw):
        self.fw = fw

    def Initialize(self):
        pass

    def Run(self, data: TrainingData):
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
        y = np.log(data.costs[:, 0])
        self.mu, self.sd = y.mean(), y.std() or 1.0
        kernel = ConstantKernel(1.0) * Matern(length_scale=1.0, nu=2.5) + WhiteKernel(1e-3)
        self.gp = GaussianProcessRegressor(kernel, normalize_y=False, n_restarts_optimizer=2, random_state=0)
        self.gp.fit(data.features, (y - self.mu) / self.sd)
        return {}

    def Predict(self, codes):
        z = self.gp.predict(self.fw.encoding.transform(np.asarray(codes, dtype=float)))
        mean = np.exp(z * self.sd + self.mu)[:, None]
        return Prediction(mean, np.zeros_like(mean), np.ones(len(mean)), None)


# ----------------------------------------------------------------------------- one fit
@dataclass
class Fit:
    pred: np.ndarray
    seconds: float
    points: int       # the points the model was fitted on (the GP's plugin reports its own)


def fit_predict(problem, plugin: str, codes: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray,
                workdir: Path, seed: int = 0) -> Fit:
    model = {"seed": seed} if seed else {}
    if plugin == "sklearn_gp":
        # every method fitted on the same points: the plugin's cap (gp_max_points, 300 by default for an
        # exploration's speed) would fit the GP on a subset of a training set the table says it had
        model["gp_max_points"] = len(train)
    fw = problems.framework_for(problem, plugin if plugin != "gp_fallback" else "sklearn_rf", workdir,
                                model or None, argparse.Namespace())
    if plugin == "gp_fallback":
        m = GPFallback(fw)
    else:
        m = make_plugin("ml_model", plugin, fw, workdir, [])
    m.Initialize()
    c = codes.astype(float)
    data = TrainingData(c[train], fw.encoding.transform(c[train]), y[train, None], ["ok"] * len(train), 0)
    t0 = time.perf_counter()
    report = m.Run(data) or {}
    seconds = time.perf_counter() - t0
    # (only the GP's own report: auto's may hold a GP candidate's count)
    points = int(report["gp_points"]) if plugin == "sklearn_gp" and "gp_points" in report else len(train)
    return Fit(np.asarray(m.Predict(c[test]).mean)[:, 0], seconds, points)


# ----------------------------------------------------------------------------- one problem
# besides what the model plugins import: the features, the metrics, the model defaults, the plugin loader
CODE_ROOTS = ("framework/encoding.py", "framework/space.py", "framework/metrics.py", "framework/config/schema.py",
              "framework/plugins.py")


def _code_files() -> set[Path]:
    """The code a measurement depends on: the model plugins and every module of framework/ and
    plugins/ml_model/ they (and CODE_ROOTS) import, found in the import statements (a list kept by hand
    missed framework/training.py, which resolves the model section), and the benchmark's own modules,
    bench/surrogate.py (part 1's protocol) among them (the simulator's code is in the data digest)."""
    repo = problems.REPO
    roots = [*repo.glob("plugins/ml_model/*.py"), *(repo / f for f in CODE_ROOTS)]
    return {*digests.imported_files(repo, roots, ("framework", "plugins.ml_model"), ("framework/__init__.py",)),
            *repo.glob("bench/surrogate*.py")}


def _code_digest() -> str:
    """A digest of _code_files() and of the versions of the libraries the models fit with."""
    h = hashlib.sha256()
    digests.update(h, problems.REPO, _code_files())
    h.update(digests.library_versions().encode())
    return h.hexdigest()[:16]


def cached(kind: str, key: dict, resume: bool, fresh: bool) -> tuple[Path, dict | None]:
    """(the cache file of a measurement, what it holds if it may be reused). Reused when the data, protocol
    and code are the same; with ``resume`` also under other code (said when printed); never with ``fresh``."""
    text = json.dumps(key, sort_keys=True)
    path = problems.RESULTS / f"surrogate-{kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
    if fresh or not path.exists():
        return path, None
    saved = json.loads(path.read_text())
    code = _code_digest()
    if saved.get("code") != code and not resume:
        return path, None
    saved["note"] = (f"measured {saved['when']}" + ("" if saved.get("code") == code else
                     f" under other code (digest {saved.get('code')}, now {code}; --fresh measures anew)"))
    return path, saved


def save(path: Path, payload: dict, code: str) -> None:
    """Cache a measurement made under ``code`` (the code digest taken when it started)."""
    problems.RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                                "code": code, **payload}))


def _cache_key(problem, quick: bool, key: str, plugin: str) -> dict:
    key = {"data": problems.digest(problem), "quick": quick, "pool": POOL, "fractions": FRACTIONS,
           "real": REAL_FRACTIONS, "repeats": REPEATS, "seed": SPLIT_SEED, "model": key, "plugin": plugin}
    if plugin == "sklearn_gp":   # its protocol: all the training points (measured before on at most 300)
        key["gp_points"] = "train"
    return key


def run_problem(problem, workdir: Path, quick: bool = False, log=print, fresh: bool = False,
                resume: bool = False) -> tuple[dict, list[tuple], dict]:
    """({model: {fraction: metrics}}, table rows, data info) of one problem; each model's measurement is
    cached in bench/results/."""
    results: dict = {}
    rows: list[tuple] = []
    notes: list[dict] = []
    info: dict = {}
    for key, plugin in models():
        path, saved = cached(f"suite-{problem.name}-{key}", _cache_key(problem, quick, key, plugin), resume, fresh)
        if saved is not None:
            log(f"  {problem.name} {key}: reused, {saved['note']}")
            res, rws, info = saved["results"], [tuple(r) for r in saved["rows"]], saved["info"]
            notes.append(saved)
        else:
            code = _code_digest()
            res, rws, info = _run_problem(problem, workdir, quick, log, [(key, plugin)])
            save(path, {"results": res, "rows": rws, "info": info}, code)
        results.update(res)
        rows += rws
    if notes:
        now = _code_digest()
        codes = sorted({n["code"] for n in notes})
        when = sorted(n["when"] for n in notes)
        info = dict(info, note=f"{len(notes)} of {len(models())} models reused from the cache, measured "
                               f"{when[0]} to {when[-1]} under code digest(s) {', '.join(codes)}"
                               + ("" if codes == [now] else f" (now {now}; --fresh measures anew)"))
    return results, rows, info


def _run_problem(problem, workdir: Path, quick: bool, log, which: list[tuple[str, str]]
                 ) -> tuple[dict, list[tuple], dict]:
    codes, y, info = problems.dataset(problem)
    results: dict = {}
    rows: list[tuple] = []
    if problem.kind == "simulated":
        n = min(POOL, len(y))
        order = np.random.default_rng(SPLIT_SEED).permutation(len(y))[:n]
        info = dict(info, pool=n, points=len(y))
        fractions = (0.05,) if quick else FRACTIONS
        for key, plugin in which:
            for f in fractions:
                k = int(round(f * n))
                train, test = order[:k], order[k:]
                assert problems.split(problem, codes, train, test), "train and test overlap"
                fit = fit_predict(problem, plugin, codes, y, train, test, workdir)
                m = evaluate(y[test], fit.pred, top_k=50)
                results.setdefault(key, {})[f"{f:g}"] = {
                    "mape": 100 * m.mape, "kendall_tau": m.kendall_tau, "top_k_recall": m.top_k_recall,
                    "k": m.k, "train": int(k), "test": int(len(test)), "fit_seconds": fit.seconds,
                    "fitted_on": fit.points}
                rows.append((key, plugin, f"{f:g}", k, len(test), 100 * m.mape, m.kendall_tau, m.top_k_recall,
                             m.k, fit.seconds))
                log(f"  {problem.name} {key} {f:g}: MAPE {100 * m.mape:.3f}% tau {m.kendall_tau:.4f} "
                    f"({fit.seconds:.1f} s)")
    else:
        n = len(y)
        info = dict(info, pool=n, points=n)
        fractions = (0.5,) if quick else REAL_FRACTIONS
        for key, plugin in which:
            for f in fractions:
                preds, truth, taus, recalls, secs, sizes, fitted = [], [], [], [], [], [], []
                if f == "loo":
                    splits = [(np.delete(np.arange(n), i), np.array([i])) for i in range(n)]
                else:
                    splits = []
                    for r in range(REPEATS):
                        o = np.random.default_rng(SPLIT_SEED + r).permutation(n)
                        k = int(round(f * n))
                        splits.append((o[:k], o[k:]))
                for train, test in splits:
                    assert problems.split(problem, codes, train, test)
                    fit = fit_predict(problem, plugin, codes, y, train, test, workdir)
                    preds.append(fit.pred)
                    truth.append(y[test])
                    secs.append(fit.seconds)
                    sizes.append(len(train))
                    fitted.append(fit.points)
                    if f != "loo":
                        mm = evaluate(y[test], fit.pred, top_k=3)
                        # predictions all alike rank nothing: tau 0, not an undefined value that voids the mean
                        taus.append(mm.kendall_tau if np.isfinite(mm.kendall_tau) else 0.0)
                        recalls.append(mm.top_k_recall)
                t, p = np.concatenate(truth), np.concatenate(preds)
                pooled = evaluate(t, p, top_k=5 if f == "loo" else 3)
                tau = pooled.kendall_tau if f == "loo" else float(np.mean(taus))
                recall = pooled.top_k_recall if f == "loo" else float(np.mean(recalls))
                fkey = f if f == "loo" else f"{f:g}"
                results.setdefault(key, {})[fkey] = {
                    "mape": 100 * pooled.mape, "kendall_tau": tau, "top_k_recall": recall, "k": pooled.k if
                    f == "loo" else 3, "train": int(sizes[0]), "test": int(len(t) // len(splits)),
                    "repeats": len(splits), "fit_seconds": float(np.mean(secs)), "fitted_on": int(min(fitted))}
                rows.append((key, plugin, fkey, sizes[0], int(len(t) // len(splits)), 100 * pooled.mape, tau, recall,
                             results[key][fkey]["k"], float(np.mean(secs))))
                log(f"  {problem.name} {key} {fkey}: MAPE {100 * pooled.mape:.2f}% tau {tau:.3f}")
    return results, rows, info


def verdict(problem, res: dict) -> dict:
    """Whether the default meets the issue's goal on this problem."""
    d = res.get("default", {})
    if problem.kind == "simulated":
        key = "0.2"
        if key not in d:
            return {}
        m = d[key]
        ahead = {b: m["mape"] < res[b][key]["mape"] and m["kendall_tau"] > res[b][key]["kendall_tau"]
                 for b in res if b not in ("default", "torch_mlp") and key in res[b]}
        return {"at": key, "mape_ok": m["mape"] <= 2, "tau_ok": m["kendall_tau"] >= 0.95, "ahead_of": ahead,
                "met": m["mape"] <= 2 and m["kendall_tau"] >= 0.95 and all(ahead.values())}
    out = {}
    for key in d:
        ahead = {b: d[key]["mape"] < res[b][key]["mape"] and d[key]["kendall_tau"] > res[b][key]["kendall_tau"]
                 for b in res if b not in ("default", "torch_mlp") and key in res[b]}
        out[key] = ahead
    best = "loo" if "loo" in out else (list(out)[-1] if out else None)   # the most training points
    return {"at": best, "ahead_of": out.get(best, {}), "met": bool(best) and all(out[best].values()),
            "per_fraction": {k: all(v.values()) for k, v in out.items()}}


def print_table(problem, rows: list[tuple], info: dict, print=print) -> None:
    print(f"\n[{problem.name}] {problem.title}")
    if problem.kind == "simulated":
        print(f"  {info['points']} distinct points (pool {info['pool']}; {info.get('dropped', 0)} infeasible "
              f"draws dropped), cost {problem.cost}")
    else:
        print(f"  {info['points']} points of the table, cost {problem.cost}; fractions: repeated splits "
              f"({REPEATS} seeds): train on that share of the table, test on the rest")
    if info.get("note"):
        print(f"  (results {info['note']})")
    print(f"  {'model':14s} {'plugin':14s} {'train':>6s} {'n':>5s} {'test':>5s} {'MAPE %':>9s} {'tau':>7s} "
          f"{'top-k':>6s} {'k':>3s} {'fit s':>7s}")
    for key, plugin, f, n, nt, mape, tau, rec, k, s in rows:
        print(f"  {key:14s} {plugin:14s} {f:>6s} {n:5d} {nt:5d} {mape:9.3f} {tau:7.4f} {rec:6.2f} {k:3d} {s:7.2f}")
