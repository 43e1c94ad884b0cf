"""The compiled replay of an operator trace under a memory budget (numba).

Rules (DTR, Kirisame et al. 2021; see `replay.py` for the user-facing statement):
- an op first locks its arguments, then rematerialises those that are not
  resident (recursively: a storage is remade by running its chain, producer
  first, then the in-place ops applied to it so far), then evicts until its
  fresh outputs fit, then runs; each run advances the simulated clock by the
  op's cost, and a rematerialising run counts one remat;
- eviction takes, among resident storages that are not locked, not pinned and
  not empty, the one with the lowest heuristic score; none left -> out of
  memory;
- a storage whose references are all released is freed at once (eager
  freeing) but stays rematerialisable, as an evicted one, in case an evicted
  storage that depends on it is needed; with banishing it is forgotten
  instead as soon as no evicted storage depends on it (its resident
  dependents are then pinned, since they could not be remade);
- a constant is pinned while referenced; released, it can be reloaded at no
  cost.

Recursion is an explicit stack (frames: storage, chain position, argument
position) so that long chains of evicted storages never hit a recursion
limit, and a storage being rematerialised is never pushed twice (a cycle
through in-place ops is cut: the inner use takes it as available).

Speed: state lives in a few flat arrays; eviction scans the list of resident
candidates once per victim (swap-removal keeps it dense); the dtr_eq
neighbourhood is a union-find over evicted storages, so its score reads only
the direct neighbours of a candidate; exact dtr walks the evicted
neighbourhood with a stamp array (no clearing between walks).
"""
from __future__ import annotations

import numpy as np
from numba import njit

H_DTR, H_DTR_EQ, H_DTR_LOCAL, H_MSPS, H_LRU, H_LARGEST, H_RANDOM = range(7)
P_CONST, P_OP, P_ACQUIRE, P_RELEASE = 0, 1, 2, 3
S_NEW, S_RESIDENT, S_EVICTED, S_BANISHED = 0, 1, 2, 3
STATUS_OK, STATUS_OOM, STATUS_THRASH = 0, 1, 2

# rows of the integer state table
I_STATE, I_REFS, I_LOCK, I_INPROG, I_CLEN, I_POS, I_UF, I_PIN, I_STAMP = range(9)
# rows of the float state table
F_LAST, F_COST, F_UFCOST = range(3)
# slots of the scalar table
C_MEM, C_PEAK, C_CLOCK, C_COMPUTE, C_EVICT, C_REMAT, C_STATUS, C_BUDGET, C_LIMIT, C_NCAND, C_STAMP = range(11)

STALE_EPS = 1e-9  # one nanosecond: a storage used this instant is stale by this much, never by 0


@njit(cache=True)
def _find(ist, s):
    # union-find root with path halving
    while ist[I_UF, s] != s:
        ist[I_UF, s] = ist[I_UF, ist[I_UF, s]]
        s = ist[I_UF, s]
    return s


@njit(cache=True)
def _cand_add(ist, sc, cand, s):
    n = int(sc[C_NCAND])
    cand[n] = s
    ist[I_POS, s] = n
    sc[C_NCAND] = n + 1


@njit(cache=True)
def _cand_remove(ist, sc, cand, s):
    p = ist[I_POS, s]
    if p < 0:
        return
    n = int(sc[C_NCAND]) - 1
    last = cand[n]
    cand[p] = last
    ist[I_POS, last] = p
    ist[I_POS, s] = -1
    sc[C_NCAND] = n


@njit(cache=True)
def _evicted_join(ist, fst, s, par_ptr, par, ch_ptr, ch, heuristic):
    # s has just left memory: its class (classes never split: a storage evicted again rejoins
    # the class it had) pays for it again, and merges with the classes of its evicted neighbours
    if heuristic != H_DTR_EQ:
        return
    fst[F_UFCOST, _find(ist, s)] += fst[F_COST, s]
    for k in range(par_ptr[s], par_ptr[s + 1]):
        n = par[k]
        if ist[I_STATE, n] == S_EVICTED:
            a = _find(ist, s)
            b = _find(ist, n)
            if a != b:
                ist[I_UF, b] = a
                fst[F_UFCOST, a] += fst[F_UFCOST, b]
    for k in range(ch_ptr[s], ch_ptr[s + 1]):
        n = ch[k]
        if ist[I_STATE, n] == S_EVICTED:
            a = _find(ist, s)
            b = _find(ist, n)
            if a != b:
                ist[I_UF, b] = a
                fst[F_UFCOST, a] += fst[F_UFCOST, b]


