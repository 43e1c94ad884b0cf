"""Model ``auto`` (the default): chooses, per problem and per cost, the candidate model that predicts best out
of sample.

Why choose rather than always train one model: no model wins everywhere. On the
real gem5 kmeans table (40 points) the random forest's leave-one-out median
error was 5.9%, the deep ensemble's 63%; on placements with 1,000 points the
deep ensemble was twice as accurate as the forest and the boosting. A choice
measured on the problem at hand follows the data instead of a guess.

How it chooses (``_select``): the candidates (``model.candidates``: torch_mlp,
sklearn_rf, sklearn_gbm, sklearn_gp) are trained on part of the step's training
data and predict the rest, on the standardised (log) costs, with the bound on
predictions that the final model has (see _targets.py). With a repeated knob
the deep ensemble is two candidates: ``torch_mlp`` reads the knob's features
only through its pooling block, ``torch_mlp:direct`` (``family_direct``) also
reads them directly; neither wins on every placement problem (torch_mlp.py,
DIRECT_NOTE). A fold of the deep ensemble is trained as the network that will
be trained on all the samples (pooled, without a validation part, from the
sizes where those apply: ``_as_on_all_points``).

* up to ``LOO_POINTS`` (10) samples by leave-one-out, up to ``CV_POINTS`` (49)
  by 5-fold cross-validation (every point is predicted once: one split of a
  few dozen points would decide by chance);
* from 50 on, by one hold-out of a quarter of them: a seeded random quarter;
  with ``model.selection_holdout: latest``, in the guided exploration, the
  latest quarter when a search on the model chose those rows, in order
  (``TrainingData.guided_tail``; never a sampler's design, pre-evaluated data,
  whose order may be a table's sort, or the final training, whose model answers
  -inference-only about any points). The idea: a search asks the model about
  points near those it chose last, and on points clustered where it has been a
  random hold-out favours trees that interpolate their neighbours. Measured on
  the exploration benchmark (10 seeds of 4 problems, docs/exploration.md) it
  was no better than the random quarter (ResNet-50 reached 1% of the best less
  often), so it is not the default. The deep ensemble,
  a candidate from 50 samples on, is the costly one, and it then trains once
  more, not five times (on the main example, five folds of it at 55 samples
  made one step take three minutes on a busy machine);
* below 50 samples (``MIN_SAMPLES``) neither the deep ensemble nor the
  boosting is a candidate. A few dozen points cannot fit the deep ensemble
  reliably (kmeans above), and its trainings on every early step would cost
  more than the model is worth. Boosting 200 rounds on leaves of a few points
  memorises them: on the gem5 tables (20 random splits each of kmeans and
  matmul, training on 10 to 30 points) its test MAPE was 1.5 to 10 times the
  forest's or the GP's (kmeans at 25%: 1083% against 107% and 46%), yet its
  log-scale cross-validation score, which counts a 25-fold overestimate as
  no worse than a 25-fold underestimate, put it or its average first in about
  half the splits. Without it the default's MAPE fell in all six cells
  (kmeans 63/44/45% to 58/41/36%, matmul 150/92/46% to 140/83/41%).

The score, per cost, is the mean absolute error of the standardised (log) cost
over the points predicted (for a positive cost, about the mean relative error
divided by the spread of the log costs: it ranks candidates as a relative error
does, and one absurd prediction cannot dominate it as it dominates a MAPE).
Each cost chooses on its own score (why: see _blend.py). Per cost, the average
of its two best-scored candidates (their standardised predictions, equal
weights) is scored on the same held-out predictions, with nothing trained
again, and competes as one more choice (``model.blend``, default true). The
lowest score wins, except up to ``CV_POINTS`` samples, where the average is
taken unless a candidate alone scores clearly better (below ``CLEARLY``, 0.7,
times the average's score): on a few dozen points the scores rank candidates
by chance more than by merit. On the real gem5 tables (20 random splits each
of kmeans and matmul, training on 25%, 50% and 75%) choosing the lowest score
picked a forest or boosting whose test MAPE was worse than the GP's in most
splits; taking the average lowered auto's MAPE on 5 of the 6 (kmeans at 75%:
53% to 45%; matmul at 25%: 188% to 150%), and a function the GP all but
interpolates still gets the GP alone. The candidates chosen are then trained, each once, on all
the step's data and predict (one candidate for every cost alone is its own
model, with its members for the deep ensemble: Thompson sampling keeps
working; anything else is a `Blend`). No weighted stack: with a few dozen
held-out predictions its weights are themselves noise.

The choice is kept across steps and made again only when the training samples
have grown by ``model.redecide_growth`` (2) since it was made: in between, only
the chosen model trains (a continued deep ensemble stays continued). Choosing
more often (1.25) was measured on the exploration benchmark, 5 seeds of 4
problems: it ended the stalls of two ResNet-50 seeds (18.5% and 14.6% off the
best, with the forest chosen at 119 samples and kept to 238; 2.3% and 2.2%
with 1.25), but reached 1% of the best no more often (6 runs of 20 either
way) and ended further off in the median on GPT-2 and VGG-16; see
docs/exploration.md. The exploration's last training (``TrainingData.final``: its
budget or its pre-evaluated data is spent) chooses again whenever samples were
added since the choice, or the choice was scored on the latest quarter, so that
the model a run saves, and -inference-only uses, was chosen on all the data and
on a random quarter of it.

Each step's report names the choice ("torch_mlp", "sklearn_rf+sklearn_gbm", or per cost
"step_time=torch_mlp; memory_use=sklearn_gp"), and, at a step that chose, the
scores (overall and per cost) and MAPE of every candidate (model_metrics.csv:
``model``, ``selection``).

With the deep ensemble's own options (``transfer_learning``,
``initial_checkpoint`` / -icp, ``freeze_layers``) there is nothing to choose:
those are torch_mlp's, and auto is torch_mlp; but a checkpoint given with -icp keeps the model it
holds (auto's choice, or the candidate plugin it was written by): a forest, boosting or GP there is trained
anew at every step (with a warning; with ``freeze_layers``, an error). A checkpoint holds the choice,
the samples it was made on, whether it was scored on the latest quarter (so
that a resumed run's final training chooses again), and the chosen models'
states (under ``model``: the one plugin's format, or a Blend's ``parts`` and
``models``); a checkpoint of one choice for every cost (before per-cost
choices) loads as that choice for each.
"""
from __future__ import annotations

