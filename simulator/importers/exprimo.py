"""Exprimo's device-graph JSON -> DeviceGraph (SI units).

Exprimo's units: channel bandwidth in Gbit/s, memory in GB (decimal: Exprimo
checks `memory * 10**9`), clock in MHz, peak in GFLOP/s, memory bandwidth in
GB/s. The Paleo cost model later applies Paleo's own mixed units (bytes / 2^30
against these decimal GB/s figures) from the SI values, so nothing is lost here.

A device's neighbour entry `{"device": j, "comm_channel": c}` means transfers
from this device to j use channel c. Channels carry no latency in the format.
Devices are named by kind in file order: cpu0, gpu0, gpu1, ...
A neighbour listed twice by one device is an error. A neighbour entry naming the device itself is ignored, as Exprimo ignores it
(its `colocrl-2.json` lists device 2 as its own neighbour where device 0 was
meant); a pair with no direct link goes through neighbours (`DeviceGraph`).
A bare file name that names no file is looked up among the bundled graphs
(`simulator/data/exprimo-device-graphs/`): `load_device_graph("malvik-4gpu.json")`.

Exprimo gives one peak (`peak_gflops`); a device may add `peak_gflops_fp16` and
`peak_gflops_bf16` (its tensor-core rates, our extension). A device without one
runs that precision at its `peak_gflops`, as a preset device without a faster
path does; `fp32_peak_note(graph, precision)` says so in one line, and the
command line and the evaluators print it.
"""
from __future__ import annotations

import json
import math
import os

from .. import data as bundled
from ..devices.model import Channel, Device, DeviceGraph
from ..graph import SimulatorError, did_you_mean

# the keys Exprimo's DeviceGraph.load_from_file reads ("id" too, which it passes on); any other is a typo that
# would silently take a default ("mem_bandwith": 68 GB/s)
DEVICE_KEYS = ("type", "model", "clock", "peak_gflops", "peak_gflops_fp16", "peak_gflops_bf16", "memory",
               "mem_bandwidth", "neighbours", "id")
# optional peaks of the other precisions (not Exprimo's: its files give one peak, the fp32 one)
PRECISION_PEAK_KEYS = {"fp16": "peak_gflops_fp16", "bf16": "peak_gflops_bf16"}
CHANNEL_KEYS = ("type", "bandwidth")
NEIGHBOUR_KEYS = ("device", "comm_channel")


def load_device_graph(path: str | os.PathLike) -> DeviceGraph:
    src = os.fspath(path)   # messages name the file as it was given (its base name left machines/a.json and
    path = bundled.locate(path, bundled.DEVICE_GRAPHS)   # other/a.json apart), a bundled one by its name
    try:
        with open(path, encoding="utf-8-sig") as f:   # a BOM (Windows editors) is not content
            data = json.load(f)
    except json.JSONDecodeError as err:
        raise SimulatorError(f"not valid JSON: {err.msg}", source=src, where=f"line {err.lineno}") from None
    except UnicodeDecodeError:
        raise SimulatorError("the file is not UTF-8 text", source=src) from None
    except OSError as err:
        raise SimulatorError(f"cannot read: {err.strerror}", source=src) from None
    except (ValueError, RecursionError) as err:   # an integer of thousands of digits, nesting too deep
        raise SimulatorError(f"not valid JSON: {str(err).split(';')[0]}", source=src) from None
    if not isinstance(data, dict):
        raise SimulatorError("expected a JSON object with 'devices' and 'comm_channels'", source=src)
    for key in ("devices", "comm_channels"):
        if not isinstance(data.get(key), list):
            raise SimulatorError(f"missing list {key!r}", source=src)

    channels = []
    for i, ch in enumerate(data["comm_channels"]):
        where = f"comm_channels[{i}]"
        _known_keys(ch, CHANNEL_KEYS, src, where)
        bw = _number(ch, "bandwidth", src, where)
        kind = str(ch.get("type", "link")) if isinstance(ch, dict) else "link"
        try:
            channels.append(Channel(name=f"{kind}-{i}", kind=kind, bandwidth=bw * 1e9 / 8, latency=0.0))
        except SimulatorError as err:
            raise SimulatorError(err.message, source=src, where=where) from None

    devices = []
    counts: dict[str, int] = {}
    links: dict[tuple[int, int], int] = {}
    fp32_only: dict[str, list[str]] = {}   # precision -> devices with no peak of their own for it
    n = len(data["devices"])
    for i, d in enumerate(data["devices"]):
        where = f"devices[{i}]"
        if not isinstance(d, dict):
            raise SimulatorError("expected an object", source=src, where=where)
        _known_keys(d, DEVICE_KEYS, src, where)
        if "type" not in d:   # Exprimo makes it a CPU; its own files always say, and a GPU taken for a CPU is wrong
            raise SimulatorError("missing 'type' ('cpu' or 'gpu')", source=src, where=where)
        kind = str(d["type"]).lower()
        if kind not in ("cpu", "gpu"):
            raise SimulatorError(f"type must be 'cpu' or 'gpu', not {kind!r}", source=src, where=where)
        peaks = {"fp32": _number(d, "peak_gflops", src, where) * 1e9}
        name = f"{kind}{counts.get(kind, 0)}"
        counts[kind] = counts.get(kind, 0) + 1
        for precision, key in PRECISION_PEAK_KEYS.items():
            if key in d:
                peaks[precision] = _number(d, key, src, where) * 1e9
            else:   # run at the fp32 peak (Device's rule), with a note
                fp32_only.setdefault(precision, []).append(name)
        try:
            devices.append(Device(
                name=name, model=str(d.get("model", kind)), kind=kind,
                peak_flops=peaks,   # a precision the file gives no peak for: the fp32 one (Device's rule)
                mem_bandwidth=_number(d, "mem_bandwidth", src, where, default=68) * 1e9,
                memory=_number(d, "memory", src, where) * 1e9,
                clock=_number(d, "clock", src, where) * 1e6))
        except SimulatorError as err:
            raise SimulatorError(err.message, source=src, where=where) from None
        neigh = d.get("neighbours", [])
        if not isinstance(neigh, list):
            raise SimulatorError("'neighbours' must be a list", source=src, where=where)
        for k, nb in enumerate(neigh):
            w = f"{where}.neighbours[{k}]"
            _known_keys(nb, NEIGHBOUR_KEYS, src, w)
            j = _index(nb, "device", n, src, w, "device", "devices")
            c = _index(nb, "comm_channel", len(channels), src, w, "comm_channel", "channels")
            if j == i:   # Exprimo's own colocrl-2.json has one; Exprimo never reads it (no transfer to itself)
                continue
            if (i, j) in links:   # the last one won without a word: reordering the list changed the result 80x
                first = next(m for m, e in enumerate(neigh) if isinstance(e, dict) and e.get("device") == j)
                raise SimulatorError(f"device {j} is listed twice as a neighbour (first at neighbours[{first}], "
                                     f"channel {links[(i, j)]}; here channel {c}); keep one", source=src, where=w)
            links[(i, j)] = c
    graph = DeviceGraph(devices, channels, links, name=os.path.splitext(os.path.basename(src))[0], source=src)
    graph.fp32_peak_only = {p: tuple(names) for p, names in fp32_only.items()}
    return graph


