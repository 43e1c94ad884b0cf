#!/usr/bin/env python3
"""The thread budget on a busy machine: a run held to its budget against one whose libraries take every core.

Another process keeps one core busy (as other users' work does on a shared
machine), and the same run is made twice, alternately, several times:

* ``budget``: as a user gets it, ``-jobs 1`` (the default): the driver's
  libraries (torch, scikit-learn's OpenMP, BLAS) run on one thread;
* ``every core``: the same config with ``model.threads`` set to the number of
  cores, which is what every library does when nobody holds it back.

It also times the fit of the feasibility classifier (scikit-learn's histogram
boosting, OpenMP) on one thread and on every core, under the same load. The
run is ``example/matmul`` (200 evaluations of a Python model, a torch
ensemble trained after each step, a classifier on its infeasible points).

    python3 bench/threads.py [--repeats 3] [--no-load]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def spin(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def run_example(threads: int | None) -> float:
    d = Path(tempfile.mkdtemp(prefix="deffe-bench-threads-"))
    shutil.copytree(ROOT / "example" / "matmul", d / "matmul")
    config = d / "matmul" / "config.json"
    if threads:
        import commentjson
        data = commentjson.loads(config.read_text())
        data.setdefault("model", {})["threads"] = threads
        config.write_text(json.dumps(data))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "framework" / "run_deffe.py"), "-config", str(config),
                           "-quiet"], cwd=d, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    shutil.rmtree(d, ignore_errors=True)
    return seconds


def fit_classifier(threads: int) -> float:
    """Seconds of one fit of the feasibility classifier on 300 points, on this many threads."""
    code = f"""
import time, numpy as np
from threadpoolctl import threadpool_limits
from sklearn.ensemble import HistGradientBoostingClassifier
rng = np.random.default_rng(0)
X = rng.random((300, 40)); y = X[:, 0] + X[:, 1] > 1
with threadpool_limits({threads}):
    HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X, y)   # warm
    t0 = time.perf_counter()
    for _ in range(5):
        HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X, y)
print((time.perf_counter() - t0) / 5)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-load", action="store_true", help="no competing process (an idle machine)")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    stop = mp.Event()
    hog = None if args.no_load else mp.Process(target=spin, args=(stop,), daemon=True)
    if hog:
        hog.start()
    try:
        run_example(None)   # compiles nothing, but warms the disk caches for both
        budget, every = [], []
        for _ in range(args.repeats):
            budget.append(run_example(None))
            every.append(run_example(cores))
        fit1 = statistics.median(fit_classifier(1) for _ in range(args.repeats))
        fitn = statistics.median(fit_classifier(cores) for _ in range(args.repeats))
    finally:
        stop.set()
        if hog:
            hog.join(5)
    b, e = statistics.median(budget), statistics.median(every)
    load = "none" if args.no_load else "one core kept busy by another process"
    print(f"{cores} cores; load: {load}; medians of {args.repeats}")
    print(f"{'what':44s} {'budget (1 thread)':>18s} {f'every core ({cores})':>18s} {'ratio':>7s}")
    print(f"{'example/matmul, whole run (s)':44s} {b:18.2f} {e:18.2f} {e / b:7.2f}")
    print(f"{'feasibility classifier, one fit (ms)':44s} {1e3 * fit1:18.1f} {1e3 * fitn:18.1f} {fitn / fit1:7.2f}")
    print(json.dumps({"cores": cores, "busy": not args.no_load, "example_seconds_budget": round(b, 2),
                      "example_seconds_every_core": round(e, 2), "example_ratio": round(e / b, 2),
                      "fit_ms_one_thread": round(1e3 * fit1, 1), "fit_ms_every_core": round(1e3 * fitn, 1),
                      "fit_ratio": round(fitn / fit1, 2)}))


if __name__ == "__main__":
    main()
