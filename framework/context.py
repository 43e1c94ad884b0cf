"""What a plugin's ``GetObject(framework)`` receives.

Attributes a plugin may read (the contract of "Writing a plugin" in the README):

    config     the validated `Config` (``config.section("sampling")`` etc.), as a `ConfigView`
    args       the command-line options
    run_dir    the run directory (a `Path`)
    seed       the run's seed
    threads    the threads the libraries of the process the plugin runs in may use: the driver's budget
               (``model.threads``, else ``-jobs``), 1 in an evaluation worker, half in an asynchronous
               driver while the model trains beside it (kept up to date by `threads.limit`)
    log        a `logging.Logger` writing to the run log
    explore    the current exploration (`Explore`: name, space, settings, tables), as an `ExploreView`
    space      its `DesignSpace`
    encoding   its model features (`Encoding`)
    costs      the costs (`Cost`: name, direction)
    sampling   the sampling plugin object of this exploration (for explorations)
    model      the model plugin object, or None when no model is trained
    budget     the exploration's `Budget` (what is left)
    history    what this exploration has evaluated so far (`History`)

and ``rng(purpose)``: a numpy Generator seeded from the run seed, the
exploration and the purpose, so every plugin draws its own repeatable stream.

The settings dicts a plugin reads (``config.section(...)``, ``config.data``,
``explore.settings``, ``explore.tables``) are deep copies made at each access:
the driver reads the same dicts after the plugins ran (max_samples, top_k,
analysis), so a plugin that pops or sets a key must edit its own copy, not the
run's settings.
"""
from __future__ import annotations

import copy
import logging
import math
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config, Cost, Explore
from .protocols import Result
from .encoding import Encoding
from .space import DesignSpace
from .threads import follow as follow_threads


@dataclass
class Budget:
    """Limits of one exploration; None means no limit of that kind."""

    max_samples: int | None = None
    max_steps: int | None = None
    max_time: float | None = None
    started: float = field(default_factory=time.monotonic)
    used_samples: int = 0
    steps: int = 0

    def remaining_samples(self) -> float:
        return math.inf if self.max_samples is None else max(0, self.max_samples - self.used_samples)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def exhausted(self) -> str | None:
        """Why the budget is spent, or None."""
        if self.max_samples is not None and self.used_samples >= self.max_samples:
            return f"evaluation budget of {self.max_samples} samples reached"
        if self.max_steps is not None and self.steps >= self.max_steps:
            return f"step budget of {self.max_steps} steps reached"
        if self.max_time is not None and self.elapsed() >= self.max_time:
            return f"time budget of {self.max_time:g} s reached"
        return None