@njit(cache=True)
def _evicted_leave(ist, fst, s, heuristic):
    # s is back in memory (or banished): its class no longer pays for it (classes never split)
    if heuristic == H_DTR_EQ:
        r = _find(ist, s)
        fst[F_UFCOST, r] -= fst[F_COST, s]
        if fst[F_UFCOST, r] < 0.0:
            fst[F_UFCOST, r] = 0.0


@njit(cache=True)
def _neighbourhood_exact(ist, fst, sc, s, par_ptr, par, ch_ptr, ch, stack):
    # cost of the evicted storages that evicting s would make necessary again:
    # evicted ancestors through evicted ancestors, evicted descendants through evicted descendants
    stamp = int(sc[C_STAMP]) + 1
    sc[C_STAMP] = stamp
    ist[I_STAMP, s] = stamp
    total = 0.0
    for direction in range(2):
        ptr = par_ptr if direction == 0 else ch_ptr
        nb = par if direction == 0 else ch
        top = 0
        stack[top] = s
        top += 1
        while top > 0:
            top -= 1
            u = stack[top]
            for k in range(ptr[u], ptr[u + 1]):
                n = nb[k]
                if ist[I_STATE, n] == S_EVICTED and ist[I_STAMP, n] != stamp:
                    ist[I_STAMP, n] = stamp
                    total += fst[F_COST, n]
                    stack[top] = n
                    top += 1
    return total


@njit(cache=True)
def _neighbourhood_eq(ist, fst, sc, s, par_ptr, par, ch_ptr, ch):
    # the union-find classes of the evicted direct neighbours, each counted once
    stamp = int(sc[C_STAMP]) + 1
    sc[C_STAMP] = stamp
    total = 0.0
    for direction in range(2):
        ptr = par_ptr if direction == 0 else ch_ptr
        nb = par if direction == 0 else ch
        for k in range(ptr[s], ptr[s + 1]):
            n = nb[k]
            if ist[I_STATE, n] == S_EVICTED:
                r = _find(ist, n)
                if ist[I_STAMP, r] != stamp:
                    ist[I_STAMP, r] = stamp
                    total += fst[F_UFCOST, r]
    return total


@njit(cache=True)
def _neighbours_direct(ist, fst, sc, s, par_ptr, par, ch_ptr, ch):
    # cost of the evicted direct neighbours of s, each once: a part of its evicted neighbourhood
    stamp = int(sc[C_STAMP]) + 1
    sc[C_STAMP] = stamp
    total = 0.0
    for direction in range(2):
        ptr = par_ptr if direction == 0 else ch_ptr
        nb = par if direction == 0 else ch
        for k in range(ptr[s], ptr[s + 1]):
            n = nb[k]
            if ist[I_STATE, n] == S_EVICTED and ist[I_STAMP, n] != stamp:
                ist[I_STAMP, n] = stamp
                total += fst[F_COST, n]
    return total


@njit(cache=True)
def _pick_victim(ist, fst, sc, cand, size, par_ptr, par, ch_ptr, ch, heuristic, stack, lower):
    """The evictable candidate with the lowest score (the first in candidate order on ties)."""
    if heuristic == H_DTR or heuristic == H_MSPS:
        return _pick_by_bound(ist, fst, sc, cand, size, par_ptr, par, ch_ptr, ch, heuristic, stack, lower)
    best = -1
    best_score = np.inf
    clock = sc[C_CLOCK]
    for i in range(int(sc[C_NCAND])):
        s = cand[i]
        if ist[I_LOCK, s] > 0 or size[s] == 0:
            continue
        m = float(size[s])
        if heuristic == H_LRU:
            score = fst[F_LAST, s]
        elif heuristic == H_LARGEST:
            score = -m
        elif heuristic == H_RANDOM:
            score = np.random.random()
        else:
            c = fst[F_COST, s]
            if heuristic == H_DTR_EQ:
                c += _neighbourhood_eq(ist, fst, sc, s, par_ptr, par, ch_ptr, ch)
            score = c / (m * (clock - fst[F_LAST, s] + STALE_EPS))
        if best < 0 or score < best_score:
            best = s
            best_score = score
    return best


