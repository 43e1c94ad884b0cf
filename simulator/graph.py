"""The network graph every part of the simulator speaks.

A `Network` is a DAG of `Layer`s in topological order. Each layer carries an
`Op` from the catalogue (`simulator.ops`) and, once the network is built, the
shapes and per-sample counts the cost models and the scheduler read. Builders
(the zoo, the Paleo and torch.fx importers) produce networks through
`Network.build`, which infers shapes, checks the graph and fills the counts;
nothing downstream ever calls the op formulas again per placement.

Conventions (SI, see docs/simulator.md): shapes are per sample, without the batch
dimension; tensors are channels-last for images (H, W, C) as in Paleo; counts
are in elements and FLOPs, and a multiply-add is 2 FLOPs. Bytes come only from
elements times the precision's size, in the cost models.

Gradients: a layer's output "requires grad" when the layer owns (or shares)
parameters or when any parent's output requires grad; input data does not.
`dgrad_flops` counts only the gradients towards parents whose output requires
grad (so the first convolution after the data computes no data gradient, as in
PyTorch and in Paleo), and `needs_dgrad` says whether any is needed at all.

Batch-free layers: a `parameter` layer, and a layer all of whose parents are
batch-free (work on parameters alone), are the same for every sample. Their
work is done once per step: their per-sample counts are the step's divided by
`batch_size`. A layer reading one does not keep it for the backward (the
weights are kept anyway) and reads it once per step. A view that spreads one
to every sample (an op with ``spread=True``: a class token expanded to the
batch) is a tensor of each sample again.

Groups: a placement names one device per `Group` of layers. `Network.build`
always sets a default grouping (see `simulator.grouping.default_groups`);
`Network.regroup` returns a new network with another grouping and never
mutates the one it is called on.
"""
from __future__ import annotations

import difflib
import heapq
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Protocol, Sequence

Shape = tuple[int, ...]


class SimulatorError(ValueError):
    """Anything a user can get wrong: a bad network, device graph or placement.

    `str(err)` is one line that names the file (when there is one) and the
    place: ``"resnet.json: layer 'conv3': unknown layer type 'Conv'"``.
    """

    def __init__(self, message: str, *, source: str | None = None, where: str | None = None):
        self.message = message
        self.source = source
        self.where = where
        super().__init__(self.__str__())

    def __str__(self) -> str:
        prefix = ""
        if self.source:
            prefix += f"{self.source}: "
        if self.where:
            prefix += f"{self.where}: "
        return prefix + self.message


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`" (did you mean 'x'?)"` for a near miss among `choices`, else `""`."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class Op(Protocol):
    """One kind of layer, as a table of formulas (see `simulator.ops`)."""

    kind: str  # short name of the op kind, e.g. "conv2d", "linear", "relu"

    def infer(self, in_shapes: Sequence[Shape]) -> Shape: ...


@dataclass
class Layer:
    """One node of the graph. The fields after `parents` are filled by `Network.build`
    (except `block` and `shares_weights_with`, which a builder may set)."""

    name: str
    op: Op
    parents: tuple[str, ...] = ()
    # --- filled by Network.build (per sample, elements / FLOPs) ---
    in_shapes: tuple[Shape, ...] = ()
    out_shape: Shape = ()
    params: int = 0             # trainable parameters
    fwd_flops: float = 0.0      # forward
    dgrad_flops: float = 0.0    # gradient w.r.t. the inputs (data gradient)
    wgrad_flops: float = 0.0    # gradient w.r.t. the weights
    fwd_read: float = 0.0       # activation elements read by the forward
    fwd_write: float = 0.0      # activation elements written by the forward
    saved: float = 0.0          # activation elements kept for the backward
    extra: dict = field(default_factory=dict)  # op-specific facts (e.g. Paleo terms)
    # --- set by builders ---
    block: str = ""             # natural block (Paleo block, zoo stage); "" = none
    shares_weights_with: str | None = None  # weights owned by that layer (tied): params 0 here
    # --- filled by Network.build: what `saved` is made of, for de-duplication ---
    needs_dgrad: bool = True    # some parent's output requires grad
    saved_inputs: tuple[int, ...] = ()  # indices of in_shapes whose tensors are kept
    saves_output: bool = False  # its own output is kept
    saved_private: float = 0.0  # elements of tensors only this layer holds (masks, stats)
    is_view: bool = False       # output aliases input 0's storage (reshape, flatten)

    @property
    def out_elems(self) -> int:
        n = 1
        for d in self.out_shape:
            n *= d
        return n

    @property
    def kind(self) -> str:
        return self.op.kind


