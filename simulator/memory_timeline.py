"""The memory timeline of a simulated step: every allocation and free, per device.

    r = sim.simulate(net, devices, placement, trace=True)
    r.memory.peak()                       # (devices,) bytes: equals r.peak_memory
    r.memory.save("step")                 # step.gpu0.txt, step.gpu1.txt, ... (ZPP-MEM's format)
    r.memory.plot("step-memory.png")      # bytes in use over time, one line per device

The kernel does not log memory; it logs, with `trace=True`, every task and
transfer hop with the order in which they started and ended (a counter,
because zero-length tasks — inputs and views under the roofline model —
start and end at the same instant, and their order matters for the peak).
This module replays those starts and ends in that order under the rules of
simulator/memory.py, with the same counters as the kernel (uses of each
output, of each received copy, first contribution to each gradient), so the
largest value of a device's timeline is exactly the peak the kernel reports
(the byte counts are integers in float64: sums are exact in any order).

Rows follow ZPP-MEM's memory traces (`timestamp bytes_in_use delta op_name`),
one file per device as ZPP-MEM writes one per run: timestamps in
microseconds of simulated time (with a fractional part: simulated ops are
often shorter than a microsecond), bytes in use after the change, the change,
and the op that caused it: `static` (weights, gradients, optimizer state),
`forward/<layer>/mb<m>` (its output and private tensors),
`backward/<layer>/mb<m>` (gradient buffers), `.../end` (what the op's end
frees), `recv/<layer>/mb<m>` and `send/<layer>/mb<m>` (an activation copy
arriving, an output leaving), `grad_recv/...` and `grad_send/...` (the same
for gradients); a `/r<k>` suffix names the replica when there are several.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from .graph import SimulatorError, did_you_mean
from .output import check_output, write_output

_TASK_KINDS = ("forward", "backward", "update")


@dataclass
class DeviceMemory:
    """One device's rows, in the order the changes happen."""

    device: str
    time: np.ndarray      # (rows,) s
    bytes: np.ndarray     # (rows,) in use after the change
    delta: np.ndarray     # (rows,)
    op: list[str]
    remat: bool = False   # the rows come from the device's remat replay (see remat_placement.remat_timeline)

    def peak(self) -> float:
        return float(self.bytes.max()) if len(self.bytes) else 0.0

    def lines(self) -> list[str]:
        return [f"{t * 1e6:.3f} {int(b)} {int(d)} {o}"
                for t, b, d, o in zip(self.time.tolist(), self.bytes.tolist(), self.delta.tolist(), self.op)]


@dataclass
class MemoryTimeline:
    devices: list[DeviceMemory]

    def peak(self) -> np.ndarray:
        return np.array([d.peak() for d in self.devices])

    def __getitem__(self, name: str) -> DeviceMemory:
        for d in self.devices:
            if d.device == name:
                return d
        names = [d.device for d in self.devices]
        raise NoSuchDevice(f"no device {name!r} in this timeline{did_you_mean(str(name), names)}; name one of "
                           f"{', '.join(names)}")

    def save(self, prefix: str | os.PathLike) -> list[str]:
        """One ZPP-MEM trace per device that holds anything: `<prefix>.<device>.txt`. Returns the paths.
        Every path is checked before any is written; each file is written whole or not at all."""
        files = [(timeline_path(prefix, d.device), d) for d in self.devices if len(d.bytes)]
        for path, _ in files:
            check_output(path)
        for path, d in files:
            write_output(path, lambda name, d=d: _write_text(name, "\n".join(d.lines()) + "\n"))
        return [path for path, _ in files]

    def plot(self, path: str | os.PathLike, title: str = "memory in use") -> None:
        """Bytes in use over time to `path`, in the format its extension names (none: '.png' added); an
        extension matplotlib has no format for is an error listing those it has, before anything is drawn."""
        from .remat.sweep import plot_file
        path = plot_file(path)
        check_output(path)
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 4))
        for d in self.devices:
            if len(d.bytes) and d.peak() > 0:
                # a step plot: the value holds until the next change
                ax.step(np.r_[d.time, d.time[-1]] * 1e3, np.r_[d.bytes, d.bytes[-1]] / 1e6, where="post",
                        label=f"{d.device} ({'with remat, ' if d.remat else ''}peak {d.peak() / 1e6:.1f} MB)")
        ax.set_xlabel("simulated time (ms)")
        ax.set_ylabel("memory in use (MB)")
        ax.set_title(title)
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        try:
            write_output(path, lambda name: fig.savefig(name, dpi=120))
        finally:
            plt.close(fig)