@njit(cache=True)
def _pick_by_bound(ist, fst, sc, cand, size, par_ptr, par, ch_ptr, ch, heuristic, stack, lower):
    # Exact dtr / msps: the neighbourhood walk is the expensive part; its evicted direct
    # neighbours are part of it, so (c + their costs) / (m * staleness) (/ m for msps) bounds
    # the score from below. Candidates are walked in
    # order of that bound and the search stops once the bound exceeds the best score found:
    # the same choice as walking every candidate, ties included (first in candidate order).
    n = int(sc[C_NCAND])
    clock = sc[C_CLOCK]
    k = 0
    for i in range(n):
        s = cand[i]
        if ist[I_LOCK, s] > 0 or size[s] == 0:
            continue
        denom = float(size[s])
        if heuristic == H_DTR:
            denom *= clock - fst[F_LAST, s] + STALE_EPS
        lower[k] = (fst[F_COST, s] + _neighbours_direct(ist, fst, sc, s, par_ptr, par, ch_ptr, ch)) / denom
        stack[k] = i  # candidate position (stack is free between walks)
        k += 1
    if k == 0:
        return -1
    order = np.argsort(lower[:k], kind="mergesort")
    positions = stack[:k].copy()
    best = -1
    best_pos = -1
    best_score = np.inf
    for r in range(k):
        q = order[r]
        if best >= 0 and lower[q] > best_score * (1.0 + 1e-12):  # slack: sums in another order
            break
        i = positions[q]
        s = cand[i]
        denom = float(size[s])
        if heuristic == H_DTR:
            denom *= clock - fst[F_LAST, s] + STALE_EPS
        score = (fst[F_COST, s] + _neighbourhood_exact(ist, fst, sc, s, par_ptr, par, ch_ptr, ch, stack)) / denom
        if best < 0 or score < best_score or (score == best_score and i < best_pos):
            best = s
            best_pos = i
            best_score = score
    return best


@njit(cache=True)
def _try_banish(ist, fst, sc, cand, s, ch_ptr, ch, heuristic):
    # forget an evicted, unreferenced storage once no evicted storage needs it to be remade
    if ist[I_STATE, s] != S_EVICTED or ist[I_REFS, s] > 0 or ist[I_INPROG, s] > 0:
        return
    for k in range(ch_ptr[s], ch_ptr[s + 1]):
        if ist[I_STATE, ch[k]] == S_EVICTED:
            return
    _evicted_leave(ist, fst, s, heuristic)
    ist[I_STATE, s] = S_BANISHED
    for k in range(ch_ptr[s], ch_ptr[s + 1]):
        c = ch[k]
        if ist[I_STATE, c] == S_RESIDENT and ist[I_PIN, c] == 0:
            ist[I_PIN, c] = 1  # it could not be remade any more
            _cand_remove(ist, sc, cand, c)


@njit(cache=True)
def _banish_parents(ist, fst, sc, cand, s, par_ptr, par, ch_ptr, ch, heuristic):
    for k in range(par_ptr[s], par_ptr[s + 1]):
        _try_banish(ist, fst, sc, cand, par[k], ch_ptr, ch, heuristic)


@njit(cache=True)
def _evict(ist, fst, sc, cand, s, size, par_ptr, par, ch_ptr, ch, heuristic, banish, counted):
    _cand_remove(ist, sc, cand, s)
    ist[I_STATE, s] = S_EVICTED
    sc[C_MEM] -= size[s]
    if counted:
        sc[C_EVICT] += 1
    _evicted_join(ist, fst, s, par_ptr, par, ch_ptr, ch, heuristic)
    if banish:
        _try_banish(ist, fst, sc, cand, s, ch_ptr, ch, heuristic)


@njit(cache=True)
def _make_room(ist, fst, sc, cand, need, size, par_ptr, par, ch_ptr, ch, heuristic, banish, stack, lower):
    budget = sc[C_BUDGET]
    while sc[C_MEM] + need > budget:
        v = _pick_victim(ist, fst, sc, cand, size, par_ptr, par, ch_ptr, ch, heuristic, stack, lower)
        if v < 0:
            sc[C_STATUS] = STATUS_OOM
            return False
        _evict(ist, fst, sc, cand, v, size, par_ptr, par, ch_ptr, ch, heuristic, banish, True)
    return True


@njit(cache=True)
def _resident(ist, fst, sc, cand, s, size, cost_now):
    ist[I_STATE, s] = S_RESIDENT
    sc[C_MEM] += size[s]
    if sc[C_MEM] > sc[C_PEAK]:
        sc[C_PEAK] = sc[C_MEM]
    fst[F_LAST, s] = cost_now
    if ist[I_PIN, s] == 0:
        _cand_add(ist, sc, cand, s)


