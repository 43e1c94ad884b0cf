"""A search algorithm as an exploration plugin: the driver's ask/tell in front of `Algorithm`.

``plugins/exploration/<name>.py`` is ``GetObject(framework) -> SearchExploration(framework, name)``.

    Initialize()   reads ``exploration.options``, picks the objective(s), takes the start
                   population from the sampling plugin, builds the algorithm (mistakes in
                   the options are reported here, before anything runs)
    Run()          the algorithm's next batch as a `Proposal` (the driver trims it to the
                   budget), or None when the algorithm is done
    Tell()         results -> values to minimise: each cost times its direction's sign
                   (``Cost.sign``); failed / timeout / infeasible points and missing costs
                   are +inf

Options understood here (besides the algorithm's own, see ``ALGORITHMS[name].OPTIONS``):
    objective   the cost a single-objective algorithm minimises (default: the first cost)
    objectives  the costs a multi-objective algorithm uses (default: every cost)
    seed        the algorithm's seed (default: derived from framework.seed and the exploration)
Random and exhaustive search take ``batch`` from the exploration's ``samples_per_step``
unless ``options.batch`` is given.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import DeffeError, did_you_mean
from ..protocols import Proposal, Result
from ..values import format_value
from . import ALGORITHMS
from .base import Algorithm, OptionError

ADAPTER_OPTIONS = ("objective", "objectives", "seed")


class SearchExploration:
    def __init__(self, framework: Any, algorithm: str):
        self.framework = framework
        self.algorithm_name = algorithm
        self.algorithm: Algorithm | None = None
        self.stopped: str | None = None
        self.columns: list[int] = []

    # ------------------------------------------------------------------ Initialize
    def Initialize(self) -> None:
        fw = self.framework
        cls = ALGORITHMS[self.algorithm_name]
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
        if cls.multi_objective:
            if objective is not None and objectives is None:
                objectives = [objective]
            chosen = names if objectives is None else self._cost_list(objectives, names, file)
        else:
            if objectives is not None:
                raise DeffeError(f"{self.algorithm_name} minimises one cost: use 'objective', not 'objectives'",
                                 file=file, where="exploration.options.objectives")
            chosen = [names[0] if objective is None else self._cost(objective, names, file, "objective")]
        self.columns = [names.index(c) for c in chosen]
        self.signs = np.array([fw.costs[i].sign for i in self.columns])
        self.objective_names = chosen
        if seed is None:
            seed = fw.seed_for(f"exploration:{self.algorithm_name}")
        elif isinstance(seed, bool) or not isinstance(seed, int):
            raise DeffeError(f"seed must be an integer, got {seed!r}", file=file, where="exploration.options.seed")
        settings = dict(options)
        if "batch" in cls.OPTIONS and "batch" not in settings and not cls.uses_initial:
            settings["batch"] = self._samples_per_step()
        initial = None
        if cls.uses_initial and fw.sampling is not None:
            count = self._initial_count(cls, settings)
            if count:
                initial = np.asarray(fw.sampling.Run(count), dtype=float).reshape(-1, len(fw.space))
        try:
            self.algorithm = cls(fw.space, m=len(self.columns), seed=seed, initial=initial, **settings)
        except OptionError as e:
            raise DeffeError(e.what, file=file, where=f"exploration.options.{e.name}", hint=e.hint) from None
        except ValueError as e:
            raise DeffeError(f"exploration '{fw.explore.name}': {e}", file=file, where="exploration.plugin") from None
        self.step = 0

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
                             where="exploration.options.objectives")
        return [self._cost(v, names, file, "objectives") for v in value]

    # ------------------------------------------------------------------ Run / Tell
    def Run(self) -> Proposal | None:
        algo = self.algorithm
        if self.stopped:
            return None
        codes = algo.ask()
        if not len(codes):
            why = algo.reason if algo.done else "waiting for values that never came (a batch cut short)"
            self.stopped = why
            self.framework.log.info(f"{algo.name}: {why}")
            return None
        return Proposal(codes, note=f"{algo.name} step {self.step}")

    def Tell(self, codes: np.ndarray, results: list[Result]) -> None:
        codes = np.atleast_2d(np.asarray(codes, dtype=float))
        self.step += 1
        told = [i for i, r in enumerate(results) if r.status != "skipped"]
        if not told:
            self.stopped = "no values came back (dry run, or steps before -step-start)"
            return
        names = self.framework.cost_names
        values = np.full((len(told), len(self.columns)), math.inf)
        for row, i in enumerate(told):
            r = results[i]
            if r.status == "ok":
                v = r.cost_vector(names)[self.columns] * self.signs
                values[row] = np.where(np.isfinite(v), v, math.inf)
        self.algorithm.tell(codes[told], values)

    def Finish(self) -> None:
        """Log what the search found (the driver writes the tables)."""
        algo, log = self.algorithm, self.framework.log
        if algo is None:
            return
        space = self.framework.space
        if algo.m == 1:
            best = algo.best
            if best is None:
                log.info(f"{algo.name}: no successful evaluation")
                return
            code, value = best
            point = ", ".join(f"{k}={format_value(v)}" for k, v in space.values(code).items())
            cost = self.objective_names[0]
            log.info(f"{algo.name}: best {cost} = {value * self.signs[0]:.6g} at {point}")
        else:
            codes, _ = algo.front
            log.info(f"{algo.name}: {len(codes)} non-dominated point(s) over "
                     f"{', '.join(self.objective_names)}")
