"""The discrete-event simulation of one training step, compiled with numba.

One kernel serves both entry points: `run_batch` loops over placements inside
compiled code, so a batch of one placement and a placement in a batch go
through exactly the same instructions and give bit-identical results.

Semantics (see schedule.py for the full statement):
- tasks: forward F(l, m, k) and backward B(l, m, k) of layer l, micro-batch
  m, replica k, and one optimizer update U per (group, device, replica)
  bucket of weights; a device runs one task at a time;
- transfers: activations (once per consumer device), output gradients (once
  per consumer device, summed there) and ring all-reduce chunks; each hop
  waits for its channel (a tied copy's gradient, exchanged between the owner's
  bucket and the copy's before their updates, is an all-reduce chunk of step
  2(R - 1): `_bucket_ready`), which has two first-come-first-served queues:
  activations and gradients, then (only when that one is empty) all-reduce
  chunks (q_head[c], q_head[C + c]);
- time: the simulation advances to the earliest completion; all completions
  at that time are handled (devices by index, then channels by index), and
  only then do idle devices pick a ready task (by priority key) and idle
  channels start the transfer at the head of their queue.
- 1f1b (`_may_start`): a device picks the best ready task it may start. Its
  stage-level op (class, micro-batch, stage: `cur_op`, `cur_stage`; tasks
  left in `op_left`) once begun is finished first; a forward of a new
  micro-batch waits while `limit` are in flight; a device holding one stage
  (ordered = 1) begins B(i) only once F(i + limit - 1) has started, which
  gives Megatron's 1F1B order; a device of a regular interleaved placement
  (ordered = 3) runs only the op Megatron's interleaved order puts next
  (`_interleaved_op`, its position `op_pos`); any other holding several
  (ordered = 2) keeps the first two rules; a stalled step sets ordered = 0 on
  the stalled device.
- training algorithms without a backward chain (direct_grad = 1, DFA; see
  simulator/memory.py): every backward waits only for its micro-batch's loss
  (on the loss device) or for the output error sent from there (X_ERR, one
  per micro-batch and device; not traced, no memory), holds bwd_alloc bytes
  while it runs, and neither allocates nor sends gradients for its parents;
- with a trace, each record also has the order of its start and of its end
  among all starts and ends (columns 7, 8; tr_count[1] counts them) and, for
  a transfer hop, the transfer's id (column 9): the memory timeline replays
  that order (simulator/memory_timeline.py).
Keys (smaller first): class << 48 | micro-batch << 24 | order, with class
F < B < U for gpipe and B < F < U for 1f1b; order is the layer index for F
(topological order), L - 1 - layer for B (reverse order), the bucket for U.

Speed (exact shortcuts of the rules above, never changes of them):
- a completion strictly earlier than every other pending one (`fast_r`) is
  handled without going through the completion heap;
- when a layer's completion readies only the next layer of a chain (its only
  consumer, whose only input it is) on the same device, nothing else is due at
  that instant and no waiting task outranks it, the kernel starts it at once
  and, while each such task ends before any other event, completes it in a
  few lines instead of the general path (`chain_next`, `chain_prev`);
- `run_batch` allocates the workspace once, sized by what can exist at once
  (`_transfer_slots`: a finished transfer's slot is reused; its id for the
  trace is its request number); `_simulate_all` allocates
  nothing and is compiled without reference counting (`_nrt=False`), which
  makes the helper calls cheap; byte counts are integers held in float64, so
  memory sums are exact whatever the order of additions.

Why one file of about a thousand lines: numba's disk cache (``cache=True``)
is invalidated when the file of the cached function changes, not when an
njit function it calls from another module does (extending it was proposed
in numba pull requests 8396 and 9563, neither merged). Split across modules,
an edit to a helper could leave `run_batch` running its stale compiled copy.
"""
from __future__ import annotations

import numpy as np
from numba import njit

KIND_F, KIND_B, KIND_U = 0, 1, 2
X_ACT, X_GRAD, X_RING, X_ERR = 0, 1, 2, 3  # X_ERR: DFA's output error, sent to a stage
STATUS_OK, STATUS_REPLICA, STATUS_DEADLOCK, STATUS_NO_ROUTE, STATUS_WORKSPACE = 0, 1, 2, 3, 4