@njit(cache=True)
def _run(sc, cost, remat):
    sc[C_CLOCK] += cost
    sc[C_COMPUTE] += cost
    if remat:
        sc[C_REMAT] += 1
    if sc[C_COMPUTE] > sc[C_LIMIT]:
        sc[C_STATUS] = STATUS_THRASH
        return False
    return True


@njit(cache=True)
def _rematerialise(ist, fst, sc, cand, target, op_cost, op_args_ptr, op_args, size, constant,
                   chain_ptr, chain, par_ptr, par, ch_ptr, ch, heuristic, banish,
                   fr_s, fr_k, fr_j, stack, lower):
    """Make evicted storage `target` resident again (explicit-stack recursion)."""
    sp = 0
    fr_s[0] = target
    fr_k[0] = 0
    fr_j[0] = -1
    sp = 1
    ist[I_INPROG, target] = 1
    while sp > 0:
        s = fr_s[sp - 1]
        k = fr_k[sp - 1]
        if constant[s] or ist[I_CLEN, s] == 0:
            # a released constant: reloaded, free of charge
            if not _make_room(ist, fst, sc, cand, size[s], size, par_ptr, par, ch_ptr, ch,
                              heuristic, banish, stack, lower):
                return False
            _evicted_leave(ist, fst, s, heuristic)
            _resident(ist, fst, sc, cand, s, size, sc[C_CLOCK])
            ist[I_INPROG, s] = 0
            sp -= 1
            continue
        o = chain[chain_ptr[s] + k]
        a0 = op_args_ptr[o]
        a1 = op_args_ptr[o + 1]
        j = fr_j[sp - 1]
        if j < 0:
            for q in range(a0, a1):
                ist[I_LOCK, op_args[q]] += 1
            j = 0
        pushed = False
        while a0 + j < a1:
            a = op_args[a0 + j]
            j += 1
            if a != s and ist[I_STATE, a] == S_EVICTED and ist[I_INPROG, a] == 0:
                fr_j[sp - 1] = j
                fr_s[sp] = a
                fr_k[sp] = 0
                fr_j[sp] = -1
                ist[I_INPROG, a] = 1
                sp += 1
                pushed = True
                break
        if pushed:
            continue
        fr_j[sp - 1] = j
        if k == 0:
            if not _make_room(ist, fst, sc, cand, size[s], size, par_ptr, par, ch_ptr, ch,
                              heuristic, banish, stack, lower):
                return False
            _evicted_leave(ist, fst, s, heuristic)
            _resident(ist, fst, sc, cand, s, size, sc[C_CLOCK])
            ist[I_LOCK, s] += 1  # held while the rest of its chain runs
        ok = _run(sc, op_cost[o], True)
        now = sc[C_CLOCK]
        for q in range(a0, a1):
            a = op_args[q]
            ist[I_LOCK, a] -= 1
            fst[F_LAST, a] = now
        fst[F_LAST, s] = now
        if not ok:
            return False
        k += 1
        if k >= ist[I_CLEN, s]:
            ist[I_LOCK, s] -= 1
            ist[I_INPROG, s] = 0
            sp -= 1
            if banish:
                _banish_parents(ist, fst, sc, cand, s, par_ptr, par, ch_ptr, ch, heuristic)
        else:
            fr_k[sp - 1] = k
            fr_j[sp - 1] = -1
    return True


