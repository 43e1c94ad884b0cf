#!/usr/bin/env python3
"""Driver overhead: samples per second through the whole loop with an evaluator that costs nothing.

Each sample goes through the sampler, the store lookup, a worker process (a
pipe each way), the evaluator, one SQLite commit and the progress bar; tables
are rewritten after every step. With an instant evaluator this measures the
framework alone, to compare with real evaluations (seconds to hours).

    python3 bench/driver.py [--samples 2000]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(samples: int, jobs: int, per_step: int, evaluator: str) -> float:
    d = Path(tempfile.mkdtemp(prefix="deffe-bench-driver-"))
    (d / "ev.py").write_text("def evaluate(p):\n    return p['a'] * 1000 + p['b']\n")
    (d / "run.sh").write_text("echo $((a * 1000 + b)) > results.out\n")
    evaluate = {"plugin": "python", "function": "ev:evaluate"} if evaluator == "python" else {"script": "run.sh"}
    (d / "config.json").write_text(json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-1000"}, {"name": "b", "values": "0-100"}],
        "costs": ["c"], "evaluate": evaluate,
        "exploration": {"plugin": "sampling", "samples_per_step": per_step, "max_samples": samples,
                        "analysis": False}}))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "framework" / "run_deffe.py"), "-config", "config.json",
                           "-jobs", str(jobs), "-quiet", "-no-train"], cwd=d, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=2000)
    args = ap.parse_args()
    rows = []
    for evaluator, n in (("python", args.samples), ("script", max(args.samples // 10, 50))):
        for jobs in (1, 2):
            seconds = run(n, jobs, 100, evaluator)
            rows.append((evaluator, jobs, n, seconds, n / seconds, 1e3 * seconds / n))
    print(f"{'evaluator':10s} {'jobs':>4s} {'samples':>8s} {'seconds':>8s} {'samples/s':>10s} {'ms/sample':>10s}")
    for r in rows:
        print(f"{r[0]:10s} {r[1]:4d} {r[2]:8d} {r[3]:8.2f} {r[4]:10.1f} {r[5]:10.2f}")
    print(json.dumps({"python_samples_per_s_jobs1": round(rows[0][4], 1),
                      "python_samples_per_s_jobs2": round(rows[1][4], 1),
                      "script_samples_per_s_jobs1": round(rows[2][4], 1),
                      "script_samples_per_s_jobs2": round(rows[3][4], 1)}))


if __name__ == "__main__":
    main()
