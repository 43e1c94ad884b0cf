"""The contract of each block, and the records that cross between blocks.

Every plugin is a module with ``GetObject(framework)`` returning an object with
``Initialize()`` and ``Run(...)`` (Deffe's convention). The framework object it
receives carries what the block needs (see `Framework`); plugins hand values
back and never write the run store themselves. One object is made per
exploration, since each exploration has its own design space.

    block        Run(...)                                  returns
    sampling     Run(count)                                codes of up to `count` new points
    evaluate     Run(sample)                               costs (dict) or an output for extract
    extract      Run(sample, output)                       costs (dict)
    ml_model     Run(data) ; Predict(codes)                training report ; Prediction
    exploration  Run() ; Tell(codes, results)              Proposal or None when done ; -

Codes are float arrays, one column per knob of the space (see `space.py`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

STATUSES = ("ok", "failed", "timeout", "infeasible")


# ----------------------------------------------------------------------------- records
@dataclass
class Sample:
    """One point to evaluate, as the evaluate and extract plugins see it."""

    id: int                      # row id in the run store; the run directory is explore_<id>
    values: dict[str, Any]       # knob name -> value (repeated knobs expanded: device_0, ...)
    directory: Path              # the sample's own run directory (created by the framework)
    explore: str = ""
    timeout: float | None = None


@dataclass
class Result:
    """What came back for one point."""

    status: str                          # ok | failed | timeout | infeasible
    costs: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    duration: float | None = None        # seconds of evaluation
    cached: bool = False                 # taken from the store, not evaluated now
    origin: str = "evaluated"            # evaluated | pre-evaluated
    crash: str | None = None             # failed by an unexpected exception of a plugin: "TypeError: ..."
    block: str = "evaluate"              # the plugin a crash came from: evaluate or extract

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def cost_vector(self, names: list[str]) -> np.ndarray:
        return np.array([float(self.costs.get(n, math.nan)) for n in names], dtype=float)


class EvaluationFailed(Exception):
    """Raised by an evaluate or extract plugin for a sample that failed in a way it expected (a script's
    non-zero exit status, a missing output): stored as ``failed`` with the message, without a traceback.
    Any other exception is a crash of the plugin, stored with its traceback."""


class Infeasible(Exception):
    """Raised by an evaluator for a point that cannot run (e.g. out of memory).

    The costs it carries (if any) are stored with the status ``infeasible``.
    """

    def __init__(self, reason: str = "infeasible", costs: dict[str, float] | None = None):
        super().__init__(reason)
        # kept as given (a dict, or a number or list in cost order): the framework reads them as any costs
        # and fails the sample saying why when it cannot
        self.costs = dict(costs) if isinstance(costs, Mapping) else ({} if costs is None else costs)


@dataclass
class EvaluationOutput:
    """An evaluator may return this instead of a plain dict, to set the status itself."""

    costs: dict[str, float]
    status: str = "ok"
    note: str | None = None


@dataclass
class Prediction:
    """Model output for n points and c costs."""

    mean: np.ndarray                      # (n, c)
    std: np.ndarray | None = None         # (n, c) or None when the model gives no uncertainty
    feasible: np.ndarray | None = None    # (n,) probability that the point evaluates ok
    members: np.ndarray | None = None     # (k, n, c) each ensemble member's prediction (Thompson sampling)


@dataclass
class TrainingData:
    """Everything evaluated so far in one exploration, for the model."""

    codes: np.ndarray          # (n, k) codes
    features: np.ndarray       # (n, d) encoded by the framework's Encoding
    costs: np.ndarray          # (n, c) NaN where missing
    status: list[str]          # per row
    step: int
    fresh: bool = False        # train anew: never go on from the current weights (they saw other data)
    final: bool = False        # the exploration's last training: the model it ends with (saved, used for inference)
    guided_tail: int = 0       # the last rows were chosen, in this order, by a search on a model of the rows before

    def guided_tail_of(self, keep: np.ndarray) -> int:
        """``guided_tail`` of the rows that ``keep`` (a boolean mask over the rows) keeps."""
        return int(keep[len(keep) - self.guided_tail:].sum()) if self.guided_tail else 0


@dataclass
class Proposal:
    """What the exploration asks for in one step."""

    codes: np.ndarray                            # points to evaluate (or to look up in the store)
    predicted: np.ndarray | None = None          # points whose costs were predicted only
    prediction: Prediction | None = None         # their predicted costs
    note: str | None = None
    guided: bool = False                         # chosen by a search on the model (not a sampler's design)


# ----------------------------------------------------------------------------- protocols
@runtime_checkable
class SamplingPlugin(Protocol):
    def Initialize(self) -> None: ...
    def Run(self, count: int) -> np.ndarray: ...


@runtime_checkable
class EvaluatePlugin(Protocol):
    def Initialize(self) -> None: ...
    def Run(self, sample: Sample) -> Any: ...


@runtime_checkable
class ExtractPlugin(Protocol):
    def Initialize(self) -> None: ...
    def Run(self, sample: Sample, output: Any) -> dict[str, float]: ...


@runtime_checkable
class ModelPlugin(Protocol):
    def Initialize(self) -> None: ...
    def Run(self, data: TrainingData) -> dict: ...
    def Predict(self, codes: np.ndarray) -> Prediction: ...


@runtime_checkable
class ExplorationPlugin(Protocol):
    def Initialize(self) -> None: ...
    def Run(self) -> Proposal | None: ...
    def Tell(self, codes: np.ndarray, results: list[Result]) -> None: ...


# block name -> (config section, protocol, required methods)
BLOCKS: dict[str, tuple[str, type, tuple[str, ...]]] = {
    "sampling": ("sampling", SamplingPlugin, ("Initialize", "Run")),
    "evaluate": ("evaluate", EvaluatePlugin, ("Initialize", "Run")),
    "extract": ("extract", ExtractPlugin, ("Initialize", "Run")),
    "ml_model": ("model", ModelPlugin, ("Initialize", "Run", "Predict")),
    "exploration": ("exploration", ExplorationPlugin, ("Initialize", "Run", "Tell")),
}
