"""The operator trace of one training step of a simulator `Network` on one device.

    trace = trace_from_network(simulator.zoo.load("resnet50", batch_size=32))

What is in it (sizes and saved tensors as in `simulator.memory` / `costs`):
  constants   the input data and every layer's weights (tied weights once)
  forward     one op per layer: reads its parents' outputs and its weights,
              allocates its output (a view allocates nothing and shares its
              input's storage) and the tensors only its backward needs
              (masks, statistics); seconds from the cost model's forward
  loss        one zero-cost op per output layer makes the output gradient
  backward    one op per layer whose output requires grad, in reverse order:
              reads the output gradient, the inputs / output it saved, its
              private tensors and its weights; allocates the gradient of each
              parent that requires grad and of its weights; seconds from the
              cost model's backward (data + weight gradient). A gradient that
              several consumers produce is summed in place (an in-place add
              costing 3 x bytes / memory bandwidth)
  update      one in-place op per weight tensor (optimizer step), then the
              weight gradient is released
References follow autograd: an activation is held by the forwards that read
it and by the backward ops that saved it, and is released after the last.
"""
from __future__ import annotations

import os
from typing import Any

from ..costs import build_costs
from ..devices import BYTES_PER_ELEMENT, Device, DeviceGraph, GPUS, device as make_device, preset
from ..devices.catalog import GPU_FAMILIES
from ..graph import Network, SimulatorError, did_you_mean
from ..settings import Settings
from .trace import OpTrace, TraceBuilder

DEFAULT_DEVICE = "V100-PCIE"


def gpu_name(name: str) -> str | None:
    """The catalogue GPU a name means, any case: a variant ("A100-SXM4") is itself, a family ("A100") its PCIe
    variant ("A100-PCIE"; H200: "H200-NVL"), as in the cpu+NxGPU-pcie presets and the default V100; else None."""
    key = name.strip().upper()
    if key in GPUS:
        return key
    if key in GPU_FAMILIES:
        return GPU_FAMILIES[key]["pcie"]
    return None


def one_device(device: Any) -> DeviceGraph:
    """The one-device graph `trace_from_network` runs on: a Device, the first GPU (else device) of a
    DeviceGraph, of a preset or of an Exprimo device file, or a GPU name (`gpu_name`: a family is its PCIe
    variant; default a V100 PCIe)."""
    if device is None:
        device = DEFAULT_DEVICE
    if isinstance(device, DeviceGraph):
        gpus = [d for d in device.devices if d.kind == "gpu"]
        device = gpus[0] if gpus else device.devices[0]
    if isinstance(device, os.PathLike) or (isinstance(device, str) and (
            device.lower().endswith(".json") or os.path.isfile(device))):
        # an Exprimo device file (a bundled one by name), as every other devices setting takes: its first GPU
        from ..importers.exprimo import load_device_graph
        device = one_device(load_device_graph(device)).devices[0]
    if isinstance(device, str):
        key = gpu_name(device)
        if key is not None:
            device = make_device(key, "gpu0")
        else:
            try:
                graph = preset(device)
            except SimulatorError:
                if "+" in device or device.strip().lower() == "cpu":
                    raise   # a preset's own error says what is wrong with it
                variants = [k for k in GPUS if k not in GPU_FAMILIES]
                raise SimulatorError(
                    f"unknown device {device!r}" + did_you_mean(device.upper(), list(GPU_FAMILIES) + list(GPUS))
                    + f"; give a GPU family ({', '.join(GPU_FAMILIES)}: its PCIe variant) or variant "
                    f"({', '.join(variants)}), a preset such as 'cpu+4xV100-pcie3' or an Exprimo device file"
                ) from None
            gpus = [d for d in graph.devices if d.kind == "gpu"]
            device = gpus[0] if gpus else graph.devices[0]
    if not isinstance(device, Device):
        raise SimulatorError(f"device must be a Device, a DeviceGraph, a GPU name, a preset or a device file, "
                             f"not {type(device).__name__}")
    return DeviceGraph(devices=[device], channels=[], links={}, name=device.name)


