#!/usr/bin/env python3
"""Exploration benchmark: best step time found against simulator evaluations, per method.

Problems: ResNet-50 and Inception-V3 (Paleo's network files) placed in 16
groups of consecutive layers on Exprimo's CPU + 4 V100 graph with GPU memory
capped (the ``-reduced-*`` graphs: 2.5 GB), pipelined with 8 micro-batches
(GPipe), Paleo cost model, batch 128, PPP 0.9 / 0.25: the network does not fit
on one GPU, so the best placement is a pipeline. Each group goes to one of the
five devices: 5**16 = 1.5e11 placements.

Methods, same budget of simulator evaluations, several seeds:
  surrogate  this project's default exploration, run through run_deffe.py (the
             placement evaluator, a torch ensemble surrogate, GPUs declared
             exchangeable, memory_use <= 1 as a constraint, 10 points a step)
  tpe        Optuna's TPE sampler (a benchmark dependency only)
  random     uniform random placements
  annealing, genetic  this project's search algorithms on the simulator itself

"Best known" is the best placement any run ever found, including long genetic
searches of the simulator (cached in bench/results/). For each method the table
gives the median over seeds of the evaluations needed to come within 1% of the
best known step time (null when the median run never does) and of the best
found. A plot of the median curves is saved next to the table. The last line is
JSON: {"problems": {PROBLEM: {METHOD: {"evals_to_1pct": N or null, "best": X}}}}.

    python3 bench/exploration.py [--seeds 3] [--budget 3000] [--surrogate-budget 300] [--quick]
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import simulator as sim  # noqa: E402
from simulator.data import DATA  # noqa: E402
from framework.search import make, minimize  # noqa: E402
from framework.space import DesignSpace, Knob, ListLevels  # noqa: E402

RESULTS = ROOT / "bench" / "results"
GROUPS = 16
DEVICES = [0, 1, 2, 3, 4]
SETTINGS = dict(cost_model="paleo", batch_size=128, ppp_comp=0.9, ppp_comm=0.25, micro_batches=8, schedule="gpipe")
PROBLEMS = {
    "resnet50": ("paleo-nets/resnet50.json", "exprimo-device-graphs/malvik-4gpu-reduced-resnet.json"),
    "inception_v3": ("paleo-nets/inception_v3.json", "exprimo-device-graphs/malvik-4gpu-reduced-inception.json"),
}


class Problem:
    def __init__(self, name: str):
        ref = DATA  # the files bundled with the simulator
        net_file, dev_file = PROBLEMS[name]
        self.name = name
        self.net_path, self.dev_path = ref / net_file, ref / dev_file
        self.net = sim.load_network(str(self.net_path)).regroup(GROUPS)
        self.devices = sim.load_device_graph(str(self.dev_path))
        self.simulator = sim.prepare(self.net, self.devices, **SETTINGS)
        self.space = DesignSpace([Knob(f"device_{i}", "categorical", ListLevels(DEVICES), encoding="onehot")
                                  for i in range(GROUPS)])

    def step_times(self, placements: np.ndarray) -> np.ndarray:
        """Step time of each placement; inf when it does not fit in memory."""
        return self.simulator.run_batch(np.asarray(placements, dtype=np.int64)).step_time


def best_so_far(values: np.ndarray, budget: int) -> np.ndarray:
    v = np.full(budget, math.inf)
    n = min(len(values), budget)
    v[:n] = np.minimum.accumulate(np.where(np.isfinite(values[:n]), values[:n], math.inf)) if n else []
    if n < budget and n:
        v[n:] = v[n - 1]
    return v


# ----------------------------------------------------------------------------- methods
def run_random(p: Problem, seed: int, budget: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return p.step_times(rng.integers(0, len(DEVICES), (budget, GROUPS)))


def run_search(p: Problem, seed: int, budget: int, name: str, **options) -> np.ndarray:
    algo = make(name, p.space, m=1, seed=seed, **options)
    res = minimize(algo, lambda codes: p.step_times(codes)[:, None], budget)
    return res.values[:, 0]


def run_tpe(p: Problem, seed: int, budget: int) -> np.ndarray:
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    values: list[float] = []

    def objective(trial):
        placement = [trial.suggest_categorical(f"device_{i}", DEVICES) for i in range(GROUPS)]
        v = float(p.step_times(np.array([placement]))[0])
        values.append(v)
        return v if math.isfinite(v) else 1e3  # an infeasible placement: far worse than any other

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=budget)
    return np.array(values)


def run_surrogate(p: Problem, seed: int, budget: int, workdir: Path) -> tuple[np.ndarray, float]:
    d = workdir / f"{p.name}-surrogate-{seed}"
    d.mkdir(parents=True, exist_ok=True)
    config = {
        "knobs": [{"name": "device", "type": "categorical", "values": DEVICES, "count": GROUPS,
                   "exchangeable": [1, 2, 3, 4]}],
        # memory_use (peak / capacity of the fullest device) as a constraint: the model learns where
        # the memory limit lies from the placements that overflow it, which a bare failure would not say
        "costs": ["step_time::min", "memory_use"],
        "constraints": ["memory_use <= 1"],
        "evaluate": {"plugin": "placement", "simulator": dict(
            network=str(p.net_path), devices=str(p.dev_path), groups=GROUPS, **SETTINGS)},
        "exploration": {"plugin": "surrogate", "max_samples": budget, "samples_per_step": 10,
                        "objectives": ["step_time"], "analysis": False},
        "framework": {"run_directory": "run", "seed": seed},
    }
    (d / "config.json").write_text(json.dumps(config, indent=2))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "framework" / "run_deffe.py"), "-config", "config.json",
                           "-quiet", "-fresh"], cwd=d, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"surrogate run failed:\n{proc.stderr}")
    import sqlite3
    db = sqlite3.connect(d / "run" / "deffe.db")
    rows = db.execute("SELECT s.status, json_extract(s.costs, '$.step_time') FROM membership m "
                      "JOIN samples s ON s.id = m.sample ORDER BY m.seq").fetchall()
    values = np.array([float(v) if st == "ok" and v is not None else math.inf for st, v in rows])
    return values, seconds


# ----------------------------------------------------------------------------- best known
def best_known(p: Problem, effort: int) -> float:
    """The best step time long genetic searches of the simulator find (cached per problem and effort)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    cache = RESULTS / f"best-known-{p.name}.json"
    data = json.loads(cache.read_text()) if cache.exists() else {}
    key = json.dumps(SETTINGS, sort_keys=True) + f"|{effort}"
    if key not in data:
        best = math.inf
        for seed in range(4):
            res = minimize(make("genetic", p.space, m=1, seed=100 + seed, population=200),
                           lambda codes: p.step_times(codes)[:, None], effort)
            best = min(best, float(res.best_value))
        data[key] = best
        cache.write_text(json.dumps(data, indent=1))
    return data[key]


