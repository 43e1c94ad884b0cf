"""Evaluate ``placement``: the analytical simulator of DNN training as an evaluator.

Settings go in ``evaluate.simulator`` (every key and its default is in
``framework/config/schema.py``, ``PLACEMENT``): the network (a zoo name, a
Paleo JSON file, or ``module:function`` returning a PyTorch model and a sample
input), the device graph (a preset or an Exprimo JSON file), the
layer groups, the cost model and the training settings. A JSON file is
relative to the config file; a bare file name that names no file there is a
file bundled with the simulator (``resnet50.json``, ``malvik-4gpu.json``, ...:
``simulator/data/``).

The simulator's kernel is compiled (or loaded from numba's disk cache) in
``Initialize``, in the driver, so that the forked workers inherit it; the first
compile on a machine takes 10 to 30 s and says so.

Knobs the evaluator reads from each point:

* the repeated knob ``device`` (``device_0 .. device_{G-1}``, one per layer
  group; the name is ``simulator.device_knob``): the device of each group, by index or by name
  (``gpu0``, as the device graph names it);
* any setting of ``simulator`` may also be a knob, to explore it: ``batch_size``,
  ``micro_batches``, ``schedule``, ``replicas``, ``precision``, ``optimizer``,
  ``cost_model``, ``devices``, ``memory_cap_gb``, ``training_algorithm``,
  ``memory_budget`` (bytes, or a fraction of each device's memory if <= 1),
  ``remat`` (``off`` | ``all``: a device over its budget rematerialises, see
  ``simulator/remat_placement.py``) and ``remat_heuristic``;
* knobs named in a ``devices`` template: ``"devices": "cpu+{gpus}x{gpu}-{link}"``
  with knobs ``gpus``, ``gpu`` (V100, A100, ...) and ``link`` (pcie3, nvlink3, ...)
  explores the machine itself.

Costs it gives: ``step_time`` (s), ``throughput`` (samples/s), ``peak_memory``
(bytes, the largest over the devices), ``memory_use`` (the largest fraction of
its budget any device needs, its memory unless ``memory_budget``: above 1 does
not fit), ``comm_bytes``,
``comm_time`` (s), ``remat_time`` (s of recompute added by rematerialisation) and
``feasible`` (1 or 0). A placement that does not fit in memory is ``infeasible`` (its costs are
stored, with the step time it would take and its throughput), unless
``simulator.memory`` is ``penalty`` (stored ok with the penalised step time and ``feasible`` 0) or ``ignore``
(stored ok with the simulated step time and ``feasible`` 0).
"""
from __future__ import annotations

import dataclasses
import math
import os
import re
from typing import Any

import numpy as np

from framework.errors import DeffeError, did_you_mean
from framework.guard import file_digests
from framework.plugins import find_module
from framework.protocols import EvaluationOutput, Infeasible

COSTS = ("step_time", "throughput", "peak_memory", "memory_use", "comm_bytes", "comm_time", "remat_time",
         "feasible")
UNITS = {"step_time": "s", "throughput": "samples/s", "peak_memory": "B", "comm_bytes": "B", "comm_time": "s",
         "remat_time": "s"}
SIM_SETTINGS = ("cost_model", "batch_size", "ppp_comp", "ppp_comm", "micro_batches", "schedule", "replicas",
                "precision", "optimizer", "memory", "memory_penalty", "training_algorithm", "memory_budget",
                "remat", "remat_heuristic")
COMBINATIONS = 256   # knob value combinations Initialize tries at most, for one that runs (each ~1 ms)
POINT_SETTINGS = ("batch_size", "micro_batches", "schedule", "replicas", "precision", "optimizer", "cost_model",
                  "devices", "memory_cap_gb", "training_algorithm", "memory_budget", "remat", "remat_heuristic")


