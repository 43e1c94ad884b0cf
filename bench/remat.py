"""Rematerialisation on DTR's eight operator logs: validation and sweeps.

    nice -n 10 python3 bench/remat.py /path/to/logs.zip --data-full /path/to/data-full.json [--quick]

For each model of logs.zip (read in place; DTR's logs carry no licence and are
never copied into the project):
  - validation: the baseline peak of the replay (unbounded budget) against the
    peak memory PyTorch measured on a Titan V for the same model in
    data-full.json (its "baseline" entry, total_mem in MB of 10^6 bytes); the
    log's file name carries its own batch / size setting, printed beside
    data-full's, because some logs were recorded with other settings than the
    measured runs (then the ratio says nothing about the simulator);
  - per heuristic: the overhead (simulated compute / baseline compute) at
    budgets of 0.1 .. 1.0 x the baseline peak ("-" = out of memory or beyond
    the thrash limit, DTR's 2x), and the wall seconds per budget point.
Ends with one JSON line:
  {"models": {model: {heuristic: {"overhead": {ratio: x}, "seconds_per_point": s}}},
   "peak_ratio": {model: r}}
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from simulator.graph import SimulatorError  # noqa: E402
from simulator.remat import HEURISTICS, RATIOS, baseline, load_dtr_log, replay  # noqa: E402


def _models(zip_path: str) -> list[tuple[str, str]]:
    """(model key, log file name) of every log in the archive, in the manifest's order."""
    with zipfile.ZipFile(zip_path) as z:
        names = [n for n in z.namelist() if n.endswith(".log")]
        order = []
        if "logs/manifest.json" in z.namelist():
            order = [m.get("log") for m in json.loads(z.read("logs/manifest.json")).get("models", [])]
    names.sort(key=lambda n: order.index(n) if n in order else len(order))
    return [(os.path.basename(n).split("-")[0], os.path.basename(n)) for n in names]


def _measured(data_full: dict | None, model: str) -> tuple[float | None, str]:
    """(measured baseline peak in bytes, description of its setting) from data-full.json."""
    if data_full is None or model not in data_full:
        return None, "no entry"
    for entry in data_full[model]:
        spec = entry.get("specific_params", {})
        summary = entry.get("summary")
        if spec.get("type") == "baseline" and isinstance(summary, list) and summary:
            mem = summary[0]["total_mem"]["median"] * 1e6
            extra = spec.get("extra_params") or {}
            setting = f"batch {spec.get('batch_size')}" + "".join(f", {k} {v}" for k, v in extra.items())
            return mem, setting
    return None, "no baseline entry"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("logs_zip")
    p.add_argument("--data-full", help="DTR's data-full.json (measured peaks) for the validation")
    p.add_argument("--quick", action="store_true", help="ratios 0.2, 0.5, 1.0 and heuristics dtr_eq, lru")
    p.add_argument("--thrash-limit", type=float, default=2.0)
    args = p.parse_args()
    try:
        models = _models(args.logs_zip)
        data_full = json.load(open(args.data_full)) if args.data_full else None
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    ratios = (0.2, 0.5, 1.0) if args.quick else RATIOS
    heuristics = ("dtr_eq", "lru") if args.quick else HEURISTICS

    out_models: dict = {}
    peak_ratio: dict = {}
    print("validation: baseline peak of the replay vs the peak measured on a Titan V (data-full.json)")
    print(f"{'model':16s} {'log':>40s} {'ops':>6s} {'replay MB':>11s} {'measured MB':>12s} {'ratio':>7s}  measured setting")
    traces = {}
    for model, log_name in models:
        try:
            trace = load_dtr_log(args.logs_zip, model)
        except SimulatorError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        traces[model] = trace
        peak, compute = baseline(trace)
        measured, setting = _measured(data_full, model)
        ratio = peak / measured if measured else None
        peak_ratio[model] = None if ratio is None else round(ratio, 5)
        shown = "-" if ratio is None else f"{ratio:.4f}"
        meas = "-" if measured is None else f"{measured / 1e6:,.1f}"
        print(f"{model:16s} {log_name[:40]:>40s} {trace.op_calls():6d} {peak / 1e6:11,.1f} {meas:>12s} {shown:>7s}  {setting}")

    # compile (or load the compiled kernel) before timing anything
    first = next(iter(traces.values()))
    replay(first, 0.5 * baseline(first)[0])

    print()
    print("overhead (simulated compute / baseline) per budget ratio; '-' = out of memory or beyond "
          f"{args.thrash_limit:g}x; ms = wall time per budget point (mean, max)")
    head = " ".join(f"{r:>6.1f}" for r in ratios)
    for model, trace in traces.items():
        peak, _ = baseline(trace)
        print(f"\n{model} ({trace.op_calls()} ops, baseline peak {peak / 1e6:,.1f} MB)")
        print(f"  {'heuristic':10s} {head}  {'ms mean':>9s} {'ms max':>9s}")
        out_models[model] = {}
        for h in heuristics:
            results = [replay(trace, r * peak, h, thrash_limit=args.thrash_limit) for r in ratios]
            secs = [res.seconds for res in results]
            cells = " ".join(f"{res.overhead:6.3f}" if math.isfinite(res.overhead) else f"{'-':>6s}"
                             for res in results)
            mean = sum(secs) / len(secs)
            print(f"  {h:10s} {cells}  {mean * 1e3:9.2f} {max(secs) * 1e3:9.2f}")
            out_models[model][h] = {
                "overhead": {str(r): (round(res.overhead, 5) if math.isfinite(res.overhead) else None)
                             for r, res in zip(ratios, results)},
                "seconds_per_point": round(mean, 6)}
            sys.stdout.flush()
    print()
    print(json.dumps({"models": out_models, "peak_ratio": peak_ratio}))
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    status = main()
    print(f"(total {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    raise SystemExit(status)
