"""Memory-aware placement: a device over its memory budget rematerialises instead of failing.

    r = sim.simulate(net, devices, placement, memory_budget=0.5, remat="all", remat_heuristic="dtr_eq")
    r.remat_used, r.remat_overhead        # (devices,) whether remat was needed, seconds it adds

With `remat` on for a device (settings `remat="all"` or a list of devices)
and its peak above its budget (`memory_budget`: bytes, or a fraction of its
memory if <= 1; the device's memory by default):

1. its op trace is built from the simulated schedule (`simulate(...,
   trace=True)`): the forwards and backwards that ran on it, in the order they
   ran, with the simulator's per-layer seconds and bytes (`TraceBuilder`):
   a forward reads its inputs and makes its output (a view aliases its input)
   and its private tensors (the network's input batch is a constant that
   its forward only views: data cannot be remade); a backward reads what its layer saved and its
   output gradient and makes its parents' gradients (a second contribution to
   a gradient reads the first and replaces it). A tensor received from
   another device is a constant there (pinned while referenced: remaking it
   would need the sender), as is the loss gradient; each tensor is released
   after its last use on the device. Weights are static and not in the trace.
2. what the kernel holds beyond that trace is measured (`outside_bytes`): on
   a pipeline, the transfer buffers (an activation arriving before its
   consumer runs or kept until it is sent, a gradient until it is sent or
   from when it arrives), at most at any moment, by setting each row of the
   kernel's memory timeline against the trace's bytes at that point (0 on
   one device, where the unbounded trace holds exactly the kernel's dynamic
   peak: a step that runs on one device alone is not measured, which saves
   about a quarter of its remat time). They cannot be evicted, so they are counted whole: the trace is
   replayed (`simulator.remat.replay`) under budget - static - those bytes.
   (Scaling them down with the trace, as before 0.4.1, reported budgets as
   met that the buffers alone nearly filled.) The bound is conservative: the
   most transfer bytes are counted beside the replay's peak even when the two
   do not coincide.
3. if the replay does not run out of memory (or thrash beyond 2x), the device
   fits: its peak becomes static + the transfer bytes + the replay's peak (whole bytes), and the
   recompute seconds (replay compute - baseline compute) are added to its
   busy time and to the step time. Adding them to the step is the
   approximation: recompute happens inside the device's backward, which in a
   pipeline may or may not be on the critical path; adding every device's
   recompute is an upper bound (exact when the devices run one after the
   other, as a pipeline with one micro-batch does).
   Otherwise the device keeps its peak and the placement stays infeasible.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np

from .graph import SimulatorError


def budgets(setting: tuple, capacity: np.ndarray, names: list[str]) -> np.ndarray:
    """(devices,) bytes each device may hold: its memory, or less with `memory_budget`."""
    out = capacity.astype(np.float64).copy()
    values = dict(setting)
    unknown = [k for k in values if k != "*" and k not in names]
    if unknown:
        raise SimulatorError(f"memory_budget names device {unknown[0]!r}, which does not exist "
                             f"(devices: {', '.join(names)})")
    for d, name in enumerate(names):
        v = values.get(name, values.get("*"))
        if v is not None:
            out[d] = min(out[d], v * capacity[d] if v <= 1 else v)
    return out


def remat_mask(setting: tuple, names: list[str]) -> np.ndarray:
    """(devices,) bool: the devices that may rematerialise."""
    mask = np.zeros(len(names), dtype=bool)
    for item in setting:
        if item == "*":
            mask[:] = True
        elif item in names:
            mask[names.index(item)] = True
        elif item.lstrip("-").isdigit() and 0 <= int(item) < len(names):
            mask[int(item)] = True
        else:
            raise SimulatorError(f"remat names device {item!r}, which does not exist (devices: {', '.join(names)})")
    return mask


def device_trace(sim, trace, device: int):
    """The op trace of what ran on `device` in a traced step (see the module docstring)."""
    from .remat import TraceBuilder
    net, c = sim.network, sim.costs
    name = sim.device_names[device]
    events = [e for e in trace.events if e.resource == name and e.kind in ("forward", "backward")]
    from .memory_timeline import plan_arrays
    plan = plan_arrays(sim.plan)
    kept, par_ptr = plan["par_keep"], plan["par_ptr"]  # whether a backward keeps the input of each entry
    parents = [[net.index[p] for p in layer.parents] for layer in net.layers]
    direct = bool(sim.direct_grad)

    # pass 1: the ops as keys, to know each tensor's last use
    ops: list[tuple] = []  # (name, arg keys, [(key, nbytes, alias key)], seconds)
    local_fwd = {(net.index[e.name], e.micro_batch, e.replica) for e in events if e.kind == "forward"}
    for e in events:
        l, m, k = net.index[e.name], e.micro_batch, e.replica
        act = lambda p: ("act", p, m, k)  # noqa: E731
        if e.kind == "forward" and net.layers[l].kind == "input":
            # the batch is data, not something an op can remake: a constant (pinned) that appears when the
            # kernel allocates it, which the input's zero-cost op only views (one op per event, for the timeline)
            data = ("input", l, m, k)
            ops.append((f"forward {e.name} mb{m}", [data], [(act(l), 0, data)], float(c.fwd[l, device])))
            continue
        if e.kind == "forward":
            args = [act(p) for p in parents[l]]
            outs = [(act(l), 0 if c.is_view[l] else int(c.xfer_bytes[l]), args[0] if c.is_view[l] and args else None)]
            if c.has_bwd[l] and c.private_bytes[l] > 0:
                outs.append((("priv", l, m, k), int(c.private_bytes[l]), None))
            ops.append((f"forward {e.name} mb{m}", args, outs, float(c.fwd[l, device])))
            continue
        args = [act(p) for slot, p in enumerate(parents[l]) if kept[par_ptr[l] + slot]]
        if c.saves_output[l]:
            args.append(act(l))
        if c.private_bytes[l] > 0:
            args.append(("priv", l, m, k))
        outs = []
        if direct:
            outs.append((("tmp", l, m, k), int(sim.bwd_alloc[l]), None))
        else:
            args.append(("grad", l, m, k))
            for p in parents[l]:
                if c.has_bwd[p]:
                    g = ("grad", p, m, k) if (p, m, k) in local_fwd else ("sent", p, m, k, l)
                    outs.append((g, int(c.xfer_bytes[p]), None))
        ops.append((f"backward {e.name} mb{m}", args, outs, float(c.bwd[l, device])))

    last: dict[tuple, int] = {}
    for i, (_, args, outs, _) in enumerate(ops):
        for key in args:
            last[key] = i
        for key, _, _ in outs:
            last.setdefault(key, i)

    # pass 2: emit, releasing every reference after its last use
    b = TraceBuilder(name=f"{sim.network.name} on {name}")
    ref: dict[tuple, int] = {}
    for i, (op_name, args, outs, seconds) in enumerate(ops):
        arg_refs = []
        for key in args:
            if key not in ref:  # the input batch, received from another device, or the loss gradient: not remade
                nbytes = int(c.xfer_bytes[key[1]])
                ref[key] = b.constant(f"{key[0]} {net.layers[key[1]].name} mb{key[2]}", nbytes)
            if ref[key] not in arg_refs:
                arg_refs.append(ref[key])
        replaced = []
        for key, _, _ in outs:
            if key in ref and key[0] == "grad":  # a second contribution reads and replaces the first
                if ref[key] not in arg_refs:
                    arg_refs.append(ref[key])
                replaced.append(ref.pop(key))
        spec = [(nbytes, ref[alias] if alias is not None else None) for _, nbytes, alias in outs]
        new = b.call(op_name, arg_refs, spec, seconds)
        for r in replaced:
            b.release(r)
        for (key, _, _), r in zip(outs, new):
            ref[key] = r
            if key[0] in ("sent", "tmp"):
                last[key] = i
        for key in list(ref):
            if last.get(key, -1) <= i:
                b.release(ref.pop(key))
    for r in ref.values():
        b.release(r)
    return b.build()


def _static_per_device(sim, per_layer: np.ndarray) -> np.ndarray:
    """Each device's static bytes as the kernel counts them: its layers' weights, and the copy of shared
    weights a device holds for a layer sharing them with one on another device (tied_copies)."""
    from .memory_timeline import plan_arrays, replica_devices, tied_copies
    D = len(sim.device_names)
    plan = plan_arrays(sim.plan)
    rep = replica_devices(per_layer, plan["dev_model"], sim.settings.replicas, D)
    out = np.zeros(D)
    static = plan["static_bytes"]
    copies = tied_copies(per_layer, plan["owner"], plan["has_bwd"], plan["grad_bytes"])
    for k in range(sim.settings.replicas):
        for l, d in enumerate(per_layer):
            out[rep[k, d]] += static[l]
        for o, d in copies:
            out[rep[k, d]] += static[o]
    return out


def _op_names(sim, events) -> list[str]:
    """The kernel memory timeline's name of each event's start (`forward/<layer>/mb<m>[/r<k>]`)."""
    tag = (lambda k: f"/r{k}") if sim.settings.replicas > 1 else (lambda k: "")
    return [f"{e.kind}/{layer}/mb{e.micro_batch}{tag(e.replica)}"
            for e, layer in zip(events, (re.sub(r"\s+", "_", e.name) for e in events))]


def outside_bytes(sim, trace, device: int, op_trace, kernel_rows, static: float) -> float:
    """The most bytes the kernel holds on `device` beyond its op trace at any moment: on a pipeline, the
    transfer buffers (an activation arriving before its consumer runs, one kept until it is sent, a
    gradient buffer until it is sent or from when it arrives); 0 on one device, where the trace is exact.

    Each row of the kernel's memory timeline (`kernel_rows`) is set against the trace's bytes at the same
    point of the unbounded replay: an op's start against the trace during that op, its end against the
    trace after it, a transfer row (which falls between two ops) against the fewest bytes the trace holds
    between them, so the result is never below what the trace misses."""
    from .remat import replay
    from .remat.trace import OP
    rec = np.zeros((op_trace.n_instructions, 3))
    replay(op_trace, float("inf"), profile=rec)
    ops = np.flatnonzero(op_trace.prog_kind == OP)
    ends = np.r_[ops[1:], len(rec)]
    held = np.r_[0.0, rec[:, 1]]  # held[i]: bytes before instruction i (0 before the first)
    events = [e for e in trace.events if e.resource == sim.device_names[device] and e.kind in ("forward", "backward")]
    index = {n: j for j, n in enumerate(_op_names(sim, events))}
    worst, pending, since = 0.0, [], 0  # since: the first state of the trace the pending rows may fall after
    for nbytes, name in zip(kernel_rows.bytes.tolist(), kernel_rows.op):
        if name == "static":
            continue
        end = name.endswith("/end")
        j = index.get(name[:-4] if end else name)
        if j is None:  # a transfer: somewhere between the last op row and the next
            pending.append(nbytes - static)
            continue
        upto = ends[j] if end else ops[j] + 1
        if pending:
            worst = max(worst, max(pending) - held[since:upto + 1].min())
            pending = []
        # an end frees what the op no longer needs; the next op's received tensors appear in the trace later
        traced = held[ops[j] + 1:ends[j] + 1].min() if end else rec[ops[j], 0]
        worst = max(worst, nbytes - static - traced)
        since = ops[j] + 1
    if pending:
        worst = max(worst, max(pending) - held[since:].min())
    return float(worst)


def remat_device(sim, trace, device: int, peak: float, budget: float, static: float, kernel_rows,
                 profile: list | None = None) -> tuple[bool, float, float]:
    """(fits, peak after, seconds of recompute) for one device over its budget; `kernel_rows` is the device's
    memory timeline from the kernel (`memory_timeline`), None when the step ran on this device alone
    (`_runs_alone`). With `profile` (a list), a device that fits appends
    (op trace, per-instruction replay record, the function from trace bytes to device bytes) to it, for the
    memory timeline."""
    from .remat import baseline, replay
    if budget <= static or peak <= static:
        return False, peak, float("inf")
    op_trace = device_trace(sim, trace, device)
    trace_peak, _ = baseline(op_trace)
    if trace_peak <= 0:
        return False, peak, float("inf")
    # the transfer buffers are not in the trace and not evictable: counted whole, beside what the replay holds
    # (None: the whole step ran on this device, where the trace is exact and there are none)
    outside = 0.0 if kernel_rows is None else outside_bytes(sim, trace, device, op_trace, kernel_rows, static)
    if budget - static - outside <= 0:
        return False, peak, float("inf")
    rec = np.zeros((op_trace.n_instructions, 3)) if profile is not None else None
    r = replay(op_trace, budget - static - outside, sim.settings.remat_heuristic, profile=rec)
    if not r.ok:
        return False, peak, float("inf")

    def scaled(nbytes):  # the same arithmetic for the peak and every row of the timeline, in whole bytes
        return np.floor(np.minimum(static + outside + nbytes, budget))

    if profile is not None:
        profile.extend((op_trace, rec, scaled))
    return True, float(scaled(r.peak_bytes)), max(r.compute_s - r.baseline_compute_s, 0.0)


def _runs_alone(sim, per_layer: np.ndarray, device: int) -> bool:
    """Whether the whole step runs on `device` (one replica): then nothing is sent or received, the op trace
    holds exactly the kernel's dynamic memory and its memory timeline need not be built to compare them."""
    return sim.settings.replicas == 1 and bool((per_layer == device).all())