@dataclass
class History:
    """Everything an exploration has been told, in order (cached results included)."""

    codes: list[np.ndarray] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    guided: list[bool] = field(default_factory=list)   # per row: proposed by a search on the model

    def add(self, codes: np.ndarray, results: list[Result], guided: bool | list[bool] = False) -> None:
        self.codes.extend(np.atleast_2d(codes))
        self.results.extend(results)
        self.guided.extend(guided if isinstance(guided, list) else [bool(guided)] * len(results))

    def __len__(self) -> int:
        return len(self.results)

    def arrays(self, cost_names: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(codes, costs with NaN where missing, statuses)."""
        if not self.results:
            return np.empty((0, 0)), np.empty((0, len(cost_names))), []
        codes = np.vstack(self.codes)
        costs = np.vstack([r.cost_vector(cost_names) for r in self.results])
        return codes, costs, [r.status for r in self.results]


class _View:
    """One of the run's objects as plugins see it: its attributes, with those the run reads again (``COPIED``)
    deep-copied at each access. Copies rather than read-only mappings: a plugin that keeps a section and edits
    it as its own (``opts = framework.section("model"); opts.setdefault(...)``) goes on working."""

    __slots__ = ("_of",)
    COPIED: tuple[str, ...] = ()

    def __init__(self, of: Any):
        object.__setattr__(self, "_of", of._of if isinstance(of, _View) else of)

    def __getattr__(self, name: str) -> Any:
        value = getattr(object.__getattribute__(self, "_of"), name)
        return copy.deepcopy(value) if name in self.COPIED else value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"framework.{type(self).WHAT} is the run's and read-only to a plugin (setting "
                             f"'{name}'); keep what you change in your plugin's own attributes (docs/plugins.md)")

    def __reduce__(self) -> tuple:   # pickled as the object it shows (a trained model's state may hold one)
        return type(self), (object.__getattribute__(self, "_of"),)

    def __repr__(self) -> str:
        return repr(object.__getattribute__(self, "_of"))


class ExploreView(_View):
    """An `Explore` as plugins see it (`_View`): its settings and tables are copies."""

    __slots__ = ()
    WHAT = "explore"
    COPIED = ("settings", "tables", "deffe_tables")


class ConfigView(_View):
    """A `Config` as plugins see it (`_View`): its sections, data and explorations' settings are copies."""

    __slots__ = ()
    WHAT = "config"
    COPIED = ("data",)

    def section(self, name: str) -> dict:
        return copy.deepcopy(self._of.section(name))

    @property
    def explores(self) -> list[ExploreView]:
        return [ExploreView(e) for e in self._of.explores]


class Framework:
    def __init__(self, config: Config, args: Any, run_dir: Path, seed: int, log: logging.Logger,
                 threads: int = 1):
        self.config = ConfigView(config)   # the driver reads the settings after the plugins: they get copies
        self.threads = threads
        follow_threads(self)   # a worker's or an asynchronous driver's limit is what its plugins are told
        self.args = args
        self.run_dir = run_dir
        self.seed = seed
        self.log = log
        self.costs: list[Cost] = config.costs
        self.explore: ExploreView | None = None
        self.space: DesignSpace | None = None
        self.encoding: Encoding | None = None
        self.sampling = None
        self.model = None
        self.ask_limit: int | None = None   # asynchronous exploration: points wanted from the next ask
        self.ask_effort: float | None = None  # ... and the share of its search effort it may spend (None: all)
        self.budget = Budget()
        self.history = History()

    @property
    def cost_names(self) -> list[str]:
        return [c.name for c in self.costs]

    def section(self, name: str) -> dict:
        return self.config.section(name)

    def enter(self, explore: Explore, budget: Budget) -> None:
        self.explore = ExploreView(explore)
        self.space = explore.space
        self.encoding = Encoding(explore.space)
        self.budget = budget
        self.history = History()
        self.sampling = None
        self.model = None

    def rng(self, purpose: str, seed: int | None = None) -> np.random.Generator:
        """The stream of a purpose; ``seed`` in place of the run's (a plugin's own seed option, so that
        writing out its default, framework.seed, draws what leaving it out does)."""
        name = self.explore.name if self.explore else ""
        seed = self.seed if seed is None else seed
        return np.random.default_rng(np.random.SeedSequence(seed_entropy(seed, name, purpose)))

    def seed_for(self, purpose: str, seed: int | None = None) -> int:
        """An integer seed for a library (numpy, scikit-learn, torch) drawn from the purpose's stream; ``seed``
        as in ``rng``: a plugin's seed option written out as framework.seed gives what leaving it out does."""
        return int(self.rng(purpose, seed=seed).integers(0, 2 ** 31 - 1))


def seed_entropy(seed: int, name: str, purpose: str) -> list[int]:
    """The words a run's seed, an exploration's name and a purpose seed a generator with.

    A seed of 0 to 2**32 - 1 gives the three words every earlier run used (their points stay the same). Any
    other seed (framework.seed takes a negative one or one beyond 32 bits) adds the rest of its magnitude
    and its sign, so that seeds differing beyond the low 32 bits (1 and 2**32 + 1, 1 and -1) differ.
    """
    words = [abs(seed) & 0xFFFFFFFF, zlib.crc32(name.encode()), zlib.crc32(purpose.encode())]
    if not 0 <= seed <= 0xFFFFFFFF:
        # a nonzero last word: SeedSequence pads short entropy with zeros, which must not make a collision
        words += [abs(seed) >> 32, 1 if seed < 0 else 2]
    return words
