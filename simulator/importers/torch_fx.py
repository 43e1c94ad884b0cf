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
W), channels first as torch's), Embedding, Flatten, Identity, LSTM and GRU (an initial state that is another
RNN's final state makes it wait for that one; h_n[-1] of the last layer is a view of the output), LSTMCell and
GRUCell (one step layer per call, a decoder's loop over time unrolled; a state the network computed is a parent),
RNN and RNNCell (Elman, tanh or ReLU),
MultiheadAttention (self-attention as one layer, cross-attention, key and value one
tensor, written out; a mask one addition per score), TransformerEncoderLayer,
TransformerEncoder, TransformerDecoderLayer, TransformerDecoder and Transformer (written
out as their layers by torch_blocks.py, the cross-attention as its projections and products; a
supported module given as the network itself is traced inside a parent named after its class). A subclass
of a supported module that keeps its forward counts as that module. Functions and methods:
+ - * / (tensors or scalars), cat, flatten, view / reshape, contiguous, relu, gelu, tanh, sigmoid,
silu, softmax, dropout, layer_norm (its affine as a multiply and an add), max_pool1d/2d/3d /
avg_pool1d/2d/3d / adaptive_avg_pool1d/2d/3d, torchvision's stochastic_depth (a dropout), prelu (a leaky
ReLU; its slopes a parameter layer), pad (any mode: a copy), pixel_shuffle / pixel_unshuffle, a
parameter's expand to the batch (a class token), a network tensor's expand / expand_as feeding only
element-wise operations (the tensor, broadcast: squeeze-and-excitation), read otherwise, or repeat /
repeat_interleave (a repeat layer, a copy: grouped-query attention's keys and values), matmul / @ / bmm,
scaled_dot_product_attention (is_causal, an attn_mask that is a buffer, parameter or network tensor, dropout_p,
enable_gqa counted),
F.batch_norm / F.group_norm (torch_norms.py), roll (a copy), F.unfold / F.fold, addcmul, view_as / reshape_as, softmax over any
axis but the batch, optional forward arguments (left at their defaults),
F.embedding of a parameter (a subclass of nn.Embedding with its own forward), gather from a constant table by a
network index, cumsum (positions counted from the ids), tied weights (a module whose weight is another's shares
it; its own bias is a parameter layer added), modules made outside the model (traced through),
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
auxiliary classifiers in eval mode: the forward is traced in the mode the module is in); each module's count is checked against torch's. torchvision's Swin
functions that torch.fx keeps whole (window attention, relative position bias, patch merging) are written
out by torch_swin.py. A bank of experts in Hugging Face's layout (3-D ``gate_up_proj`` / ``down_proj`` called
with the router's top-k indices and weights) is kept whole and written as k experts' work per token
(torch_experts.py); topk (a router's values; its indices, and max's, stay indices through casts, views,
masked_fill and cat), ``.values`` / ``.indices`` by name. A model whose forward takes ``*args`` (Hugging Face's
decorated forwards) or passes its ``**kwargs`` on is traced through a copy taking the sample inputs, given by
position or by name (a dict). torch.linalg.solve_triangular (a `triangular_solve` layer), tril / triu, copysign,
F.glu, ``x.unfold(dim, size, step)`` and flip (copies), NumPy's ``axis=`` for ``dim=``, ``x[mask, :]`` with a
boolean mask picking as many rows in every sample (a gather), and some pieces of a split stacked or joined.
Per-sample index tensors that keep each sample's elements (a padding mask's rows), boolean and / or, tensors
stacked before the batch only to be averaged or summed over it, and repeat_interleave along the batch (rows
of copies). In-place methods (``out.add_(y)``, ``mask.scatter_(...)``) change what later nodes read, even
where Python discards their result. scatter / scatter_ (a scalar written at an index leaves the tensor as it
is; a tensor's values are padded into place and added; torch_writes.py, with gather, x[key] = y, the picks per
sample and the complex numbers), argmax / argmin (a reduction) and ``x[arange(B), i]``
with ``i`` one position per sample (a row's select), torch.fft's complex transforms keeping their sizes (an
`fft` layer; ``.real`` / ``.imag`` the values themselves), complex numbers as rotary embeddings
(``view_as_complex``, a product, ``view_as_real``: the real pairs), ``.T`` / ``.mT``, parameters resized
(interpolate), stacked, joined or permuted around their leading size-1 axes, a parameter spread over the batch
and its other size-1 axes (attention sinks), and a constant with a row per row merging the batch with the heads
(ALiBi: one sample's rows). All 80 of torchvision 0.28's classification networks import. The recurrent and attention
modules with torch's default ``batch_first=False`` read sequence-first tensors: an input given with
``batch_dim=1`` or a batch the model moves second (torch_seqfirst.py).

Anything else is one `SimulatorError` line naming the node and its target.
"""
from __future__ import annotations

import contextlib
import io
import types
from collections.abc import Mapping
from typing import Any

from simulator.graph import Layer, Network, SimulatorError, did_you_mean
from simulator.ops import Input, OpBase, Parameter, Reshape
from simulator.ops.base import prod

from .torch_checks import (checked_inputs, mark_node, model_state, packed_error, refuse_hooks, state_restored,
                           warn_unmodelled)
from .torch_concrete import assigned
from .torch_experts import ExpertNodes
from .torch_functions import FunctionNodes
from .torch_modules import ModuleNodes, _kind
from .torch_nodes import (NCHW, PLAIN, SHARED, _Complex, _Const, _Merged, _Moved, _Multi, _Other, _Split, _State,
                          _Tensor, _Unbound)
from .torch_norms import NormFunctions
from .torch_seqfirst import SeqFirstNodes, swapped_meta
from .torch_tensors import TensorNodes
from .torch_weights import WeightNodes
from .torch_writes import WriteNodes


# raised whenever a PyTorch model converts differently (other layers, costs or default groups): a run that
# stored results for a user's model under an older conversion is then refused, not silently resumed. 5: a
# forward that passes **kwargs on is traced with use_cache=False (RWKV: 2 layers fewer), and x.max(d).values
# is the maximum (it had been dropped from what used it). 6: a parameter multiplied by a network tensor in forward
# (F.linear, x @ self.W, addmm) is a linear layer holding it (torch_weights.py). 7: so is one read transposed
# (x @ self.W.T, W.t(), W.transpose(0, 1)) or by einsum ('bi,ij->bj'): no transpose layer, no per-sample weight
IMPORTER_VERSION = 7


def from_torch(module, sample_input, name: str | None = None, batch_dim: int = 0) -> Network:
    """Trace `module` with torch.fx, propagate shapes from `sample_input` (a
    tensor, a tuple of tensors passed by position, or a dict of tensors passed by
    name, as ``{"input_ids": ids}``; batch first, or with ``batch_dim=1``
    sequence-first, (T, N, ...), as PyTorch's recurrent and attention layers read
    by default) and build the `Network`."""
    import torch
    import torch.fx

    label = name or type(module).__name__
    keywords, inputs = checked_inputs(module, sample_input, batch_dim, label)
    batch = int(inputs[0].shape[batch_dim])

    refuse_hooks(module, lambda m: _kind(m) is not None, label)
    state = model_state(module)   # the user's model, as it is put back whatever happens
    try:   # put back again at the end: running the traced module may update a buffer in place
        module = _positional(_rooted(module), len(inputs), label, keywords)
        try:
            gm, tracer = _traced(module, inputs, label, state)
        finally:
            state_restored(state)
        graph = gm.graph
        _thread_in_place(gm.graph)
        if tracer.concrete:   # what only decided a branch in Python (x.sum() > 0) is not a layer
            gm.graph.eliminate_dead_code()
            gm.recompile()
            graph = gm.graph
        placeholders = [n for n in graph.nodes if n.op == "placeholder"]
        for extra in placeholders[len(inputs):]:   # an optional argument left at its default
            _drop_guards(graph, extra)
        placeholders = [n for n in graph.nodes if n.op == "placeholder"]
        if len(placeholders) != len(inputs):
            raise SimulatorError(f"the module's forward takes {len(placeholders)} input(s), "
                                 f"sample_input has {len(inputs)}", source=label)
        modes = {m: m.training for m in module.modules()}
        try:
            module.eval()
            with torch.no_grad():
                with contextlib.redirect_stderr(io.StringIO()):   # torch's ShapeProp prints the traceback it raises
                    # on copies: a forward that writes into its input (x[:, 0] = ...) must not change the user's
                    _shape_prop(gm).propagate(*(t.clone() if isinstance(t, torch.Tensor) else t for t in inputs))
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
                          dict(module.named_buffers()), batch, label, batch_dim)
        for node in graph.nodes:
            try:
                conv.visit(node)
            except SimulatorError:
                raise
            except Exception as err:   # the importer's own failure on a node it did not foresee: one line naming it
                raise conv.fail(node, f"cannot be converted ({_one_line(err)})") from None
        conv.drop_unread_parameters()
        conv.choose_blocks()
        warn_unmodelled(module, graph, label)
        return Network.build(label, conv.layers, source=label, batch_size=batch,
                             meta={"format": "torch.fx"})
    finally:
        state_restored(state)


def _traced(module, inputs: tuple, label: str, state):
    """(GraphModule, tracer) of `module` traced symbolically, or, when torch.fx cannot, on the sample inputs."""
    import copy

    import torch.fx
    buffers = dict(module.named_buffers())
    tracer = _Tracer()
    try:
        graph = tracer.trace(module, len(inputs))
    except Exception as err:  # torch.fx raises many types; one line for the user
        # a forward that asks its tensors about their sizes or types in Python: trace again knowing the values
        # of the sample input (torch_concrete.py), on a copy (the forward runs, in the module's mode) of the
        # model as it was before the trace
        state_restored(state)
        tracer = _Tracer(inputs)
        try:
            graph = tracer.trace(copy.deepcopy(module), len(inputs))
        except Exception as again:
            if packed_error(err) or packed_error(again):   # torch.fx fails inside torch's packing with a cryptic TypeError
                raise SimulatorError("packed sequences (pack_padded_sequence, PackedSequence) are not supported; "
                                     "pass the padded tensor to the recurrent layer instead (costed at its "
                                     "padded length)", source=label) from None
            raise SimulatorError(f"torch.fx cannot trace the module: {_one_line(err)}; traced on the sample "
                                 f"input: {_one_line(again)}", source=label) from None
    _buffers_restored(tracer.root, buffers)
    # built before the user's model is put back: the trace's constants (_tensor_constant0) are attributes of
    # the traced root, which the GraphModule copies
    return torch.fx.GraphModule(tracer.root, graph), tracer


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
    its sample input (and, for a sequence-first input, the batch's dimension, 1), traced here. A mistake in
    what it returned names `spec`."""
    if isinstance(built, Network):
        return built
    returned = "(PyTorch model, sample input tensors) or (model, sample input, 1) for a sequence-first input"
    if isinstance(built, tuple) and len(built) in (2, 3):
        batch_dim = built[2] if len(built) == 3 else 0
        checked_inputs(built[0], built[1], batch_dim, spec, returned)
        return from_torch(built[0], built[1], batch_dim=batch_dim)
    raise SimulatorError(f"{spec} returned {type(built).__name__}; it must return (PyTorch model, sample input), "
                         "(PyTorch model, sample input, batch dimension) or a Network")


def _one_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def _make_tracer_class():
    import torch.fx

    class Tracer(torch.fx.Tracer):
        """Keeps the supported layer modules as leaves, traces through the rest
        (so a module outside the list shows up as the operations it is made of). Buffers read in forward
        are traced as values (a causal mask sliced to the sequence's length), not as fixed tensors."""

        proxy_buffer_attributes = True

        def is_leaf_module(self, m, qualname):  # noqa: D401
            return _kind(m) is not None

        def create_node(self, *args, **kwargs):
            node = super().create_node(*args, **kwargs)
            mark_node(node, getattr(self, "grad_at_start", True))   # no_grad, checkpoint: torch_checks.py
            return node

        def call_module(self, m, forward, args, kwargs):
            # a module made outside the model's tree (Hugging Face's hub kernels wrap functions such as
            # apply_rotary_pos_emb in one): traced through, as the function it stands for
            try:
                self.path_of_module(m)
            except NameError:
                return forward(*args, **kwargs)
            return super().call_module(m, forward, args, kwargs)

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

    def trace(self, module, given: int = 1):
        import torch
        self._impl.grad_at_start = torch.is_grad_enabled()
        graph = self._impl.trace(module, concrete_args=_defaults_after(module, given) or None)
        self.root = self._impl.root
        return graph


def _drop_guards(graph, placeholder) -> None:
    """Remove an argument fixed at its default (torch.fx's concrete_args), with the checks torch.fx adds on it
    (``_assert_is_none``, ``_assert(x == default)``), when nothing else reads it."""
    found, todo = [], [placeholder]
    while todo:
        n = todo.pop()
        if n not in found:
            found.append(n)
            todo.extend(n.users)
    if any(u.op == "output" for n in found for u in n.users):
        return
    for n in reversed(list(graph.nodes)):   # users before what they read
        if n in found:
            graph.erase_node(n)


def _defaults_after(module, given: int) -> dict:
    """The forward's optional arguments after the `given` inputs, at their defaults (timm's ViT: forward(x,
    attn_mask=None)), so that they are not inputs of the traced graph."""
    import inspect
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name: p.default for p in params[given:] if p.kind in kinds and p.default is not inspect.Parameter.empty}


class _Converter(ModuleNodes, FunctionNodes, TensorNodes, WriteNodes, SeqFirstNodes, NormFunctions,
                 ExpertNodes, WeightNodes):
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

    def same_rows(self, node) -> None:
        """Merged rows read together but merged from other axes (timm's Swin: the attention's rows are (B, 64)
        windows after its mask is added, the values' (B, 8, 8)): viewed as the first one's, a free view."""
        rows = [(a, self.env[a]) for a in node.all_input_nodes if isinstance(self.env.get(a), _Merged)]
        for a, value in rows[1:]:
            first = rows[0][1].prefix
            if value.prefix != first and prod(value.prefix) == prod(first):
                rest = tuple(value.source.torch_shape[len(value.prefix):])
                view = self.add(node, f"{a.name}:rows", Reshape(tuple(first[1:]) + rest), [value.source], PLAIN,
                                tuple(first) + rest)
                self.env[a] = _Merged(view, tuple(first))

    def constant_rows(self, node, prefix: tuple) -> None:
        """A constant with a row for each of the merged rows it meets (BLOOM's ALiBi bias, (batch x heads, 1,
        keys), made from an attention mask of ones, added to the scores): the same for every sample, so one
        sample's rows, (1, heads, 1, keys), which the scores per sample broadcast."""
        for a in node.all_input_nodes:
            value = self.env.get(a)
            if isinstance(value, _Const) and value.shape and value.parts is None and \
                    int(value.shape[0]) == prod(prefix) and prod(prefix) != self.batch:
                self.env[a] = _Const(value.name, (1,) + tuple(prefix[1:]) + tuple(value.shape[1:]), value.stack)

    def dims_from_the_end(self, node, rank: int) -> None:
        """A dimension argument given on merged rows, counted from the front, counted from the end instead
        (which the tensor itself shares); the merged rows' own dimension 0 is refused, and a permute must keep
        the rows first."""
        name = getattr(node.target, "__name__", node.target)
        args, kwargs = list(node.args), dict(node.kwargs)
        if name == "permute":
            dims = list(args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:])
            if not dims or dims[0] % rank != 0:
                raise self.fail(node, "a permute that moves rows merging the batch with other axes is not supported")
            # the rows' axis stands for the merged ones, which keep their places at the front
            node.args = (args[0], *[d % rank - rank for d in dims[1:]])
            node.meta["merged_permute"] = True
            return
        slots = {"softmax": (1,), "log_softmax": (1,), "mean": (1,), "sum": (1,), "amax": (1,), "amin": (1,),
                 "std": (1,), "var": (1,), "normalize": (2,), "transpose": (1, 2), "swapaxes": (1, 2),
                 "split": (2,), "chunk": (2,), "tensor_split": (2,), "unbind": (1,), "gather": (1,)}.get(name, ())
        for slot in slots:
            key = "dim" if len(slots) == 1 and "dim" in kwargs else None
            dim = kwargs[key] if key else args[slot] if len(args) > slot else None
            if not isinstance(dim, int) or dim < 0:
                continue
            if dim == 0:
                raise self.fail(node, "an operation along rows that merge the batch with other axes is not "
                                      "supported")
            if key:
                kwargs[key] = dim - rank
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