import importlib
import re
from typing import Any

import numpy as np

from framework.checkpoint import CheckpointMeta, PayloadError, State
from framework.errors import DeffeError

from ._base import SurrogateModel
from ._blend import BLEND, Blend, parts_of

CANDIDATES = ("torch_mlp", "sklearn_rf", "sklearn_gbm", "sklearn_gp")
# A candidate's variant: (plugin, options). With a repeated knob, the deep ensemble's pooling block is the only
# way its features reach the network (torch_mlp's default) or one beside them (family_direct): neither wins on
# every problem (plugins/ml_model/torch_mlp.py, DIRECT_NOTE), so each is a candidate of its own.
DIRECT = "torch_mlp:direct"
VARIANTS = {DIRECT: ("torch_mlp", {"family_direct": True})}
NAMES = CANDIDATES + tuple(VARIANTS)
NETWORKS = ("torch_mlp", DIRECT)
CONSTRAINT_NOTE = """A cost that a constraint bounds (memory_use <= 1) is asked about where the search goes next:
designs the data has not seen, near or beyond the bound, such as placements that crowd more layers on fewer
GPUs than any so far. A random quarter of the data does not look like them, and on it the forest often
scores best; but trees predict there the values of the leaves nearest, within the range seen, and call
such designs feasible. On Inception-V3 (16 GPUs; seed 2, trained on a run's first 74 evaluations) the
forest chosen for the memory predicted 0.72 to 0.89 of the cap for the next ten placements the search
proposed, which used 1.04 to 1.45 of it, where the deep ensemble predicted 1.09 to 1.32; in every run the
batch after the step time's model turned to the deep ensemble (from 50 samples) was mostly placements that
did not fit. With ``model.constraint_model: network``, from the samples where the deep ensemble is a
candidate, such a cost chooses among its two variants only. On the exploration benchmark (docs/exploration.md,
10 or 20 seeds) it cut Inception-V3's evaluations to 1% of the best from a median of 125.5 to 111, but ended
GPT-2 and VGG-16 further off, where the best designs fill the memory cap and the forest, within the range it
has seen, predicts the memory near the cap better: so it is not the default (``any``: chosen as every other
cost)."""
LOO_POINTS = 10     # up to this many samples: leave-one-out
CV_POINTS = 49      # up to this many samples: k-fold cross-validation; beyond: one hold-out
FOLDS = 5
HOLDOUT = 0.25
SELECTION_TREES = 50   # trees of a forest being scored (it then predicts with model.estimators)
# Candidates that need data: from this many samples on (see the module's docstring)
MIN_SAMPLES = {"torch_mlp": 50, DIRECT: 50, "sklearn_gbm": 50}
CLEARLY = 0.7       # up to CV_POINTS samples, a candidate alone beats the average only below this share of its score
TORCH_ONLY = ("transfer_learning", "initial_checkpoint", "freeze_layers")


