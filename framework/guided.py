"""The surrogate-guided exploration: few real evaluations, the best designs found.

Step 0 evaluates a space-filling design (the sampling plugin). After every step
the driver trains the model on everything evaluated; the next step searches the
space *on the model* — never enumerating a large space: a genetic search of the
acquisition, the neighbourhoods of the best points found so far (a trust
region that widens on success and narrows on failure) and uniform random
points — and picks a batch by an acquisition function, kept diverse (no two
points of a batch closer than ``diversity``).

* One cost: expected improvement, lower confidence bound, Thompson sampling
  from the ensemble members, or pure exploitation, on the log of the cost when
  it is positive (model errors are relative).
* Several costs: the Pareto front by non-dominated sorting; batches by
  hypervolume improvement of the optimistic prediction (``hvi``), or by random
  Chebyshev scalarisations (ParEGO, ``parego``); the hypervolume of the
  evaluated front is tracked step by step.
* Constraints on costs and the model's feasibility classifier weigh every
  score by the probability that the point runs and meets the constraints;
  the front and the best only count feasible points.
* Stopping: the driver's budget (samples, steps, time); ``patience`` steps
  without improving the best (or the hypervolume); and, with
  ``accuracy_target``, once the model's hold-out error is below it, the
  exploration finishes on predictions: the predicted front is stored as
  predictions and only its best points are evaluated (the confirmation step).
  The last ``confirm`` evaluations of a budget confirm the predicted best too.

Without a model (``-no-train`` or no model plugin) it proposes what the sampler
gives, as the ``sampling`` exploration does.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .acquisition import ObjectiveScale, probability_below, utility, weigh
from .errors import DeffeError
from .protocols import Prediction, Proposal, Result
from .search import make
from .search.base import row_keys
from .search.pareto import hypervolume, hypervolume_improvement, pareto_front, reference_point
from .values import parse_names


class GuidedExploration:
    def __init__(self, framework: Any):
        self.framework = framework

    # ------------------------------------------------------------------ setup
    def Initialize(self) -> None:
        fw = self.framework
        sec = fw.section("exploration")
        names = fw.cost_names
        chosen = parse_names(sec.get("objectives"), "exploration.objectives") or list(names)
        self.obj_idx = [names.index(c) for c in chosen]
        self.objectives = chosen
        self.signs = np.array([fw.costs[i].sign for i in self.obj_idx])
        self.m = len(chosen)
        self.constraints = list(fw.config.constraints)
        self.con_idx = [names.index(c.cost) for c in self.constraints]
        self.acq = sec["acquisition"]
        self.kappa = float(sec["kappa"])
        self.mo = sec["multi_objective"]
        self.budget_candidates = int(sec["candidates"])
        self.diversity = float(sec["diversity"])
        self.patience = sec.get("patience")
        self.accuracy_target = sec.get("accuracy_target")
        self.confirm = int(sec["confirm"])
        s = fw.explore.settings
        self.per_step = getattr(fw.args, "samples_per_step", None) or s["samples_per_step"]
        self.initial = s.get("initial_samples") or max(self.per_step, 2 * len(fw.space) + 2)
        self.custom = getattr(fw.args, "custom_samples", None) or s.get("custom_samples")
        self.asked = 0
        self.rng = fw.rng("surrogate")
        self.space = fw.space
        self.k = len(self.space)
        self.step = 0
        self.keys: set[bytes] = set()
        self.codes: list[np.ndarray] = []
        self.raw: list[np.ndarray] = []          # costs (n, c) as evaluated, NaN where missing
        self.ok: list[bool] = []                 # evaluated fine and meets the constraints
        self.scales: list[ObjectiveScale] | None = None
        self.radius = max(1, self.k // 4)
        self.stale = 0
        self.best_value = math.inf
        self.ref: np.ndarray | None = None
        self.hv_history: list[float] = []
        self.best_history: list[float] = []
        self.finished: str | None = None
        self.predicted: tuple[np.ndarray, Prediction] | None = None
        self.warned_no_model = False

    # ------------------------------------------------------------------ ask
    def Run(self) -> Proposal | None:
        fw = self.framework
        if self.finished:
            return None  # the confirmation step was the last
        if self.custom is not None:  # Deffe's -custom-samples: cumulative counts per step
            if self.step >= len(self.custom):
                return None
            self.per_step = self.initial = max(self.custom[self.step] - self.asked, 1)
        if self.step == 0 or not self._model_ready():
            n = self.initial if self.step == 0 else self.per_step
            codes = fw.sampling.Run(n)
            if len(codes) == 0:
                return None
            return Proposal(codes, note="initial design" if self.step == 0 else "sampling (no model yet)")
        if self.patience and self.stale >= self.patience:
            return self._finish(f"no improvement for {self.stale} steps")
        err = self._holdout_error()
        if self.accuracy_target is not None and err is not None and err <= self.accuracy_target:
            return self._finish(f"model hold-out error {err:.2%} is below {self.accuracy_target:.2%}: "
                                "finishing on predictions", predicted_front=True)
        remaining = fw.budget.remaining_samples()
        if self.confirm and remaining <= self.confirm:
            return self._finish("budget nearly spent")
        n = int(min(self.per_step, remaining))
        cand = self._candidates()
        if len(cand) == 0:
            return None
        scores, _ = self._scores(cand, n)
        batch = self._select(cand, scores, n)
        return Proposal(batch, note=f"step {self.step}: {self._describe()}")

    def _describe(self) -> str:
        if self.m == 1:
            return f"{self.acq}, trust radius {self.radius}"
        return f"{self.mo}, trust radius {self.radius}"

    def _model_ready(self) -> bool:
        fw = self.framework
        if fw.model is None:
            if not self.warned_no_model:
                fw.log.info("surrogate exploration without a model: proposing what the sampler gives")
                self.warned_no_model = True
            return False
        return getattr(fw, "training_report", None) is not None and any(self.ok)

    def _holdout_error(self) -> float | None:
        report = getattr(self.framework, "training_report", None) or {}
        err = report.get("holdout_mape")
        return None if err is None or not np.isfinite(err) else float(err)

    # ------------------------------------------------------------------ finishing
    def _finish(self, why: str, predicted_front: bool = False) -> Proposal | None:
        """The confirmation step: the predicted best points not yet evaluated, then stop."""
        self.finished = why
        self.framework.log.info(f"surrogate exploration: {why}")
        cand = self._candidates()
        if len(cand) == 0:
            return None
        scores, pred = self._scores(cand, self.confirm, kind="exploit")
        order = np.argsort(-scores, kind="stable")
        if predicted_front:
            top = order[:max(self.confirm, self.framework.section("exploration")["top_k"])]
            self.predicted = (cand[top], _subset(pred, top))
        remaining = self.framework.budget.remaining_samples()
        n = int(min(self.confirm, remaining))
        if n <= 0:
            return None
        batch = self._select(cand, scores, n)
        proposal = Proposal(batch, note=f"confirmation: {why}")
        if self.predicted is not None:
            proposal.predicted, proposal.prediction = self.predicted
        return proposal

    # ------------------------------------------------------------------ candidates
    def _candidates(self) -> np.ndarray:
        """Points worth scoring, none evaluated yet: a search of the model, local moves, random points."""
        space = self.space
        if space.finite and space.size <= max(self.budget_candidates, 1):
            allc = space.point_at(np.arange(space.size))
            return self._unseen(allc)
        parts = [space.random(self.rng, max(self.budget_candidates // 5, 1))]
        parts.append(self._local(max(self.budget_candidates // 4, 1)))
        parts.append(self._searched(max(self.budget_candidates // 2, 1)))
        cand = np.vstack([p for p in parts if len(p)])
        return self._unseen(cand)

    def _unseen(self, cand: np.ndarray) -> np.ndarray:
        keys = row_keys(cand)
        keep, seen = [], set()
        for i, key in enumerate(keys):
            if key not in self.keys and key not in seen:
                seen.add(key)
                keep.append(i)
        return cand[keep]

    def _incumbents(self, count: int) -> np.ndarray:
        """The best evaluated points (the front's, for several costs)."""
        codes, y, ok = self._arrays()
        if not ok.any():
            return codes[:0]
        idx = np.flatnonzero(ok)
        if self.m == 1:
            order = idx[np.argsort(y[idx, 0], kind="stable")]
            return codes[order[:count]]
        front = idx[pareto_front(y[idx])]
        if len(front) > count:
            front = self.rng.choice(front, size=count, replace=False)
        return codes[front]

    def _local(self, count: int) -> np.ndarray:
        """Points within the trust radius of the incumbents: up to `radius` knobs changed, or, along a
        repeated knob (a sequence of like knobs), a run of up to 2 x `radius` members set to one value."""
        inc = self._incumbents(5)
        if not len(inc):
            return np.empty((0, self.k))
        families = [[self.space.position(n) for n in names]
                    for names in self.space.families().values() if len(names) > 1]
        per = max(count // len(inc), 1)
        out = []
        for row in inc:
            block = np.repeat(row[None, :], per, axis=0)
            changes = self.rng.integers(1, self.radius + 1, size=per)
            fresh = self.space.from_unit(self.rng.random((per, self.k)))
            for i in range(per):
                if families and i % 2:
                    cols = families[int(self.rng.integers(len(families)))]
                    length = int(self.rng.integers(1, min(len(cols), 2 * self.radius) + 1))
                    start = int(self.rng.integers(0, len(cols) - length + 1))
                    seg = cols[start:start + length]
                    neighbours = [c for c in (cols[start - 1] if start else None,
                                              cols[start + length] if start + length < len(cols) else None)
                                  if c is not None]
                    if neighbours and self.rng.random() < 0.5:  # extend the run next to it
                        block[i, seg] = row[neighbours[int(self.rng.integers(len(neighbours)))]]
                    else:
                        block[i, seg] = fresh[i, seg[0]]
                else:
                    cols = self.rng.choice(self.k, size=min(changes[i], self.k), replace=False)
                    block[i, cols] = fresh[i, cols]
            out.append(block)
        return np.vstack(out)

    def _searched(self, budget: int) -> np.ndarray:
        """A genetic search of the model's acquisition score; every point it looked at is a candidate."""
        inc = self._incumbents(20)
        algo = make("genetic", self.space, m=1, seed=int(self.rng.integers(2 ** 31)),
                    initial=inc if len(inc) else None,
                    population=min(200, max(20, budget // 20)),
                    crossover="one_point" if self.space.families() else "uniform")
        looked: list[np.ndarray] = []

        def objective(codes: np.ndarray) -> np.ndarray:
            looked.append(codes)
            scores, _ = self._scores(codes, 1, kind="lcb" if self.acq == "thompson" else self.acq)
            return -scores[:, None]

        from .search import minimize
        minimize(algo, objective, budget)
        return np.vstack(looked) if looked else np.empty((0, self.k))

    # ------------------------------------------------------------------ scores
    def _predict(self, codes: np.ndarray) -> Prediction:
        pred = self.framework.model.Predict(codes)
        if pred.mean.shape != (len(codes), len(self.framework.cost_names)):
            raise DeffeError(f"the model predicted shape {pred.mean.shape} for {len(codes)} points and "
                             f"{len(self.framework.cost_names)} costs", where="model.plugin")
        return pred

    def _p_ok(self, pred: Prediction) -> np.ndarray:
        n = len(pred.mean)
        p = np.ones(n) if pred.feasible is None else np.clip(np.asarray(pred.feasible, dtype=float), 0, 1)
        for c, j in zip(self.constraints, self.con_idx):
            mu = pred.mean[:, j]
            sd = np.zeros(n) if pred.std is None else pred.std[:, j]
            below = probability_below(mu, sd, c.bound)
            p = p * (below if c.upper else 1.0 - below)
        return p

    def _moments(self, pred: Prediction) -> tuple[np.ndarray, np.ndarray]:
        mus, sds = [], []
        for q, j in enumerate(self.obj_idx):
            members = None if pred.members is None else pred.members[:, :, j]
            std = None if pred.std is None else pred.std[:, j]
            mu, sd = self.scales[q].moments(pred.mean[:, j], std, members)
            mus.append(mu)
            sds.append(sd)
        return np.column_stack(mus), np.column_stack(sds)

    def _scores(self, codes: np.ndarray, n: int, kind: str | None = None) -> tuple[np.ndarray, Prediction]:
        """One score per candidate (higher is better) for a batch of n."""
        kind = kind or self.acq
        pred = self._predict(codes)
        mu, sd = self._moments(pred)
        p_ok = self._p_ok(pred)
        if self.m == 1:
            if kind == "thompson":
                draw = self._draw(pred, mu, sd)
                score = utility("thompson", mu[:, 0], sd[:, 0], self.best_value, draw=draw)
            else:
                score = utility(kind, mu[:, 0], sd[:, 0], self.best_value, kappa=self.kappa)
            return weigh(kind, score, p_ok), pred
        optimistic = mu - (0.0 if kind == "exploit" else self.kappa) * sd
        if self.mo == "hvi" and self.ref is not None:
            front = self._front_values()
            score = hypervolume_improvement(front, optimistic, self.ref) if len(front) else -optimistic.sum(1)
            score = np.where(np.isfinite(score), score, 0.0)
            return weigh("ei", score, p_ok), pred
        return weigh("lcb", -self._chebyshev(optimistic), p_ok), pred

    def _draw(self, pred: Prediction, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """One Thompson draw: a random ensemble member, or N(mu, sd)."""
        if pred.members is not None and len(pred.members) > 1:
            j = self.obj_idx[0]
            member = pred.members[int(self.rng.integers(len(pred.members))), :, j]
            return self.scales[0].values(member)
        return mu[:, 0] + sd[:, 0] * self.rng.standard_normal(len(mu))

    def _chebyshev(self, values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """ParEGO's augmented Chebyshev scalarisation of objectives normalised by what was evaluated."""
        _, y, ok = self._arrays()
        fin = y[ok] if ok.any() else values
        lo, hi = np.nanmin(fin, axis=0), np.nanmax(fin, axis=0)
        z = (values - lo) / np.where(hi > lo, hi - lo, 1.0)
        w = self.rng.dirichlet(np.ones(self.m)) if weights is None else weights
        return np.max(w * z, axis=1) + 0.05 * (z @ w)

    # ------------------------------------------------------------------ batch selection
    def _select(self, cand: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
        """The n best scores, no two closer than `diversity` (relaxed when too few remain)."""
        if self.m > 1 and self.mo == "parego":
            return self._select_parego(cand, n)
        order = np.argsort(-scores, kind="stable")
        if self.acq == "thompson" and self.m == 1 and n > 1:
            return self._select_thompson(cand, n)
        return self._diverse(cand, order, n)

    def _diverse(self, cand: np.ndarray, order: np.ndarray, n: int) -> np.ndarray:
        unit = self.space.to_unit(cand)
        finite = np.array([k.finite for k in self.space.knobs])
        need = self.diversity
        while True:
            picked: list[int] = []
            for i in order:
                if len(picked) >= n:
                    break
                if picked and need > 0:
                    diff = np.where(finite, cand[picked] != cand[i], np.abs(unit[picked] - unit[i]) > 0.1)
                    if diff.mean(axis=1).min() < need:
                        continue
                picked.append(int(i))
            if len(picked) >= min(n, len(cand)) or need <= 0:
                return cand[picked]
            need = need / 2 if need > 1.0 / self.k else 0.0

    def _select_thompson(self, cand: np.ndarray, n: int) -> np.ndarray:
        """Each slot of the batch takes the best point of its own draw of the model."""
        pred = self._predict(cand)
        mu, sd = self._moments(pred)
        p_ok = self._p_ok(pred)
        picked: list[int] = []
        for _ in range(n):
            draw = self._draw(pred, mu, sd)
            score = weigh("thompson", -draw, p_ok)
            score[picked] = -math.inf
            picked.append(int(np.argmax(score)))
        return cand[sorted(set(picked), key=picked.index)]

    def _select_parego(self, cand: np.ndarray, n: int) -> np.ndarray:
        """Each slot scalarises the objectives with its own random weights."""
        pred = self._predict(cand)
        mu, sd = self._moments(pred)
        p_ok = self._p_ok(pred)
        optimistic = mu - self.kappa * sd
        picked: list[int] = []
        for _ in range(n):
            score = weigh("lcb", -self._chebyshev(optimistic), p_ok)
            score[picked] = -math.inf
            picked.append(int(np.argmax(score)))
        return cand[picked]

    # ------------------------------------------------------------------ tell
    def Tell(self, codes: np.ndarray, results: list[Result]) -> None:
        codes = np.atleast_2d(np.asarray(codes, dtype=float))
        self.asked += len(codes)
        names = self.framework.cost_names
        for row, key, r in zip(codes, row_keys(codes), results):
            if r.status == "skipped" or key in self.keys:
                continue
            self.keys.add(key)
            self.codes.append(row)
            self.raw.append(r.cost_vector(names))
            meets = all(c.holds(r.costs.get(c.cost, math.nan)) for c in self.constraints)
            self.ok.append(r.status == "ok" and meets)
        if self.scales is None and any(self.ok):
            raw = np.array(self.raw)
            ok = np.array(self.ok)
            self.scales = [ObjectiveScale.for_costs(raw[ok, j], s) for j, s in zip(self.obj_idx, self.signs)]
        self.step += 1
        self._progress()

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.codes:
            return np.empty((0, self.k)), np.empty((0, self.m)), np.zeros(0, dtype=bool)
        codes = np.array(self.codes).reshape(-1, self.k)
        raw = np.array(self.raw).reshape(len(self.codes), -1)
        ok = np.array(self.ok, dtype=bool)
        if self.scales is None:
            return codes, np.full((len(codes), self.m), math.inf), ok
        y = np.column_stack([s.values(raw[:, j]) for s, j in zip(self.scales, self.obj_idx)])
        ok = ok & np.isfinite(y).all(axis=1)
        return codes, y, ok

    def _front_values(self) -> np.ndarray:
        _, y, ok = self._arrays()
        if not ok.any():
            return np.empty((0, self.m))
        v = y[ok]
        return v[pareto_front(v)]

    def _progress(self) -> None:
        """Best (or hypervolume) after this step; the trust region follows success."""
        _, y, ok = self._arrays()
        if not ok.any():
            return
        if self.m == 1:
            best = float(y[ok, 0].min())
            improved = best < self.best_value - 1e-12
            self.best_value = min(self.best_value, best)
            self.best_history.append(self.best_value)
        else:
            if self.ref is None:
                self.ref = reference_point(y[ok])
            hv = hypervolume(y[ok], self.ref)
            improved = not self.hv_history or hv > self.hv_history[-1] * (1 + 1e-9)
            self.hv_history.append(hv)
        if improved:
            self.stale = 0
            self.radius = min(self.k, self.radius * 2) if self.step > 1 else self.radius
        else:
            self.stale += 1
            self.radius = max(1, self.radius // 2)

    # ------------------------------------------------------------------ report
    def Report(self) -> dict:
        """What deffe_exploration.csv shows: the predicted front (if any) and the history."""
        out: dict = {"objectives": self.objectives, "finished": self.finished}
        if self.predicted is not None:
            out["predicted_codes"], out["prediction"] = self.predicted
        if self.hv_history:
            out["hypervolume"] = self.hv_history
        if self.best_history:
            out["best"] = self.best_history
        return out


def _subset(pred: Prediction, idx: np.ndarray) -> Prediction:
    return Prediction(pred.mean[idx], None if pred.std is None else pred.std[idx],
                      None if pred.feasible is None else pred.feasible[idx],
                      None if pred.members is None else pred.members[:, idx])