def _buffers_restored(root, buffers: dict) -> None:
    """A forward that reassigns a buffer (CTRL's ``self.pos_encoding = self.pos_encoding.to(device)``) leaves a
    proxy of the trace where the tensor was: in the user's model when torch.fx traced it, in the copy the
    concrete tracer ran. The tensors the model had before the trace (`buffers`, by name) are put back."""
    import torch
    for name, tensor in buffers.items():
        *path, last = name.split(".")
        try:
            owner = root.get_submodule(".".join(path))
        except AttributeError:
            continue
        if not isinstance(owner._buffers.get(last, tensor), torch.Tensor):
            owner._buffers[last] = tensor


def _thread_in_place(graph) -> None:
    """x.add_(y) changes x (and so does x[key] = y, recorded by the concrete tracer as a call of `assigned`): what
    reads x after it reads the call's result. fx records the call, but where
    Python discards its result (Llama-4's out.add_(routed_experts)) nothing would read it: the work it ends
    would be dead code, and what follows would read x as it was."""
    import torch
    order = {n: i for i, n in enumerate(graph.nodes)}
    for node in list(graph.nodes):
        # a method (y.mul_(2)) or a torch function (torch.relu_(y)) named with a trailing underscore
        target = node.target if node.op == "call_method" else getattr(node.target, "__name__", "") \
            if node.op == "call_function" and getattr(torch, getattr(node.target, "__name__", ""), None) is \
            node.target else ""
        in_place = isinstance(target, str) and target.endswith("_") and not target.endswith("__")
        if (in_place or node.op == "call_function" and node.target is assigned) and node.args and \
                isinstance(node.args[0], torch.fx.Node):
            at = order[node]
            node.args[0].replace_all_uses_with(node, delete_user_cb=lambda user, at=at: order.get(user, -1) > at)


