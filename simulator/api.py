"""simulate / simulate_batch and the prepared `Simulator` behind them.

    import simulator as sim
    net = sim.zoo.load("resnet50", batch_size=128)
    g = sim.devices.preset("cpu+4xV100-pcie3")
    r = sim.simulate(net, g, [1, 1, 2, 2, ...])          # one device per group
    b = sim.simulate_batch(net, g, np.array([[...], ...]))  # (placements x groups)

Everything that does not depend on the placement (costs, routes, flat graph
arrays) is computed once per (network, device graph, settings) in a
`Simulator`; `simulate` and `simulate_batch` keep the last few in a cache keyed
by the identity of the network and device-graph objects and the settings (so
do not mutate a network or device graph after simulating it; build a new one).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import kernel
from .costs import build_costs
from .devices.model import DeviceGraph
from .graph import Network, SimulatorError
from .memory import apply_memory_policy, apply_training_algorithm
from .memory_timeline import MemoryTimeline, memory_timeline, plan_arrays
from .placement import batch_layer_devices, layer_devices
from .remat_placement import apply_remat, budgets, remat_mask, remat_timeline
from .schedule import build_plan, trace_bytes, trace_capacity, workspace_bytes
from .settings import Settings, check_keys
from .trace import Trace


@dataclass
class Result:
    """One simulated training step."""

    step_time: float            # s (after the memory policy: inf if infeasible by default)
    throughput: float           # samples/s (0 when step_time is inf)
    peak_memory: np.ndarray     # (devices,) bytes
    feasible: bool              # every device's peak fits its memory
    busy_time: np.ndarray       # (devices,) s of compute
    comm_bytes: float           # bytes sent (a multi-hop transfer counted once)
    comm_time: float            # s of channel occupancy, summed over channels
    channel_busy: np.ndarray    # (channels,) s
    raw_step_time: float        # s, before the memory policy
    batch_size: int
    device_names: list[str] = field(default_factory=list)
    memory_capacity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    trace: Trace | None = None
    memory: MemoryTimeline | None = None  # with trace=True: every allocation and free, per device
    memory_budget: np.ndarray = field(default_factory=lambda: np.zeros(0))   # (devices,) bytes it may hold
    remat_overhead: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (devices,) s of recompute
    remat_used: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # (devices,)

    def save_trace(self, path: str | os.PathLike) -> None:
        if self.trace is None:
            raise SimulatorError("this result has no trace: simulate with trace=True")
        self.trace.save(path)

    def to_dict(self) -> dict:
        """The result as plain JSON values: a number that is not finite (an infinite step time) is None."""
        finite = lambda x: None if not np.isfinite(x) else float(x)
        return {
            "step_time": finite(self.step_time), "raw_step_time": finite(self.raw_step_time),
            "throughput": finite(self.throughput), "feasible": bool(self.feasible),
            "batch_size": self.batch_size,
            "comm_bytes": finite(self.comm_bytes), "comm_time": finite(self.comm_time),
            "devices": [{"name": n, "busy_time": finite(b), "peak_memory": finite(m), "memory": finite(c),
                         "memory_budget": finite(u)}
                        for n, b, m, c, u in zip(self.device_names, self.busy_time, self.peak_memory,
                                                 self.memory_capacity, self._budgets())],
        } | self._remat_dict()

    def _remat_dict(self) -> dict:
        if not self.remat_used.any():
            return {}
        finite = lambda x: None if not np.isfinite(x) else float(x)
        return {"remat": [{"name": n, "budget": float(b), "overhead_s": finite(o)}
                          for n, b, o, u in zip(self.device_names, self.memory_budget, self.remat_overhead,
                                                self.remat_used) if u]}

    def _budgets(self) -> np.ndarray:
        """(devices,) bytes each device may hold: memory_budget, else its memory."""
        if len(self.memory_budget) == len(self.memory_capacity):
            return self.memory_budget
        return self.memory_capacity

    def table(self) -> str:
        step = "inf" if not np.isfinite(self.step_time) else f"{self.step_time * 1e3:.4f} ms"
        budget = self._budgets()
        limited = bool((budget < self.memory_capacity).any())  # a memory_budget: its column
        lines = [f"step time      {step}" + ("" if self.feasible else
                                              f"  (raw {self.raw_step_time * 1e3:.4f} ms, memory does not fit"
                                              + (" the budget)" if limited else ")")),
                 f"throughput     {self.throughput:.2f} samples/s (batch {self.batch_size})",
                 f"feasible       {'yes' if self.feasible else 'no'}",
                 f"communication  {self.comm_bytes / 1e6:.3f} MB, {self.comm_time * 1e3:.4f} ms channel time",
                 "",
                 f"{'device':12s} {'busy ms':>12s} {'util':>6s} {'peak MB':>12s} {'memory MB':>12s}"
                 + (f" {'budget MB':>12s}" if limited else "")]
        for n, b, m, c, u in zip(self.device_names, self.busy_time, self.peak_memory, self.memory_capacity,
                                 budget):
            util = f"{b / self.raw_step_time:6.1%}" if np.isfinite(b) and np.isfinite(self.raw_step_time) \
                and self.raw_step_time > 0 else f"{'-' if b else '0.0%':>6s}"
            lines.append(f"{n:12s} {b * 1e3:12.4f} {util} {m / 1e6:12.2f} {c / 1e6:12.0f}"
                         + (f" {u / 1e6:12.2f}" if limited else ""))
        for n, bud, o, u in zip(self.device_names, self.memory_budget, self.remat_overhead, self.remat_used):
            if u:
                lines.append(f"remat on {n}: budget {bud / 1e6:.2f} MB, "
                             + (f"+{o * 1e3:.4f} ms of recompute" if np.isfinite(o) else "out of memory"))
        return "\n".join(lines)


@dataclass
class BatchResult:
    """Many placements: arrays with one row per placement."""

    step_time: np.ndarray       # (P,)
    throughput: np.ndarray      # (P,)
    peak_memory: np.ndarray     # (P, devices)
    feasible: np.ndarray        # (P,) bool
    busy_time: np.ndarray       # (P, devices)
    comm_bytes: np.ndarray      # (P,)
    comm_time: np.ndarray       # (P,)
    channel_busy: np.ndarray    # (P, channels)
    raw_step_time: np.ndarray   # (P,)
    batch_size: int
    device_names: list[str] = field(default_factory=list)
    memory_capacity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    memory_budget: np.ndarray = field(default_factory=lambda: np.zeros(0))       # (devices,)
    remat_overhead: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (P, devices)
    remat_used: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))  # (P, devices)

    def __len__(self) -> int:
        return len(self.step_time)

    def __getitem__(self, i: int) -> Result:
        return Result(step_time=float(self.step_time[i]), throughput=float(self.throughput[i]),
                      peak_memory=self.peak_memory[i], feasible=bool(self.feasible[i]),
                      busy_time=self.busy_time[i], comm_bytes=float(self.comm_bytes[i]),
                      comm_time=float(self.comm_time[i]), channel_busy=self.channel_busy[i],
                      raw_step_time=float(self.raw_step_time[i]), batch_size=self.batch_size,
                      device_names=self.device_names, memory_capacity=self.memory_capacity,
                      memory_budget=self.memory_budget, remat_overhead=self.remat_overhead[i],
                      remat_used=self.remat_used[i])


class Simulator:
    """A network on a device graph with fixed settings, ready to run placements."""

    def __init__(self, network: Network, devices: DeviceGraph | str | os.PathLike, **settings: Any):
        self.settings = Settings.make(**settings)
        self._setup(network, devices)

    @classmethod
    def from_settings(cls, network: Network, devices: DeviceGraph, settings: Settings) -> "Simulator":
        self = cls.__new__(cls)
        self.settings = settings
        self._setup(network, devices)
        return self

    def _setup(self, network: Network, devices: DeviceGraph | str | os.PathLike) -> None:
        if not isinstance(network, Network):
            raise SimulatorError(f"expected a Network, not {type(network).__name__}")
        devices = _resolve_devices(devices)  # a preset name or a device-graph file, as simulate() takes
        if not network.groups:
            raise SimulatorError(f"network '{network.name}' has no layer groups", source=network.source)
        if all(layer.op.kind == "input" for layer in network.layers):   # it simulated as a step of time 0
            raise SimulatorError(f"network '{network.name}' has no layer to train (only inputs)",
                                 source=network.source)
        self.network = network
        self.devices = devices
        check_keys(self.settings, network, devices)
        batch = self.settings.batch_size or network.batch_size
        if batch is None:
            raise SimulatorError(f"network '{network.name}' has no batch size: pass batch_size=...")
        self.batch_size = int(batch)
        self.costs = build_costs(network, devices, self.settings, self.batch_size)
        self.direct_grad, self.bwd_alloc = apply_training_algorithm(
            self.costs, network, self.settings.training_algorithm, self.settings.precision)
        self.plan = build_plan(network, devices, self.costs, self.settings)
        _check_size(self.plan, workspace_bytes(self.plan), "simulating")
        arrays = plan_arrays(self.plan)
        if self.direct_grad:  # every backward waits for its micro-batch's loss only: all are "sinks"
            arrays["sinks"] = np.flatnonzero(self.costs.has_bwd).astype(np.int64)
        self._kernel_args = (*arrays.values(), int(self.direct_grad),
                             np.ascontiguousarray(self.bwd_alloc, dtype=np.float64))
        self.device_names = [d.name for d in devices.devices]
        self.capacity = np.array([d.memory for d in devices.devices], dtype=np.float64)
        self.budget = budgets(self.settings.memory_budget, self.capacity, self.device_names)
        self.remat_mask = remat_mask(self.settings.remat, self.device_names)
        self._layer_names = [l.name for l in network.layers]
        D = len(devices.devices)
        self._bucket_names = [f"{g.name}@{self.device_names[d]}" for g in network.groups for d in range(D)]

    # ------------------------------------------------------------ running
    def run(self, placement: Any, trace: bool = False) -> Result:
        """Simulate one placement (an int, a list per group, or a dict)."""
        per_layer = layer_devices(placement, self.network, self.devices)[None, :]
        out = self._kernel(per_layer, trace)
        res = self._finish(out, per_layer)
        single = res[0]
        if trace:
            single.trace = self._trace(out)
            n = int(out["tr_count"][0])
            single.memory = memory_timeline(self, per_layer[0], out["tr_i"][:n], out["tr_f"][:n])
            if single.remat_used.any():
                remat_timeline(self, single, per_layer[0], single.memory)
        return single

    def _trace(self, out: dict) -> Trace:
        n = int(out["tr_count"][0])
        return Trace.from_arrays(out["tr_i"][:n, :7], out["tr_f"][:n], self._layer_names, self._bucket_names,
                                 self.device_names, [c.name for c in self.devices.channels])

    def run_batch(self, placements: Any) -> BatchResult:
        """Simulate an integer array of placements (placements x groups)."""
        per_layer = batch_layer_devices(placements, self.network, self.devices)
        return self._finish(self._kernel(per_layer, False), per_layer)

    def run_layers(self, per_layer: np.ndarray) -> BatchResult:
        """Simulate placements given as the device of every layer (P x layers)."""
        per_layer = np.ascontiguousarray(per_layer, dtype=np.int64)
        if per_layer.ndim != 2 or per_layer.shape[1] != len(self.network.layers):
            raise SimulatorError(f"expected a (placements x {len(self.network.layers)}) array")
        if per_layer.size and (per_layer.min() < 0 or per_layer.max() >= len(self.devices.devices)):
            raise SimulatorError("a layer is placed on a device that does not exist")
        return self._finish(self._kernel(per_layer, False), per_layer)

    def compile_kernel(self) -> None:
        """Compile the event kernel now, or load it from numba's disk cache (`kernel.is_cached()` tells
        which); runs no placement. Processes forked afterwards inherit the compiled code."""
        self.run_layers(np.zeros((0, len(self._layer_names)), dtype=np.int64))

    def _kernel(self, per_layer: np.ndarray, trace: bool) -> dict:
        P = per_layer.shape[0]
        D, C = self.plan.n_devices, self.plan.n_channels
        out = {
            "step": np.empty(P), "peak": np.empty((P, D)), "busy": np.empty((P, D)),
            "chan": np.empty((P, C)), "comm": np.empty(P), "status": np.zeros(P, dtype=np.int64),
            "err": np.zeros((P, 2), dtype=np.int64),
            # records written; then the sequence counter of starts and ends and the start of each resource's
            # current task (for the order of the memory timeline)
            "tr_count": np.zeros(2 + D + C, dtype=np.int64),
        }
        if trace:
            _check_size(self.plan, trace_bytes(self.plan), "a trace of")
        cap = trace_capacity(self.plan) if trace else 0
        out["tr_i"] = np.zeros((cap, 10), dtype=np.int64)  # 7 of the Trace, start and end order, transfer id
        out["tr_f"] = np.zeros((cap, 3), dtype=np.float64)
        kernel.run_batch(*self._kernel_args, per_layer,
                         out["step"], out["peak"], out["busy"], out["chan"], out["comm"],
                         out["status"], out["err"], trace, out["tr_i"], out["tr_f"], out["tr_count"])
        bad = np.flatnonzero(out["status"])
        if bad.size:
            self._raise_status(int(bad[0]), out, P > 1)
        return out

    def _raise_status(self, row: int, out: dict, batched: bool) -> None:
        status = int(out["status"][row])
        a, b = (int(v) for v in out["err"][row])
        prefix = f"placement row {row}: " if batched else ""
        if status == kernel.STATUS_REPLICA:
            dev = self.devices.devices[a]
            raise SimulatorError(f"{prefix}replicas={self.settings.replicas}: no free device of model "
                                 f"'{dev.model}' for replica {b} of {dev.name}; replicas need disjoint "
                                 "device sets of the same models")
        if status == kernel.STATUS_WORKSPACE:
            raise RuntimeError(f"{prefix}internal error: the kernel's workspace was too small")
        if status == kernel.STATUS_NO_ROUTE:
            raise SimulatorError(f"{prefix}no route between devices {self.device_names[a]} and "
                                 f"{self.device_names[b]}", source=self.devices.source)
        raise RuntimeError(f"{prefix}internal error: the schedule stalled (status {status})")

    def _finish(self, out: dict, per_layer: np.ndarray) -> BatchResult:
        s = self.settings
        raw = out["step"]
        P, D = out["peak"].shape
        overhead = np.zeros((P, D))
        used = np.zeros((P, D), dtype=bool)
        if self.remat_mask.any():
            raw, out["peak"], out["busy"], overhead, used = apply_remat(self, per_layer, out)
        step, feasible = apply_memory_policy(raw, out["peak"], self.budget, s.memory, s.memory_penalty)
        with np.errstate(divide="ignore"):
            thr = np.where(np.isfinite(step) & (step > 0), self.batch_size / np.where(step > 0, step, 1.0), 0.0)
        return BatchResult(step_time=step, throughput=thr, peak_memory=out["peak"], feasible=feasible,
                           busy_time=out["busy"], comm_bytes=out["comm"], comm_time=out["chan"].sum(axis=1),
                           channel_busy=out["chan"], raw_step_time=raw, batch_size=self.batch_size,
                           device_names=self.device_names, memory_capacity=self.capacity,
                           memory_budget=self.budget, remat_overhead=overhead, remat_used=used)


def _memory_limit() -> int:
    """The bytes one simulation may allocate: the machine's physical memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 64 << 30


