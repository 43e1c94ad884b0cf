"""Tracing for the torch.fx importer (torch_fx.py): the user's module made traceable (a supported module given as
the network itself put in a parent, a forward taking ``*args`` or inputs by name given one that names its n
inputs, optional arguments left at their defaults), traced by torch.fx with the importer's leaf modules (or,
where torch.fx cannot trace symbolically, on the sample inputs: torch_concrete.py), the buffers a forward
reassigned put back, and the shapes propagated on the sample input."""
from __future__ import annotations

import types
from collections.abc import Mapping

from simulator.graph import SimulatorError, did_you_mean

from .torch_checks import _one_line, mark_node, packed_error, state_restored
from .torch_modules import _kind


def _traced(module, inputs: tuple, label: str, state):
    """(GraphModule, tracer) of `module` traced symbolically, or, when torch.fx cannot, on the sample inputs."""
    import copy

    import torch.fx
    buffers = dict(module.named_buffers())
    if getattr(module, "sample_inputs", None) is MHA_INPUTS and len(inputs) == 3 and inputs[2] is inputs[1]:
        module.value_is_key = True   # a bare MHA given (query, key, key): see _rooted
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
    if getattr(module, "sample_inputs", None) is MHA_INPUTS and n not in MHA_INPUTS:   # the root of a bare MHA
        raise SimulatorError(f"nn.MultiheadAttention as the model takes 3 sample inputs (query, key, value), or 1 "
                             f"(self-attention); sample_input has {n}", source=label)
    code = getattr(getattr(cls, "forward", None), "__code__", None)
    if keywords is None and (code is None or not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)):
        return module
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    leaf = getattr(module, "_rooted_leaf", None)   # the attribute holding the leaf module _rooted wrapped
    passed = keywords
    if keywords is not None and leaf is not None:
        passed = _leaf_keywords(module, getattr(module, leaf), keywords, label)
    elif keywords is not None:
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
        out = cls.forward(self, **dict(zip(passed, xs)), **extra) if keywords is not None else \
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


def _leaf_keywords(root, leaf, keywords: list[str], label: str) -> list[str]:
    """The names of _rooted's wrapper (x, ...) for sample inputs given by the leaf's own names (nn.Linear's
    input, nn.TransformerDecoderLayer's tgt and memory): the user named the leaf's forward, not the wrapper's,
    which the user never sees."""
    import inspect

    def positional(forward) -> list[str]:
        try:
            params = inspect.signature(forward).parameters.values()
        except (TypeError, ValueError):
            return []
        return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    outer = positional(root.forward)                   # the wrapper's: (x), (x, y), (query, key, value)
    inner = positional(leaf.forward)[:len(outer)]      # the leaf's names for the same inputs, in the same order
    name = type(leaf).__name__
    for k in keywords:
        if k in inner:
            continue
        if isinstance(k, str) and k in positional(leaf.forward) + _keyword_only(leaf.forward):
            # the wrapper passes only the leading inputs: the others stay at their defaults
            raise SimulatorError(f"sample_input names {k!r}, which {name} as the model is not given (it takes "
                                 f"{', '.join(inner)}): wrap it in a module whose forward passes {k}", source=label)
        hint = did_you_mean(str(k), inner) or f" (it takes {', '.join(inner) or 'no names'})"
        raise SimulatorError(f"sample_input names {k!r}, which {name}.forward does not take{hint}", source=label)
    missing = [k for k in inner[:len(keywords)] if k not in keywords]
    if missing:   # the wrapper takes its inputs in order: a later one given without an earlier one has no place
        raise SimulatorError(f"sample_input names {', '.join(map(repr, keywords))} but not {missing[0]!r}: "
                             f"{name} as the model takes its inputs in the order {', '.join(inner)}", source=label)
    return [outer[inner.index(k)] for k in keywords]


def _keyword_only(forward) -> list[str]:
    import inspect
    try:
        return [p.name for p in inspect.signature(forward).parameters.values() if p.kind == p.KEYWORD_ONLY]
    except (TypeError, ValueError):
        return []


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
        root._rooted_leaf = attr   # sample inputs by name are the leaf's names: see _leaf_keywords
        return root

    if kind == "mha":   # called its own way, (query, key, value), or on one input: self-attention
        class Attention(nn.Module):
            # key and value optional: given one sample input, _defaults_after makes them constants (None),
            # not inputs of the traced graph; given three, they are its inputs (Root.forward(x) took one, so
            # three were refused as "the module's forward takes 1 input(s)")
            value_is_key = False   # set by _traced when the sample's value is its key, the one tensor

            def forward(self, query, key=None, value=None):
                if key is None and value is None:
                    key = value = query
                # the importer costs attention whose key and value are one tensor: the sample's two inputs
                # are two placeholders, so the key stands for the value (else the converter refuses the pair)
                return getattr(self, attr)(query, key, key if self.value_is_key else value, need_weights=False)[0]

        root = Attention()
        root.add_module(attr, module)
        root._rooted_leaf = attr   # sample inputs by name are the leaf's names: see _leaf_keywords
        root.sample_inputs = MHA_INPUTS   # _positional refuses another count with the module's own terms
        return root

    class Root(nn.Module):
        def forward(self, x):
            out = getattr(self, attr)(x)
            return out[0] if kind in ("lstm", "gru", "rnn", "lstm_cell") else out

    root = Root()
    root.add_module(attr, module)
    root._rooted_leaf = attr   # sample inputs by name are the leaf's names: see _leaf_keywords
    return root


MHA_INPUTS = (1, 3)   # the sample inputs a bare nn.MultiheadAttention takes: x (self-attention) or query, key, value