class AutoModel(SurrogateModel):
    plugin = "auto"
    views = True        # the deep ensemble learns from relabelled views; the others read the canonical one

    def __init__(self, framework: Any):
        super().__init__(framework)
        self.names = self._candidate_names()
        self.choices: list[str] = []         # per cost: a candidate or "a+b"; empty until the first choice
        self.chosen: SurrogateModel | None = None
        self.decided_at = 0                  # training samples when the choice was made
        self.decided_on_tail = False         # ... scored on the latest quarter (selection_holdout: latest)
        self.scores: dict[str, dict] = {}    # of the last choice
        self.kept: list[str] | None = None   # -icp: the checkpoint's choice, trained at every step (not chosen)

    def _candidate_names(self) -> list[str]:
        if any(self.opts.get(k) for k in TORCH_ONLY):
            return ["torch_mlp"]
        names = self.opts.get("candidates")
        if names is None:   # null is the default, as for every key
            names = list(CANDIDATES)
        if isinstance(names, str):
            names = [n for n in re.split(r"[,\s]+", names) if n]
        unknown = [n for n in names if n not in NAMES]
        if unknown or not names:   # an empty list is a mistake, not "the default" nor "no model"
            raise DeffeError(f"auto: '{unknown[0]}' is not a model it can choose" if unknown else
                             "auto: the list names no model to choose among",
                             file=self.file, where="model.candidates", hint=f"candidates: {', '.join(NAMES)}")
        names = list(dict.fromkeys(names))
        if "torch_mlp" in names and DIRECT not in names and self._pooled() and not self.opts.get("family_direct"):
            names.insert(names.index("torch_mlp") + 1, DIRECT)
        return names

    def _pooled(self) -> bool:
        """Whether the deep ensemble may pool a repeated knob (then its two variants differ)."""
        return bool(self.opts.get("family_pooling", True)) and bool(self.encoding.member_slots())

    def _make_choice(self, choices: list[str]):
        """The model of per-cost choices: one candidate's model when it serves every cost alone, else a
        Blend of the candidates needed (_blend.py)."""
        if len(set(choices)) == 1 and BLEND not in choices[0]:
            return self._make(choices[0])
        return Blend(choices, [self._make(n) for n in parts_of(choices)])

    @property
    def choice(self) -> str | None:
        """What model_metrics.csv shows: "torch_mlp", "a+b", or per cost "cost=a; cost=b"."""
        if not self.choices:
            return None
        # a cost no training point had a value of (no design ran yet) has no model to speak of
        unseen = self.targets.unseen if self.targets is not None else np.zeros(len(self.choices), dtype=bool)
        shown = ["not learned yet" if u else c for c, u in zip(self.choices, unseen)]
        if len(set(shown)) == 1:
            return shown[0]
        return "; ".join(f"{cost}={choice}" for cost, choice in zip(self.cost_names, shown))

    def _make(self, name: str) -> SurrogateModel:
        plugin, options = VARIANTS.get(name, (name, {}))
        model = importlib.import_module(f"{__package__}.{plugin}").GetObject(self.framework)
        model.opts = {**model.opts, **options}
        model.seed = self.seed
        model.targets = self.targets
        return model

    # ------------------------------------------------------------------ training
    def _due(self, samples: int) -> bool:
        growth = float(self.opts["redecide_growth"])   # the schema fills its default
        # the final training chooses again on new samples, or when the choice in place was scored on the latest
        # quarter: the final model answers -inference-only about any points, so it is scored on a random one
        return (self.choice is None or self.chosen is None or samples >= growth * self.decided_at
                or (self.final and (samples > self.decided_at or self.decided_on_tail)))

    def _continues(self, samples: int) -> bool:
        return not self._due(samples) and self.chosen._continues(samples)

    def _fit(self, X: np.ndarray, Z: np.ndarray, monitor) -> dict:
        n = X.shape[-2]
        decided = self._due(n)
        if decided:
            self.decided_on_tail = False   # _select sets it when it scores on the latest quarter
            if self.kept is not None:   # -icp: the checkpoint's model, whatever it is (see Initialize)
                self.scores = {name: {"score": None, "note": "the -icp checkpoint's"}
                               for name in dict.fromkeys(self.kept)}
                choices = list(self.kept)
            elif len(self.names) == 1:   # nothing to choose (e.g. candidates: [sklearn_rf])
                self.scores = {self.names[0]: {"score": None, "note": "the only candidate"}}
                choices = [self.names[0]] * Z.shape[1]
            else:
                self.scores = self._select(X, Z)
                choices = [c or self._fallback(n)   # a cost nothing scored: the fallback
                           for c in self._choose(self.scores, Z.shape[1], average_first=n <= CV_POINTS,
                                                 network_costs=self._network_costs())]
            if choices != self.choices or self.chosen is None:
                self.chosen = self._make_choice(choices)
            self.choices, self.decided_at = choices, n
        model = self.chosen
        model.targets, model.runs, model.continuing = self.targets, self.runs, self.continuing
        report = dict(model._fit(self._view(X, model), Z, monitor) or {})
        model.runs = self.runs + 1
        report.update(chosen=self.choice, decided=decided)
        if decided:
            report["selection"] = {k: self._named(v) for k, v in self.scores.items()}
        return report

    def _named(self, score: dict) -> dict:
        """A candidate's scores for the report, per cost by name ("costs"; "for": the costs an average is for)."""
        out = dict(score)
        if score.get("costs") is not None:
            out["costs"] = dict(zip(self.cost_names, score["costs"]))
        if "for" in score:
            out["for"] = [self.cost_names[j] for j in score["for"]]
        return out

    def _network_costs(self) -> set[int]:
        """The costs that choose among the deep ensemble's variants only (``model.constraint_model: network``):
        those a constraint bounds. See CONSTRAINT_NOTE."""
        if self.opts.get("constraint_model", "any") != "network":
            return set()
        bounded = {c.cost for c in getattr(self.framework.config, "constraints", [])}
        return {j for j, name in enumerate(self.cost_names) if name in bounded}

    @staticmethod
    def _choose(scores: dict[str, dict], costs: int, average_first: bool = False,
                network_costs: set[int] | frozenset = frozenset()) -> list[str | None]:
        """Per cost, the entry (candidate or average) with the lowest score on that cost; with
        ``average_first`` (few samples), the average of its two best unless one candidate scores clearly
        better (below ``CLEARLY`` times the average's score). None for a cost nothing scored (too few points to
        split, or every point of it held out with the only others that have it)."""
        choices: list[str | None] = []
        for j in range(costs):
            tried = {k: v["costs"][j] for k, v in scores.items()
                     if v.get("costs") and v["costs"][j] is not None and j in v.get("for", [j])}
            if not tried:
                choices.append(None)
                continue
            networks = {k: v for k, v in tried.items() if k in NETWORKS}
            if j in network_costs and networks:
                tried = networks
            best = min(tried, key=tried.get)
            averages = [k for k in tried if BLEND in k]
            if average_first and averages and BLEND not in best and tried[best] >= CLEARLY * tried[averages[0]]:
                best = averages[0]
            choices.append(best)
        return choices

    def _fallback(self, n: int) -> str:
        """The choice when nothing could be scored (too few points to split): the forest, when a candidate."""
        eligible = [c for c in self.names if n >= MIN_SAMPLES.get(c, 0)] or self.names
        return "sklearn_rf" if "sklearn_rf" in eligible else eligible[0]

    @staticmethod
    def _view(X: np.ndarray, model: SurrogateModel) -> np.ndarray:
        """Relabelled views (views, n, d) for a model that learns from them, the canonical view for the others."""
        return X if X.ndim == 2 or getattr(model, "views", False) else X[0]

    def _select(self, X: np.ndarray, Z: np.ndarray) -> dict[str, dict]:
        """Each candidate's out-of-sample score and MAPE (see the module's docstring); None where not tried."""
        n = X.shape[-2]
        rng = np.random.default_rng(self.seed + 7919 * self.runs + 1)
        order = rng.permutation(n)
        held = max(1, int(round(HOLDOUT * n)))   # the hold-out from CV_POINTS + 1 samples on
        if n <= LOO_POINTS:     # every point left out once: on so few, how folds fall would decide
            folds = [order[i:i + 1] for i in range(n)] if n >= 4 else []
            protocol = "leave-one-out"
        elif n <= CV_POINTS:
            folds = np.array_split(order, FOLDS)
            protocol = f"{FOLDS}-fold"
        elif (self.opts.get("selection_holdout") == "latest" and not self.final
              and self.guided_tail >= held):
            # the latest points a search on the model chose: what it asks about next resembles them most (the
            # final model is asked about any points, with -inference-only: it is scored on a random quarter)
            folds = [np.arange(n - held, n)]
            protocol = f"hold-out of the last {held}"
            self.decided_on_tail = True
        else:
            folds = [order[:held]]
            protocol = f"hold-out of {held}"
        folds = _trainable(folds, Z)
        costs = self.targets.inverse(Z, bounded=False)   # (what the folds' ranges have always been taken from)
        # the MAPEs are measured on the costs themselves: inverse(Z) turns a cost of 0 into about 1e-14 (the
        # standardisation's round trip), which the MAPE then divided by (1e17%)
        true = self.train_costs if self.train_costs is not None and np.shape(self.train_costs) == Z.shape else costs
        out: dict[str, dict] = {}
        preds: dict[str, np.ndarray] = {}
        for name in self.names:
            if n < MIN_SAMPLES.get(name, 0):
                out[name] = {"score": None, "note": f"not tried below {MIN_SAMPLES[name]} samples"}
                continue
            if name in VARIANTS and n < int(self.opts.get("pooling_samples", 50)):
                out[name] = {"score": None, "note": "the same network as torch_mlp below pooling_samples"}
                continue
            if not folds:
                out[name] = {"score": None, "note": "too few samples to score"}
                continue
            pred = np.full(Z.shape, np.nan)
            preds[name] = pred
            for test in folds:
                train = np.setdiff1d(np.arange(n), test)
                fold_targets = self.targets.ranged(costs[train])   # the bound of a model of these rows only
                model = self._make(name)
                if model.plugin == "torch_mlp":
                    model.opts = _as_on_all_points(model.opts, n, len(train))
                model.targets, model.runs, model.continuing = fold_targets, self.runs, False
                model.point_only = True     # no uncertainty models: only the prediction is scored
                if name == "sklearn_rf":    # the mean of 50 trees predicts as the mean of 200, at a quarter of the cost
                    model.opts = {**model.opts, "estimators": min(int(model.opts["estimators"]), SELECTION_TREES)}
                model._fit(self._view(X[..., train, :], model), Z[train], None)
                z = model._members(X[0][test] if X.ndim == 3 else X[test]).mean(axis=0)
                pred[test] = (fold_targets.bound(z * self.targets.std + self.targets.mean)
                              - self.targets.mean) / self.targets.std
            out[name] = _scores(Z, pred, self.targets, true) | {"protocol": protocol}
        if self.opts.get("blend", True):
            # per cost, the average of its two best, scored on the same predictions (nothing trained again)
            for j in range(Z.shape[1]):
                scored = sorted((v["costs"][j], k) for k, v in out.items()
                                if BLEND not in k and v.get("costs") and v["costs"][j] is not None)
                if len(scored) < 2:
                    continue
                a, b = sorted((scored[0][1], scored[1][1]), key=self.names.index)   # one name per pair
                if a + BLEND + b not in out:
                    both = np.isfinite(preds[a]) & np.isfinite(preds[b])
                    blend = np.where(both, (preds[a] + preds[b]) / 2, np.nan)
                    out[a + BLEND + b] = _scores(Z, blend, self.targets, true) | {"protocol": protocol, "for": []}
                out[a + BLEND + b]["for"].append(j)
        return out

    # ------------------------------------------------------------------ prediction
    def _members(self, X: np.ndarray) -> np.ndarray:
        return self.chosen._members(X)

    def _spread(self, X: np.ndarray):
        self.chosen.targets = self.targets
        return self.chosen._spread(X)

    def _member_count(self) -> int:
        return self.chosen._member_count() if self.chosen is not None else 1

    def _predict_context(self):
        return self.chosen._predict_context()

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> Any:
        return {"choice": self.choice, "choices": list(self.choices), "decided_at": int(self.decided_at),
                "decided_on_tail": bool(self.decided_on_tail), "model": self.chosen._state()}

    def _restore(self, state: State, meta: CheckpointMeta) -> None:
        costs = len(self.cost_names)
        if state.has("choices"):
            choices = state.value("choices", list, f"a list of {costs} model names, one per cost")
        else:   # written before per-cost choices: one choice for every cost
            choices = [state.value("choice", str, "the name of the chosen model")] * costs
        for i, choice in enumerate(choices):
            if (not isinstance(choice, str) or not choice or choice.count(BLEND) > 1
                    or any(part not in NAMES for part in choice.split(BLEND))):
                raise PayloadError(f"'{state.path}/choices' item {i + 1} is '{str(choice)[:40]}', which is not one "
                                   f"of {', '.join(NAMES)} or two of them joined by '{BLEND}'")
        if len(choices) != costs:
            raise PayloadError(f"'{state.path}/choices' has {len(choices)} items; the run has {costs} costs")
        decided_at = state.value("decided_at", int, "a number of samples")
        # a resumed run's final training must still know that the choice was scored on the latest quarter
        # (written before this was kept: false, the random quarter)
        on_tail = state.value("decided_on_tail", bool, "true or false") if state.has("decided_on_tail") else False
        model = self._make_choice(choices)
        model.loading = self.loading
        model._restore(state.sub("model"), meta)
        self.chosen, self.choices, self.decided_at = model, choices, max(0, decided_at)
        self.decided_on_tail = on_tail

    def Load(self, path, shown=None) -> CheckpointMeta:
        """An auto checkpoint, or one of a candidate plugin (e.g. torch_mlp's, to start from with -icp): then
        that model is the choice, with the targets and feasibility it was saved with."""
        from framework.checkpoint import read_meta
        meta = read_meta(path, shown)
        if meta.plugin not in CANDIDATES:
            return super().Load(path, shown)
        model = self._make(meta.plugin)
        model.initial = self.initial
        meta = model.Load(path, shown)
        self.chosen, self.decided_at = model, int(meta.samples or 0)
        self.choices = [meta.plugin] * len(self.cost_names)
        self.targets, self.feasibility, self.pickled = model.targets, model.feasibility, model.pickled
        self.history, self.fitted, self.step, self.samples = list(meta.history), True, meta.step, meta.samples
        return meta

    def _check_initial(self) -> None:
        self.chosen = self.chosen or self._make("torch_mlp")
        self.chosen._check_initial()

    def _start_scale(self):
        """With -icp, the scale of the weights the chosen model starts from (its own rule): auto fits the targets
        and hands them to it (_fit)."""
        return None if self.initial is None or self.chosen is None else self.chosen._start_scale()

    def Initialize(self) -> None:
        super().Initialize()
        if self.initial is None:
            return
        # the chosen model fine-tunes from the scale its loaded weights learned (Targets.carried), as torch_mlp
        # given the checkpoint itself does; it re-fitted the scale on the few new points
        self.chosen.initial_targets = self.chosen.targets
        if callable(getattr(self.chosen, "_note_architecture", None)):
            self.chosen._note_architecture()   # the config's network settings the checkpoint's overrides
        # -icp: the checkpoint's choice is the model (auto's own, or a candidate plugin's checkpoint). Choosing
        # torch_mlp instead, as with the other torch options, trained it from scratch and threw the checkpoint away.
        shown = self.opts.get("initial_checkpoint") or str(self.initial)
        self.kept = list(self.choices)
        others = sorted({part for c in self.choices for part in c.split(BLEND) if part not in NETWORKS})
        if not others:
            return
        choice = self.choice
        if self.opts.get("freeze_layers"):
            raise DeffeError(f"freeze_layers applies to the torch models, not to {choice}, the model of the -icp "
                             f"checkpoint {shown}", file=self.file,
                             where="model.freeze_layers",
                             hint="drop -freeze-layers to start from that model, or fine-tune from a checkpoint of "
                                  "a run with model.plugin torch_mlp")
        self.framework.log.warning(f"warning: {shown}: its model ({choice}) has no network to fine-tune: it "
                                   "predicts until the first training, then each step trains it anew (auto "
                                   "chooses nothing with -icp)")

    def _info(self) -> dict:
        return {"chosen": self.choice, **(self.chosen._info() if self.chosen is not None else {})}


