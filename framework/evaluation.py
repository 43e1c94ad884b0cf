"""One sample through evaluate and extract, as a worker runs it.

The evaluate plugin either returns the costs itself (a dict, or an
`EvaluationOutput`), and then extract is not called, or returns anything else
(for a script: its output), which the extract plugin turns into costs. Every
failure becomes the sample's result; nothing here stops the run.
"""
from __future__ import annotations

import json
import math
import numbers
import time
from decimal import Decimal
from collections.abc import Mapping
from typing import Any

import numpy as np

from .contract import _short   # one line: a Series' or array's repr has several
from .protocols import STATUSES, EvaluationFailed, EvaluationOutput, Infeasible, Result, Sample
from .values import to_number


class CostError(Exception):
    """Costs that cannot be read. ``systematic``: the plugin ran and gave costs under other names, which no
    point will change (a cost the config names and the evaluator never gives): a crash, not a bad point."""

    def __init__(self, message: str, systematic: bool = False):
        super().__init__(message)
        self.systematic = systematic


def _is_number(v: Any) -> bool:
    """One number: int, float, Decimal, a numpy scalar (np.float32, np.int64), a 0-d array; not a bool."""
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, np.ndarray):
        return v.ndim == 0 and v.dtype.kind in "iuf"
    return isinstance(v, (numbers.Real, Decimal))


