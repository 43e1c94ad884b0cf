"""The simulator against measured training throughput: ResNet-50 on V100 and A100 machines and BERT-large
pre-training on V100s, 1 and 8 GPUs, fp32 and mixed precision.

The measurements are NVIDIA's published DeepLearningExamples figures (bench/data/measured/, with their
source). Each row is simulated as it was run: the zoo's network (ResNet-50 is torchvision's v1.5;
BERT-large at the row's sequence length) on the machine's preset, the per-GPU batch, the row's optimizer,
fp32 or AMP (the simulator's fp16 with tensor-core rates), one replica per GPU (data parallel, gradients
all-reduced by a ring over NVLink), with both cost models (Paleo's only for fp32: it has no other).
Nothing is fitted to these figures: the roofline model runs with its default efficiencies.

It prints a table (measured, simulated, their ratio) and the scaling from 1 to 8 GPUs, measured and
simulated, then one JSON line.

    python bench/simulator_real.py
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import simulator as sim  # noqa: E402

DATA = REPO / "bench" / "data" / "measured" / "training_throughput_dle.csv"
PRECISION = {"fp32": "fp32", "amp": "fp16"}


def simulate(row: dict, cost_model: str) -> float:
    config = {"seq_len": int(row["seq_len"])} if row["seq_len"] else {}
    net = sim.zoo.load(row["network"], batch_size=8, **config)
    gpus, batch = int(row["gpus"]), int(row["batch_per_gpu"])
    result = sim.simulate(net, row["preset"], 1, batch_size=batch * gpus, replicas=gpus,
                          precision=PRECISION[row["precision"]], optimizer=row["optimizer"], cost_model=cost_model)
    if not result.feasible:
        return float("nan")
    return float(result.throughput)


def main() -> int:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args()
    rows = list(csv.DictReader(DATA.open()))
    out = []
    print(f"{'network':15s} {'system':30s} {'GPUs':>4s} {'prec':>4s} {'batch':>5s} {'measured':>9s} {'roofline':>9s} "
          f"{'ratio':>6s} {'paleo':>9s} {'ratio':>6s}")
    for row in rows:
        measured = float(row["measured_per_s"])
        roof = simulate(row, "roofline")
        paleo = simulate(row, "paleo") if row["precision"] == "fp32" else float("nan")
        out.append({**row, "roofline": roof, "paleo": paleo, "roofline_ratio": roof / measured,
                    "paleo_ratio": paleo / measured})
        pal = f"{paleo:9.1f} {paleo / measured:6.2f}" if not math.isnan(paleo) else f"{'-':>9s} {'-':>6s}"
        label = row["network"] + (f" ({row['seq_len']})" if row["seq_len"] else "")
        print(f"{label:15s} {row['system']:30s} {row['gpus']:>4s} {row['precision']:>4s} {row['batch_per_gpu']:>5s} "
              f"{measured:9.1f} {roof:9.1f} {roof / measured:6.2f} {pal}")
    print("\nscaling from 1 to 8 GPUs (throughput ratio):")
    scaling = []
    for r8 in (r for r in out if r["gpus"] == "8"):
        r1 = next(r for r in out if r["gpus"] == "1" and all(r[k] == r8[k] for k in
                                                             ("network", "seq_len", "system", "precision")))
        m = float(r8["measured_per_s"]) / float(r1["measured_per_s"])
        s = r8["roofline"] / r1["roofline"]
        scaling.append({"network": r8["network"], "seq_len": r8["seq_len"], "system": r8["system"],
                        "precision": r8["precision"], "measured": m, "roofline": s})
        print(f"  {r8['network']:10s} {r8['seq_len']:>3s} {r8['system']:30s} {r8['precision']:>4s}: measured {m:.2f}x, "
              f"roofline {s:.2f}x")
    ratios = [r["roofline_ratio"] for r in out]
    paleo = [r["paleo_ratio"] for r in out if not math.isnan(r["paleo_ratio"])]
    by_precision = {p: statistics.median(r["roofline_ratio"] for r in out if r["precision"] == p)
                    for p in ("fp32", "amp")}
    summary = {
        "rows": len(out), "roofline_ratio_median_by_precision": by_precision,
        "roofline_ratio_median": statistics.median(ratios), "roofline_ratio_min": min(ratios),
        "roofline_ratio_max": max(ratios),
        "roofline_median_abs_error_pct": 100 * statistics.median(abs(x - 1) for x in ratios),
        "paleo_ratio_median": statistics.median(paleo) if paleo else None,
        "scaling": scaling,
    }
    print(f"\nroofline / measured: median {summary['roofline_ratio_median']:.2f} "
          f"({summary['roofline_ratio_min']:.2f} to {summary['roofline_ratio_max']:.2f}; fp32 "
          f"{by_precision['fp32']:.2f}, AMP {by_precision['amp']:.2f}); "
          f"paleo / measured (fp32): median {summary['paleo_ratio_median']:.2f}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
