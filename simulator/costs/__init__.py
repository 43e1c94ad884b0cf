"""Placement-independent costs: computed once per (network, device graph, settings).

`build_costs` returns flat tables the event simulation reads: per layer and
device the forward, backward and optimizer-update seconds; per layer the bytes
sent, allocated and all-reduced; per channel the seconds per byte and latency;
per device the floor of a transfer hop (Paleo's one cycle).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..devices.model import BYTES_PER_ELEMENT, DeviceGraph
from ..graph import Network
from ..memory import bytes_per_param
from . import paleo, roofline


@dataclass
class CostTables:
    micro_batch: int            # samples per micro-batch per replica
    fwd: np.ndarray             # (L, D) seconds
    bwd: np.ndarray             # (L, D) seconds (data + weight gradient)
    upd: np.ndarray             # (L, D) seconds (optimizer update)
    has_bwd: np.ndarray         # (L,) bool: the layer's output requires grad
    xfer_bytes: np.ndarray      # (L,) bytes of the output of one micro-batch
    alloc_bytes: np.ndarray     # (L,) bytes its forward allocates on its device (0 for views)
    private_bytes: np.ndarray   # (L,) bytes it alone keeps for its backward
    grad_bytes: np.ndarray      # (L,) bytes of its weight gradients (all-reduced)
    static_bytes: np.ndarray    # (L,) weights + gradients + optimizer state
    saved_slot: list[tuple[int, ...]]  # per layer: input slots its backward keeps
    saves_output: np.ndarray    # (L,) bool
    is_view: np.ndarray         # (L,) bool
    chan_sec_per_byte: np.ndarray  # (C,)
    chan_latency: np.ndarray    # (C,)
    dev_floor: np.ndarray       # (D,) minimum seconds of a hop sent by this device


def requires_grad(network: Network) -> np.ndarray:
    """A layer's output requires grad if it owns or shares weights, or a parent's does."""
    out = np.zeros(len(network.layers), dtype=bool)
    for i, layer in enumerate(network.layers):
        own = layer.params > 0 or getattr(layer, "shares_weights_with", None) is not None
        out[i] = own or any(out[network.index[p]] for p in layer.parents)
    return out


def _paleo_work():
    """Paleo's per-layer work items (the op catalogue's side, `simulator.paleo_terms`)."""
    from ..paleo_terms import paleo_work
    return paleo_work


def build_costs(network: Network, devices: DeviceGraph, settings, batch: int) -> CostTables:
    mb = settings.split_batch(batch)
    L, D = len(network.layers), len(devices.devices)
    s = BYTES_PER_ELEMENT[settings.precision]
    rg = requires_grad(network)
    fwd = np.zeros((L, D))
    bwd = np.zeros((L, D))
    upd = np.zeros((L, D))
    work = _paleo_work() if settings.cost_model == "paleo" else None
    sig_cols: dict[tuple, int] = {}
    named = {k for k, _ in settings.device_efficiency + settings.launch_overhead}
    for d, dev in enumerate(devices.devices):
        # identical devices get identical columns: compute each kind once
        sig = (dev.name if dev.name in named else "", dev.model, dev.kind,
               tuple(sorted(dev.peak_flops.items())), dev.mem_bandwidth, dev.clock)
        if sig in sig_cols:
            c = sig_cols[sig]
            fwd[:, d], bwd[:, d], upd[:, d] = fwd[:, c], bwd[:, c], upd[:, c]
            continue
        sig_cols[sig] = d
        for i, layer in enumerate(network.layers):
            if work is not None:
                t = paleo.layer_times(layer, bool(rg[i]), mb, dev, settings.ppp_comp, work)
            else:
                grad_parent = [bool(rg[network.index[p]]) for p in layer.parents]
                t = roofline.layer_times(layer, grad_parent, bool(rg[i]), mb, dev, settings)
            fwd[i, d], bwd[i, d], upd[i, d] = t

    out_elems = np.array([float(l.out_elems) for l in network.layers])
    xfer = out_elems * mb * s
    is_view = np.array([bool(getattr(l, "is_view", False)) for l in network.layers])
    params = np.array([float(l.params) for l in network.layers])
    channels = devices.channels
    if settings.cost_model == "paleo":
        spb = np.array([paleo.seconds_per_byte(c, settings.ppp_comm) for c in channels])
        floor = np.array([1.0 / d.clock for d in devices.devices])
    else:
        spb = np.array([1.0 / c.bandwidth for c in channels])
        floor = np.zeros(D)
    return CostTables(
        micro_batch=mb, fwd=fwd, bwd=bwd, upd=upd, has_bwd=rg,
        xfer_bytes=xfer,
        alloc_bytes=np.where(is_view, 0.0, xfer),
        private_bytes=np.array([float(getattr(l, "saved_private", 0.0)) for l in network.layers]) * mb * s,
        grad_bytes=params * s,
        static_bytes=params * bytes_per_param(settings.precision, settings.optimizer),
        saved_slot=[tuple(getattr(l, "saved_inputs", ())) for l in network.layers],
        saves_output=np.array([bool(getattr(l, "saves_output", False)) for l in network.layers]),
        is_view=is_view,
        chan_sec_per_byte=spb.reshape(len(channels)),
        chan_latency=np.array([c.latency for c in channels]).reshape(len(channels)),
        dev_floor=floor,
    )
