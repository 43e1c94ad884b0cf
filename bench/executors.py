#!/usr/bin/env python3
"""Executors and asynchronous exploration, measured through the real driver.

Part 1, throughput per executor (local processes, a Dask cluster on this machine, a one-node SLURM
started for the run): 1,000 short evaluations (10 ms each) and 100 evaluations of 1 s, each through
``run_deffe.py`` with the sampling exploration (no model), against the ideal (evaluations x seconds /
workers). The figure is what a user gets: store commits, process or job start-up and polling included.

Part 2, synchronous against asynchronous exploration: the surrogate exploration (the default model,
``auto``, which takes seconds to train at these sizes) on a function of four knobs whose best is known
(1.0), evaluations of 1 s, 2 workers, 60 evaluations. Per mode and seed: the worker utilisation (busy
worker-seconds from the store over wall time x workers) and the evaluations until a design as good as the
best the synchronous run found with that seed was evaluated, and until a design as good as the worse of the
two modes' bests (a target both reach). Medians over the seeds.

    python3 bench/executors.py [--seeds 3] [--executors local,dask,slurm] [--short 1000] [--long 100]
                               [--skip-throughput] [--skip-exploration]

The last line is one JSON object: utilisation_sync, utilisation_async (fractions), throughput per executor
(evaluations per second, short and 1 s) and the evaluations to the target per mode.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2

EVALUATOR = '''
import time

def evaluate(p):
    time.sleep(float(p["seconds"]))
    return {"cost": float(p["x"]) + float(p["seconds"])}


def bowl(p):
    time.sleep(1.0)
    return {"cost": 1.0 + (p["a"] - 13) ** 2 + 2 * (p["b"] - 4) ** 2 + 0.5 * (p["c"] - 17) ** 2
            + 3 * (p["d"] - 9) ** 2}
'''


def run_driver(directory: Path, config: dict, *flags: str) -> float:
    (directory / "config.json").write_text(json.dumps(config))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "framework" / "run_deffe.py"), "-config", "config.json",
                           "-quiet", *flags], cwd=directory, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"run_deffe failed in {directory}:\n{proc.stderr[-3000:]}")
    return seconds


def stored(directory: Path) -> list[tuple[float, float, float, str]]:
    """(started, finished, duration, costs) of every evaluated sample, in the order started."""
    db = sqlite3.connect(directory / "explore" / "deffe.db")
    try:
        return db.execute("SELECT started, finished, duration, costs FROM samples WHERE status='ok' "
                          "ORDER BY started").fetchall()
    finally:
        db.close()


def utilisation(rows: list[tuple]) -> float:
    """Busy worker-seconds over (first start to last finish) x workers."""
    wall = max(r[1] for r in rows) - min(r[0] for r in rows)
    return sum(r[2] for r in rows) / (wall * WORKERS) if wall > 0 else float("nan")


# ----------------------------------------------------------------------------- part 1
def throughput(executor: str, count: int, seconds: float) -> dict:
    d = Path(tempfile.mkdtemp(prefix=f"deffe-bench-exec-{executor}-"))
    (d / "tasks.py").write_text(EVALUATOR)
    config = {
        "python_path": ["."],
        "knobs": [{"name": "x", "values": f"0-{count}"}, {"name": "seconds", "values": [seconds]}],
        "costs": ["cost"],
        "evaluate": {"plugin": "python", "function": "tasks:evaluate"},
        "exploration": {"plugin": "sampling", "samples_per_step": count, "max_samples": count},
        "sampling": {"plugin": "random"},
        "framework": {"jobs": WORKERS, "executor": executor, "seed": 1},
    }
    if executor == "dask":
        config["framework"]["dask"] = {"workers": WORKERS}
    wall = run_driver(d, config, "-no-train")
    rows = stored(d)
    shutil.rmtree(d, ignore_errors=True)
    ideal = count * seconds / WORKERS
    return {"evaluations": len(rows), "wall_s": wall, "per_s": len(rows) / wall, "ideal_s": ideal,
            "efficiency": ideal / wall if ideal else None}


# ----------------------------------------------------------------------------- part 2
def exploration(mode: str, seed: int, budget: int = 60) -> dict:
    d = Path(tempfile.mkdtemp(prefix=f"deffe-bench-async-{mode}-"))
    (d / "tasks.py").write_text(EVALUATOR)
    config = {
        "python_path": ["."],
        "knobs": [{"name": n, "values": "0-20"} for n in "abcd"],
        "costs": ["cost"],
        "evaluate": {"plugin": "python", "function": "tasks:bowl"},
        "exploration": {"plugin": "surrogate", "initial_samples": 12, "samples_per_step": 4,
                        "max_samples": budget},
        "framework": {"jobs": WORKERS, "seed": seed, "asynchronous": mode == "async"},
    }
    wall = run_driver(d, config)
    rows = stored(d)
    shutil.rmtree(d, ignore_errors=True)
    costs = [json.loads(r[3])["cost"] for r in rows]
    return {"wall_s": wall, "utilisation": utilisation(rows), "best": min(costs), "costs": costs,
            "evaluations": len(costs)}


def to_target(costs: list[float], target: float) -> int | None:
    """Evaluations until a design at least as good as ``target`` was evaluated (None: never)."""
    return next((i + 1 for i, c in enumerate(costs) if c <= target), None)


def slurm_up():
    """A one-node SLURM on localhost for the run (the tests' own set-up, test/executors/slurm_cluster.py:
    needs root and Debian's slurm-wlm and munge), or None with the reason printed."""
    sys.path.insert(0, str(ROOT / "test" / "executors"))
    from slurm_cluster import ClusterError, SlurmCluster   # noqa: PLC0415 - only when SLURM is measured
    try:
        cluster = SlurmCluster(Path(tempfile.mkdtemp(prefix="deffe-bench-slurm-"))).start()
    except ClusterError as e:
        print(f"slurm: not measured ({e})")
        return None
    os.environ["SLURM_CONF"] = str(cluster.conf)   # the driver's sbatch / squeue find the cluster
    return cluster


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--executors", default="local,dask,slurm")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-exploration", action="store_true")
    ap.add_argument("--short", type=int, default=1000, help="short evaluations per executor")
    ap.add_argument("--long", type=int, default=100, help="1-second evaluations per executor")
    args = ap.parse_args()
    out: dict = {"workers": WORKERS, "throughput": {}}
    if not args.skip_throughput:
        print(f"{'executor':10} {'evaluations':>11} {'seconds':>8} {'wall s':>8} {'ideal s':>8} "
              f"{'per s':>7} {'efficiency':>10}")
        for executor in args.executors.split(","):
            cluster = slurm_up() if executor == "slurm" else None
            if executor == "slurm" and cluster is None:
                continue
            try:
                figures = {}
                for count, seconds in ((args.short, 0.01), (args.long, 1.0)):
                    r = throughput(executor, count, seconds)
                    figures[f"{seconds:g}s"] = r
                    print(f"{executor:10} {r['evaluations']:>11} {seconds:>8g} {r['wall_s']:>8.1f} "
                          f"{r['ideal_s']:>8.1f} {r['per_s']:>7.2f} {r['efficiency']:>10.0%}")
                out["throughput"][executor] = {k: round(v["per_s"], 3) for k, v in figures.items()}
                out["throughput"][executor].update({f"efficiency_{k}": round(v["efficiency"], 3)
                                                    for k, v in figures.items()})
            finally:
                if cluster is not None:
                    cluster.stop()
    if args.skip_exploration:
        print(json.dumps(out))
        return
    print()
    # the target of a seed: the best the synchronous run found; each mode's evaluations until it had a design
    # at least that good (the synchronous run needs some number up to its budget; asynchronous: that many or
    # fewer is the goal, None if it never gets there)
    # The synchronous run's best is a strict target: a mode that ends elsewhere misses it even when it found
    # better designs earlier in other seeds. So each seed also has a common target, the worse of the two
    # modes' bests (both get there), and the evaluations each mode needs to reach it.
    print(f"{'mode':6} {'seed':>4} {'wall s':>7} {'utilisation':>11} {'best':>7} {'target':>7} {'to target':>9} "
          f"{'common':>7} {'to common':>9}")
    runs: dict[str, list[dict]] = {"sync": [], "async": []}
    for seed in range(1, args.seeds + 1):
        pair = {mode: exploration(mode, seed) for mode in ("sync", "async")}
        target = pair["sync"]["best"]
        common = max(r["best"] for r in pair.values())
        for mode, r in pair.items():
            r["to_target"] = to_target(r["costs"], target)
            r["to_common"] = to_target(r["costs"], common)
            runs[mode].append(r)
            print(f"{mode:6} {seed:>4} {r['wall_s']:>7.1f} {r['utilisation']:>11.0%} {r['best']:>7.2f} "
                  f"{target:>7.2f} {str(r['to_target']):>9} {common:>7.2f} {r['to_common']:>9}")
    for mode, rs in runs.items():
        reached = [r["to_target"] for r in rs if r["to_target"] is not None]
        out[f"utilisation_{mode}"] = round(statistics.median(r["utilisation"] for r in rs), 3)
        out[f"to_target_{mode}"] = statistics.median(reached) if reached else None
        out[f"reached_{mode}"] = f"{len(reached)}/{len(rs)}"
        out[f"wall_{mode}_s"] = round(statistics.median(r["wall_s"] for r in rs), 1)
        out[f"best_{mode}"] = statistics.median(r["best"] for r in rs)
        out[f"to_common_{mode}"] = statistics.median(r["to_common"] for r in rs)
    print(f"median utilisation: sync {out['utilisation_sync']:.0%}, async {out['utilisation_async']:.0%}; "
          f"evaluations to the target: sync {out['to_target_sync']} ({out['reached_sync']} reached), "
          f"async {out['to_target_async']} ({out['reached_async']} reached); to the common target: sync "
          f"{out['to_common_sync']}, async {out['to_common_async']}; median best: sync {out['best_sync']:g}, "
          f"async {out['best_async']:g}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