def _size(nbytes: float) -> str:
    return f"{nbytes / 1e9:.1f} GB" if nbytes >= 1e8 else f"{nbytes / 1e6:.2f} MB"


def _check_size(plan, nbytes: int, what: str) -> None:
    """Refuse, before allocating anything, a simulation that cannot fit in memory."""
    M, R = plan.micro_batches, plan.replicas
    if M >= 1 << 24:  # the kernel's task keys hold the micro-batch in 24 bits
        raise SimulatorError(f"micro_batches={M} is too many: at most {(1 << 24) - 1}")
    limit = _memory_limit()
    if nbytes > limit:
        raise SimulatorError(
            f"{what} {plan.n_layers} layers x {M} micro-batches x {R} replicas on {plan.n_devices} devices "
            f"needs {_size(nbytes)} of memory, more than this machine's {_size(limit)}; "
            "use fewer replicas or micro-batches" + (" or no trace" if what.startswith("a trace") else ""))


# ---------------------------------------------------------------- the cache
_CACHE: "OrderedDict[tuple, tuple[Network, DeviceGraph, Simulator]]" = OrderedDict()
_CACHE_SIZE = 8


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _resolve_devices(devices: Any) -> DeviceGraph:
    if isinstance(devices, DeviceGraph):
        return devices
    if isinstance(devices, (str, os.PathLike)):
        text = os.fspath(devices)
        if text.endswith(".json") or os.path.sep in text:
            from .data import DEVICE_GRAPHS, locate
            from .importers.exprimo import load_device_graph
            path = locate(text, DEVICE_GRAPHS)  # a bare name may be a bundled graph
            try:
                stamp = os.stat(path).st_mtime_ns  # a changed file is read again
            except OSError:
                return load_device_graph(path)  # reports the unreadable file
            return _memo(("devfile", os.path.abspath(path), stamp), lambda: load_device_graph(path))
        from .devices import preset
        return _memo(("preset", text), lambda: preset(text))
    raise SimulatorError(f"devices must be a DeviceGraph, a preset name or a device-graph file, "
                         f"not {type(devices).__name__}")


