"""Evaluate ``remat``: replay an operator trace under a memory budget (DTR, ``simulator.remat``).

Settings go in ``evaluate.options``; each may also be a knob (the knob wins):

* ``trace``: a DTR log (JSON lines, or DTR's ``logs.zip`` with ``model``), a
  Paleo network JSON file (relative to the config, else a bundled one: ``mnist.json``), or a zoo network name
  (``resnet50``, ...). Networks become traces with ``trace_from_network`` on
  ``device`` (default a V100 PCIe; a GPU: a variant such as ``A100-SXM4`` or a family such as
  ``A100``, its PCIe variant; a preset or an Exprimo device file, relative to the config: its first GPU) with ``cost_model``, ``precision`` and
  ``batch_size`` (networks only: with a log it is an error, as ``--batch-size`` is);
* ``model``: the model inside ``logs.zip`` (``resnet32``, ``lstm``, ...; with a
  network trace it is an error, as ``--model`` is, unless ``trace`` is a knob);
* ``budget_ratio`` (default 0.5, a number > 0, finite): the budget as a fraction of the trace's own
  peak without a budget (1 or more: no eviction is needed);
* ``heuristic`` (default ``dtr_eq``): dtr, dtr_eq, dtr_local, msps, lru, largest, random;
* ``runtime`` (default ``eager_free``): ``eager_free`` (a released tensor is
  freed at once), ``banish`` (also forget evicted tensors nothing can need) or
  ``lazy`` (released tensors stay until evicted);
* ``thrash_limit`` (default 2, a number >= 1): a replay beyond this overhead stops (thrashing); ``seed``
  (random; an integer in [0, 2**32)).

Every option (and every value of a knob that sets one; both ends of a ``batch_size`` range, whose
other traces are built when a sample first needs them) is checked in ``Initialize``: a bad one is a
config error naming it (``evaluate.options.seed``), not every sample failed.

Costs: ``overhead`` (compute with the budget / compute without), ``peak_memory``
(bytes held at most), ``feasible`` (1, or 0 when the replay ran out of memory or
thrashed: the point is then ``infeasible``), ``compute_time`` (s), ``budget``
(bytes), ``evictions``, ``remats``. The fingerprint holds the simulator's
version and the digest of every trace file the config names and of the device
file, so a changed log (or device) is never mistaken for the one the stored results came from.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from framework.errors import DeffeError, did_you_mean
from framework.guard import file_digests
from framework.protocols import Infeasible
from plugins.evaluate.placement import names_file

COSTS = ("overhead", "peak_memory", "feasible", "compute_time", "budget", "evictions", "remats")
UNITS = {"peak_memory": "B", "compute_time": "s", "budget": "B"}
DEFAULTS = {"trace": None, "model": None, "batch_size": None, "device": None, "cost_model": "roofline",
            "precision": "fp32", "budget_ratio": 0.5, "heuristic": "dtr_eq", "runtime": "eager_free",
            "thrash_limit": 2.0, "seed": 0}
KNOBS = ("trace", "model", "batch_size", "budget_ratio", "heuristic", "runtime", "thrash_limit", "seed")
RUNTIMES = {"eager_free": dict(eager_free=True, banish=False), "banish": dict(eager_free=True, banish=True),
            "lazy": dict(eager_free=False, banish=False)}
LOG_SUFFIXES = (".zip", ".log", ".jsonl", ".txt")


class RematEvaluate:
    units = UNITS

    def __init__(self, framework):
        self.framework = framework

    def Initialize(self) -> None:
        import simulator as sim
        from simulator import remat
        self.sim, self.remat = sim, remat
        fw = self.framework
        self.file = fw.config.data.get("__origin__")
        options = dict(fw.section("evaluate").get("options") or {})
        unknown = [k for k in options if k not in DEFAULTS]
        if unknown:
            raise DeffeError(f"'{unknown[0]}' means nothing to the remat evaluator", file=self.file,
                             where=f"evaluate.options.{unknown[0]}",
                             hint=did_you_mean(unknown[0], DEFAULTS) or f"options: {', '.join(DEFAULTS)}")
        self.opts = DEFAULTS | options
        bad = [c for c in fw.cost_names if c not in COSTS]
        if bad:
            raise DeffeError(f"the remat evaluator gives no cost '{bad[0]}'", file=self.file, where="costs",
                             hint=did_you_mean(bad[0], COSTS) or f"costs: {', '.join(COSTS)}")
        names = [k.name for k in fw.space.knobs]
        stray = [n for n in names if n not in KNOBS]
        if stray:
            raise DeffeError(f"knob '{stray[0]}' means nothing to the remat evaluator", file=self.file,
                             where="knobs", hint=f"its knobs: {', '.join(KNOBS)}")
        self.knobs = names
        self._traces: dict[tuple, Any] = {}
        self._devices: dict[str, Any] = {}   # device files, loaded
        # every trace and model the run can meet is checked now (a bad file or name is a config error, not a
        # failed point), at both ends of a batch_size range (a trace per size took 27 ms each, a minute of
        # silence for 1..2000 before the first line); the other traces are built when a sample needs them
        for values in self._fixed_combinations():
            self._check(values)
            self._trace(values)

    def _values_of(self, name: str) -> list:
        if name in self.knobs:
            knob = self.framework.space[name]
            return [knob.value(i) for i in range(knob.size)] if knob.finite else [self.opts[name]]
        return [self.opts[name]]

    def _ends(self, name: str) -> list:
        """The values of a setting to check at the start: a continuous knob's two ends (every value between
        is checked by them for a bound), else every value it can take."""
        if name in self.knobs and not self.framework.space[name].finite:
            knob = self.framework.space[name]
            return [knob.low, knob.high]
        return self._values_of(name)

    def _checked_values(self, name: str) -> list:
        """The values of a setting whose traces are built at the start: a range knob's two ends, else every
        value (a list's values are what the user wrote, each may be wrong its own way)."""
        from framework.space import ListLevels
        if name in self.knobs:
            levels = self.framework.space[name].levels
            if levels is not None and not isinstance(levels, ListLevels) and len(levels) > 2:
                return [levels[0], levels[len(levels) - 1]]
        return self._values_of(name)

    def _fixed_combinations(self):
        for trace in self._values_of("trace"):
            for model in self._values_of("model"):
                for batch in self._checked_values("batch_size"):
                    yield self.opts | {"trace": trace, "model": model, "batch_size": batch}

    def _where(self, name: str) -> str:
        return "knobs" if name in self.knobs else f"evaluate.options.{name}"

    def _check(self, v: dict) -> None:
        if v["trace"] in (None, ""):
            raise DeffeError("the remat evaluator needs a trace", file=self.file, where="evaluate.options.trace",
                             hint="a DTR log, a Paleo network JSON file or a zoo network name")
        # > 0 and finite, as --budget-ratio: 0 or inf (1e999 in JSON) gave no budget and every sample failed
        for ratio in self._ends("budget_ratio"):
            if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio < math.inf:
                raise DeffeError(f"budget_ratio must be a number > 0, not {ratio!r}", file=self.file,
                                 where=self._where("budget_ratio"),
                                 hint="a fraction of the trace's own peak (0.5: half of it; 1 or more: all of it)")
        for h in self._values_of("heuristic"):
            if h not in self.remat.HEURISTICS:
                raise DeffeError(f"unknown heuristic {h!r}", file=self.file, where=self._where("heuristic"),
                                 hint=did_you_mean(str(h), self.remat.HEURISTICS)
                                 or f"heuristics: {', '.join(self.remat.HEURISTICS)}")
        for rt in self._values_of("runtime"):
            if rt not in RUNTIMES:
                raise DeffeError(f"unknown runtime {rt!r}", file=self.file, where=self._where("runtime"),
                                 hint=f"runtimes: {', '.join(RUNTIMES)}")
        # every sample failed with them ("SimulatorError: seed must be ..."), the run exiting 0
        if "seed" in self.knobs and not self.framework.space["seed"].finite:
            raise DeffeError("seed must take integer values: a continuous range gives fractions", file=self.file,
                             where=self._where("seed"), hint="give a list or an integer range (\"0-9\")")
        for seed in self._values_of("seed"):
            if not _integral(seed) or not 0 <= seed < 2 ** 32:
                raise DeffeError(f"seed must be an integer in [0, 2**32), not {seed!r}", file=self.file,
                                 where=self._where("seed"))
        for limit in self._ends("thrash_limit"):
            if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit >= 1:
                raise DeffeError(f"thrash_limit must be a number >= 1 (the overhead a replay stops at, as a "
                                 f"multiple of the baseline's compute), "
                                 f"not {limit!r}", file=self.file, where=self._where("thrash_limit"))
        # named as themselves (they were reported at evaluate.options.trace)
        from simulator.settings import Settings
        for key in ("cost_model", "precision", "batch_size"):
            try:
                Settings.make(**{key: v[key]})
            except self.sim.SimulatorError as e:
                raise DeffeError(str(e), file=self.file, where=self._where(key)) from None
        try:
            self._device(v["device"])
        except self.sim.SimulatorError as e:
            raise DeffeError(str(e), file=self.file, where="evaluate.options.device") from None
        # what applies to one kind of trace only is an error with the other, as on the command line
        kind = self._kind(v["trace"])
        if kind == "network" and v["model"] is not None and "trace" not in self.knobs:
            raise DeffeError(f"model applies to DTR's logs.zip, not to the network trace {v['trace']!r}",
                             file=self.file, where=self._where("model"), hint="leave it out")
        if kind == "log" and v["batch_size"] is not None and "trace" not in self.knobs:
            raise DeffeError(f"batch_size applies to networks, not to the log {v['trace']!r}", file=self.file,
                             where=self._where("batch_size"), hint="leave it out")

    def _kind(self, trace) -> str | None:
        """'network' (a zoo name, a Paleo network file), 'log' (a DTR log) or None (no such file or name:
        _trace says so)."""
        path = self._path(trace)
        if path is None:
            return "network" if str(trace) in self.sim.zoo.names() else None
        if not path.exists():
            return None
        return "network" if path.suffix == ".json" and not self.remat.is_dtr_log(path) else "log"

    def _device(self, device):
        """The device option as trace_from_network takes it: a device file (relative to the config, else a
        bundled one) loaded, with a warning when its peak for the precision is the fp32 one."""
        path = self._device_file(device)
        if path is not None:
            if device not in self._devices:
                from simulator.importers.exprimo import fp32_peak_note, fp32_peak_only
                graph = self.sim.load_device_graph(path)
                chosen = self.remat.from_network.one_device(graph).devices[0].name
                if chosen in fp32_peak_only(graph, str(self.opts["precision"])):
                    self.framework.log.warning(f"warning: {fp32_peak_note(graph, str(self.opts['precision']))}")
                self._devices[device] = graph
            return self._devices[device]
        self.remat.from_network.one_device(device)   # a bad name: its error now
        return device

    def _device_file(self, device) -> str | None:
        """The device file the device option names (relative to the config, else a bundled one), as the
        placement evaluator takes its devices; None for a GPU or preset name."""
        if isinstance(device, str) and names_file(device, self.framework.config.dir):
            return self.sim.data.locate(device, self.sim.data.DEVICE_GRAPHS, base=self.framework.config.dir)
        return None

    def _path(self, trace: str) -> Path | None:
        """The file a trace names (relative to the config), or None for a zoo name."""
        p = Path(str(trace))
        p = p if p.is_absolute() else Path(self.framework.config.dir) / p
        if not p.exists() and str(trace).endswith(".json"):   # a bundled network by name, as the CLI takes it
            try:
                return Path(self.sim.data.locate(str(trace), self.sim.data.NETWORKS, base=self.framework.config.dir))
            except self.sim.SimulatorError:
                return p
        if p.exists() or str(trace).endswith((".json",) + LOG_SUFFIXES):
            return p
        return None

    def _trace(self, v: dict):
        key = (str(v["trace"]), v["model"], v["batch_size"])
        if key in self._traces:
            return self._traces[key]
        sim, remat = self.sim, self.remat
        path = self._path(v["trace"])
        where = self._where("trace")
        try:
            if path is None:
                if str(v["trace"]) not in sim.zoo.names():
                    raise DeffeError(f"'{v['trace']}' is neither a file nor a zoo network", file=self.file,
                                     where=where, hint=did_you_mean(str(v["trace"]), sim.zoo.names())
                                     or f"zoo: {', '.join(sim.zoo.names())}")
                trace = self._from_network(sim.zoo.load(str(v["trace"]), batch_size=v["batch_size"]), v)
            elif not path.exists():
                raise DeffeError(f"trace file {path.name} does not exist", file=self.file, where=where)
            elif path.suffix == ".json" and not remat.is_dtr_log(path):
                trace = self._from_network(sim.load_network(str(path)), v)
            else:
                trace = remat.load_dtr_log(path, v["model"])
        except remat.dtr_log.ModelNotInArchive as e:   # the model is wrong (or missing), not the trace
            raise DeffeError(str(e), file=self.file, where=self._where("model"),
                             hint=None if v["model"] is not None
                             else "name one with evaluate.options.model or a model knob") from None
        except sim.SimulatorError as e:
            raise DeffeError(str(e), file=self.file, where=where) from None
        self._traces[key] = trace
        return trace

    def _from_network(self, net, v: dict):
        return self.remat.trace_from_network(net, device=self._device(v["device"]), cost_model=v["cost_model"],
                                             precision=v["precision"], batch_size=v["batch_size"])

    def Fingerprint(self) -> dict:
        """The simulator's version and the bytes of every file it reads: the traces (a changed log gives other
        costs) and the device file (a slower GPU gives other compute times; it reused the stored ones)."""
        files = [self._path(t) for t in self._values_of("trace")]
        try:
            files.append(self._device_file(self.opts["device"]))
        except self.sim.SimulatorError as e:   # Initialize reports it first; this is for a caller that did not
            raise DeffeError(str(e), file=self.file, where="evaluate.options.device") from None
        return {"simulator": self.sim.__version__, "files": file_digests([f for f in files if f is not None])}

    def Run(self, sample):
        v = self.opts | {k: sample.values[k] for k in self.knobs}
        trace = self._trace(v)
        peak, _ = self.remat.baseline(trace)
        budget = float(v["budget_ratio"]) * peak
        r = self.remat.replay(trace, budget, v["heuristic"], seed=int(v["seed"]),
                              thrash_limit=float(v["thrash_limit"]), **RUNTIMES[v["runtime"]])
        costs = {"overhead": r.overhead, "peak_memory": float(r.peak_bytes), "feasible": 1.0 if r.ok else 0.0,
                 "compute_time": r.compute_s, "budget": budget, "evictions": float(r.evictions),
                 "remats": float(r.remats)}
        costs = {k: float(x) for k, x in costs.items() if k in self.framework.cost_names and math.isfinite(x)}
        if not r.ok:
            fmt = self.remat.format_bytes
            raise Infeasible(("out of memory" if r.oom else "thrashing") + f" at {fmt(budget)} "
                             f"({v['budget_ratio']:g} of {fmt(peak)})", costs)
        return costs


def _integral(x) -> bool:
    """An integer, or a float that is one (a knob's 3.0); not a bool, 1.5 or inf."""
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x) and float(x).is_integer()


def GetObject(framework):
    return RematEvaluate(framework)