def trace_from_network(network: Network, *, device: Any = None, cost_model: str = "roofline",
                       precision: str = "fp32", batch_size: int | None = None,
                       optimizer: str = "sgd") -> OpTrace:
    """Forward, backward and update of `network` on one device (default a V100), with each
    op's seconds from the simulator's per-layer cost model."""
    if not isinstance(network, Network):
        raise SimulatorError(f"expected a Network, not {type(network).__name__}")
    graph = one_device(device)
    settings = Settings.make(cost_model=cost_model, precision=precision, optimizer=optimizer,
                             batch_size=batch_size)
    batch = settings.batch_size or network.batch_size
    if batch is None:
        raise SimulatorError(f"network '{network.name}' has no batch size: pass batch_size=...",
                             source=network.source)
    costs = build_costs(network, graph, settings, int(batch))
    dev = graph.devices[0]
    elem = BYTES_PER_ELEMENT[precision]
    add_bw = dev.mem_bandwidth * dict(settings.memory_efficiency).get("default", 0.8)
    layers = network.layers
    idx = network.index
    b = TraceBuilder(name=network.name, source=network.source)

    # weights: one constant per owner (tied layers read their owner's)
    weight: dict[int, int] = {}
    for i, l in enumerate(layers):
        if l.params > 0:
            weight[i] = b.constant(f"{l.name}.weight", int(l.params) * elem)

    def weight_of(i: int) -> int | None:
        owner = layers[i].shares_weights_with
        return weight.get(idx[owner] if owner is not None else i)

    out_bytes = [int(v) for v in costs.xfer_bytes]
    fwd_uses = [0] * len(layers)
    for l in layers:
        for p in l.parents:
            fwd_uses[idx[p]] += 1
    act: dict[int, int] = {}          # layer -> its program reference to its output
    saved: dict[int, list[int]] = {}  # layer -> references its backward holds
    rg = costs.has_bwd

    for i, l in enumerate(layers):
        if l.kind == "input":
            act[i] = b.constant(l.name, out_bytes[i])
            continue
        args = [act[idx[p]] for p in l.parents]
        w = weight_of(i)
        if w is not None:
            args.append(w)
        outs: list[tuple[int, int | None]] = [(0, args[0]) if l.is_view and args else (out_bytes[i], None)]
        private = int(costs.private_bytes[i]) if rg[i] else 0
        if private:
            outs.append((private, None))
        got = b.call(f"{l.name}.forward", args, outs, float(costs.fwd[i, 0]))
        act[i] = got[0]
        if rg[i]:
            keep = [b.copy(act[idx[l.parents[k]]]) for k in costs.saved_slot[i]]
            if costs.saves_output[i]:
                keep.append(b.copy(got[0]))
            saved[i] = keep + got[1:]
        for p in l.parents:
            j = idx[p]
            fwd_uses[j] -= 1
            if fwd_uses[j] == 0 and network.children[j]:
                b.release(act.pop(j))

    grad: dict[int, int] = {}
    for i, l in enumerate(layers):
        if not network.children[i] and i in act:  # an output layer: the loss seeds its gradient
            if rg[i]:
                grad[i] = b.call(f"{l.name}.loss_grad", [act[i]], [(out_bytes[i], None)], 0.0)[0]
            b.release(act.pop(i))
    for i, ref in list(act.items()):  # inputs never read
        b.release(ref)

    wgrad: dict[int, int] = {}

    def accumulate(store: dict[int, int], key: int, new: int, nbytes: int, what: str) -> None:
        if key in store:
            b.mutate(f"{what}.accumulate", [store[key], new], [store[key]], 3.0 * nbytes / add_bw)
            b.release(new)
        else:
            store[key] = new

    for i in range(len(layers) - 1, -1, -1):
        l = layers[i]
        if not rg[i] or i not in grad:
            for ref in saved.pop(i, []):  # no gradient ever reaches it: its saved tensors go
                b.release(ref)
            continue
        args = [grad[i]] + saved.get(i, [])
        w = weight_of(i)
        if w is not None:
            args.append(w)
        targets = [idx[p] for p in l.parents if rg[idx[p]]] if l.needs_dgrad else []
        outs = [(out_bytes[j], None) for j in targets]
        owner = w is not None and l.wgrad_flops > 0
        key = idx[l.shares_weights_with] if l.shares_weights_with is not None else i
        if owner:
            outs.append((int(layers[key].params) * elem, None))
        got = b.call(f"{l.name}.backward", args, outs, float(costs.bwd[i, 0]))
        for j, ref in zip(targets, got):
            accumulate(grad, j, ref, out_bytes[j], f"{layers[j].name}.grad")
        if owner:
            accumulate(wgrad, key, got[-1], int(layers[key].params) * elem, f"{layers[key].name}.wgrad")
        b.release(grad.pop(i))
        for ref in saved.pop(i, []):
            b.release(ref)
    for ref in grad.values():  # gradients of layers without a backward (none in practice)
        b.release(ref)

    for i, w in weight.items():
        if i in wgrad:
            b.mutate(f"{layers[i].name}.update", [w, wgrad[i]], [w], float(costs.upd[i, 0]))
            b.release(wgrad.pop(i))
    for w in weight.values():
        b.release(w)
    return b.build()