_MEMO: dict[tuple, Any] = {}


def _memo(key: tuple, make) -> Any:
    if key not in _MEMO:
        _MEMO[key] = make()
    return _MEMO[key]


def prepare(network: Network, devices: Any, **settings: Any) -> Simulator:
    """The cached `Simulator` for (network, devices, settings)."""
    devices = _resolve_devices(devices)
    key = (id(network), id(devices), _freeze(settings))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is network and hit[1] is devices:
        _CACHE.move_to_end(key)
        return hit[2]
    sim = Simulator(network, devices, **settings)
    _CACHE[key] = (network, devices, sim)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return sim


def simulate(network: Network, devices: Any, placement: Any, *, trace: bool = False,
             **settings: Any) -> Result:
    """Simulate one training step of `network` on `devices` under `placement`.

    Settings: cost_model ("roofline" | "paleo"), batch_size, ppp_comp, ppp_comm,
    micro_batches, schedule ("gpipe" | "1f1b"), replicas, precision ("fp32" |
    "fp16" | "bf16"), optimizer ("sgd" | "momentum" | "adam"), memory
    ("infeasible" | "penalty" | "ignore"), memory_penalty, efficiency,
    memory_efficiency, device_efficiency, launch_overhead, training_algorithm
    ("backprop" | "feedback_alignment" | "direct_feedback_alignment" |
    "memory_efficient_dfa"), memory_budget (bytes, or a fraction of each
    device's memory if <= 1; or {device: value, "*": value}), remat ("off" |
    "all" | [devices]: rematerialise over the budget), remat_heuristic.
    With trace=True the result has `.trace` (events) and `.memory` (the
    memory timeline of every device).
    """
    return prepare(network, devices, **settings).run(placement, trace=trace)


def simulate_batch(network: Network, devices: Any, placements: Any, **settings: Any) -> BatchResult:
    """Simulate an integer array of placements (placements x groups)."""
    return prepare(network, devices, **settings).run_batch(placements)
