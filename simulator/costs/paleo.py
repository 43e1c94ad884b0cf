"""Paleo's per-layer cost model, as Exprimo uses it.

Per work item (FLOPs, [memory-term bytes]) of a layer (the items come from the
op catalogue, `paleo_work(layer, batch, phase)`):

    compute  = 0 if FLOPs == 0 else max(cycle, FLOPs / (peak * ppp_comp))
    memory   = sum over terms of max(cycle, bytes / 2**30 / (bandwidth in GB/s) / ppp_comp)
    time     = compute + memory

with one clock cycle `cycle` of the device as the floor of every term and
Paleo's mixed units (bytes / 2^30 against decimal GB/s; the SI bandwidth is
divided by 1e9 to get Paleo's number back). Memory terms use ppp_comp, as
Paleo does ("PPP for computation, since we estimated from the full time").

Exprimo's choices: the backward is the data gradient only (no weight gradient,
no optimizer update), Paleo skips the data gradient of a convolution whose
parent is the input, and a transfer over a channel takes

    max(cycle of the sending device, bytes / 2**30 / (Gbit/s / 8) / ppp_comm)

where Gbit/s / 8 is the channel's SI bandwidth / 1e9.
"""
from __future__ import annotations

from typing import Callable, Sequence

from ..devices.model import Channel, Device

PALEO_GIB = 2.0 ** 30

WorkItems = Sequence[tuple[float, Sequence[float]]]


def item_time(flops: float, mem_terms: Sequence[float], device: Device, ppp_comp: float) -> float:
    cycle = 1.0 / device.clock
    gbs = device.mem_bandwidth / 1e9  # Paleo's GB/s figure
    t = 0.0
    if flops > 0:
        t += max(cycle, flops / (device.peak_flops["fp32"] * ppp_comp))
    for nbytes in mem_terms:
        t += max(cycle, nbytes / PALEO_GIB / gbs / ppp_comp)
    return t


def work_time(items: WorkItems, device: Device, ppp_comp: float) -> float:
    return sum(item_time(f, terms, device, ppp_comp) for f, terms in items)


def seconds_per_byte(channel: Channel, ppp_comm: float) -> float:
    """Transfer seconds per byte on a channel, in Paleo's units."""
    return 1.0 / (PALEO_GIB * (channel.bandwidth / 1e9) * ppp_comm)


def layer_times(layer, has_bwd: bool, batch: int, device: Device, ppp_comp: float,
                work: Callable) -> tuple[float, float, float]:
    """(forward, backward = data gradient, update = 0) seconds."""
    fwd = work_time(work(layer, batch, "forward"), device, ppp_comp)
    bwd = work_time(work(layer, batch, "data_grad"), device, ppp_comp) if has_bwd else 0.0
    return fwd, bwd, 0.0
