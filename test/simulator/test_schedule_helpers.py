"""Building blocks for the engine tests (no tests here): an op whose FLOPs and
sizes are chosen by the test, and small device graphs with round numbers, so
that expected times can be worked out by hand.

With `EXACT` settings (efficiency 1, no launch overhead) a `Work` layer's
forward takes fwd_flops * batch / peak and its backward (dgrad + wgrad)
takes (dgrad + wgrad) * batch / peak on a `device_graph` device (peak 1e12
FLOP/s, memory bandwidth 1e18 B/s so that bytes never dominate).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

from simulator.devices import Channel, Device, DeviceGraph
from simulator.graph import Layer, Network
from simulator.ops import Input
from simulator.ops.base import Counts, OpBase

PEAK = 1e12
EXACT = dict(efficiency={"default": 1.0, "optimizer": 1.0}, memory_efficiency=1.0,
             device_efficiency={"gpu": 1.0, "cpu": 1.0}, launch_overhead=0.0)


@dataclass(frozen=True)
class Work(OpBase):
    """A layer with chosen per-sample FLOPs, output width and parameters."""

    kind: ClassVar[str] = "work"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = None
    fwd: float = 1e9
    dgrad: float = 1e9
    wgrad: float = 1e9
    width: int = 1          # output elements per sample
    params: int = 1
    keep_input: bool = False
    keep_output: bool = False

    def _infer(self, ins):
        return (self.width,)

    def counts(self, ins, out) -> Counts:
        return Counts(params=self.params, fwd=self.fwd, dgrad=tuple(self.dgrad for _ in ins),
                      wgrad=self.wgrad if self.params else 0.0, read=0.0, write=0.0,
                      saved_inputs=tuple(range(len(ins))) if self.keep_input else (),
                      saves_output=self.keep_output)


def chain(n: int, *, width: int = 1, batch: int = 1, groups: bool = True, **work) -> Network:
    """input -> l0 -> l1 -> ... -> l{n-1}, one group per layer (the input with l0)."""
    layers = [Layer("x", Input((width,)))]
    prev = "x"
    for i in range(n):
        layers.append(Layer(f"l{i}", Work(width=width, **work), (prev,)))
        prev = f"l{i}"
    spec = None
    if groups:
        spec = {"g0": ["x", "l0"]} | {f"g{i}": [f"l{i}"] for i in range(1, n)}
    return Network.build("chain", layers, batch_size=batch, groups=spec)


def net(spec: Sequence[tuple[str, Work | Input, tuple[str, ...]]], batch: int = 1,
        groups: dict | None = None) -> Network:
    """A network from (name, op, parents) triples; one group per layer by default."""
    layers = [Layer(name, op, tuple(parents)) for name, op, parents in spec]
    if groups is None:
        groups = {name: [name] for name, _, _ in spec}
    return Network.build("test", layers, batch_size=batch, groups=groups)


def gpu(name: str, memory: float = 1e12, peak: float = PEAK, clock: float = 1e9) -> Device:
    return Device(name=name, model="TestGPU", kind="gpu", peak_flops={"fp32": peak},
                  mem_bandwidth=1e18, memory=memory, clock=clock)


def device_graph(n: int, bandwidth: float = 1e9, latency: float = 0.0, shared: bool = False,
                 memory: float = 1e12) -> DeviceGraph:
    """n test GPUs, all pairs linked. Each device sends on its own channel, or all
    transfers share one channel (`shared=True`)."""
    devices = [gpu(f"gpu{i}", memory=memory) for i in range(n)]
    nch = 1 if shared else n
    channels = [Channel(f"ch{i}", "test", bandwidth, latency) for i in range(nch)]
    links = {(a, b): (0 if shared else a) for a in range(n) for b in range(n) if a != b}
    return DeviceGraph(devices, channels, links, name=f"test{n}")
