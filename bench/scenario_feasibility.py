"""A scenario that few designs fit: how the surrogate exploration serves it while the others fit easily.

The problem: the main example's placement of ResNet-50's 16 layer groups on four V100s capped at 6 GB
(micro-batches and schedule as knobs, the constraint ``memory_use <= 1``, objective the step time), over the
scenario ``batch_size`` 64 and 1536. Every placement fits at 64; few fit at 1536. Each seed runs the default
exploration through run_deffe.py twice, alike but for ``exploration.seek_feasible``: true (the default: while no
design of a scenario fits, its share of a step heads for where the constraint holds in it) and false (its share
is scored against a best it does not have, searched from the other scenario's best designs). Per seed and
batch size: evaluations to the first placement that fits, how many fit, the best step time. The initial design
(40 placements) holds fits at batch 64 in every seed, so ``seek_feasible`` changes nothing else here.

    python bench/scenario_feasibility.py                     # seeds 1-4, budget 160, two runs at a time
    python bench/scenario_feasibility.py --seeds 2 --jobs 1

The last line is JSON: {"budget", "seeds", "variants": {"seek" | "off": {"first_fit", "fitting", "best" (lists
per seed, batch 1536), "best_small" (best step time at batch 64)}}, "summary": {"sooner", "better_best",
"more_fits"}} (first_fit null: no fit at 1536 within the budget).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_support import check_counts   # bench/, this script's directory

ROOT = Path(__file__).resolve().parent.parent
SIZES = (64, 1536)
VARIANTS = {"seek": True, "off": False}


def config(seed: int, budget: int, seek: bool) -> dict:
    return {
        "knobs": [{"name": "device", "type": "categorical", "values": [1, 2, 3, 4], "count": 16,
                   "exchangeable": True},
                  {"name": "micro_batches", "values": [1, 2, 4, 8, 16]},
                  {"name": "schedule", "values": ["gpipe", "1f1b"]}],
        "scenarios": [{"name": "batch_size", "values": list(SIZES)}],
        "costs": ["step_time", "memory_use"],
        "constraints": ["memory_use <= 1"],
        "evaluate": {"plugin": "placement", "simulator": {"network": "resnet50", "devices": "cpu+4xV100-pcie3",
                                                          "memory_cap_gb": 6, "groups": 16}},
        "exploration": {"plugin": "surrogate", "objectives": ["step_time"], "initial_samples": 40,
                        "samples_per_step": 20, "max_samples": budget, "seek_feasible": seek},
        "framework": {"seed": seed, "jobs": 1},
    }


def run(seed: int, budget: int, seek: bool, workdir: Path) -> dict:
    d = workdir / f"{'seek' if seek else 'off'}-{seed}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(config(seed, budget, seek), indent=1))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    shutil.rmtree(d / "explore", ignore_errors=True)   # a fresh run, not the stored results of the last one
    r = subprocess.run([sys.executable, str(ROOT / "framework" / "run_deffe.py"), "-config", "config.json"],
                       cwd=d, env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{d}: run_deffe.py failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    with open(d / "explore" / "deffe_evaluation.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for size in SIZES:
        fits = [i for i, row in enumerate(rows) if row["batch_size"] == str(size)
                and row["step_time"] not in ("", "nan") and float(row["memory_use"]) <= 1]
        out[size] = {"first_fit": fits[0] + 1 if fits else None, "fitting": len(fits),
                     "best": min((float(rows[i]["step_time"]) for i in fits), default=None)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4, help="seeds 1..N")
    ap.add_argument("--budget", type=int, default=160)
    ap.add_argument("--jobs", type=int, default=2, help="explorations run at a time")
    ap.add_argument("--workdir", default=str(ROOT / "bench" / "results" / "scenario-feasibility-runs"))
    a = ap.parse_args()
    check_counts(a, ("seeds", "budget", "jobs"))   # before any run: one line, exit 2
    seeds = list(range(1, a.seeds + 1))
    jobs = [(seed, name) for seed in seeds for name in VARIANTS]
    with ThreadPoolExecutor(a.jobs) as pool:   # each run is a process of its own
        done = pool.map(lambda j: run(j[0], a.budget, VARIANTS[j[1]], Path(a.workdir)), jobs)
        res = {name: {} for name in VARIANTS}
        for (seed, name), r in zip(jobs, done):
            res[name][seed] = r
    big, small = SIZES[1], SIZES[0]

    def cell(r: dict) -> str:
        first = "-" if r["first_fit"] is None else str(r["first_fit"])
        best = "-" if r["best"] is None else f"{r['best']:.3f}"
        return f"{first:>5} {r['fitting']:>4} {best:>7}"

    print(f"ResNet-50 on 4 V100 capped at 6 GB, scenario batch_size {small} / {big}; budget {a.budget}")
    print(f"{'seed':>4}  {f'seek, {big}: first fits best':>29}  {f'off, {big}: first fits best':>28}  "
          f"best at {small}: seek / off")
    for seed in seeds:
        s, o = res["seek"][seed], res["off"][seed]
        print(f"{seed:>4}  {cell(s[big]):>29}  {cell(o[big]):>28}  {s[small]['best']:.4f} / {o[small]['best']:.4f}")

    def value(name: str, seed: int, key: str) -> float:
        v = res[name][seed][big][key]
        return math.inf if v is None else v

    summary = {"sooner": sum(value("seek", s, "first_fit") < value("off", s, "first_fit") for s in seeds),
               "better_best": sum(value("seek", s, "best") < value("off", s, "best") for s in seeds),
               "more_fits": sum(res["seek"][s][big]["fitting"] > res["off"][s][big]["fitting"] for s in seeds)}
    print(f"at batch {big}, seek_feasible true against false, of {len(seeds)} seeds: first fit sooner in "
          f"{summary['sooner']}, more fits in {summary['more_fits']}, better best in {summary['better_best']}")
    print(json.dumps({"budget": a.budget, "seeds": seeds,
                      "variants": {n: {**{k: [res[n][s][big][k] for s in seeds] for k in ("first_fit", "fitting",
                                                                                          "best")},
                                       "best_small": [res[n][s][small]["best"] for s in seeds]}
                                   for n in VARIANTS},
                      "summary": summary}))


if __name__ == "__main__":
    main()
