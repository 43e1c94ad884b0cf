"""What every search algorithm shares: ask/tell on codes, a cache of values, `minimize`.

An algorithm is built with a `DesignSpace`, the number of objectives ``m``, a
seed and its own settings. It never knows what evaluates its points: ``ask``
gives codes, ``tell`` takes their values, an (n, m) array to MINIMISE, where NaN
or +inf marks a failed or infeasible point. The same object therefore searches
the real evaluator (through an exploration plugin and the driver's ask/tell) or
a surrogate (through `minimize` with a model's predictions as the objective).

Revisits. Every value told is cached by point. When a step of an algorithm
contains a point whose value is known (annealing stepping back to a state it
has seen, a child equal to its parent, a neighbour shared by two climbs), the
value comes from the cache and the point is not asked again: the objectives
searched here (the simulator, a trained model) are deterministic, so a second
evaluation would spend budget and teach nothing. A point asked but not yet told
is not asked twice either: a later step that proposes it waits for its value.
An algorithm therefore never revisits a point *through the objective*; it may
revisit states freely in its own logic. (A noisy objective would want repeated
measurements; none of these algorithms averages repeats.)

Writing an algorithm: subclass `Algorithm`, declare ``OPTIONS`` and implement
``propose(n)`` (the candidates of the next step, known points included, or None
when finished) and ``update(codes, values)`` (called once every value of a
proposed batch is known, in proposal order). The base class turns proposals
into asks, serves known values from the cache and tracks the best point and the
archive of everything told.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import did_you_mean
from ..space import DesignSpace


# ----------------------------------------------------------------------------- options
@dataclass(frozen=True)
class Option:
    """One setting of an algorithm: its type, default and meaning (the schema of ``options``)."""

    type: str                     # int | float | str | bool | names
    default: Any
    doc: str
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    nullable: bool = False        # None is allowed (and means what the doc says)


STEP_MAX = 100_000   # the most points an option may ask one step to draw (batch, k, population, ...)


class OptionError(ValueError):
    """A setting of an algorithm is unknown or has a wrong value; ``name`` is the setting."""

    def __init__(self, name: str, what: str, hint: str | None = None):
        self.name = name
        self.what = what
        self.hint = hint
        super().__init__(f"option '{name}': {what}" + (f"; {hint}" if hint else ""))


def resolve_options(spec: Mapping[str, Option], given: Mapping[str, Any], owner: str) -> SimpleNamespace:
    """The settings of ``owner``: defaults from ``spec`` overridden by ``given``, each checked."""
    unknown = [k for k in given if k not in spec]
    if unknown:
        name = unknown[0]
        hint = did_you_mean(name, spec) or f"{owner} knows: {', '.join(sorted(spec))}"
        raise OptionError(name, f"{owner} has no such option", hint)
    out = {}
    for name, opt in spec.items():
        value = given.get(name, opt.default)
        out[name] = _check_option(name, opt, value)
    return SimpleNamespace(**out)


def _check_option(name: str, opt: Option, value: Any) -> Any:
    if value is None:
        if opt.nullable or opt.default is None:
            return None
        raise OptionError(name, "must not be null")
    if opt.type == "int":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise OptionError(name, f"expected an integer, got {value!r}")
        value = int(value)
    elif opt.type == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise OptionError(name, f"expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise OptionError(name, f"expected a finite number, got {value!r}")
    elif opt.type == "bool":
        if not isinstance(value, bool):
            raise OptionError(name, f"expected true or false, got {value!r}")
    elif opt.type == "str":
        if not isinstance(value, str):
            raise OptionError(name, f"expected text, got {value!r}")
    elif opt.type == "names":
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise OptionError(name, f"expected a list of names, got {value!r}")
        value = list(value)
    if opt.choices:
        items = value if isinstance(value, list) else [value]
        for v in items:
            if v not in opt.choices:
                raise OptionError(name, f"{v!r} is not one of {', '.join(map(str, opt.choices))}",
                                  did_you_mean(str(v), map(str, opt.choices)))
    if opt.min is not None and value < opt.min:
        raise OptionError(name, f"must be at least {opt.min:g}, got {value}")
    if opt.max is not None and value > opt.max:
        if opt.type == "int":
            raise OptionError(name, f"must be at most {int(opt.max):,}, got {value:,}",
                              "give a smaller number: a step draws no more than the evaluation budget "
                              "(max_samples) has left" if opt.max == STEP_MAX else None)
        raise OptionError(name, f"must be at most {opt.max:g}, got {value}")
    return value


# ----------------------------------------------------------------------------- helpers
def row_keys(codes: np.ndarray) -> list[bytes]:
    """Identity of each code row within one space (fast; ``+ 0.0`` folds -0.0 into 0.0)."""
    c = np.ascontiguousarray(np.atleast_2d(codes), dtype=np.float64) + 0.0
    return [r.tobytes() for r in c]


def clean_values(values: Any, n: int, m: int) -> np.ndarray:
    """Values as an (n, m) float array with NaN turned into +inf (failed = worst)."""
    v = np.asarray(values, dtype=float)
    if v.ndim == 1 and m == 1 and v.shape[0] == n:
        v = v[:, None]
    if v.shape != (n, m):
        raise ValueError(f"expected values of shape ({n}, {m}), got {v.shape}")
    v = v.copy()
    v[np.isnan(v)] = math.inf
    return v


@dataclass
class _Batch:
    """One proposed step: its candidates and their values as they become known."""

    codes: np.ndarray
    values: np.ndarray
    missing: int


# ----------------------------------------------------------------------------- the base
class Algorithm:
    """Base of the search algorithms (see the module text for the contract)."""

    name = "algorithm"
    multi_objective = False       # True: any m; False: m must be 1
    independent = False           # True: proposals do not depend on values (several batches may be open)
    uses_initial = False          # True: starts from a population (``initial`` or ``initial_size`` points)
    OPTIONS: dict[str, Option] = {}
    MAX_IDLE = 200                # steps in a row without a new point before the search gives up

    def __init__(self, space: DesignSpace, m: int = 1, seed: int | None = 0,
                 initial: np.ndarray | None = None, **settings: Any):
        if int(m) < 1:
            raise ValueError(f"{self.name}: the number of objectives must be at least 1, got {m}")
        if not self.multi_objective and int(m) != 1:
            raise ValueError(f"{self.name} minimises one objective, got {m}; choose one objective "
                             "(or use nsga2 for several)")
        self.space = space
        self.m = int(m)
        self.k = len(space)
        self.o = resolve_options(self.OPTIONS, settings, self.name)
        self.rng = np.random.default_rng(seed)
        self.initial = None if initial is None else self._check_codes(initial, "initial points")
        self.cache: dict[bytes, np.ndarray] = {}
        self.violations: dict[bytes, float] = {}   # points that broke a constraint: by how much (see tell)
        self.done = False
        self.reason: str | None = None
        self.budget_left: int | None = None  # evaluations the run may still make (set by its driver; None: unknown)
        self.steps = 0                       # completed steps (batches whose values are all known)
        self._queue: deque[tuple[bytes, np.ndarray]] = deque()
        self._waiting: dict[bytes, list[tuple[_Batch, int]]] = {}
        self._open: list[_Batch] = []
        self._told_codes: list[np.ndarray] = []
        self._told_values: list[np.ndarray] = []
        self._stacked: tuple[np.ndarray, np.ndarray] | None = None
        self._best_code: np.ndarray | None = None
        self._best_value: np.ndarray | None = None
        self.setup()

    # ------------------------------------------------------------------ to implement
    def setup(self) -> None:
        """Prepare the search (called at the end of the constructor)."""

    def propose(self, n: int | None) -> np.ndarray | None:
        """Candidates of the next step (known points included), or None when finished.

        ``n`` is a hint for algorithms without a natural batch (random, exhaustive).
        """
        raise NotImplementedError

    def update(self, codes: np.ndarray, values: np.ndarray) -> None:
        """Every value of a proposed batch is known: take the step."""

    def observe(self, codes: np.ndarray, values: np.ndarray) -> None:
        """Points told that no step asked for (e.g. evaluated elsewhere). Default: cached only."""

    # ------------------------------------------------------------------ ask / tell
    def ask(self, n: int | None = None) -> np.ndarray:
        """Codes to evaluate next: the natural batch when ``n`` is None, else at most ``n``.

        Fewer (possibly none) come back when the next step needs values not told yet,
        or when the search is done (see ``done`` and ``reason``).
        """
        if n is not None and n < 0:
            raise ValueError(f"ask(n) needs n >= 0, got {n}")
        out: list[np.ndarray] = []
        idle = 0
        while not self.done:
            room = math.inf if n is None else n - len(out)
            if room <= 0:
                break
            if self._queue:
                while self._queue and len(out) < room:
                    key, row = self._queue.popleft()
                    if key not in self.cache:      # told in the meantime: nothing to ask
                        out.append(row)
                if n is None and out:
                    break
                continue
            if self._open and not self.independent:
                break                              # the next step depends on values not told yet
            cands = self.propose(None if n is None else int(room))
            if cands is None:
                self._finish(self.reason or "finished")
                break
            if self._open_batch(cands):
                idle = 0
            else:
                idle += 1
                if idle >= self.MAX_IDLE:
                    self._finish(f"no new point in {self.MAX_IDLE} steps in a row")
        return np.array(out, dtype=float).reshape(-1, self.k)

    def tell(self, codes: np.ndarray, values: np.ndarray, violation: np.ndarray | None = None) -> None:
        """Values (n, m) of codes (n, k), to minimise; NaN / +inf: failed or infeasible.

        ``violation`` (n,), optional: by how much each point breaks the constraints (0: meets them;
        +inf: unknown, as for a failed point). A point with a positive violation should be told with
        +inf values (it is no candidate for the best); algorithms that can use the amount (nsga2's
        constrained domination) read it from ``violation_of``.
        """
        codes = self._check_codes(codes, "told codes")
        values = clean_values(values, len(codes), self.m)
        if not len(codes):
            return
        self._record(codes, values)
        completed: list[_Batch] = []
        foreign: list[int] = []
        for i, key in enumerate(row_keys(codes)):
            self.cache[key] = values[i]
            if violation is not None and violation[i] > 0:
                self.violations[key] = float(violation[i])
            waiting = self._waiting.pop(key, None)
            if waiting is None:
                foreign.append(i)
                continue
            for batch, j in waiting:
                batch.values[j] = values[i]
                batch.missing -= 1
                if batch.missing == 0:
                    completed.append(batch)
        for batch in completed:
            self._close(batch)
        if foreign:
            self.observe(codes[foreign], values[foreign])

    def ask_again(self, codes: np.ndarray) -> None:
        """Points asked but never told (their evaluation was left out: a step before -step-start whose point
        is not stored) are asked again by the next ``ask``, first and in their order; their step still waits
        for them. Points told meanwhile, or not asked, are ignored."""
        codes = self._check_codes(codes, "codes asked again")
        queued = {key for key, _ in self._queue}
        for key, row in reversed(list(zip(row_keys(codes), codes))):
            if key in self._waiting and key not in self.cache and key not in queued:
                self._queue.appendleft((key, row.copy()))
                queued.add(key)

    # ------------------------------------------------------------------ results
    @property
    def best(self) -> tuple[np.ndarray, float] | None:
        """(code, value) of the best point told so far (the first found among equals); None if none."""
        if self.m != 1:
            raise ValueError(f"{self.name} has {self.m} objectives: use .front for the non-dominated set")
        if self._best_code is None:
            return None
        return self._best_code.copy(), float(self._best_value[0])

    @property
    def front(self) -> tuple[np.ndarray, np.ndarray]:
        """(codes, values) of the non-dominated points told so far (failed points excluded)."""
        from .pareto import pareto_front
        codes, values = self.evaluations
        if not len(codes):
            return codes, values
        idx = pareto_front(values)
        return codes[idx], values[idx]

    @property
    def evaluations(self) -> tuple[np.ndarray, np.ndarray]:
        """Every point told, in order: (codes (N, k), values (N, m))."""
        if self._stacked is None or len(self._stacked[0]) != sum(len(c) for c in self._told_codes):
            if self._told_codes:
                self._stacked = (np.vstack(self._told_codes), np.vstack(self._told_values))
            else:
                self._stacked = (np.empty((0, self.k)), np.empty((0, self.m)))
        return self._stacked

    def violation_of(self, codes: np.ndarray, values: np.ndarray) -> np.ndarray:
        """By how much each point breaks the constraints: 0 for a point with finite values, the
        amount told for one that broke a constraint, +inf for a failed point (nothing known)."""
        ok = np.isfinite(values).all(axis=1)
        return np.array([0.0 if good else self.violations.get(key, math.inf)
                         for key, good in zip(row_keys(codes), ok)])

    def least(self, codes: np.ndarray, values: np.ndarray) -> tuple[int, float]:
        """(index, violation) of the best of a batch of one objective by Deb's rules: a point that meets
        the constraints beats one that breaks them, and of two that break them the one that misses by less
        is better; failed points (nothing known) come last. Without constraints told, the smallest value."""
        viol = self.violation_of(codes, values)
        order = np.lexsort((values[:, 0], viol))
        return int(order[0]), float(viol[order[0]])

    def known(self, codes: np.ndarray) -> np.ndarray:
        """Whether each code row's value is known (told)."""
        return np.array([k in self.cache for k in row_keys(codes)], dtype=bool)

    # ------------------------------------------------------------------ helpers for subclasses
    def room(self, n: int) -> int:
        """``n`` bounded by what the run can still use: the budget left (``budget_left``) and the points of a
        finite space neither known nor awaited; at least 1. A step sized by an option (batch 5,000,000 with
        max_samples 12) drew its whole size: minutes and gigabytes for 12 evaluations."""
        n = int(n)
        if self.budget_left is not None:
            n = min(n, self.budget_left)
        if self.space.finite:
            n = min(n, self.space.size - len(self.cache) - len(self._waiting))
        return max(1, n)

    def fresh_random(self, n: int) -> np.ndarray:
        """Up to ``n`` distinct uniform random points that are neither known nor awaited (at most `room`)."""
        n = self.room(n) if n > 0 else 0
        space = self.space
        cache, waiting = self.cache, self._waiting
        out: list[np.ndarray] = []
        seen: set[bytes] = set()
        tries = 0
        while len(out) < n and tries < 20:
            cand = space.random(self.rng, max(2 * (n - len(out)), 4))
            for key, row in zip(row_keys(cand), cand):
                if key not in cache and key not in waiting and key not in seen:
                    seen.add(key)
                    out.append(row)
                    if len(out) == n:
                        break
            tries += 1
        if len(out) < n and space.finite and space.size <= 200_000:
            # a nearly used-up small space: draw from what is left, exactly
            left = [i for i, key in enumerate(row_keys(space.point_at(np.arange(space.size))))
                    if key not in cache and key not in waiting and key not in seen]
            more = self.rng.permutation(left)[:n - len(out)]
            out.extend(space.point_at(more))
        return np.array(out, dtype=float).reshape(-1, self.k)

    def vary_known(self, codes: np.ndarray, vary: Callable[[np.ndarray], np.ndarray],
                   rounds: int = 10) -> np.ndarray:
        """Rows that are known points, or repeat an earlier row, are passed through ``vary`` again
        (up to ``rounds`` times), so a step spends no evaluation on what is known."""
        codes = np.array(codes, dtype=float, copy=True)
        for _ in range(rounds):
            seen: set[bytes] = set()
            redo = []
            for i, key in enumerate(row_keys(codes)):
                if key in self.cache or key in self._waiting or key in seen:
                    redo.append(i)
                seen.add(key)
            if not redo:
                break
            codes[redo] = vary(codes[redo])
        return codes

    def initial_points(self, count: int) -> np.ndarray:
        """The start population: the ``initial`` codes given, else ``count`` fresh random points."""
        if self.initial is not None and len(self.initial):
            return self.initial
        return self.fresh_random(count)

    # ------------------------------------------------------------------ internals
    def _finish(self, reason: str) -> None:
        self.done = True
        self.reason = reason

    def _check_codes(self, codes: Any, what: str) -> np.ndarray:
        c = np.asarray(codes, dtype=float)
        if c.ndim == 1 and c.size == self.k:
            c = c[None, :]
        if c.size == 0:
            return c.reshape(0, self.k)
        if c.ndim != 2 or c.shape[1] != self.k:
            raise ValueError(f"{self.name}: {what} must have {self.k} columns (one per knob), got shape {c.shape}")
        return c

    def _open_batch(self, cands: np.ndarray) -> bool:
        """Register a proposed step; queue its unknown points. True if a point was queued."""
        cands = self._check_codes(cands, "proposed codes")
        batch = _Batch(cands.copy(), np.full((len(cands), self.m), math.nan), 0)
        queued = False
        for j, key in enumerate(row_keys(cands)):
            value = self.cache.get(key)
            if value is not None:
                batch.values[j] = value
                continue
            batch.missing += 1
            if key not in self._waiting:
                self._waiting[key] = []
                self._queue.append((key, cands[j]))
                queued = True
            self._waiting[key].append((batch, j))
        if batch.missing == 0:
            self._close(batch, registered=False)
        else:
            self._open.append(batch)
        return queued

    def _close(self, batch: _Batch, registered: bool = True) -> None:
        if registered:
            self._open.remove(batch)
        self.steps += 1
        self.update(batch.codes, batch.values)

    def _record(self, codes: np.ndarray, values: np.ndarray) -> None:
        self._told_codes.append(codes.copy())
        self._told_values.append(values.copy())
        if self.m == 1:
            i = int(np.argmin(values[:, 0]))
            v = values[i]
            if math.isfinite(v[0]) and (self._best_value is None or v[0] < self._best_value[0]):
                self._best_code, self._best_value = codes[i].copy(), v.copy()


