"""The settings of a simulation, validated once.

Everything here is placement-independent: a `Simulator` is prepared for one
(network, device graph, Settings) and then runs any number of placements.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from .graph import SimulatorError

COST_MODELS = ("roofline", "paleo")
SCHEDULES = ("gpipe", "1f1b")
PRECISIONS = ("fp32", "fp16", "bf16")
OPTIMIZERS = ("sgd", "momentum", "adam")
MEMORY_MODES = ("infeasible", "penalty", "ignore")
TRAINING_ALGORITHMS = ("backprop", "feedback_alignment", "direct_feedback_alignment", "memory_efficient_dfa")
REMAT_HEURISTICS = ("dtr", "dtr_eq", "dtr_local", "msps", "lru", "largest", "random")  # simulator.remat's

# Roofline defaults (fractions of peak a well-tuned library reaches; see the readme).
DEFAULT_COMPUTE_EFFICIENCY: dict[str, float] = {
    "conv2d": 0.6, "linear": 0.7, "matmul": 0.7, "default": 0.5}
DEFAULT_MEMORY_EFFICIENCY: dict[str, float] = {"default": 0.8}
DEFAULT_DEVICE_EFFICIENCY: dict[str, float] = {"gpu": 1.0, "cpu": 0.5}
DEFAULT_LAUNCH_OVERHEAD: dict[str, float] = {"gpu": 5e-6, "cpu": 2e-6}


# the settings keyed by op kind (the rest: by device name, model or kind)
OP_KIND_SETTINGS = ("efficiency", "memory_efficiency")
DEVICE_SETTINGS = ("device_efficiency", "launch_overhead")


def _check_value(name: str, v: Any) -> None:
    """An efficiency is a fraction of the peak in (0, 1]; a launch overhead a finite number of seconds >= 0."""
    number = not isinstance(v, bool) and isinstance(v, (int, float))
    if name == "launch_overhead":
        if not number or not 0 <= v < float("inf"):
            raise SimulatorError(f"must be a number of seconds >= 0, not {v!r}")
    elif not number or not 0 < v <= 1:
        raise SimulatorError(f"must be a number in (0, 1] (a fraction of the peak), not {v!r}")


def _frozen(mapping: Mapping[str, float] | float | None, default: Mapping[str, float],
            name: str) -> tuple[tuple[str, float], ...]:
    """A mapping merged over its defaults, as a hashable sorted tuple."""
    merged = dict(default)
    if isinstance(mapping, (int, float)) and not isinstance(mapping, bool):
        try:
            _check_value(name, mapping)
        except SimulatorError as err:
            raise SimulatorError(f"{name} {err.message}") from None
        merged = {k: float(mapping) for k in merged} | {"default": float(mapping)}
    elif mapping is not None:
        if not isinstance(mapping, Mapping):
            raise SimulatorError(f"{name} must be a number or a mapping, not {mapping!r}")
        for k, v in mapping.items():
            try:
                _check_value(name, v)
            except SimulatorError as err:
                raise SimulatorError(f"{name}[{k!r}] {err.message}") from None
            merged[str(k)] = float(v)
    return tuple(sorted(merged.items()))


def op_kinds() -> set[str]:
    """Every op kind of the catalogue (the keys `efficiency` and `memory_efficiency` may name)."""
    from . import ops
    from .ops.elementwise import ACTIVATIONS
    kinds = set(ACTIVATIONS) | {"add", "sub", "mul", "div"}
    todo = [ops.OpBase]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        kind = cls.__dict__.get("kind")
        if isinstance(kind, str) and kind != "op":
            kinds.add(kind)
    return kinds


def check_keys(settings: "Settings", network, devices) -> None:
    """Every key of a per-op-kind or per-device setting names something: an op kind of the catalogue or
    of this network, "default" (and "optimizer" for efficiency); a device name, model or kind of this
    device graph, or "gpu", "cpu" or "default". A misspelt key would otherwise be ignored silently."""
    from .graph import did_you_mean
    kinds = op_kinds() | {layer.kind for layer in network.layers} | {"default"}
    dev_keys = {"default", "gpu", "cpu"} | {x for d in devices.devices for x in (d.name, d.model, d.kind)}
    for name in OP_KIND_SETTINGS + DEVICE_SETTINGS:
        if name in OP_KIND_SETTINGS:
            known = kinds | ({"optimizer"} if name == "efficiency" else set())
            what = "op kinds, 'default'" + (" and 'optimizer'" if name == "efficiency" else "")
        else:
            known = dev_keys
            what = f"the device names, models and kinds of {devices.name or 'the device graph'}, and 'default'"
        for k in sorted({k for k, _ in getattr(settings, name)} - known):  # the defaults' keys are known
            near = did_you_mean(k, sorted(known)) or did_you_mean(k.lower(), sorted(known))
            raise SimulatorError(f"{name}: unknown key {k!r}{near}; its keys are {what}")


@dataclass(frozen=True)
class Settings:
    cost_model: str = "roofline"
    batch_size: int | None = None     # None: the network's own batch size
    ppp_comp: float = 0.9             # Paleo: fraction of peak compute (Exprimo's 0.9)
    ppp_comm: float = 0.25            # Paleo: fraction of peak link bandwidth (Exprimo's 0.25)
    micro_batches: int = 1
    schedule: str = "gpipe"
    replicas: int = 1
    precision: str = "fp32"
    optimizer: str = "sgd"
    memory: str = "infeasible"
    memory_penalty: float = 10.0      # "penalty": step_time * (1 + memory_penalty * overflow)
    efficiency: tuple = ()            # roofline compute efficiency per op kind
    memory_efficiency: tuple = ()     # roofline memory efficiency per op kind
    device_efficiency: tuple = ()     # multiplier per device kind / model / name
    launch_overhead: tuple = ()       # seconds per kernel, per device kind / model / name
    training_algorithm: str = "backprop"  # see simulator/memory.py
    memory_budget: tuple = ()         # ((device name or "*", bytes, or a fraction of its memory if <= 1), ...)
    remat: tuple = ()                 # devices that may rematerialise over their budget; ("*",) = all
    remat_heuristic: str = "dtr_eq"   # eviction heuristic of simulator.remat


    @classmethod
    def make(cls, **kwargs: Any) -> "Settings":
        known = {f.name for f in fields(cls)}
        for k in kwargs:
            if k not in known:
                raise SimulatorError(f"unknown setting {k!r} (settings: {', '.join(sorted(known))})")
        # numbers taken out of numpy arrays (np.float64, np.int64) are the numbers they hold
        kw = {k: _plain(v) for k, v in kwargs.items()}
        kw["efficiency"] = _frozen(kw.get("efficiency"), DEFAULT_COMPUTE_EFFICIENCY, "efficiency")
        kw["memory_efficiency"] = _frozen(kw.get("memory_efficiency"), DEFAULT_MEMORY_EFFICIENCY,
                                          "memory_efficiency")
        kw["device_efficiency"] = _frozen(kw.get("device_efficiency"), DEFAULT_DEVICE_EFFICIENCY,
                                          "device_efficiency")
        kw["launch_overhead"] = _frozen(kw.get("launch_overhead"), DEFAULT_LAUNCH_OVERHEAD,
                                        "launch_overhead")
        kw["memory_budget"] = _budget(kw.get("memory_budget"))
        kw["remat"] = _remat_devices(kw.get("remat"))
        s = cls(**kw)
        s.validate()
        return s

    def validate(self) -> None:
        _choice("cost_model", self.cost_model, COST_MODELS)
        _choice("schedule", self.schedule, SCHEDULES)
        _choice("precision", self.precision, PRECISIONS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("memory", self.memory, MEMORY_MODES)
        _choice("training_algorithm", self.training_algorithm, TRAINING_ALGORITHMS)
        _choice("remat_heuristic", self.remat_heuristic, REMAT_HEURISTICS)
        _positive_int("micro_batches", self.micro_batches)
        _positive_int("replicas", self.replicas)
        if self.batch_size is not None:
            _positive_int("batch_size", self.batch_size)
        for name in ("ppp_comp", "ppp_comm"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
                raise SimulatorError(f"{name} must be in (0, 1], not {v!r}")
        if isinstance(self.memory_penalty, bool) or not isinstance(self.memory_penalty, (int, float)) \
                or not self.memory_penalty >= 0:
            raise SimulatorError(f"memory_penalty must be a number >= 0, not {self.memory_penalty!r}")
        if self.cost_model == "paleo" and self.precision != "fp32":
            raise SimulatorError("the paleo cost model counts 4-byte floats only; use precision='fp32' "
                                 "or cost_model='roofline'")
        for name in OP_KIND_SETTINGS + DEVICE_SETTINGS:
            for k, v in getattr(self, name):
                try:
                    _check_value(name, v)
                except SimulatorError as err:
                    raise SimulatorError(f"{name}[{k!r}] {err.message}") from None

    def split_batch(self, batch: int) -> int:
        """Samples per micro-batch per replica; the batch must divide evenly."""
        parts = self.replicas * self.micro_batches
        if batch % parts:
            raise SimulatorError(f"batch size {batch} is not divisible by replicas x micro_batches "
                                 f"= {self.replicas} x {self.micro_batches} = {parts}")
        return batch // parts


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (inside a dict or list too); anything else as it is."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


MIN_BUDGET_BYTES = 2 ** 20  # a memory_budget above 1 counts bytes; below 1 MiB it is a unit mistake


def _budget(value: Any) -> tuple[tuple[str, float], ...]:
    """memory_budget: None, one number for every device, or {device name or "*": number}. A number
    <= 1 is a fraction of the device's memory, above 1 a count of bytes; between 1 and 1 MiB it is
    neither (16 meant as 16 GB would make every sample infeasible, silently), so it is refused."""
    if value is None or value == ():
        return ()
    items = value.items() if isinstance(value, Mapping) else (("*", value),) if not isinstance(value, tuple) \
        else value
    out = []
    for k, v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 or v == float("inf"):
            raise SimulatorError(f"memory_budget[{str(k)!r}] must be a number > 0 (bytes, or a fraction "
                                 f"of the device's memory if <= 1), not {v!r}")
        if 1 < v < MIN_BUDGET_BYTES:
            raise SimulatorError(f"memory_budget[{str(k)!r}] is {v!r}: neither a fraction (<= 1) nor a "
                                 f"plausible number of bytes (>= 1 MiB); write 16 GB as 16e9")
        out.append((str(k), float(v)))
    return tuple(sorted(out))


def _remat_devices(value: Any) -> tuple[str, ...]:
    """remat: off (None, False, "off", []), all (True, "all", "*") or a list of device names / indices."""
    if value is None or value is False or value == "off" or value == () or value == []:
        return ()
    if value is True or value in ("all", "*"):
        return ("*",)
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise SimulatorError(f"remat must be 'off', 'all' or a list of devices, not {value!r}")
    return tuple(str(v) for v in value)


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SimulatorError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SimulatorError(f"{name} must be an integer >= 1, not {value!r}")