@dataclass
class Group:
    """Layers placed together: a placement list names one device per group."""

    name: str
    layers: tuple[int, ...]  # indices into Network.layers


@dataclass
class Network:
    name: str
    layers: list[Layer]                       # topological order
    groups: list[Group] = field(default_factory=list)
    input_names: tuple[str, ...] = ()         # layers that take no parents (data): `input` ops
    source: str | None = None                 # file it came from, for messages

    # index by name, children lists: derived, rebuilt by build()
    index: dict[str, int] = field(default_factory=dict, repr=False)
    children: list[list[int]] = field(default_factory=list, repr=False)

    batch_size: int | None = None             # default batch for simulate
    file_placement: dict[str, int] | None = None  # Exprimo "device" per layer, if the file had it
    meta: dict = field(default_factory=dict, repr=False)  # config, published figures, ...

    @property
    def params(self) -> int:
        return sum(l.params for l in self.layers)

    @property
    def forward_flops(self) -> float:
        """Forward FLOPs per sample (a multiply-add counts 2)."""
        return float(sum(l.fwd_flops for l in self.layers))

    def __len__(self) -> int:
        return len(self.layers)

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        name: str,
        layers: Sequence[Layer],
        *,
        source: str | None = None,
        batch_size: int | None = None,
        groups: Mapping[str, Sequence[str]] | None = None,
        file_placement: Mapping[str, int] | None = None,
        meta: Mapping | None = None,
    ) -> "Network":
        """Check the graph, order it, infer every shape and fill every count.

        `layers` may come in any order (a stable topological sort keeps the
        given order wherever it is already valid). Errors are `SimulatorError`s
        naming `source` and the layer: duplicate names, unknown parents, a
        cycle, inconsistent shapes. `groups` ({group name: [layer names]})
        replaces the default grouping.
        """
        ordered = _topological_order(list(layers), source)
        index = {l.name: i for i, l in enumerate(ordered)}
        requires_grad: list[bool] = []
        # a layer of parameters and constants alone (a torch model's ``self.W + self.B @ self.A``) is the same for
        # every sample: its work is done once per step, so its per-sample counts are the step's divided by the batch
        batch_free: list[bool] = []
        built: list[Layer] = []
        for i, layer in enumerate(ordered):
            where = f"layer '{layer.name}'"
            if layer.shares_weights_with is not None and layer.shares_weights_with not in index:
                raise SimulatorError(
                    f"shares weights with unknown layer '{layer.shares_weights_with}'"
                    + did_you_mean(layer.shares_weights_with, index), source=source, where=where)
            parent_ids = [index[p] for p in layer.parents]
            in_shapes = tuple(built[j].out_shape for j in parent_ids)
            try:
                out_shape = tuple(int(d) for d in layer.op.infer(in_shapes))
                counts = layer.op.counts(in_shapes, out_shape)
            except SimulatorError as err:
                raise SimulatorError(err.message, source=source, where=where) from None
            parent_grad = [requires_grad[j] for j in parent_ids]
            free_parent = [batch_free[j] for j in parent_ids]
            batch_free.append(getattr(layer.op, "kind", "") == "parameter" or bool(parent_ids) and all(free_parent)
                              and not getattr(layer.op, "spread", False))
            # a batch-free input (a weight read in forward) is read once per step and kept anyway, not per sample
            once = (1.0 / batch_size) if batch_size and isinstance(batch_size, int) and batch_size > 0 else 1.0
            per_step = once if batch_free[-1] else 1.0
            kept = tuple(k for k in counts.saved_inputs if not free_parent[k] or batch_free[-1])
            shared_read = 0.0 if batch_free[-1] else sum(
                _elems(s) for s, free in zip(in_shapes, free_parent) if free) * (1.0 - once)
            own_weights = counts.params > 0 or layer.shares_weights_with is not None
            requires_grad.append(own_weights or any(parent_grad))
            dgrad = sum(g for g, needed in zip(counts.dgrad, parent_grad) if needed) * per_step
            saved = (sum(_elems(in_shapes[k]) for k in kept)
                     + (_elems(out_shape) if counts.saves_output else 0)
                     + counts.saved_private) * per_step
            extra = dict(layer.extra)
            # Paleo skips a convolution's data gradient when its parent is the input.
            extra["paleo_backprop"] = not any(
                getattr(built[j].op, "kind", "") == "input" for j in parent_ids)
            built.append(replace(
                layer,
                in_shapes=in_shapes,
                out_shape=out_shape,
                params=0 if layer.shares_weights_with is not None else int(counts.params),
                fwd_flops=float(counts.fwd) * per_step,
                dgrad_flops=float(dgrad),
                wgrad_flops=float(counts.wgrad) * per_step if own_weights else 0.0,
                fwd_read=max(float(counts.read) - shared_read, 0.0) * per_step,
                fwd_write=float(counts.write) * per_step,
                saved=float(saved),
                extra=extra,
                needs_dgrad=any(parent_grad),
                saved_inputs=kept,
                saves_output=bool(counts.saves_output),
                saved_private=float(counts.saved_private) * per_step,
                is_view=bool(counts.view),
            ))
        children: list[list[int]] = [[] for _ in built]
        for i, layer in enumerate(built):
            for p in layer.parents:
                children[index[p]].append(i)
        net = cls(
            name=name,
            layers=built,
            input_names=tuple(l.name for l in built if l.op.kind == "input"),
            source=source,
            index=index,
            children=children,
            batch_size=batch_size,
            file_placement=dict(file_placement) if file_placement is not None else None,
            meta=dict(meta or {}),
        )
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise SimulatorError(f"batch size must be a positive integer, not {batch_size!r}",
                                 source=source)
        from simulator import grouping  # local: grouping imports this module
        net.groups = (grouping.named_groups(net, groups) if groups is not None
                      else grouping.default_groups(net))
        return net

    # --------------------------------------------------------------- queries
    def layer(self, name: str) -> Layer:
        """The layer called `name` (a SimulatorError with a suggestion if none)."""
        try:
            return self.layers[self.index[name]]
        except KeyError:
            raise SimulatorError(f"no layer '{name}' in network '{self.name}'"
                                 + did_you_mean(name, self.index), source=self.source) from None

    def group_of(self) -> list[int]:
        """Group index of every layer (by layer index)."""
        owner = [-1] * len(self.layers)
        for g, group in enumerate(self.groups):
            for i in group.layers:
                owner[i] = g
        return owner

    def flops_by_kind(self) -> dict[str, float]:
        """Forward FLOPs per sample summed by op kind."""
        out: dict[str, float] = {}
        for l in self.layers:
            out[l.kind] = out.get(l.kind, 0.0) + l.fwd_flops
        return out

    def saved_activation_elems(self) -> float:
        """Elements per sample kept for the backward pass, each tensor counted once.

        Summing `Layer.saved` counts a tensor once per layer that keeps it (a
        ReLU's output saved by the ReLU and by the next convolution); this
        follows views back to their storage and counts each stored tensor once.
        """
        def storage(i: int) -> int:
            while self.layers[i].is_view and self.layers[i].parents:
                i = self.index[self.layers[i].parents[0]]
            return i

        kept: set[int] = set()
        private = 0.0
        for i, l in enumerate(self.layers):
            private += l.saved_private
            if l.saves_output:
                kept.add(storage(i))
            for k in l.saved_inputs:
                kept.add(storage(self.index[l.parents[k]]))
        return private + sum(float(self.layers[i].out_elems) for i in kept)

    def summary(self) -> str:
        """A table for people: one line per layer, then totals."""
        rows = [f"{'layer':40s} {'kind':18s} {'output':>20s} {'params':>12s} {'fwd GFLOP':>10s}"]
        for l in self.layers:
            rows.append(f"{l.name[:40]:40s} {l.kind:18s} {str(l.out_shape):>20s} "
                        f"{l.params:12,d} {l.fwd_flops / 1e9:10.4f}")
        rows.append(f"{self.name}: {len(self.layers)} layers, {len(self.groups)} groups, "
                    f"{self.params:,d} parameters, {self.forward_flops / 1e9:.3f} GFLOP forward per sample")
        return "\n".join(rows)

    # -------------------------------------------------------------- grouping
    def regroup(self, spec: "int | str | Mapping[str, Sequence[str]]", by: str = "layers") -> "Network":
        """A copy of this network with another grouping (this one is untouched).

        - ``regroup(n)`` / ``regroup(n, by="layers")``: n groups of consecutive
          layers in topological order; with L layers the first ``L % n`` groups
          get ``L // n + 1`` layers and the others ``L // n``.
        - ``regroup(n, by="flops")``: n groups of consecutive layers whose
          largest forward-FLOP total is as small as possible.
        - ``regroup({"g": [layer names], ...})``: named groups; every layer in
          exactly one group.
        - ``regroup("blocks")``: the natural blocks (Paleo blocks, zoo stages);
          ``regroup("layers")``: one group per layer; ``regroup("file")``: runs
          of consecutive layers with the same Exprimo ``device`` in the file
          (see `file_placement_groups`).
        """
        from simulator import grouping
        return replace(self, groups=grouping.make_groups(self, spec, by))

    def file_placement_groups(self) -> tuple["Network", list[int]]:
        """(network grouped as the file's placement, device index per group).

        Groups are maximal runs of consecutive layers on the same device, so
        that the returned placement list reproduces the file's placement.
        """
        from simulator import grouping
        return grouping.file_placement(self)