def _is_array(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.ndim >= 1 and v.dtype.kind in "iuf"


def as_costs(raw: Any, cost_names: list[str], source: str, finite: bool = True) -> dict[str, float]:
    """The costs of `raw` (mapping by cost name, number, or sequence or numpy array in cost order) as floats.
    ``finite``: an infinite cost is no measurement (an infeasible point's may be infinite)."""
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
    elif _is_number(raw):
        if len(cost_names) != 1:
            raise CostError(f"{source} gave one number for {len(cost_names)} costs")
        items = [(cost_names[0], raw)]
    elif isinstance(raw, (list, tuple)) or _is_array(raw):
        if isinstance(raw, np.ndarray) and raw.ndim > 1:
            raise CostError(f"{source} gave an array of shape {raw.shape}, not costs "
                            f"(one value per cost, in cost order: {', '.join(cost_names)})")
        if len(raw) != len(cost_names):
            raise CostError(f"{source} gave {len(raw)} values for {len(cost_names)} costs")
        items = list(zip(cost_names, raw))
    else:
        raise CostError(f"{source} gave {describe(raw)}, not costs")
    return {name: _cost_value(name, v, source, finite) for name, v in items}


def _cost_value(name: str, v: Any, source: str, finite: bool) -> float:
    """One cost's value as a float, or a CostError saying why it is none."""
    if isinstance(v, (bool, np.bool_)):
        v = float(v)
    if isinstance(v, str):
        n = to_number(v)
        if n is None:
            raise CostError(f"{source}: cost '{name}' is not a number: {v!r}")
        v = n
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise CostError(f"{source}: cost '{name}' is not a number: {_short(v)}") from None
    except OverflowError:   # an integer (or Decimal) beyond any float
        raise CostError(f"{source}: cost '{name}' is too large: {_short(v)}") from None
    if math.isnan(f):
        raise CostError(f"{source}: cost '{name}' is NaN")
    if finite and math.isinf(f):
        raise CostError(f"{source}: cost '{name}' is infinite")
    return f


def some_costs(raw: Any, cost_names: list[str], source: str) -> dict[str, float]:
    """The costs an infeasible point gave (``Infeasible(reason, costs)``): as `as_costs`, infinite ones
    allowed, but a mapping may give only some of them (its other keys are kept as they were); nothing: {}."""
    if raw is None or (isinstance(raw, (Mapping, list, tuple)) and len(raw) == 0):
        return {}
    if not isinstance(raw, Mapping):
        return as_costs(raw, cost_names, source, finite=False)
    named = {}
    for cost in cost_names:   # the cost's own name, else one equal but for case (as as_costs)
        alike = [k for k in raw if k == cost] or [k for k in raw if isinstance(k, str) and k.lower() == cost.lower()]
        if len(alike) > 1:
            raise CostError(f"{source} gave {' and '.join(map(repr, alike))}: which one is '{cost}'?")
        if alike:
            named[alike[0]] = cost
    return {named.get(k, str(k)): _cost_value(named.get(k, str(k)), v, source, False) for k, v in raw.items()}


def note_text(note: Any) -> str | None:
    """An `EvaluationOutput`'s note as the text stored as the sample's error: a str as it is, a dict or list
    as JSON, an exception as "Type: message", anything else as str()."""
    if note is None or isinstance(note, str):
        return note
    if isinstance(note, BaseException):
        return f"{type(note).__name__}: {note}" if str(note) else type(note).__name__
    if isinstance(note, bytes):
        return note.decode("utf-8", "replace")
    if isinstance(note, (Mapping, list, tuple)):
        try:
            return json.dumps(note, default=str)
        except (TypeError, ValueError):   # keys JSON cannot take, a cycle
            pass
    try:
        return str(note)
    except Exception:   # a __str__ that fails
        return repr(note) if type(note).__repr__ is not object.__repr__ else describe(note)


def describe(v: Any) -> str:
    """What a plugin returned, for a message: its type and (short) value."""
    if v is None:
        return "None"
    t = type(v)
    name = t.__name__ if t.__module__ == "builtins" else f"{t.__module__.split('.')[0]}.{t.__name__}"
    if isinstance(v, np.ndarray):
        return f"a {name} of shape {v.shape} and dtype {v.dtype}"
    return f"a {name} ({_short(v)})"


def is_costs(output: Any) -> bool:
    """Did the evaluator return costs itself (a dict, a number, a list of numbers, a numeric numpy array)?"""
    if isinstance(output, Mapping) or _is_number(output) or _is_array(output):
        return True
    return isinstance(output, (list, tuple)) and len(output) > 0 and all(_is_number(v) for v in output)


def _status(output: EvaluationOutput) -> str:
    """The status an `EvaluationOutput` sets; one not of the protocol is the plugin's mistake."""
    status = output.status
    if not isinstance(status, str) or status not in STATUSES:
        raise CostError(f"the evaluator returned the status {status!r}, which is not one of "
                        f"{', '.join(STATUSES)}", systematic=True)
    return status


CRASHED_IN = "deffe_crashed_in"   # attribute of an exception an extract plugin raised: which block to blame


def _extract(extract: Any, sample: Sample, output: Any) -> Any:
    """The extract plugin's answer; an unexpected exception leaves marked as the extract block's, so that a
    run stopped by a systematic crash names that plugin however deep in it the exception was raised."""
    try:
        return extract.Run(sample, output)
    except (Infeasible, CostError, EvaluationFailed):
        raise
    except Exception as e:
        try:
            setattr(e, CRASHED_IN, "extract")
        except (AttributeError, TypeError):   # an exception type that takes no attributes: blamed on evaluate
            pass
        raise


def run_sample(evaluate: Any, extract: Any, sample: Sample, cost_names: list[str]) -> Result:
    t0 = time.perf_counter()
    block = "evaluate"   # the block whose answer is being read, for a systematic CostError
    try:
        output = evaluate.Run(sample)
        if isinstance(output, EvaluationOutput):
            status = _status(output)
            if status == "ok":   # a measurement: every cost, finite
                costs = as_costs(output.costs if output.costs is not None else {}, cost_names, "the evaluator")
            else:                # failed, timeout, infeasible: the costs it has, if any (infinite ones too)
                costs = as_costs(output.costs, cost_names, "the evaluator", finite=False) if output.costs else {}
            return Result(status, costs, note_text(output.note), time.perf_counter() - t0)
        if is_costs(output):
            costs = as_costs(output, cost_names, "the evaluator")
        else:
            block = "extract"
            costs = as_costs(_extract(extract, sample, output), cost_names, "the extract plugin")
        return Result("ok", costs, None, time.perf_counter() - t0)
    except Infeasible as e:
        try:   # read as any other costs: a cost that is no number fails the sample saying so
            costs = some_costs(e.costs, cost_names, "the evaluator's Infeasible")
        except CostError as bad:
            return Result("failed", {}, f"{bad} (reason: {e})", time.perf_counter() - t0)
        return Result("infeasible", costs, str(e), time.perf_counter() - t0)
    except CostError as e:
        return Result("failed", {}, str(e), time.perf_counter() - t0, crash=str(e) if e.systematic else None,
                      block=block)
