"""The torch.fx importer's converter (torch_fx.py): the graph's nodes, visited in order, made into the
network's layers. `_Converter` holds what the conversion knows (the layers made, our per-sample shape of each,
the value of each node) and the helpers every kind of node uses (adding a layer checked against torch's shape,
layouts, axes, one-line failures); the nodes themselves are its mixins' (torch_modules.py, torch_functions.py,
torch_tensors.py, torch_writes.py, torch_seqfirst.py, torch_norms.py, torch_experts.py, torch_weights.py,
torch_rows.py). At the end it chooses the blocks that become the default groups."""
from __future__ import annotations

from typing import Any

from simulator.graph import Layer, SimulatorError
from simulator.ops import Input, OpBase, Parameter, Reshape
from simulator.ops.base import prod

from .torch_experts import ExpertNodes
from .torch_functions import FunctionNodes
from .torch_modules import ModuleNodes
from .torch_nodes import (NCHW, PLAIN, SHARED, _Complex, _Const, _Merged, _Moved, _Multi, _Other, _Split, _State,
                          _Tensor, _Unbound)
from .torch_norms import NormFunctions
from .torch_rows import RowNodes
from .torch_seqfirst import SeqFirstNodes, swapped_meta
from .torch_tensors import TensorNodes
from .torch_weights import WeightNodes
from .torch_writes import WriteNodes


