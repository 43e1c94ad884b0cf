"""Before any design meets the constraints: how soon the surrogate exploration finds one.

The problems: two of bench/exploration.py's with their GPUs capped so tight that under 1% of random
placements fit, and the initial design (2 x knobs + 2 placements) usually holds none: ``gpt2_8gpu``
(GPT-2 large on 8 exchangeable A100s, 16 knobs) capped at 15 GB instead of 24 (0.7% fit), and
``vgg16_2node_dp`` (VGG-16 on 4 GPUs that are not exchangeable, plus data-parallel replicas and
micro-batches: 18 knobs) at 1.4 GB instead of 4 (0.75%). Each seed runs the default exploration twice through run_deffe.py, alike but for
``exploration.seek_feasible``: true (the default: head for where the constraint holds, from the placements
that missed it by the least) and false (what the exploration did before: propose the sampler's points until
one fits). Per seed: evaluations to the first placement that fits, how many fit, and the best step time
within the budget. The verdict counts the seeds whose initial design held no fit (on the others both runs
are the same run).

    python bench/feasibility.py                    # GPT-2, seeds 0-7, budget 150, two runs at a time
    python bench/feasibility.py --problem vgg16_2node_dp
    python bench/feasibility.py --seeds 4 --budget 100 --jobs 1

The last line is JSON: {"problem", "cap_gb", "budget", "random_fit_share", "seeds", "variants": {"seek" |
"sampler": {"first_fit": [...], "fitting": [...], "best": [...]}}, "without_initial_fit": {"seeds",
"median_first_fit": {"seek", "sampler"}, "found": {"seek", "sampler"}, "sooner", "better_best"}}
(first_fit null: no fit within the budget; best null: nothing fitted).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("OMP_NUM_THREADS", "1")   # each run is one process; two run at a time on 2 cores
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
import exploration_problems as problems  # noqa: E402
from bench_support import check_counts  # noqa: E402
from exploration_methods import run_surrogate  # noqa: E402

CAPS_GB = {"gpt2_8gpu": 15.0, "vgg16_2node_dp": 1.4}
VARIANTS = {"seek": True, "sampler": False}


def problem(name: str) -> problems.Problem:
    problems.SPECS[name] = dataclasses.replace(problems.SPECS[name], memory_cap_gb=CAPS_GB[name])
    return problems.Problem(name)


def initial_size(p: problems.Problem) -> int:
    """The exploration's initial design: 2 x knobs + 2 (its default, samples_per_step 10 being fewer)."""
    return 2 * (p.spec.groups + len(p.spec.extra)) + 2


def run(p: problems.Problem, seed: int, budget: int, seek: bool, workdir: Path) -> dict:
    """One exploration through run_deffe.py: when the first placement that fits came, how many fit, the best."""
    v = run_surrogate(p, seed, budget, workdir / ("seek" if seek else "sampler"),
                      exploration={"seek_feasible": seek})
    fits = np.isfinite(v)   # a placement over its cap is stored as infeasible: no step time
    return {"first_fit": int(np.argmax(fits)) + 1 if fits.any() else None, "fitting": int(fits.sum()),
            "best": float(v[fits].min()) if fits.any() else None, "initial_fit": bool(fits[:initial_size(p)].any())}


def random_fit_share(p: problems.Problem, n: int = 4000) -> float:
    _st, mem, _ok = p.evaluate(p.random_codes(np.random.default_rng(0), n))
    return float(np.mean(np.asarray(mem) <= 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", default="gpt2_8gpu", choices=list(CAPS_GB))
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--budget", type=int, default=150)
    ap.add_argument("--jobs", type=int, default=2, help="explorations run at a time")
    ap.add_argument("--workdir", default=str(ROOT / "bench" / "results" / "feasibility-runs"))
    a = ap.parse_args()
    check_counts(a, ("seeds", "budget", "jobs"))   # before any run: one line, exit 2
    p = problem(a.problem)
    share = random_fit_share(p)
    workdir = Path(a.workdir) / a.problem
    seeds = list(range(a.seeds))
    jobs = [(seed, name) for seed in seeds for name in VARIANTS]
    with ThreadPoolExecutor(a.jobs) as pool:   # each run is a process of its own
        done = list(pool.map(lambda j: run(p, j[0], a.budget, VARIANTS[j[1]], workdir), jobs))
    res = {name: {seed: r for (seed, n), r in zip(jobs, done) if n == name} for name in VARIANTS}

    def cell(r: dict) -> str:
        first = "-" if r["first_fit"] is None else str(r["first_fit"])
        best = "-" if r["best"] is None else f"{r['best']:.4f}"
        return f"{first:>5} {r['fitting']:>4} {best:>8}"

    print(f"{a.problem}, GPUs capped at {CAPS_GB[a.problem]:g} GB: {100 * share:.2f}% of random placements fit; "
          f"budget {a.budget}")
    print(f"{'seed':>4}  {'seek: first fits best':>22}  {'sampler: first fits best':>25}  initial fit")
    for seed in seeds:
        print(f"{seed:>4}  {cell(res['seek'][seed]):>22}  {cell(res['sampler'][seed]):>25}  "
              f"{'yes' if res['seek'][seed]['initial_fit'] else 'no'}")
    hard = [s for s in seeds if not res["sampler"][s]["initial_fit"]]

    def first(name: str, s: int) -> float:
        v = res[name][s]["first_fit"]
        return math.inf if v is None else v

    def best(name: str, s: int) -> float:
        v = res[name][s]["best"]
        return math.inf if v is None else v

    def median(name: str):
        if not hard:
            return None
        m = statistics.median(first(name, s) for s in hard)
        return None if math.isinf(m) else m

    summary = {"seeds": hard, "median_first_fit": {n: median(n) for n in VARIANTS},
               "found": {n: sum(res[n][s]["first_fit"] is not None for s in hard) for n in VARIANTS},
               "sooner": sum(first("seek", s) < first("sampler", s) for s in hard),
               "better_best": sum(best("seek", s) < best("sampler", s) for s in hard)}
    print(f"seeds without a fit in the initial design: {len(hard)}; first fit, median: seek "
          f"{summary['median_first_fit']['seek']}, sampler {summary['median_first_fit']['sampler']} (not found: "
          "None); found within the budget: seek "
          f"{summary['found']['seek']}, sampler {summary['found']['sampler']}; seek sooner in {summary['sooner']}, "
          f"better best in {summary['better_best']}")
    print(json.dumps({"problem": a.problem, "cap_gb": CAPS_GB[a.problem], "budget": a.budget, "random_fit_share": share,
                      "seeds": seeds,
                      "variants": {n: {k: [res[n][s][k] for s in seeds] for k in ("first_fit", "fitting", "best")}
                                   for n in VARIANTS},
                      "without_initial_fit": summary}))


if __name__ == "__main__":
    main()
