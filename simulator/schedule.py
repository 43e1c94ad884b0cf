"""The schedule of one training step, and the flat arrays the kernel runs on.

What is simulated (the kernel, `simulator.kernel.run_batch`, implements it):

Tasks. For every micro-batch m and replica k, each layer has a forward task
and, if its output requires grad, a backward task (data gradient + weight
gradient). Each bucket of weights (the layers of one group on one device)
has one optimizer-update task per replica, after all its backward tasks and,
with replicas, after its all-reduce. A device runs one task at a time.

Dependencies. A forward needs each input: from the same device when its
producer's forward is done, from another device when the transfer has
arrived. The backward of micro-batch m starts at the layers that have no
consumers (the loss) once *every* forward of m (of that replica) is done, as
`loss.backward()` after the forward. A backward needs the gradient of its
output from every consumer: local consumers' backwards, and one transfer per
consumer device (the consumers on that device sum their contributions there
first). Layers whose output needs no gradient (the data, layers before the
first weights) have no backward and receive no gradient. Under direct feedback
alignment (DFA and ME-DFA, `direct_grad`) a backward needs no gradient from
its consumers, only the output error e of its micro-batch: the backwards on
the device of the last output layer (the loss) start once every forward of
m is done; every other device holding a backward first receives e (the bytes
of the outputs that have a backward) from there, one transfer per
micro-batch and device. These transfers count in the traffic and the
channels' time; the trace does not list them and e's memory is not counted.

Transfers. A layer's output goes once to each other device that consumes it.
A transfer follows its route hop by hop (store and forward); each hop waits
for its channel and takes latency + bytes / bandwidth (Paleo: max(one cycle
of the sending device, bytes / 2^30 / (Gbit/s / 8) / ppp_comm)). A channel
serves two classes, each first come first served in the order of request
time: activations and output gradients (the pipeline's transfers) first,
all-reduce chunks only when no pipeline transfer waits (a chunk being sent
is not interrupted). Frameworks send these on separate streams, the
gradient all-reduce in the background; with one first-come-first-served
queue a chunk requested a little earlier (a faster link elsewhere) could
hold up a gradient on the critical path and make the step slower.

Time order and priorities. Events are processed in strict time order: the
simulation jumps to the earliest completion, handles every completion at that
time (devices by index, then channels by index; this order also ranks
transfers requested at the same instant), and only then lets each idle device
start its best ready task and each idle channel the head of its queue. A
device ranks ready tasks by (class, micro-batch, position): gpipe: forwards,
then backwards, then updates; 1f1b: backwards, then forwards, then updates;
lower micro-batch first; forwards in topological order, backwards in reverse
topological order, updates by bucket.

Pipelining. `micro_batches=m` splits the replica's batch into m equal
micro-batches. gpipe: a device starts no backward before it has run all its
forwards (all forwards, then all backwards). 1f1b (PipeDream-flush, as in
Megatron-LM): the stages are the runs of consecutive layers (in layer order)
on one device, S in all, and a stage-level op is the forward, or the
backward, of one micro-batch on one stage (all its layers there). The rules
for a device, on top of the priority above:
  (a) a stage-level op begun on the device is finished before another
      stage-level op starts there (a device waits for the rest of its op's
      inputs rather than start another micro-batch's work; updates are not
      held back);
  (b) the in-flight bound: a device keeps at most `limit` micro-batches in
      flight (started, not finished on that device); a forward of a
      micro-batch not yet started waits. A device whose first stage is s
      has limit S - s if it holds one stage (a contiguous pipeline of p
      devices: p - rank), ceil((S - s) / v) + 1 if it holds v > 1 stages
      (a micro-batch's round trip from stage s passes v of the device's
      stages, and one more micro-batch lets it start the next one's first
      stage meanwhile);
  (c) a device holding one stage begins the backward of micro-batch i only
      once the forward of micro-batch i + limit - 1 has started (if m has
      it).
So a device holding one stage runs exactly Megatron's order: the warm-up
forwards 0 .. w-1 (w = min(limit - 1, m)), then F(w + i), B(i) in turn, then
the cool-down backwards; its bubble is GPipe's ((p - 1) / m of the ideal
step: on a balanced contiguous pipeline without communication the step time
of gpipe) while it holds at most limit micro-batches. A regular
interleaved placement (p devices holding v > 1 stages each, stage i on the
device of stage i mod p) runs Megatron-LM's interleaved order instead
(kernel._interleaved_op): on rank r a warm-up of (p - r - 1) * 2 + (v - 1) * p
stage-level forwards (all when m = p), then one forward and one backward in
turn, then the cool-down backwards; micro-batches in groups of p, each group
through the device's stages in turn (backwards in reverse). A device runs
only the op its order puts next. Its bubble is p - 1 stage round trips
whatever m: (m v + p - 1)(t_f + t_b) on equal stages without communication.
For m not a multiple of p (which Megatron requires) the order is that of m
rounded up to one, without the missing micro-batches' ops. In other
placements a device holding several stages keeps (a) and (b) but not (c): it
runs stage-level ops whole, backward first, with no fixed order between its
stages (its idle time may grow with m). If these
rules would stall every device (possible when a device holds non-contiguous
stages of a network with skip connections), the stalled device whose most
urgent ready task ranks first (by the priority key above; between replicas
the lower one; never by the device's index, so that renaming exchangeable
devices changes nothing) has its bound raised by one and drops rules (a) and
(c) and Megatron's order for the rest of the step.

Replicas. `replicas=r` runs r copies of the placement on disjoint device
sets, each with batch / r samples. Replica 0 uses the placement's devices;
for replica k, each device used by the placement (in index order) is matched
with the lowest-indexed device of the same model not used by earlier
replicas (so on "cpu+4xV100-pcie3" a placement on gpu0, gpu1 has its second
replica on gpu2, gpu3). A bucket's gradients are all-reduced with a ring over
its r devices (replica order) as soon as every replica has finished the
bucket's backwards: 2(r-1) steps, each sending bytes / r to the next device,
a step starting when the previous chunk has arrived; it overlaps with the
rest of the backward. Every replica then runs the bucket's update.

Shared weights. A layer sharing the weights of a layer on another device
(`owner`) computes with a copy of them on its own device (Megatron-LM's tied
embedding on the last stage): once per (owner, device) the device holds the
owner's static bytes and its bucket (that of the first such layer there)
the owner's gradient bytes and update. Once the owner's bucket and the
copy's have their gradient (after the ring, with replicas), the gradient's
bytes go each way between the two devices (all-reduce queues); both updates
wait for them. On its owner's device a sharing layer adds nothing.

Result. The step time is the latest completion of any task or transfer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .costs import CostTables
from .kernel import _bucket_slots, _transfer_slots
from .devices.model import DeviceGraph
from .graph import Network

SCHEDULE_CODES = {"gpipe": 0, "1f1b": 1}


@dataclass
class Plan:
    """Everything the kernel reads that does not depend on the placement."""

    arrays: tuple  # positional arguments of run_batch up to the placements (see build_plan)
    n_layers: int
    n_devices: int
    n_channels: int
    max_hops: int
    n_edges: int
    n_groups: int
    replicas: int
    micro_batches: int
    n_shared: int = 0  # layers sharing another's weights: at most one tied copy each


def device_models(devices: DeviceGraph) -> np.ndarray:
    """An id per device; equal ids = interchangeable devices (for replica sets)."""
    ids: dict[tuple, int] = {}
    out = []
    for d in devices.devices:
        key = (d.model, d.kind, tuple(sorted(d.peak_flops.items())), d.mem_bandwidth, d.memory, d.clock)
        out.append(ids.setdefault(key, len(ids)))
    return np.array(out, dtype=np.int64)


def route_tables(devices: DeviceGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """CSR of routes: pair (a, b) -> hops [route_ptr[a*D+b], route_ptr[a*D+b+1]).
    Unreachable pairs have no hops (the kernel reports them)."""
    D = len(devices.devices)
    ptr = np.zeros(D * D + 1, dtype=np.int64)
    chans: list[int] = []
    froms: list[int] = []
    max_hops = 0
    route = devices.route_or_none   # a direct link without a search; Dijkstra only from sources that need it
    for a in range(D):
        for b in range(D):
            hops = route(a, b) or []
            for ch, sender in hops:
                chans.append(ch)
                froms.append(sender)
            max_hops = max(max_hops, len(hops))
            ptr[a * D + b + 1] = len(chans)
    return ptr, np.array(chans, dtype=np.int64), np.array(froms, dtype=np.int64), max_hops


def build_plan(network: Network, devices: DeviceGraph, costs: CostTables, settings) -> Plan:
    L = len(network.layers)
    idx = network.index
    par_ptr = np.zeros(L + 1, dtype=np.int64)
    par_idx: list[int] = []
    par_keep: list[int] = []
    children: list[list[tuple[int, int]]] = [[] for _ in range(L)]  # (child, parent entry)
    for i, layer in enumerate(network.layers):
        keep = set(costs.saved_slot[i]) if costs.has_bwd[i] else set()
        for slot, pname in enumerate(layer.parents):
            e = len(par_idx)
            p = idx[pname]
            par_idx.append(p)
            par_keep.append(1 if slot in keep else 0)
            children[p].append((i, e))
        par_ptr[i + 1] = len(par_idx)
    ch_ptr = np.zeros(L + 1, dtype=np.int64)
    ch_idx: list[int] = []
    ch_slot: list[int] = []
    for i in range(L):
        for c, e in children[i]:
            ch_idx.append(c)
            ch_slot.append(e)
        ch_ptr[i + 1] = len(ch_idx)
    has_bwd = costs.has_bwd.astype(np.int64)
    sinks = np.array([i for i in range(L) if not children[i] and has_bwd[i]], dtype=np.int64)
    # chain_next[l] = c when c is l's only consumer and l is c's only input: c's forward
    # becomes ready exactly when l's ends (and l's backward when c's ends), a case the
    # kernel dispatches directly when nothing else is due (same schedule, less work)
    chain_next = np.full(L, -1, dtype=np.int64)
    for i in range(L):
        if len(children[i]) == 1:
            c = children[i][0][0]
            if par_ptr[c + 1] - par_ptr[c] == 1 and not costs.is_view[i] and not costs.is_view[c]:
                chain_next[i] = c
    chain_prev = np.full(L, -1, dtype=np.int64)
    for i in np.flatnonzero(chain_next >= 0):
        chain_prev[chain_next[i]] = i
    keep_out = (costs.saves_output & costs.has_bwd).astype(np.int64)
    group_of = np.full(L, -1, dtype=np.int64)
    for g, group in enumerate(network.groups):
        for i in group.layers:
            group_of[i] = g
    if (group_of < 0).any():  # layers outside every group get buckets of their own
        extra = np.flatnonzero(group_of < 0)
        group_of[extra] = len(network.groups) + np.arange(len(extra))
    n_groups = int(group_of.max()) + 1 if L else 0
    route_ptr, route_chan, route_from, max_hops = route_tables(devices)
    i64 = lambda xs: np.asarray(xs, dtype=np.int64)
    # owner[l]: the layer whose weights l shares (holding them: importers and the zoo name the first user), or -1
    owner = i64([-1 if l.shares_weights_with is None else idx[l.shares_weights_with] for l in network.layers])
    arrays = (
        par_ptr, i64(par_idx), i64(par_keep), ch_ptr, i64(ch_idx), i64(ch_slot), sinks, chain_next, chain_prev,
        has_bwd, costs.is_view.astype(np.int64), keep_out, group_of, n_groups,
        np.ascontiguousarray(costs.fwd), np.ascontiguousarray(costs.bwd), np.ascontiguousarray(costs.upd),
        costs.xfer_bytes, costs.alloc_bytes, costs.private_bytes, costs.grad_bytes, costs.static_bytes, owner,
        route_ptr, route_chan, route_from,
        np.asarray(costs.chan_sec_per_byte, dtype=np.float64), np.asarray(costs.chan_latency, dtype=np.float64),
        np.asarray(costs.dev_floor, dtype=np.float64), device_models(devices),
        int(settings.micro_batches), int(settings.replicas), SCHEDULE_CODES[settings.schedule],
    )
    return Plan(arrays=arrays, n_layers=L, n_devices=len(devices.devices),
                n_channels=len(devices.channels), max_hops=max(max_hops, 1), n_edges=len(par_idx),
                n_groups=n_groups, replicas=settings.replicas, micro_batches=settings.micro_batches,
                n_shared=int((owner >= 0).sum()))


def trace_capacity(plan: Plan) -> int:
    """Enough rows for every task and every hop of one placement."""
    L, M, R, D = plan.n_layers, plan.micro_batches, plan.replicas, plan.n_devices
    buckets = _bucket_slots(L, D, plan.n_groups, R)
    tasks = 2 * L * M * R + buckets * R
    transfers = (2 * M * R * plan.n_edges + 2 * R * (R - 1) * buckets  # a ring: 2(r-1) steps of r chunks
                 + 2 * R * plan.n_shared)                              # a tied copy's gradient, each way
    return tasks + transfers * plan.max_hops + 1


def workspace_bytes(plan: Plan) -> int:
    """The bytes `kernel.run_batch` allocates for its workspace (its arrays, as it sizes them)."""
    L, M, R, D, C = plan.n_layers, plan.micro_batches, plan.replicas, plan.n_devices, plan.n_channels
    E = max(plan.n_edges, 1)
    NB = plan.n_groups * D
    buckets = _bucket_slots(L, D, plan.n_groups, R)
    T = max(plan.n_shared, 1)
    words = (5 * R * M * L + 3 * R * M * E + R * M          # per (replica, micro-batch) counters
             + R * D + 2 * D * M + D * (2 * M * L + min(plan.n_groups, L) + 1)  # replica sets, heaps
             + 2 * NB + 2 * R * buckets + buckets             # weight buckets
             + (3 + R) * T                                    # tied copies
             + 12 * _transfer_slots(M, R, E, buckets, D, plan.n_shared)  # transfers in flight
             + 10 * L + 4 * E + 22 * (D + C) + 3 * D)
    return 8 * words


def trace_bytes(plan: Plan) -> int:
    """The bytes of a trace's arrays (13 numbers per record)."""
    return 8 * 13 * trace_capacity(plan)