@njit(cache=True)
def replay_kernel(op_cost, op_args_ptr, op_args, op_out_ptr, op_out, op_mut_ptr, op_mut,
                  size, constant, chain_ptr, chain, prog_kind, prog_arg,
                  par_ptr, par, ch_ptr, ch, budget, heuristic, seed, compute_limit,
                  eager_free, banish, rec):
    """Replay the program; returns the scalar table (see the C_* slots). If `rec` has a row per
    instruction, row pc gets (the most memory held during instruction pc, memory held after it, remats so
    far); pass a (0, 3) array to record nothing."""
    np.random.seed(seed)
    n = len(size)
    ist = np.zeros((9, n), dtype=np.int64)
    ist[I_POS, :] = -1
    for s in range(n):
        ist[I_UF, s] = s
    fst = np.zeros((3, n), dtype=np.float64)
    sc = np.zeros(11, dtype=np.float64)
    sc[C_BUDGET] = budget
    sc[C_LIMIT] = compute_limit
    cand = np.zeros(n + 1, dtype=np.int64)
    stack = np.zeros(n + 1, dtype=np.int64)
    lower = np.zeros(n + 1, dtype=np.float64)
    fr_s = np.zeros(n + 1, dtype=np.int64)
    fr_k = np.zeros(n + 1, dtype=np.int64)
    fr_j = np.zeros(n + 1, dtype=np.int64)

    record = len(rec) == len(prog_kind)
    peak_so_far = 0.0
    for pc in range(len(prog_kind)):
        kind = prog_kind[pc]
        x = prog_arg[pc]
        if record:
            if pc > 0:
                rec[pc - 1, 0] = sc[C_PEAK]
                rec[pc - 1, 1] = sc[C_MEM]
                rec[pc - 1, 2] = sc[C_REMAT]
            peak_so_far = max(peak_so_far, sc[C_PEAK])
            sc[C_PEAK] = sc[C_MEM]
        if kind == P_CONST:
            if not _make_room(ist, fst, sc, cand, size[x], size, par_ptr, par, ch_ptr, ch,
                              heuristic, banish, stack, lower):
                break
            ist[I_PIN, x] = 1
            ist[I_REFS, x] = 1
            _resident(ist, fst, sc, cand, x, size, sc[C_CLOCK])
        elif kind == P_ACQUIRE:
            ist[I_REFS, x] += 1
        elif kind == P_RELEASE:
            ist[I_REFS, x] -= 1
            if ist[I_REFS, x] == 0:
                if constant[x] and ist[I_PIN, x] == 1:
                    ist[I_PIN, x] = 0  # no longer held: may be dropped and reloaded
                    if ist[I_STATE, x] == S_RESIDENT:
                        _cand_add(ist, sc, cand, x)
                if eager_free and ist[I_STATE, x] == S_RESIDENT and ist[I_LOCK, x] == 0:
                    ist[I_PIN, x] = 0
                    _evict(ist, fst, sc, cand, x, size, par_ptr, par, ch_ptr, ch, heuristic, banish, False)
                elif banish:
                    _try_banish(ist, fst, sc, cand, x, ch_ptr, ch, heuristic)
        else:  # an op of the program
            o = x
            a0 = op_args_ptr[o]
            a1 = op_args_ptr[o + 1]
            for q in range(a0, a1):
                ist[I_LOCK, op_args[q]] += 1
            ok = True
            for q in range(a0, a1):
                a = op_args[q]
                if ist[I_STATE, a] == S_EVICTED and ist[I_INPROG, a] == 0:
                    if not _rematerialise(ist, fst, sc, cand, a, op_cost, op_args_ptr, op_args, size,
                                          constant, chain_ptr, chain, par_ptr, par, ch_ptr, ch,
                                          heuristic, banish, fr_s, fr_k, fr_j, stack, lower):
                        ok = False
                        break
            if not ok:
                break
            need = 0
            for q in range(op_out_ptr[o], op_out_ptr[o + 1]):
                need += size[op_out[q]]
            if not _make_room(ist, fst, sc, cand, need, size, par_ptr, par, ch_ptr, ch,
                              heuristic, banish, stack, lower):
                break
            cost = op_cost[o]
            for q in range(op_out_ptr[o], op_out_ptr[o + 1]):
                s = op_out[q]
                ist[I_CLEN, s] = 1
                fst[F_COST, s] = cost
                _resident(ist, fst, sc, cand, s, size, sc[C_CLOCK] + cost)
            for q in range(op_mut_ptr[o], op_mut_ptr[o + 1]):
                s = op_mut[q]
                if not constant[s]:
                    ist[I_CLEN, s] += 1
                    fst[F_COST, s] += cost
            ok = _run(sc, cost, False)
            now = sc[C_CLOCK]
            for q in range(a0, a1):
                a = op_args[q]
                ist[I_LOCK, a] -= 1
                fst[F_LAST, a] = now
            if not ok:
                break
    if record and len(prog_kind) > 0:
        last = len(prog_kind) - 1
        if sc[C_STATUS] == STATUS_OK:
            rec[last, 0] = sc[C_PEAK]
            rec[last, 1] = sc[C_MEM]
            rec[last, 2] = sc[C_REMAT]
        sc[C_PEAK] = max(peak_so_far, sc[C_PEAK])
    return sc
