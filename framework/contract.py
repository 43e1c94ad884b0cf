"""What crosses the plugin boundary, checked where it crosses (the driver's `_call`).

A plugin's answer that breaks its block's contract (protocols.py) is a mistake of the plugin: one line
naming the plugin and what is wrong, not a traceback wherever the framework first trips over it. Each
function here takes what a method returned and gives it back in the form the framework uses (codes as a
float array, a Prediction of float arrays), or raises `Broken` with what is wrong, in words; the driver
adds the plugin's name (`Driver._call`).

    sampling     Run(count)        codes of at most `count` points of the space; None: no more
    exploration  Run()             a Proposal (codes in the space, predicted points with their
                                   prediction) or None; Report() a dict or None
    ml_model     Run(data)         a dict or None; Predict(codes) a Prediction for those codes
    evaluate     units             a dict cost name -> unit
"""
from __future__ import annotations

import numbers
import os
from typing import Any, Callable

import numpy as np

from .errors import DeffeError
from .protocols import Prediction, Proposal


class Broken(Exception):
    """A plugin's answer breaks its contract; the message says how (after the method's name)."""

    def __init__(self, what: str, hint: str | None = None):
        super().__init__(what)
        self.what, self.hint = what, hint


def _kind(value: Any) -> str:
    t = type(value)
    return "None" if value is None else (t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}")


def _short(value: Any, limit: int = 60) -> str:
    text = " ".join(repr(value).split())   # one line (an array's repr has several)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def codes_of(value: Any, space: Any, what: str = "proposed") -> np.ndarray:
    """Rows of codes of points of ``space`` as a float array (n, k); Broken if they are not."""
    k = len(space)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.dtype == object:
        raise Broken(f"{what} a point outside the space: {_not_rows(value, k)}",
                     hint=f"codes are numbers, one row of {k} per point (see docs/plugins.md)")
    if arr.size == 0:
        return np.empty((0, k))
    arr = _at_bounds(np.atleast_2d(arr), value, space)
    bad = space.invalid(arr)
    if bad:
        raise Broken(f"{what} a point outside the space: {bad}",
                     hint=f"codes are numbers, one row of {k} per point: a level's index for a finite "
                          "knob, the value for a continuous one (see docs/plugins.md)")
    return arr


def _at_bounds(arr: np.ndarray, value: Any, space: Any) -> np.ndarray:
    """Codes given in a narrower float (float32: a torch tensor's, a sampler's np.float32 array) that are a
    continuous knob's bound as that float rounds it (0.3 as float32 is 0.30000001192) become the bound: the
    point the plugin meant, not one outside the space."""
    try:
        dtype = np.dtype(getattr(value, "dtype", None) or float)
    except TypeError:   # a dtype numpy does not know (a torch tensor's)
        return arr
    if not np.issubdtype(dtype, np.floating) or np.finfo(dtype).bits >= 64 \
            or arr.ndim != 2 or arr.shape[1] != len(space):
        return arr
    arr = arr.copy()
    for j, k in enumerate(space.knobs):
        if k.finite:
            continue
        for bound in (k.low, k.high):
            rounded = float(np.asarray(bound, dtype=dtype))
            arr[arr[:, j] == rounded, j] = bound
    return arr


def _not_rows(value: Any, k: int) -> str:
    """Why ``value`` cannot be read as rows of numbers (text, rows of different lengths)."""
    try:
        rows = list(value)
    except TypeError:
        return f"a {_kind(value)} is not rows of codes"
    for i, row in enumerate(rows):
        try:
            r = np.asarray(row, dtype=float)
        except (TypeError, ValueError):
            return f"row {i}: {_short(row)} is not a row of numbers"
        if r.ndim != 1 or len(r) != k:
            return f"row {i}: {_short(row)} is not a row of {k} codes"
    return f"{_short(value)} is not rows of {k} numbers"


def _floats(value: Any, name: str, shape: tuple[int, ...], shown: str, lead: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float) if _numeric(value) else None
    if arr is None:
        raise Broken(f"{lead} a Prediction whose {name} is not numbers ({_short(value)})", hint=_PREDICTION_HINT)
    if arr.shape != shape:
        raise Broken(f"{lead} a Prediction whose {name} has shape {arr.shape}, not {shown} = {shape}",
                     hint=_PREDICTION_HINT)
    return arr


_PREDICTION_HINT = ("a framework.protocols.Prediction(mean, std, feasible, members) of n points and c costs has "
                    "mean (n, c), std (n, c) or None, feasible (n,) or None, members (k, n, c) or None "
                    "(see docs/plugins.md)")


