"""A `torch.nn.Module` -> `Network`, through `torch.fx`.

    net = from_torch(model, torch.randn(32, 3, 224, 224))

The module is traced with `torch.fx` (the supported layer modules below are
kept as single nodes), run once on `sample_input` with `ShapeProp` (in eval
mode, under `no_grad`, training flags restored afterwards) and each node is
mapped to an op. A forward torch.fx cannot trace symbolically (Python control
flow on sizes or values, ``x.view(*shape)`` with a computed shape, dtype
queries) is traced again, on a copy of the module, running each operation on
the sample input (torch_concrete.py): sizes, dtypes and branches become those
of the sample input. The first dimension of the sample input is the batch: it
becomes `Network.batch_size` and is dropped from every shape.

Layouts: PyTorch images are NCHW, the simulator's are (H, W, C). A tensor
produced by an image layer (Conv2d, BatchNorm2d, pooling) or a 4-D input is
converted; any other tensor keeps PyTorch's axis order without the batch.
Axis arguments (cat, softmax, mean, transpose, flatten) are translated. When
a layer needs the other layout (a Linear on an image, a Conv2d on a viewed
tensor) a free `reshape` view named ``<tensor>:nhwc`` / ``<tensor>:nchw`` is
inserted. Free parameters read in `forward` (``self.pos``) become `parameter`
layers (their leading size-1 axes dropped).

Supported modules: Conv1d, Conv2d, ConvTranspose2d, Linear, BatchNorm1d/2d, GroupNorm,
InstanceNorm2d, LayerNorm, RMSNorm, ReLU, GELU, Tanh, Sigmoid, SiLU, LeakyReLU, ReLU6 / Hardtanh,
Hardsigmoid, Hardswish, ELU, Softplus, Mish, Softmax, Softmax2d and LogSoftmax (costed as a
softmax), MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool2d (sizes that divide),
Unflatten, Upsample (nearest, bilinear, bicubic), Dropout / Dropout1d / Dropout2d (a mask, whatever
its shape), Conv3d, BatchNorm3d, MaxPool3d / AvgPool3d, AdaptiveAvgPool3d and Dropout3d (volumes (C, D, H,
W), channels first as torch's), Embedding, Flatten, Identity, LSTM and GRU (batch_first; an initial state that is another
RNN's final state makes it wait for that one; h_n[-1] of the last layer is a view of the output),
MultiheadAttention (batch_first; self-attention as one layer, cross-attention, key and value one
tensor, written out; a mask one addition per score), TransformerEncoderLayer,
TransformerEncoder, TransformerDecoderLayer, TransformerDecoder and Transformer (batch_first; written
out as their layers by torch_blocks.py, the cross-attention as its projections and products; a
supported module given as the network itself is traced inside a parent named after its class). A subclass
of a supported module that keeps its forward counts as that module. Functions and methods:
+ - * / (tensors or scalars), cat, flatten, view / reshape, contiguous, relu, gelu, tanh, sigmoid,
silu, softmax, dropout, layer_norm (its affine as a multiply and an add), max_pool1d/2d/3d /
avg_pool1d/2d/3d / adaptive_avg_pool1d/2d/3d, torchvision's stochastic_depth (a dropout), prelu (a leaky
ReLU; its slopes a parameter layer), pad (any mode: a copy), pixel_shuffle / pixel_unshuffle, a
parameter's expand to the batch (a class token), a network tensor's expand / expand_as feeding only
element-wise operations (the tensor, broadcast: squeeze-and-excitation), matmul / @ / bmm, scaled_dot_product_attention
(is_causal, an attn_mask that is a buffer, parameter or network tensor, and dropout_p counted),
transpose / swapaxes, permute (one that moves the batch only to be indexed back, timm's
``qkv.permute(2, 0, 3, 1, 4)`` then ``[0]`` or ``unbind(0)``), mean, sum, split / chunk / unbind (each
piece a `slice` or `select` view), unsqueeze / squeeze, indexing with integers, slices, ``...`` and
``None``, einsum of one or two operands, rows that merge the batch with the next axes (``x.view(-1, C)``) through
row-wise operations until a view puts the batch first again (Hugging Face's Conv1D: addmm), F.linear,
F.conv1d/2d/3d with a weight read in forward (its
layer holds the weights), std / var / amax / amin (as a mean), masked_fill and where (a product with the mask),
comparisons (one operation per element), element-wise math (exp, log, sqrt, pow, clamp, ...: one
operation per element), ``*_like`` (a tensor written once), casts (free), buffers and tensors made in
forward (constants: torch_tensors.py), a parameter table read through a constant index (a relative
position bias: an embedding lookup), and shape queries (``x.shape``, ``x.size()``). A module called twice shares its weights (counted once). The parameter
count equals ``sum(p.numel() for p in module.parameters())`` whenever every parameter is used by a
supported layer (not so for modules the traced forward skips, such as GoogLeNet's and Inception-V3's
auxiliary classifiers in eval mode); each module's count is checked against torch's. torchvision's Swin
functions that torch.fx keeps whole (window attention, relative position bias, patch merging) are written
out by torch_swin.py. All 80 of torchvision 0.28's classification networks import.

Anything else is one `SimulatorError` line naming the node and its target.
"""
from __future__ import annotations

