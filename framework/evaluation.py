"""One sample through evaluate and extract, as a worker runs it.

The evaluate plugin either returns the costs itself (a dict, or an
`EvaluationOutput`), and then extract is not called, or returns anything else
(for a script: its output), which the extract plugin turns into costs. Every
failure becomes the sample's result; nothing here stops the run.
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from .protocols import EvaluationOutput, Infeasible, Result, Sample
from .values import to_number


class CostError(Exception):
    """Costs that cannot be read. ``systematic``: the plugin ran and gave costs under other names, which no
    point will change (a cost the config names and the evaluator never gives): a crash, not a bad point."""

    def __init__(self, message: str, systematic: bool = False):
        super().__init__(message)
        self.systematic = systematic


def as_costs(raw: Any, cost_names: list[str], source: str) -> dict[str, float]:
    """The costs of `raw` (mapping by cost name, number, or sequence in cost order) as floats."""
    def key(cost: str) -> Any:
        """The key holding `cost`: the exact name, else the one equal but for case (Deffe lower-cased both)."""
        if cost in raw:
            return cost
        alike = [k for k in raw if isinstance(k, str) and k.lower() == cost.lower()]
        if len(alike) > 1:
            raise CostError(f"{source} gave {' and '.join(map(repr, alike))}: which one is '{cost}'?")
        return alike[0] if alike else None

    if isinstance(raw, Mapping):
        keys = {c: key(c) for c in cost_names}
        missing = [c for c, k in keys.items() if k is None]
        if missing:
            raise CostError(f"{source} gave no value for {', '.join(missing)} "
                            f"(it gave: {', '.join(map(str, raw)) or 'nothing'})", systematic=bool(raw))
        items = [(c, raw[k]) for c, k in keys.items()]
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if len(cost_names) != 1:
            raise CostError(f"{source} gave one number for {len(cost_names)} costs")
        items = [(cost_names[0], raw)]
    elif isinstance(raw, (list, tuple)):
        if len(raw) != len(cost_names):
            raise CostError(f"{source} gave {len(raw)} values for {len(cost_names)} costs")
        items = list(zip(cost_names, raw))
    else:
        raise CostError(f"{source} gave {type(raw).__name__}, not costs")
    out: dict[str, float] = {}
    for name, v in items:
        if isinstance(v, bool):
            v = float(v)
        if isinstance(v, str):
            n = to_number(v)
            if n is None:
                raise CostError(f"{source}: cost '{name}' is not a number: {v!r}")
            v = n
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise CostError(f"{source}: cost '{name}' is not a number: {v!r}") from None
        if math.isnan(f):
            raise CostError(f"{source}: cost '{name}' is NaN")
        out[name] = f
    return out


def _is_costs(output: Any) -> bool:
    """Did the evaluator return costs itself (a dict, a number, or a list of numbers)?"""
    if isinstance(output, Mapping):
        return True
    if isinstance(output, (int, float)) and not isinstance(output, bool):
        return True
    return isinstance(output, (list, tuple)) and len(output) > 0 and \
        all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in output)


def run_sample(evaluate: Any, extract: Any, sample: Sample, cost_names: list[str]) -> Result:
    t0 = time.perf_counter()
    try:
        output = evaluate.Run(sample)
        if isinstance(output, EvaluationOutput):
            costs = as_costs(output.costs, cost_names, "the evaluator") if output.costs else {}
            return Result(output.status, costs, output.note, time.perf_counter() - t0)
        if _is_costs(output):
            costs = as_costs(output, cost_names, "the evaluator")
        else:
            costs = as_costs(extract.Run(sample, output), cost_names, "the extract plugin")
        return Result("ok", costs, None, time.perf_counter() - t0)
    except Infeasible as e:
        costs = {k: float(v) for k, v in e.costs.items()}
        return Result("infeasible", costs, str(e), time.perf_counter() - t0)
    except CostError as e:
        return Result("failed", {}, str(e), time.perf_counter() - t0, crash=str(e) if e.systematic else None)
