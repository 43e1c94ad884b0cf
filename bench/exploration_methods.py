"""The methods of bench/exploration.py. Each takes a Problem, a seed and a budget of evaluations and
returns the step time of every evaluation in order (inf where the point does not fit) and its wall time.

Information every method gets: the design space (knobs and their levels), the objective step_time and
the constraint memory_use <= 1 (or, for a method that takes one number, the penalised step time of the
simulator's memory="penalty" rule, see exploration_problems.MEMORY_PENALTY).
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from exploration_problems import MEMORY_PENALTY, ROOT, Problem

from framework.search import make  # noqa: E402


def _finite(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


# ----------------------------------------------------------------------------- one rule for every method
class Designs:
    """What a method evaluated, one design at a time: a repeated proposal, or where the GPUs are exchangeable a
    renaming of a design evaluated (Problem.design_key), is answered from this cache and is not counted. Every
    method of the benchmark evaluates through one, so a budget counts distinct designs for all of them."""

    def __init__(self, p: Problem):
        self.p = p
        self.cache: dict[tuple, tuple[float, float, bool]] = {}   # design -> (raw step time, memory_use, fits)
        self.values: list[float] = []    # the step time of each distinct design in order, inf where it does not fit

    def __len__(self) -> int:
        return len(self.values)

    def evaluate(self, codes, limit: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(raw step time, memory_use, fits) of the rows of ``codes`` and how many rows were answered: new
        designs are evaluated in one batch, at most ``limit`` of them (the rows after the one that would
        exceed it are left unanswered: the rows answered are the first ones returned)."""
        codes = np.atleast_2d(np.asarray(codes)).astype(np.int64)
        keys = [self.p.design_key(c) for c in codes]
        new: dict[tuple, int] = {}
        n = len(codes)
        for i, k in enumerate(keys):
            if k not in self.cache and k not in new:
                if limit is not None and len(new) >= limit:
                    n = i
                    break
                new[k] = i
        if new:
            raw, mem, ok = self.p.evaluate(codes[list(new.values())])
            for j, k in enumerate(new):
                self.cache[k] = (float(raw[j]), float(mem[j]), bool(ok[j]))
                self.values.append(float(raw[j]) if ok[j] else math.inf)
        out = np.array([self.cache[k] for k in keys[:n]], dtype=float).reshape(-1, 3)
        return out[:, 0], out[:, 1], out[:, 2].astype(bool), n

    def feasible(self, codes) -> np.ndarray:
        raw, _, ok, _ = self.evaluate(codes)
        return np.where(ok, raw, math.inf)

    def result(self) -> np.ndarray:
        return np.array(self.values, dtype=float)


def penalised(raw: np.ndarray, mem: np.ndarray) -> np.ndarray:
    """The one number for methods that need one (Problem.penalised): the simulator's memory="penalty" rule."""
    return raw * (1.0 + MEMORY_PENALTY * np.maximum(0.0, mem - 1.0))


# ----------------------------------------------------------------------------- ours, on the simulator
def run_random(p: Problem, seed: int, budget: int) -> np.ndarray:
    """Uniform random designs until ``budget`` distinct ones are evaluated (a repeat or renaming is drawn again)."""
    rng = np.random.default_rng(seed)
    d = Designs(p)
    draws = 0
    while len(d) < budget and draws < 20 * budget:
        codes = p.random_codes(rng, budget - len(d))
        draws += len(codes)
        d.evaluate(codes)
    return d.result()


def run_search(p: Problem, seed: int, budget: int, name: str, **options) -> np.ndarray:
    """One of framework.search's algorithms on the penalised step time, ask/tell as framework.search.minimize
    does, but through Designs: ``budget`` distinct designs. Returns their feasible step times in order."""
    algo = make(name, p.space, m=1, seed=seed, **options)
    d = Designs(p)
    asked = 0
    while len(d) < budget and asked < 20 * budget:
        codes = algo.ask()
        if not len(codes):
            if algo.done:
                break
            raise RuntimeError(f"{name} is waiting for values it was never told")
        asked += len(codes)
        raw, mem, _, n = d.evaluate(codes, limit=budget - len(d))
        algo.tell(codes[:n], penalised(raw, mem)[:, None])
    return d.result()