class PlacementEvaluate:
    units = UNITS   # how the driver shows these costs (memory_use is a fraction of the capacity)
    def __init__(self, framework):
        self.framework = framework

    def Initialize(self) -> None:
        import simulator as sim

        self.sim = sim
        fw = self.framework
        self.file = fw.config.data.get("__origin__")
        self.opts = dict(fw.section("evaluate")["simulator"])
        unknown = [c for c in fw.cost_names if c not in COSTS]
        if unknown:
            raise DeffeError(f"the placement evaluator gives no cost '{unknown[0]}'", file=self.file,
                             where="costs", hint=did_you_mean(unknown[0], COSTS) or f"costs: {', '.join(COSTS)}")
        family = self.opts["device_knob"]
        self.device_knobs = fw.space.families().get(family, [])
        others = [k.name for k in fw.space.knobs if k.family != family]
        self.template = [f for f in re.findall(r"\{(\w+)\}", self.opts["devices"])]
        missing = [f for f in self.template if f not in others]
        if missing:
            raise DeffeError(f"the devices template names '{missing[0]}', which is not a knob", file=self.file,
                             where="evaluate.simulator.devices")
        stray = [n for n in others if n not in POINT_SETTINGS and n not in self.template]
        if stray:
            raise DeffeError(f"knob '{stray[0]}' means nothing to the placement evaluator", file=self.file,
                             where="knobs", hint=f"it reads the repeated knob '{family}' and the settings "
                                                 f"{', '.join(POINT_SETTINGS)}")
        self.point_settings = [n for n in others if n in POINT_SETTINGS or n in self.template]
        try:
            self.network = self._network()
        except self.sim.SimulatorError as e:
            raise DeffeError(str(e), file=self.file, where="evaluate.simulator.network") from None
        groups = len(self.network.groups)
        if self.device_knobs and len(self.device_knobs) != groups:
            raise DeffeError(f"'{family}' stands for {len(self.device_knobs)} layer groups, the network has "
                             f"{groups}", file=self.file, where="knobs",
                             hint=f"set its count to {groups}, or evaluate.simulator.groups to "
                                  f"{len(self.device_knobs)}")
        self._check_set_twice()
        self._graphs: dict[Any, Any] = {}
        self._prepared: dict[Any, Any] = {}
        # the values each setting knob takes: a continuous knob's range ends (its code 0 is the value 0.0,
        # not its low end: a memory_budget of 0.2 to 1 was refused as 0)
        self.choices = {n: _knob_values(fw.space[n]) for n in self.point_settings}
        # every fixed part is checked now: a bad preset or setting is a config error, not a failed sample
        first = {n: values[0] for n, values in self.choices.items()}
        fixed_machine = "devices" not in self.point_settings and not self.template
        try:
            prepared, failed = self._prepare(first), None
        except DeffeError as e:   # a knob's value may be what is bad (named as the knob's), or only the pair
            prepared, failed = None, e
        graph = None
        if fixed_machine:
            try:
                graph = self._graph(self.opts["devices"], first.get("memory_cap_gb", self.opts.get("memory_cap_gb")))
            except Exception:  # noqa: BLE001 - the machine itself is what is wrong: the first error says so
                graph = None
        self._check_setting_knobs(first, graph)
        self._check_template_knobs()
        if failed is not None:   # no value is wrong alone: the first values may just not go together
            first, prepared = self._working_combination(failed)
        self._peak_notes(prepared.devices if fixed_machine else None)
        if self.device_knobs and fixed_machine:
            self._check_devices(prepared.devices, family)
        if not self.device_knobs and fixed_machine:
            from simulator.placement import device_index
            try:
                device_index(int(self.opts["default_device"]), prepared.devices, "default_device")
            except self.sim.SimulatorError as e:
                raise DeffeError(str(e).partition(": ")[2], file=self.file, where="evaluate.simulator.default_device",
                                 hint="it places every group when there is no device knob") from None
        from simulator import kernel
        if not kernel.is_cached():
            fw.log.info("compiling the simulator (once per machine, 10 to 30 s; later runs load it from the cache)")
        prepared.compile_kernel()  # here, in the driver: the forked workers inherit the compiled kernel

    def Fingerprint(self) -> dict:
        """The simulator's version and the network and device files it reads (settings are in the config); for a
        user's PyTorch model, its file, the version of the importer that converts it and a digest of the network
        it converts to: the model file's digest misses the modules it imports (layers.py beside it), whose
        change reused every stored result silently."""
        names = [self.opts["network"], self.opts["devices"]]
        for setting in ("network", "devices"):
            if setting in self.framework.space.names:
                knob = self.framework.space[setting]
                names += [str(knob.value(i)) for i in range(knob.size)] if knob.finite else []
        kinds = {self.opts["network"]: self.sim.data.NETWORKS}
        try:
            files = [self._resolve(n, kinds.get(n, self.sim.data.DEVICE_GRAPHS)) for n in names
                     if self._is_file(str(n)) and "{" not in str(n)]
        except self.sim.SimulatorError as e:   # Initialize reports it first; this is for a caller that did not
            raise DeffeError(str(e), file=self.file, where="evaluate.simulator") from None
        files += [self.network_source] if getattr(self, "network_source", None) else []   # a model's Python file
        found = {"simulator": self.sim.__version__, "files": file_digests(files)}
        if getattr(self, "network_source", None):   # a PyTorch model: how the importer converts it counts too
            from simulator.importers.torch_fx import IMPORTER_VERSION
            found["torch_importer"] = IMPORTER_VERSION
            if getattr(self, "network", None) is not None:   # Initialize built it (a caller may not have)
                found["network"] = network_digest(self.network)
        return found

    def _peak_notes(self, graph) -> None:
        """A warning per device file and precision of the run that the file gives no peak for (Exprimo's files
        give one, fp32: an fp16 run took the fp32 peak without a word); `graph` is the fixed machine, else the
        files a devices knob names are looked at."""
        from simulator.importers.exprimo import fp32_peak_note
        space = self.framework.space
        if "precision" in self.point_settings:
            knob = space["precision"]
            precisions = [str(knob.value(i)) for i in range(knob.size)] if knob.finite else []
        else:
            precisions = [str(self.opts.get("precision") or "fp32")]
        graphs = [graph] if graph is not None else []
        if graph is None and "devices" in self.point_settings and not self.template and space["devices"].finite:
            for i in range(space["devices"].size):
                try:
                    graphs.append(self._graph(str(space["devices"].value(i)), self.opts.get("memory_cap_gb")))
                except self.sim.SimulatorError:   # with memory_cap_gb a knob, say; a bad file fails its samples
                    continue
        notes = dict.fromkeys(fp32_peak_note(g, p) for g in graphs for p in dict.fromkeys(precisions))
        for note in notes:
            if note:
                self.framework.log.warning(f"warning: {note}")

    def _check_devices(self, graph, family: str) -> None:
        """Every value of the device knob names a device of the (fixed) graph, by index or by name: a value
        that names none is a config error now, not a failed evaluation of every placement that uses it."""
        from simulator.placement import device_index
        seen = set()
        for name in self.device_knobs:
            knob = self.framework.space[name]
            for i in range(knob.size if knob.finite else 0):
                value = knob.value(i)
                if repr(value) in seen:
                    continue
                seen.add(repr(value))
                try:
                    device_index(_device_value(value), graph, f"value {value!r}")
                except self.sim.SimulatorError as e:
                    raise DeffeError(f"knob '{family}': {e}", file=self.file, where="knobs",
                                     hint=f"its values are devices of '{self.opts['devices']}', by index or "
                                          "by name") from None

    def _check_setting_knobs(self, first: dict, graph) -> None:
        """Every value of a knob that sets a simulator setting (its range's ends for a continuous one) is a
        valid setting on its own: a bad one ("schedule": ["gpipe", "zb"]) is a config error now, not every
        sample that draws it stored infeasible. Each value is checked with the fixed settings and the
        simulator's defaults for the other knobs, so a value that only fails with some other knob's values
        (a batch not divisible by one of the micro-batch counts) stays an infeasible combination. The fixed
        settings are checked alone first: a bad one is theirs, not the first knob's checked with them."""
        fixed = {k: self.opts[k] for k in SIM_SETTINGS if self.opts.get(k) is not None and k not in first}
        self._check_fixed_settings(fixed, graph)
        for name in self.point_settings:
            if name in self.template and name not in POINT_SETTINGS:
                continue
            for value in _distinct(self.choices[name]):
                try:
                    if name in SIM_SETTINGS:
                        self._check_settings({**fixed, name: value}, graph)
                    elif name == "memory_cap_gb":
                        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
                                or not math.isfinite(value):
                            raise self.sim.SimulatorError(f"memory_cap_gb must be a number of GB > 0, not {value!r}")
                    elif name == "devices" and "{" not in str(value):
                        self._graph(str(value), first.get("memory_cap_gb", self.opts.get("memory_cap_gb")))
                except self.sim.SimulatorError as e:
                    raise DeffeError(f"knob '{name}': value {value!r}: {e}", file=self.file, where="knobs") from None

    def _check_set_twice(self) -> None:
        """A setting the config fixes in evaluate.simulator and a knob too is a config error: the knob's
        values were used and the fixed one dropped without a word. Settings with a default (`devices`) always
        have a value: only one the config gives counts, even the default's own value."""
        origins = self.framework.config.origins
        for name in self.point_settings:
            where = f"evaluate.simulator.{name}"
            if name in POINT_SETTINGS and self.opts.get(name) is not None and where in origins:
                raise DeffeError(f"'{name}' is set both in evaluate.simulator and as a knob",
                                 file=origins[where], where=where, hint="remove one")

    def _check_template_knobs(self) -> None:
        """Every value of a knob the devices template names makes a machine with some value of the template's
        other knobs: one that makes none ("gpu": ["A100", "V1OO"]) is a config error naming the knob and the
        value, not every sample that draws it stored infeasible; one that fails only with some values of the
        others (V100 with nvlink3) is an infeasible combination. At most COMBINATIONS of the others are tried
        per value, nearest their first values first."""
        names = [n for n in self.template if n in self.choices]
        for name in names:
            others = [n for n in names if n != name]
            for value in _distinct(self.choices[name]):
                error = None
                for combo in _nearest_first([len(self.choices[o]) for o in others], COMBINATIONS):
                    point = {name: value, **{o: self.choices[o][i] for o, i in zip(others, combo)}}
                    try:
                        self._graph(self._devices_name(point), None)
                        break
                    except self.sim.SimulatorError as e:
                        error = error or e
                else:
                    raise DeffeError(f"knob '{name}': value {value!r}: {error}", file=self.file, where="knobs",
                                     hint=f"it fills {{{name}}} of the devices template "
                                          f"'{self.opts['devices']}'") from None

    def _working_combination(self, failed: DeffeError):
        """The first combination of the setting knobs' values (nearest their first values first, at most
        COMBINATIONS) that prepares, for Initialize's checks of the machine and the kernel's compile: the
        first values need not go together (batch 30 with 4 micro-batches), which is an infeasible
        combination, not a bad config. None runs: a config error naming the knobs, or the first error itself
        when every combination fails with it (a fixed part is what is wrong)."""
        names = list(self.choices)
        errors = set()
        tried = 0
        for combo in _nearest_first([len(self.choices[n]) for n in names], COMBINATIONS):
            point = {n: self.choices[n][i] for n, i in zip(names, combo)}
            tried += 1
            try:
                return point, self._prepare(point)
            except DeffeError as e:
                errors.add((e.where, e.what))
        if errors <= {(failed.where, failed.what)}:
            raise failed
        knobs = ", ".join(f"'{n}'" for n in names)
        raise DeffeError(f"no combination of the values of knobs {knobs} runs ({tried} tried; the first: "
                         f"{failed.what})", file=self.file, where="knobs",
                         hint="give them values that work together") from None

    def _check_fixed_settings(self, fixed: dict, graph) -> None:
        """The fixed settings (with the simulator's defaults for the knobs) are valid: else a config error at
        the setting that gives the same error alone (evaluate.simulator.memory_budget), or at
        evaluate.simulator for a combination of them (the same error: a key alone may fail otherwise, as
        micro_batches 3 alone does with the network's batch of 64 where the config's batch_size is 9)."""
        try:
            self._check_settings(fixed, graph)
            return
        except self.sim.SimulatorError as e:
            whole = str(e)
        for key, value in fixed.items():
            try:
                self._check_settings({key: value}, graph)
            except self.sim.SimulatorError as e:
                if str(e) == whole:
                    raise DeffeError(whole, file=self.file, where=f"evaluate.simulator.{key}") from None
        raise DeffeError(whole, file=self.file, where="evaluate.simulator")

    def _check_settings(self, settings: dict, graph) -> None:
        """The simulator's error if these settings cannot run the network (on `graph`, the fixed machine; None
        when the machine is a knob: its device names are not known)."""
        from simulator.remat_placement import budgets, remat_mask
        from simulator.settings import Settings
        s = Settings.make(**settings)
        s.split_batch(s.batch_size or self.network.batch_size or 1)
        if graph is not None:
            names = [d.name for d in graph.devices]
            budgets(s.memory_budget, np.array([d.memory for d in graph.devices], float), names)
            remat_mask(s.remat, names)

    # ------------------------------------------------------------------ fixed parts
    def _is_file(self, name: str) -> bool:
        return names_file(name, self.framework.config.dir)

    def _resolve(self, name: str, kind: str) -> str:
        """A JSON file relative to the config file, else the bundled file of that name."""
        return self.sim.data.locate(name, kind, base=self.framework.config.dir)

    def _network(self):
        name = self.opts["network"]
        if self._is_file(name):
            if self.opts.get("network_config"):   # a JSON file has no settings: it was ignored without a word
                raise DeffeError(f"network_config means nothing to the Paleo JSON network '{name}'", file=self.file,
                                 where="evaluate.simulator.network_config",
                                 hint="it applies to zoo names and module:function builders; remove it")
            net = self.sim.load_network(self._resolve(name, self.sim.data.NETWORKS))
        elif ":" in name:
            net = self._user_network(name)
        else:
            net = self.sim.zoo.load(name, **(self.opts.get("network_config") or {}))
        if self.opts.get("groups"):
            net = net.regroup(int(self.opts["groups"]), by=self.opts["grouping"])
        return net

    def _user_network(self, spec: str):
        """'module:function': the function (given network_config as keyword arguments) returns a PyTorch model
        and a sample input, traced by the simulator's torch.fx importer, or a simulator Network."""
        cfg, where = self.framework.config, "evaluate.simulator.network"
        module_name, _, func_name = spec.rpartition(":")
        module = find_module("evaluate", module_name, cfg.dir, cfg.python_paths() + [cfg.dir], self.file, where)
        fn = getattr(module, func_name, None)
        if not callable(fn):
            raise DeffeError(f"module '{module_name}' has no function '{func_name}'", file=self.file, where=where)
        self.network_source = getattr(module, "__file__", None)
        try:
            built = fn(**(self.opts.get("network_config") or {}))
        except KeyboardInterrupt:
            raise
        except BaseException as e:   # the user's code (sys.exit() too: it ended the run silently): one line
            raise DeffeError(f"{spec} failed: {_one_line(e)}", file=self.file, where=where) from None
        try:
            # a SimulatorError: Initialize names the setting; what the import costs otherwise than PyTorch runs
            # it (gradient stops, checkpointing): one line on the console and in deffe.log
            from simulator.importers.torch_checks import reporting_warnings
            return reporting_warnings(lambda: self.sim.from_built(built, spec), self.framework.log.warning)
        except (self.sim.SimulatorError, KeyboardInterrupt):
            raise
        except BaseException as e:   # the model's forward, run while it is traced
            raise DeffeError(f"{spec} failed while tracing the model: {_one_line(e)}", file=self.file,
                             where=where) from None

    def _check_cap(self, cap_gb: float | None) -> None:
        if cap_gb is not None and (isinstance(cap_gb, bool) or not isinstance(cap_gb, (int, float))
                                   or not 0 < cap_gb < math.inf):
            # it was blamed on the devices: "device 'gpu0': memory must be > 0"
            raise self.sim.SimulatorError(f"memory_cap_gb must be a number of GB > 0, not {cap_gb!r}")

    def _graph(self, name: str, cap_gb: float | None):
        key = (name, cap_gb)
        self._check_cap(cap_gb)
        if key not in self._graphs:
            if self._is_file(name):
                g = self.sim.load_device_graph(self._resolve(name, self.sim.data.DEVICE_GRAPHS))
            else:
                g = self.sim.devices.preset(name)
            if cap_gb is not None:
                devices = [dataclasses.replace(d, memory=min(d.memory, cap_gb * 1e9)) if d.kind == "gpu" else d
                           for d in g.devices]
                capped = self.sim.DeviceGraph(devices, g.channels, g.links, name=f"{g.name} (GPU memory {cap_gb:g} GB)",
                                              source=g.source)
                capped.fp32_peak_only = getattr(g, "fp32_peak_only", {})   # for the warning of _peak_notes
                g = capped
            self._graphs[key] = g
        return self._graphs[key]

    def _prepare(self, point_values: dict):
        settings = {k: self.opts[k] for k in SIM_SETTINGS if self.opts.get(k) is not None}
        settings.update({k: v for k, v in point_values.items() if k in SIM_SETTINGS})
        devices = self._devices_name(point_values)
        cap = point_values.get("memory_cap_gb", self.opts.get("memory_cap_gb"))
        key = (devices, cap, repr(sorted(settings.items())))  # repr: a budget may be a dict
        if key not in self._prepared:
            for setting, check in (("memory_cap_gb", lambda: self._check_cap(cap)),
                                   ("devices", lambda: self._graph(devices, cap))):
                try:   # named as the setting, not evaluate.simulator: a device file's error is the file's
                    check()
                except self.sim.SimulatorError as e:
                    raise DeffeError(str(e), file=self.file, where=f"evaluate.simulator.{setting}") from None
            try:
                self._prepared[key] = self.sim.prepare(self.network, self._graph(devices, cap), **settings)
            except self.sim.SimulatorError as e:
                raise DeffeError(str(e), file=self.file, where="evaluate.simulator") from None
        return self._prepared[key]

    def _devices_name(self, point_values: dict) -> str:
        """The device graph a point names: the devices knob's value or setting, its template filled in."""
        devices = point_values.get("devices", self.opts["devices"])
        if self.template:
            from framework.values import format_value
            devices = devices.format(**{f: format_value(point_values[f]) for f in self.template})
        return devices

    # ------------------------------------------------------------------ one point
    def Run(self, sample):
        values = sample.values
        try:
            simulator = self._prepare({n: values[n] for n in self.point_settings})
        except DeffeError as e:  # a combination of knob values that names no machine / setting
            raise Infeasible(e.what) from None
        if self.device_knobs:
            placement = [_device_value(values[n]) for n in self.device_knobs]
        else:
            placement = int(self.opts["default_device"])
        try:
            r = simulator.run(placement)
        except self.sim.SimulatorError as e:
            # only where the machine is a knob (Initialize checked the devices of a fixed one): a placement on
            # a device this machine lacks (device 6 of 4 GPUs) is a design that cannot run, not a failure
            raise Infeasible(str(e)) from None
        mode = self.opts.get("memory") or "infeasible"
        # "infeasible": the step time it would take (the simulator's is inf), stored infeasible; "penalty": the
        # penalised time; "ignore": the simulated time
        # "infeasible": the throughput of that step too (the simulator's is 0, of its infinite step time)
        costs = {"step_time": float(r.raw_step_time if mode == "infeasible" else r.step_time),
                 "throughput": _throughput(r.batch_size, r.raw_step_time) if mode == "infeasible"
                 else float(r.throughput), "peak_memory": float(max(r.peak_memory)),
                 "memory_use": _memory_use(r.peak_memory, r.memory_budget),
                 "comm_bytes": float(r.comm_bytes), "comm_time": float(r.comm_time),
                 "remat_time": float(sum(o for o in r.remat_overhead if math.isfinite(o))),
                 "feasible": 1.0 if r.feasible else 0.0}
        costs = {k: v for k, v in costs.items() if k in self.framework.cost_names}
        if not r.feasible and mode == "infeasible":
            over = [f"{n} needs {_need_of(m, c)}" + (" (rematerialising does not fit either)" if used else "")
                    for n, m, c, used in zip(r.device_names, r.peak_memory, r.memory_budget, r.remat_used) if m > c]
            raise Infeasible("out of memory: " + "; ".join(over), costs)
        if not math.isfinite(costs.get("step_time", 0.0)):
            return EvaluationOutput(costs, "infeasible", "the step time is infinite")
        return costs


