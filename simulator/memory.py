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
    routes and all-reduce chunks are not counted. The backward of a view of
    its whole input (reshape, flatten) allocates no gradient for that input:
    its own output gradient becomes the input's when it is the first
    contribution (PyTorch's view backward returns a view of it); a view of a
    part (select, slice) allocates the input's whole gradient.

A placement whose peak exceeds a device's capacity:
  memory="infeasible" (default): feasible=False and step_time = inf
    (throughput 0), so that minimisers never prefer it and no NaN leaks into
    comparisons;
  memory="penalty": feasible=False and step_time is multiplied by
    (1 + memory_penalty * overflow), overflow = max over devices of
    (peak - capacity) / capacity: a continuous, graded signal for search;
  memory="ignore": feasible is still reported, step_time is untouched.

A memory budget (`memory_budget`, bytes or a fraction of each device's
memory) lowers what a device may hold; with `remat` a device whose peak is
over its budget rematerialises instead of failing (simulator/remat_placement.py).

Training algorithms (`training_algorithm`; ZPP-MEM's BP, FA, DFA and MEM-DFA).
W_l is a layer's weight matrix, h_l its output (width n_l per sample), e the
error at the output (n_out per sample); "feedback matrices" are fixed random
matrices stored in the compute precision for the whole step (static bytes).
  backprop (default): as above.
  feedback_alignment (FA, Lillicrap et al. 2016): the backward pass sends the
    error through a fixed random B_l of W_l's shape instead of W_l^T. The chain
    of the backward, what is saved and the arithmetic are those of backprop
    (B_l e has the cost of W_l^T e), so time and activations are unchanged; a
    layer with a weight matrix (not a normalisation's scale and shift) holds
    one more matrix of its weights' size.
  direct_feedback_alignment (DFA, Nokland 2016): each layer gets B_l e with a
    B_l of n_out x n_l straight from the output error, so no gradient flows
    between layers: every backward may start as soon as its micro-batch's loss
    is known (no backward chain; across a pipeline, all stages update at once),
    and a backward holds only its own projected error (n_l per sample) instead
    of the output gradient plus its parents' gradients. Activations are still
    saved from the forward to the layer's update, as in backprop. The backward
    is costed as backprop's (data gradient replaced by the projection; an
    upper bound for convolutions, whose projection is cheaper). The error
    vector (n_out per sample) is sent from the loss device to every other
    device holding a backward, once per micro-batch, before its backwards start
    (simulator 0.4.0; its few bytes are not counted in memory).
  memory_efficient_dfa (ME-DFA, ZPP-MEM's MEM-DFA): a first forward computes
    the error without saving anything for later (inference memory); a second
    forward recomputes each layer and applies its DFA update at once, so only
    that layer's input, output and projected error are alive. Modelled as DFA
    with nothing saved by the forward, a backward that costs one more forward
    (recompute + update) and holds input + output + projected error. The
    second pass's forward chain between devices is not modelled (its tasks are
    released by the loss like DFA's): exact on one device, optimistic across a
    pipeline.
"""
from __future__ import annotations

import numpy as np

from .devices.model import BYTES_PER_ELEMENT

OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2}
# layers whose parameters are per-channel scales and shifts, not weight matrices: FA and DFA
# give them no feedback matrix
NO_FEEDBACK_KINDS = ("batch_norm", "layer_norm")


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


def apply_training_algorithm(costs, network, algorithm: str, precision: str) -> tuple[int, np.ndarray]:
    """Adjust the cost tables (in place) to `algorithm`; returns (direct_grad, bwd_alloc) for the kernel:
    direct_grad = 1 when no gradient flows between layers, bwd_alloc = bytes a backward holds while it runs
    (used only with direct_grad). See the module docstring for the reasoning."""
    L = len(network.layers)
    bwd_alloc = np.zeros(L)
    if algorithm == "backprop":
        return 0, bwd_alloc
    s = BYTES_PER_ELEMENT[precision]
    weighted = np.array([l.params > 0 and l.op.kind not in NO_FEEDBACK_KINDS for l in network.layers], dtype=bool)
    weighted &= costs.has_bwd.astype(bool)
    if algorithm == "feedback_alignment":
        costs.static_bytes = costs.static_bytes + np.where(weighted, costs.grad_bytes, 0.0)  # B_l ~ W_l
        return 0, bwd_alloc
    consumed = {p for l in network.layers for p in l.parents}
    n_out = sum(float(l.out_elems) for l in network.layers if l.name not in consumed)
    width = np.array([float(l.out_elems) for l in network.layers])
    costs.static_bytes = costs.static_bytes + np.where(weighted, n_out * width * s, 0.0)  # B_l: n_out x n_l
    bwd_alloc = costs.xfer_bytes.copy()  # the projected error B_l e
    if algorithm == "memory_efficient_dfa":
        parents_bytes = np.array([sum(costs.xfer_bytes[network.index[p]] for p in l.parents)
                                  for l in network.layers])
        bwd_alloc = bwd_alloc + costs.xfer_bytes + parents_bytes  # recomputed output and inputs
        costs.bwd = costs.bwd + costs.fwd  # the second forward, layer by layer
        costs.saved_slot = [()] * L
        costs.saves_output = np.zeros(L, dtype=bool)
        costs.private_bytes = np.zeros(L)
    return 1, np.where(costs.has_bwd, bwd_alloc, 0.0)
