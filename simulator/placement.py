"""Placements -> the device of every layer.

A placement is
- an int: every layer on that device;
- a list (or 1-D array) with one device per layer group, in `network.groups` order;
- a dict {layer or group name: device}; a layer's own entry wins over its
  group's, and the key "*" gives the device of everything not named. Every
  layer must be covered.
Devices are indices into the device graph or device names ("gpu0").
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .devices.model import DeviceGraph
from .graph import Network, SimulatorError, did_you_mean


def device_index(value: Any, devices: DeviceGraph, where: str = "placement") -> int:
    """The index of a device given as an index or a name ("gpu0"), or a SimulatorError saying which exist."""
    n = len(devices.devices)
    if isinstance(value, str):
        for i, d in enumerate(devices.devices):
            if d.name == value:
                return i
        if value.strip().lstrip("-").isdigit():
            value = int(value)
        else:
            raise SimulatorError(f"{where}: no device named {value!r}"
                                 + did_you_mean(value, [d.name for d in devices.devices])
                                 + f" (devices: {_names(devices)})")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise SimulatorError(f"{where}: a device is an index or a name, not {value!r}")
    if not 0 <= int(value) < n:
        raise SimulatorError(f"{where}: device {int(value)} does not exist "
                             f"({n} devices: {_names(devices)})")
    return int(value)


def _names(devices: DeviceGraph) -> str:
    names = [f"{i}={d.name}" for i, d in enumerate(devices.devices)]
    return ", ".join(names) if len(names) <= 12 else ", ".join(names[:12]) + ", ..."


def group_index(network: Network) -> np.ndarray:
    """Group of every layer."""
    out = np.zeros(len(network.layers), dtype=np.int64)
    for g, group in enumerate(network.groups):
        out[list(group.layers)] = g
    return out


def layer_devices(placement: Any, network: Network, devices: DeviceGraph) -> np.ndarray:
    """The device of every layer, for one placement (int, list or dict)."""
    L = len(network.layers)
    if isinstance(placement, (int, np.integer, str)) and not isinstance(placement, bool):
        return np.full(L, device_index(placement, devices, "placement"), dtype=np.int64)
    if isinstance(placement, Mapping):
        return _from_dict(placement, network, devices)
    if isinstance(placement, np.ndarray) and placement.ndim != 1:
        raise SimulatorError(f"a placement array must be 1-D (one device per group), "
                             f"not of shape {placement.shape}")
    if isinstance(placement, (list, tuple, np.ndarray)):
        G = len(network.groups)
        if len(placement) != G:
            raise SimulatorError(f"placement lists {len(placement)} devices but network "
                                 f"'{network.name}' has {G} groups")
        per_group = np.array([device_index(v, devices, f"placement[{g}]")
                              for g, v in enumerate(placement)], dtype=np.int64)
        return per_group[group_index(network)]
    raise SimulatorError(f"a placement is an int, a list (one device per group) or a dict, "
                         f"not {type(placement).__name__}")


def _from_dict(placement: Mapping, network: Network, devices: DeviceGraph) -> np.ndarray:
    L = len(network.layers)
    out = np.full(L, -1, dtype=np.int64)
    group_names = {g.name: g for g in network.groups}
    default = None
    layer_entries = []
    for key, value in placement.items():
        name = str(key)
        if name == "*":
            default = device_index(value, devices, "placement['*']")
        elif name in network.index:
            layer_entries.append((network.index[name], device_index(value, devices, f"placement[{name!r}]")))
        elif name in group_names:
            out[list(group_names[name].layers)] = device_index(value, devices, f"placement[{name!r}]")
        else:
            raise SimulatorError(f"placement names {name!r}, which is neither a layer nor a group of "
                                 f"network '{network.name}'"
                                 + did_you_mean(name, list(network.index) + list(group_names)))
    for i, d in layer_entries:
        out[i] = d
    if default is not None:
        out[out < 0] = default
    missing = [network.layers[i].name for i in np.flatnonzero(out < 0)]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise SimulatorError("placement does not say where to put " + ", ".join(missing[:3]) + more
                             + " (name them, their groups, or give a default with '*')")
    return out


def batch_layer_devices(placements: Any, network: Network, devices: DeviceGraph) -> np.ndarray:
    """(P, L) devices of every layer for an integer array of placements (P, groups)."""
    arr = np.asarray(placements)
    G = len(network.groups)
    if arr.ndim != 2:
        raise SimulatorError(f"placements must be a 2-D integer array (placements x groups), "
                             f"not of shape {arr.shape}")
    if arr.shape[1] != G:
        raise SimulatorError(f"placements have {arr.shape[1]} columns but network "
                             f"'{network.name}' has {G} groups")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        else:
            raise SimulatorError(f"placements must be integers, not {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    n = len(devices.devices)
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise SimulatorError(f"placement row {r}, group {c}: device {arr[r, c]} does not exist "
                             f"({n} devices: {_names(devices)})")
    return np.ascontiguousarray(arr[:, group_index(network)])