import contextlib
import io
from typing import Any

from simulator.graph import Layer, Network, SimulatorError
from simulator.ops.base import prod
from simulator.ops import (GRU, LSTM, Activation, AdaptiveAvgPool2d, BatchNorm, Conv1d, Conv2d, Conv3d,
                           ConvTranspose2d,
                           Dropout, Embedding, GroupNorm, Input, LayerNorm, Linear, MultiHeadAttention, OpBase,
                           Parameter, Pool2d, Reshape, RMSNorm, Softmax)

from .torch_functions import FunctionNodes
from .torch_nodes import NCHW, PLAIN, SHARED, _Const, _Merged, _Moved, _Multi, _Other, _pair, _State, _Tensor
from .torch_tensors import TensorNodes


def from_torch(module, sample_input, name: str | None = None) -> Network:
    """Trace `module` with torch.fx, propagate shapes from `sample_input` (a
    tensor or a tuple of tensors, batch first) and build the `Network`."""
    import torch
    import torch.fx

    label = name or type(module).__name__
    if not isinstance(module, torch.nn.Module):
        raise SimulatorError(f"expected a torch.nn.Module, got {type(module).__name__}", source=label)
    inputs = tuple(sample_input) if isinstance(sample_input, (tuple, list)) else (sample_input,)
    if not inputs or not all(isinstance(t, torch.Tensor) and t.dim() >= 1 for t in inputs):
        raise SimulatorError("sample_input must be a tensor (or tuple of tensors) with a batch "
                             "dimension first", source=label)
    batch = int(inputs[0].shape[0])
    if any(int(t.shape[0]) != batch for t in inputs):
        raise SimulatorError("sample inputs disagree on the batch size (first dimension)",
                             source=label)

    module = _rooted(module)
    tracer = _Tracer()
    try:
        graph = tracer.trace(module)
    except Exception as err:  # torch.fx raises many types; one line for the user
        # a forward that asks its tensors about their sizes or types in Python: trace again knowing the values
        # of the sample input (torch_concrete.py), on a copy (the forward runs, in the module's mode)
        import copy
        tracer = _Tracer(inputs)
        try:
            graph = tracer.trace(copy.deepcopy(module))
        except Exception as again:
            raise SimulatorError(f"torch.fx cannot trace the module: {_one_line(err)}; traced on the sample "
                                 f"input: {_one_line(again)}", source=label) from None
    gm = torch.fx.GraphModule(tracer.root, graph)
    if tracer.concrete:   # what only decided a branch in Python (x.sum() > 0) is not a layer
        gm.graph.eliminate_dead_code()
        gm.recompile()
        graph = gm.graph
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(inputs):
        raise SimulatorError(f"the module's forward takes {len(placeholders)} input(s), "
                             f"sample_input has {len(inputs)}", source=label)
    modes = {m: m.training for m in module.modules()}
    try:
        module.eval()
        with torch.no_grad():
            with contextlib.redirect_stderr(io.StringIO()):   # torch's ShapeProp prints the traceback it raises
                _shape_prop(gm).propagate(*inputs)
    except Exception as err:
        # ShapeProp wraps the error in one naming the node: say both, shortly
        cause = err.__cause__ if isinstance(err.__cause__, Exception) else err
        where = next((n.name for n in graph.nodes if n.name in str(err).split("node=%")[-1].split(" ")[:1]), None)
        raise SimulatorError(f"running the module on the sample input failed{f' at node {where!r}' if where else ''}: "
                             f"{_one_line(cause)}", source=label) from None
    finally:
        for m, mode in modes.items():
            m.training = mode

    conv = _Converter(dict(module.named_modules()), dict(module.named_parameters()),
                      dict(module.named_buffers()), batch, label)
    for node in graph.nodes:
        conv.visit(node)
    conv.choose_blocks()
    return Network.build(label, conv.layers, source=label, batch_size=batch,
                         meta={"format": "torch.fx"})


