"""The surrogate-guided exploration: few real evaluations, the best designs found.

Step 0 evaluates a space-filling design (the sampling plugin). After every step
the driver trains the model on everything evaluated; the next step searches the
space *on the model* — never enumerating a large space: a genetic search of the
acquisition, the neighbourhoods of the best points found so far (a trust
region that widens on success and narrows on failure) and uniform random
points — and picks a batch by an acquisition function, kept diverse (no two
points of a batch closer than ``diversity``). The search itself lives in
``guided_search.py``; this module is the ask/tell loop, the budget and the
confirmation step.

* One cost: expected improvement, lower confidence bound, Thompson sampling
  from the ensemble members, or pure exploitation, on the log of the cost when
  it is positive (model errors are relative).
* Several costs: the Pareto front by non-dominated sorting; batches by
  hypervolume improvement of the optimistic prediction (``hvi``), or by random
  Chebyshev scalarisations (ParEGO, ``parego``); the hypervolume of the
  evaluated front is tracked step by step.
* Constraints on costs and the model's feasibility classifier weigh every
  score by the probability that the point runs and meets the constraints;
  the front and the best only count feasible points. While every failure so
  far broke a constraint by its recorded costs (a placement over its memory
  cap), the classifier is left out: it would count the constraint's risk twice
  and sink the designs on the constraint's edge, where the best often are.
* Scenarios (``scenarios.py``) are conditions, not choices: each step's batch
  is shared among the scenario combinations (each slot to the combination with
  the fewest points so far), and each combination has its own best (or front,
  hypervolume, trust region and patience); the search moves the design knobs
  with the scenario fixed. One model, with the scenarios as features, serves
  them all.
* Stopping: the driver's budget (samples, steps, time); ``patience`` steps
  without improving the best (or the hypervolume) — per scenario: a stalled
  scenario gets no more guided points, and the exploration stops when every
  scenario has stalled; and, with ``accuracy_target``, once the model's
  hold-out error is below it, the exploration finishes on predictions: the
  predicted front is stored as predictions and only its best points are
  evaluated.
* The confirmation step: whatever ends the exploration, its last step
  evaluates the predicted best points not evaluated yet, ``confirm`` of them
  per scenario combination (one step's worth at most, ``samples_per_step``,
  shared among the combinations when they are many). Under a sample budget the step before is
  shortened so that exactly that many samples remain; under a step budget the
  last step is the confirmation; under a time budget the step that would
  likely overrun it (less than 1.5 times the last step's duration left).

Without a model (``-no-train`` or no model plugin) it proposes what the sampler
gives, as the ``sampling`` exploration does.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .acquisition import ObjectiveScale
from .encoding import Relabelling
from .metrics import magnitude_units
from .guided_search import ModelSearch, _subset
from .protocols import Prediction, Proposal, Result
from .scenarios import ScenarioSet, balanced_shares
from .search.pareto import hypervolume, pareto_front, reference_point
from .values import parse_names


@dataclass
class Track:
    """What the exploration knows of one scenario combination (the only one without scenarios)."""

    radius: int                                  # trust region: design knobs a local move may change
    best_value: float = math.inf                 # one objective, on its scale
    stale: int = 0                               # steps in a row without improvement
    ref: np.ndarray | None = None                # several objectives: hypervolume reference point (this step's)
    front: np.ndarray | None = None              # several objectives: the front after the last step it served
    least_violation: float = math.inf            # before any design meets the constraints: the smallest miss
    hv_history: list[float] = field(default_factory=list)
    best_history: list[float] = field(default_factory=list)


class GuidedExploration(ModelSearch):
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
        # measured on one objective (bench/exploration.py); with several, the one run of the main example
        # tried gave a worse front: left out there unless asked for
        share = sec.get("local_share")
        self.local_share = float(share) if share is not None else (0.3 if self.m == 1 else 0.0)
        self.patience = sec.get("patience")
        self.accuracy_target = sec.get("accuracy_target")
        self.confirm = int(sec["confirm"])
        self.seek_feasible = bool(sec["seek_feasible"])
        self.top_k = int(sec["top_k"])
        s = fw.explore.settings
        self.per_step = getattr(fw.args, "samples_per_step", None) or s["samples_per_step"]
        self.initial = s.get("initial_samples") or max(self.per_step, 2 * len(fw.space) + 2)
        self.custom = getattr(fw.args, "custom_samples", None) or s.get("custom_samples")
        self.asked = 0
        self.rng = fw.rng("surrogate")
        self.space = fw.space
        self.k = len(self.space)
        self.scen = ScenarioSet.of(self.space, fw.rng("scenarios"), getattr(fw.sampling, "pool", None))
        radius = max(1, len(self.scen.design_columns) // 4)
        self.tracks = [Track(radius) for _ in range(len(self.scen))]
        self.step = 0
        # a design is evaluated once, whatever the naming of its interchangeable values (its relabelled
        # copies score the same on a model that cannot tell them apart, and would fill a batch)
        self.relabel = Relabelling(self.space)
        self.keys: set[bytes] = set()            # designs evaluated (canonical naming: see _keys)
        self.pending_keys: set[bytes] = set()    # points being evaluated (asynchronous exploration)
        self.pending_codes = np.empty((0, self.k))
        self.codes: list[np.ndarray] = []
        self.raw: list[np.ndarray] = []          # costs (n, c) as evaluated, NaN where missing
        self.ok: list[bool] = []                 # evaluated fine and meets the constraints
        self.ran: list[bool] = []                # evaluated fine (status ok), constraints or not
        self.near_cache: tuple | None = None     # _near_runs' evaluated points and kernel width, per count
        self.unexplained = 0                     # failures that broke no constraint by their recorded costs
        self.where: list[int] = []               # scenario combination of each row, -1 for none
        self.scales: list[ObjectiveScale] | None = None
        self.finished: str | None = None
        self.predicted: tuple[np.ndarray, Prediction] | None = None
        self.warned_no_model = False
        self.warned_no_confirm = False
        self.last_ask: float | None = None       # when the previous step was asked (time budgets)
        self.step_seconds: float | None = None   # how long the last step took, asking to asking

    # ------------------------------------------------------------------ ask
    def Run(self) -> Proposal | None:
        fw = self.framework
        now = time.monotonic()
        if self.last_ask is not None:
            self.step_seconds = now - self.last_ask
        self.last_ask = now
        if self.finished:
            return None  # the confirmation step was the last
        if self.step > 0 and self._unevaluated() <= 0:   # a finite space used up: nothing is left to ask for
            self.finished = "every point of the space is evaluated"
            fw.log.info(f"surrogate exploration: {self.finished}")
            return None
        if self.custom is not None:  # Deffe's -custom-samples: cumulative counts per step
            if self.step >= len(self.custom):
                return None
            self.per_step = self.initial = max(self.custom[self.step] - self.asked, 1)
        if self.step > 0 and self._seeking_feasible():
            n = self._step_size()
            last = n <= 0
            if last:   # the confirmation's points: with nothing that meets the constraints to confirm, they
                # keep seeking a design that does (they went to the sampler, logged "no model yet")
                n = int(min(self._reserve(), self.framework.budget.remaining_samples()))
            codes, modelled = self._feasibility_batch(n) if n > 0 else (np.empty((0, self.k)), False)
            if len(codes):
                if last:
                    self.finished = "no design meets the constraints: the confirmation's points sought one"
                    self.framework.log.info(f"surrogate exploration: {self.finished}")
                return Proposal(codes, note=f"step {self.step}: towards a design that meets the constraints"
                                + (" (the last step: nothing to confirm)" if last else ""), guided=modelled)
        if self.step == 0 or not self._model_ready():
            limit = getattr(fw, "ask_limit", None)   # asynchronous: as many as there are free workers
            n = self.initial if self.step == 0 else min(self.per_step, limit or self.per_step)
            # never more than the budget and the space have left: the proposal was cut to the budget after
            # the sampler drew it, and an initial design of 10**9 points (samples_per_step 10**9, max_samples
            # 12, a continuous knob) was drawn for ever; a design of the budget's size is also the better one
            # (a prefix of a Latin hypercube is not one)
            n = int(min(n, self.framework.budget.remaining_samples(), self._unevaluated()))
            if self.step > 0 and limit is not None and self.custom is None:
                # asynchronous, before the first model: the sampler must not take the confirmation's points
                # (a fast evaluator spent the whole budget on it); with the model on its way, the last ones
                # wait for it (an empty proposal: the loop trains it, then asks again)
                room = self.framework.budget.remaining_samples() - self._reserve()
                coming = getattr(fw, "model_coming", False) and getattr(fw, "training_report", None) is None
                if room < n and coming:
                    n = int(max(room, 0))
                    if n == 0:
                        return Proposal(np.empty((0, self.k)), note="the confirmation's points wait for the model")
                elif room < n and self._reserve() and not self.warned_no_confirm:
                    fw.log.info("surrogate exploration: no model for the confirmation step: the sampler's "
                                "points take its place")
                    self.warned_no_confirm = True
            codes = self._from_sampler(n)
            if len(codes) == 0:
                if self.scen.representative:   # the sampler still gives points, but none new once moved
                    fw.log.info(f"surrogate exploration: the sampler's points, moved to the {len(self.scen)} "
                                "representative scenario combinations, are all evaluated already")
                return None
            trained = fw.model is not None and getattr(fw, "training_report", None) is not None
            return Proposal(codes, note="initial design" if self.step == 0 else
                            "sampling (no design meets the constraints yet)" if trained else "sampling (no model yet)")
        serve = [s for s in range(len(self.scen)) if not self._stalled(s)]
        if not serve:
            stale = min(t.stale for t in self.tracks)
            return self._finish(f"no improvement for {stale} steps" +
                                (" in any scenario" if self.scen.active else ""))
        err = self._holdout_error()
        if self.accuracy_target is not None and err is not None and err <= self.accuracy_target:
            return self._finish(f"model hold-out error {err:.2%} is below {self.accuracy_target:.2%}: "
                                "finishing on predictions", predicted_front=True)
        n = self._step_size()
        if n <= 0:
            return self._finish("the rest of the budget confirms the predicted best")
        shares = balanced_shares(n, self._counts(), serve)
        budget = max(self._candidate_budget() // max(len(shares), 1), 1)
        seeking = {s for s in shares if self._seeking_in(s)}   # no design of s meets the constraints yet
        batch = []
        for s, count in shares.items():
            cand = self._candidates(s, budget, "feasible" if s in seeking else None)
            if not len(cand):
                continue
            if s in seeking:
                batch.append(self._likeliest_feasible(cand, s, count))
            else:
                batch.append(self._choose(cand, count, s, budget))
        picked = np.vstack(batch) if batch else np.empty((0, self.k))
        if len(picked) < n and getattr(fw.sampling, "pool", None) is not None:
            picked = self._fill(picked, n, serve, seeking, budget)
        if not len(picked):
            return None
        return Proposal(picked, note=f"step {self.step}: {self._describe(shares, seeking)}", guided=True)

    def _fill(self, picked: np.ndarray, n: int, serve: list[int], seeking: set[int], budget: int) -> np.ndarray:
        """On pre-evaluated data only (the sampler's ``pool``), a scenario combination with fewer unused points
        of the data than its share of the step leaves the rest to the others, the combinations with the
        fewest points first: the step keeps its size (-custom-samples as given) while the data has points."""
        taken = set(self._keys(picked))
        counts = self._counts()
        for s in sorted(serve, key=lambda t: counts[t]):
            need = n - len(picked)
            if need <= 0:
                break
            kind = "feasible" if s in seeking else None
            cand = self._candidates(s, budget, kind)
            cand = cand[[k not in taken for k in self._keys(cand)]] if len(cand) else cand
            if not len(cand):
                continue
            if s in seeking:
                more = self._likeliest_feasible(cand, s, need)
            else:
                scores, _ = self._scores(cand, s)
                more = self._select(cand, scores, need, s)
            picked = np.vstack([picked, more])
            taken.update(self._keys(more))
        return picked

    def _describe(self, shares: dict[int, int], seeking: set[int]) -> str:
        how = self.acq if self.m == 1 else self.mo
        radii = sorted({self.tracks[s].radius for s in shares})
        text = f"{how}, trust radius {'/'.join(map(str, radii))}"
        if self.scen.active:
            text += "; " + ", ".join(f"{self.scen.label(s)}: {c}" + (" towards the constraints" if s in seeking
                                                                       else "") for s, c in shares.items())
        return text

    def _candidate_budget(self) -> int:
        """Model predictions this step may spend (`candidates`); an asynchronous run may ask for less, so that
        proposing keeps pace with the workers (async_loop.AsyncRun._effort)."""
        effort = getattr(self.framework, "ask_effort", None)
        return self.budget_candidates if effort is None else max(int(self.budget_candidates * effort), 10)

    def _stalled(self, s: int) -> bool:
        return bool(self.patience) and self.tracks[s].stale >= self.patience

    def _counts(self) -> list[int]:
        """Points evaluated (or found in the store) per scenario combination."""
        where = np.array(self.where, dtype=int)
        return [int((where == s).sum()) for s in range(len(self.scen))]

    def _reserve(self) -> int:
        """Evaluations the confirmation step needs: `confirm` per scenario combination, but one step's
        worth at most (samples_per_step, or confirm if larger): with many combinations (a continuous
        scenario's 32 representatives) the confirmation must not eat the budget."""
        return min(self.confirm * len(self.scen), max(self.confirm, self.per_step))

    def _step_size(self) -> int:
        """Points of this guided step: samples_per_step, less what the confirmation step needs at the end
        of a sample budget; 0 when this step must be the confirmation (the budget allows no other)."""
        budget = self.framework.budget
        # -custom-samples steps are kept as given: a reservation would cut the last of them for a
        # confirmation step that never comes (the list has no step after it)
        reserve = 0 if getattr(self, "custom", None) is not None else self._reserve()
        limit = getattr(self.framework, "ask_limit", None)   # asynchronous: as many as there are free workers
        # never more than a finite space has left: without a sample budget, a samples_per_step above the
        # space's size was asked for as is (and balanced_shares spun over 10**9 slots)
        n = min(self.per_step if limit is None else min(self.per_step, limit), budget.remaining_samples() - reserve,
                self._unevaluated())
        if reserve and budget.max_steps is not None and budget.steps >= budget.max_steps - 1:
            return 0
        if reserve and budget.max_time is not None and self.step_seconds is not None and \
                budget.elapsed() + 1.5 * self.step_seconds >= budget.max_time:
            return 0
        return int(max(n, 0))

    def _unevaluated(self) -> float:
        """Points of a finite space not evaluated yet (inf for a continuous one); an upper bound where
        relabelled copies count as one design (`keys`)."""
        size = self.space.size
        return math.inf if size is None else max(size - len(self.keys), 0)

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
        """The confirmation step: per scenario combination, the `confirm` points the model predicts best
        among those not evaluated yet (fewer when less budget remains, shared as guided steps are);
        then stop."""
        self.finished = why
        self.framework.log.info(f"surrogate exploration: {why}")
        total = int(min(self._reserve(), self.framework.budget.remaining_samples()))
        everyone = list(range(len(self.scen)))
        if total >= self.confirm * len(self.scen):
            shares = {s: self.confirm for s in everyone}
        else:   # fewer: shared as guided steps are, the combinations with the fewest points first
            shares = balanced_shares(total, self._counts(), everyone)
        keep = max(self.confirm, self.top_k) if predicted_front else 0
        picks, shown, preds = [], [], []
        for s in everyone:
            if not shares.get(s) and not keep:
                continue
            cand = self._candidates(s, self._candidate_budget() // len(everyone), kind="exploit")
            if not len(cand):
                continue
            pred = self._predict(cand)
            order = self._predicted_best(cand, pred, max(shares.get(s, 0), keep), s)
            picks.append(cand[order[:shares.get(s, 0)]])
            if keep:
                mine = self._predicted_front(cand, pred, order[:keep], s)
                shown.append(cand[mine])
                preds.append(_subset(pred, mine))
        if keep and sum(len(c) for c in shown):
            self.predicted = (np.vstack(shown), _concat(preds))
        batch = np.vstack(picks) if picks else np.empty((0, self.k))
        if not len(batch):
            return None
        proposal = Proposal(batch, note=f"confirmation: {why}", guided=True)
        if self.predicted is not None:
            proposal.predicted, proposal.prediction = self.predicted
        return proposal

    # ------------------------------------------------------------------ asynchronous exploration
    def Pending(self, codes: np.ndarray) -> None:
        """The points still being evaluated when the driver asks for more (asynchronous exploration): never
        proposed again, and new points keep the diversity distance from them, as from each other in a batch.
        A stand-in for fantasised outcomes that needs no refit of the model."""
        codes = np.asarray(codes, dtype=float).reshape(-1, self.k)
        self.pending_codes = codes
        self.pending_keys = set(self._keys(codes)) if len(codes) else set()

    # ------------------------------------------------------------------ tell
    def Tell(self, codes: np.ndarray, results: list[Result]) -> None:
        codes = np.atleast_2d(np.asarray(codes, dtype=float))
        self.asked += len(codes)
        names = self.framework.cost_names
        where = self.scen.index(codes) if len(codes) else np.zeros(0, dtype=int)
        touched: set[int] = set()
        for row, key, r, s in zip(codes, self._keys(codes), results, where):
            if r.status == "skipped" or key in self.keys:
                continue
            self.keys.add(key)
            self.codes.append(row)
            raw = r.cost_vector(names)
            self.raw.append(raw)
            meets = all(c.holds(r.costs.get(c.cost, math.nan)) for c in self.constraints)
            self.ok.append(r.status == "ok" and meets)
            self.ran.append(r.status == "ok")
            if r.status != "ok" and not self._explained(raw):
                self.unexplained += 1
            self.where.append(int(s))
            touched.add(int(s))
        if self.scales is None and any(self.ok):
            raw = np.array(self.raw)
            ok = np.array(self.ok)
            self.scales = [ObjectiveScale.for_costs(raw[ok, j], s) for j, s in zip(self.obj_idx, self.signs)]
        self.step += 1
        for s in sorted(touched - {-1}):   # a scenario that got no point this step did not stall
            self._progress(s)

    def _explained(self, raw: np.ndarray) -> bool:
        """Whether a failed point broke a constraint by the costs it recorded (the constraints say why)."""
        return any(math.isfinite(raw[j]) and not c.holds(raw[j]) for c, j in zip(self.constraints, self.con_idx))

    def _arrays(self, s: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Codes, objective values (on their scales) and feasibility of what was evaluated: every row,
        or those of scenario combination s."""
        if not self.codes:
            return np.empty((0, self.k)), np.empty((0, self.m)), np.zeros(0, dtype=bool)
        codes = np.array(self.codes).reshape(-1, self.k)
        raw = np.array(self.raw).reshape(len(self.codes), -1)
        ok = np.array(self.ok, dtype=bool)
        if s is not None and self.scen.active:
            mine = np.array(self.where) == s
            codes, raw, ok = codes[mine], raw[mine], ok[mine]
        if self.scales is None:
            return codes, np.full((len(codes), self.m), math.inf), ok
        y = np.column_stack([sc.values(raw[:, j]) for sc, j in zip(self.scales, self.obj_idx)]) \
            if len(codes) else np.empty((0, self.m))
        ok = ok & np.isfinite(y).all(axis=1)
        return codes, y, ok

    def _front_values(self, s: int) -> np.ndarray:
        _, y, ok = self._arrays(s)
        if not ok.any():
            return np.empty((0, self.m))
        v = y[ok]
        return v[pareto_front(v)]

    def _progress(self, s: int) -> None:
        """Best (or hypervolume) of scenario s after this step; its trust region follows success."""
        _, y, ok = self._arrays(s)
        track = self.tracks[s]
        if not ok.any():
            # no design of s meets the constraints: a step that served it counts as stale unless it came
            # closer (a smaller least violation), or a combination no design fits would never stall under
            # `patience` and take every remaining point; the trust region is left as it was
            raw = np.array(self.raw).reshape(len(self.raw), -1)
            mine = np.array(self.where) == s if self.scen.active else np.ones(len(raw), dtype=bool)
            v = self._violations(raw[mine]) if self.constraints and mine.any() else np.zeros(0)
            v = v[np.isfinite(v)]
            least = float(v.min()) if len(v) else math.inf
            if least < track.least_violation - 1e-12:
                track.least_violation, track.stale = least, 0
            else:
                track.stale += 1
            return
        unit = magnitude_units(y[ok])   # 1 but for costs beyond 1e100 or below 1e-100 (their volume and steps vanished)
        if self.m == 1:
            best = float(y[ok, 0].min())
            improved = best < track.best_value - 1e-12 * unit[0]
            track.best_value = min(track.best_value, best)
            track.best_history.append(track.best_value)
        else:
            # the reference covers every feasible point so far, not those of the first step: a box fixed
            # around one early point gave later front points (worse in one objective) no volume, so a
            # growing front counted as stale and its points as worth nothing to the HVI
            track.ref = reference_point(y[ok])
            front = y[ok][pareto_front(y[ok])]
            hv = hypervolume(front / unit, track.ref / unit)
            before = hypervolume(track.front / unit, track.ref / unit) if track.front is not None else -math.inf
            improved = hv > before + 1e-9 * abs(before) if math.isfinite(before) else True
            track.front = front
            track.hv_history.append(hv)
        design = max(1, len(self.scen.design_columns))
        if improved:
            track.stale = 0
            track.radius = min(design, track.radius * 2) if self.step > 1 else track.radius
        else:
            track.stale += 1
            track.radius = max(1, track.radius // 2)

    # ------------------------------------------------------------------ report
    def Report(self) -> dict:
        """What deffe_exploration.csv shows: the predicted front (if any), the scenario combinations
        served and the history (per combination when there are scenarios)."""
        out: dict = {"objectives": self.objectives, "finished": self.finished}
        if self.predicted is not None:
            out["predicted_codes"], out["prediction"] = self.predicted
        if self.scen.active:
            out["scenario_codes"] = self.scen.combos
            out["scenario_representative"] = self.scen.representative
            out["scenario_history"] = {
                self.scen.label(s): (t.hv_history or t.best_history) for s, t in enumerate(self.tracks)}
        else:
            if self.tracks[0].hv_history:
                out["hypervolume"] = self.tracks[0].hv_history
            if self.tracks[0].best_history:
                out["best"] = self.tracks[0].best_history
        return out


def _concat(preds: list[Prediction]) -> Prediction:
    """One Prediction of the points of several (the predicted fronts of the scenarios)."""
    def join(parts, axis=0):
        return None if any(p is None for p in parts) else np.concatenate(parts, axis=axis)
    return Prediction(np.concatenate([p.mean for p in preds]), join([p.std for p in preds]),
                      join([p.feasible for p in preds]), join([p.members for p in preds], axis=1))

