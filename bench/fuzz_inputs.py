"""Bad and odd inputs through the real command line: every one must end in a clean run or a one-line error.

Each case is a small config (a Python evaluator over a few knobs) with one key set to a value a user
could write by mistake or on purpose: null, 0, a negative number, 1e300, text where a number belongs,
an empty list, and the odd but legal values of each option (a learning rate of 0, a log range whose
end is 100, a device named 'gpu0'). The case runs `framework/run_deffe.py -config` in a directory of its
own; a Python traceback on stderr, an exit status other than 0 or 2, an error that only repeats a
plugin's exception ("failed in Run(): TypeError ...") or an input file changed by the run counts against
us. The keys are read from the config schema, so a new key is fuzzed without touching this file.

    python bench/fuzz_inputs.py            # every case (about 700 runs; 25 to 40 minutes on 2 cores)
    python bench/fuzz_inputs.py --quick    # one odd value per key of the model and exploration sections
    python bench/fuzz_inputs.py --sections model,framework --jobs 2

The last line is JSON: {"cases", "clean_errors", "ran", "bad", "bad_cases": [...]}.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import copy
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from framework.config import schema  # noqa: E402

BASE = {"knobs": [{"name": "x", "values": list(range(1, 13))}, {"name": "y", "values": [1, 2, 4, 8]},
                  {"name": "z", "type": "real", "min": 1, "max": 100, "log": True},
                  {"name": "d", "type": "categorical", "values": [0, 1, 2], "count": 3, "exchangeable": True}],
        "costs": ["c", "m"], "evaluate": {"plugin": "python", "function": "f:f"},
        "exploration": {"plugin": "surrogate", "initial_samples": 12, "samples_per_step": 6, "max_samples": 24,
                        "candidates": 200},
        "model": {"epochs": 10}}
EVALUATOR = ('def f(p):\n'
             '    return {"c": p["x"] * p["y"] + p["z"] + sum(p[f"d_{i}"] for i in range(3)) + 1,\n'
             '            "m": p["x"] + p["y"]}\n')
ODD = [None, 0, -1, 1e300, "x", [], {}, True]
SKIP = {"plugin", "pyscript", "options", "arguments", "ml_arguments", "ml_model_script", "ml_model_type",
        "output_log", "slurm", "explore", "dask", "simulator", "initial_checkpoint", "function", "script",
        "sample_evaluate_script", "source_scripts", "interpreter", "executor", "run_directory"}
FUZZED = ("sampling", "model", "exploration", "framework", "evaluate")


def cases(sections: tuple[str, ...], quick: bool) -> list[tuple[str, dict]]:
    out = []
    for section in sections:
        for key, spec in schema.SECTIONS[section].items():
            if key in SKIP or spec.deffe:
                continue
            for value in (ODD[:2] if quick else ODD):
                cfg = copy.deepcopy(BASE)
                cfg.setdefault(section, {})[key] = value
                out.append((f"{section}.{key}={json.dumps(value)}", cfg))
    for plugin in ("random", "lhs", "sobol", "halton", "factorial", "fractional_factorial", "plackett_burman",
                   "box_behnken", "central_composite"):   # every designed sampler on a log range
        cfg = copy.deepcopy(BASE)
        cfg["sampling"] = {"plugin": plugin}
        out.append((f"sampling.plugin={plugin}", cfg))
    return out


def run_case(case: tuple[str, dict], root: Path, timeout: float) -> dict:
    name, cfg = case
    d = root / f"{abs(hash(name)):x}"
    d.mkdir(parents=True)
    text = json.dumps(cfg)
    (d / "c.json").write_text(text)
    (d / "f.py").write_text(EVALUATOR)
    try:
        r = subprocess.run([sys.executable, str(REPO / "framework" / "run_deffe.py"), "-config", "c.json"],
                           cwd=d, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, "DEFFE_REPORTS": "off"})
    except subprocess.TimeoutExpired:
        return {"case": name, "verdict": "bad", "why": f"no end within {timeout:g} s"}
    last = ((r.stdout + r.stderr).strip().splitlines() or [""])[-1]
    why = None
    if "Traceback (most recent call last)" in r.stderr:
        why = "traceback"
    elif r.returncode not in (0, 2):
        why = f"exit status {r.returncode}"
    elif r.returncode == 2 and ("failed in " in last or "Error: " in last.split(":", 2)[-1][:40]):
        why = "a plugin's exception"
    elif (d / "c.json").read_text() != text or (d / "f.py").read_text() != EVALUATOR:
        why = "an input file changed"
    verdict = "bad" if why else ("error" if r.returncode == 2 else "ran")
    return {"case": name, "verdict": verdict, "why": why, "last": last[:200]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="null and 0 only, model and exploration sections")
    ap.add_argument("--sections", default=None, help=f"comma-separated, of {', '.join(FUZZED)}")
    ap.add_argument("--jobs", type=int, default=2, help="cases run at once")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds one case may take")
    a = ap.parse_args()
    sections = tuple(a.sections.split(",")) if a.sections else (("model", "exploration") if a.quick else FUZZED)
    bad_section = [s for s in sections if s not in FUZZED]
    if bad_section:
        sys.exit(f"error: --sections: unknown section '{bad_section[0]}'; sections: {', '.join(FUZZED)}")
    todo = cases(sections, a.quick)
    with tempfile.TemporaryDirectory(prefix="deffe-fuzz-") as tmp:
        with cf.ThreadPoolExecutor(max(1, a.jobs)) as pool:
            results = list(pool.map(lambda c: run_case(c, Path(tmp), a.timeout), todo))
    print(f"{'case':60s} {'verdict':7s} last line")
    for r in results:
        print(f"{r['case'][:60]:60s} {r['verdict']:7s} {(r['why'] + ': ' if r['why'] else '') + r['last'][:90]}")
    counts = {v: sum(r["verdict"] == v for r in results) for v in ("error", "ran", "bad")}
    print(json.dumps({"cases": len(results), "clean_errors": counts["error"], "ran": counts["ran"],
                      "bad": counts["bad"], "bad_cases": [r["case"] for r in results if r["verdict"] == "bad"]}))


if __name__ == "__main__":
    main()