def _as_on_all_points(opts: dict, n: int, fold: int) -> dict:
    """The deep ensemble's options for a fold of ``fold`` of the ``n`` samples, so that it is scored as the
    network that will be trained on all n: with the pooling block (and without a validation part) when n has
    reached the sizes from which they apply, though the fold has not. Otherwise, at 50 samples, the folds
    of 37 scored a plain network and the chosen model was a pooled one; torch_mlp and torch_mlp:direct,
    alike without the block, could not be told apart."""
    from ._trainer import EARLY_STOPPING_BELOW
    out = dict(opts)
    pool_at = int(out.get("pooling_samples", 50))
    if n >= pool_at > fold:
        out["pooling_samples"] = fold
    if out.get("validation_split") is None and n >= EARLY_STOPPING_BELOW > fold:
        out["validation_split"] = 0.0
    return out


def _trainable(folds: list[np.ndarray], Z: np.ndarray) -> list[np.ndarray]:
    """The folds whose training part has a value of every cost the data has: an objective is learned from the
    designs that ran only (infeasible ones teach the constraints' costs), so when few ran, a fold may hold out
    all of them (34 placements, 2 of them fitting), and no model of that cost can be trained without them."""
    n = Z.shape[0]
    known = np.isfinite(Z)
    needed = known.any(axis=0)
    keep = []
    for test in folds:
        train = np.ones(n, dtype=bool)
        train[test] = False
        if known[train][:, needed].any(axis=0).all():
            keep.append(test)
    return keep


def _scores(Z: np.ndarray, pred: np.ndarray, targets: Any, costs: np.ndarray) -> dict:
    """Mean absolute error of the standardised costs (averaged over costs) and MAPE in cost units (worst cost),
    against ``costs``, the costs Z standardises (the points whose cost is 0 left out, as in the hold-out's
    MAPE)."""
    errs, mapes = [], []
    for j in range(Z.shape[1]):
        ok = np.isfinite(Z[:, j]) & np.isfinite(pred[:, j])
        if not ok.any():
            errs.append(None)
            continue
        errs.append(float(np.mean(np.abs(pred[ok, j] - Z[ok, j]))))
        true = costs[ok, j]
        guess = targets.inverse(pred[ok], bounded=False)[:, j]
        nz = true != 0
        if nz.any():
            mapes.append(float(np.mean(np.abs(guess[nz] - true[nz]) / np.abs(true[nz]))))
    if not any(e is not None for e in errs):
        return {"score": None, "note": "nothing to score"}
    return {"score": float(np.mean([e for e in errs if e is not None])), "costs": errs,
            "mape": max(mapes) if mapes else None}


def GetObject(framework: Any) -> AutoModel:
    return AutoModel(framework)