class NoSuchDevice(SimulatorError, KeyError):
    """`timeline[name]` of a device it does not have: a SimulatorError (one line naming the devices there
    are), and a KeyError as a mapping's lookup gives."""

    __str__ = SimulatorError.__str__


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def timeline_path(prefix: str | os.PathLike, device: str) -> str:
    """The file `save` writes for `device`'s timeline: `<prefix>.<device>.txt`."""
    return f"{os.fspath(prefix)}.{_safe(device)}.txt"


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


def replica_devices(per_layer: np.ndarray, dev_model: np.ndarray, replicas: int, n_devices: int) -> np.ndarray:
    """(replicas, devices) device of each replica for each replica-0 device, as the kernel matches them."""
    used = sorted(set(int(d) for d in per_layer))
    rep = np.full((replicas, n_devices), -1, dtype=np.int64)
    taken = set(used)
    for d in used:
        rep[0, d] = d
    for k in range(1, replicas):
        for d in used:
            e = min(x for x in range(n_devices) if x not in taken and dev_model[x] == dev_model[d])
            rep[k, d] = e
            taken.add(e)
    return rep


# what `schedule.build_plan` puts in Plan.arrays, in order (run_batch's arguments up to the settings)
PLAN_ARRAYS = ("par_ptr", "par_idx", "par_keep", "ch_ptr", "ch_idx", "ch_slot", "sinks", "chain_next", "chain_prev",
               "has_bwd", "is_view", "keep_out", "layer_group", "n_groups", "fwd", "bwd", "upd", "xfer_bytes",
               "alloc_bytes", "private_bytes", "grad_bytes", "static_bytes", "owner", "route_ptr", "route_chan",
               "route_from", "chan_sec_per_byte", "chan_latency", "dev_floor", "dev_model", "micro_batches",
               "replicas", "schedule")


def tied_copies(pl, owner, has_bwd, grad_bytes) -> list[tuple[int, int]]:
    """(owner layer, device) of every copy of shared weights the kernel adds (`_prepare_placement`): a layer with a
    backward sharing the weights (with a gradient) of a layer on another device, once per (owner, device)."""
    out: list[tuple[int, int]] = []
    for l, o in enumerate(owner):
        if o >= 0 and has_bwd[l] and pl[o] != pl[l] and grad_bytes[o] > 0 and has_bwd[o]:
            if (int(o), int(pl[l])) not in out:
                out.append((int(o), int(pl[l])))
    return out


def plan_arrays(plan) -> dict:
    """Plan.arrays by name."""
    if len(plan.arrays) != len(PLAN_ARRAYS):
        raise RuntimeError("internal error: Plan.arrays changed; update memory_timeline.PLAN_ARRAYS")
    return dict(zip(PLAN_ARRAYS, plan.arrays))


