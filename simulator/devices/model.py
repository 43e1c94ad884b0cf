"""Devices, channels and the device graph (all in SI units).

A device graph is a set of devices and a set of *channels*. A channel is one
shared resource (a PCIe slot, an NVLink port, a NIC): every transfer routed
over it waits its turn, first come first served. Links are directed pairs
(src, dst) that name the channel a transfer from src to dst uses, as in
Exprimo's device files (where A->B and B->A may use different channels).

Routing: a direct link if there is one, else the fastest multi-hop path for a
1 MB message (Dijkstra on latency + 1 MB / bandwidth per hop, ties broken by
fewer hops, then lower device indices). Multi-hop transfers are
store-and-forward: each hop waits for its channel in turn.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from ..graph import SimulatorError

PRECISIONS = ("fp32", "fp16", "bf16")
BYTES_PER_ELEMENT = {"fp32": 4, "fp16": 2, "bf16": 2}
_ROUTE_PROBE_BYTES = 1e6  # message size that defines "fastest path"


@dataclass
class Device:
    """One processor. `peak_flops` maps a precision to FLOP/s."""

    name: str                     # unique within its graph, e.g. "gpu0"
    model: str                    # e.g. "NVIDIA V100-SXM2-32GB"
    kind: str                     # "cpu" or "gpu"
    peak_flops: dict[str, float]  # FLOP/s per precision (fp32, fp16, bf16)
    mem_bandwidth: float          # bytes/s
    memory: float                 # bytes
    clock: float                  # Hz

    def __post_init__(self) -> None:
        if self.kind not in ("cpu", "gpu"):
            raise SimulatorError(f"device kind must be 'cpu' or 'gpu', not {self.kind!r}",
                                 where=f"device {self.name!r}")
        for p in PRECISIONS:
            if p not in self.peak_flops:
                # A device without a faster path for a precision runs it at fp32 speed.
                self.peak_flops[p] = self.peak_flops["fp32"]
        for attr in ("mem_bandwidth", "memory", "clock"):
            if not 0 < getattr(self, attr) < math.inf:
                raise SimulatorError(f"{attr} must be > 0 and finite", where=f"device {self.name!r}")
        if not all(0 < v < math.inf for v in self.peak_flops.values()):
            raise SimulatorError("peak FLOP/s must be > 0 and finite", where=f"device {self.name!r}")


@dataclass
class Channel:
    """A shared transfer resource: bandwidth in bytes/s, latency in seconds."""

    name: str
    kind: str          # e.g. "pcie3", "nvlink3", "ib-hdr"
    bandwidth: float   # bytes/s
    latency: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.bandwidth < math.inf:
            raise SimulatorError("bandwidth must be > 0 and finite", where=f"channel {self.name!r}")
        if not 0 <= self.latency < math.inf:
            raise SimulatorError("latency must be >= 0 and finite", where=f"channel {self.name!r}")


Hop = tuple[int, int]  # (channel index, index of the device that sends on it)


@dataclass
class DeviceGraph:
    """Devices, channels and directed links `(src, dst) -> channel index`."""

    devices: list[Device]
    channels: list[Channel]
    links: dict[tuple[int, int], int]
    name: str = "devices"
    source: str | None = None  # file it came from, for messages
    _routes: dict[tuple[int, int], list[Hop]] | None = field(default=None, repr=False, compare=False)
    # computed on demand: each device's outgoing links, and the routes from each source Dijkstra ran from
    _out_links: dict[int, list[tuple[int, int]]] | None = field(default=None, repr=False, compare=False)
    _routes_from: dict[int, dict[int, list[Hop]]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [d.name for d in self.devices]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise SimulatorError(f"two devices are named {dup!r}", source=self.source)
        n, c = len(self.devices), len(self.channels)
        if n == 0:
            raise SimulatorError("a device graph needs at least one device", source=self.source)
        for (a, b), ch in self.links.items():
            if not (0 <= a < n and 0 <= b < n) or a == b:
                raise SimulatorError(f"link {a}->{b} does not join two devices of the graph",
                                     source=self.source)
            if not 0 <= ch < c:
                raise SimulatorError(f"link {a}->{b} uses channel {ch}, which does not exist "
                                     f"({c} channels)", source=self.source)

    def __len__(self) -> int:
        return len(self.devices)

    def index(self, name: str) -> int:
        for i, d in enumerate(self.devices):
            if d.name == name:
                return i
        raise SimulatorError(f"no device named {name!r} (devices: "
                             f"{', '.join(d.name for d in self.devices)})", source=self.source)

    def route(self, a: int, b: int) -> list[Hop]:
        """The hops a transfer from device a to device b takes (empty if a == b)."""
        hops = self.route_or_none(a, b)
        if hops is None:
            raise SimulatorError(f"no route between devices {self.devices[a].name} and "
                                 f"{self.devices[b].name}", source=self.source)
        return hops

    def route_or_none(self, a: int, b: int) -> list[Hop] | None:
        """The hops from a to b ([] if a == b), None if b cannot be reached. A direct link is the route (the
        device file's own statement); otherwise Dijkstra runs from a, once, on first need: a graph where
        every pair is linked (the presets) needs no search at all."""
        if a == b:
            return []
        ch = self.links.get((a, b))
        if ch is not None:
            return [(ch, a)]
        if a not in self._routes_from:
            self._routes_from[a] = {v: hops for (_, v), hops in self._dijkstra(a).items()}
        return self._routes_from[a].get(b)

    def routes(self) -> dict[tuple[int, int], list[Hop]]:
        """All reachable pairs; computed once (route() computes only what it is asked for)."""
        if self._routes is None:
            self._routes = {}
            for a in range(len(self.devices)):
                self._routes.update(self._dijkstra(a))
        return self._routes

    def _hop_cost(self, ch: int) -> float:
        c = self.channels[ch]
        return c.latency + _ROUTE_PROBE_BYTES / c.bandwidth

    def _dijkstra(self, src: int) -> dict[tuple[int, int], list[Hop]]:
        if self._out_links is None:   # built once: sorting every link for every source made routes() O(n^3 log n)
            self._out_links = {}
            for (a, b), ch in sorted(self.links.items()):
                self._out_links.setdefault(a, []).append((b, ch))
        out_links = self._out_links
        # key: (cost, hops, path of device indices) -> deterministic ties
        best: dict[int, tuple[float, int, tuple[int, ...]]] = {src: (0.0, 0, (src,))}
        heap = [(0.0, 0, (src,))]
        hops_of: dict[int, list[Hop]] = {src: []}
        done: set[int] = set()
        while heap:
            cost, nh, path = heapq.heappop(heap)
            u = path[-1]
            if u in done:
                continue
            done.add(u)
            for v, ch in out_links.get(u, []):
                if v in done:
                    continue
                cand = (cost + self._hop_cost(ch), nh + 1, path + (v,))
                if v not in best or cand < best[v]:
                    best[v] = cand
                    hops_of[v] = hops_of[u] + [(ch, u)]
                    heapq.heappush(heap, cand)
        routes = {}
        for v, hops in hops_of.items():
            if v != src:
                # a direct link always wins: it is the device file's own statement
                if (src, v) in self.links:
                    hops = [(self.links[(src, v)], src)]
                routes[(src, v)] = hops
        return routes

    def describe(self) -> str:
        lines = [f"{self.name}: {len(self.devices)} devices, {len(self.channels)} channels"]
        for i, d in enumerate(self.devices):
            lines.append(f"  [{i}] {d.name:10s} {d.model:28s} {d.peak_flops['fp32'] / 1e12:7.2f} TFLOP/s fp32 "
                         f"{d.mem_bandwidth / 1e9:7.1f} GB/s {d.memory / 1e9:7.1f} GB")
        for i, c in enumerate(self.channels):
            lines.append(f"  channel {i} {c.name:14s} {c.kind:8s} {c.bandwidth / 1e9:7.2f} GB/s "
                         f"{c.latency * 1e6:5.2f} us")
        return "\n".join(lines)
