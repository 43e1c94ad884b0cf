"""What every built-in model plugin shares: the framework's features, targets, feasibility, checkpoints.

A plugin subclasses `SurrogateModel` and provides

    _fit(X, Z, init)        train on features X (n, d) and standardised targets Z (n, c)
    _members(X)             standardised predictions (k, n, c) of its k members (k = 1: one model)
    _spread(X)              optional: (mean, std) in cost units when the members are not the uncertainty
                            (the mean: the members' point prediction, inverse(_members(X).mean(axis=0)))
    _state() / _restore()   its weights, for checkpoints

and gets ``Initialize``, ``Run``, ``Predict``, ``SetMonitor``, ``Save`` and
``Load`` (the model block's contract, see framework/protocols.py and
framework/training.py). A model of several members (a deep ensemble, a
forest's trees) predicts the mean of its members on the scale they learned,
back in costs: for log costs their geometric mean, not the mean of their
costs. That is the prediction `auto` scores when it chooses, and where members
disagree by orders of magnitude (a forest's trees on 30 gem5 measurements
spanning 18M to 23G cycles) the mean of costs follows the highest: the
forest's MAPE on the kmeans table, trained on 75% of it, was 107% with it and
32% without. Every prediction goes back to costs through
``Targets.inverse``, which keeps it within the range of the training costs
widened by ``model.bound_margin`` (see _targets.py): no plugin can predict
1e28 cycles after seeing 1e7 to 1e10.

Checkpoints (framework/checkpoint.py) hold numbers and JSON only: ``_state()``
returns a tree of dicts (string keys), lists, None, bools, numbers, strings and
numpy arrays of numbers or fixed-width text (anything else is refused when
saving), and ``_restore(state, meta)`` gets it back as a `State` whose getters
check every type and shape (raise `PayloadError` for anything else: ``Load``
makes it a one-line error naming the file). What cannot be stored as arrays is
stored as what it was fitted on and fitted again in ``_restore`` (the
scikit-learn estimators, the feasibility classifier). An old checkpoint (format
1, pickle) is read only with ``-trust-pickle`` / ``model.trust_pickle``; its
state then goes to ``_restore_pickled``.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from framework.checkpoint import (DAMAGED_HINT, PICKLE_FORMAT, CheckpointMeta, PayloadError, State,
                                  check_compatible, config_digest, keras_error, read_checkpoint, read_state,
                                  trusts_pickle, write_checkpoint)
from framework.errors import DeffeError
from framework.protocols import Prediction, TrainingData
from framework.training import model_options

from ._feasibility import Feasibility
from ._targets import Targets, UnscalableCost

def summarise_members(targets: Targets, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members' standardised predictions z (k, n, c) -> their point prediction (their mean on the learned
    scale, back in costs), the standard deviation of their costs, and their costs (see the docstring)."""
    costs = targets.inverse(z)
    mean = z.mean(axis=0)
    # far beyond the range the bound squeezes the members together: their own spread is the floor
    return targets.inverse(mean), targets.floored(spread_of(costs), mean, z.std(axis=0)), costs


