#!/usr/bin/env python3
"""Faults survived: a driver killed with kill -9 again and again, and bad input refused cleanly.

1. The same model-guided exploration twice: once undisturbed (the reference), once with its driver killed by
   SIGKILL at random moments (a killer process armed at the first evaluation of each driver's life sleeps a
   random fraction of a second), restarted with the same command until it finishes. Lost: reference points
   missing or with another cost; duplicates: points stored or listed twice; resume: seconds from a restart
   to its first new evaluation (start-up, replay of the stored steps, model training), the median.
2. Every case of the bad-input corpus (test/bad_inputs/): refused cleanly means exit status 2, one
   `error:` line naming the file, no traceback, the run directory unchanged.
3. A large pre-evaluated CSV file (``--csv-mb``, default 100) read as the driver reads it: seconds, and the
   peak memory of the process against the file's size (the text is streamed; the rows are kept as numbers).

    python3 bench/faults.py [--kills 20] [--samples 100] [--csv-mb 100]
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_DEFFE = ROOT / "framework" / "run_deffe.py"

EVALUATOR = '''
import os, random, subprocess, sys, time

def evaluate(p):
    d = os.environ["FAULT_DIR"]
    driver = os.getppid()
    with open(os.path.join(d, "calls.log"), "a") as fh:
        fh.write(f"{driver} {time.time()} {p['a']},{p['b']},{p['c']}\\n")
    marker = os.path.join(d, f"kill_{driver}")
    kills = [f for f in os.listdir(d) if f.startswith("kill_")]
    if len(kills) < int(os.environ["KILLS"]) and not os.path.exists(marker):
        open(marker, "w").close()
        delay = random.Random(driver).uniform(0.0, 0.5)
        subprocess.Popen([sys.executable, "-c", f"import os, time; time.sleep({delay}); os.kill({driver}, 9)"],
                         start_new_session=True)
    time.sleep(0.05)
    return {"t": (p["a"] - 5) ** 2 + (p["b"] - 2) ** 2 + 0.5 * p["c"], "m": p["a"] + p["b"]}
'''


def setup(folder: Path, samples: int) -> None:
    folder.mkdir(parents=True)
    (folder / "faults").mkdir()
    (folder / "ev.py").write_text(EVALUATOR)
    (folder / "config.json").write_text(json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "a", "values": "0-20"}, {"name": "b", "values": "0-20"}, {"name": "c", "values": "0-20"}],
        "costs": ["t", "m"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"epochs": 60, "ensemble": 3},
        "exploration": {"initial_samples": 20, "samples_per_step": 10, "max_samples": samples, "analysis": False},
        "framework": {"seed": 5, "progress": False}}))


def run(folder: Path, kills: int) -> tuple[int, float]:
    env = {**os.environ, "FAULT_DIR": str(folder / "faults"), "KILLS": str(kills)}
    env.pop("DEFFE_DIR", None)
    t0 = time.time()
    proc = subprocess.run([sys.executable, str(RUN_DEFFE), "-config", "config.json", "-quiet"], cwd=folder, env=env,
                          capture_output=True, text=True)
    if proc.returncode not in (0, -9):
        sys.exit(f"the run failed on its own:\n{proc.stderr}")
    return proc.returncode, t0


def stored(folder: Path) -> tuple[dict, int]:
    with sqlite3.connect(folder / "explore" / "deffe.db") as db:
        rows = db.execute("SELECT key, costs, status FROM samples").fetchall()
    return {k: (c, s) for k, c, s in rows}, len(rows)


def kills_survived(kills: int, samples: int) -> dict:
    base = Path(tempfile.mkdtemp(prefix="deffe-bench-faults-"))
    setup(base / "reference", samples)
    run(base / "reference", 0)
    setup(base / "killed", samples)
    starts = []
    for _ in range(kills + 10):
        rc, t0 = run(base / "killed", kills)
        starts.append(t0)
        if rc == 0:
            break
    done = len([f for f in os.listdir(base / "killed" / "faults") if f.startswith("kill_")])
    want, _ = stored(base / "reference")
    got, rows = stored(base / "killed")
    lost = sum(1 for k, v in want.items() if got.get(k) != v)
    table = (base / "killed" / "explore" / "deffe_evaluation.csv").read_text().splitlines()[1:]
    duplicates = (rows - len(got)) + (len(table) - len(set(table)))
    calls = [line.split() for line in (base / "killed" / "faults" / "calls.log").read_text().splitlines()]
    first_call: dict[str, float] = {}
    for pid, t, _point in calls:
        first_call.setdefault(pid, float(t))
    # each life's first evaluation, after its start (the first life starts from nothing: not a resume)
    resumes = sorted(first_call.values())[1:]
    waits = [t - max(s for s in starts if s <= t) for t in resumes]
    return {"kills": done, "lives": len(starts), "lost": lost, "duplicates": duplicates, "points": len(got),
            "reference_points": len(want), "resume_seconds": statistics.median(waits) if waits else 0.0}


def bad_inputs() -> tuple[int, int, list[str]]:
    """(tried, refused cleanly, the cases that were not) over the corpus of test/bad_inputs/."""
    sys.path[:0] = [str(ROOT), str(ROOT / "test"), str(ROOT / "test" / "bad_inputs")]
    from cases import CASES                  # the corpus, and how a case is tried: shared with its test
    from runner import prepare, try_case
    workdir = prepare(Path(tempfile.mkdtemp(prefix="deffe-bench-bad-")))
    bad = [c for c in CASES if not c.ok]
    failures = [f"{case.id}: {problem}" for case in bad if (problem := try_case(case, workdir))]
    return len(bad), len(bad) - len(failures), failures


BIG_CSV_READER = """
import resource, sys, time
sys.path.insert(0, sys.argv[3])
from pathlib import Path
from framework.config import load_config
from framework.preload import load_csv
space = load_config(sys.argv[1]).explores[0].space
t0 = time.perf_counter()
pre = load_csv(Path(sys.argv[2]), sys.argv[2], space, ["t"])
print(len(pre.results), time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def big_csv(megabytes: int) -> dict:
    """Read a CSV file of this size as -pre-evaluated-data is read: rows, seconds, peak memory (MB)."""
    d = Path(tempfile.mkdtemp(prefix="deffe-bench-csv-"))
    (d / "config.json").write_text(json.dumps({
        "knobs": [{"name": "a", "values": "0-1000"}, {"name": "b", "values": "0-1000"},
                  {"name": "c", "values": ["fast", "slow"]}], "costs": ["t"], "evaluate": {"script": "x.sh"}}))
    line = "{a},{b},{c},{t}\n"
    with open(d / "big.csv", "w") as fh:
        fh.write("a,b,c,t\n")
        chunk = "".join(line.format(a=i % 1000, b=(i * 7) % 1000, c="fast" if i % 3 else "slow", t=i * 0.5)
                        for i in range(100_000))
        for _ in range(max(1, megabytes * 2**20 // len(chunk))):
            fh.write(chunk)
    size = (d / "big.csv").stat().st_size / 2**20
    out = subprocess.run([sys.executable, "-c", BIG_CSV_READER, str(d / "config.json"), str(d / "big.csv"), str(ROOT)],
                         capture_output=True, text=True, check=True).stdout.split()
    (d / "big.csv").unlink()
    return {"file_mb": size, "rows": int(out[0]), "seconds": float(out[1]), "peak_mb": float(out[2])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--csv-mb", type=int, default=100)
    args = ap.parse_args()
    k = kills_survived(args.kills, args.samples)
    tried, clean, failures = bad_inputs()
    big = big_csv(args.csv_mb)
    print(f"{'what':52s} {'value':>10s}")
    print(f"{'kills (kill -9 of the driver at random moments)':52s} {k['kills']:>10d}")
    print(f"{'driver lives until the exploration finished':52s} {k['lives']:>10d}")
    print(f"{'points evaluated (the undisturbed run: ' + str(k['reference_points']) + ')':52s} {k['points']:>10d}")
    print(f"{'evaluations lost (must be 0)':52s} {k['lost']:>10d}")
    print(f"{'duplicates (must be 0)':52s} {k['duplicates']:>10d}")
    print(f"{'resume: restart to first new evaluation, median (s)':52s} {k['resume_seconds']:>10.2f}")
    print(f"{'bad inputs tried':52s} {tried:>10d}")
    print(f"{'bad inputs refused cleanly':52s} {clean:>10d}")
    for f in failures:
        print(f"  not clean: {f}")
    print(f"{'large CSV read: file (MB) / rows':52s} {big['file_mb']:>6.0f} / {big['rows']}")
    print(f"{'large CSV read: seconds / peak memory of the process (MB)':52s} {big['seconds']:>6.1f} / "
          f"{big['peak_mb']:.0f}")
    print(json.dumps({"kills": k["kills"], "lost": k["lost"], "duplicates": k["duplicates"], "bad_inputs": tried,
                      "refused_cleanly": clean, "resume_seconds": round(k["resume_seconds"], 2),
                      "csv_mb": round(big["file_mb"]), "csv_rows": big["rows"], "csv_seconds": round(big["seconds"], 1),
                      "csv_peak_mb": round(big["peak_mb"])}))


if __name__ == "__main__":
    main()