def run_annealing(p: Problem, seed: int, budget: int) -> np.ndarray:
    return run_search(p, seed, budget, "annealing", k=8, steps=max(1, budget // 8))


def run_genetic(p: Problem, seed: int, budget: int) -> np.ndarray:
    return run_search(p, seed, budget, "genetic", population=40)


# ----------------------------------------------------------------------------- Optuna
def _optuna():
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    return optuna


def optuna_sampler(name: str, seed: int):
    optuna = _optuna()
    if name == "tpe":
        # the multivariate TPE with group decomposition (Optuna's recommendation for dependent
        # parameters), defaults otherwise (n_startup_trials=10, n_ei_candidates=24); constraints are
        # read from trial.set_constraint (c-TPE, Optuna >= 5: constraints_func is deprecated)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
    if name == "gp":
        # defaults; the simulator is deterministic, which the docs say to declare
        return optuna.samplers.GPSampler(seed=seed, deterministic_objective=True)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)   # defaults: population 50, uniform crossover
    raise ValueError(name)


def run_optuna(p: Problem, seed: int, budget: int, sampler: str) -> np.ndarray:
    """Ask/tell with an Optuna sampler. Device knobs are categorical, training settings integers over
    their (ordered) levels. Every trial returns the simulated step time and sets the constraint
    memory_use - 1 <= 0, Optuna's documented way. A point asked again, or a renaming of one evaluated
    where the GPUs are exchangeable (Problem.design_key), is answered from a cache and not counted (Designs): the
    budget is of distinct designs, as for every method."""
    optuna = _optuna()
    study = optuna.create_study(direction="minimize", sampler=optuna_sampler(sampler, seed))
    g = p.spec.groups
    d = Designs(p)
    trials = 0
    while len(d) < budget and trials < 5 * budget:
        trial = study.ask()
        trials += 1
        code = [p.levels[i].index(trial.suggest_categorical(n, p.levels[i])) for i, n in enumerate(p.knob_names[:g])]
        code += [trial.suggest_int(n, 0, len(p.levels[g + j]) - 1) for j, n in enumerate(p.knob_names[g:])]
        r, m, o, _ = d.evaluate(np.array([code]))
        raw, mem, ok = float(r[0]), float(m[0]), bool(o[0])
        trial.set_constraint("memory_use", mem - 1.0 if ok or mem > 1 else 1.0)
        study.tell(trial, raw if math.isfinite(raw) else None,
                   state=None if math.isfinite(raw) else optuna.trial.TrialState.FAIL)
    return d.result()


# ----------------------------------------------------------------------------- the surrogate
def surrogate_config(p: Problem, seed: int, budget: int, oracle: bool = False,
                     exploration: dict | None = None) -> dict:
    """The surrogate exploration's config; with oracle, its model is the simulator itself
    (bench/reference/simulator_as_model.py): what the search does with a perfect model; ``exploration``:
    options of the exploration section to set (bench/feasibility.py)."""
    config = p.deffe_config(seed, budget)
    config["exploration"].update(exploration or {})
    if oracle:
        config["python_path"] = [str(ROOT / "bench" / "reference")]
        config["model"] = {"plugin": "simulator_as_model", "options": {"problem": p.name}}
    return config


def run_surrogate(p: Problem, seed: int, budget: int, workdir: Path, oracle: bool = False,
                  exploration: dict | None = None) -> np.ndarray:
    """The surrogate exploration through run_deffe.py (see surrogate_config): the step time of each evaluation
    in order, inf where the placement did not run (over its memory cap, or failed)."""
    d = workdir / f"{p.name}-{'oracle' if oracle else 'surrogate'}-{seed}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(surrogate_config(p, seed, budget, oracle, exploration), indent=2))
    env = dict(os.environ)
    env.update(_SURROGATE_ENV)
    proc = subprocess.run([sys.executable, str(ROOT / "framework" / "run_deffe.py"), "-config", "config.json",
                           "-quiet", "-fresh"], cwd=d, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"surrogate run failed:\n{proc.stderr[-3000:]}")
    db = sqlite3.connect(d / "run" / "deffe.db")
    rows = db.execute("SELECT s.status, json_extract(s.costs, '$.step_time') FROM membership m "
                      "JOIN samples s ON s.id = m.sample ORDER BY m.seq").fetchall()
    db.close()
    return np.array([float(v) if st == "ok" and v is not None else math.inf for st, v in rows])


_SURROGATE_ENV: dict[str, str] = {}   # the environment the benchmark started with (exploration.py fills it)

METHODS = {
    "surrogate": None,   # needs a work directory: see exploration.py
    "tpe": lambda p, s, b: run_optuna(p, s, b, "tpe"),
    "gp": lambda p, s, b: run_optuna(p, s, b, "gp"),
    "nsga2": lambda p, s, b: run_optuna(p, s, b, "nsga2"),
    "random": run_random,
    "annealing": run_annealing,
    "genetic": run_genetic,
}
OPTUNA = ("tpe", "gp", "nsga2")


def timed(fn, *args) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    v = fn(*args)
    return _finite(v), time.perf_counter() - t0
