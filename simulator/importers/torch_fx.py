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
where Python discards their result; on a view (``y[:, :8].mul_(2)``, through views and transposes)
they change the tensor it views too, written back as ``y[:, :8] = ...`` is (torch_rewrites.py). scatter / scatter_ (a scalar written at an index leaves the tensor as it
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

The importer's parts: this module runs them (`from_torch`); torch_trace.py makes the module traceable, traces it
and propagates the shapes; torch_rewrites.py rewrites the traced graph (in-place operations threaded through);
torch_converter.py's `_Converter` visits its nodes, with its mixins for each kind of node (torch_modules.py,
torch_functions.py and the function kinds it dispatches to, torch_tensors.py, torch_writes.py, ...).
"""
from __future__ import annotations

import contextlib
import io

from simulator.graph import Network, SimulatorError

from .torch_checks import _one_line, checked_inputs, model_state, refuse_hooks, state_restored, warn_unmodelled
from .torch_converter import _Converter
from .torch_modules import _kind
from .torch_rewrites import _drop_guards, _thread_in_place
from .torch_trace import _positional, _rooted, _shape_prop, _traced



# raised whenever a PyTorch model converts differently (other layers, costs or default groups): a run that
# stored results for a user's model under an older conversion is then refused, not silently resumed. 5: a
# forward that passes **kwargs on is traced with use_cache=False (RWKV: 2 layers fewer), and x.max(d).values
# is the maximum (it had been dropped from what used it). 6: a parameter multiplied by a network tensor in forward
# (F.linear, x @ self.W, addmm) is a linear layer holding it (torch_weights.py). 7: so is one read transposed
# (x @ self.W.T, W.t(), W.transpose(0, 1)) or by einsum ('bi,ij->bj'): no transpose layer, no per-sample weight. 8:
# an in-place operation on a view (y[:, :8].mul_(2)) changes what reads the viewed tensor afterwards (written back
# as y[:, :8] = ... is: a pad and an add), where it had been a dead end. 9: an RNN started from another's final
# state reads that state (an rnn_state layer after the encoder, h_n and c_n), not the encoder's output sequence
IMPORTER_VERSION = 9


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