def prediction_of(value: Any, n: int, c: int, lead: str = "returned") -> Prediction:
    """A Prediction of ``n`` points and ``c`` costs, its fields float arrays; Broken if it is not one.
    ``mean``: finite, or NaN where nothing is known (not everywhere); ``std``: not negative (NaN only where the mean is NaN: nothing is known there); ``feasible``: a
    probability."""
    if not isinstance(value, Prediction):
        raise Broken(f"{lead} a {_kind(value)}, not a Prediction", hint=_PREDICTION_HINT)
    mean = _floats(value.mean, "mean", (n, c), "(n, c)", lead)
    infinite = np.isinf(mean)
    if infinite.any():
        i, j = (int(x[0]) for x in np.nonzero(infinite))
        raise Broken(f"{lead} a Prediction whose mean is {mean[i, j]:g} (row {i}, cost {j}): a predicted cost is a "
                     "finite number (NaN where nothing is known of it)", hint=_PREDICTION_HINT)
    if mean.size and np.isnan(mean).all():
        raise Broken(f"{lead} a Prediction whose mean is NaN for every point and cost: it predicts nothing "
                     "(NaN is for a cost nothing is known of yet)", hint=_PREDICTION_HINT)
    std = feasible = members = None
    if value.std is not None:
        std = _floats(value.std, "std", (n, c), "(n, c)", lead)
        wrong = (std < 0) | (np.isnan(std) & ~np.isnan(mean))
        if wrong.any():
            i, j = (int(x[0]) for x in np.nonzero(wrong))
            raise Broken(f"{lead} a Prediction whose std is {std[i, j]:g} (row {i}, cost {j}): a standard "
                         "deviation is 0 or more", hint=_PREDICTION_HINT)
    if value.feasible is not None:
        feasible = _floats(value.feasible, "feasible", (n,), "(n,)", lead)
        wrong = ~((feasible >= 0) & (feasible <= 1))
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise Broken(f"{lead} a Prediction whose feasible is {feasible[i]:g} (row {i}): a probability "
                         "is between 0 and 1", hint=_PREDICTION_HINT)
    if value.members is not None:
        members = np.asarray(value.members, dtype=float) if _numeric(value.members) else None
        if members is None or members.ndim != 3:
            raise Broken(f"{lead} a Prediction whose members are not a (k, n, c) array of numbers "
                         f"({_short(value.members)})", hint=_PREDICTION_HINT)
        members = _floats(members, "members", (len(members), n, c), "(k, n, c)", lead)
    return Prediction(mean, std, feasible, members)


def _numeric(value: Any) -> bool:
    try:
        return np.asarray(value, dtype=float).dtype != object
    except (TypeError, ValueError):
        return False


_PROPOSAL_HINT = ("Run() returns framework.protocols.Proposal(codes) with the points to evaluate, or None when "
                  "done (see docs/plugins.md)")


def proposal_of(value: Any, space: Any, c: int) -> Proposal | None:
    """An exploration's Run(): None, or a Proposal of codes in the space (and predicted points with a
    Prediction of them)."""
    if value is None:
        return None
    if not isinstance(value, Proposal):
        raise Broken(f"returned a {_kind(value)}, not a Proposal", hint=_PROPOSAL_HINT)
    if value.codes is None:   # (read as numbers it was "an array of shape (1, 1)")
        raise Broken("returned a Proposal whose codes are None",
                     hint="return None from Run() when done, or Proposal(codes) with rows of codes (an empty "
                          "array: nothing this step)")
    codes = codes_of(value.codes, space)
    predicted = prediction = None
    if value.predicted is not None or value.prediction is not None:
        if value.predicted is None or value.prediction is None:
            raise Broken("returned a Proposal with " + ("a prediction but no predicted points"
                                                        if value.predicted is None else
                                                        "predicted points but no prediction"),
                         hint="Proposal(codes, predicted, prediction): prediction is a Prediction of the "
                              "predicted points (see docs/plugins.md)")
        predicted = codes_of(value.predicted, space, what="predicted")
        prediction = prediction_of(value.prediction, len(predicted), c,
                                   lead=f"returned a Proposal of {len(predicted)} predicted points whose prediction is")
    return Proposal(codes, predicted, prediction, value.note, bool(value.guided))


def sampled(value: Any, space: Any, count: int) -> np.ndarray:
    """A sampler's Run(count): codes of at most ``count`` points (more are cut to ``count``); None: none."""
    if value is None:
        return np.empty((0, len(space)))
    return codes_of(value, space)[:max(int(count), 0)]


def report_of(value: Any, method: str = "Run()") -> dict | None:
    """A model's training report, or an exploration's Report(): a dict, or None."""
    if value is None or isinstance(value, dict):
        return value
    raise Broken(f"returned a {_kind(value)}, not a dict (or None)",
                 hint=f"{method} returns a dict of what it reports, or None (see docs/plugins.md)")


