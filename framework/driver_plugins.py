"""The Driver's plugins: each block's plugin made and initialised, and every call to one checked, so
that a plugin's crash or an answer that breaks its block's contract is one error naming it."""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from .contract import CHECKS, Broken, checked, units_of
from .errors import DeffeError
from .handover import Built, NotEvaluating
from .plugins import make_plugin


class PluginCalls:
    def _plugin(self, block: str, name: str):
        obj = make_plugin(block, name, self.fw, self.config.dir, self.config.python_paths(),
                          file=self.config.data.get("__origin__"))
        self._names[id(obj)] = (block, name)
        return obj

    def _call(self, obj: Any, method: str, *args):
        """Call a plugin method; its crash (an exception, sys.exit() too) or an answer that breaks its block's
        contract (contract.py) becomes one clear error naming the plugin (the stored results stay)."""
        try:
            obj = getattr(obj, "_deffe_plugin", obj)   # a contract.Checked stand-in: the plugin itself
        except Exception:   # a plugin's own __getattr__ raising (a KeyError of a proxy): no stand-in, the plugin
            pass
        block, name = self._names.get(id(obj), ("?", type(obj).__name__))
        try:
            value = getattr(obj, method)(*args)
        except (DeffeError, KeyboardInterrupt):
            raise
        except (Exception, SystemExit) as e:
            debug = getattr(self.args, "debug", False)
            if debug and not isinstance(e, SystemExit):
                raise   # (sys.exit() would end the run quietly: the error below, whose cause -debug shows)
            from .errors import join_hints
            from .plugins import deffe_hint_of_call, deffe_hint_of_error   # (a plugin of the original Deffe's)
            hint = "the arrays a plugin is given are read-only: change a copy (np.array(codes))" \
                if isinstance(e, ValueError) and "read-only" in str(e) else \
                join_hints(deffe_hint_of_call(obj, method, args, e) or deffe_hint_of_error(e),
                           None if debug else "run with -debug for the traceback")
            raise self._plugin_error(block, name, f"failed in {method}(): {type(e).__name__}: {e}", hint) from e
        check = CHECKS.get((block, method))
        if check is None:
            return value
        try:
            return check(value, args, self.fw)
        except Broken as e:
            raise self._plugin_error(block, name, f"{method}() {e.what}", e.hint) from None

    def _plugin_error(self, block: str, name: str, what: str, hint: str | None) -> DeffeError:
        section = {"ml_model": "model"}.get(block, block)
        return DeffeError(f"{block} plugin '{name}': {what}" if not what.startswith("failed in")
                          else f"{block} plugin '{name}' {what}", file=self.config.file_of(f"{section}.plugin"),
                          where=f"{section}.plugin", hint=hint)

    def _make_plugins(self) -> tuple[Any, Any, Any, Any]:
        """Build and initialise one exploration's plugins (the framework entered it): the preflight does, for
        every exploration, and hands them to the run (`_use_built`)."""
        cfg = self.config
        sampling = self._plugin("sampling", cfg.section("sampling")["plugin"])
        self._call(sampling, "Initialize")
        if getattr(self.args, "only_preloaded_data_exploration", False):
            from .preloaded_sampler import PreloadedSampler
            sampling = PreloadedSampler(self.fw, self.store, ordered=getattr(self.args, "full_exploration", False))
            self._call(sampling, "Initialize")
        # the exploration calls the sampler and the model itself: through the driver, which checks their answers
        # and names them when they fail
        self.fw.sampling = checked(self, sampling, "Run")
        model = None
        model_name = cfg.section("model").get("plugin")
        if model_name and not getattr(self.args, "no_train", False):
            model = self._plugin("ml_model", model_name)
            self._call(model, "Initialize")
        self._warn_no_stats(model)
        self._warn_unread_keys(model)
        # Deffe's -no-inference: the model trains, and its predictions choose nothing
        self.fw.model = None if getattr(self.args, "no_inference", False) else checked(self, model, "Predict")
        evaluate = self._evaluation_block("evaluate")
        units = self._units(evaluate)   # an evaluator may say the units of its costs
        self.fw.costs = [c if c.unit or not units.get(c.name) else replace(c, unit=units[c.name])
                         for c in cfg.costs]
        extract = self._evaluation_block("extract")
        exploration = self._plugin("exploration", cfg.section("exploration")["plugin"])
        self._call(exploration, "Initialize")
        return exploration, evaluate, extract, model

    def _warn_no_stats(self, model: Any) -> None:
        """-model-stats-output with no model to train: said once (not per exploration), as an output asked for
        that never comes would otherwise read as lost."""
        target = getattr(self.args, "model_stats_output", None)
        if model is None and target and not getattr(self, "_stats_warned", False):
            self._stats_warned = True
            self.log.warning(f"warning: -model-stats-output {target}: no model is trained (model.plugin is null, "
                             "or -no-train), so it has nothing to write and is not written; give a model to have "
                             "its training statistics")

    def _warn_unread_keys(self, model: Any) -> None:
        """Keys given for a built-in plugin that it never reads (config/ignored.py): once, with the plugins the
        command line left (no model block's keys when no model trains)."""
        if getattr(self, "_keys_warned", False):
            return
        self._keys_warned = True
        from .config.ignored import READ_BY, unread_plugin_keys
        blocks = tuple(b for b in READ_BY if b != "model" or model is not None)
        for line in unread_plugin_keys(self.config.data, self.config.origins, blocks):
            self.log.warning(f"warning: {line}")

    def _units(self, evaluate: Any) -> dict[str, str]:
        units = self._optional(evaluate, "units", block="evaluate")
        try:
            return units_of(units)
        except Broken as e:
            block, name = self._names.get(id(evaluate), ("evaluate", type(evaluate).__name__))
            raise self._plugin_error(block, name, f"its units attribute {e.what}", e.hint) from None

    def _optional(self, obj: Any, attr: str, default: Any = None, block: str = "exploration") -> Any:
        """A plugin's optional attribute (units, adaptive, Finish, Report, Pending): one whose property or
        __getattr__ raises anything but AttributeError is a one-line error naming the plugin (``block``: its
        block when the driver did not make it), not a traceback."""
        try:
            return getattr(obj, attr, default)
        except DeffeError:
            raise
        except (Exception, SystemExit) as e:
            if getattr(self.args, "debug", False):
                raise
            block, name = self._names.get(id(obj), (block, type(obj).__name__))
            hint = f"an attribute it does not have raises AttributeError (the framework reads getattr(obj, " \
                f"'{attr}', None)); run with -debug for the traceback" if isinstance(e, LookupError) else \
                "run with -debug for the traceback"
            raise self._plugin_error(block, name, f"reading its {attr} attribute failed: {type(e).__name__}: {e}",
                                     hint) from e

    def _evaluation_block(self, block: str) -> Any:
        """The evaluate or extract plugin, initialised. With -only-preloaded-data-exploration nothing is
        evaluated, so one that cannot be built (Deffe's evaluate script or a simulator that is not on this
        machine, next to data measured elsewhere) is not needed: say so and go on without it."""
        try:
            obj = self._plugin(block, self.config.section(block)["plugin"])
            self._call(obj, "Initialize")
            return obj
        except DeffeError as e:
            if not getattr(self.args, "only_preloaded_data_exploration", False):
                raise
            stand_in = NotEvaluating(e)
            self._not_usable(block, stand_in)
            return stand_in

    def _not_usable(self, block: str, stand_in: Any) -> None:
        if isinstance(stand_in, NotEvaluating):
            self.log.warning(f"{block} block not usable ({stand_in.why.what}); not needed with "
                             "-only-preloaded-data-exploration, which evaluates nothing")

    def _use_built(self, built: Built) -> tuple[Any, Any, Any, Any]:
        """The plugins the preflight built for this exploration, as `_make_plugins` would give them: the
        framework as they were initialised with (the same budget, history and costs), what they said."""
        fw = self.fw
        fw.costs = built.costs
        fw.sampling = checked(self, built.sampling, "Run")
        fw.model = None if getattr(self.args, "no_inference", False) else checked(self, built.model, "Predict")
        for level, message, shown in built.said:
            if not shown:
                self.log.log(level, message)
                continue
            record = self.log.makeRecord(self.log.name, level, __file__, 0, message, None, None)
            for handler in self.log.handlers:   # the run's log file (the terminal had it)
                if isinstance(handler, logging.FileHandler) and level >= handler.level:
                    handler.handle(record)
        self._not_usable("evaluate", built.evaluate)
        self._not_usable("extract", built.extract)
        self._warn_no_stats(built.model)   # (the preflight's driver warned to no one: the run says these)
        self._warn_unread_keys(built.model)
        return built.exploration, built.evaluate, built.extract, built.model