def _elems(shape: Shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _topological_order(layers: list[Layer], source: str | None) -> list[Layer]:
    """Stable topological order (Kahn with the given position as priority)."""
    position: dict[str, int] = {}
    for i, l in enumerate(layers):
        if l.name in position:
            raise SimulatorError("duplicate layer name", source=source, where=f"layer '{l.name}'")
        position[l.name] = i
    indegree = [0] * len(layers)
    kids: list[list[int]] = [[] for _ in layers]
    for i, l in enumerate(layers):
        for p in l.parents:
            if p not in position:
                raise SimulatorError(f"unknown parent '{p}'" + did_you_mean(p, position),
                                     source=source, where=f"layer '{l.name}'")
            indegree[i] += 1
            kids[position[p]].append(i)
    ready = [i for i, d in enumerate(indegree) if d == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for k in kids[i]:
            indegree[k] -= 1
            if indegree[k] == 0:
                heapq.heappush(ready, k)
    if len(order) < len(layers):
        cycle = _find_cycle(layers, position, {i for i, d in enumerate(indegree) if d > 0})
        raise SimulatorError("the graph has a cycle: " + " -> ".join(cycle), source=source,
                             where=f"layer '{cycle[0]}'")
    return [layers[i] for i in order]


def _find_cycle(layers: list[Layer], position: dict[str, int], stuck: set[int]) -> list[str]:
    """Names along one cycle among the layers a topological sort could not place."""
    start = min(stuck)
    seen: dict[int, int] = {}
    path: list[int] = []
    i = start
    while i not in seen:  # walk parents inside the stuck set: it must loop
        seen[i] = len(path)
        path.append(i)
        i = next(position[p] for p in layers[i].parents if position[p] in stuck)
    loop = path[seen[i]:]
    loop.reverse()  # parent -> child order reads as data flow
    first = loop.index(min(loop))  # start from the layer written first
    loop = loop[first:] + loop[:first]
    names = [layers[j].name for j in loop]
    return names + [names[0]]