_HISTORY_HINT = ('history is a list of per-epoch dicts, e.g. [{"epoch": 0, "train_loss": 0.5, "val_loss": 0.6, '
                 '"test_loss": None}], losses numbers or None (see docs/models.md "Writing a model plugin")')
_SELECTION_HINT = ('selection is a dict of candidate name -> {"score": number or None, "mape": number or None, '
                   '"note": text, ...} (see docs/models.md "Writing a model plugin")')
_REPORT_HINT = 'see docs/models.md "Writing a model plugin" for the keys the framework reads'
HISTORY_LOSSES = ("train_loss", "val_loss", "test_loss", "lr")
# the keys of a model's report the framework computes and writes itself: a plugin's values of them are dropped
FRAMEWORK_REPORT_KEYS = ("samples", "train", "holdout", "failed", "train_failed", "metrics", "holdout_mape",
                         "feasibility_accuracy", "refit_seconds", "checkpoint")


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _plain(value: Any, path: str, seen: tuple[int, ...] = (), text_keys: bool = True) -> Any:
    """``value`` in the forms JSON has: dict keys that are not text become str(key) (``text_keys``; else they
    are left for the caller to refuse), tuples lists, numpy numbers and arrays Python's; anything else is left
    to the run store (which writes it as its str())."""
    if isinstance(value, (dict, list, tuple, np.ndarray)):
        if id(value) in seen:
            raise Broken(f"returned a report whose {path} contains itself", hint=_REPORT_HINT)
        seen = seen + (id(value),)
    if isinstance(value, dict):
        return {(k if isinstance(k, str) or not text_keys else str(k)):
                _plain(v, f"{path}[{_short(k, 30)}]", seen, text_keys) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{path}[{i}]", seen, text_keys) for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _history(value: Any) -> list[dict]:
    lead = "returned a report whose 'history'"
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise Broken(f"{lead} is a {_kind(value)} ({_short(value)}): expected a list of per-epoch dicts",
                     hint=_HISTORY_HINT)
    out = []
    for i, record in enumerate(value):
        if not isinstance(record, dict):
            raise Broken(f"{lead} record {i} is {_short(record)}: expected a dict of one epoch "
                         "(epoch, train_loss, val_loss, test_loss)", hint=_HISTORY_HINT)
        if not _number(record.get("epoch")):
            raise Broken(f"{lead} record {i} has epoch {_short(record.get('epoch'))}: expected a number",
                         hint=_HISTORY_HINT)
        bad = next((k for k in HISTORY_LOSSES if record.get(k) is not None and not _number(record[k])), None)
        if bad is not None:
            raise Broken(f"{lead} record {i} has {bad} {_short(record[bad])}: expected a number or None",
                         hint=_HISTORY_HINT)
        out.append({k: (float(v) if k in HISTORY_LOSSES and v is not None
                        else int(v) if k == "epoch" and float(v).is_integer() else v)
                    for k, v in _plain(record, f"'history' record {i}").items()})
    return out


def _selection(value: Any) -> dict | None:
    lead = "returned a report whose 'selection'"
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Broken(f"{lead} is a {_kind(value)} ({_short(value)}): expected a dict of candidate name -> "
                     "dict of its scores", hint=_SELECTION_HINT)
    kinds = {"score": (_number, "a number or None"), "mape": (_number, "a number or None"),
             "note": (lambda v: isinstance(v, str), "text"), "protocol": (lambda v: isinstance(v, str), "text"),
             "for": (lambda v: isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v),
                     "a list of cost names"),
             "costs": (lambda v: isinstance(v, dict) and all(x is None or _number(x) for x in v.values()),
                       "a dict of cost name -> number or None")}
    for name, entry in value.items():
        if not isinstance(entry, dict):
            raise Broken(f"{lead} gives {_short(name, 30)} {_short(entry)}: expected a dict of its scores "
                         "(score, mape, note, protocol, costs, for)", hint=_SELECTION_HINT)
        for key, (ok, what) in kinds.items():
            if entry.get(key) is not None and not ok(entry[key]):
                raise Broken(f"{lead} gives {_short(name, 30)} {key} {_short(entry[key])}: expected {what}",
                             hint=_SELECTION_HINT)
    return _plain(value, "'selection'")