def spread_of(costs: np.ndarray) -> np.ndarray:
    """The standard deviation of members' costs (k, n, c) over the members, finite whatever their scale: the
    squares of costs near 1e300 overflow (NaN) and those of costs near 1e-300 underflow (0), so there the
    costs are first divided by their largest magnitude. Elsewhere numpy's std as it is (the same bits)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        std = costs.std(axis=0)
        top = np.max(np.abs(costs), axis=0)
        extreme = np.isfinite(top) & (top > 0) & ((top > 1e150) | (top < 1e-150))
        if not extreme.any():
            return std
        scale = np.where(extreme, top, 1.0)
        return np.where(extreme, (costs / scale).std(axis=0) * scale, std)


PREDICT_CHUNK = 4096   # rows per piece of work: small enough to stay in the CPU's cache
MAX_VIEW_FLOATS = 50_000_000   # relabelled training views held at once (200 MB)


class SurrogateModel:
    plugin = "?"

    def __init__(self, framework: Any):
        self.framework = framework
        self.file = framework.config.data.get("__origin__")
        try:
            self.opts = model_options(framework.section("model"), framework.args, self.file, framework.config)
        except DeffeError as e:
            raise self._keras_here(e) from None
        self.encoding = framework.encoding
        self.cost_names = list(framework.cost_names)
        # model.seed stands in for framework.seed in the model's stream (as sampling.seed does in the
        # sampler's): writing out its documented default gives what leaving it out does; the draw lies in
        # 0 .. 2^31 - 1, which scikit-learn, numpy and torch all take, whatever integer the config gave
        self.seed = framework.seed_for("model", seed=self.opts.get("seed"))
        self.targets: Targets | None = None
        self.feasibility = Feasibility(self.seed)
        self.fitted = False
        self.step: int | None = None
        self.samples: int | None = None
        self.history: list[dict] = []
        self.monitor: tuple[np.ndarray, np.ndarray] | None = None
        self.initial: Path | None = None     # -icp: where the starting weights came from
        self.initial_targets: Targets | None = None   # -icp: the checkpoint's targets
        self.runs = 0
        self.continuing = False
        self.final = False      # this training is the exploration's last (TrainingData.final)
        self.guided_tail = 0    # the last rows learned from were chosen in order by a search on the model
        self.pickled = False                 # loaded from an old pickle checkpoint, not trained since
        self.train_costs: np.ndarray | None = None   # the costs of the training in progress (Run)
        self.loading: str | None = None      # the checkpoint being loaded (for messages of _restore)
        # the run's thread budget (model.threads, else -jobs): prediction splits large batches across it
        self.threads = max(1, int(self.opts.get("threads") or getattr(framework, "threads", 1) or 1))

    # ------------------------------------------------------------------ contract
    def Initialize(self) -> None:
        self._infeasible_costs()   # a wrong cost name is an error before anything is evaluated
        icp = self.opts.get("initial_checkpoint")
        if self.opts.get("freeze_layers") and not icp:   # as Deffe: nothing to freeze, nothing to stop for
            self.framework.log.warning(f"warning: freeze_layers {self.opts['freeze_layers']} is ignored: there is "
                                       "no checkpoint to start from (-icp)")
            self.opts["freeze_layers"] = 0
        if icp:
            self._check_initial()
            path = self._initial_path(icp)
            try:
                self.Load(path, shown=str(icp))
            except DeffeError as e:
                raise self._keras_here(e) from None
            self.initial = path
            self.initial_targets = self.targets   # the scale the checkpoint's weights learned (_start_scale)
            self.framework.log.debug(f"model: starting from {icp} (step {self.step}, {self.samples} samples)")

    def Run(self, data: TrainingData) -> dict:
        self._refuse(np.asarray(data.codes, dtype=float).reshape(len(data.status), -1))
        X = self._inputs(data)
        ok = np.array([s == "ok" for s in data.status], dtype=bool)
        learn, costs = self._learned(data, ok)
        if not learn.any():
            raise DeffeError("no successful sample to train the model on", where="model.plugin")
        self._check_costs(costs)
        self.feasibility.fit(X, ok)
        self.pickled = False
        try:
            targets = Targets.fit(costs, bool(self.opts["log_costs"]), self.opts.get("bound_margin"))
        except UnscalableCost as e:
            raise DeffeError(f"cost '{self.cost_names[e.column]}' cannot be scaled for the model: its values, up to "
                             f"{e.largest:.3g} in magnitude and {e.signs}, are too large for their spread to be a "
                             "finite number (" + ("a model learns the log of a cost only when it is positive)"
                                                  if self.opts["log_costs"] else "model.log_costs is false)"),
                             file=self.file, where="costs",
                             hint="rescale the cost, e.g. divide it by a power of ten in the extract step (or "
                                  "measure it in larger units)") from None
        self.final = data.final
        self.guided_tail = data.guided_tail_of(learn)
        # (a cost first seen now, e.g. the objective once a design ran, has an untrained output: train anew)
        self.continuing = (not data.fresh and self._continues(int(learn.sum())) and self.targets is not None
                           and np.array_equal(targets.log, self.targets.log)
                           and not (self.targets.unseen & ~targets.unseen).any())
        if not self.continuing:
            # a training starting from weights (an -icp checkpoint, -tl-samples) keeps the scale they learned (see
            # Targets.carried): fine-tuning starts from the checkpoint's function, not the network read anew
            start = self._start_scale()
            self.targets = targets if start is None else \
                start.carried(costs, targets, self._offset(start, data.codes, learn, costs))
        else:   # a continued model keeps the scale its outputs were trained on, and predicts within the range of
            # everything it has now seen (what it started from too: an -icp checkpoint's range)
            self.targets = replace(self.targets, margin=targets.margin).widened(targets)
        Z = self.targets.forward(costs)
        self.train_costs = costs   # the costs Z was made of (auto measures MAPEs on them, not on inverse(Z))
        monitor = None
        if self.monitor is not None:
            monitor = (self._encode(self.monitor[0]), self.targets.forward(self.monitor[1]))
            self.monitor = None
        report = dict(self._fit(self._training_views(data, learn, X), Z, monitor) or {})
        self.history = report.pop("history_list", [])
        self.fitted = True
        self.step = data.step
        self.samples = int(learn.sum())
        self.runs += 1
        report.update(plugin=self.plugin, log_costs=[bool(v) for v in self.targets.log],
                      feasibility_classifier=self.feasibility.trained)
        report["history"] = self.history
        return report

    def Predict(self, codes: np.ndarray) -> Prediction:
        codes = np.asarray(codes, dtype=float)
        if codes.ndim == 1 and len(self.encoding.space.knobs) > 0 and codes.size == len(self.encoding.space.knobs):
            codes = codes.reshape(1, -1)
        if codes.ndim != 2 or codes.shape[1] != len(self.encoding.space.knobs):
            self._refuse(codes)
        if not self.fitted:
            raise DeffeError(f"model {self.plugin} is not trained yet", where="model.plugin",
                             hint="predictions need at least one training step (or -icp FILE)")
        n, c = len(codes), len(self.cost_names)
        mean, std = np.empty((n, c)), np.empty((n, c))
        feasible = np.empty(n)
        k = self._member_count()
        members = np.empty((k, n, c)) if k > 1 else None

        def work(lo: int) -> None:  # each chunk writes its own rows: safe from several threads
            hi = min(n, lo + PREDICT_CHUNK)
            self._refuse(codes[lo:hi], lo)
            X = self._encode(codes[lo:hi])
            spread = self._spread(X)
            if spread is not None:
                mean[lo:hi], std[lo:hi] = spread
            else:
                mean[lo:hi], std[lo:hi], m = summarise_members(self.targets, self._members(X))
                if members is not None:
                    members[:, lo:hi] = m
            feasible[lo:hi] = self.feasibility.predict(X)

        starts = range(0, n, PREDICT_CHUNK)
        workers = min(len(starts), self.threads)
        with self._predict_context():
            if workers > 1:
                # chunks in parallel threads (the libraries release the GIL), each library op on one thread:
                # unlike a library's own thread team, this keeps its speed on a busy machine
                from concurrent.futures import ThreadPoolExecutor
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(work, starts))
            else:
                for lo in starts:
                    work(lo)
        return Prediction(mean, std, feasible, members)

    def _refuse(self, codes: np.ndarray, first_row: int = 0) -> None:
        """A DeffeError for codes that are not points of the space (wrong columns, values out of range)."""
        try:
            self.encoding.check(codes, first_row)
        except ValueError as e:
            raise DeffeError(f"model {self.plugin}: {e}", where="model.plugin") from None

    def SetMonitor(self, codes: np.ndarray, costs: np.ndarray) -> None:
        """Points whose loss is reported after every epoch (the hold-out); never trained on."""
        self.monitor = (np.asarray(codes, dtype=float), np.asarray(costs, dtype=float))

    # ------------------------------------------------------------------ checkpoints
    def Save(self, path: str | os.PathLike) -> Path:
        if not self.fitted:
            raise DeffeError(f"model {self.plugin} is not trained: nothing to save", where="model.plugin")
        if self.pickled:
            raise DeffeError(f"model {self.plugin} was loaded from an old (pickle) checkpoint and has not been "
                             "trained since: it cannot be written in the format that holds only numbers",
                             file=str(path), hint="train it first (a step of a run), then it is saved")
        fw = self.framework
        meta = CheckpointMeta(plugin=self.plugin, signature=self.encoding.signature(), costs=self.cost_names,
                              config_digest=config_digest(fw.config),
                              explore=fw.explore.name if fw.explore is not None else "",
                              step=self.step, samples=self.samples, info=self._info(), history=self.history)
        state = {"targets": self.targets.state(), "feasibility": self.feasibility.state(), "model": self._state()}
        try:
            return write_checkpoint(path, meta, state)
        except TypeError as e:   # a plugin's state holding something else than numbers, text and arrays
            raise DeffeError(f"model {self.plugin}: its state cannot be written to a checkpoint ({e})",
                             file=str(path), where="model.plugin") from None

    def Load(self, path: str | os.PathLike, shown: str | None = None) -> CheckpointMeta:
        """Load a checkpoint: nothing in the file is executed (old pickle checkpoints only when trusted)."""
        shown = shown or str(path)
        trust = trusts_pickle(self.framework.section("model"), self.framework.args)
        meta, payload = read_checkpoint(path, shown, trust_pickle=trust)
        check_compatible(meta, self.encoding.signature(), self.cost_names, shown, plugin=self.plugin,
                         log=self.framework.log, explore=self._entry_named())
        tree = read_state(meta, payload, shown, trust_pickle=trust, log=self.framework.log)
        self.loading = shown
        try:
            if meta.format == PICKLE_FORMAT:
                self._restore_pickled(tree, meta)
            else:
                st = State(tree)
                targets = Targets.from_checked(st.sub("targets"), len(self.cost_names))
                feasibility = Feasibility.from_checked(st.sub("feasibility"), self._input_width())
                self._restore(st.sub("model"), meta)
                self.targets, self.feasibility = targets, feasibility
        except DeffeError:
            raise
        except PayloadError as e:
            raise DeffeError(f"cannot read the model's weights: {e}", file=shown, hint=DAMAGED_HINT) from None
        except Exception as e:  # a value the checks let through and a library refused
            raise DeffeError(f"cannot read the model's weights ({type(e).__name__}: "
                             f"{' '.join(str(e).split())[:200]})", file=shown, hint=DAMAGED_HINT) from None
        finally:
            self.loading = None
        self.pickled = meta.format == PICKLE_FORMAT
        self.history = list(meta.history)
        self.fitted = True
        self.step, self.samples = meta.step, meta.samples
        return meta

    def _restore_pickled(self, state: dict, meta: CheckpointMeta) -> None:
        """The dict of an old (pickle) checkpoint, read with -trust-pickle: targets, feasibility, model."""
        self.targets = Targets.from_state(state["targets"])
        self.feasibility = Feasibility.from_pickled(state["feasibility"], self.seed)
        self._restore(State(state["model"], "model"), meta)

    def CanLearn(self, data: TrainingData) -> bool:
        """Whether ``data`` teaches something though no design in it ran: the costs ``learn_infeasible`` names,
        measured on designs that missed the constraints (a placement over its memory cap has its memory use).
        The objectives stay unknown (predicted as NaN) until a design runs; the constraints' costs tell a
        search where the designs that fit lie (guided exploration, ``seek_feasible``)."""
        ok = np.array([s == "ok" for s in data.status], dtype=bool)
        return bool(self._learned(data, ok)[0].any())

    # ------------------------------------------------------------------ helpers
    def _entry_named(self) -> str | None:
        """The exploration entry this model serves, when the config has several (errors name it)."""
        fw = self.framework
        try:
            return fw.explore.name if len(fw.config.explores) > 1 else None
        except (AttributeError, TypeError):   # a framework made by hand (tests, the Python API's inference)
            return None

    def _keras_here(self, e: DeffeError) -> DeffeError:
        """A Keras checkpoint's error naming where this run writes the checkpoints to give instead."""
        files = getattr(e, "keras_files", None)
        return keras_error(files, self.framework.run_dir) if files else e

    def _initial_path(self, icp: str) -> Path:
        if getattr(self.framework.args, "icp", None):
            return Path(icp)                      # from the command line: relative to the current directory
        return self.framework.config.resolve(icp)  # from the config: relative to the config file

    def _check_initial(self) -> None:
        """Plugins that cannot fine-tune say so here."""

    def _check_costs(self, costs: np.ndarray) -> None:
        loss = self.opts.get("loss")
        if loss in ("custom_mean_abs_log_loss", "custom_mean_abs_exp_loss"):
            bad = np.isfinite(costs) & (costs <= 0)
            if bad.any():
                j = int(np.flatnonzero(bad.any(axis=0))[0])
                raise DeffeError(f"loss {loss} needs positive costs, and '{self.cost_names[j]}' has "
                                 f"{float(costs[bad[:, j], j][0]):g}", file=self.file, where="model.loss",
                                 hint="use mse or huber")

    def _learned(self, data: TrainingData, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows the regressors learn from and their costs (NaN: not learned). The successful rows,
        and infeasible rows for the costs ``learn_infeasible`` names (by default those of the
        constraints: where the limit lies is learned from both sides of it; an objective is learned
        where designs run, a placement that does not fit being often faster than any that does).
        Failed and timed-out rows never: their costs, if any, are not measurements."""
        costs = np.asarray(data.costs, dtype=float)
        named = self._infeasible_costs()
        cols = np.array([c in named for c in self.cost_names], dtype=bool)
        infeasible = np.array([s == "infeasible" for s in data.status], dtype=bool)
        partial = np.where(cols, costs, np.nan)
        extra = infeasible & np.isfinite(partial).any(axis=1)
        learn = ok | extra
        return learn, np.where(extra[:, None], partial, costs)[learn]

    def _infeasible_costs(self) -> list[str]:
        """The costs ``learn_infeasible`` names (checked: a name that is no cost is an error)."""
        which = self.opts.get("learn_infeasible")
        if which is None:
            which = [c.cost for c in getattr(self.framework.config, "constraints", [])]
        elif which is True:
            which = list(self.cost_names)
        elif which is False:
            which = []
        elif isinstance(which, str):
            which = [which]
        if not isinstance(which, list) or not all(isinstance(c, str) for c in which):
            raise DeffeError(f"learn_infeasible is true, false, a cost or a list of costs, not {which!r}",
                             file=self.file, where="model.learn_infeasible",
                             hint=f"costs: {', '.join(self.cost_names)}")
        unknown = [c for c in which if c not in self.cost_names]
        if unknown:
            raise DeffeError(f"learn_infeasible names '{unknown[0]}', which is not a cost", file=self.file,
                             where="model.learn_infeasible", hint=f"costs: {', '.join(self.cost_names)}")
        return list(which)

    def _training_views(self, data: TrainingData, learn: np.ndarray, X: np.ndarray) -> np.ndarray:
        """The features the regressors learn from: (n, d), or (views, n, d) with ``relabellings`` and an
        exchangeable family, for the plugins that learn from several views (``views = True``)."""
        r = int(self.opts.get("relabellings") or 0)
        if not (getattr(self, "views", False) and r > 0 and self.encoding.exchangeable):
            return X[learn]
        rng = np.random.default_rng(self.seed + 104729 * self.runs)
        codes = np.asarray(data.codes, dtype=float).reshape(len(data.status), -1)[learn]
        r = min(r, max(1, MAX_VIEW_FLOATS // max(1, X.size)))   # bounded memory on large data sets
        return self.encoding.relabelled(codes, r + 1, rng)

    def _offset(self, start: Targets, codes, learn: np.ndarray, costs: np.ndarray) -> np.ndarray:
        """Per cost, how far (in the scale the starting weights learned: log units for a log cost) the new samples
        lie from what those weights predict for them, when that is more than their scatter explains: the costs
        of a transfer to another network or kernel are of another size (starting ResNet-50's model on
        Inception-V3 placements, its own scale gave 5.0% MAPE from 50 points where reading the network on a
        scale fitted to the points gave 4.3%: bench/surrogate.py's transfer), while more samples of the problem
        the weights learned are predicted without a bias, and a scale fitted to them instead would squeeze the
        network's outputs into their range (fine-tuned on 15 points of the function it learned, 1.1% went to
        28% MAPE). So the weights keep their scale, shifted by the samples' mean residual where it is
        significant (beyond twice its standard error, from 3 samples on); 0 elsewhere."""
        shift = np.zeros(len(self.cost_names))
        if not self.fitted or int(np.count_nonzero(learn)) < 3:
            return shift
        with np.errstate(all="ignore"):
            pred = np.asarray(self.Predict(np.asarray(codes, dtype=float)[learn]).mean, dtype=float)
            r = start._scale(np.asarray(costs, dtype=float)) - start._scale(pred)
            for j in range(r.shape[1]):
                col = r[:, j][np.isfinite(r[:, j])]
                if col.size >= 3:
                    mean, err = float(col.mean()), float(col.std(ddof=1)) / np.sqrt(col.size)
                    if abs(mean) > 2 * err:
                        shift[j] = mean
        return shift

    def _start_scale(self) -> Targets | None:
        """The scale (targets) of the weights the coming training starts from; None: it starts afresh."""
        return None

    def _continues(self, samples: int) -> bool:
        """Whether this training goes on from the current model instead of starting anew (see torch)."""
        return False

    def _inputs(self, data: TrainingData) -> np.ndarray:
        """What the model learns from: the framework's features (checked against the encoding)."""
        X = np.asarray(data.features, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.encoding.n_features:
            raise DeffeError(f"the training features have {X.shape[-1] if X.ndim else 0} columns, the encoding "
                             f"gives {self.encoding.n_features}", where="model.plugin")
        return X

    def _encode(self, codes: np.ndarray) -> np.ndarray:
        return self.encoding.transform(codes)

    def _input_width(self) -> int:
        """Columns of what the model reads (`_inputs`, `_encode`): checked in a checkpoint's arrays."""
        return self.encoding.n_features

    def _spread(self, X: np.ndarray):
        return None

    def _member_count(self) -> int:
        return 1

    def _predict_context(self):
        import contextlib
        return contextlib.nullcontext()

    def _info(self) -> dict:
        return {}

    # subclasses
    def _fit(self, X: np.ndarray, Z: np.ndarray, monitor) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def _members(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _state(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _restore(self, state: State, meta: CheckpointMeta) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