# ----------------------------------------------------------------------------- minimize
@dataclass
class SearchResult:
    """What `minimize` found: the best point(s) and every evaluation it made, in order."""

    codes: np.ndarray                   # (N, k) evaluated points in order
    values: np.ndarray                  # (N, m) their values (+inf: failed)
    best_code: np.ndarray | None        # one objective: the best point the algorithm knows
    best_value: float | None
    front_codes: np.ndarray             # the non-dominated points the algorithm knows
    front_values: np.ndarray
    reason: str                         # why the search stopped
    algorithm: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def evaluations(self) -> int:
        return len(self.codes)

    def best_so_far(self) -> np.ndarray:
        """Running minimum of the (single) objective after each evaluation."""
        if self.values.shape[1] != 1:
            raise ValueError("best_so_far is defined for one objective")
        return np.minimum.accumulate(self.values[:, 0]) if len(self.values) else np.empty(0)


Objective = Callable[[np.ndarray], Any]


def minimize(algorithm: Algorithm, objective: Objective, budget: int,
             batch: int | None = None) -> SearchResult:
    """Run ``algorithm`` against a vectorised ``objective(codes) -> (n, m)`` for ``budget`` evaluations.

    ``batch`` caps the points per call of the objective (default: the algorithm's
    natural batch). Returns the best point (one objective) or the non-dominated
    set, as known to the algorithm, and the history of this call's evaluations.
    """
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    used = 0
    codes_log: list[np.ndarray] = []
    values_log: list[np.ndarray] = []
    reason = f"budget of {budget} evaluations spent"
    while used < budget:
        algorithm.budget_left = budget - used
        codes = algorithm.ask(batch)
        if not len(codes):
            if algorithm.done:
                reason = f"{algorithm.name} finished: {algorithm.reason}"
                break
            raise RuntimeError(f"{algorithm.name} is waiting for values it was never told")
        codes = codes[:budget - used]
        raw = objective(codes)
        try:
            values = clean_values(raw, len(codes), algorithm.m)
        except ValueError:
            shape = np.shape(raw)
            raise ValueError(f"the objective returned shape {shape} for {len(codes)} points; "
                             f"expected ({len(codes)}, {algorithm.m})") from None
        algorithm.tell(codes, values)
        codes_log.append(codes)
        values_log.append(values)
        used += len(codes)
    all_codes = np.vstack(codes_log) if codes_log else np.empty((0, algorithm.k))
    all_values = np.vstack(values_log) if values_log else np.empty((0, algorithm.m))
    best = algorithm.best if algorithm.m == 1 else None
    fc, fv = algorithm.front
    return SearchResult(all_codes, all_values, None if best is None else best[0],
                        None if best is None else best[1], fc, fv, reason, algorithm.name)
