"""The memory model: what a device holds, and what happens when it does not fit.

Static, for the whole step, on the device of each layer (ZeRO paper's
accounting, Rajbhandari et al. 2020):
  weights and weight gradients in the compute precision; with fp16/bf16 an
  fp32 master copy of the weights; optimizer state in fp32: SGD none,
  momentum one buffer, Adam two (first and second moments).
  bytes per parameter: fp32 SGD 8, momentum 12, Adam 16; fp16/bf16 SGD 8,
  momentum 12, Adam 16 (2 + 2 + 4 master + 4 per state).

Dynamic, tracked by the event simulation per micro-batch (see schedule.py):
  - a layer's output is allocated on its device when its forward starts (a
    view, e.g. a reshape, allocates nothing and keeps its input alive) and
    freed after its last use: the forwards of its consumers on that device,
    the sends of it to other devices, and the backwards that keep it (a
    consumer that saves its input, the layer itself if it saves its output);
  - tensors only a layer holds for its backward (dropout masks, pooling
    indices, normalisation statistics) live from its forward to its backward;
  - a received copy is allocated on the receiving device when the transfer
    starts and freed after its last use there;
  - the gradient of a layer's output is allocated on a device when the first
    contribution to it starts (a consumer's backward, or an incoming
    transfer) and freed when the layer's backward ends (on the layer's
    device) or when it has been sent (on a consumer's device). Gradients
    arriving are summed into that buffer; forwarding buffers of multi-hop
    routes and all-reduce chunks are not counted.

A placement whose peak exceeds a device's capacity:
  memory="infeasible" (default): feasible=False and step_time = inf
    (throughput 0), so that minimisers never prefer it and no NaN leaks into
    comparisons;
  memory="penalty": feasible=False and step_time is multiplied by
    (1 + memory_penalty * overflow), overflow = max over devices of
    (peak - capacity) / capacity: a continuous, graded signal for search;
  memory="ignore": feasible is still reported, step_time is untouched.
"""
from __future__ import annotations

import numpy as np

from .devices.model import BYTES_PER_ELEMENT

OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2}


def bytes_per_param(precision: str, optimizer: str) -> float:
    """Static bytes per trainable parameter (weights, gradients, master copy, state)."""
    s = BYTES_PER_ELEMENT[precision]
    master = 4 if s < 4 else 0
    return 2 * s + master + 4 * OPTIMIZER_STATES[optimizer]


def apply_memory_policy(step_time: np.ndarray, peak: np.ndarray, capacity: np.ndarray,
                        mode: str, penalty: float) -> tuple[np.ndarray, np.ndarray]:
    """(step_time after the policy, feasible) for arrays of placements.

    `step_time` is (P,), `peak` (P, D), `capacity` (D,).
    """
    over = (peak - capacity[None, :]) / capacity[None, :]
    worst = over.max(axis=1) if over.shape[1] else np.zeros(len(step_time))
    feasible = worst <= 0
    if mode == "infeasible":
        out = np.where(feasible, step_time, np.inf)
    elif mode == "penalty":
        out = np.where(feasible, step_time, step_time * (1.0 + penalty * np.maximum(worst, 0.0)))
    else:
        out = step_time.copy()
    return out, feasible
