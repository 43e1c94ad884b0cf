"""Layer groups: the unit a placement assigns to a device.

Rules (benchmarks rely on the exact ones):

- by layers (`regroup(n)`): n groups of consecutive layers in topological
  order; with L layers the first ``L % n`` groups hold ``L // n + 1`` layers,
  the rest ``L // n``. Groups are named ``g0 .. g{n-1}``.
- by FLOPs (`regroup(n, by="flops")`): n groups of consecutive layers that
  minimise the largest per-group forward FLOPs (binary search on the bound
  with a greedy fill); if the optimum needs fewer than n groups, the groups
  with the most layers are split until there are n. Deterministic.
- named (`regroup({"name": [layers]})`): every layer in exactly one group;
  groups keep the given order, layers inside a group keep topological order.
- blocks (`regroup("blocks")`): consecutive layers sharing `Layer.block` form
  one group named after the block; a layer without a block is its own group.
- default (`default_groups`): the blocks when that gives between 2 and
  `MAX_NATURAL_GROUPS` groups, otherwise ``min(16, L)`` groups by layers.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from simulator.graph import Group, Network, SimulatorError, did_you_mean

MAX_NATURAL_GROUPS = 32
FALLBACK_GROUPS = 16


def by_layers(net: Network, n: int) -> list[Group]:
    count = len(net.layers)
    _check_count(net, n)
    base, extra = divmod(count, n)
    groups, start = [], 0
    for g in range(n):
        size = base + (1 if g < extra else 0)
        groups.append(Group(f"g{g}", tuple(range(start, start + size))))
        start += size
    return groups


def by_flops(net: Network, n: int) -> list[Group]:
    _check_count(net, n)
    weights = [l.fwd_flops for l in net.layers]

    def fill(bound: float) -> list[int]:
        """Greedy cut points (exclusive ends) with every group's sum <= bound."""
        ends, total = [], 0.0
        for i, w in enumerate(weights):
            if total > 0 and total + w > bound:
                ends.append(i)
                total = 0.0
            total += w
        ends.append(len(weights))
        return ends

    lo, hi = max(weights, default=0.0), float(sum(weights))
    for _ in range(100):  # the bound converges long before 100 halvings
        if hi - lo <= 1e-9 * max(hi, 1.0):
            break
        mid = (lo + hi) / 2
        if len(fill(mid)) <= n:
            hi = mid
        else:
            lo = mid
    ends = fill(hi)
    bounds = [0] + ends
    spans = [[bounds[k], bounds[k + 1]] for k in range(len(ends))]
    while len(spans) < n:  # split the longest span (first one on ties)
        k = max(range(len(spans)), key=lambda j: (spans[j][1] - spans[j][0], -j))
        a, b = spans[k]
        mid = a + (b - a + 1) // 2
        spans[k:k + 1] = [[a, mid], [mid, b]]
    return [Group(f"g{g}", tuple(range(a, b))) for g, (a, b) in enumerate(spans)]


def by_blocks(net: Network) -> list[Group]:
    groups: list[Group] = []
    current: list[int] = []
    current_block = None
    for i, layer in enumerate(net.layers):
        if layer.block and layer.block == current_block:
            current.append(i)
            continue
        if current:
            groups.append(Group(current_block or net.layers[current[0]].name, tuple(current)))
        current, current_block = [i], layer.block or None
    if current:
        groups.append(Group(current_block or net.layers[current[0]].name, tuple(current)))
    return _unique_names(groups)


def one_per_layer(net: Network) -> list[Group]:
    return [Group(l.name, (i,)) for i, l in enumerate(net.layers)]


def named_groups(net: Network, spec: Mapping[str, Sequence[str]]) -> list[Group]:
    owner: dict[str, str] = {}
    groups = []
    for gname, names in spec.items():
        if isinstance(names, str):
            raise SimulatorError(f"group '{gname}' must list layer names, not the string '{names}'",
                                 source=net.source)
        ids = []
        for lname in names:
            if lname not in net.index:
                raise SimulatorError(f"group '{gname}' names unknown layer '{lname}'"
                                     + did_you_mean(lname, net.index), source=net.source)
            if lname in owner:
                raise SimulatorError(f"layer '{lname}' is in groups '{owner[lname]}' and '{gname}'",
                                     source=net.source)
            owner[lname] = gname
            ids.append(net.index[lname])
        if not ids:
            raise SimulatorError(f"group '{gname}' is empty", source=net.source)
        groups.append(Group(str(gname), tuple(sorted(ids))))
    missing = [l.name for l in net.layers if l.name not in owner]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise SimulatorError("layers in no group: " + ", ".join(missing[:3]) + more,
                             source=net.source)
    return groups


def default_groups(net: Network) -> list[Group]:
    natural = by_blocks(net)
    if 2 <= len(natural) <= MAX_NATURAL_GROUPS or len(net.layers) < 2:
        return natural
    return by_layers(net, min(FALLBACK_GROUPS, len(net.layers)))


def file_placement(net: Network) -> tuple[Network, list[int]]:
    if not net.file_placement:
        raise SimulatorError(f"network '{net.name}' has no per-layer device in its file",
                             source=net.source)
    groups: list[Group] = []
    devices: list[int] = []
    for i, layer in enumerate(net.layers):
        device = net.file_placement.get(layer.name, 0)  # Exprimo's default device is 0
        if devices and devices[-1] == device:
            groups[-1] = Group(groups[-1].name, groups[-1].layers + (i,))
        else:
            groups.append(Group(layer.name, (i,)))
            devices.append(device)
    from dataclasses import replace
    return replace(net, groups=groups), devices


def make_groups(net: Network, spec, by: str = "layers") -> list[Group]:
    if isinstance(spec, bool):
        raise SimulatorError(f"cannot group by {spec!r}", source=net.source)
    if isinstance(spec, int):
        if by == "layers":
            return by_layers(net, spec)
        if by == "flops":
            return by_flops(net, spec)
        raise SimulatorError(f"unknown grouping by='{by}' (use 'layers' or 'flops')"
                             + did_you_mean(by, ("layers", "flops")), source=net.source)
    if isinstance(spec, Mapping):
        return named_groups(net, spec)
    if isinstance(spec, str):
        if spec == "blocks":
            return by_blocks(net)
        if spec == "layers":
            return one_per_layer(net)
        if spec == "file":
            return file_placement(net)[0].groups
        if spec == "default":
            return default_groups(net)
        raise SimulatorError(f"unknown grouping '{spec}' (use a count, a dict, 'blocks', "
                             "'layers', 'file' or 'default')"
                             + did_you_mean(spec, ("blocks", "layers", "file", "default")),
                             source=net.source)
    raise SimulatorError(f"cannot group by {type(spec).__name__} {spec!r}", source=net.source)


def _check_count(net: Network, n) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise SimulatorError(f"group count must be a positive integer, not {n!r}", source=net.source)
    if n > len(net.layers):
        raise SimulatorError(f"cannot make {n} groups from {len(net.layers)} layers",
                             source=net.source)


def _unique_names(groups: list[Group]) -> list[Group]:
    """A block split into runs gets `name`, `name#2`, ... so names stay unique."""
    seen: dict[str, int] = {}
    out = []
    for g in groups:
        k = seen.get(g.name, 0) + 1
        seen[g.name] = k
        out.append(g if k == 1 else Group(f"{g.name}#{k}", g.layers))
    return out
