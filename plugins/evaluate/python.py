"""Evaluate ``python``: a Python function ``module:function`` evaluates each point.

The function takes the point (a dict: knob name -> value) and returns its
costs: a dict keyed by cost name, a number (one cost), or a list in the order
of ``costs``. It may raise ``framework.protocols.Infeasible`` for a point that
cannot run. The module is found on ``python_path`` (or give a ``.py`` path,
relative to the config). A function with a ``sample`` parameter also receives
the `Sample` (its id and run directory).
"""
from __future__ import annotations

import inspect

from framework.errors import DeffeError
from framework.guard import file_digests
from framework.plugins import find_module


class PythonEvaluate:
    def __init__(self, framework):
        self.framework = framework
        self.options = framework.section("evaluate")

    def Initialize(self) -> None:
        cfg = self.framework.config
        file = cfg.file_of("evaluate.function")
        spec = self.options.get("function")
        if not spec or ":" not in spec:
            raise DeffeError("the python evaluator needs 'function' as 'module:function'", file=file,
                             where="evaluate.function", hint='e.g. "function": "my_model:evaluate"')
        module_name, _, func_name = spec.rpartition(":")
        # the config's own directory is searched last, after python_path
        module = find_module("evaluate", module_name, cfg.dir, cfg.python_paths() + [cfg.dir], file,
                             "evaluate.function")
        fn = getattr(module, func_name, None)
        if not callable(fn):
            raise DeffeError(f"module '{module_name}' has no function '{func_name}'", file=file,
                             where="evaluate.function")
        self.fn = fn
        try:
            self.wants_sample = "sample" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            self.wants_sample = False

    def Fingerprint(self) -> dict:
        """The source of the module holding the function: a changed model gives other costs."""
        try:
            return file_digests([inspect.getsourcefile(self.fn)])
        except TypeError:   # a builtin: nothing to read
            return {}

    def Run(self, sample):
        if self.wants_sample:
            return self.fn(dict(sample.values), sample=sample)
        return self.fn(dict(sample.values))


def GetObject(framework):
    return PythonEvaluate(framework)
