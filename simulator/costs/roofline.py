"""Roofline cost model: each kernel takes

    max(FLOPs / (peak[precision] * compute_eff), bytes / (mem_bandwidth * memory_eff)) + launch

for the forward, the data gradient, the weight gradient and the optimizer
update of every layer, on every device. compute_eff = efficiency[op kind]
(else efficiency["default"]) times device_efficiency[device name, model or
kind]; memory_eff = memory_efficiency[op kind] (else "default"). A kernel with
no work (a view, the input) costs nothing, not even the launch.

Bytes per kernel (b = samples, s = bytes per element of the precision):
  forward        (read + write activation elements) * b * s + params * s; an embedding reads
                 the rows it looks up instead of its table: (ids + 2 * output) * b * s
  data gradient  (output grad + input grads needed + own saved tensors) * b * s + params * s
  weight grad    (saved inputs + output grad) * b * s + params * s (written)
  update         params * (12 + 8 * optimizer states) bytes (see memory.py),
                 FLOPs per parameter: SGD 2, momentum 4, Adam 12, at fp32 peak.
"""
from __future__ import annotations

import numpy as np

from ..devices.model import BYTES_PER_ELEMENT, Device
from ..graph import Layer
from ..memory import OPTIMIZER_STATES

UPDATE_FLOPS_PER_PARAM = {"sgd": 2.0, "momentum": 4.0, "adam": 12.0}
GATHER_KINDS = frozenset({"embedding"})  # forward reads the rows looked up (one per output row), not the table


def _lookup(table: dict[str, float], *keys: str, default: float) -> float:
    for k in keys:
        if k in table:
            return table[k]
    return table.get("default", default)


def phase_work(layer: Layer, grad_parent: list[bool], has_bwd: bool, b: int, s: int
               ) -> list[tuple[float, float]]:
    """[(FLOPs, bytes)] of the kernels of forward, data grad, weight grad (zeros if none)."""
    if layer.is_view or layer.kind == "input":
        return [(0.0, 0.0)] * 3
    w = layer.params * s
    # an embedding's forward gathers one table row per output row: its output's size, whatever the vocabulary
    # (it was charged the whole table, ~1 GB per forward for a 1M-word vocabulary); its weight gradient
    # below stays dense, the table's size written, as PyTorch's default nn.Embedding does
    w_fwd = layer.out_elems * b * s if layer.kind in GATHER_KINDS else w
    fwd = (layer.fwd_flops * b, (layer.fwd_read + layer.fwd_write) * b * s + w_fwd)
    dgrad = wgrad = (0.0, 0.0)
    if has_bwd and any(grad_parent):
        in_grads = sum(_elems(sh) for sh, g in zip(layer.in_shapes, grad_parent) if g)
        own_saved = layer.saved_private + (layer.out_elems if layer.saves_output else 0)
        dgrad = (layer.dgrad_flops * b, (layer.out_elems + in_grads + own_saved) * b * s + w)
    if has_bwd and layer.wgrad_flops > 0:
        saved_in = sum(_elems(layer.in_shapes[k]) for k in layer.saved_inputs)
        wgrad = (layer.wgrad_flops * b, (saved_in + layer.out_elems) * b * s + w)
    return [fwd, dgrad, wgrad]


def layer_times(layer: Layer, grad_parent: list[bool], has_bwd: bool, b: int, device: Device,
                settings) -> tuple[float, float, float]:
    """(forward, backward, update) seconds of one layer on one device."""
    p = settings.precision
    s = BYTES_PER_ELEMENT[p]
    eff = dict(settings.efficiency)
    meff = dict(settings.memory_efficiency)
    dev_mult = _lookup(dict(settings.device_efficiency), device.name, device.model, device.kind,
                       default=1.0)
    launch = _lookup(dict(settings.launch_overhead), device.name, device.model, device.kind,
                     default=0.0)
    ce = _lookup(eff, layer.kind, default=0.5) * dev_mult
    me = _lookup(meff, layer.kind, default=0.8)
    peak = device.peak_flops[p] * ce
    bw = device.mem_bandwidth * me

    def kernel(flops: float, nbytes: float, peak_: float = peak) -> float:
        if flops <= 0 and nbytes <= 0:
            return 0.0
        return max(flops / peak_, nbytes / bw) + launch

    fwd, dgrad, wgrad = (kernel(f, m) for f, m in phase_work(layer, grad_parent, has_bwd, b, s))
    upd = 0.0
    if layer.params > 0:
        n_state = OPTIMIZER_STATES[settings.optimizer]
        upd_peak = device.peak_flops["fp32"] * _lookup(eff, "optimizer", default=0.5) * dev_mult
        upd = kernel(layer.params * UPDATE_FLOPS_PER_PARAM[settings.optimizer],
                     layer.params * (12.0 + 8.0 * n_state), upd_peak)
    return fwd, dgrad + wgrad, upd


def _elems(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