def names_file(name: str, config_dir) -> bool:
    """A network or device-graph setting that names a file: a JSON name (in any case) or a path that exists
    beside the config ("net.JSON" was taken for a zoo model). The remat evaluator's device takes the same."""
    return name.lower().endswith(".json") or os.path.isfile(os.path.join(config_dir, name))


def network_digest(net) -> str:
    """A digest of what the simulator reads of a network: every layer's op (a frozen dataclass, whose repr
    holds its attributes), parents, shapes and counts, the weight sharing, the groups and the default batch.
    Taken of the converted network, it covers whatever code the model's file imports."""
    import hashlib
    import json
    layers = [[l.name, repr(l.op), l.parents, l.in_shapes, l.out_shape, l.params, l.fwd_flops, l.dgrad_flops,
               l.wgrad_flops, l.fwd_read, l.fwd_write, l.saved, l.saved_inputs, l.saves_output, l.saved_private,
               l.is_view, l.needs_dgrad, l.shares_weights_with, l.block, sorted(l.extra.items())]
              for l in net.layers]
    groups = [[g.name, list(g.layers)] for g in net.groups]
    text = json.dumps([layers, groups, net.batch_size], default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _knob_values(knob) -> list:
    """A knob's values as the evaluator checks them: a finite knob's (the first 100,000), a continuous
    knob's range ends, low first (its code 0 is the value 0.0, which may lie outside its range)."""
    if knob.finite:
        return [knob.value(i) for i in range(min(knob.size, 100_000))]
    return [float(v) for v in (knob.low, knob.high) if v is not None]


def _distinct(values: list) -> list:
    """The values without repeats, in their order (by repr: 1 and 1.0 differ, a budget may be a dict)."""
    return list({repr(v): v for v in values}.values())


def _nearest_first(sizes: list[int], limit: int):
    """Index tuples of the product of lists of these sizes, the smallest sum of indices first (the first
    values' neighbours first), then in order; at most `limit`: deterministic and bounded however big the
    product is."""
    spare = [sum(s - 1 for s in sizes[i:]) for i in range(len(sizes) + 1)]   # the largest sum of the rest

    def with_sum(i: int, total: int):
        if i == len(sizes):
            yield ()
            return
        for j in range(max(0, total - spare[i + 1]), min(sizes[i] - 1, total) + 1):
            for rest in with_sum(i + 1, total - j):
                yield (j, *rest)

    count = 0
    for total in range(spare[0] + 1):
        for combo in with_sum(0, total):
            yield combo
            count += 1
            if count >= limit:
                return


def _throughput(batch_size: int, step_time: float) -> float:
    """Samples per second of a step, as the simulator counts them (0 for a step that takes no finite time)."""
    return float(batch_size / step_time) if math.isfinite(step_time) and step_time > 0 else 0.0


def _device_value(value):
    """A device knob's value as the simulator takes it (an index, "1" or a name such as "gpu0", which
    simulator.placement.device_index reads): an integral float (1.0) as the index it stands for."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _fmt_bytes(n: float, digits: int = 2) -> str:
    """Bytes in the decimal unit that fits (GB, MB, kB, B): a 1 MB device's '0.00 GB of 0.00 GB' said nothing."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.{digits}f} {unit}"
    return f"{n:.0f} B"


def _need_of(need: float, capacity: float) -> str:
    """'4.81 MB of 1.00 MB', with more digits where two figures would read the same."""
    a, b = _fmt_bytes(need), _fmt_bytes(capacity)
    if a == b:
        a, b = _fmt_bytes(need, 6), _fmt_bytes(capacity, 6)
    return f"{a} of {b}"


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def _memory_use(peak, capacity) -> float:
    """The largest fraction of its memory a device needs; a continuous cost a model can learn, unlike
    'fits or not' (devices of unknown capacity do not count)."""
    use = [float(m) / float(c) for m, c in zip(peak, capacity) if c and math.isfinite(c) and c > 0]
    return max(use) if use else 0.0


def GetObject(framework):
    return PlacementEvaluate(framework)
