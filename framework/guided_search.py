"""How the guided exploration searches its model for one scenario: candidates, scores, batches.

Split from ``guided.py`` (which owns the ask/tell loop, the budget and the
confirmation step) along the seam "what to evaluate next within one scenario
combination". Every method takes the scenario index ``s`` and keeps the
scenario columns of the space fixed at that combination: the design knobs are
searched, the scenario is a given (see ``scenarios.py``). Without scenarios
there is one combination, s = 0, and nothing is fixed.
"""
from __future__ import annotations

import math

import numpy as np

from .acquisition import TIE_BREAK, probability_below, utility, weigh
from .config import violations
from .errors import DeffeError
from .protocols import Prediction
from .scenarios import balanced_shares
from .search import make, minimize
from .search.base import row_keys
from .search.pareto import hypervolume_improvement, non_dominated_sort, pareto_front


class ModelSearch:
    """Mixin of `GuidedExploration`: candidate points, acquisition scores and batch selection."""

    # ------------------------------------------------------------------ candidates
    def _candidates(self, s: int, budget: int, kind: str | None = None) -> np.ndarray:
        """Points of scenario s worth scoring, none evaluated yet: a search of the model, local moves,
        random points (a finite scenario slice no larger than the budget is scored whole)."""
        space, scen = self.space, self.scen
        budget = max(int(budget), 1)
        pool = getattr(self.framework.sampling, "pool", None)
        if pool is not None:   # -only-preloaded-data-exploration: the data's points, nothing else
            cand = self._unseen(pool[scen.index(pool) == s] if scen.active else pool)
            if len(cand) > budget:
                cand = cand[np.sort(self.rng.choice(len(cand), budget, replace=False))]
            return cand
        if space.finite and space.size // len(scen) <= budget:
            allc = space.point_at(np.arange(space.size))
            if scen.active:
                allc = allc[scen.index(allc) == s]
            return self._unseen(allc)
        parts = [scen.fix(space.random(self.rng, max(budget // 5, 1)), s)]
        parts.append(self._local(max(budget // 4, 1), s))
        parts.append(self._searched(max(budget // 2, 1), s, kind))
        cand = np.vstack([p for p in parts if len(p)])
        return self._unseen(cand)

    def _sampled(self, codes: np.ndarray) -> np.ndarray:
        """The sampler's points for the scenarios served: moved to the nearest representative combination,
        unless they are pre-evaluated data, which stay what they are (nothing else can be evaluated)."""
        if self.scen.representative and getattr(self.framework.sampling, "pool", None) is None:
            return self.scen.snap(codes)
        return codes

    def _from_sampler(self, n: int, picked: np.ndarray | None = None) -> np.ndarray:
        """``picked`` topped up to n points with the sampler's, none evaluated, pending or there twice: a
        sampler knows only its own points, so it gives again what the guided steps evaluated, and moving its
        points to the representative scenario combinations (`_sampled`) makes some of them one. The sampler
        is asked again while it gives new points (it never repeats its own), so the step is not short."""
        out = np.empty((0, self.k)) if picked is None else picked
        for _round in range(100):   # a sampler that breaks its promise and repeats itself cannot loop forever
            if len(out) >= n:
                break
            codes = self.framework.sampling.Run(n - len(out))   # checked (contract.sampled): None is no rows
            if len(codes) == 0:   # it has no more points
                break
            out = self._unseen(np.vstack([out, self._sampled(codes)]))
        return out[:n]

    def _keys(self, codes: np.ndarray) -> list[bytes]:
        """One key per design: relabelled copies of a point (interchangeable values renamed) share it."""
        return row_keys(self.relabel.canonical(codes))

    def _unseen(self, cand: np.ndarray) -> np.ndarray:
        keys = self._keys(cand)
        keep, seen = [], set()
        for i, key in enumerate(keys):
            if key not in self.keys and key not in seen and key not in self.pending_keys:
                seen.add(key)
                keep.append(i)
        return cand[keep]

    def _incumbents(self, count: int, s: int) -> np.ndarray:
        """The best evaluated points of scenario s (the front's, for several costs); while none of scenario s
        meets the constraints, those that miss them by the least (`_violations`), and once a design of
        another scenario does, the best of the others too (set to scenario s: good designs often carry
        over). A scenario with no design of its own measured starts from the others' (`_local`)."""
        codes, y, ok = self._arrays(s)
        if not ok.any():
            if not any(self.ok):
                return self._least_violating(count, s)
            if not self._seeking_in(s):
                return codes[:0]
            own = self._least_violating(count, s)
            others = [self._incumbents(count, t) for t in range(len(self.scen))
                      if t != s and self._arrays(t)[2].any()]
            return np.vstack([own] + [self.scen.fix(o, s) for o in others if len(o)])
        idx = np.flatnonzero(ok)
        if self.m == 1:
            order = idx[np.argsort(y[idx, 0], kind="stable")]
            return codes[order[:count]]
        front = idx[pareto_front(y[idx])]
        if len(front) > count:
            front = self.rng.choice(front, size=count, replace=False)
        return codes[front]

    def _local(self, count: int, s: int, radius: int | None = None) -> np.ndarray:
        """Points within the trust radius of the incumbents: up to `radius` design knobs changed, or,
        along a repeated knob (a sequence of like knobs), a run of up to 2 x `radius` members set to one
        value. Without incumbents of its own (a scenario the initial design missed), a scenario starts
        from the incumbents of the others: good designs often carry over."""
        inc = self._incumbents(5, s)
        if not len(inc):
            others = [self._incumbents(5, t) for t in range(len(self.scen)) if t != s]
            inc = self.scen.fix(np.vstack(others), s) if others and sum(map(len, others)) else inc
        if not len(inc):
            return np.empty((0, self.k))
        radius = radius or self.tracks[s].radius
        design = np.array(self.scen.design_columns)
        families = [[self.space.position(n) for n in names]
                    for names in self.space.families().values() if len(names) > 1]
        per = max(count // len(inc), 1)
        out = []
        for row in inc:
            block = np.repeat(row[None, :], per, axis=0)
            changes = self.rng.integers(1, radius + 1, size=per)
            fresh = self.space.from_unit(self.rng.random((per, self.k)))
            for i in range(per):
                if families and i % 2:
                    cols = families[int(self.rng.integers(len(families)))]
                    length = int(self.rng.integers(1, min(len(cols), 2 * radius) + 1))
                    start = int(self.rng.integers(0, len(cols) - length + 1))
                    seg = cols[start:start + length]
                    neighbours = [c for c in (cols[start - 1] if start else None,
                                              cols[start + length] if start + length < len(cols) else None)
                                  if c is not None]
                    if neighbours and self.rng.random() < 0.5:  # extend the run next to it
                        block[i, seg] = row[neighbours[int(self.rng.integers(len(neighbours)))]]
                    else:
                        block[i, seg] = fresh[i, seg[0]]
                elif len(design):
                    cols = design[self.rng.choice(len(design), size=min(changes[i], len(design)), replace=False)]
                    block[i, cols] = fresh[i, cols]
            out.append(block)
        return np.vstack(out)

    def _searched(self, budget: int, s: int, kind: str | None = None) -> np.ndarray:
        """A genetic search of the model's score within scenario s; every point it looked at is a
        candidate. (The algorithm may move the scenario columns; the objective puts them back.)"""
        inc = self._incumbents(20, s)
        algo = make("genetic", self.space, m=1, seed=int(self.rng.integers(2 ** 31)),
                    initial=inc if len(inc) else None,
                    population=min(200, max(20, budget // 20)),
                    crossover="one_point" if self.space.families() else "uniform")
        looked: list[np.ndarray] = []
        kind = kind or ("lcb" if self.acq == "thompson" else self.acq)

        def objective(codes: np.ndarray) -> np.ndarray:
            codes = self.scen.fix(codes, s)
            looked.append(codes)
            scores, _ = self._scores(codes, s, kind=kind)
            return -scores[:, None]

        minimize(algo, objective, budget)
        return np.vstack(looked) if looked else np.empty((0, self.k))

    # ------------------------------------------------------------------ before a design meets the constraints
    def _violations(self, raw: np.ndarray) -> np.ndarray:
        """Per row of costs (evaluated or predicted), by how much it misses the constraints
        (`framework.config.violations`)."""
        return violations(self.constraints, self.con_idx, raw)

    def _least_violating(self, count: int, s: int) -> np.ndarray:
        """The evaluated points of scenario s that miss the constraints by the least (none without
        constraints, or where no design has its constraints' costs measured)."""
        if not self.constraints or not self.codes:
            return np.empty((0, self.k))
        codes = np.array(self.codes).reshape(-1, self.k)
        v = self._violations(np.array(self.raw).reshape(len(self.codes), -1))
        mine = (np.array(self.where) == s) if self.scen.active else np.ones(len(v), dtype=bool)
        idx = np.flatnonzero(mine & np.isfinite(v) & (v > 0))
        return codes[idx[np.argsort(v[idx], kind="stable")[:count]]]

    def _seeking_feasible(self) -> bool:
        """No evaluated design meets the constraints yet, and some missed them by a measured amount: the
        search heads for where they hold before it optimises anything (`_feasibility_batch`). Not without a
        model (-no-train): the exploration then proposes what the sampler gives, as documented; nor with
        ``seek_feasible: false``."""
        return (self.seek_feasible and self.framework.model is not None and bool(self.constraints)
                and not any(self.ok)
                and any(len(self._least_violating(1, s)) for s in range(len(self.scen))))

    def _seeking_in(self, s: int) -> bool:
        """While designs of other scenarios meet the constraints and none of scenario s does (a larger problem
        size that few designs fit), its share of a step heads for where they hold in s, as the whole step
        does before any design meets them (`_feasibility_batch`): the best of the other scenarios need not
        fit it, and without a design that fits there is no best of s to improve on."""
        return (self.seek_feasible and bool(self.constraints) and self.scen.active
                and not self._arrays(s)[2].any() and len(self._least_violating(1, s)) > 0)

    def _feasibility_batch(self, n: int) -> tuple[np.ndarray, bool]:
        """n points to evaluate while no design meets the constraints, and whether a model chose them.

        The objective means nothing yet: without a design that meets the constraints there is no best to
        improve on, and the exploration used to propose what the sampler gives until one turned up. As in constrained Bayesian optimisation (Gardner et
        al., ICML 2014), the points are those most likely to meet the constraints: the model's probability,
        its predicted shortfall breaking ties, searched from the designs that missed by the least. The model
        is trained though no design ran (a placement that does not fit stores its memory but does not run):
        the built-in models learn the constraints' costs from the designs that missed (CanLearn). Where no
        model could be trained (a model plugin without CanLearn), three quarters of the points are moves of
        one knob (or one run of a repeated knob) from those designs, a descent on the measured shortfall,
        the rest the sampler's, in case the way to feasibility lies elsewhere. One knob, not the trust
        radius: on GPT-2 with a 15 GB cap (16 knobs, radius 4) moves of up to four knobs from the least
        overloaded placements found a fit later than the sampler did in 2 of 4 seeds; one knob at a time,
        sooner in all 6 seeds whose initial design held none (bench/feasibility.py); the model's search,
        sooner still (docs/exploration.md)."""
        fw = self.framework
        trained = fw.model is not None and getattr(fw, "training_report", None) is not None
        shares = balanced_shares(n, self._counts(), list(range(len(self.scen))))
        budget = max(self._candidate_budget() // max(len(shares), 1), 1)
        batch = []
        for s, count in shares.items():
            if not count:
                continue
            if trained:
                cand = self._candidates(s, budget, kind="feasible")
                if len(cand):
                    batch.append(self._likeliest_feasible(cand, s, count))
                continue
            local = self._unseen(self._local(8 * count, s, radius=1))
            take = count - count // 4
            batch.append(self._diverse(local, self.rng.permutation(len(local)), take))
        picked = np.vstack(batch) if batch else np.empty((0, self.k))
        return self._from_sampler(n, picked), trained   # picked first; no design twice

    def _likeliest_feasible(self, cand: np.ndarray, s: int, count: int) -> np.ndarray:
        """The count candidates of scenario s likeliest to meet the constraints (`_scores` kind "feasible"),
        no two too close (`_diverse`)."""
        scores, _ = self._scores(cand, s, kind="feasible")
        return self._diverse(cand, np.argsort(-scores, kind="stable"), count)

    # ------------------------------------------------------------------ scores
    def _predict(self, codes: np.ndarray) -> Prediction:
        pred = self.framework.model.Predict(codes)
        if pred.mean.shape != (len(codes), len(self.framework.cost_names)):
            raise DeffeError(f"the model predicted shape {pred.mean.shape} for {len(codes)} points and "
                             f"{len(self.framework.cost_names)} costs", where="model.plugin")
        return pred

    def _p_ok(self, pred: Prediction, codes: np.ndarray | None = None, constraints: bool = True) -> np.ndarray:
        """The probability that each point runs and meets every constraint (with ``constraints=False``: that
        it runs). Failures no constraint explains bring in the model's classifier, or, while it says one rate
        everywhere (too few points of an outcome to learn from) or the model has none, the estimate from the
        distances to the points that ran and failed (`_near_runs`)."""
        n = len(pred.mean)
        use = pred.feasible is not None and (self.unexplained or not self.constraints)
        p = np.clip(np.asarray(pred.feasible, dtype=float), 0, 1) if use else np.ones(n)
        if codes is not None and self.unexplained and (pred.feasible is None or np.ptp(p) == 0):
            p = self._near_runs(codes)
        for c, j in zip(self.constraints if constraints else [], self.con_idx):
            mu = pred.mean[:, j]
            sd = np.zeros(n) if pred.std is None else pred.std[:, j]
            below = probability_below(mu, sd, c.bound)
            p = p * (below if c.upper else 1.0 - below)
        return p

    def _near_runs(self, codes: np.ndarray) -> np.ndarray:
        """The chance that each point runs, from its distance to the points that ran and those that failed.
        Where most designs fail (a compiler rejecting most configurations), the few that ran show where the
        next ones will; the model's classifier needs a few points of each outcome and predicts one rate
        everywhere until then, and the search drew its points as blindly as random sampling until a third
        one happened to run (test/exploration/test_few_runs.py).

        A kernel estimate: each evaluated point votes for its outcome with weight exp(-(d / h)^2), d the mean
        per-knob distance on the unit scale (0 or 1 for a categorical knob), h the median distance of the
        evaluated points to their nearest neighbour; the overall rate of success (Laplace's rule) votes with
        weight 1, so far from everything the estimate is that rate."""
        cols = np.array(self.scen.design_columns or list(range(self.k)), dtype=int)
        categorical = np.array([self.space.knobs[j].kind == "categorical" for j in cols])

        def distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            d = np.zeros((len(x), len(y)))
            for c in range(len(cols)):      # column by column: (points, evaluated) stays small
                diff = x[:, c, None] - y[None, :, c]
                d += (diff != 0) if categorical[c] else np.abs(diff)
            return d / len(cols)

        n = len(self.codes)
        if self.near_cache is None or self.near_cache[0] != n:   # once per step: the search asks many times
            b = self.space.to_unit(np.array(self.codes).reshape(-1, self.k))[:, cols]
            own = distances(b, b)
            np.fill_diagonal(own, np.inf)
            nearest = own.min(axis=1)
            h = float(np.median(nearest)) if n > 1 and np.isfinite(nearest).all() else 1.0
            self.near_cache = (n, b, max(h, 1.0 / (4 * len(cols))), np.array(self.ran, dtype=float))
        _, b, h, ran = self.near_cache
        w = np.exp(-(distances(self.space.to_unit(codes)[:, cols], b) / h) ** 2)
        rate = (ran.sum() + 1.0) / (len(ran) + 2.0)
        return (w @ ran + rate) / (w.sum(axis=1) + 1.0)

    def _moments(self, pred: Prediction) -> tuple[np.ndarray, np.ndarray]:
        mus, sds = [], []
        for q, j in enumerate(self.obj_idx):
            members = None if pred.members is None else pred.members[:, :, j]
            std = None if pred.std is None else pred.std[:, j]
            mu, sd = self.scales[q].moments(pred.mean[:, j], std, members)
            mus.append(mu)
            sds.append(sd)
        return np.column_stack(mus), np.column_stack(sds)

    def _scores(self, codes: np.ndarray, s: int, kind: str | None = None,
                pred: Prediction | None = None) -> tuple[np.ndarray, Prediction]:
        """One score per candidate of scenario s (higher is better), against that scenario's best."""
        kind = kind or self.acq
        pred = self._predict(codes) if pred is None else pred
        p_ok = self._p_ok(pred, codes)
        if kind == "feasible":   # no design meets the constraints yet: the likeliest to (_feasibility_batch)
            return p_ok + TIE_BREAK / (1.0 + self._violations(pred.mean)), pred
        mu, sd = self._moments(pred)
        track = self.tracks[s]
        if self.m == 1:
            if kind == "thompson":
                draw = self._draw(pred, mu, sd)
                score = utility("thompson", mu[:, 0], sd[:, 0], track.best_value, draw=draw)
            else:
                score = utility(kind, mu[:, 0], sd[:, 0], track.best_value, kappa=self.kappa)
            return weigh(kind, score, p_ok), pred
        optimistic = mu - (0.0 if kind == "exploit" else self.kappa) * sd
        if self.mo == "hvi" and track.ref is not None:
            front = self._front_values(s)
            score = hypervolume_improvement(front, optimistic, track.ref) if len(front) else -optimistic.sum(1)
            score = np.where(np.isfinite(score), score, 0.0)
            return weigh("ei", score, p_ok), pred
        return weigh("lcb", -self._chebyshev(optimistic, s), p_ok), pred

    def _draw(self, pred: Prediction, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """One Thompson draw: a random ensemble member, or N(mu, sd)."""
        if pred.members is not None and len(pred.members) > 1:
            j = self.obj_idx[0]
            member = pred.members[int(self.rng.integers(len(pred.members))), :, j]
            return self.scales[0].values(member)
        return mu[:, 0] + sd[:, 0] * self.rng.standard_normal(len(mu))

    def _chebyshev(self, values: np.ndarray, s: int, weights: np.ndarray | None = None) -> np.ndarray:
        """ParEGO's augmented Chebyshev scalarisation of objectives normalised by what was evaluated
        in scenario s (the scales of two problem sizes differ by orders of magnitude)."""
        _, y, ok = self._arrays(s)
        fin = y[ok] if ok.any() else values
        lo, hi = np.nanmin(fin, axis=0), np.nanmax(fin, axis=0)
        z = (values - lo) / np.where(hi > lo, hi - lo, 1.0)
        w = self.rng.dirichlet(np.ones(self.m)) if weights is None else weights
        return np.max(w * z, axis=1) + 0.05 * (z @ w)

    # ------------------------------------------------------------------ batch selection
    def _choose(self, cand: np.ndarray, count: int, s: int, budget: int) -> np.ndarray:
        """count points of scenario s: ``local_share`` of them the best-scored moves within the trust region
        of the best designs, the rest the best-scored of all the candidates (`_select`).

        Where the model is poor at ranking far-off designs (VGG-16's placements, 8-25% hold-out error at
        a few hundred points), the acquisition favours them for their uncertainty and the batch leaves the
        best design's neighbourhood unexplored, though one knob changed improves it (TuRBO, Eriksson et
        al. 2019: a trust region focuses the search where a global model is unreliable). The local share
        keeps some of every step there whatever the global scores say."""
        # on pre-evaluated data only, the candidates are the data's points; moves would leave them
        preloaded = getattr(self.framework.sampling, "pool", None) is not None
        n_local = 0
        if self.local_share > 0 and not preloaded:   # rounded at random: a step of one point is local at that rate
            whole, part = divmod(count * self.local_share, 1.0)
            n_local = min(count, int(whole) + int(self.rng.random() < part))
        if n_local <= 0:
            scores, _ = self._scores(cand, s)
            return self._select(cand, scores, count, s)
        local = self._unseen(self._local(max(budget // 4, 1), s))
        picked = np.empty((0, self.k))
        if len(local):
            scores, _ = self._scores(local, s)
            picked = self._select(local, scores, n_local, s)
        taken = set(self._keys(picked))
        rest = cand[[key not in taken for key in self._keys(cand)]] if len(cand) else cand
        if not len(rest):
            return picked
        scores, _ = self._scores(rest, s)
        if (self.m > 1 and self.mo == "parego") or (self.acq == "thompson" and self.m == 1):
            return np.vstack([picked, self._select(rest, scores, count - len(picked), s)])
        # the local picks first, then the rest by score, no two too close (`_diverse` keeps the order)
        both = np.vstack([picked, rest])
        order = np.concatenate([np.arange(len(picked)), len(picked) + np.argsort(-scores, kind="stable")])
        return self._diverse(both, order, count)

    def _select(self, cand: np.ndarray, scores: np.ndarray, n: int, s: int) -> np.ndarray:
        """The n best scores, no two closer than `diversity` (relaxed when too few remain)."""
        if self.m > 1 and self.mo == "parego":
            return self._select_parego(cand, n, s)
        order = np.argsort(-scores, kind="stable")
        if self.acq == "thompson" and self.m == 1 and n > 1:
            return self._select_thompson(cand, n)
        return self._diverse(cand, order, n)

    def _diverse(self, cand: np.ndarray, order: np.ndarray, n: int) -> np.ndarray:
        """Diversity counts the design knobs only: within a scenario the scenario columns are all alike."""
        cols = np.array(self.scen.design_columns, dtype=int)
        if not len(cols):
            return cand[order[:n]]
        sub = cand[:, cols]
        unit = self.space.to_unit(cand)[:, cols]
        finite = np.array([self.space.knobs[j].finite for j in cols])
        # with interchangeable values, the distance is the smaller of the codes' and of the canonical
        # namings' (relabelled copies are at distance 0; finite knobs only, where the labels live)
        canon = self.relabel.canonical(cand)[:, cols] if self.relabel.active else None
        # the points still being evaluated (asynchronous exploration) count as picked already: a new point
        # keeps its distance from them as from the rest of its batch
        busy = self.pending_codes[:, cols] if len(self.pending_codes) else np.empty((0, len(cols)))
        busy_unit = self.space.to_unit(self.pending_codes)[:, cols] if len(self.pending_codes) else busy
        busy_canon = None if canon is None else self.relabel.canonical(self.pending_codes)[:, cols]
        need = self.diversity
        while True:
            picked: list[int] = []
            for i in order:
                if len(picked) >= n:
                    break
                if (picked or len(busy)) and need > 0:
                    near = np.vstack([sub[picked], busy]) if len(busy) else sub[picked]
                    near_unit = np.vstack([unit[picked], busy_unit]) if len(busy) else unit[picked]
                    far = np.abs(near_unit - unit[i]) > 0.1          # real knobs: the same either way
                    diff = np.where(finite, near != sub[i], far).mean(axis=1)
                    if canon is not None:
                        near_canon = np.vstack([canon[picked], busy_canon]) if len(busy) else canon[picked]
                        diff = np.minimum(diff, np.where(finite, near_canon != canon[i], far).mean(axis=1))
                    if diff.min() < need:
                        continue
                picked.append(int(i))
            if len(picked) >= min(n, len(cand)) or need <= 0:
                return cand[picked]
            need = need / 2 if need > 1.0 / len(cols) else 0.0

    def _select_thompson(self, cand: np.ndarray, n: int) -> np.ndarray:
        """Each slot of the batch takes the best point of its own draw of the model."""
        pred = self._predict(cand)
        mu, sd = self._moments(pred)
        p_ok = self._p_ok(pred, cand)
        picked: list[int] = []
        for _ in range(n):
            draw = self._draw(pred, mu, sd)
            score = weigh("thompson", -draw, p_ok)
            score[picked] = -math.inf
            picked.append(int(np.argmax(score)))
        return cand[sorted(set(picked), key=picked.index)]

    def _select_parego(self, cand: np.ndarray, n: int, s: int) -> np.ndarray:
        """Each slot scalarises the objectives with its own random weights."""
        pred = self._predict(cand)
        mu, sd = self._moments(pred)
        p_ok = self._p_ok(pred, cand)
        optimistic = mu - self.kappa * sd
        picked: list[int] = []
        for _ in range(n):
            score = weigh("lcb", -self._chebyshev(optimistic, s), p_ok)
            score[picked] = -math.inf
            picked.append(int(np.argmax(score)))
        return cand[picked]

    # ------------------------------------------------------------------ the predicted best
    def _predicted_best(self, cand: np.ndarray, pred: Prediction, n: int, s: int) -> np.ndarray:
        """Indices of the n candidates the model predicts best for scenario s, best first: what the
        confirmation step evaluates. No exploration bonus, no diversity rule.

        One cost: by predicted value (on the cost's scale), pushed down by the risk of failing or
        breaking a constraint. Several costs: greedily, the largest hypervolume improvement of the
        predicted costs over the scenario's evaluated front and the points already picked (times the
        probability that the point is fine); once nothing improves it, the rest in order of the
        predicted non-dominated fronts."""
        n = min(n, len(cand))
        if n <= 0:
            return np.zeros(0, dtype=int)
        mu, _ = self._moments(pred)
        p_ok = self._p_ok(pred, cand)
        if self.m == 1:
            score = weigh("exploit", -mu[:, 0], p_ok)
            return np.argsort(-score, kind="stable")[:n]
        ranks = non_dominated_sort(np.where(p_ok[:, None] >= 0.5, mu, np.inf))
        order = np.concatenate(ranks) if ranks else np.arange(len(cand))
        pool = order[:max(4 * n, 200)]
        track = self.tracks[s]
        front = self._front_values(s)
        ref = track.ref if track.ref is not None else \
            np.nanmax(np.where(np.isfinite(mu[pool]), mu[pool], np.nan), axis=0) + 1.0
        picked: list[int] = []
        while len(picked) < n:
            rest = [i for i in pool if i not in picked]
            if not rest:
                break
            gain = hypervolume_improvement(front, mu[rest], ref) * p_ok[rest]
            best = int(np.argmax(gain))
            if not gain[best] > 0:
                break
            picked.append(rest[best])
            front = np.vstack([front, mu[rest[best]][None, :]]) if len(front) else mu[rest[best]][None, :]
        picked += [int(i) for i in order if i not in picked][:n - len(picked)]
        return np.array(picked, dtype=int)

    def _predicted_front(self, cand: np.ndarray, pred: Prediction, idx: np.ndarray, s: int) -> np.ndarray:
        """Of the candidates idx of scenario s (`_predicted_best` order), those shown as the predicted front
        after ``accuracy_target``: predicted to run (the model's classifier, where it has one, at 50% or
        more) and to meet every constraint (the predicted costs, not the probability: several constraints
        each met by the mean would multiply to less than a half); with several costs, also not dominated by
        the scenario's evaluated front nor by another of them. The order of idx is kept.

        The confirmation step still evaluates `_predicted_best`'s points whatever they are (it spends the
        budget on the likeliest improvements); only what is stored and printed as predictions is filtered:
        a design the model itself predicts to be dominated or to break a constraint is no part of a front."""
        idx = np.asarray(idx, dtype=int)
        if not len(idx):
            return idx
        runs = self._p_ok(_subset(pred, idx), cand[idx], constraints=False) >= 0.5
        idx = idx[runs & (self._violations(pred.mean[idx]) == 0)]
        if not len(idx):
            return idx
        mu, _ = self._moments(_subset(pred, idx))
        front = self._front_values(s)
        if self.m == 1:   # shown after the evaluated best: none predicted worse than it, best first
            better = np.flatnonzero(mu[:, 0] <= front[:, 0].min()) if len(front) else np.arange(len(idx))
            return idx[better[np.argsort(mu[better, 0], kind="stable")]]
        values = np.vstack([front, mu]) if len(front) else mu
        kept = pareto_front(values) - len(front)
        return idx[np.sort(kept[kept >= 0])]


def _subset(pred: Prediction, idx: np.ndarray) -> Prediction:
    """The prediction of the points idx only (also guided.py's)."""
    return Prediction(pred.mean[idx], None if pred.std is None else pred.std[idx],
                      None if pred.feasible is None else pred.feasible[idx],
                      None if pred.members is None else pred.members[:, idx])