class _Converter(ModuleNodes, FunctionNodes, TensorNodes, WriteNodes, SeqFirstNodes, NormFunctions,
                 ExpertNodes, WeightNodes, RowNodes):
    def __init__(self, modules: dict, params: dict, buffers: dict, batch: int, source: str, batch_dim: int = 0):
        self.modules = modules
        self.params = params
        self.buffers = buffers
        self.param_ids = {id(p) for p in params.values()}
        self.attr_params: dict[str, int] = {}   # parameter layer made by get_attr -> id of its tensor
        self.module_params: set[int] = set()     # ids of the tensors a module's layer counts
        self.batch = batch
        self.source = source
        self.layers: list[Layer] = []
        self.shapes: dict[str, tuple[int, ...]] = {}  # our per-sample shape of each layer
        self.env: dict[Any, Any] = {}
        self.owner: dict[Any, str] = {}  # module or attribute -> first layer that used it
        self.stacks: dict[str, list[str]] = {}  # layer -> module path (outermost first)
        self.final_states: dict[str, _Tensor] = {}   # recurrent layer -> its final state's layer, once made
        self.names: set[str] = set()
        self.batch_dim = batch_dim   # 1: the inputs are sequence-first (torch_seqfirst.py)
        self.seq: set = set()        # the fx nodes whose tensors are sequence-first
        self.seq_mode = False        # converting a node that reads one, as if its batch were first

    # ------------------------------------------------------------- errors
    def fail(self, node, message: str) -> SimulatorError:
        target = node.target if isinstance(node.target, str) else getattr(
            node.target, "__name__", repr(node.target))
        # inside a submodule, its path (a model's forward calls many; the node's name alone may be anywhere)
        inside = self.stack_of(node) if node.op in ("call_function", "call_method") else []
        module = f"module '{inside[-1]}': " if inside else ""
        return SimulatorError(message, source=self.source,
                              where=f"{module}node '{node.name}' ({node.op} {target})")

    # ------------------------------------------------------------- layers
    def unique(self, wanted: str) -> str:
        name, k = wanted, 1
        while name in self.names:
            k += 1
            name = f"{wanted}_{k}"
        self.names.add(name)
        return name

    def add(self, node, name: str, op: OpBase, parents: list[_Tensor], layout: str,
            expect: tuple[int, ...] | None, shares: str | None = None, stack=None, to_batch: bool = False) -> _Tensor:
        """Add a layer, checking our inferred shape against torch's. A layer of parameters and constants alone
        is the same for every sample (layout SHARED) unless it spreads them to the batch (`to_batch`)."""
        in_shapes = [self.shapes[p.layer] for p in parents]
        if parents and not to_batch and all(p.layout == SHARED for p in parents):
            layout = SHARED
        try:
            ours = tuple(op.infer(in_shapes))
        except SimulatorError as err:
            raise self.fail(node, err.message) from None
        full = expect if expect is not None else None
        squeezed = None
        if full is not None:
            theirs = self.per_sample(node, full, layout)
            if layout == SHARED and ours != theirs and len(ours) > len(theirs) and \
                    ours[len(ours) - len(theirs):] == theirs and set(ours[:len(ours) - len(theirs)]) == {1}:
                squeezed = theirs   # a shared tensor's leading axes of 1 (one head's bias, permuted to the front)
            elif ours != theirs:
                raise self.fail(node, f"the simulator's output shape {ours} differs from "
                                      f"PyTorch's {tuple(full)} (per sample {theirs})")
        lname = self.unique(name)
        self.layers.append(Layer(lname, op, tuple(p.layer for p in parents),
                                 shares_weights_with=shares))
        self.shapes[lname] = ours
        self.stacks[lname] = stack if stack is not None else self.stack_of(node)
        if squeezed is not None:   # kept as shared tensors are, without them: a view
            return self.add(node, f"{name}:squeezed", Reshape(squeezed), [_Tensor(lname, SHARED, ())], SHARED,
                            expect, stack=stack)
        return _Tensor(lname, layout, tuple(full) if full is not None else ())

    def per_sample(self, node, shape, layout: str) -> tuple[int, ...]:
        shape = tuple(int(d) for d in shape)
        if layout == SHARED:
            while len(shape) > 1 and shape[0] == 1:
                shape = shape[1:]
            return shape
        if not shape or shape[0] != self.batch:
            raise self.fail(node, f"tensor of shape {shape} does not keep the batch "
                                  f"({self.batch}) as its first dimension")
        if layout == NCHW:
            if len(shape) != 4:
                raise self.fail(node, f"expected an NCHW image, got shape {shape}")
            _, c, h, w = shape
            return (h, w, c)
        return shape[1:]

    def stack_of(self, node) -> list[str]:
        stack = node.meta.get("nn_module_stack") or {}
        out = []
        for value in stack.values():
            path = value[0] if isinstance(value, tuple) else str(value)
            if path:
                out.append(path)
        return out

    def as_layout(self, node, t: _Tensor, layout: str) -> _Tensor:
        """`t` in `layout`, inserting a free view when it is in the other one."""
        if t.layout == layout or t.layout == SHARED:
            return t
        key = (t.layer, layout)
        if key in self.env:
            return self.env[key]
        suffix = "nhwc" if layout == NCHW else "nchw"
        target = self.per_sample(node, t.torch_shape, layout)
        view = self.add(node, f"{t.layer}:{suffix}", Reshape(target), [t], layout, t.torch_shape,
                        stack=self.stacks.get(t.layer))
        self.env[key] = view
        return view

    def tensor(self, node, arg, layout: str | None = None) -> _Tensor:
        value = self.env.get(arg) if hasattr(arg, "op") else None
        if isinstance(value, _Const):
            value = self.materialize(node, value)
        if isinstance(value, _Merged):
            value = value.source
        if isinstance(value, _Tensor):
            return self.as_layout(node, value, layout) if layout else value
        if isinstance(value, _Complex):
            raise self.fail(node, "complex numbers are supported only as rotary embeddings: view_as_complex, a "
                                  "product, view_as_real")
        if isinstance(value, _Multi):
            raise self.fail(node, f"uses the whole tuple returned by {value.target}; only its "
                                  "first element is supported")
        if isinstance(value, _State):
            raise self.fail(node, f"uses the final state of {value.source.target} as a tensor: only h_n[i] of its "
                                  "last layer (or the state as another RNN's initial state) is supported")
        if isinstance(value, _Moved):
            raise self.fail(node, "moving the batch dimension is not supported (only to index it back, as in "
                                  "qkv.permute(2, 0, 3, 1, 4)[0] or .unbind(0))")
        what = value.what if isinstance(value, _Other) else repr(arg)
        raise self.fail(node, f"expects a tensor input, got {what}")

    def axis(self, node, t: _Tensor, dim: int) -> int:
        """Our per-sample axis for torch dimension `dim` of `t`."""
        rank = len(t.torch_shape)
        if not -rank <= dim < rank:
            raise self.fail(node, f"dimension {dim} is out of range for shape {t.torch_shape}")
        dim %= rank
        if t.layout == SHARED:
            if dim < self.lead(t):
                raise self.fail(node, "operations along a parameter's leading size-1 axes are not supported")
            return dim - self.lead(t)
        if dim == 0:
            raise self.fail(node, "operations along the batch dimension are not supported (they mix the samples of "
                                  "a batch); leave them out of the model imported (in the loss, say)")
        return {1: 2, 2: 0, 3: 1}[dim] if t.layout == NCHW else dim - 1

    def every_dim(self, node, t: _Tensor, what: str) -> list[int]:
        """The torch dimensions of a reduction over every dimension (dim=None) of `t`: allowed only on a tensor
        with no batch axis (computed from parameters and buffers alone: w - w.mean() in weight standardisation),
        for over a batch tensor it would mix the samples."""
        if t.layout != SHARED:
            raise self.fail(node, f"{what} over every dimension mixes the batch; give dim")
        return list(range(self.lead(t), len(t.torch_shape)))

    def lead(self, t: _Tensor) -> int:
        """How many of t's torch axes come before our per-sample ones: the batch, or the leading size-1 axes of a
        parameter (dropped from its shape)."""
        if t.layout != SHARED:
            return 1
        return len(t.torch_shape) - len(self.shapes[t.layer])

    # -------------------------------------------------------------- nodes
    def visit(self, node) -> None:
        if node.op == "output":   # a result with its batch moved (y.T of (batch, features)) is not the network's
            for a in node.all_input_nodes:
                if isinstance(self.env.get(a), _Moved):
                    self.tensor(node, a)   # the one-line refusal of a batch moved
            return
        meta = node.meta.get("tensor_meta")
        if node.op == "placeholder":
            shape = tuple(meta.shape)
            layout = NCHW if len(shape) == 4 and not self.batch_dim else PLAIN
            if self.batch_dim:   # sequence-first: kept as its batch-first twin
                self._seq_shaped(node, shape)
                node.meta["tensor_meta"] = swapped_meta(meta)
                shape = tuple(node.meta["tensor_meta"].shape)
                self.seq.add(node)
            t = _Tensor(node.name, layout, shape)
            self.names.add(node.name)
            self.layers.append(Layer(node.name, Input(self.per_sample(node, shape, layout))))
            self.shapes[node.name] = self.layers[-1].op.infer(())
            self.stacks[node.name] = []
            self.env[node] = t
            return
        if node.op == "get_attr":
            self.env[node] = self.get_attr(node, meta)
            return
        if not self.seq_first_visit(node, meta):
            self.env[node] = self.dispatch(node, meta)

    def dispatch(self, node, meta):
        """The node's value: a row-wise operation on merged rows, a module or a function."""
        self.same_rows(node)
        merged = next((v for v in (self.env.get(a) for a in node.all_input_nodes) if isinstance(v, _Merged)), None)
        rows = prod(merged.prefix) if merged is not None else None
        if merged is not None:
            self.constant_rows(node, merged.prefix)

        def unmerged(m):   # the metadata with the rows spelled as the axes they merge
            return m._replace(shape=tuple(merged.prefix) + tuple(int(d) for d in m.shape[1:]))
        if merged is not None and hasattr(meta, "shape") and len(meta.shape) and \
                int(meta.shape[0]) == rows and not self.unmerges(node, meta):
            # a row-wise operation on merged rows: converted on the tensor itself, its result merged again
            rank = len(meta.shape)
            meta = node.meta["tensor_meta"] = unmerged(meta)
            self.dims_from_the_end(node, rank)
            value = self.call_module(node, meta) if node.op == "call_module" else self.call_function(node, meta)
            return _Merged(value, merged.prefix) if isinstance(value, _Tensor) else value
        target = getattr(node.target, "__name__", node.target)
        if merged is not None and target in ("split", "chunk", "tensor_split", "unbind") and \
                isinstance(meta, (tuple, list)) and meta and \
                all(hasattr(m, "shape") and len(m.shape) and int(m.shape[0]) == rows for m in meta):
            # merged rows split along a later axis (MaxViT's q, k, v by chunk): pieces of merged rows
            rank = len(meta[0].shape) + (target == "unbind")   # the input's
            meta = node.meta["tensor_meta"] = type(meta)(unmerged(m) for m in meta)
            self.dims_from_the_end(node, rank)
            value = self.call_function(node, meta)
            if isinstance(value, (_Split, _Unbound)):
                value.prefix = merged.prefix
            return value
        if node.op == "call_module":
            return self.call_module(node, meta)
        return self.call_function(node, meta)

    def get_attr(self, node, meta):
        target = node.target
        if meta is None or not hasattr(meta, "shape"):
            return _Other(f"attribute {target}")
        prefix, _, attr = target.rpartition(".")
        value = getattr(self.modules.get(prefix), attr, None)
        # a parameter, under its own name or another (a tied weight read as lm_head.weight is the embedding's)
        trainable = target in self.params or id(value) in self.param_ids
        if not trainable:   # a buffer, or a tensor torch.fx keeps as a constant: a layer where the network reads it
            return _Const(target, tuple(int(d) for d in meta.shape), self.stack_of(node))
        shares = self.owner.get(("attr", target)) or self.owner.get(("param", id(value)))
        shape = self.per_sample(node, tuple(meta.shape), SHARED)
        op = Parameter(shape, trainable=trainable)
        t = self.add(node, target, op, [], SHARED, tuple(meta.shape), shares=shares)
        self.owner.setdefault(("attr", target), t.layer)
        self.owner.setdefault(("param", id(value)), t.layer)
        self.attr_params[t.layer] = id(value)
        return t


    def drop_unread_parameters(self) -> None:
        """A parameter read in forward only to be asked about (``conv.weight.dtype``) before its module is called
        is no layer of its own: nothing reads it, nothing shares it, and the module's layer counts it."""
        read = {p for layer in self.layers for p in layer.parents}
        shared = {l.shares_weights_with for l in self.layers}
        self.layers = [l for l in self.layers if not (
            l.name in self.attr_params and self.attr_params[l.name] in self.module_params
            and l.name not in read and l.name not in shared)]

    # ------------------------------------------------------------- blocks
    def choose_blocks(self) -> None:
        """Natural blocks from the module hierarchy, to place as groups: at the shallowest depth (1 to 4) whose
        blocks give 4..32 groups with none holding more than half the forward work, else at the depth of
        4..32 groups whose largest holds the least (else depth 1). A layer outside every module at that depth
        (a function called in the network's own forward: a reshape, a class token's concatenation) joins the
        block before it, and the inputs the block after them, so they do not make groups of their own."""
        work = [float(self.layer_counts(layer).fwd) for layer in self.layers]
        total = sum(work) or 1.0
        inputs = [layer.op.kind == "input" for layer in self.layers]

        def blocks_at(depth: int) -> list[str]:
            out, last = [], ""
            for layer in self.layers:
                stack = self.stacks.get(layer.name, [])
                tag = stack[min(depth, len(stack)) - 1] if stack else ""
                if not tag and layer.op.kind != "input":
                    tag = last
                out.append(tag)
                last = tag or last
            for i in range(len(out) - 1, -1, -1):   # inputs, and function layers before any block: the next
                if not out[i] and i + 1 < len(out):
                    out[i] = out[i + 1]
            return out

        def runs(tags: list[str]) -> list[float]:
            shares: list[float] = []
            previous = None
            for tag, w, is_input in zip(tags, work, inputs):
                if is_input:
                    continue
                if tag != previous or not tag:
                    shares.append(0.0)
                shares[-1] += w / total
                previous = tag
            return shares or [1.0]

        chosen, best = blocks_at(1), None
        for depth in (1, 2, 3, 4):
            tags = blocks_at(depth)
            shares = runs(tags)
            if not 4 <= len(shares) <= 32:
                continue
            if max(shares) <= 0.5:
                chosen, best = tags, None
                break
            if best is None or max(shares) < best[0]:
                best = (max(shares), tags)
        if best is not None:
            chosen = best[1]
        for layer, tag in zip(self.layers, chosen):
            layer.block = tag

    def layer_counts(self, layer: Layer):
        return layer.op.counts(tuple(self.shapes[p] for p in layer.parents), self.shapes[layer.name])
