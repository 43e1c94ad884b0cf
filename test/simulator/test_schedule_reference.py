"""The compiled kernel against a plain Python simulation of the documented rules.

`reference_sim()` below is written from the semantics in simulator/schedule.py and
simulator/memory.py, in the most direct way (a loop over event times, lists
and dicts, no shortcuts). Random networks, placements and settings must give
the kernel's step time and peak memory exactly (same floating-point
operations in the same order), which checks the kernel's bookkeeping and its
speed shortcuts (which must never change a result).
"""
from __future__ import annotations

import random

import numpy as np
import pytest

import simulator as sim
from simulator.ops import Input
from simulator.schedule import device_models
from test_schedule_helpers import EXACT, Work, device_graph, net


def megatron_interleaved(p: int, r: int, v: int, m: int) -> list[tuple[str, int, int]]:
    """Megatron-LM's interleaved 1F1B (forward_backward_pipelining_with_interleaving) on rank r of p
    holding v stages (chunks), stage i on rank i mod p: its stage-level ops (kind, micro-batch, stage).
    The k-th forward is of micro-batch k // (p v) * p + k % p on chunk k % (p v) // p, the k-th
    backward the same on the chunks in reverse; a warm-up of (p - r - 1) * 2 + (v - 1) * p forwards
    (all when m == p), then a forward and a backward in turn, then the cool-down backwards. Megatron
    needs m to be a multiple of p: for other m, the order of m rounded up (the caller drops the ops
    of micro-batches >= m)."""
    mp = -(-m // p) * p
    total = mp * v
    warm = total if mp == p else min((p - r - 1) * 2 + (v - 1) * p, total)

    def op(kind, k):
        chunk = k % (p * v) // p
        return (kind, k // (p * v) * p + k % p, (chunk if kind == "F" else v - 1 - chunk) * p + r)
    ops = [op("F", k) for k in range(warm)]
    for i in range(total - warm):
        ops += [op("F", warm + i), op("B", i)]
    return ops + [op("B", k) for k in range(total - warm, total)]


def reference_sim(s: sim.Simulator, pl: list[int]) -> tuple[float, list[float]]:
    n, c, g, st = s.network, s.costs, s.devices, s.settings
    M, R, L, D = st.micro_batches, st.replicas, len(n.layers), len(g.devices)
    gpipe = st.schedule == "gpipe"
    parents = [[n.index[p] for p in layer.parents] for layer in n.layers]
    entries = [(ch, slot, p) for ch in range(L) for slot, p in enumerate(parents[ch])]
    kids = [[(ch, slot) for ch, slot, p in entries if p == l] for l in range(L)]
    hb = [bool(x) for x in c.has_bwd]
    keep = {(ch, slot): hb[ch] and slot in c.saved_slot[ch] for ch, slot, _ in entries}
    keep_out = [bool(c.saves_output[l]) and hb[l] for l in range(L)]
    view = [bool(x) for x in c.is_view]
    group = [0] * L
    for gi, grp in enumerate(n.groups):
        for l in grp.layers:
            group[l] = gi
    # replica device sets
    used = sorted(set(pl))
    model = device_models(g)
    rep = [{d: d for d in used}]
    taken = set(used)
    for k in range(1, R):
        m_ = {}
        for d in used:
            e = min(x for x in range(D) if x not in taken and model[x] == model[d])
            m_[d] = e
            taken.add(e)
        rep.append(m_)
    dev = lambda l, k: rep[k][pl[l]]  # noqa: E731
    # 1f1b stages: runs of consecutive layers on one device; S - s in flight for a device holding one
    # stage (its first is s), ceil((S - s) / v) + 1 for one holding v > 1. Stage-level ops (the forward
    # or backward of a micro-batch on a stage) run as units; a device holding one stage also keeps
    # 1F1B's order (ordered 1), one holding several only the units (ordered 2)
    stages = [pl[l] for l in range(L) if l == 0 or pl[l] != pl[l - 1]]
    stage = [0] * L
    for l in range(1, L):
        stage[l] = stage[l - 1] + (pl[l] != pl[l - 1])
    S = len(stages)
    limit, ordered = {}, [0] * D
    for d in used:
        s, v = stages.index(d), stages.count(d)
        for k in range(R):
            limit[rep[k][d]] = S - s if v == 1 else -(-(S - s) // v) + 1
            ordered[rep[k][d]] = 0 if gpipe else (1 if v == 1 else 2)
    op_left = {}
    for l in range(L):
        for k in range(R):
            for m in range(M):
                op_left["F", m, k, stage[l]] = op_left.get(("F", m, k, stage[l]), 0) + 1
                op_left["B", m, k, stage[l]] = op_left.get(("B", m, k, stage[l]), 0) + hb[l]
    cur = [None] * D  # the stage-level op begun and not finished on the device
    # a regular interleaved placement (p devices holding v > 1 stages each, stage i on the device of
    # stage i mod p) runs Megatron's order (ordered 3): each device's ops in a list, taken in turn
    p_ = len(used)
    seq = {}
    if not gpipe and S > p_ and S % p_ == 0 and all(stages[i] == stages[i % p_] for i in range(S)):
        for d in used:
            ops = [op for op in megatron_interleaved(p_, stages.index(d), S // p_, M)
                   if op[1] < M and op_left[op[0], op[1], 0, op[2]] > 0]
            for k in range(R):
                seq[rep[k][d]] = list(ops)
                ordered[rep[k][d]] = 3

    def may_start(d, kind, a, m):
        if kind == "U":
            return True
        if ordered[d] == 3:
            return bool(seq[d]) and seq[d][0] == (kind, m, stage[a])
        if ordered[d] and cur[d] is not None:
            return cur[d] == (kind, m, stage[a])
        if ordered[d] == 1 and kind == "B":
            return m + limit[d] - 1 >= M or (d, m + limit[d] - 1) in started
        return kind != "F" or (d, m) in started or inflight[d] < limit[d]
    dests = {}  # other devices that consume l's output, in the order its consumers come
    for l in range(L):
        dests[l] = []
        for ch, _ in kids[l]:
            if pl[ch] != pl[l] and pl[ch] not in dests[l]:
                dests[l].append(pl[ch])
    # state
    mem = [0.0] * D
    peak = [0.0] * D

    def alloc(d, b):
        mem[d] += b
        peak[d] = max(peak[d], mem[d])

    for l in range(L):
        for k in range(R):
            mem[dev(l, k)] += c.static_bytes[l]
    peak[:] = mem[:]
    fdep, bdep, uses, copy, part, gbuf, gpart = {}, {}, {}, {}, {}, set(), set()
    for k in range(R):
        for m in range(M):
            for l in range(L):
                fdep[l, m, k] = len(parents[l])
                local = [(ch, sl) for ch, sl in kids[l] if pl[ch] == pl[l]]
                uses[l, m, k] = sum(1 + keep[e] for e in local) + len(dests[l]) + keep_out[l]
                bdep[l, m, k] = (1 if not kids[l] else len(local) + len(dests[l])) if hb[l] else 0
                for d0 in dests[l]:
                    on = [(ch, sl) for ch, sl in kids[l] if pl[ch] == d0]
                    copy[l, d0, m, k] = sum(1 + keep[e] for e in on)
                    part[l, d0, m, k] = len(on)
    buckets = {}
    for l in range(L):
        if c.grad_bytes[l] > 0 and hb[l]:
            b = group[l] * D + pl[l]
            buckets.setdefault(b, []).append(l)
    coll_left = {b: len(ls) * M * R for b, ls in buckets.items()}
    fwd_left_mb = {(m, k): L for m in range(M) for k in range(R)}
    fwd_left_dev = [0] * D
    mb_left = {}
    for l in range(L):
        for k in range(R):
            fwd_left_dev[dev(l, k)] += M
            for m in range(M):
                mb_left[dev(l, k), m] = mb_left.get((dev(l, k), m), 0) + 1 + hb[l]
    started, inflight = set(), [0] * D
    ready = [[] for _ in range(D)]   # (key, task)
    cls = {"F": 0 if gpipe else 1, "B": 1 if gpipe else 0, "U": 2}

    def push(task):
        kind, a, m, k = task
        order = a if kind == "F" else (L - 1 - a if kind == "B" else a)
        d = dev(a, k) if kind != "U" else rep[k][a % D]
        ready[d].append(((cls[kind], m, order), task))

    busy = [None] * D          # (end, task, start)
    chan_q = [[] for _ in g.channels]       # activations and output gradients, FIFO
    ring_q = [[] for _ in g.channels]       # all-reduce chunks, FIFO, served when chan_q is empty
    chan_busy = [None] * len(g.channels)
    routes = {(a, b): g.route(a, b) for a in range(D) for b in range(D) if a != b}
    transfers = []

    def request(kind, obj, m, k, src, dst, nbytes, extra):
        transfers.append(dict(kind=kind, obj=obj, m=m, k=k, src=src, dst=dst, bytes=nbytes,
                              hop=0, extra=extra))
        (ring_q if kind == "ring" else chan_q)[routes[src, dst][0][0]].append(len(transfers) - 1)

    def release(l, slot, k, m):
        p = parents[l][slot]
        d = dev(l, k)
        if pl[p] == pl[l]:
            uses[p, m, k] -= 1
            if uses[p, m, k] == 0:
                free_out(p, k, m)
        else:
            copy[p, pl[l], m, k] -= 1
            if copy[p, pl[l], m, k] == 0:
                mem[d] -= c.xfer_bytes[p]

    def free_out(l, k, m):
        mem[dev(l, k)] -= c.alloc_bytes[l]
        if view[l] and parents[l]:
            release(l, 0, k, m)

    for k in range(R):
        for m in range(M):
            for l in range(L):
                if not parents[l]:
                    push(("F", l, m, k))
    t, tmax = 0.0, 0.0
    while True:
        # dispatch
        for d in range(D):
            if busy[d] is not None or not ready[d]:
                continue
            cand = sorted(ready[d])
            pick = None
            for key, task in cand:
                kind, a, m, k = task
                if not gpipe and not may_start(d, kind, a, m):
                    continue
                if kind == "B" and gpipe and fwd_left_dev[d] > 0:
                    continue
                pick = (key, task)
                break
            if pick is None:
                continue
            ready[d].remove(pick)
            kind, a, m, k = pick[1]
            if kind == "U":
                dur = sum(c.upd[l, d] for l in buckets[a])
            else:
                if (d, m) not in started:
                    started.add((d, m))
                    inflight[d] += 1
                if not gpipe and cur[d] is None:
                    cur[d] = (kind, m, stage[a])
                if kind == "F":
                    alloc(d, c.alloc_bytes[a] + c.private_bytes[a])
                    dur = c.fwd[a, d]
                else:
                    grow = 0.0
                    if (a, m, k) not in gbuf:
                        gbuf.add((a, m, k))
                        grow += c.xfer_bytes[a]
                    for p in parents[a]:
                        if not hb[p]:
                            continue
                        if pl[p] == pl[a]:
                            if (p, m, k) not in gbuf:
                                gbuf.add((p, m, k))
                                grow += c.xfer_bytes[p]
                        elif (p, pl[a], m, k) not in gpart:
                            gpart.add((p, pl[a], m, k))
                            grow += c.xfer_bytes[p]
                    alloc(d, grow)
                    dur = c.bwd[a, d]
            busy[d] = (t + dur, pick[1], t)
        for ch in range(len(g.channels)):
            if chan_busy[ch] is not None or not (chan_q[ch] or ring_q[ch]):
                continue
            x = (chan_q[ch] or ring_q[ch]).pop(0)
            tr = transfers[x]
            hop_ch, sender = routes[tr["src"], tr["dst"]][tr["hop"]]
            dur = g.channels[ch].latency + max(c.dev_floor[sender], tr["bytes"] * c.chan_sec_per_byte[ch])
            if tr["hop"] == 0:
                if tr["kind"] == "act":
                    alloc(tr["dst"], tr["bytes"])
                elif tr["kind"] == "grad" and (tr["obj"], tr["m"], tr["k"]) not in gbuf:
                    gbuf.add((tr["obj"], tr["m"], tr["k"]))
                    alloc(tr["dst"], tr["bytes"])
            chan_busy[ch] = (t + dur, x)
        ends = [b[0] for b in busy if b] + [b[0] for b in chan_busy if b]
        if not ends:
            if not gpipe and any(ready):
                # the stalled device whose most urgent ready task ranks first, then the lower replica
                d = min((d for d in range(D) if ready[d] and busy[d] is None),
                        key=lambda d: (min(ready[d])[0], min(ready[d])[1][3]))
                limit[d] += 1
                ordered[d] = 0
                continue
            break
        t = min(ends)
        tmax = max(tmax, t)
        for d in range(D):
            if busy[d] is None or busy[d][0] != t:
                continue
            _, (kind, a, m, k), _ = busy[d]
            busy[d] = None
            if kind == "U":
                continue
            if kind == "F":
                for slot in range(len(parents[a])):
                    if not (view[a] and slot == 0):
                        release(a, slot, k, m)
                for ch, _ in kids[a]:
                    if pl[ch] == pl[a]:
                        fdep[ch, m, k] -= 1
                        if fdep[ch, m, k] == 0:
                            push(("F", ch, m, k))
                for d0 in dests[a]:
                    request("act", a, m, k, d, rep[k][d0], c.xfer_bytes[a], d0)
                if uses[a, m, k] == 0:
                    free_out(a, k, m)
                if not hb[a]:
                    mem[d] -= c.private_bytes[a]
                fwd_left_dev[d] -= 1
                fwd_left_mb[m, k] -= 1
                if fwd_left_mb[m, k] == 0:
                    for l in range(L):
                        if not kids[l] and hb[l]:
                            bdep[l, m, k] -= 1
                            if bdep[l, m, k] == 0:
                                push(("B", l, m, k))
            else:
                mem[d] -= c.xfer_bytes[a] + c.private_bytes[a]
                for slot in range(len(parents[a])):
                    if keep[a, slot]:
                        release(a, slot, k, m)
                if keep_out[a]:
                    uses[a, m, k] -= 1
                    if uses[a, m, k] == 0:
                        free_out(a, k, m)
                for p in parents[a]:
                    if not hb[p]:
                        continue
                    if pl[p] == pl[a]:
                        bdep[p, m, k] -= 1
                        if bdep[p, m, k] == 0:
                            push(("B", p, m, k))
                    else:
                        part[p, pl[a], m, k] -= 1
                        if part[p, pl[a], m, k] == 0:
                            request("grad", p, m, k, d, dev(p, k), c.xfer_bytes[p], None)
                if c.grad_bytes[a] > 0:
                    b = group[a] * D + pl[a]
                    coll_left[b] -= 1
                    if coll_left[b] == 0:
                        if R == 1:
                            push(("U", b, 0, 0))
                        else:
                            nbytes = sum(c.grad_bytes[l] for l in buckets[b]) / R
                            for k2 in range(R):
                                request("ring", b, 0, k2, rep[k2][pl[a]], rep[(k2 + 1) % R][pl[a]],
                                        nbytes, 0)
            mb_left[d, m] -= 1
            if mb_left[d, m] == 0:
                inflight[d] -= 1
            op_left[kind, m, k, stage[a]] -= 1
            if op_left[kind, m, k, stage[a]] == 0 and cur[d] == (kind, m, stage[a]):
                cur[d] = None
            if op_left[kind, m, k, stage[a]] == 0 and ordered[d] == 3:
                seq[d].pop(0)
        for ch in range(len(g.channels)):
            if chan_busy[ch] is None or chan_busy[ch][0] != t:
                continue
            x = chan_busy[ch][1]
            chan_busy[ch] = None
            tr = transfers[x]
            k, m, a = tr["k"], tr["m"], tr["obj"]
            if tr["hop"] == 0:
                if tr["kind"] == "act":
                    uses[a, m, k] -= 1
                    if uses[a, m, k] == 0:
                        free_out(a, k, m)
                elif tr["kind"] == "grad":
                    mem[tr["src"]] -= tr["bytes"]
            tr["hop"] += 1
            route = routes[tr["src"], tr["dst"]]
            if tr["hop"] < len(route):
                (ring_q if tr["kind"] == "ring" else chan_q)[route[tr["hop"]][0]].append(x)
                continue
            if tr["kind"] == "act":
                for ch2, _ in kids[a]:
                    if pl[ch2] == tr["extra"]:
                        fdep[ch2, m, k] -= 1
                        if fdep[ch2, m, k] == 0:
                            push(("F", ch2, m, k))
            elif tr["kind"] == "grad":
                bdep[a, m, k] -= 1
                if bdep[a, m, k] == 0:
                    push(("B", a, m, k))
            else:
                step, k2, d0 = tr["extra"], (k + 1) % R, a % D
                if step + 1 < 2 * (R - 1):
                    request("ring", a, 0, k2, rep[k2][d0], rep[(k2 + 1) % R][d0], tr["bytes"], step + 1)
                else:
                    push(("U", a, 0, k2))
    return tmax, peak


def random_network(rng: random.Random, n_layers: int):
    spec = [("x", Input((rng.randint(1, 50),)), ())]
    names = ["x"]
    for i in range(n_layers):
        k = 1 if rng.random() < 0.6 or len(names) < 2 else 2
        ps = tuple(rng.sample(names[-4:], min(k, len(names[-4:]))))
        op = Work(fwd=rng.choice([1e8, 3e8, 1e9]), dgrad=rng.choice([0, 2e8, 1e9]),
                  wgrad=rng.choice([1e8, 5e8]), width=rng.randint(1, 5000),
                  params=rng.choice([0, 0, 10, 10_000]), keep_input=rng.random() < 0.5,
                  keep_output=rng.random() < 0.2)
        spec.append((f"l{i}", op, ps))
        names.append(f"l{i}")
    per = max(1, len(spec) // 4)
    groups = {f"g{j}": [nm for nm, _, _ in spec[j * per:(j + 1) * per]] for j in range(len(spec) // per)}
    leftover = [nm for nm, _, _ in spec[(len(spec) // per) * per:]]
    if leftover:
        groups[f"g{len(groups) - 1}"] += leftover
    return net(spec, batch=8, groups=groups)


def line_graph(n: int):
    """gpu0 - gpu1 - ... in a line, one channel per link: transfers hop store-and-forward."""
    from simulator.devices import Channel, DeviceGraph
    from test_schedule_helpers import gpu
    chans = [Channel(f"l{i}", "t", 2e9 * (i + 1), 1e-6) for i in range(n - 1)]
    links = {}
    for i in range(n - 1):
        links[(i, i + 1)] = i
        links[(i + 1, i)] = i
    return DeviceGraph([gpu(f"gpu{i}") for i in range(n)], chans, links)


CASES = [dict(), dict(micro_batches=4), dict(micro_batches=4, schedule="1f1b"),
         dict(replicas=2), dict(replicas=2, micro_batches=2, schedule="1f1b"), dict(optimizer="adam"),
         dict(micro_batches=8, schedule="1f1b"), dict(replicas=2, micro_batches=4)]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_kernel_matches_the_reference_simulation(case):
    rng = random.Random(1234 + case)
    settings = CASES[case]
    checked = 0
    for trial in range(12):
        n = random_network(rng, rng.randint(3, 14))
        if rng.random() < 0.25:
            g = line_graph(6)  # multi-hop routes
        else:
            g = device_graph(6, bandwidth=rng.choice([1e9, 1e11]), latency=rng.choice([0.0, 1e-5]),
                             shared=rng.random() < 0.5)
        s = sim.Simulator(n, g, **EXACT, **settings)
        G = len(n.groups)
        devices = 3 if settings.get("replicas", 1) == 2 else 6
        for _ in range(4):
            placement = [rng.randrange(devices) for _ in range(G)]
            r = s.run(placement)
            per_layer = list(sim.placement.layer_devices(placement, n, g))
            t, peak = reference_sim(s, per_layer)
            assert r.raw_step_time == t, (trial, placement)
            assert r.peak_memory.tolist() == peak, (trial, placement)
            checked += 1
    assert checked == 48


@pytest.mark.parametrize("m", [1, 2, 4, 8])
def test_kernel_matches_the_reference_on_regular_interleaved_placements(m):
    # group i on device i mod p: the stages of random networks (with skip connections between them)
    # on p devices holding several each, Megatron's order where they are regular; never a deadlock
    rng = random.Random(99 + m)
    regular = 0
    for trial in range(10):
        n = random_network(rng, rng.randint(6, 14))
        g = device_graph(6, bandwidth=rng.choice([1e9, 1e11]), latency=rng.choice([0.0, 1e-5]))
        s = sim.Simulator(n, g, **EXACT, micro_batches=m, schedule="1f1b")
        for p in (2, 3):
            placement = [i % p for i in range(len(n.groups))]
            per_layer = list(sim.placement.layer_devices(placement, n, g))
            stages = [d for l, d in enumerate(per_layer) if l == 0 or d != per_layer[l - 1]]
            regular += len(stages) > p and len(stages) % p == 0 and stages == [i % p for i in range(len(stages))]
            r = s.run(placement)
            t, peak = reference_sim(s, per_layer)
            assert np.isfinite(r.raw_step_time)
            assert r.raw_step_time == t and r.peak_memory.tolist() == peak, (trial, p)
    assert regular >= 5


def test_reference_agrees_with_paleo_costs_on_exprimo_graphs(paleo_nets, reference):
    n = sim.load_network(paleo_nets / "inception_v3.json").regroup(8)
    g = sim.load_device_graph(reference / "exprimo-device-graphs" / "malvik-4gpu.json")
    s = sim.Simulator(n, g, cost_model="paleo", batch_size=128)
    rng = random.Random(5)
    for _ in range(4):
        placement = [rng.randrange(5) for _ in range(8)]
        r = s.run(placement)
        t, peak = reference_sim(s, list(sim.placement.layer_devices(placement, n, g)))
        assert r.raw_step_time == t and r.peak_memory.tolist() == peak


def test_reference_agrees_on_a_zoo_network():
    n = sim.zoo.load("resnet18", batch_size=8).regroup(6)
    g = sim.devices.preset("cpu+4xV100-pcie3")
    s = sim.Simulator(n, g, micro_batches=2)
    for placement in ([1, 1, 2, 2, 3, 4], [0, 1, 2, 1, 2, 1], [4, 3, 2, 1, 1, 1]):
        r = s.run(placement)
        t, peak = reference_sim(s, list(sim.placement.layer_devices(placement, n, g)))
        assert r.raw_step_time == t and r.peak_memory.tolist() == peak
        assert np.isfinite(t)
