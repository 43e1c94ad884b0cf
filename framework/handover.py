"""The plugins the driver's preflight builds and initialises, before the run writes anything, handed to the
run's driver so that each block has one object per exploration (docs/plugins.md); and the stand-in for a block
that a run evaluating nothing could not build."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from .context import Budget
from .errors import DeffeError


class NotEvaluating:
    """Stands for an evaluate or extract block that could not be built in a run that evaluates nothing
    (-only-preloaded-data-exploration); asked to run after all, it says why it cannot."""

    def __init__(self, why: DeffeError):
        self.why = why

    def Initialize(self) -> None:
        pass

    def Run(self, *args) -> Any:
        raise self.why


@dataclass
class Built:
    """One exploration's plugins as the preflight built and initialised them, for the run to use (one object
    per block per exploration), with the framework state they were initialised with."""

    exploration: Any
    evaluate: Any
    extract: Any
    model: Any
    sampling: Any                 # the sampler itself (the framework's is a contract.Checked of it)
    costs: list                   # fw.costs with the evaluator's units
    budget: Budget
    history: Any
    encoding: Any
    said: list = field(default_factory=list)   # what the plugins logged (Held)


class Held(logging.Filter):
    """The plugins' logger during the preflight: what they log below WARNING passes (to the terminal: a
    compilation that takes a while), their warnings are held; the run says the warnings when it uses the
    plugins and writes the rest to its log file (as the driver's own, said again by the run). Once the run
    has the plugins, everything passes."""

    def __init__(self):
        super().__init__()
        self.held: list[tuple[int, str, bool]] | None = []   # (level, message, shown on the terminal already)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.held is None:
            return True
        shown = record.levelno < logging.WARNING
        self.held.append((record.levelno, record.getMessage(), shown))
        return shown

    def take(self) -> list[tuple[int, str, bool]]:
        held, self.held = self.held or [], []
        return held


class Fingerprints:
    """Every exploration's evaluate (or extract) plugin as the run's fingerprint sees them (guard.fingerprints):
    their Fingerprint() answers, one when they agree (as a single exploration's), else the list of them."""

    def __init__(self, objects: list[Any]):
        self.objects = objects

    def Fingerprint(self) -> Any:
        said = [o.Fingerprint() if callable(getattr(o, "Fingerprint", None)) else None for o in self.objects]
        return said[0] if all(x == said[0] for x in said) else said