def apply_remat(sim, per_layer: np.ndarray, out: dict) -> tuple[Any, ...]:
    """(raw step, peak, busy, overhead, used) after rematerialising where it is needed and allowed."""
    raw = out["step"].copy()
    peak = out["peak"].copy()
    busy = out["busy"].copy()
    P, D = peak.shape
    overhead = np.zeros((P, D))
    used = np.zeros((P, D), dtype=bool)
    need = (peak > sim.budget[None, :]) & sim.remat_mask[None, :]
    from .memory_timeline import memory_timeline
    for p in np.flatnonzero(need.any(axis=1)):
        traced = sim._kernel(per_layer[p:p + 1], True)
        trace = sim._trace(traced)
        n = int(traced["tr_count"][0])
        alone = [d for d in np.flatnonzero(need[p]) if _runs_alone(sim, per_layer[p], int(d))]
        kernel_rows = None if alone else memory_timeline(sim, per_layer[p], traced["tr_i"][:n],
                                                         traced["tr_f"][:n]).devices
        static = _static_per_device(sim, per_layer[p])
        extra = defaultdict(float)
        for d in np.flatnonzero(need[p]):
            fits, after, seconds = remat_device(sim, trace, int(d), float(peak[p, d]), float(sim.budget[d]),
                                                float(static[d]), None if alone else kernel_rows[d])
            used[p, d] = True
            overhead[p, d] = seconds
            if fits:
                peak[p, d] = after
                extra[d] = seconds
        busy[p] += np.array([extra.get(d, 0.0) for d in range(D)])
        raw[p] += sum(extra.values())
    return raw, peak, busy, overhead, used