def _positional(module, n: int, label: str, keywords: list[str] | None = None):
    """The module as torch.fx can trace it with these n sample inputs.

    A forward whose code takes ``*args`` (Hugging Face's models: their forward is a decorator's ``def
    wrapper(self, *args, **kwargs)`` around the real one) gives torch.fx no inputs to name, one that takes
    ``**kwargs`` and passes them on (RoFormer's ``self.roformer(..., **kwargs)``) has torch.fx unpack a
    proxy, which it cannot, and sample inputs
    given by name (``{"input_ids": ..., "decoder_input_ids": ...}``) must reach the forward by name. Either way
    the module is traced as a shallow copy of itself (the same submodules and parameters, so the same names)
    whose forward takes the n inputs and calls the real one with them, its other arguments at their defaults
    (but ``use_cache=False``: see below): what a user's two-line wrapper did."""
    import copy
    import inspect
    cls = type(module)
    code = getattr(getattr(cls, "forward", None), "__code__", None)
    if keywords is None and (code is None or not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)):
        return module
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    if keywords is not None:
        takes = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        # **kwargs takes any name, but a forward that also names its inputs (Hugging Face's: input_ids, ...)
        # takes its tensors by those names: another name there is a typo
        anything = not takes and any(p.kind == p.VAR_KEYWORD for p in params)
        unknown = [k for k in keywords if not (isinstance(k, str) and k.isidentifier()) or
                   (k not in takes and not anything)]
        if unknown:
            named = [p.name for p in params if p.name in takes]
            hint = did_you_mean(str(unknown[0]), named) or f" (it takes {', '.join(named[:8]) or 'no names'})"
            raise SimulatorError(f"sample_input names {unknown[0]!r}, which {cls.__name__}.forward does not take"
                                 f"{hint}", source=label)

    # training keeps no cache of keys and values (Hugging Face's decoders make one by default, an object torch.fx
    # cannot return, and its hybrids' linear-attention caches fail on the trace)
    extra = {"use_cache": False} if any(p.name == "use_cache" for p in params) and \
        "use_cache" not in (keywords or ()) else {}

    def call(self, *xs):
        out = cls.forward(self, **dict(zip(keywords, xs)), **extra) if keywords is not None else \
            cls.forward(self, *xs, **extra)
        # a ModelOutput (a dict: logits, the cache of keys and values, ...): its first entry, as model(...)[0]
        # reads it; torch.fx could not return the cache object
        return next(iter(out.values())) if isinstance(out, Mapping) else out
    arities = {1: lambda self, a: call(self, a), 2: lambda self, a, b: call(self, a, b),
               3: lambda self, a, b, c: call(self, a, b, c), 4: lambda self, a, b, c, d: call(self, a, b, c, d)}
    if n not in arities:
        raise SimulatorError(f"{n} sample inputs for a forward that takes *args or inputs by name (at most 4): "
                             "wrap the module in one whose forward names its inputs", source=label)
    forward = arities[n]
    # the inputs named as the real forward names them (input_ids, pixel_values): torch.fx names the graph's
    # inputs, and so the network's input layers, after the forward's code
    named = keywords if keywords is not None else [
        p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:n]
    if len(named) == n and len(set(named)) == n and "self" not in named:
        forward = types.FunctionType(forward.__code__.replace(co_varnames=("self", *named)), forward.__globals__,
                                     "forward", None, forward.__closure__)
    root = copy.copy(module)
    root.__class__ = type(cls.__name__, (cls,), {"forward": forward})
    return root


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
            return out[0] if kind in ("lstm", "gru", "rnn", "lstm_cell") else out

    root = Root()
    root.add_module(attr, module)
    return root