def memory_timeline(sim, per_layer: np.ndarray, tr_i: np.ndarray, tr_f: np.ndarray) -> MemoryTimeline:
    """Replay the kernel's trace rows (10 integer columns, see simulator/api.py) under the memory rules."""
    a = plan_arrays(sim.plan)
    par_ptr, par_idx, par_keep = a["par_ptr"], a["par_idx"], a["par_keep"]
    ch_ptr, ch_idx, ch_slot = a["ch_ptr"], a["ch_idx"], a["ch_slot"]
    has_bwd, is_view, keep_out = a["has_bwd"], a["is_view"], a["keep_out"]
    xfer, alloc, private, static = a["xfer_bytes"], a["alloc_bytes"], a["private_bytes"], a["static_bytes"]
    dev_model = a["dev_model"]
    direct, bwd_alloc = sim.direct_grad, sim.bwd_alloc
    L = len(per_layer)
    D = len(sim.device_names)
    R = sim.settings.replicas
    pl = per_layer
    rep = replica_devices(pl, dev_model, R, D)
    tag = (lambda k: f"/r{k}") if R > 1 else (lambda k: "")
    names = [re.sub(r"\s+", "_", n) for n in sim._layer_names]

    # consumer devices of every output (the kernel's dst entries), and what uses each tensor
    par_j = np.full(len(par_idx), -1, dtype=np.int64)
    act_uses0 = np.zeros(L, dtype=np.int64)
    copy_uses0: dict[int, int] = {}
    n_j = 0
    for l in range(L):
        dests: dict[int, int] = {}
        uses = int(keep_out[l])
        for e in range(ch_ptr[l], ch_ptr[l + 1]):
            c, slot = int(ch_idx[e]), int(ch_slot[e])
            if pl[c] == pl[l]:
                uses += 1 + int(par_keep[slot])
            else:
                if pl[c] not in dests:
                    dests[pl[c]] = n_j
                    copy_uses0[n_j] = 0
                    n_j += 1
                j = dests[pl[c]]
                copy_uses0[j] += 1 + int(par_keep[slot])
                par_j[slot] = j
        act_uses0[l] = uses + len(dests)

    act_uses: dict[tuple, int] = {}
    copy_uses: dict[tuple, int] = {}
    gprim: set = set()
    gpart: set = set()
    handed: set = set()   # (replica, micro-batch, view) whose gradient became its input's
    mem = np.zeros(D)
    changes: list[tuple] = []  # (order, time, device, delta, op)

    def change(order, t, d, delta, op):
        if delta != 0.0:
            mem[d] += delta
            changes.append((order, t, d, delta, op))

    def uses(l, k, m):
        return act_uses.setdefault((k, m, l), int(act_uses0[l]))

    def release_input(e, l, d, k, m, freed):
        while True:
            pp = int(par_idx[e])
            if pl[pp] == pl[l]:
                act_uses[(k, m, pp)] = uses(pp, k, m) - 1
                if act_uses[(k, m, pp)] != 0:
                    return
                freed[0] -= alloc[pp]
                if not is_view[pp]:
                    return
                e, l = int(par_ptr[pp]), pp
            else:
                j = int(par_j[e])
                copy_uses[(k, m, j)] = copy_uses.get((k, m, j), copy_uses0[j]) - 1
                if copy_uses[(k, m, j)] == 0:
                    freed[0] -= xfer[pp]
                return

    def free_output(l, d, k, m, freed):
        freed[0] -= alloc[l]
        if is_view[l] and par_ptr[l + 1] > par_ptr[l]:
            release_input(int(par_ptr[l]), l, d, k, m, freed)

    for k in range(R):
        for l in range(L):
            d = rep[k, pl[l]]
            mem[d] += static[l]
        for o, d in tied_copies(pl, a["owner"], has_bwd, a["grad_bytes"]):
            mem[rep[k, d]] += static[o]
    start = [(0, 0.0, d, float(mem[d]), "static") for d in range(D) if mem[d] > 0]
    mem[:] = 0.0
    for order, t, d, delta, op in start:
        change(order, t, d, delta, op)

    # points in the order they happened: (seq, is_end, row)
    hop0: dict[int, int] = {}
    last_hop: dict[int, int] = {}
    points = []
    for r in range(len(tr_i)):
        kind = int(tr_i[r, 0])
        if kind >= 3:
            x = int(tr_i[r, 9])
            if x not in hop0 or tr_i[r, 7] < tr_i[hop0[x], 7]:
                hop0[x] = r
            if x not in last_hop or tr_i[r, 8] > tr_i[last_hop[x], 8]:
                last_hop[x] = r
        else:
            points.append((int(tr_i[r, 7]), 0, r))
            points.append((int(tr_i[r, 8]), 1, r))
    for x, r in hop0.items():
        points.append((int(tr_i[r, 7]), 0, r))
        points.append((int(tr_i[r, 8]), 1, r))
    points.sort()

    for seq, is_end, r in points:
        kind, res, obj, m, k = (int(v) for v in tr_i[r, :5])
        t = float(tr_f[r, 1] if is_end else tr_f[r, 0])
        if kind == 2:
            continue  # optimizer updates change nothing the model counts
        if kind < 2:
            d, l = res, obj
            what = f"{_TASK_KINDS[kind]}/{names[l]}/mb{m}{tag(k)}"
            if kind == 0 and not is_end:
                change(seq, t, d, alloc[l] + private[l], what)
            elif kind == 1 and not is_end:
                if direct:
                    change(seq, t, d, bwd_alloc[l], what)
                    continue
                grow = 0.0
                if (k, m, l) not in gprim:
                    gprim.add((k, m, l))
                    grow += xfer[l]
                for e in range(par_ptr[l], par_ptr[l + 1]):
                    pp = int(par_idx[e])
                    if not has_bwd[pp]:
                        continue
                    # the kernel's rule: a whole view's gradient becomes its input's (no buffer of its own)
                    hand = is_view[l] and e == par_ptr[l] and xfer[l] == xfer[pp]
                    if pl[pp] == pl[l]:
                        if (k, m, pp) not in gprim:
                            gprim.add((k, m, pp))
                            if hand:
                                handed.add((k, m, l))
                            else:
                                grow += xfer[pp]
                    elif (k, m, int(par_j[e])) not in gpart:
                        gpart.add((k, m, int(par_j[e])))
                        if hand:
                            handed.add((k, m, l))
                        else:
                            grow += xfer[pp]
                change(seq, t, d, grow, what)
            elif kind == 0:
                freed = [0.0]
                for e in range(par_ptr[l], par_ptr[l + 1]):
                    if is_view[l] and e == par_ptr[l]:
                        continue  # a view keeps its input until its own output is freed
                    release_input(e, l, d, k, m, freed)
                if uses(l, k, m) == 0:
                    free_output(l, d, k, m, freed)
                if not has_bwd[l]:
                    freed[0] -= private[l]
                change(seq, t, d, freed[0], what + "/end")
            else:
                own = bwd_alloc[l] if direct else (0.0 if (k, m, l) in handed else xfer[l])
                freed = [-own - private[l]]
                for e in range(par_ptr[l], par_ptr[l + 1]):
                    if par_keep[e]:
                        release_input(e, l, d, k, m, freed)
                if keep_out[l]:
                    act_uses[(k, m, l)] = uses(l, k, m) - 1
                    if act_uses[(k, m, l)] == 0:
                        free_output(l, d, k, m, freed)
                change(seq, t, d, freed[0], what + "/end")
            continue
        # hop 0 of a transfer: the copy is allocated where it goes, the original leaves the sender
        xkind = kind - 3
        src = int(tr_i[r, 5])
        dst = int(tr_i[last_hop[int(tr_i[r, 9])], 6])
        if xkind == 2:
            continue  # all-reduce chunks are not counted
        l = obj
        nbytes = xfer[l]
        if xkind == 0:
            if not is_end:
                change(seq, t, dst, nbytes, f"recv/{names[l]}/mb{m}{tag(k)}")
            else:
                act_uses[(k, m, l)] = uses(l, k, m) - 1
                freed = [0.0]
                if act_uses[(k, m, l)] == 0:
                    free_output(l, src, k, m, freed)
                change(seq, t, src, freed[0], f"send/{names[l]}/mb{m}{tag(k)}")
        else:
            if not is_end:
                if (k, m, l) not in gprim:
                    gprim.add((k, m, l))
                    change(seq, t, dst, nbytes, f"grad_recv/{names[l]}/mb{m}{tag(k)}")
            else:
                change(seq, t, src, -nbytes, f"grad_send/{names[l]}/mb{m}{tag(k)}")

    per_device: list[list[tuple]] = [[] for _ in range(D)]
    for item in changes:
        per_device[item[2]].append(item)
    out = []
    for d in range(D):
        rows = per_device[d]  # already in order
        delta = np.array([x[3] for x in rows])
        out.append(DeviceMemory(device=sim.device_names[d], time=np.array([x[1] for x in rows]),
                                bytes=np.cumsum(delta) if len(rows) else np.zeros(0), delta=delta,
                                op=[x[4] for x in rows]))
    return MemoryTimeline(out)