def _bucket_slots(L, D, n_groups, R):
    """The most weight buckets (group, replica-0 device) a placement can have: each holds a layer, and
    the R replicas use disjoint device sets, so replica 0 uses at most D // R devices."""
    return max(1, min(L, n_groups * max(1, D // R)))


def _transfer_slots(M, R, E, n_buckets, D, n_shared):
    """The most transfers in flight at once: an activation and an output gradient per (edge,
    micro-batch, replica), per bucket one ring chunk per replica (each replica's next chunk is
    sent once its previous one has arrived), DFA's output error to each device per (micro-batch,
    replica), and a tied copy's gradient each way per replica (at most one copy per sharing layer)."""
    return 2 * M * R * E + R * n_buckets + M * R * D + 2 * R * n_shared + 1


# schedule.workspace_bytes sizes the same workspace with the plain functions
bucket_slots = njit(cache=True)(_bucket_slots)
transfer_slots = njit(cache=True)(_transfer_slots)


@njit(cache=True, _nrt=False)
def _heap_push(heap, hsize, d, key):
    i = hsize[d]
    hsize[d] = i + 1
    while i > 0:
        parent = (i - 1) >> 1
        if heap[d, parent] <= key:
            break
        heap[d, i] = heap[d, parent]
        i = parent
    heap[d, i] = key


@njit(cache=True, _nrt=False)
def _alloc(mem, peak, d, nbytes):
    mem[d] += nbytes
    if mem[d] > peak[d]:
        peak[d] = mem[d]


@njit(cache=True, _nrt=False)
def _release_input(e, l, d, base, jb, par_ptr, par_idx, pl, act_uses, copy_uses,
                   par_j, alloc_bytes, xfer_bytes, is_view, mem):
    """Layer l on device d no longer needs the tensor of its input entry e.
    Frees it when that was the last use; a freed view releases its own input."""
    while True:
        pp = par_idx[e]
        if pl[pp] == pl[l]:
            act_uses[base + pp] -= 1
            if act_uses[base + pp] != 0:
                return
            mem[d] -= alloc_bytes[pp]
            if is_view[pp] == 0:
                return
            e = par_ptr[pp]  # the view's storage is its input 0: release that in turn
            l = pp
        else:
            j = par_j[e]
            copy_uses[jb + j] -= 1
            if copy_uses[jb + j] == 0:
                mem[d] -= xfer_bytes[pp]
            return


@njit(cache=True, _nrt=False)
def _free_output(l, d, base, jb, par_ptr, par_idx, pl, act_uses, copy_uses,
                 par_j, alloc_bytes, xfer_bytes, is_view, mem):
    """The output of l (on its device d) had no use left: free it (and a view's input use)."""
    mem[d] -= alloc_bytes[l]
    if is_view[l] == 1 and par_ptr[l + 1] > par_ptr[l]:
        _release_input(par_ptr[l], l, d, base, jb, par_ptr, par_idx, pl, act_uses, copy_uses,
                       par_j, alloc_bytes, xfer_bytes, is_view, mem)


@njit(cache=True, _nrt=False)
def _mark(r, dirty, dlist, st):
    """Resource r (device d, or channel c as D + c) may be able to start something."""
    if dirty[r] == 0:
        dirty[r] = 1
        dlist[st[0]] = r
        st[0] += 1


@njit(cache=True, _nrt=False)
def _push_task(heap, hsize, d, key, dirty, dlist, st):
    _heap_push(heap, hsize, d, key)
    _mark(d, dirty, dlist, st)


@njit(cache=True, _nrt=False)
def _interleaved_op(q, r, p, v, M):
    """The q-th stage-level op of rank r in Megatron-LM's interleaved 1F1B (Narayanan et al., SC'21)
    on p devices holding v stages each, stage i on rank i mod p: (is forward, micro-batch, stage).
    A warm-up of (p - r - 1) * 2 + (v - 1) * p forwards (all of them when M == p), then one forward
    and one backward in turn, then the cool-down backwards. The k-th forward takes the micro-batches
    in groups of p, each group through the device's stages (chunks) in turn; backwards the same with
    the chunks reversed. Megatron needs M to be a multiple of p: otherwise this is the order for M
    rounded up to one, whose ops on micro-batches >= M the caller skips (a subsequence of a
    deadlock-free order, with holes: the idle time stays bounded)."""
    Mp = (M + p - 1) // p * p
    total = Mp * v
    w = total if Mp == p else min((p - r - 1) * 2 + (v - 1) * p, total)
    steady = total - w
    if q < w:
        fwd = True
        k = q
    elif q - w < 2 * steady:
        fwd = (q - w) % 2 == 0
        k = w + (q - w) // 2 if fwd else (q - w) // 2
    else:
        fwd = False
        k = q - w - steady
    chunk = (k % (p * v)) // p
    mb = (k // (p * v)) * p + k % p
    if not fwd:
        chunk = v - 1 - chunk
    return fwd, mb, chunk * p + r


@njit(cache=True, _nrt=False)
def _may_start(key, d, L, M, cls_f, cls_u, mb_started, inflight, limit, ordered, cur_op, cur_stage, stage_of,
               op_pos, op_rank, ilv_p, ilv_v):
    """1f1b: whether device d may start the ready task `key` now. Updates always may. A device of a
    regular interleaved placement (ordered = 3) runs only the stage-level op Megatron's order puts
    next (`_interleaved_op`). Stage-level ops (ordered >= 1): the forward (backward) of a micro-batch
    on a stage, once begun on d, is finished before another stage-level op starts there. A device
    holding one stage (ordered = 1) begins the backward of micro-batch i only once the forward of
    i + limit - 1 has started (if it exists). Everywhere else a forward of a micro-batch not yet
    started waits while `limit` are in flight."""
    cl = key >> 48
    if cl == cls_u:
        return True
    if ordered[d] == 3:
        fwd, mb, sg = _interleaved_op(op_pos[d], op_rank[d], ilv_p, ilv_v, M)
        l = (key & 0xFFFFFF) if cl == cls_f else L - 1 - (key & 0xFFFFFF)
        return (cl == cls_f) == fwd and ((key >> 24) & 0xFFFFFF) == mb and stage_of[l] == sg
    if ordered[d] >= 1 and cur_op[d] >= 0:
        if (key >> 24) != cur_op[d]:
            return False
        l = (key & 0xFFFFFF) if cl == cls_f else L - 1 - (key & 0xFFFFFF)
        return stage_of[l] == cur_stage[d]
    m = (key >> 24) & 0xFFFFFF
    if ordered[d] == 1 and cl != cls_f:
        i = m + limit[d] - 1
        return i >= M or mb_started[d * M + i] == 1
    return cl != cls_f or mb_started[d * M + m] == 1 or inflight[d] < limit[d]


@njit(cache=True, _nrt=False)
def _release_backward(sinks, pl, d0, base, m, k, L, cls_b, bdep, repdev, heap, hsize, dirty, dlist, st):
    """Micro-batch m of replica k: the loss (or DFA's output error on replica-0 device d0 >= 0) is
    known; the backwards of the sinks (on d0 only, if d0 >= 0) waiting for nothing else are ready."""
    for si in range(sinks.shape[0]):
        s = sinks[si]
        if d0 >= 0 and pl[s] != d0:
            continue
        bdep[base + s] -= 1
        if bdep[base + s] == 0:
            _push_task(heap, hsize, repdev[k, pl[s]], (cls_b << 48) + (m << 24) + (L - 1 - s), dirty, dlist, st)


@njit(cache=True, _nrt=False)
def _enqueue(x, ch, ring, q_head, q_tail, xnext, D, dirty, dlist, st):
    """Append transfer x to channel ch's FIFO queue of its class: activations and gradients (queue
    ch), or all-reduce chunks (ring, queue C + ch: served only when the first is empty)."""
    q = ch + (q_head.shape[0] >> 1) * ring
    xnext[x] = -1
    if q_tail[q] < 0:
        q_head[q] = x
    else:
        xnext[q_tail[q]] = x
    q_tail[q] = x
    _mark(D + ch, dirty, dlist, st)


@njit(cache=True, _nrt=False)
def _ev_push(ev_t, ev_r, st, t, r):
    """Completion heap ordered by (time, resource): devices by index, then channels."""
    i = st[2]
    st[2] = i + 1
    while i > 0:
        parent = (i - 1) >> 1
        pt = ev_t[parent]
        if pt < t or (pt == t and ev_r[parent] < r):
            break
        ev_t[i] = pt
        ev_r[i] = ev_r[parent]
        i = parent
    ev_t[i] = t
    ev_r[i] = r


@njit(cache=True, _nrt=False)
def _ev_pop(ev_t, ev_r, st):
    r0 = ev_r[0]
    n = st[2] - 1
    st[2] = n
    if n == 0:
        return r0
    t = ev_t[n]
    r = ev_r[n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and (ev_t[c + 1] < ev_t[c] or (ev_t[c + 1] == ev_t[c] and ev_r[c + 1] < ev_r[c])):
            c += 1
        if ev_t[c] > t or (ev_t[c] == t and ev_r[c] > r):
            break
        ev_t[i] = ev_t[c]
        ev_r[i] = ev_r[c]
        i = c
    ev_t[i] = t
    ev_r[i] = r
    return r0


@njit(cache=True, _nrt=False)
def _new_transfer(xi, xbytes, kind, l, j, m, k, src, dst, nbytes, route_ptr, route_chan,
                  q_head, q_tail, xnext, D, dirty, dlist, st, xfree):
    """Request a transfer now; returns False if there is no route from src to dst."""
    r0 = route_ptr[src * D + dst]
    if route_ptr[src * D + dst + 1] == r0:
        return False
    if st[4] > 0:               # a slot freed by a finished transfer
        st[4] -= 1
        x = xfree[st[4]]
    elif st[3] < xi.shape[0]:   # a fresh slot
        x = st[3]
        st[3] = x + 1
    else:                       # cannot happen (the workspace bounds the live transfers): report it
        st[5] = 1
        return True
    xi[x, 8] = st[1]            # the transfer's id (the trace's column 9): unique, slots are reused
    st[1] += 1
    xi[x, 0] = kind
    xi[x, 1] = l
    xi[x, 2] = j
    xi[x, 3] = m
    xi[x, 4] = k
    xi[x, 5] = src
    xi[x, 6] = dst
    xi[x, 7] = 0  # hop
    xbytes[x] = nbytes
    _enqueue(x, route_chan[r0], 1 if kind == X_RING else 0, q_head, q_tail, xnext, D, dirty, dlist, st)
    return True


@njit(cache=True, _nrt=False)
def _bucket_ready(b, k, R, ntie, cls_u, coll_slot, upd_wait, tie_o, tie_bo, tie_bs, tie_ready, grad_bytes, repdev,
                  heap, hsize, xi, xbytes, route_ptr, route_chan, q_head, q_tail, xnext, dirty, dlist, st, xfree):
    """Bucket b of replica k has its gradient (its backwards done and, with replicas, its all-reduce): its
    update is ready, unless it holds weights shared with another device. Then, once the other bucket of
    that pair is ready too, the gradient's bytes go each way between the two devices (as Megatron-LM's
    all-reduce of the tied embedding between the first and last stage; on the all-reduce queues, marked
    as the step after the replicas' ring, 2(R - 1)); each bucket's update waits for its arrivals.
    Returns -1, or src * D + dst of a pair without a route."""
    D = repdev.shape[1]
    if upd_wait[k, coll_slot[b]] == 0:
        _push_task(heap, hsize, repdev[k, b % D], (cls_u << 48) + b, dirty, dlist, st)
        return -1
    NT = tie_o.shape[0]
    for i in range(ntie):
        if tie_bo[i] != b and tie_bs[i] != b:
            continue
        tie_ready[k * NT + i] += 1
        if tie_ready[k * NT + i] == 2:
            a = repdev[k, tie_bo[i] % D]
            s = repdev[k, tie_bs[i] % D]
            for j in range(2):
                src = a if j == 0 else s
                dst = s if j == 0 else a
                bd = tie_bs[i] if j == 0 else tie_bo[i]
                if not _new_transfer(xi, xbytes, X_RING, bd, 2 * (R - 1), 0, k, src, dst, grad_bytes[tie_o[i]],
                                     route_ptr, route_chan, q_head, q_tail, xnext, D, dirty, dlist, st, xfree):
                    return src * D + dst
    return -1


@njit(cache=True)
def run_batch(
        # network (flat CSR)
        par_ptr, par_idx, par_keep, ch_ptr, ch_idx, ch_slot, sinks, chain_next, chain_prev,
        has_bwd, is_view, keep_out, layer_group, n_groups,
        # costs
        fwd_t, bwd_t, upd_t, xfer_bytes, alloc_bytes, private_bytes, grad_bytes, static_bytes,
        # owner (L,): the layer whose weights a layer shares, or -1
        owner,
        # devices
        route_ptr, route_chan, route_from, chan_spb, chan_lat, dev_floor, dev_model,
        # settings
        M, R, sched,
        # training algorithm: direct_grad = 1 when no gradient flows between layers (DFA: every backward
        # is released by its micro-batch's loss); bwd_alloc (L,) bytes a backward holds while it runs
        direct_grad, bwd_alloc,
        # placements (P, L): replica-0 device of every layer
        placements,
        # outputs
        out_step, out_peak, out_busy, out_chan_busy, out_comm_bytes, out_status, out_err,
        # trace (only read when trace_on)
        trace_on, tr_i, tr_f, tr_count):
    """Allocate the workspace once, then simulate every placement (`_simulate_all`)."""
    L = par_ptr.shape[0] - 1
    D = dev_floor.shape[0]
    C = chan_spb.shape[0]
    E = par_idx.shape[0]
    NB = n_groups * D               # bucket ids: group * D + replica-0 device

    # ---------------------------------------------------------- workspace
    RML = R * M * L
    fdep = np.zeros(RML, np.int64)
    bdep = np.zeros(RML, np.int64)
    act_uses = np.zeros(RML, np.int64)
    gprim = np.zeros(RML, np.int64)
    NJ = max(E, 1)
    part = np.zeros(R * M * NJ, np.int64)
    copy_uses = np.zeros(R * M * NJ, np.int64)
    gpart = np.zeros(R * M * NJ, np.int64)
    dst_ptr = np.zeros(L + 1, np.int64)
    dst_dev = np.zeros(NJ, np.int64)
    dst_nchild = np.zeros(NJ, np.int64)
    dst_uses = np.zeros(NJ, np.int64)
    par_j = np.zeros(NJ, np.int64)
    act_uses0 = np.zeros(L, np.int64)
    bdep0 = np.zeros(L, np.int64)
    nparents = np.zeros(L, np.int64)
    for l in range(L):
        nparents[l] = par_ptr[l + 1] - par_ptr[l]
    fwd_left_mb = np.zeros(R * M, np.int64)
    used = np.zeros(D, np.int64)
    taken = np.zeros(D, np.int64)
    first_stage = np.zeros(D, np.int64)
    repdev = np.zeros((R, D), np.int64)
    dev_rep = np.zeros(D, np.int64)
    limit = np.zeros(D, np.int64)
    inflight = np.zeros(D, np.int64)
    mb_started = np.zeros(D * M, np.int64)
    mb_left = np.zeros(D * M, np.int64)
    op_left = np.zeros(RML, np.int64)     # tasks left of (replica, micro-batch, stage, forward or backward)
    stage_of = np.zeros(L, np.int64)
    st_nf = np.zeros(L, np.int64)
    st_nb = np.zeros(L, np.int64)
    cur_op = np.zeros(D, np.int64)
    cur_stage = np.zeros(D, np.int64)
    ordered = np.zeros(D, np.int64)
    op_pos = np.zeros(D, np.int64)        # ordered = 3: the device's next op in Megatron's interleaved order
    op_rank = np.zeros(D, np.int64)       # and its rank in that pipeline
    err_need = np.zeros(D, np.int64)      # DFA: 1 for a replica-0 device whose backwards need the output error
    tasks_dev = np.zeros(D, np.int64)
    fwd_left_dev = np.zeros(D, np.int64)
    NBK = bucket_slots(L, D, n_groups, R)
    hcap = 2 * M * L + min(n_groups, L) + 1   # a device's forwards, backwards and updates
    heap = np.zeros((D, hcap), np.int64)
    hsize = np.zeros(D, np.int64)
    dev_busy = np.zeros(D, np.int64)
    dev_start = np.zeros(D, np.float64)
    dev_key = np.zeros(D, np.int64)
    mem = np.zeros(D, np.float64)
    peak = np.zeros(D, np.float64)
    busy = np.zeros(D, np.float64)
    coll_cnt = np.zeros(NB, np.int64)
    coll_bytes = np.zeros(NB, np.float64)
    coll_slot = np.zeros(NB, np.int64)
    coll_upd = np.zeros((R, NBK), np.float64)
    coll_list = np.zeros(NBK, np.int64)
    NS = 0
    for l in range(L):
        NS += 1 if owner[l] >= 0 else 0
    NT = max(NS, 1)
    # tied copies (a sharing layer on another device than its owner): per (owner, sharer device) the owner
    # layer, its bucket and the sharer's; per (replica, copy) how many of its two buckets are ready;
    # per layer its bucket (-1: none); per (replica, bucket) the tied gradients it still waits for
    tie_o = np.zeros(NT, np.int64)
    tie_bo = np.zeros(NT, np.int64)
    tie_bs = np.zeros(NT, np.int64)
    tie_ready = np.zeros(R * NT, np.int64)
    lbk = np.zeros(L, np.int64)
    upd_wait = np.zeros((R, NBK), np.int64)
    xcap = transfer_slots(M, R, E, NBK, D, NS)
    # per transfer: kind, layer or bucket, consumer entry or ring step, micro-batch, replica,
    # source, destination, hop, id. A finished transfer's slot is reused (xfree).
    xi = np.zeros((xcap, 9), np.int64)
    xfree = np.zeros(xcap, np.int64)
    xnext = np.zeros(xcap, np.int64)
    xbytes = np.zeros(xcap, np.float64)
    q_head = np.zeros(2 * C, np.int64)   # channel c's FIFO queues: c for activations and gradients,
    q_tail = np.zeros(2 * C, np.int64)   # C + c for all-reduce chunks (served when c's is empty)
    chan_busy = np.zeros(C, np.int64)
    chan_start = np.zeros(C, np.float64)
    chan_x = np.zeros(C, np.int64)
    chan_time = np.zeros(C, np.float64)
    ev_t = np.zeros(D + C + 1, np.float64)
    ev_r = np.zeros(D + C + 1, np.int64)
    dirty = np.zeros(D + C, np.int64)
    dlist = np.zeros(D + C, np.int64)
    # dirty count, transfers requested, completion-heap size, fresh transfer slot, freed slots,
    # workspace overflow (never: the bounds above hold)
    st = np.zeros(6, np.int64)
    _simulate_all(
        par_ptr, par_idx, par_keep, ch_ptr, ch_idx, ch_slot, sinks, chain_next, chain_prev,
        has_bwd, is_view, keep_out, layer_group, n_groups,
        fwd_t, bwd_t, upd_t, xfer_bytes, alloc_bytes, private_bytes, grad_bytes, static_bytes, owner,
        route_ptr, route_chan, route_from, chan_spb, chan_lat, dev_floor, dev_model,
        M, R, sched, direct_grad, bwd_alloc, placements,
        out_step, out_peak, out_busy, out_chan_busy, out_comm_bytes, out_status, out_err,
        trace_on, tr_i, tr_f, tr_count,
        fdep, bdep, act_uses, gprim, part, copy_uses, gpart, dst_ptr, dst_dev, dst_nchild,
        dst_uses, par_j, act_uses0, bdep0, nparents, fwd_left_mb, used, taken, first_stage, repdev,
        dev_rep, limit, inflight, mb_started, mb_left, op_left, stage_of, st_nf, st_nb, cur_op, cur_stage, ordered, op_pos, op_rank, err_need, tasks_dev, fwd_left_dev, heap, hsize,
        dev_busy, dev_start, dev_key, mem, peak, busy, coll_cnt, coll_bytes, coll_slot, coll_upd, coll_list,
        tie_o, tie_bo, tie_bs, tie_ready, lbk, upd_wait,
        xi, xnext, xbytes, xfree, q_head, q_tail, chan_busy, chan_start, chan_x, chan_time, ev_t, ev_r,
        dirty, dlist, st)


@njit(cache=True, _nrt=False)
def _prepare_placement(
        p, pl, par_ptr, par_keep, ch_ptr, ch_idx, ch_slot, has_bwd, keep_out, layer_group, n_groups,
        upd_t, grad_bytes, static_bytes, owner, xfer_bytes, dev_model, M, R, sched, direct_grad, out_err,
        fdep, bdep, act_uses, gprim, part, copy_uses, gpart, dst_ptr, dst_dev, dst_nchild, dst_uses,
        par_j, act_uses0, bdep0, nparents, fwd_left_mb, used, taken, first_stage, repdev, dev_rep,
        limit, inflight, mb_started, mb_left, op_left, stage_of, st_nf, st_nb, cur_op, cur_stage, ordered, op_pos, op_rank, err_need, tasks_dev, fwd_left_dev, heap, hsize, dev_busy, mem,
        peak, busy, coll_cnt, coll_bytes, coll_slot, coll_upd, coll_list, tie_o, tie_bo, tie_bs, tie_ready, lbk,
        upd_wait, q_head, q_tail, chan_busy, chan_time, dirty, dlist, st):
    """Everything one placement needs before its first event: the replicas' device sets,
    the 1f1b bounds, the consumers of every output, the weight buckets, the counters
    and the first ready tasks. Returns (status, tasks to run, buckets, the interleaved pipeline's p and
    v (0 unless regular), DFA's loss device and error bytes, the tied copies)."""
    L = par_ptr.shape[0] - 1
    D = mem.shape[0]
    C = chan_busy.shape[0]
    NJ = max(part.shape[0] // (R * M), 1)
    cls_f = 0 if sched == 0 else 1
    status = STATUS_OK
    # ------------------------------------------------ replica device sets
    for d in range(D):
        used[d] = 0
        taken[d] = 0
        dev_rep[d] = -1
    for l in range(L):
        d = pl[l]
        used[d] = 1
        taken[d] = 1
    for d in range(D):
        repdev[0, d] = d if used[d] == 1 else -1
    for k in range(1, R):
        for d in range(D):
            repdev[k, d] = -1
            if used[d] == 1:
                e_found = -1
                for e2 in range(D):
                    if taken[e2] == 0 and dev_model[e2] == dev_model[d]:
                        e_found = e2
                        break
                if e_found < 0:
                    status = STATUS_REPLICA
                    out_err[p, 0] = d
                    out_err[p, 1] = k
                    break
                repdev[k, d] = e_found
                taken[e_found] = 1
        if status != STATUS_OK:
            break
    if status != STATUS_OK:
        return status, 0, 0, 0, 0, -1, 0.0, 0
    for k in range(R):
        for d in range(D):
            if used[d] == 1:
                dev_rep[repdev[k, d]] = k
    # 1f1b: the stages are the runs of consecutive layers (in layer order) on one device. A device
    # whose first stage is s of S keeps at most S - s micro-batches in flight if it holds one stage (a
    # contiguous pipeline: s is its rank), ceil((S - s) / v) + 1 if it holds v > 1 (interleaved: one
    # micro-batch there passes v of its stages). `taken` now counts each device's stages.
    nst = 0
    for d in range(D):
        limit[d] = 0
        taken[d] = 0
        first_stage[d] = -1
    for l in range(L):
        if l == 0 or pl[l] != pl[l - 1]:
            d = pl[l]
            if first_stage[d] < 0:
                first_stage[d] = nst
            taken[d] += 1
            st_nf[nst] = 0
            st_nb[nst] = 0
            nst += 1
        stage_of[l] = nst - 1
        st_nf[nst - 1] += 1
        st_nb[nst - 1] += has_bwd[l]
    for d in range(D):
        ordered[d] = 0
        cur_op[d] = -1
    for d in range(D):
        if used[d] == 1:
            for k in range(R):
                if taken[d] == 1:
                    limit[repdev[k, d]] = nst - first_stage[d]
                    ordered[repdev[k, d]] = 1 if sched == 1 else 0  # 1F1B's order of stage-level ops
                else:
                    limit[repdev[k, d]] = (nst - first_stage[d] + taken[d] - 1) // taken[d] + 1
                    ordered[repdev[k, d]] = 2 if sched == 1 else 0  # stage-level ops, no fixed order
    # A regular interleaved placement (p devices holding v > 1 stages each, stage i on the device of
    # stage i mod p) runs Megatron's interleaved order (ordered = 3), whose bubble is (p - 1) stage
    # round trips whatever the number of micro-batches; the bound of rule (b) alone let the idle time
    # grow with it. Other placements with several stages per device keep ordered = 2.
    ilv_p = 0
    ilv_v = 0
    if sched == 1 and nst > 1:
        for d in range(D):
            ilv_p += used[d]
        ilv_v = nst // ilv_p
        regular = ilv_v > 1 and nst == ilv_p * ilv_v
        for d in range(D):
            if used[d] == 1 and (taken[d] != ilv_v or first_stage[d] >= ilv_p):
                regular = False
        for l in range(L):
            if (l == 0 or pl[l] != pl[l - 1]) and stage_of[l] % ilv_p != first_stage[pl[l]]:
                regular = False
        if regular:
            for d in range(D):
                if used[d] == 1:
                    for k in range(R):
                        ordered[repdev[k, d]] = 3
                        op_rank[repdev[k, d]] = first_stage[d]
                        op_pos[repdev[k, d]] = 0
        else:
            ilv_p = 0
            ilv_v = 0

    # ------------------------------------------------ per-layer consumers
    nj = 0
    n_tasks = 0
    for l in range(L):
        dst_ptr[l] = nj
        dl = pl[l]
        uses = keep_out[l]
        nlocal = 0
        for e in range(ch_ptr[l], ch_ptr[l + 1]):
            c = ch_idx[e]
            slot = ch_slot[e]
            dc = pl[c]
            if dc == dl:
                uses += 1 + par_keep[slot]
                nlocal += 1
            else:
                j = -1
                for q in range(dst_ptr[l], nj):
                    if dst_dev[q] == dc:
                        j = q
                        break
                if j < 0:
                    j = nj
                    dst_dev[j] = dc
                    dst_nchild[j] = 0
                    dst_uses[j] = 0
                    nj += 1
                dst_nchild[j] += 1
                dst_uses[j] += 1 + par_keep[slot]
                par_j[slot] = j
        ndst = nj - dst_ptr[l]
        act_uses0[l] = uses + ndst
        if has_bwd[l] == 1:
            if ch_ptr[l + 1] == ch_ptr[l] or direct_grad == 1:
                bdep0[l] = 1  # a sink (direct_grad: any layer): released by its micro-batch's loss
            else:
                bdep0[l] = nlocal + ndst
        else:
            bdep0[l] = 0
        n_tasks += R * M * (1 + has_bwd[l])
    dst_ptr[L] = nj
    # DFA: every backward needs the output error e, which the loss gives on the device of the last
    # output layer (a layer without consumers); each other device holding a backward receives e
    # (the outputs' bytes) once per micro-batch before its backwards may start.
    loss_dev = -1
    err_bytes = 0.0
    for d in range(D):
        err_need[d] = 0
    if direct_grad == 1:
        for l in range(L):
            if has_bwd[l] == 1 and ch_ptr[l + 1] == ch_ptr[l]:
                loss_dev = pl[l]
                err_bytes += xfer_bytes[l]
        for l in range(L):
            if has_bwd[l] == 1 and pl[l] != loss_dev and loss_dev >= 0:
                err_need[pl[l]] = 1

    # ------------------------------------------------ weight buckets
    # A layer sharing the weights of a layer on another device computes with its own copy there (as
    # Megatron-LM's tied embedding on the last stage): one copy per (owner, sharer device), in the bucket
    # of the first such layer there, with the owner's gradient bytes and update; each sharing layer's
    # backward counts in that bucket. A sharing layer on its owner's device uses the owner's weights.
    ntie = 0
    for l in range(L):
        lbk[l] = -1
        o = owner[l]
        if has_bwd[l] == 0:
            continue
        if o < 0:
            if grad_bytes[l] > 0.0:
                lbk[l] = layer_group[l] * D + pl[l]
        elif pl[o] != pl[l] and grad_bytes[o] > 0.0 and has_bwd[o] == 1:
            i = 0
            while i < ntie and not (tie_o[i] == o and tie_bs[i] % D == pl[l]):
                i += 1
            if i == ntie:
                tie_o[i] = o
                tie_bo[i] = layer_group[o] * D + pl[o]
                tie_bs[i] = layer_group[l] * D + pl[l]
                ntie += 1
            lbk[l] = tie_bs[i]
    ncoll = 0
    for l in range(L):
        if lbk[l] >= 0:
            b = lbk[l]
            if coll_cnt[b] == 0:
                if ncoll == coll_list.shape[0]:  # cannot happen: bucket_slots bounds them
                    for i in range(ncoll):
                        coll_cnt[coll_list[i]] = 0
                    return STATUS_WORKSPACE, 0, 0, 0, 0, -1, 0.0, 0
                coll_list[ncoll] = b
                coll_slot[b] = ncoll
                ncoll += 1
                coll_bytes[b] = 0.0
                for k in range(R):
                    coll_upd[k, ncoll - 1] = 0.0
                    upd_wait[k, ncoll - 1] = 0
            coll_cnt[b] += M * R
            if owner[l] < 0:
                coll_bytes[b] += grad_bytes[l]
                for k in range(R):
                    coll_upd[k, coll_slot[b]] += upd_t[l, repdev[k, pl[l]]]
    for i in range(ntie):
        # the copy's gradient is all-reduced between replicas with its bucket, and updated there; both
        # buckets of the pair wait for the other's gradient before their update (_bucket_ready)
        o = tie_o[i]
        bs = tie_bs[i]
        coll_bytes[bs] += grad_bytes[o]
        for k in range(R):
            coll_upd[k, coll_slot[bs]] += upd_t[o, repdev[k, bs % D]]
            upd_wait[k, coll_slot[bs]] += 1
            upd_wait[k, coll_slot[tie_bo[i]]] += 1
            tie_ready[k * tie_o.shape[0] + i] = 0
    n_tasks += R * ncoll

    # ------------------------------------------------ counters
    for km in range(R * M):
        base = km * L
        for l in range(L):
            fdep[base + l] = nparents[l]
            bdep[base + l] = bdep0[l]
            act_uses[base + l] = act_uses0[l]
            gprim[base + l] = 0
        jb = km * NJ
        for j in range(nj):
            part[jb + j] = dst_nchild[j]
            copy_uses[jb + j] = dst_uses[j]
            gpart[jb + j] = 0
        fwd_left_mb[km] = L
        if sched == 1:
            for l in range(L):
                if l == 0 or stage_of[l] != stage_of[l - 1]:
                    op_left[base + stage_of[l]] = st_nf[stage_of[l]]
    for d in range(D):
        mem[d] = 0.0
        busy[d] = 0.0
        dev_busy[d] = 0
        hsize[d] = 0
        inflight[d] = 0
        tasks_dev[d] = 0
        fwd_left_dev[d] = 0
    for l in range(L):
        for k in range(R):
            d = repdev[k, pl[l]]
            mem[d] += static_bytes[l]
            fwd_left_dev[d] += M
            tasks_dev[d] += 1 + has_bwd[l]
    for i in range(ntie):
        for k in range(R):
            mem[repdev[k, tie_bs[i] % D]] += static_bytes[tie_o[i]]  # the tied copy's weights, gradient, state
    for d in range(D):
        peak[d] = mem[d]
        for m in range(M):
            mb_started[d * M + m] = 0
            mb_left[d * M + m] = tasks_dev[d]
    for q in range(2 * C):
        q_head[q] = -1
        q_tail[q] = -1
    for c in range(C):
        chan_busy[c] = 0
        chan_time[c] = 0.0
    for r in range(D + C):
        dirty[r] = 0
    st[0] = 0
    st[1] = 0
    st[2] = 0
    st[3] = 0
    st[4] = 0
    st[5] = 0
    for k in range(R):
        for m in range(M):
            for l in range(L):
                if nparents[l] == 0:
                    _push_task(heap, hsize, repdev[k, pl[l]], (cls_f << 48) + (m << 24) + l,
                               dirty, dlist, st)

    return status, n_tasks, ncoll, ilv_p, ilv_v, loss_dev, err_bytes, ntie


@njit(cache=True, _nrt=False)
def _simulate_all(
        par_ptr, par_idx, par_keep, ch_ptr, ch_idx, ch_slot, sinks, chain_next, chain_prev,
        has_bwd, is_view, keep_out, layer_group, n_groups,
        fwd_t, bwd_t, upd_t, xfer_bytes, alloc_bytes, private_bytes, grad_bytes, static_bytes, owner,
        route_ptr, route_chan, route_from, chan_spb, chan_lat, dev_floor, dev_model,
        M, R, sched, direct_grad, bwd_alloc, placements,
        out_step, out_peak, out_busy, out_chan_busy, out_comm_bytes, out_status, out_err,
        trace_on, tr_i, tr_f, tr_count,
        fdep, bdep, act_uses, gprim, part, copy_uses, gpart, dst_ptr, dst_dev, dst_nchild,
        dst_uses, par_j, act_uses0, bdep0, nparents, fwd_left_mb, used, taken, first_stage, repdev,
        dev_rep, limit, inflight, mb_started, mb_left, op_left, stage_of, st_nf, st_nb, cur_op, cur_stage, ordered, op_pos, op_rank, err_need, tasks_dev, fwd_left_dev, heap, hsize,
        dev_busy, dev_start, dev_key, mem, peak, busy, coll_cnt, coll_bytes, coll_slot, coll_upd, coll_list,
        tie_o, tie_bo, tie_bs, tie_ready, lbk, upd_wait,
        xi, xnext, xbytes, xfree, q_head, q_tail, chan_busy, chan_start, chan_x, chan_time, ev_t, ev_r,
        dirty, dlist, st):
    """The event simulation of every placement; allocates nothing (compiled without
    reference counting)."""
    P = placements.shape[0]
    L = par_ptr.shape[0] - 1
    D = dev_floor.shape[0]
    C = chan_spb.shape[0]
    NJ = max(par_idx.shape[0], 1)
    MASK = (1 << 24) - 1            # key = class << 48 | micro-batch << 24 | order
    gpipe = sched == 0
    cls_f = 0 if gpipe else 1
    cls_b = 1 if gpipe else 0
    cls_u = 2
    tr_cap = tr_i.shape[0]

    for p in range(P):
        pl = placements[p]
        status, n_tasks, ncoll, ilv_p, ilv_v, loss_dev, err_bytes, ntie = _prepare_placement(
            p, pl, par_ptr, par_keep, ch_ptr, ch_idx, ch_slot, has_bwd, keep_out, layer_group,
            n_groups, upd_t, grad_bytes, static_bytes, owner, xfer_bytes, dev_model, M, R, sched, direct_grad,
            out_err,
            fdep, bdep, act_uses, gprim, part, copy_uses, gpart, dst_ptr, dst_dev, dst_nchild,
            dst_uses, par_j, act_uses0, bdep0, nparents, fwd_left_mb, used, taken, first_stage,
            repdev, dev_rep, limit, inflight, mb_started, mb_left, op_left, stage_of, st_nf, st_nb, cur_op, cur_stage, ordered, op_pos, op_rank, err_need, tasks_dev, fwd_left_dev, heap,
            hsize, dev_busy, mem, peak, busy, coll_cnt, coll_bytes, coll_slot, coll_upd, coll_list, tie_o, tie_bo,
            tie_bs, tie_ready, lbk, upd_wait, q_head, q_tail, chan_busy, chan_time, dirty, dlist, st)
        if status != STATUS_OK:
            out_status[p] = status
            out_step[p] = np.nan
            continue
        comm_bytes = 0.0

        # ------------------------------------------------ event loop
        t = 0.0
        tmax = 0.0
        done = 0
        fast_r = -1    # a completion known to come strictly before all others (not on the heap)
        fast_t = 0.0
        while True:
            # ---- dispatch: each idle resource that may have work starts it
            lone = st[0] == 1
            for di in range(st[0]):
                rr = dlist[di]
                dirty[rr] = 0
                if rr < D:
                    d = rr
                    if dev_busy[d] == 1 or hsize[d] == 0:
                        continue
                    key = heap[d, 0]
                    cls = key >> 48
                    m = (key >> 24) & MASK
                    pos = 0
                    if gpipe:
                        if cls == cls_b and fwd_left_dev[d] > 0:
                            continue
                    elif not _may_start(key, d, L, M, cls_f, cls_u, mb_started, inflight, limit, ordered, cur_op,
                                        cur_stage, stage_of, op_pos, op_rank, ilv_p, ilv_v):
                        pos = -1
                        best = -1
                        for i in range(hsize[d]):
                            kk = heap[d, i]
                            if (best < 0 or kk < best) and _may_start(kk, d, L, M, cls_f, cls_u, mb_started,
                                                                      inflight, limit, ordered, cur_op,
                                                                      cur_stage, stage_of, op_pos, op_rank,
                                                                      ilv_p, ilv_v):
                                best = kk
                                pos = i
                        if pos < 0:
                            continue
                    # remove heap entry `pos` (written out: a call here costs more than the work)
                    key = heap[d, pos]
                    hn = hsize[d] - 1
                    hsize[d] = hn
                    if pos < hn:
                        last = heap[d, hn]
                        i = pos
                        while i > 0:
                            parent = (i - 1) >> 1
                            if heap[d, parent] <= last:
                                break
                            heap[d, i] = heap[d, parent]
                            i = parent
                        if i == pos:
                            while True:
                                c2 = 2 * i + 1
                                if c2 >= hn:
                                    break
                                if c2 + 1 < hn and heap[d, c2 + 1] < heap[d, c2]:
                                    c2 += 1
                                if heap[d, c2] >= last:
                                    break
                                heap[d, i] = heap[d, c2]
                                i = c2
                        heap[d, i] = last
                    cls = key >> 48
                    m = (key >> 24) & MASK
                    order = key & MASK
                    k = dev_rep[d]
                    base = (k * M + m) * L
                    jb = (k * M + m) * NJ
                    if cls != cls_u and cur_op[d] < 0 and not gpipe:
                        cur_op[d] = key >> 24   # this stage-level op (class, micro-batch, stage) begins
                        cur_stage[d] = stage_of[order if cls == cls_f else L - 1 - order]
                    if cls == cls_u:
                        dur = coll_upd[k, coll_slot[order]]
                    elif cls == cls_f:
                        l = order
                        if mb_started[d * M + m] == 0:
                            mb_started[d * M + m] = 1
                            inflight[d] += 1
                        _alloc(mem, peak, d, alloc_bytes[l] + private_bytes[l])
                        dur = fwd_t[l, d]
                    else:
                        l = L - 1 - order
                        if mb_started[d * M + m] == 0:
                            mb_started[d * M + m] = 1
                            inflight[d] += 1
                        if direct_grad == 1:
                            _alloc(mem, peak, d, bwd_alloc[l])  # no gradient buffers: its own tensors
                        elif gprim[base + l] == 0:
                            gprim[base + l] = 1
                            _alloc(mem, peak, d, xfer_bytes[l])
                        for e in range(par_ptr[l], par_ptr[l + 1] if direct_grad == 0 else par_ptr[l]):
                            pp = par_idx[e]
                            if has_bwd[pp] == 0:
                                continue
                            # a whole view (reshape, permute) passes its own gradient on as its input's, as
                            # PyTorch does (a view of it): the first to reach the input's buffer takes none
                            hand = is_view[l] == 1 and e == par_ptr[l] and xfer_bytes[l] == xfer_bytes[pp]
                            if pl[pp] == pl[l]:
                                if gprim[base + pp] == 0:
                                    gprim[base + pp] = 1
                                    if hand:
                                        gprim[base + l] = 2  # its gradient now is the input's: kept at its end
                                    else:
                                        _alloc(mem, peak, d, xfer_bytes[pp])
                            else:
                                j = par_j[e]
                                if gpart[jb + j] == 0:
                                    gpart[jb + j] = 1
                                    if hand:
                                        gprim[base + l] = 2  # the partial sent is its own gradient
                                    else:
                                        _alloc(mem, peak, d, xfer_bytes[pp])
                        dur = bwd_t[l, d]
                    dev_busy[d] = 1
                    dev_start[d] = t
                    dev_key[d] = key
                    busy[d] += dur
                    if trace_on:  # the order of starts and ends, for the memory timeline
                        tr_count[1] += 1
                        tr_count[2 + d] = tr_count[1]
                    if lone and (st[2] == 0 or t + dur < ev_t[0]):
                        fast_r = d
                        fast_t = t + dur
                    else:
                        _ev_push(ev_t, ev_r, st, t + dur, d)
                else:
                    c = rr - D
                    if chan_busy[c] == 1:
                        continue
                    q = c if q_head[c] >= 0 else C + c  # activations and gradients before all-reduce chunks
                    x = q_head[q]
                    if x < 0:
                        continue
                    q_head[q] = xnext[x]
                    if q_head[q] < 0:
                        q_tail[q] = -1
                    h = route_ptr[xi[x, 5] * D + xi[x, 6]] + xi[x, 7]
                    dur = chan_lat[c] + max(dev_floor[route_from[h]], xbytes[x] * chan_spb[c])
                    if xi[x, 7] == 0:
                        comm_bytes += xbytes[x]
                        if xi[x, 0] == X_ACT:
                            _alloc(mem, peak, xi[x, 6], xbytes[x])
                        elif xi[x, 0] == X_GRAD:
                            gi = (xi[x, 4] * M + xi[x, 3]) * L + xi[x, 1]
                            if gprim[gi] == 0:
                                gprim[gi] = 1
                                _alloc(mem, peak, xi[x, 6], xbytes[x])
                    chan_busy[c] = 1
                    chan_start[c] = t
                    chan_x[c] = x
                    chan_time[c] += dur
                    if trace_on:
                        tr_count[1] += 1
                        tr_count[2 + D + c] = tr_count[1]
                    if lone and (st[2] == 0 or t + dur < ev_t[0]):
                        fast_r = rr
                        fast_t = t + dur
                    else:
                        _ev_push(ev_t, ev_r, st, t + dur, D + c)
            st[0] = 0

            # ---- advance to the next completion time
            if fast_r >= 0:
                t = fast_t
            elif st[2] == 0:
                if done < n_tasks and not gpipe:
                    # The 1f1b rules alone stall every device (possible when a device holds
                    # non-contiguous stages): the stalled device whose most urgent ready task
                    # ranks first (its key: class, micro-batch, layer; not the device's index, so
                    # that renaming exchangeable devices changes nothing) runs one more
                    # micro-batch and no longer keeps stage-level ops whole or their order.
                    pick = -1
                    for d in range(D):
                        if hsize[d] > 0 and dev_busy[d] == 0:
                            if pick < 0 or heap[d, 0] < heap[pick, 0] or \
                                    (heap[d, 0] == heap[pick, 0] and dev_rep[d] < dev_rep[pick]):
                                pick = d
                    if pick >= 0:
                        limit[pick] += 1
                        ordered[pick] = 0  # and it no longer keeps 1F1B's order of stage-level ops
                        _mark(pick, dirty, dlist, st)
                        continue
                break
            else:
                t = ev_t[0]
            if t > tmax:
                tmax = t

            # ---- every completion at time t: devices by index, then channels by index
            while True:
                if fast_r >= 0 and fast_t == t:
                    rr = fast_r  # alone at time t: it was strictly earlier than the heap's top
                    fast_r = -1
                elif st[2] > 0 and ev_t[0] == t:
                    rr = _ev_pop(ev_t, ev_r, st)
                else:
                    break
                if rr < D:
                    d = rr
                    dev_busy[d] = 0
                    nd0 = st[0]
                    _mark(d, dirty, dlist, st)
                    done += 1
                    direct = -1  # the next layer of a chain, if it may start here at once
                    key = dev_key[d]
                    cls = key >> 48
                    m = (key >> 24) & MASK
                    order = key & MASK
                    k = dev_rep[d]
                    km = k * M + m
                    base = km * L
                    jb = km * NJ
                    if trace_on and tr_count[0] < tr_cap:
                        r = tr_count[0]
                        tr_count[0] += 1
                        tr_i[r, 0] = KIND_U if cls == cls_u else (KIND_F if cls == cls_f else KIND_B)
                        tr_i[r, 1] = d
                        tr_i[r, 2] = order if cls != cls_b else L - 1 - order
                        tr_i[r, 3] = m
                        tr_i[r, 4] = k
                        tr_i[r, 5] = d
                        tr_i[r, 6] = d
                        tr_i[r, 7] = tr_count[2 + d]
                        tr_count[1] += 1
                        tr_i[r, 8] = tr_count[1]
                        tr_f[r, 0] = dev_start[d]
                        tr_f[r, 1] = t
                        tr_f[r, 2] = 0.0
                    if cls == cls_u:
                        continue
                    if cls == cls_f:
                        l = order
                        for e in range(par_ptr[l], par_ptr[l + 1]):
                            if is_view[l] == 1 and e == par_ptr[l]:
                                continue  # a view keeps its input until its own output is freed
                            _release_input(e, l, d, base, jb, par_ptr, par_idx, pl, act_uses, copy_uses,
                                           par_j, alloc_bytes, xfer_bytes, is_view, mem)
                        for e in range(ch_ptr[l], ch_ptr[l + 1]):
                            c = ch_idx[e]
                            if pl[c] == pl[l]:
                                fdep[base + c] -= 1
                                if fdep[base + c] == 0:
                                    if c == chain_next[l] and (gpipe or stage_of[c] == stage_of[l]):
                                        direct = (cls_f << 48) + (m << 24) + c
                                    else:
                                        _push_task(heap, hsize, d, (cls_f << 48) + (m << 24) + c,
                                                   dirty, dlist, st)
                        for j in range(dst_ptr[l], dst_ptr[l + 1]):
                            dst = repdev[k, dst_dev[j]]
                            if not _new_transfer(xi, xbytes, X_ACT, l, j, m, k, d, dst, xfer_bytes[l],
                                                 route_ptr, route_chan, q_head, q_tail, xnext, D,
                                                 dirty, dlist, st, xfree):
                                status = STATUS_NO_ROUTE
                                out_err[p, 0] = d
                                out_err[p, 1] = dst
                        if act_uses[base + l] == 0:
                            _free_output(l, d, base, jb, par_ptr, par_idx, pl, act_uses, copy_uses,
                                         par_j, alloc_bytes, xfer_bytes, is_view, mem)
                        if has_bwd[l] == 0:
                            mem[d] -= private_bytes[l]
                        fwd_left_dev[d] -= 1
                        fwd_left_mb[km] -= 1
                        if fwd_left_mb[km] == 0:
                            # the micro-batch's loss is known: its backward may start (DFA: on the
                            # loss device; the others once the output error has arrived)
                            _release_backward(sinks, pl, loss_dev if direct_grad == 1 else -1, base, m, k,
                                              L, cls_b, bdep, repdev, heap, hsize, dirty, dlist, st)
                            if direct_grad == 1:
                                for d2 in range(D):
                                    if err_need[d2] == 1:
                                        dst = repdev[k, d2]
                                        if not _new_transfer(xi, xbytes, X_ERR, d2, 0, m, k, repdev[k, loss_dev],
                                                             dst, err_bytes, route_ptr, route_chan, q_head,
                                                             q_tail, xnext, D, dirty, dlist, st, xfree):
                                            status = STATUS_NO_ROUTE
                                            out_err[p, 0] = repdev[k, loss_dev]
                                            out_err[p, 1] = dst
                    else:
                        l = L - 1 - order
                        if direct_grad == 1:
                            mem[d] -= bwd_alloc[l] + private_bytes[l]
                        elif gprim[base + l] == 2:   # a view that handed its gradient to its input
                            mem[d] -= private_bytes[l]
                        else:
                            mem[d] -= xfer_bytes[l] + private_bytes[l]  # own output gradient, private tensors
                        for e in range(par_ptr[l], par_ptr[l + 1]):
                            if par_keep[e] == 1:
                                _release_input(e, l, d, base, jb, par_ptr, par_idx, pl, act_uses,
                                               copy_uses, par_j, alloc_bytes, xfer_bytes,
                                               is_view, mem)
                        if keep_out[l] == 1:
                            act_uses[base + l] -= 1
                            if act_uses[base + l] == 0:
                                _free_output(l, d, base, jb, par_ptr, par_idx, pl, act_uses, copy_uses,
                                             par_j, alloc_bytes, xfer_bytes, is_view, mem)
                        for e in range(par_ptr[l], par_ptr[l + 1] if direct_grad == 0 else par_ptr[l]):
                            pp = par_idx[e]
                            if has_bwd[pp] == 0:
                                continue
                            if pl[pp] == pl[l]:
                                bdep[base + pp] -= 1
                                if bdep[base + pp] == 0:
                                    if chain_next[pp] == l and (gpipe or stage_of[pp] == stage_of[l]):
                                        direct = (cls_b << 48) + (m << 24) + (L - 1 - pp)
                                    else:
                                        _push_task(heap, hsize, d, (cls_b << 48) + (m << 24) + (L - 1 - pp),
                                                   dirty, dlist, st)
                            else:
                                j = par_j[e]
                                part[jb + j] -= 1
                                if part[jb + j] == 0:
                                    dst = repdev[k, pl[pp]]
                                    if not _new_transfer(xi, xbytes, X_GRAD, pp, j, m, k, d, dst,
                                                         xfer_bytes[pp], route_ptr, route_chan, q_head,
                                                         q_tail, xnext, D, dirty, dlist, st, xfree):
                                        status = STATUS_NO_ROUTE
                                        out_err[p, 0] = d
                                        out_err[p, 1] = dst
                        b = lbk[l]
                        if b >= 0:
                            coll_cnt[b] -= 1
                            if coll_cnt[b] == 0:
                                d0 = b % D
                                if R == 1:
                                    bad = _bucket_ready(b, 0, R, ntie, cls_u, coll_slot, upd_wait, tie_o, tie_bo,
                                                        tie_bs, tie_ready, grad_bytes, repdev, heap, hsize, xi,
                                                        xbytes, route_ptr, route_chan, q_head, q_tail, xnext,
                                                        dirty, dlist, st, xfree)
                                    if bad >= 0:
                                        status = STATUS_NO_ROUTE
                                        out_err[p, 0] = bad // D
                                        out_err[p, 1] = bad % D
                                else:
                                    for k2 in range(R):
                                        src = repdev[k2, d0]
                                        dst = repdev[(k2 + 1) % R, d0]
                                        if not _new_transfer(xi, xbytes, X_RING, b, 0, 0, k2, src, dst,
                                                             coll_bytes[b] / R, route_ptr, route_chan,
                                                             q_head, q_tail, xnext, D, dirty, dlist, st, xfree):
                                            status = STATUS_NO_ROUTE
                                            out_err[p, 0] = src
                                            out_err[p, 1] = dst
                    mb_left[d * M + m] -= 1
                    if mb_left[d * M + m] == 0:
                        inflight[d] -= 1
                    if not gpipe:
                        sg = stage_of[order if cls == cls_f else L - 1 - order]
                        op_left[base + sg] -= 1
                        if op_left[base + sg] == 0:  # its stage-level op is finished
                            if cls == cls_f:
                                op_left[base + sg] = st_nb[sg]
                            if cur_op[d] == (key >> 24) and cur_stage[d] == sg:
                                cur_op[d] = -1
                            if ordered[d] == 3:
                                # Megatron's next op; a stage without backwards has no backward op,
                                # and the order's micro-batches beyond M (see _interleaved_op) none
                                while True:
                                    op_pos[d] += 1
                                    if op_pos[d] >= 2 * ((M + ilv_p - 1) // ilv_p * ilv_p) * ilv_v:
                                        break
                                    fwd, mb, sg = _interleaved_op(op_pos[d], op_rank[d], ilv_p, ilv_v, M)
                                    if mb < M and (fwd or st_nb[sg] > 0):
                                        break
                    if direct >= 0:
                        # The successor in a chain starts right now if the generic dispatch would
                        # start it now: nothing else happened (d is the only resource marked), no
                        # other completion is due at t, and no waiting task on d outranks it.
                        if (nd0 == 0 and st[0] == 1 and (st[2] == 0 or ev_t[0] > t)
                                and (hsize[d] == 0 or heap[d, 0] > direct)):
                            dirty[d] = 0
                            st[0] = 0
                            key = direct
                            while True:
                                # ---- start `key` on d at t (as the dispatch would)
                                if (key >> 48) == cls_f:
                                    c = key & MASK
                                    _alloc(mem, peak, d, alloc_bytes[c] + private_bytes[c])
                                    dur = fwd_t[c, d]
                                else:
                                    c = L - 1 - (key & MASK)
                                    if gprim[base + c] == 0:
                                        gprim[base + c] = 1
                                        _alloc(mem, peak, d, xfer_bytes[c])
                                    for e in range(par_ptr[c], par_ptr[c + 1]):
                                        pp = par_idx[e]
                                        if has_bwd[pp] == 0:
                                            continue
                                        if pl[pp] == pl[c]:
                                            if gprim[base + pp] == 0:
                                                gprim[base + pp] = 1
                                                _alloc(mem, peak, d, xfer_bytes[pp])
                                        else:
                                            j = par_j[e]
                                            if gpart[jb + j] == 0:
                                                gpart[jb + j] = 1
                                                _alloc(mem, peak, d, xfer_bytes[pp])
                                    dur = bwd_t[c, d]
                                dev_busy[d] = 1
                                dev_start[d] = t
                                dev_key[d] = key
                                busy[d] += dur
                                if trace_on:
                                    tr_count[1] += 1
                                    tr_count[2 + d] = tr_count[1]
                                te = t + dur
                                if not (st[2] == 0 or te < ev_t[0]):
                                    _ev_push(ev_t, ev_r, st, te, d)
                                    break
                                # It ends before anything else happens. If its completion only
                                # readies the next layer of its chain, and that layer would be
                                # picked, complete it here in a few lines and go on.
                                nxt = -1
                                if (key >> 48) == cls_f:
                                    c2 = chain_next[c]
                                    if c2 >= 0 and pl[c2] == pl[c] and (gpipe or stage_of[c2] == stage_of[c]):
                                        nxt = (cls_f << 48) + (m << 24) + c2
                                else:
                                    c2 = chain_prev[c]
                                    if (c2 >= 0 and pl[c2] == pl[c] and has_bwd[c2] == 1 and direct_grad == 0
                                            and (gpipe or stage_of[c2] == stage_of[c])):
                                        b = lbk[c]
                                        if b >= 0 and (R > 1 or upd_wait[0, coll_slot[b]] > 0):
                                            if coll_cnt[b] == 1:
                                                c2 = -1  # its all-reduce or tied exchange would start: general path
                                        if c2 >= 0:
                                            nxt = (cls_b << 48) + (m << 24) + (L - 1 - c2)
                                if nxt < 0 or (hsize[d] > 0 and heap[d, 0] < nxt):
                                    fast_r = d
                                    fast_t = te
                                    break
                                t = te
                                if t > tmax:
                                    tmax = t
                                done += 1
                                dev_busy[d] = 0
                                if trace_on and tr_count[0] < tr_cap:
                                    r = tr_count[0]
                                    tr_count[0] += 1
                                    tr_i[r, 0] = KIND_F if (key >> 48) == cls_f else KIND_B
                                    tr_i[r, 1] = d
                                    tr_i[r, 2] = c
                                    tr_i[r, 3] = m
                                    tr_i[r, 4] = k
                                    tr_i[r, 5] = d
                                    tr_i[r, 6] = d
                                    tr_i[r, 7] = tr_count[2 + d]
                                    tr_count[1] += 1
                                    tr_i[r, 8] = tr_count[1]
                                    tr_f[r, 0] = dev_start[d]
                                    tr_f[r, 1] = t
                                    tr_f[r, 2] = 0.0
                                if (key >> 48) == cls_f:
                                    # c's only input is its chain predecessor; c2 its only consumer
                                    pp = par_idx[par_ptr[c]]
                                    act_uses[base + pp] -= 1
                                    if act_uses[base + pp] == 0:
                                        mem[d] -= alloc_bytes[pp]
                                    fdep[base + c2] -= 1
                                    if has_bwd[c] == 0:
                                        mem[d] -= private_bytes[c]
                                    fwd_left_dev[d] -= 1
                                    fwd_left_mb[km] -= 1
                                else:
                                    # c's only input is c2, whose backward it readies
                                    mem[d] -= xfer_bytes[c] + private_bytes[c]
                                    if par_keep[par_ptr[c]] == 1:
                                        act_uses[base + c2] -= 1
                                        if act_uses[base + c2] == 0:
                                            mem[d] -= alloc_bytes[c2]
                                    if keep_out[c] == 1:
                                        act_uses[base + c] -= 1
                                        if act_uses[base + c] == 0:
                                            mem[d] -= alloc_bytes[c]
                                    bdep[base + c2] -= 1
                                    b = lbk[c]
                                    if b >= 0:
                                        coll_cnt[b] -= 1
                                        if coll_cnt[b] == 0:  # R == 1 and not tied here: its update is ready
                                            _heap_push(heap, hsize, d, (cls_u << 48) + b)
                                mb_left[d * M + m] -= 1
                                if not gpipe:
                                    op_left[base + stage_of[c]] -= 1  # not its last: c2 is of its op
                                key = nxt
                        else:
                            _push_task(heap, hsize, d, direct, dirty, dlist, st)
                else:
                    c = rr - D
                    chan_busy[c] = 0
                    _mark(rr, dirty, dlist, st)
                    x = chan_x[c]
                    src = xi[x, 5]
                    dstd = xi[x, 6]
                    hop = xi[x, 7]
                    h = route_ptr[src * D + dstd] + hop
                    nh = route_ptr[src * D + dstd + 1] - route_ptr[src * D + dstd]
                    kind = xi[x, 0]
                    lx = xi[x, 1]
                    mx = xi[x, 3]
                    kx = xi[x, 4]
                    base = (kx * M + mx) * L
                    jb = (kx * M + mx) * NJ
                    # DFA's error is not in the trace: its kinds (and the memory timeline that replays
                    # it) have no such transfer; it is tiny and held in no modelled buffer
                    if trace_on and tr_count[0] < tr_cap and kind != X_ERR:
                        r = tr_count[0]
                        tr_count[0] += 1
                        tr_i[r, 0] = 3 + kind
                        tr_i[r, 1] = c
                        tr_i[r, 2] = lx
                        tr_i[r, 3] = mx if kind != X_RING else xi[x, 2]
                        tr_i[r, 4] = kx
                        tr_i[r, 5] = route_from[h]
                        tr_i[r, 6] = route_from[h + 1] if hop + 1 < nh else dstd
                        tr_i[r, 7] = tr_count[2 + D + c]
                        tr_count[1] += 1
                        tr_i[r, 8] = tr_count[1]
                        tr_i[r, 9] = xi[x, 8]  # links the hops of one transfer (its final destination)
                        tr_f[r, 0] = chan_start[c]
                        tr_f[r, 1] = t
                        tr_f[r, 2] = xbytes[x]
                    if hop == 0:
                        # the data has left the sender
                        if kind == X_ACT:
                            act_uses[base + lx] -= 1
                            if act_uses[base + lx] == 0:
                                _free_output(lx, src, base, jb, par_ptr, par_idx, pl, act_uses,
                                             copy_uses, par_j, alloc_bytes, xfer_bytes,
                                             is_view, mem)
                        elif kind == X_GRAD:
                            mem[src] -= xbytes[x]
                    xi[x, 7] = hop + 1
                    if hop + 1 < nh:
                        _enqueue(x, route_chan[h + 1], 1 if kind == X_RING else 0, q_head, q_tail,
                                 xnext, D, dirty, dlist, st)
                        continue
                    # arrived: its slot is free for the next transfer
                    xj = xi[x, 2]
                    xb = xbytes[x]
                    xfree[st[4]] = x
                    st[4] += 1
                    if kind == X_ACT:
                        j = xj
                        for e in range(ch_ptr[lx], ch_ptr[lx + 1]):
                            cc = ch_idx[e]
                            if pl[cc] == dst_dev[j]:
                                fdep[base + cc] -= 1
                                if fdep[base + cc] == 0:
                                    _push_task(heap, hsize, dstd, (cls_f << 48) + (mx << 24) + cc,
                                               dirty, dlist, st)
                    elif kind == X_GRAD:
                        bdep[base + lx] -= 1
                        if bdep[base + lx] == 0:
                            _push_task(heap, hsize, dstd, (cls_b << 48) + (mx << 24) + (L - 1 - lx),
                                       dirty, dlist, st)
                    elif kind == X_ERR:  # lx: the replica-0 device whose backwards it releases
                        _release_backward(sinks, pl, lx, base, mx, kx, L, cls_b, bdep, repdev, heap, hsize,
                                          dirty, dlist, st)
                    else:
                        b = lx
                        step = xj
                        d0 = b % D
                        k2 = (kx + 1) % R
                        if step == 2 * (R - 1):  # a tied copy's gradient from the other device (_bucket_ready)
                            upd_wait[kx, coll_slot[b]] -= 1
                            if upd_wait[kx, coll_slot[b]] == 0:
                                _push_task(heap, hsize, dstd, (cls_u << 48) + b, dirty, dlist, st)
                        elif step + 1 < 2 * (R - 1):
                            # the route exists: the same pair was checked at step 0
                            _new_transfer(xi, xbytes, X_RING, b, step + 1, 0, k2, repdev[k2, d0],
                                          repdev[(k2 + 1) % R, d0], xb, route_ptr, route_chan,
                                          q_head, q_tail, xnext, D, dirty, dlist, st, xfree)
                        else:
                            bad = _bucket_ready(b, k2, R, ntie, cls_u, coll_slot, upd_wait, tie_o, tie_bo, tie_bs,
                                                tie_ready, grad_bytes, repdev, heap, hsize, xi, xbytes, route_ptr,
                                                route_chan, q_head, q_tail, xnext, dirty, dlist, st, xfree)
                            if bad >= 0:
                                status = STATUS_NO_ROUTE
                                out_err[p, 0] = bad // D
                                out_err[p, 1] = bad % D
            if status != STATUS_OK:
                break

        for i in range(ncoll):
            coll_cnt[coll_list[i]] = 0  # leave the bucket counters clean for the next placement
        if status == STATUS_OK and st[5] != 0:
            status = STATUS_WORKSPACE
        if status == STATUS_OK and done != n_tasks:
            status = STATUS_DEADLOCK
        out_status[p] = status
        out_step[p] = tmax if status == STATUS_OK else np.nan
        for d in range(D):
            out_peak[p, d] = peak[d]
            out_busy[p, d] = busy[d]
        for c in range(C):
            out_chan_busy[p, c] = chan_time[c]
        out_comm_bytes[p] = comm_bytes


def is_cached() -> bool:
    """Whether `run_batch` is ready without compiling (about 15 s): compiled in this process already,
    or in numba's disk cache for this kernel.py, this numba and this CPU (then loading it takes ~0.2 s).

    Cheap: reads one small index file. It reads numba's cache layout (numba is pinned); anything
    unexpected answers False, so at worst a "compiling" message is shown needlessly.
    """
    if not hasattr(run_batch, "signatures") or run_batch.signatures:  # pure Python (NUMBA_DISABLE_JIT),
        return True                                                    # or compiled in this process
    try:
        index = run_batch._cache._cache_file._load_index()  # {} when missing or stale (source, numba)
        machine = run_batch.targetctx.codegen().magic_tuple()  # target triple, CPU name, CPU features
        return any(key[1] == machine for key in index)
    except Exception:  # noqa: BLE001 - a guess about a cache never fails a run
        return False
