"""A search algorithm as an exploration plugin: the driver's ask/tell in front of `Algorithm`.

``plugins/exploration/<name>.py`` is ``GetObject(framework) -> SearchExploration(framework, name)``.

    Initialize()   reads ``exploration.options``, picks the objective(s), takes the start
                   population from the sampling plugin, builds the algorithm (mistakes in
                   the options are reported here, before anything runs)
    Run()          the algorithm's next batch as a `Proposal` (the driver trims it to the
                   budget), or None when the algorithm is done
    Tell()         results -> values to minimise: each cost times its direction's sign
                   (``Cost.sign``); failed / timeout / infeasible points, points that break
                   one of the config's ``constraints`` and missing costs are +inf (with how
                   much a point breaks the constraints, for nsga2's constrained domination)

Options understood here (besides the algorithm's own, see ``ALGORITHMS[name].OPTIONS``):
    objective   the cost a single-objective algorithm minimises (default: the first of
                exploration.objectives, else the first cost)
    objectives  the costs a multi-objective algorithm uses (default: exploration.objectives,
                else every cost); either must be among exploration.objectives when both are given
    seed        the algorithm's seed (default: derived from framework.seed and the exploration)
Random and exhaustive search take ``batch`` from the exploration's ``samples_per_step``
unless ``options.batch`` is given.

Scenarios (``scenarios.py``) are conditions, not choices: with scenarios, one search of the design knobs
runs per scenario combination (its own seed, start points and population), each step asks every search
still going, and each is told the results of its own scenario only. A step's proposal takes the searches'
batches round-robin, so a budget that cuts it shares the points evenly between the combinations. So every problem size gets its own
best designs, as with the surrogate exploration; a search does not drift to the scenario whose costs
happen to be smallest.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..config import violations
from ..errors import DeffeError, did_you_mean
from ..protocols import Proposal, Result
from ..scenarios import ScenarioSet
from ..space import DesignSpace
from ..values import format_value, parse_names
from . import ALGORITHMS
from .base import Algorithm, OptionError

ADAPTER_OPTIONS = ("objective", "objectives", "seed")


class SearchExploration:
    def __init__(self, framework: Any, algorithm: str, label: str | None = None):
        self.framework = framework
        self.algorithm_name = algorithm
        self.label = label or algorithm   # the plugin's name, as the config names it (errors and log)
        self.algorithm: Algorithm | None = None
        self.stopped: str | None = None
        self.columns: list[int] = []

    # ------------------------------------------------------------------ Initialize
    def Initialize(self) -> None:
        fw = self.framework
        cls = ALGORITHMS[self.algorithm_name]
        if cls.name != self.label:        # "random has no such option" named no plugin of the config
            cls = type(cls.__name__, (cls,), {"name": self.label})
        section = fw.section("exploration")
        file = fw.config.data.get("__origin__")
        raw = section.get("options") or {}
        if not isinstance(raw, dict):
            raise DeffeError("exploration.options must be an object", file=file, where="exploration.options")
        options = dict(raw)
        names = fw.cost_names
        if not names:
            raise DeffeError(f"the {self.algorithm_name} exploration needs at least one cost", file=file,
                             where="costs")
        objective = options.pop("objective", None)
        objectives = options.pop("objectives", None)
        seed = options.pop("seed", None)
        # the exploration's objectives (what the summary and tables rank by) are the search's default
        ranked = parse_names(section.get("objectives"), "exploration.objectives")
        if cls.multi_objective:
            if objective is not None and objectives is None:
                chosen = [self._cost(objective, names, file, "objective")]
                key = "objective"
            else:
                chosen = (ranked or names) if objectives is None else self._cost_list(objectives, names, file)
                key = "objectives"
        else:
            if objectives is not None:
                raise DeffeError(f"{self.algorithm_name} minimises one cost: use 'objective', not 'objectives'",
                                 file=file, where="exploration.options.objectives")
            chosen = [(ranked or names)[0] if objective is None else self._cost(objective, names, file, "objective")]
            key = "objective"
        if ranked and (objective is not None or objectives is not None):
            other = [c for c in chosen if c not in ranked]
            if other:
                raise DeffeError(f"the search would optimise {', '.join(other)}, which exploration.objectives "
                                 f"({', '.join(ranked)}) does not rank by", file=file,
                                 where=f"exploration.options.{key}",
                                 hint="name the same costs in both places, or leave this option out (the search "
                                      "then takes exploration.objectives)")
        self.columns = [names.index(c) for c in chosen]
        self.constraints = list(fw.config.constraints)
        self.constraint_columns = [names.index(c.cost) for c in self.constraints]
        self.signs = np.array([fw.costs[i].sign for i in self.columns])
        self.objective_names = chosen
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise DeffeError(f"seed must be an integer, got {seed!r}", file=file, where="exploration.options.seed")
        # the search's seed option stands in for framework.seed in its stream: written out as framework.seed
        # it gives what leaving it out does
        seed = fw.seed_for(f"exploration:{self.algorithm_name}", seed=seed)
        settings = dict(options)
        if "batch" in cls.OPTIONS and "batch" not in settings and not cls.uses_initial:
            settings["batch"] = self._samples_per_step()
        self.scen = ScenarioSet.of(fw.space, fw.rng("scenarios"))
        # one search per scenario combination, over the design knobs only (see the module's docstring)
        space = DesignSpace([fw.space.knobs[j] for j in self.scen.design_columns]) if self.scen.active \
            else fw.space
        self.searches: list[Algorithm] = []
        for s in range(len(self.scen)):
            initial = None
            if cls.uses_initial and fw.sampling is not None:
                count = self._initial_count(cls, settings)
                room = self._room(None)
                if count and room:
                    count = min(count, room)
                if count:
                    initial = np.asarray(fw.sampling.Run(count), dtype=float).reshape(-1, len(fw.space))
                    initial = initial[:, self.scen.design_columns] if self.scen.active else initial
            try:
                self.searches.append(cls(space, m=len(self.columns), seed=seed + s, initial=initial, **settings))
            except OptionError as e:
                raise DeffeError(e.what, file=file, where=f"exploration.options.{e.name}", hint=e.hint) from None
            except ValueError as e:
                raise DeffeError(f"exploration '{fw.explore.name}': {e}", file=file,
                                 where="exploration.plugin") from None
        self.algorithm = self.searches[0]
        self.custom = self._custom_budget(file)
        self.finished: str | None = None   # how the search ended, where the driver's "finished" would hide it
        self.halted: list[str | None] = [None] * len(self.searches)   # why each search stopped
        self.pending = False   # points in flight (asynchronous exploration, see Pending)
        self.step = 0

    def _custom_budget(self, file: str | None) -> int | None:
        """Deffe's custom_samples (cumulative counts per step): a search's steps are its algorithm's, so it takes
        the last count as its budget, as the sampling exploration ends there (the driver's max_samples, when
        smaller, ends it first). Ignored, it let a search evaluate the whole space."""
        fw = self.framework
        flag = getattr(fw.args, "custom_samples", None)
        counts = flag or fw.explore.settings.get("custom_samples")
        if not counts:
            return None
        where = "-custom-samples" if flag else f"{file}:exploration.custom_samples"
        fw.log.warning(f"warning: {where}: the '{self.algorithm_name}' exploration takes the last count "
                       f"({counts[-1]}) as its budget (max_samples, when smaller, ends it first); a search does "
                       "not follow the per-step counts")
        return int(counts[-1])

    def _left(self) -> int | None:
        """Points custom_samples' budget still allows (None: no such budget). The driver counts the budget's
        samples (distinct points, evaluated or found in the store) before it asks again."""
        return None if self.custom is None else max(0, self.custom - self.framework.budget.used_samples)

    def _room(self, left: int | None) -> int | None:
        """Evaluations the run may still make: max_samples and custom_samples' budget (None: no such bound)."""
        remaining = self.framework.budget.remaining_samples()
        bounds = [int(b) for b in (remaining, left) if b is not None and math.isfinite(b)]
        return min(bounds) if bounds else None

    def _uncovered(self, why: str) -> str | None:
        """How a search that ended by itself left a finite space, when it did not evaluate all of it: "the
        exploration finished" read as the whole space evaluated (a search ends when it finds no new point)."""
        fw = self.framework
        if not fw.space.finite or getattr(fw.args, "only_preloaded_data_exploration", False) or \
                not all(a.done for a in self.searches):
            return None
        used = fw.budget.used_samples
        if used >= fw.space.size:
            return None
        return (f"{why}, with {used:,} of the space's {fw.space.size:,} points evaluated (a search stops when it "
                "finds no new point, whatever its budget: the exhaustive exploration evaluates every point)")

    def _samples_per_step(self) -> int:
        fw = self.framework
        return getattr(fw.args, "samples_per_step", None) or fw.explore.settings.get("samples_per_step") or 20

    def _initial_count(self, cls: type[Algorithm], settings: dict) -> int | None:
        """How many start points to take from the sampling plugin: options.initial_size, else the
        exploration's initial_samples, else the algorithm's default (a population's size).
        None when the option is malformed (the algorithm then reports it)."""
        count = settings.get("initial_size")
        if count is None:
            count = self.framework.explore.settings.get("initial_samples")
        if count is None:
            count = cls.OPTIONS["initial_size"].default
        if count is None and "population" in cls.OPTIONS:
            count = settings.get("population", cls.OPTIONS["population"].default)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            return None
        return count

    @staticmethod
    def _cost(name: Any, names: list[str], file: str | None, key: str) -> str:
        if name not in names:
            raise DeffeError(f"'{name}' is not a cost of this config", file=file, where=f"exploration.options.{key}",
                             hint=did_you_mean(str(name), names) or f"costs: {', '.join(names)}")
        return name

    def _cost_list(self, value: Any, names: list[str], file: str | None) -> list[str]:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not value:
            raise DeffeError("objectives must be a list of cost names", file=file,
                             where="exploration.options.objectives",
                             hint=f"name one or more of {', '.join(names)}, or leave the option out (the search "
                                  "then takes exploration.objectives, else every cost)")
        for i, v in enumerate(value):
            if v in value[:i]:   # run as two objectives, the front would weigh one cost twice
                raise DeffeError(f"objective '{v}' is listed twice", file=file, where="exploration.options.objectives",
                                 hint="list each cost once")
        return [self._cost(v, names, file, "objectives") for v in value]

    # ------------------------------------------------------------------ Run / Tell
    def Run(self) -> Proposal | None:
        if self.stopped:
            return None
        left = self._left()
        if left == 0:
            self.stopped = self.finished = f"custom_samples' last count of {self.custom} samples reached"
            return None
        batches, waiting = [], False
        room = self._room(left)
        for s, algo in enumerate(self.searches):
            if self.halted[s]:
                continue
            algo.budget_left = room     # a step draws no more than the budget can evaluate (`Algorithm.room`)
            codes = algo.ask()
            if not len(codes) and not algo.done and self.pending:
                waiting = True   # asynchronous: its next step needs the values of points still in flight
                continue
            if not len(codes):
                why = algo.reason if algo.done else "waiting for values that never came (a batch cut short)"
                self.halted[s] = why
                where = f" ({self.scen.label(s)})" if self.scen.active else ""
                self.framework.log.info(f"{algo.name}{where}: {why}")
                continue
            batches.append(self._full(codes, s))
        if not batches and waiting:
            return Proposal(np.empty((0, len(self.framework.space))), note="waiting for results in flight")
        if not batches:
            self.stopped = self.halted[0] if len(self.searches) == 1 else \
                f"{self.algorithm.name}: every scenario's search stopped"
            self.finished = self._uncovered(self.stopped)
            return None
        codes = self._interleave(batches)
        return Proposal(codes if left is None else codes[:left], note=f"{self.algorithm.name} step {self.step}")

    @staticmethod
    def _interleave(batches: list[np.ndarray]) -> np.ndarray:
        """The scenario searches' batches taken round-robin (a point of each in turn): the driver cuts a
        proposal to the budget from its start, so each scenario gets its share, to within one point (one
        batch after another gave everything to the first scenario under a small budget)."""
        if len(batches) == 1:
            return batches[0]
        rows = [b[i] for i in range(max(len(b) for b in batches)) for b in batches if i < len(b)]
        return np.array(rows, dtype=float)

    def Pending(self, codes: np.ndarray) -> None:
        """Asynchronous exploration: the points still being evaluated. A generation (or a batch of moves)
        whose values are not all in makes the search wait, which is not the end of the search."""
        self.pending = len(np.atleast_2d(codes)) > 0 and np.size(codes) > 0

    def _full(self, codes: np.ndarray, s: int) -> np.ndarray:
        """A scenario search's points (design knobs) as points of the whole space, in scenario s."""
        if not self.scen.active:
            return codes
        full = np.zeros((len(codes), len(self.framework.space)))
        full[:, self.scen.design_columns] = codes
        return self.scen.fix(full, s)

    def Tell(self, codes: np.ndarray, results: list[Result]) -> None:
        codes = np.atleast_2d(np.asarray(codes, dtype=float))
        self.step += 1
        told = [i for i, r in enumerate(results) if r.status != "skipped"]
        left_out = [i for i, r in enumerate(results) if r.status == "skipped"]
        if left_out and self._replays():
            self._ask_again(codes[left_out])
        elif not told:
            self.stopped = "no values came back (dry run, or steps before -step-start)"
            return
        if not told:
            return
        names = self.framework.cost_names
        values = np.full((len(told), len(self.columns)), math.inf)
        violation = np.full(len(told), math.inf)
        for row, i in enumerate(told):
            r = results[i]
            if r.status == "ok":
                raw = r.cost_vector(names)
                violation[row] = self._violation(raw)
                if violation[row] == 0:
                    v = raw[self.columns] * self.signs
                    values[row] = np.where(np.isfinite(v), v, math.inf)
        codes = codes[told]
        where = self.scen.index(codes)
        for s, algo in enumerate(self.searches):
            mine = where == s
            if mine.any():
                part = codes[mine][:, self.scen.design_columns] if self.scen.active else codes[mine]
                algo.tell(part, values[mine], violation[mine])

    def _replays(self) -> bool:
        """-step-start S (evaluating): the points of the steps before S that are not stored were left out;
        the search asks them again, so they are evaluated from step S on. Without this a search waited for
        them for ever: a fresh run directory evaluated nothing and said the exploration had finished. (With
        the pre-evaluated data only, a point outside the data is never evaluated: nothing to ask again.)"""
        args = self.framework.args
        return bool(getattr(args, "step_start", None)) and \
            not getattr(args, "only_preloaded_data_exploration", False)

    def _ask_again(self, codes: np.ndarray) -> None:
        where = self.scen.index(codes)
        for s, algo in enumerate(self.searches):
            mine = where == s
            if mine.any():
                algo.ask_again(codes[mine][:, self.scen.design_columns] if self.scen.active else codes[mine])

    def _violation(self, raw: np.ndarray) -> float:
        """By how much a design's costs miss the config's constraints (`framework.config.violations`: 0 when
        all hold). A design that misses one is told to the search as a failed one (+inf), with this amount."""
        return float(violations(self.constraints, self.constraint_columns, raw)[0])

    def Report(self) -> dict:
        """The scenario combinations served (the exploration table gives a front per combination), and how the
        search ended where "the exploration finished" would not say it (the driver's summary takes it)."""
        out = {"finished": self.finished} if self.finished else {}
        if self.scen.active:
            out.update(scenario_codes=self.scen.combos.tolist(), scenario_representative=self.scen.representative)
        return out

    def Finish(self) -> None:
        """Log what the search found (the driver writes the tables)."""
        log = self.framework.log
        if self.algorithm is None:
            return
        for s, algo in enumerate(self.searches):
            self._log_found(algo, log, f" ({self.scen.label(s)})" if self.scen.active else "", s)

    def _log_found(self, algo: Algorithm, log: Any, where: str, s: int) -> None:
        if algo.m == 1:
            best = algo.best
            if best is None:
                log.info(f"{algo.name}{where}: " + ("no evaluated design meets the constraints" if self.constraints
                                                     else "no successful evaluation"))
                return
            code, value = best
            full = self._full(np.atleast_2d(code), s)[0]
            point = ", ".join(f"{k}={format_value(v)}" for k, v in self.framework.space.values(full).items())
            cost = self.objective_names[0]
            log.info(f"{algo.name}{where}: best {cost} = {value * self.signs[0]:.6g} at {point}")
        else:
            codes, _ = algo.front
            log.info(f"{algo.name}{where}: {len(codes)} non-dominated point(s) over "
                     f"{', '.join(self.objective_names)}" + (" meeting the constraints" if self.constraints else ""))