def fp32_peak_only(graph: DeviceGraph, precision: str) -> tuple[str, ...]:
    """The devices of `graph` (read from an Exprimo file) whose file gives no peak for `precision`
    (`peak_gflops_fp16` / `peak_gflops_bf16`): they run it at their fp32 `peak_gflops`. () for fp32,
    presets and graphs from elsewhere."""
    return tuple(getattr(graph, "fp32_peak_only", {}).get(precision, ()))


def fp32_peak_note(graph: DeviceGraph, precision: str) -> str | None:
    """One line saying that `precision` runs at the fp32 peak on the devices of `graph` whose Exprimo file
    gives no peak for it (an fp16 run on a V100 of malvik-4gpu.json took 4x the preset V100's time without a
    word); None when there are none."""
    names = fp32_peak_only(graph, precision)
    if not names:
        return None
    key = PRECISION_PEAK_KEYS[precision]
    which = "its devices" if len(names) == len(graph.devices) else ", ".join(names)
    return (f"{graph.source}: no {key!r} for {which}: {precision} runs at the fp32 'peak_gflops' there "
            f"(add {key!r} to a device, in GFLOP/s, for its {precision} rate)")


def _known_keys(obj, known: tuple[str, ...], src: str, where: str) -> None:
    if not isinstance(obj, dict):
        return   # the readers say what is wrong with it
    for key in obj:
        if key not in known:
            raise SimulatorError(f"unknown key {key!r}" + (did_you_mean(str(key), known)
                                                           or f" (keys: {', '.join(known)})"),
                                 source=src, where=where)


def _number(obj, key: str, src: str, where: str, default: float | None = None) -> float:
    if not isinstance(obj, dict) or key not in obj:
        if default is not None:
            return float(default)
        raise SimulatorError(f"missing {key!r}", source=src, where=where)
    v = obj[key]
    try:
        f = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan
    except OverflowError:   # an integer beyond any float
        f = math.inf
    if not 0 < f < math.inf:
        raise SimulatorError(f"{key!r} must be a positive number, not {v!r}", source=src, where=where)
    return f


def _index(obj, key: str, n: int, src: str, where: str, what: str, plural: str) -> int:
    if not isinstance(obj, dict) or key not in obj:
        raise SimulatorError(f"missing {key!r}", source=src, where=where)
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n:
        raise SimulatorError(f"{what} {v!r} does not exist ({n} {plural})", source=src, where=where)
    return v
