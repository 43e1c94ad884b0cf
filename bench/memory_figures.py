"""Figures of the memory section of the README: python3 bench/memory_figures.py docs/img

Memory timelines of a VGG-16 pipeline (gpipe, 1f1b), peak memory and step time of the four
training algorithms, step time against memory budget with rematerialisation. Prints the figures
as one JSON line."""
import json
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
import simulator as sim

OUT = sys.argv[1] if len(sys.argv) > 1 else "."
figures = {}

# 1. memory timelines of a 4-stage pipeline, gpipe against 1f1b
net = sim.zoo.load("vgg16", batch_size=128).regroup(4)
for schedule in ("gpipe", "1f1b"):
    r = sim.simulate(net, "cpu+4xV100-pcie3", [1, 2, 3, 4], micro_batches=4, schedule=schedule, trace=True)
    assert r.memory.peak().tolist() == r.peak_memory.tolist()
    r.memory.plot(f"{OUT}/memory-timeline-{schedule}.png",
                  title=f"VGG-16, batch 128, 4 stages x 4 micro-batches, {schedule}")
    figures[f"peak_gb_{schedule}"] = (r.peak_memory[1:] / 1e9).round(3).tolist()
    figures[f"step_ms_{schedule}"] = round(r.step_time * 1e3, 2)

# 2. training algorithms: peak memory and step time, VGG-16 (10 classes), one GPU
algs = ("backprop", "feedback_alignment", "direct_feedback_alignment", "memory_efficient_dfa")
net10 = sim.zoo.load("vgg16", batch_size=32, num_classes=10)
res = {a: sim.simulate(net10, "cpu+4xV100-pcie3", 1, training_algorithm=a, memory="ignore") for a in algs}
pipe = sim.zoo.load("resnet18", batch_size=64).regroup(4)
pres = {a: sim.simulate(pipe, "cpu+4xV100-pcie3", [1, 2, 3, 4], training_algorithm=a) for a in algs}
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
labels = ["BP", "FA", "DFA", "ME-DFA"]
axes[0].bar(labels, [res[a].peak_memory[1] / 1e9 for a in algs])
axes[0].set_ylabel("peak memory (GB)")
axes[0].set_title("VGG-16 (10 classes), batch 32, 1 GPU", fontsize=9)
axes[1].bar(labels, [res[a].step_time * 1e3 for a in algs])
axes[1].set_ylabel("step time (ms)")
axes[1].set_title("same", fontsize=9)
axes[2].bar(labels, [pres[a].step_time * 1e3 for a in algs])
axes[2].set_ylabel("step time (ms)")
axes[2].set_title("ResNet-18, batch 64, 4-GPU pipeline", fontsize=9)
fig.tight_layout()
fig.savefig(f"{OUT}/training-algorithms.png", dpi=120)
figures["algorithms_vgg16_1gpu"] = {a: {"peak_gb": round(res[a].peak_memory[1] / 1e9, 3),
                                        "step_ms": round(res[a].step_time * 1e3, 2)} for a in algs}
figures["algorithms_resnet18_pipeline_step_ms"] = {a: round(pres[a].step_time * 1e3, 2) for a in algs}

# 3. rematerialisation on one GPU: step time against the budget, per heuristic
net8 = sim.zoo.load("vgg16", batch_size=128).regroup(8)
peak = sim.simulate(net8, "cpu+4xV100-pcie3", 1).peak_memory[1]
fracs = np.round(np.arange(0.35, 1.001, 0.05), 2)
fig, ax = plt.subplots(figsize=(6, 3.8))
curves = {}
for h in ("dtr_eq", "dtr", "lru", "largest"):
    ys = []
    for f in fracs:
        r = sim.simulate(net8, "cpu+4xV100-pcie3", 1, memory_budget={"gpu0": float(f * peak)}, remat="all",
                         remat_heuristic=h)
        ys.append(r.step_time * 1e3 if r.feasible else np.nan)
    curves[h] = [None if np.isnan(y) else round(y, 1) for y in ys]
    ax.plot(fracs, ys, marker="o", ms=3, label=h)
ax.set_xlabel("memory budget / peak without rematerialisation")
ax.set_ylabel("step time (ms)")
ax.set_title("VGG-16, batch 128, one V100: rematerialising to fit", fontsize=9)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(f"{OUT}/remat-budget.png", dpi=120)
figures["remat_budget_fracs"] = fracs.tolist()
figures["remat_budget_step_ms"] = curves
print(json.dumps(figures))