def evals_to(curve: np.ndarray, target: float) -> int | None:
    hit = np.flatnonzero(curve <= target)
    return int(hit[0]) + 1 if len(hit) else None


def median_or_none(xs: list[int | None]) -> float | None:
    v = np.array([math.inf if x is None else x for x in xs], dtype=float)
    m = float(np.median(v))
    return None if not math.isfinite(m) else m


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=3000, help="evaluations of tpe, random and the search algorithms")
    ap.add_argument("--surrogate-budget", type=int, default=300, help="evaluations of the surrogate exploration")
    ap.add_argument("--best-known-effort", type=int, default=60000)
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    ap.add_argument("--methods", nargs="+", default=["surrogate", "tpe", "random", "annealing", "genetic"])
    ap.add_argument("--quick", action="store_true", help="1 seed, small budgets (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.seeds, args.budget, args.surrogate_budget, args.best_known_effort = 1, 300, 100, 20000
    workdir = Path(tempfile.mkdtemp(prefix="deffe-bench-exploration-"))
    out: dict = {"problems": {}}
    curves: dict = {}
    rows = []
    for pname in args.problems:
        p = Problem(pname)
        runs: dict[str, list[np.ndarray]] = {m: [] for m in args.methods}
        seconds: dict[str, list[float]] = {m: [] for m in args.methods}
        for method in args.methods:
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                if method == "surrogate":
                    values, s = run_surrogate(p, seed, args.surrogate_budget, workdir)
                elif method == "tpe":
                    values = run_tpe(p, seed, args.budget)
                elif method == "random":
                    values = run_random(p, seed, args.budget)
                elif method == "annealing":
                    values = run_search(p, seed, args.budget, "annealing", k=8, steps=args.budget // 8)
                elif method == "genetic":
                    values = run_search(p, seed, args.budget, "genetic", population=40)
                else:
                    raise SystemExit(f"unknown method {method}")
                seconds[method].append(time.perf_counter() - t0)
                runs[method].append(values)
                print(f"  {pname} {method} seed {seed}: {len(values)} evaluations, best "
                      f"{np.min(np.where(np.isfinite(values), values, np.inf)):.5f} s, "
                      f"{seconds[method][-1]:.1f} s", file=sys.stderr, flush=True)
        found = min(float(np.min(np.where(np.isfinite(v), v, np.inf))) for vs in runs.values() for v in vs)
        best = min(best_known(p, args.best_known_effort), found)
        target = 1.01 * best
        out["problems"][pname] = {"best_known": best}
        curves[pname] = {}
        for method, vs in runs.items():
            budget = args.surrogate_budget if method == "surrogate" else args.budget
            cs = [best_so_far(v, budget) for v in vs]
            curves[pname][method] = np.median(np.vstack(cs), axis=0)
            to1 = median_or_none([evals_to(c, target) for c in cs])
            med_best = float(np.median([c[-1] for c in cs]))
            out["problems"][pname][method] = {"evals_to_1pct": None if to1 is None else int(round(to1)),
                                              "best": med_best, "budget": budget,
                                              "seconds": float(np.median(seconds[method]))}
            rows.append((pname, method, budget, to1, med_best, med_best / best - 1, float(np.median(seconds[method]))))
    print(f"{'problem':14s} {'method':10s} {'budget':>7s} {'evals to 1%':>12s} {'best (s)':>10s} "
          f"{'gap':>7s} {'time (s)':>9s}")
    for pname, method, budget, to1, med_best, gap, secs in rows:
        to1_text = "-" if to1 is None else f"{to1:.0f}"
        print(f"{pname:14s} {method:10s} {budget:7d} {to1_text:>12s} {med_best:10.5f} {gap:7.2%} {secs:9.1f}")
    for pname in args.problems:
        print(f"{pname}: best known step time {out['problems'][pname]['best_known']:.5f} s "
              f"(target within 1%: {1.01 * out['problems'][pname]['best_known']:.5f} s)")
        s = out["problems"][pname].get("surrogate", {}).get("evals_to_1pct")
        t = out["problems"][pname].get("tpe", {}).get("evals_to_1pct")
        if "surrogate" in out["problems"][pname] and "tpe" in out["problems"][pname]:
            t_text = t if t is not None else f"more than {args.budget}"
            verdict = s is not None and (s * 10 <= (t if t is not None else args.budget))
            print(f"  surrogate needs {s if s is not None else 'more than ' + str(args.surrogate_budget)} "
                  f"evaluations, tpe {t_text}: goal (a tenth of tpe's) {'met' if verdict else 'not met'}")
    _plot(curves, out)
    print(json.dumps(out))


def _plot(curves: dict, out: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4.5), squeeze=False)
    for ax, (pname, per) in zip(axes[0], curves.items()):
        best = out["problems"][pname]["best_known"]
        for method, curve in per.items():
            x = np.arange(1, len(curve) + 1)
            ax.plot(x, curve / best, label=method)
        ax.axhline(1.01, color="grey", linestyle=":", label="within 1%")
        ax.set_xscale("log")
        ax.set_ylim(0.99, 1.6)
        ax.set_xlabel("simulator evaluations")
        ax.set_ylabel("best step time / best known")
        ax.set_title(pname)
        ax.legend()
    fig.tight_layout()
    path = RESULTS / "exploration.png"
    fig.savefig(path, dpi=120)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
