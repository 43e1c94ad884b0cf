"""The Driver's model: what it learns from, its training each step, its predictions stored beside the
evaluations, and the knob importance at the end of a run."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .config import Explore
from .errors import DeffeError
from .protocols import Proposal, TrainingData


class ModelSteps:
    def _predict_batch(self, model: Any, explore: Explore, codes: np.ndarray, step: int,
                       replay: bool = False) -> None:
        """What the model expects of the points about to be evaluated (deffe_prediction.csv): how good
        its guesses were can be read next to the true costs. ``replay`` (the synchronous steps, which a
        resumed run replays): the points a fresh run would evaluate now, those this run has not met yet,
        also when the store holds them (an earlier course's, or this course's before it was interrupted),
        so that the predictions are this course's model's, as a fresh run's."""
        keys = explore.space.keys(codes)
        if replay:
            new = [i for i, k in enumerate(keys) if k not in self.seen]
        else:
            stored = self.store.lookup(keys)
            new = [i for i, k in enumerate(keys) if k not in stored]
        if not new:
            return
        pred = self._call(model, "Predict", codes[new])
        self.predicted.update(keys[i] for i in new)
        self.store.add_predictions(explore.name, [keys[i] for i in new], explore.space.decode(codes[new]),
                                   pred.mean, pred.std, step)

    def _store_predictions(self, explore: Explore, proposal: Proposal, step: int) -> None:
        pcodes = np.atleast_2d(proposal.predicted)
        keys = explore.space.keys(pcodes)
        params = explore.space.decode(pcodes)
        self.predicted.update(keys)
        self.store.add_predictions(explore.name, keys, params, proposal.prediction.mean,
                                   proposal.prediction.std, step)


    def _analyse(self, explore: Explore, model: Any, several: bool) -> None:
        """Knob importance for every cost (lasso credit, and permutation importance on the model): the full
        tables to knob_importance.txt and plots, one line per cost to the terminal."""
        from .analysis import lasso_credit, permutation_importance
        data = self.training_data(explore, -1, everything=True)
        space = explore.space
        if len(space.varying()) == 0:
            return
        prefix = f"{explore.name}-" if several else ""
        tables, lines = [], []
        for j, cost in enumerate(self.fw.cost_names):
            ok = np.array([st == "ok" for st in data.status], dtype=bool) & np.isfinite(data.costs[:, j])
            if ok.sum() < 10 or np.ptp(data.costs[ok, j]) == 0:
                continue
            codes, y = data.codes[ok], data.costs[ok, j]
            try:
                credit = lasso_credit(space, codes, y, cost=cost, log_cost=bool((y > 0).all()), seed=self.fw.seed)
                credit.plot(self.run_dir / f"{prefix}knob_importance_lasso_{cost}.png")
                tables.append(credit.table(top=10))
                shown = credit
                if model is not None:
                    perm = permutation_importance(model, space, codes, y, cost=cost, column=j, seed=self.fw.seed)
                    perm.plot(self.run_dir / f"{prefix}knob_importance_permutation_{cost}.png")
                    tables.append(perm.table(top=10))
                    shown = perm
            except (ValueError, np.linalg.LinAlgError) as e:
                self.log.info(f"knob importance for {cost} skipped: {e}")
                continue
            except Exception as e:   # noqa: BLE001 - a failed analysis must not lose the run's other reports
                self.log.warning(f"warning: the knob importance for {cost} could not be computed "
                                 f"({type(e).__name__}: {e}); the run's other reports are written")
                continue
            lines.append(f"  {cost}: {_shares(shown.by_family(space))}")
        if not tables:
            return
        path = self.run_dir / f"{prefix}knob_importance.txt"
        path.write_text("\n\n".join(tables) + "\n")
        how = "the model's reliance on each knob" if model is not None else "the lasso credit of each knob"
        self.summaries.append(f"knobs that matter ({how}, as shares; details in {path.name}):\n" + "\n".join(lines))

    # ------------------------------------------------------------------ model
    def training_data(self, explore: Explore, step: int, everything: bool = False) -> TrainingData:
        """What the model learns from: the points this run's exploration has been told so far (so that
        a resumed run trains on what the first run had at the same step), plus pre-evaluated data;
        ``everything``: every sample of the exploration in the store (the end-of-run analysis)."""
        space, names = explore.space, self.fw.cost_names
        rows, costs, status = [], [], []
        seen: set[str] = set()
        guided: list[bool] = []   # per row: chosen by a search on the model (Proposal.guided)

        def add(row, cost_of, st, by_model=False):
            key = space.key(row)
            if key not in seen:
                seen.add(key)
                rows.append(row)
                costs.append([cost_of(c) for c in names])
                status.append(st)
                guided.append(by_model)

        if everything:
            for _st, s in self.store.explore_samples(explore.name):
                try:
                    add(space.code_row(s.params), lambda c: s.costs.get(c, math.nan), s.status)
                except DeffeError:
                    continue  # a point from before a change of the knob values
        else:
            history = self.fw.history
            for row, r, by_model in zip(history.codes, history.results, history.guided):
                if r.status != "skipped":
                    add(row, lambda c: r.costs.get(c, math.nan), r.status, by_model)
            if self.fw.preloaded and not getattr(self.args, "only_preloaded_data_exploration", False):
                pre = self.store.lookup(space.keys(np.array(self.fw.preloaded)))
                for row in self.fw.preloaded:
                    s = pre.get(space.key(row))
                    if s is not None:
                        add(row, lambda c: s.costs.get(c, math.nan), s.status)
        codes = np.array(rows, dtype=float).reshape(-1, len(space))
        data = TrainingData(codes, self.fw.encoding.transform(codes) if len(codes) else
                            np.empty((0, self.fw.encoding.n_features), dtype=np.float32),
                            np.array(costs, dtype=float).reshape(-1, len(names)), status, step)
        # how many of the last rows a search on the model chose, in order (none when pre-evaluated rows follow)
        data.guided_tail = len(guided) - max((i + 1 for i, g in enumerate(guided) if not g), default=0)
        return data

    def _trainer_for(self):
        from .training import ModelTrainer
        trainer = getattr(self, "_trainer", None)
        if trainer is None:
            trainer = self._trainer = ModelTrainer(self.fw, self.store, self.run_dir,
                                                   len(self.config.explores) > 1, self.dry_run)
        return trainer

    def _train(self, model: Any, explore: Explore, step: int, final: bool = False) -> dict | None:
        """Fit the model on everything evaluated, measure it on a hold-out, record (see training.py).
        ``final``: no step follows (the model a user keeps; a model may then choose its form again)."""
        data = self.training_data(explore, step)
        data.final = final
        return self._trainer_for().step(model, explore, step, data, call=self._call)

    def _spent(self, only_pre: bool) -> bool:
        """Whether the budget is spent after this step (or, with pre-evaluated data only, the data)."""
        fw = self.fw
        if fw.budget.exhausted():
            return True
        pool = getattr(fw.sampling, "pool", None)
        return bool(only_pre and pool is not None and fw.budget.used_samples >= len(pool))



def _shares(importance: Any, top: int = 5) -> str:
    """'micro_batches 52%, device 30%, ...': each knob's share of the total importance (negative = 0)."""
    ranking = [(name, max(0.0, score)) for name, score in importance.ranking()]
    # in units of the largest score: scores of costs near 1e300 would overflow their sum, and those of tiny
    # costs underflow; the shares do not depend on the unit
    largest = max((score for _n, score in ranking), default=0.0)
    if not largest > 0 or not math.isfinite(largest):
        return "no knob stands out"
    ranking = [(name, score / largest) for name, score in ranking]
    total = sum(score for _n, score in ranking)
    parts = [f"{name} {100 * score / total:.0f}%" for name, score in ranking[:top] if score > 0]
    return ", ".join(parts) + (", ..." if sum(1 for _n, s in ranking if s > 0) > top else "")

