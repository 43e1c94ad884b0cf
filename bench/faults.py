#!/usr/bin/env python3
"""Faults survived: a driver killed with kill -9 again and again, and bad input refused cleanly.

1. The same model-guided exploration twice: once undisturbed (the reference), once with its driver killed by
   SIGKILL at random moments (a killer process armed at the first evaluation of each driver's life sleeps a
   random fraction of a second), restarted with the same command until it finishes. Lost: reference points
   missing or with another cost; duplicates: points stored or listed twice; resume: seconds from a restart
   to its first new evaluation (start-up, replay of the stored steps, model training), the median.
2. Every case of the bad-input corpus (test/bad_inputs/): refused cleanly means exit status 2, one
   `error:` line naming the file, no traceback, the run directory unchanged.
3. A run over pre-evaluated data of distinct points (``--preload-rows``, default 200,000; a CSV file of 4 MB):
   the whole process, ``run_deffe.py -pre-evaluated-data F -only-preloaded-data-exploration -no-train``, timed
   from start to exit, with its peak memory: the file parsed, every row stored, the run made. ``--root DIR``
   measures another checkout's run_deffe.py the same way (the code before a change, in the same session).

    python3 bench/faults.py [--kills 20] [--samples 100] [--preload-rows 200000] [--only-preload] [--root DIR]
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


def preload_run(rows: int, root: Path = ROOT) -> dict:
    """The whole process of a run over ``rows`` pre-evaluated rows, each a distinct point: seconds, peak
    memory (MB), and what it said of the rows."""
    import resource
    d = Path(tempfile.mkdtemp(prefix="deffe-bench-preload-"))
    (d / "x.sh").write_text("echo 1 > results.out\n")
    (d / "config.json").write_text(json.dumps({
        "knobs": [{"name": "a", "values": "0-1000"}, {"name": "b", "values": "0-10000"},
                  {"name": "c", "values": ["fast", "slow"]}], "costs": ["t"], "evaluate": {"script": "x.sh"},
        "framework": {"report_files": False}, "exploration": {"samples_per_step": 10, "max_samples": 10}}))
    with open(d / "data.csv", "w") as fh:   # a = i % 1000, b = i // 1000 (then c): every row another point
        fh.write("a,b,c,t\n")
        for start in range(0, rows, 100_000):
            fh.write("".join(f"{i % 1000},{(i // 1000) % 10000},{'slow' if (i // 10_000_000) % 2 else 'fast'},"
                             f"{i * 0.5}\n" for i in range(start, min(rows, start + 100_000))))
    size = (d / "data.csv").stat().st_size / 2**20
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, str(root / "framework" / "run_deffe.py"), "-config", "config.json",
                           "-pre-evaluated-data", "data.csv", "-only-preloaded-data-exploration", "-no-train"],
                          cwd=d, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)})
    seconds = time.perf_counter() - t0
    said = next((line for line in done.stderr.splitlines() if "rows read" in line), done.stderr.strip()[-200:])
    (d / "data.csv").unlink()
    return {"file_mb": size, "rows": rows, "seconds": seconds, "rc": done.returncode, "said": said,
            "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--preload-rows", type=int, default=200_000)
    ap.add_argument("--only-preload", action="store_true", help="measure the run over pre-evaluated data only")
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout whose run_deffe.py the preload runs")
    args = ap.parse_args()
    pre = preload_run(args.preload_rows, args.root.resolve())
    rate = pre["rows"] / pre["seconds"]
    preload = [f"{'pre-evaluated data: file (MB) / distinct rows':52s} {pre['file_mb']:>6.0f} / {pre['rows']}",
               f"{'the whole run: seconds / rows a second':52s} {pre['seconds']:>6.1f} / {rate:,.0f}",
               f"{'the whole run: peak memory (MB) / exit status':52s} {pre['peak_mb']:>6.0f} / {pre['rc']}",
               f"  it said: {pre['said']}"]
    summary = {"preload_rows": pre["rows"], "preload_seconds": round(pre["seconds"], 1),
               "preload_peak_mb": round(pre["peak_mb"]), "preload_rc": pre["rc"]}
    if args.only_preload:
        print("\n".join(preload))
        print(json.dumps(summary))
        return
    k = kills_survived(args.kills, args.samples)
    tried, clean, failures = bad_inputs()
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
    print("\n".join(preload))
    print(json.dumps({"kills": k["kills"], "lost": k["lost"], "duplicates": k["duplicates"], "bad_inputs": tried,
                      "refused_cleanly": clean, "resume_seconds": round(k["resume_seconds"], 2), **summary}))

if __name__ == "__main__":
    try:
        main()
        sys.stdout.flush()   # here, where a reader gone is caught, not at the interpreter's exit
    except BrokenPipeError:   # stdout's reader went away (`faults.py ... | head -1`): stop quietly, as the Python
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # docs advise, with the status of a
        sys.exit(128 + 13)   # process stopped by SIGPIPE (13), as run_deffe's