def model_report_of(value: Any) -> dict | None:
    """A model's training report (Run(data)): a dict or None, whose keys the framework reads have their
    documented types (Broken if not) and whose other values are as JSON stores them (`_plain`); the keys
    the framework writes itself (FRAMEWORK_REPORT_KEYS) are dropped."""
    report = report_of(value)
    if report is None:
        return None
    out = _plain({k: v for k, v in report.items() if k not in ("history", "selection")}, "report")
    for key in FRAMEWORK_REPORT_KEYS:
        out.pop(key, None)
    for key in ("chosen", "plugin"):
        if out.get(key) is not None and not isinstance(out[key], str):
            raise Broken(f"returned a report whose {key!r} is {_short(out[key])}: expected a name (text)",
                         hint=_REPORT_HINT)
    if out.get("train_seconds") is not None and not _number(out["train_seconds"]):
        raise Broken(f"returned a report whose 'train_seconds' is {_short(out['train_seconds'])}: expected a "
                     "number", hint=_REPORT_HINT)
    if "history" in report:
        out["history"] = _history(report["history"])
    if "selection" in report:
        out["selection"] = _selection(report["selection"])
    return out


def units_of(value: Any) -> dict[str, str]:
    """An evaluate plugin's ``units`` attribute: a dict cost name -> unit."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(u, str) or u is None for u in value.values()):
        raise Broken(f"is {_short(value)}, not a dict of cost name -> unit",
                     hint='units = {"step_time": "s"} names the unit of each cost it measures')
    return value


def frozen(value: Any) -> Any:
    """An array as a plugin receives it (a model's Predict(codes), ...): a read-only copy, so that a plugin
    that scales its input in place (``X = np.asarray(codes); X /= 5``) fails in its own method, where it is
    named, instead of changing the caller's points (the exploration's candidates: the exploration was blamed
    for points outside the space). Anything else as it is. Copying 20,000 candidates of 10 knobs: 0.2 ms."""
    if not isinstance(value, np.ndarray):
        return value
    out = np.array(value)
    out.flags.writeable = False
    return out


class Checked:
    """A plugin as another plugin sees it (``framework.sampling``, ``framework.model``): its ``methods`` go
    through the driver's ``_call`` (their answers checked, the plugin named when they fail); anything else is
    the plugin's own."""

    def __init__(self, driver: Any, plugin: Any, methods: tuple[str, ...]):
        self._deffe_plugin, self._driver, self._methods = plugin, driver, methods

    def __getattr__(self, attr: str) -> Any:
        if attr in ("_deffe_plugin", "_driver", "_methods"):   # not set yet (a copy being made)
            raise AttributeError(attr)
        if attr in self._methods:   # arrays go as read-only copies: a plugin never changes the caller's
            return lambda *args: self._driver._call(self._deffe_plugin, attr, *(frozen(a) for a in args))
        return getattr(self._deffe_plugin, attr)


def checked(driver: Any, plugin: Any, *methods: str) -> Any:
    """``plugin`` as other plugins see it (see `Checked`); None stays None."""
    return None if plugin is None else Checked(driver, plugin, methods)


def saved(path: Any) -> None:
    """A model's Save(path) wrote its checkpoint at ``path`` (the run then describes that file beside it, and
    -inference-only and run.model call Load on it: a missing one would load nothing and predict)."""
    if not os.path.exists(path):
        raise Broken(f"wrote no file at {path}", hint="Save(path) writes the trained model to the path it is "
                     "given (Load(path) reads it back for -inference-only and run.model); fix it and run again")


# (block, method) -> the check of what the method returned, given the call's arguments and the driver's
# framework object (its space and costs)
CHECKS: dict[tuple[str, str], Callable[[Any, tuple, Any], Any]] = {
    ("sampling", "Run"): lambda value, args, fw: sampled(value, fw.space, args[0]),
    ("exploration", "Run"): lambda value, args, fw: proposal_of(value, fw.space, len(fw.cost_names)),
    ("exploration", "Report"): lambda value, args, fw: report_of(value, "Report()"),
    ("ml_model", "Run"): lambda value, args, fw: model_report_of(value),
    ("ml_model", "Save"): lambda value, args, fw: saved(args[0]),
    ("ml_model", "Predict"): lambda value, args, fw: prediction_of(value, len(np.atleast_2d(args[0])),
                                                                   len(fw.cost_names)),
}


def predicted(model: Any, codes: np.ndarray, c: int, name: str, file: str | None = None) -> Prediction:
    """``model.Predict(codes)`` where no driver's `_call` stands between (inference, the Python API): its
    crash or an answer that is no Prediction of those points is one error naming the model plugin."""
    try:
        value = model.Predict(frozen(codes))   # the rows written next to the predictions: never changed
    except (DeffeError, KeyboardInterrupt):
        raise
    except (Exception, SystemExit) as e:
        raise DeffeError(f"ml_model plugin '{name}' failed in Predict(): {type(e).__name__}: {e}", file=file,
                         where="model.plugin") from e
    try:
        return prediction_of(value, len(codes), c)
    except Broken as e:
        raise DeffeError(f"ml_model plugin '{name}': Predict() {e.what}", file=file, where="model.plugin",
                         hint=e.hint) from None