def remat_timeline(sim, result, per_layer: np.ndarray, timeline) -> None:
    """Replace, in `timeline` (what `memory_timeline` replayed from the kernel's trace), the rows of every
    device that fit its budget by rematerialising with the rows of its remat replay: static bytes at 0,
    then at the start of each of its forwards and backwards the most bytes held during it (recomputes and
    the received tensors it reads included) and at its end the bytes held after it, all scaled as its
    peak is (`remat_device`), so that the timeline's peak is the result's peak."""
    from .memory_timeline import DeviceMemory
    from .remat.trace import OP
    static = _static_per_device(sim, per_layer)
    for d in np.flatnonzero(result.remat_used & np.isfinite(result.remat_overhead)):
        d = int(d)
        old = timeline.devices[d]
        profile: list = []
        fits, after, _ = remat_device(sim, result.trace, d, old.peak(), float(sim.budget[d]), float(static[d]),
                                      None if _runs_alone(sim, per_layer, d) else old, profile)
        if not fits or after != result.peak_memory[d]:
            raise RuntimeError(f"internal error: the remat replay of {sim.device_names[d]} differs from the "
                               "run's")
        op_trace, rec, scaled = profile
        events = [e for e in result.trace.events
                  if e.resource == sim.device_names[d] and e.kind in ("forward", "backward")]
        ops = np.flatnonzero(op_trace.prog_kind == OP)
        if len(ops) != len(events):
            raise RuntimeError("internal error: the op trace of a device does not match its events")
        times, values, names = [0.0], [float(static[d])], ["static"]
        first = 0
        for i, (pc, e, what) in enumerate(zip(ops.tolist(), events, _op_names(sim, events))):
            nxt = ops[i + 1] if i + 1 < len(ops) else len(rec)
            remade = int(rec[pc, 2] - (rec[first - 1, 2] if first > 0 else 0))
            times += [e.start, e.end]
            values += [float(rec[first:pc + 1, 0].max()), float(rec[nxt - 1, 1])]
            names += [what + (f"/remat{remade}" if remade else ""), what + "/end"]
            first = pc + 1
        nb = np.array(values)
        nb[1:] = scaled(nb[1:])
        delta = np.diff(nb, prepend=0.0)
        keep = np.r_[True, delta[1:] != 0]
        timeline.devices[d] = DeviceMemory(device=old.device, time=np.array(times)[keep], bytes=nb[keep],
                                           delta=delta[keep], op=[n for n, k in zip(names, keep) if k],
                                           remat=True)
