"""Simulator speed: placements per second, one by one and batched.

For ResNet-50 and Inception-V3 (the zoo's and Paleo's files), 16 layer groups,
on Exprimo's malvik-4gpu.json (a Xeon and 4 V100s on PCIe 3), with the paleo
and roofline cost models: random placements over the 5 devices (seed 0).

- one by one: `sim.simulate(net, devices, placement)` per placement (the
  prepared simulator comes from the cache after the first call);
- batched: `sim.simulate_batch` on batches of 1,024 placements;
- JIT: the numba compile (or load from the on-disk cache) before the first run,
  measured in a fresh process.

It CHECKS (prints, asserts nothing) that batched and one-by-one results agree
exactly, and ends with one JSON line of its figures.

    python bench/simulator.py            # full run (about a minute)
    python bench/simulator.py --quick    # fewer placements
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import simulator as sim  # noqa: E402
from simulator.data import DEVICE_GRAPHS, NETWORKS, path  # noqa: E402  the files bundled with the simulator
BATCH = 1024


def jit_seconds(cache: bool) -> float:
    """Seconds to get the kernel ready in a fresh process (compile, or load the cache)."""
    code = ("import time, numpy as np, simulator as sim\n"
            "from simulator import kernel\n"
            "g = sim.devices.preset('cpu+1xV100-pcie3')\n"
            "n = sim.zoo.load('resnet18', batch_size=8)\n"
            "s = sim.Simulator(n, g)\n"
            "t = time.perf_counter(); s.run(1); print(time.perf_counter() - t)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with tempfile.TemporaryDirectory(prefix="numba-bench-") as tmp:
        if not cache:
            env["NUMBA_CACHE_DIR"] = tmp  # an empty cache: the compile itself
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                             cwd=REPO)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return float(out.stdout.strip().splitlines()[-1])


def measure(net, devices, cost_model: str, n_single: int, n_batches: int, rng) -> dict:
    settings = dict(cost_model=cost_model, batch_size=128)
    G = len(net.groups)
    P = rng.integers(0, len(devices.devices), size=(n_batches * BATCH, G))
    sim.simulate(net, devices, list(P[0]), **settings)  # prepare + warm
    singles = [list(map(int, p)) for p in P[:n_single]]
    t = time.perf_counter()
    one = [sim.simulate(net, devices, p, **settings) for p in singles]
    t_one = time.perf_counter() - t
    best = float("inf")
    steps, peaks = [], []
    for b in range(n_batches):
        chunk = P[b * BATCH:(b + 1) * BATCH]
        t = time.perf_counter()
        res = sim.simulate_batch(net, devices, chunk, **settings)
        best = min(best, time.perf_counter() - t)
        steps.append(res.raw_step_time)
        peaks.append(res.peak_memory)
    steps, peaks = np.concatenate(steps), np.concatenate(peaks)
    agree = all(r.raw_step_time == steps[i] and (r.peak_memory == peaks[i]).all()
                for i, r in enumerate(one))
    feasible = float(np.mean([r.feasible for r in one]))
    return {"one_by_one_per_s": n_single / t_one, "batched_per_s": BATCH / best, "agree": agree,
            "layers": len(net.layers), "feasible": feasible,
            "median_step_ms": float(np.median(steps) * 1e3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n_single, n_batches = (300, 2) if args.quick else (2048, 6)
    jit_cold = jit_seconds(cache=False)
    jit_warm = jit_seconds(cache=True)
    devices = sim.load_device_graph(path("malvik-4gpu.json", DEVICE_GRAPHS))
    nets = {
        "resnet50 (zoo)": sim.zoo.load("resnet50").regroup(16),
        "resnet50 (paleo)": sim.load_network(path("resnet50.json", NETWORKS)).regroup(16),
        "inception_v3 (zoo)": sim.zoo.load("inception_v3").regroup(16),
        "inception_v3 (paleo)": sim.load_network(path("inception_v3.json", NETWORKS)).regroup(16),
    }
    rows = {}
    print(f"{'network':22s} {'cost model':10s} {'layers':>6s} {'one by one /s':>14s} "
          f"{'batched /s':>12s} {'agree':>6s} {'median step ms':>15s}")
    for name, net in nets.items():
        for cm in ("paleo", "roofline"):
            r = measure(net, devices, cm, n_single, n_batches, np.random.default_rng(0))
            rows[f"{name} {cm}"] = r
            print(f"{name:22s} {cm:10s} {r['layers']:6d} {r['one_by_one_per_s']:14,.0f} "
                  f"{r['batched_per_s']:12,.0f} {str(r['agree']):>6s} {r['median_step_ms']:15.2f}")
    print(f"JIT: compile {jit_cold:.1f} s (fresh cache), load from cache {jit_warm:.2f} s")
    agree = all(r["agree"] for r in rows.values())
    print(f"CHECK batched == one by one (step time and peak memory, bit for bit): "
          f"{'agree' if agree else 'DISAGREE'}")
    r50 = [rows[f"resnet50 ({k}) {cm}"] for k in ("zoo", "paleo") for cm in ("paleo", "roofline")]
    print(json.dumps({
        "one_by_one_per_s": round(min(r["one_by_one_per_s"] for r in r50)),
        "batched_per_s": round(min(r["batched_per_s"] for r in r50)),
        "agree": agree,
        "jit_compile_s": round(jit_cold, 2), "jit_cache_load_s": round(jit_warm, 2),
        "per_case": {k: {"one_by_one_per_s": round(v["one_by_one_per_s"]),
                         "batched_per_s": round(v["batched_per_s"])} for k, v in rows.items()},
    }))


if __name__ == "__main__":
    main()