def _shape_prop(gm):
    """torch's ShapeProp, which also keeps the numbers the sample run computed (sizes read with x.size(), used as
    slice bounds) in node.meta["value"]."""
    from torch.fx.passes.shape_prop import ShapeProp

    class Values(ShapeProp):
        def run_node(self, n):
            result = super().run_node(n)
            if isinstance(result, (int, float)) or (isinstance(result, tuple) and result
                                                    and all(isinstance(v, int) for v in result)):
                n.meta["value"] = result
            return result

    return Values(gm)


def from_built(built, spec: str) -> Network:
    """What a user's network function returned (`spec`, 'module:function'): a Network, or a PyTorch model and
    its sample input, traced here."""
    if isinstance(built, Network):
        return built
    if isinstance(built, tuple) and len(built) == 2:
        return from_torch(*built)
    raise SimulatorError(f"{spec} returned {type(built).__name__}; it must return (PyTorch model, sample input) "
                         "or a Network")


def _one_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def _supported_modules() -> dict:
    import torch.nn as nn
    return {
        nn.Conv2d: "conv2d", nn.ConvTranspose2d: "conv_transpose2d", nn.Conv1d: "conv1d", nn.Linear: "linear",
        nn.BatchNorm1d: "batch_norm1d",
        nn.BatchNorm2d: "batch_norm2d", nn.LayerNorm: "layer_norm", nn.ReLU: "relu",
        nn.GELU: "gelu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.SiLU: "silu", nn.Softmax: "softmax",
        nn.MaxPool2d: "max_pool", nn.AvgPool2d: "avg_pool",
        nn.AdaptiveAvgPool2d: "adaptive_avg_pool", nn.MaxPool1d: "max_pool1d", nn.AvgPool1d: "avg_pool1d",
        nn.AdaptiveAvgPool1d: "adaptive_avg_pool1d", nn.Conv3d: "conv3d", nn.BatchNorm3d: "batch_norm3d",
        nn.MaxPool3d: "max_pool3d", nn.AvgPool3d: "avg_pool3d", nn.AdaptiveAvgPool3d: "adaptive_avg_pool3d",
        nn.Dropout3d: "dropout", nn.Dropout: "dropout", nn.Dropout1d: "dropout",
        nn.Dropout2d: "dropout", nn.LogSoftmax: "softmax", nn.Softmax2d: "softmax2d",
        nn.Embedding: "embedding", nn.Flatten: "flatten", nn.Identity: "identity",
        nn.LSTM: "lstm", nn.GRU: "gru", nn.MultiheadAttention: "mha",
        nn.TransformerEncoderLayer: "encoder_layer", nn.TransformerEncoder: "encoder",
        nn.TransformerDecoderLayer: "decoder_layer", nn.TransformerDecoder: "decoder", nn.Transformer: "transformer",
        nn.GroupNorm: "group_norm",
        nn.InstanceNorm2d: "instance_norm2d",
        **({nn.RMSNorm: "rms_norm"} if hasattr(nn, "RMSNorm") else {}),
    }


def _kind(m) -> str | None:
    """The importer's name for a supported module: its class, or a subclass that keeps the class's forward
    (torchvision's Conv3DSimple is an nn.Conv3d with another constructor)."""
    supported = _supported_modules()
    kind = supported.get(type(m))
    if kind is not None:
        return kind
    for base in type(m).__mro__[1:]:
        if base in supported:
            return supported[base] if type(m).forward is base.forward else None
    return None


def _make_tracer_class():
    import torch.fx

    class Tracer(torch.fx.Tracer):
        """Keeps the supported layer modules as leaves, traces through the rest
        (so a module outside the list shows up as the operations it is made of). Buffers read in forward
        are traced as values (a causal mask sliced to the sequence's length), not as fixed tensors."""

        proxy_buffer_attributes = True

        def is_leaf_module(self, m, qualname):  # noqa: D401
            return _kind(m) is not None

    return Tracer


class _Tracer:
    """torch.fx's symbolic tracer with the importer's leaves, or, given the sample inputs, the tracer that runs
    what it records on them (torch_concrete.py)."""

    def __init__(self, inputs: tuple | None = None):
        self.concrete = inputs is not None
        if inputs is None:
            self._impl = _make_tracer_class()()
        else:
            from .torch_concrete import concrete_tracer_class
            self._impl = concrete_tracer_class(_make_tracer_class())(inputs)
        self.root = None

    def trace(self, module):
        graph = self._impl.trace(module)
        self.root = self._impl.root
        return graph


class _Converter(FunctionNodes, TensorNodes):
    def __init__(self, modules: dict, params: dict, buffers: dict, batch: int, source: str):
        self.modules = modules
        self.params = params
        self.buffers = buffers
        self.batch = batch
        self.source = source
        self.layers: list[Layer] = []
        self.shapes: dict[str, tuple[int, ...]] = {}  # our per-sample shape of each layer
        self.env: dict[Any, Any] = {}
        self.owner: dict[Any, str] = {}  # module or attribute -> first layer that used it
        self.stacks: dict[str, list[str]] = {}  # layer -> module path (outermost first)
        self.names: set[str] = set()

    # ------------------------------------------------------------- errors
    def fail(self, node, message: str) -> SimulatorError:
        target = node.target if isinstance(node.target, str) else getattr(
            node.target, "__name__", repr(node.target))
        return SimulatorError(message, source=self.source,
                              where=f"node '{node.name}' ({node.op} {target})")

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
        if full is not None:
            theirs = self.per_sample(node, full, layout)
            if ours != theirs:
                raise self.fail(node, f"the simulator's output shape {ours} differs from "
                                      f"PyTorch's {tuple(full)} (per sample {theirs})")
        lname = self.unique(name)
        self.layers.append(Layer(lname, op, tuple(p.layer for p in parents),
                                 shares_weights_with=shares))
        self.shapes[lname] = ours
        self.stacks[lname] = stack if stack is not None else self.stack_of(node)
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
            raise self.fail(node, "operations along the batch dimension are not supported")
        return {1: 2, 2: 0, 3: 1}[dim] if t.layout == NCHW else dim - 1

    def lead(self, t: _Tensor) -> int:
        """How many of t's torch axes come before our per-sample ones: the batch, or the leading size-1 axes of a
        parameter (dropped from its shape)."""
        if t.layout != SHARED:
            return 1
        return len(t.torch_shape) - len(self.shapes[t.layer])

    # -------------------------------------------------------------- nodes
    def visit(self, node) -> None:
        if node.op == "output":
            return
        meta = node.meta.get("tensor_meta")
        if node.op == "placeholder":
            shape = tuple(meta.shape)
            layout = NCHW if len(shape) == 4 else PLAIN
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
        merged = next((v for v in (self.env.get(a) for a in node.all_input_nodes) if isinstance(v, _Merged)), None)
        if merged is not None and hasattr(meta, "shape") and len(meta.shape) and \
                int(meta.shape[0]) == prod(merged.prefix) and not self.unmerges(node, meta):
            # a row-wise operation on merged rows: converted on the tensor itself, its result merged again
            rank = len(meta.shape)
            meta = meta._replace(shape=tuple(merged.prefix) + tuple(int(d) for d in meta.shape[1:]))
            node.meta["tensor_meta"] = meta
            self.dims_from_the_end(node, rank)
            value = self.call_module(node, meta) if node.op == "call_module" else self.call_function(node, meta)
            self.env[node] = _Merged(value, merged.prefix) if isinstance(value, _Tensor) else value
            return
        if node.op == "call_module":
            self.env[node] = self.call_module(node, meta)
            return
        self.env[node] = self.call_function(node, meta)

    def dims_from_the_end(self, node, rank: int) -> None:
        """A dimension argument given on merged rows, counted from the front, counted from the end instead
        (which the tensor itself shares); the merged rows' own dimension 0 is refused."""
        name = getattr(node.target, "__name__", node.target)
        slot = {"softmax": 1, "log_softmax": 1, "mean": 1, "sum": 1, "amax": 1, "amin": 1, "std": 1, "var": 1,
                "normalize": 2}.get(name)
        if slot is None:
            return
        args, kwargs = list(node.args), dict(node.kwargs)
        dim = kwargs.get("dim", args[slot] if len(args) > slot else None)
        if not isinstance(dim, int) or dim < 0:
            return
        if dim == 0:
            raise self.fail(node, "an operation along rows that merge the batch with other axes is not supported")
        if "dim" in kwargs:
            kwargs["dim"] = dim - rank
        else:
            args[slot] = dim - rank
        node.args, node.kwargs = tuple(args), kwargs

    def unmerges(self, node, meta) -> bool:
        """A view of merged rows that puts the batch first again (HF's x.view(size_out))."""
        return node.target in ("view", "reshape") and int(meta.shape[0]) == self.batch

    def get_attr(self, node, meta):
        target = node.target
        if meta is None or not hasattr(meta, "shape"):
            return _Other(f"attribute {target}")
        trainable = target in self.params
        if not trainable:   # a buffer, or a tensor torch.fx keeps as a constant: a layer where the network reads it
            return _Const(target, tuple(int(d) for d in meta.shape), self.stack_of(node))
        shares = self.owner.get(("attr", target))
        shape = self.per_sample(node, tuple(meta.shape), SHARED)
        op = Parameter(shape, trainable=trainable)
        t = self.add(node, target, op, [], SHARED, tuple(meta.shape), shares=shares)
        self.owner.setdefault(("attr", target), t.layer)
        return t

    def call_module(self, node, meta):
        m = self.modules[node.target]
        kind = _kind(m)
        if kind is None:  # only leaves are call_module nodes; defensive
            raise self.fail(node, f"unsupported module {type(m).__name__}")
        args = node.args
        shares = self.owner.get(("module", id(m)))
        name = node.target if shares is None else node.name
        expect = tuple(meta.shape) if hasattr(meta, "shape") else None

        def done(op, parents, layout, out_shape=expect):
            t = self.add(node, name, op, parents, layout, out_shape, shares=shares)
            self.owner.setdefault(("module", id(m)), t.layer)
            self.check_params(node, m, op, parents, shares)
            return t

        if kind in ("encoder_layer", "encoder"):   # composite: written out in torch_blocks.py
            from . import torch_blocks
            x = self.tensor(node, args[0], PLAIN)
            build = torch_blocks.encoder_layer if kind == "encoder_layer" else torch_blocks.encoder
            stack = self.stack_of(node)
            stack = stack if stack and stack[-1] == node.target else stack + [node.target]
            out = build(self, node, m, x, node.target if shares is None else node.name,
                        torch_blocks.masked(self, node, args), stack)
            if expect is not None and self.shapes[out.layer] != self.per_sample(node, expect, PLAIN):
                raise self.fail(node, f"the simulator's output shape {self.shapes[out.layer]} differs from "
                                      f"PyTorch's {expect}")
            return _Tensor(out.layer, PLAIN, expect)
        if kind in ("decoder_layer", "decoder", "transformer"):   # composites of two inputs: torch_blocks.py
            from . import torch_blocks
            stack = self.stack_of(node)
            stack = stack if stack and stack[-1] == node.target else stack + [node.target]
            out = torch_blocks.decoder_call(self, node, kind, m, args, node.target if shares is None else node.name,
                                            stack)
            if expect is not None and self.shapes[out.layer] != self.per_sample(node, expect, PLAIN):
                raise self.fail(node, f"the simulator's output shape {self.shapes[out.layer]} differs from "
                                      f"PyTorch's {expect}")
            return _Tensor(out.layer, PLAIN, expect)
        if len(args) != 1 and kind not in ("mha", "lstm", "gru"):
            raise self.fail(node, f"{type(m).__name__} called with {len(args)} inputs")
        if kind == "identity":
            return self.tensor(node, args[0])
        if kind == "conv2d":
            x = self.tensor(node, args[0], NCHW)
            if isinstance(m.padding, str):
                padding = "SAME" if m.padding == "same" else (0, 0)
            else:
                padding = tuple(m.padding)
            op = Conv2d(m.out_channels, tuple(m.kernel_size), tuple(m.stride), padding,
                        tuple(m.dilation), m.groups, m.bias is not None, m.in_channels)
            return done(op, [x], NCHW)
        if kind == "conv1d":
            x = self.tensor(node, args[0], PLAIN)
            if len(x.torch_shape) != 3:
                raise self.fail(node, f"Conv1d of a tensor of shape {tuple(x.torch_shape)}: only (N, C, L) is "
                                      "supported")
            padding = m.padding if isinstance(m.padding, str) else m.padding[0]
            op = Conv1d(m.out_channels, m.kernel_size[0], m.stride[0], 0 if padding == "valid" else padding,
                        m.dilation[0], m.groups, m.bias is not None, m.in_channels)
            return done(op, [x], PLAIN)
        if kind == "conv3d":
            x = self.tensor(node, args[0], PLAIN)
            if len(x.torch_shape) != 5:
                raise self.fail(node, f"Conv3d of a tensor of shape {tuple(x.torch_shape)}: only (N, C, D, H, W) is "
                                      "supported")
            if isinstance(m.padding, str):
                padding = tuple((k - 1) * d // 2 for k, d in zip(m.kernel_size, m.dilation)) \
                    if m.padding == "same" else (0, 0, 0)
            else:
                padding = tuple(m.padding)
            op = Conv3d(m.out_channels, tuple(m.kernel_size), tuple(m.stride), padding, tuple(m.dilation),
                        m.groups, m.bias is not None, m.in_channels)
            return done(op, [x], PLAIN)
        if kind == "batch_norm3d":
            x = self.tensor(node, args[0], PLAIN)
            return done(BatchNorm(axis=0, affine=m.affine), [x], PLAIN)
        if kind in ("max_pool3d", "avg_pool3d", "adaptive_avg_pool3d"):
            import torch.nn.functional as F
            fn = {"max_pool3d": F.max_pool3d, "avg_pool3d": F.avg_pool3d}.get(kind, F.adaptive_avg_pool3d)
            if kind == "adaptive_avg_pool3d":
                settings = {"output_size": m.output_size}
            else:
                settings = {"kernel_size": m.kernel_size, "stride": m.stride, "padding": m.padding,
                            "ceil_mode": m.ceil_mode}
                if kind == "max_pool3d":
                    settings.update(dilation=m.dilation, return_indices=m.return_indices)
            return self.pool3d(node, fn, (args[0],), settings, done)
        if kind == "conv_transpose2d":
            x = self.tensor(node, args[0], NCHW)
            if len(args) > 1 or node.kwargs.get("output_size") is not None:
                raise self.fail(node, "ConvTranspose2d with an output_size is not supported")
            op = ConvTranspose2d(m.out_channels, tuple(m.kernel_size), tuple(m.stride), tuple(m.padding),
                                 tuple(m.output_padding), tuple(m.dilation), m.groups, m.bias is not None,
                                 m.in_channels)
            return done(op, [x], NCHW)
        if kind == "linear":
            x = self.tensor(node, args[0], PLAIN)
            return done(Linear(m.out_features, bias=m.bias is not None), [x], PLAIN)
        if kind == "batch_norm2d":
            x = self.tensor(node, args[0], NCHW)
            return done(BatchNorm(axis=-1, affine=m.affine), [x], NCHW)
        if kind in ("group_norm", "instance_norm2d"):
            x = self.tensor(node, args[0], NCHW)
            if len(x.torch_shape) != 4:
                raise self.fail(node, f"{type(m).__name__} of a tensor of shape {tuple(x.torch_shape)}: only "
                                      "images (N, C, H, W) are supported")
            if kind == "group_norm":
                return done(GroupNorm(m.num_groups, affine=m.affine), [x], NCHW)
            if m.track_running_stats:
                raise self.fail(node, "InstanceNorm2d(track_running_stats=True) is not supported")
            return done(GroupNorm(m.num_features, affine=m.affine), [x], NCHW)
        if kind == "batch_norm1d":
            x = self.tensor(node, args[0], PLAIN)
            axis = -1 if len(x.torch_shape) == 2 else 0
            return done(BatchNorm(axis=axis, affine=m.affine), [x], PLAIN)
        if kind == "layer_norm":
            x = self.tensor(node, args[0], PLAIN)
            op = LayerNorm(len(m.normalized_shape), scale=m.weight is not None,
                           bias=m.bias is not None)
            return done(op, [x], PLAIN)
        if kind == "rms_norm":
            x = self.tensor(node, args[0], PLAIN)
            return done(RMSNorm(len(m.normalized_shape), scale=m.weight is not None), [x], PLAIN)
        if kind in ("relu", "gelu", "tanh", "sigmoid", "silu"):
            x = self.tensor(node, args[0])
            return done(Activation(kind), [x], x.layout)
        if kind == "softmax2d":   # over the channels of an image: our (H, W, C)'s last axis
            x = self.tensor(node, args[0], NCHW)
            return done(Softmax(), [x], NCHW)
        if kind == "softmax":
            x = self.tensor(node, args[0])
            return self.softmax(node, x, m.dim if m.dim is not None else -1, name, done)
        if kind in ("max_pool", "avg_pool"):
            x = self.tensor(node, args[0], NCHW)
            if kind == "max_pool" and (m.return_indices or _pair(m.dilation) != (1, 1)):
                raise self.fail(node, "MaxPool2d with return_indices or dilation is not supported")
            stride = m.stride if m.stride else m.kernel_size
            op = Pool2d("max" if kind == "max_pool" else "avg", _pair(m.kernel_size),
                        _pair(stride), _pair(m.padding), ceil_mode=bool(m.ceil_mode))
            return done(op, [x], NCHW)
        if kind in ("max_pool1d", "avg_pool1d", "adaptive_avg_pool1d"):
            import torch.nn.functional as F
            fn = {"max_pool1d": F.max_pool1d, "avg_pool1d": F.avg_pool1d}.get(kind, F.adaptive_avg_pool1d)
            if kind == "adaptive_avg_pool1d":
                settings = {"output_size": m.output_size}
            else:
                settings = {"kernel_size": m.kernel_size, "stride": m.stride, "padding": m.padding,
                            "ceil_mode": m.ceil_mode}
                if kind == "max_pool1d":
                    settings.update(dilation=m.dilation, return_indices=m.return_indices)
                else:
                    settings.update(count_include_pad=m.count_include_pad)
            return self.pool1d(node, fn, (args[0],), settings, done)
        if kind == "adaptive_avg_pool":
            x = self.tensor(node, args[0], NCHW)
            size = _pair(m.output_size) if not isinstance(m.output_size, tuple) else m.output_size
            _, _, h, w = x.torch_shape
            size = (size[0] or h, size[1] or w)
            return done(AdaptiveAvgPool2d(size), [x], NCHW)
        if kind == "dropout":
            x = self.tensor(node, args[0])
            return done(Dropout(float(m.p)), [x], x.layout)
        if kind == "embedding":
            x = self.tensor(node, args[0], PLAIN)
            return done(Embedding(m.num_embeddings, m.embedding_dim), [x], PLAIN)
        if kind == "flatten":
            x = self.tensor(node, args[0])
            return self.flatten(node, x, m.start_dim, m.end_dim, name, done)
        if kind in ("lstm", "gru"):
            what = type(m).__name__
            if len(args) > 2 or node.kwargs:
                raise self.fail(node, f"{what} arguments beyond the input and the initial state are not supported")
            if not m.batch_first or getattr(m, "proj_size", 0):
                raise self.fail(node, f"only {what}(batch_first=True)"
                                      f"{' without proj_size' if kind == 'lstm' else ''} is supported")
            x = self.tensor(node, args[0], PLAIN)
            op = (LSTM if kind == "lstm" else GRU)(m.hidden_size, m.num_layers, m.bidirectional, 2 if m.bias else 0)
            parents = [x] + self.initial_state(node, args[1] if len(args) > 1 else None, m)
            out = tuple(meta[0].shape)
            dirs = 2 if m.bidirectional else 1
            return _Multi(done(op, parents, PLAIN, out), what, (kind, m.num_layers, dirs, m.hidden_size))
        if kind == "mha":
            return self.mha(node, m, args, meta, name, done)
        raise self.fail(node, f"unsupported module {type(m).__name__}")  # pragma: no cover

    def initial_state(self, node, state, m) -> list[_Tensor]:
        """The parent an RNN's initial state adds: the RNN whose final state it is (an encoder's, for a
        decoder), when it is as wide as this one's; a state made otherwise (zeros, a learned one) is read once
        and not counted."""
        if isinstance(state, (tuple, list)):
            state = state[0] if state else None
        value = self.env.get(state) if hasattr(state, "op") else None
        if isinstance(value, _State) and value.part in ("h", "hc"):
            source = value.source.first
            width = m.hidden_size * (2 if m.bidirectional else 1)
            if self.shapes[source.layer][-1] == width:
                return [source]
        return []

    def mha(self, node, m, args, meta, name, done):
        kwargs = dict(node.kwargs)
        q, k, v = (list(args) + [kwargs.pop(n, None) for n in ("query", "key", "value")])[:3]
        if q is None or k is not v:
            raise self.fail(node, "only attention whose key and value are the same tensor is supported")
        causal = bool(kwargs.pop("is_causal", False))
        for flag in ("need_weights", "average_attn_weights"):
            kwargs.pop(flag, None)
        # a mask (attn_mask, with is_causal or not; key_padding_mask) is one addition per score, what the op's
        # causal flag counts: the scores are computed in full either way
        masks = [kwargs.pop(k, None) for k in ("attn_mask", "key_padding_mask")]
        causal = causal or any(m is not None for m in masks)
        if kwargs or len(args) > 3:
            raise self.fail(node, f"MultiheadAttention arguments {', '.join(kwargs) or 'beyond query, key and value'} "
                                  "are not supported")
        if not m.batch_first or not m._qkv_same_embed_dim or m.bias_k is not None \
                or m.add_zero_attn:
            raise self.fail(node, "only MultiheadAttention(batch_first=True) with equal q/k/v "
                                  "widths and no bias_k/add_zero_attn is supported")
        x = self.tensor(node, q, PLAIN)
        if q is not k:   # cross-attention (a decoder reading an encoder, DETR's queries): written out
            from . import torch_blocks
            stack = self.stack_of(node)
            stack = stack if stack and stack[-1] == node.target else stack + [node.target]
            out = torch_blocks.cross_attention(self, node, m, x, self.tensor(node, k, PLAIN), name, causal, stack)
            return _Multi(_Tensor(out.layer, PLAIN, tuple(meta[0].shape)), "MultiheadAttention")
        op = MultiHeadAttention(m.num_heads, causal=causal, bias=m.in_proj_bias is not None)
        return _Multi(done(op, [x], PLAIN, tuple(meta[0].shape)), "MultiheadAttention")

    def check_params(self, node, m, op: OpBase, parents, shares) -> None:
        if shares is not None:
            return
        ours = op.counts([self.shapes[p.layer] for p in parents],
                         self.shapes[self.layers[-1].name]).params
        theirs = sum(p.numel() for p in m.parameters())
        if ours != theirs:
            raise self.fail(node, f"the simulator counts {ours} parameters for "
                                  f"{type(m).__name__}, PyTorch has {theirs}")

    # ------------------------------------------------------------- blocks
    def choose_blocks(self) -> None:
        """Natural blocks from the module hierarchy: the shallowest depth
        whose blocks give 4..32 groups (else depth 1)."""
        def blocks_at(depth: int) -> list[str]:
            out = []
            for layer in self.layers:
                stack = self.stacks.get(layer.name, [])
                out.append(stack[min(depth, len(stack)) - 1] if stack else "")
            return out

        chosen = blocks_at(1)
        inputs = [layer.op.kind == "input" for layer in self.layers]   # they join the block after them
        for depth in (1, 2, 3):
            tags = [t for t, is_input in zip(blocks_at(depth), inputs) if not is_input] or [""]
            runs = sum(1 for i, t in enumerate(tags) if i == 0 or t != tags[i - 1] or not t)
            tags = blocks_at(depth)
            if 4 <= runs <= 32:
                chosen = tags
                break
        for layer, tag in zip(self.layers, chosen):
            layer.block = tag
        # inputs join the block of the layer after them
        for i, layer in enumerate(self.layers):
            if layer.op.kind == "input" and not layer.block:
                layer.block = next((l.block for l in self.layers[i + 1:] if l.block), "")


def _rooted(module):
    """A module the importer keeps whole (an LSTM, an encoder layer, ...) given as the network itself: torch.fx
    traces the root's forward, not the leaf's, so it goes in a parent named after its class."""
    import torch.nn as nn
    kind = _kind(module)
    if kind is None:
        return module
    attr = type(module).__name__.lower()

    if kind in ("decoder_layer", "decoder", "transformer"):   # two inputs: (tgt, memory) or (src, tgt)
        class Pair(nn.Module):
            def forward(self, x, y):
                return getattr(self, attr)(x, y)

        root = Pair()
        root.add_module(attr, module)
        return root

    class Root(nn.Module):
        def forward(self, x):
            leaf = getattr(self, attr)
            if kind == "mha":
                return leaf(x, x, x, need_weights=False)[0]
            out = leaf(x)
            return out[0] if kind in ("lstm", "gru") else out

    root = Root()
    root.add_module(attr, module)
    return root
