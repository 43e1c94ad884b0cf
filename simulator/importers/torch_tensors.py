"""The torch.fx importer's tensor plumbing beyond layers: constants made in ``forward``, indexing, einsum, masks,
comparisons and casts. A mixin of the converter, beside FunctionNodes (torch_functions.py).

**Constants.** A buffer read in ``forward`` (``self.mask``), a tensor made there from sizes alone
(``torch.arange(T)``, ``torch.ones(T, T)``, ``x.new_zeros(...)``) and whatever is computed from such tensors only
(``mask[:, :, :T, :T] == 0``, ``torch.tril(...)``) are constants: computed without the network's inputs, so
they cost nothing per step here. Such a value is kept as a ``_Const`` and becomes one ``parameter`` layer
(``trainable=False``: memory, no parameters) only where a layer of the network reads it, so a chain of
operations on a buffer is one layer, not one per operation. One with at least two axes whose first is the
batch's size (``torch.zeros(ids.size())``) holds a row per sample; any other is the same for every sample
(its leading size-1 axes dropped).

**Indexing** ``x[...]`` of a network tensor or a parameter: integers (a ``select`` view), slices (a ``slice``
view, strided with a step: Swin's patch merging ``x[:, 0::2, 0::2, :]``), ``...`` and ``None`` (a ``reshape`` view) on any axis but the batch; bounds may come from
``x.size()`` (their values are read from the sample run). Indexing with tensors (a gather) is refused.

**einsum** of one or two operands is written as the layers torch computes it with: the operands permuted
(``transpose``, a copy, where the order changes) and viewed as matrices, one ``matmul``, the result viewed and
permuted back. The batch (the sample) must be the first subscript of each operand that has it and of the
output; sums over a subscript of one operand, repeated subscripts (diagonals) and ``...`` are refused.
"""
from __future__ import annotations

import operator

from simulator.ops import (Concat, Elementwise, Embedding, MatMul, Mean, Parameter, Reshape, RMSNorm, Select, Slice,
                           Transpose)
from simulator.ops.base import prod

from .torch_nodes import (NCHW, PLAIN, SHARED, _Complex, _Const, _hashable, _Merged, _Moved, _Multi, _Pieces,
                          _Split, _Stacked, _State, _Tensor, _Unbound, torch_padding)


def _factories():
    import torch
    made = {torch.arange, torch.zeros, torch.ones, torch.full, torch.empty, torch.eye, torch.tensor,
            torch.linspace, torch.rand, torch.randn, torch.randint, torch.as_tensor}
    return made | {"new_zeros", "new_ones", "new_full", "new_empty", "new_tensor"}


def _likes():
    import torch
    return {torch.zeros_like, torch.ones_like, torch.full_like, torch.empty_like, torch.rand_like,
            torch.randn_like, torch.randint_like, "zero_"}


def _comparisons():
    import torch
    return {operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge, operator.invert,
            torch.eq, torch.ne, torch.lt, torch.le, torch.gt, torch.ge, torch.logical_not, torch.logical_and,
            torch.logical_or, "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and", "logical_or",
            operator.and_, operator.or_}


def _unary():
    import torch
    names = ("exp", "log", "sqrt", "rsqrt", "abs", "neg", "pow", "square", "sin", "cos", "clamp", "clamp_min",
             "clamp_max", "clip", "reciprocal", "sign", "log1p", "expm1", "erf", "floor", "ceil", "round", "cumsum",
             "cumprod", "acos", "asin", "atan", "tan", "log2", "log10", "exp2", "trunc", "tril", "triu")
    import torch.nn.functional as F
    return {operator.pow, operator.neg, operator.abs, F.logsigmoid, "log_sigmoid"} | set(names) | \
        {getattr(torch, n) for n in names}


# casts and copies that change neither shape nor cost in the model (precision is a setting of the simulation)
_SAME = {"float", "half", "bfloat16", "double", "bool", "long", "int", "to", "type", "type_as", "detach",
         "clone", "requires_grad_", "cuda", "cpu"}


class TensorNodes:
    """Constants, indexing, einsum, masks, comparisons and casts (see the module's docstring)."""

    # ------------------------------------------------------------- constants
    def fold(self, node, meta, key):
        """A `_Const` when the node's result is a constant (see the module docstring), else None."""
        values = [self.env.get(a) for a in node.all_input_nodes]
        graph = [v for v in values if isinstance(v, (_Tensor, _Const, _Multi, _Split, _State, _Moved, _Unbound,
                                                     _Merged, _Stacked, _Complex))]
        factory = _hashable(key) and key in _factories()
        if not (factory or graph and all(isinstance(v, _Const) for v in graph)):
            return None   # a *_like of a network tensor is not a constant: it is made per step
        if hasattr(meta, "shape"):
            return _Const(node.name, tuple(int(d) for d in meta.shape), self.stack_of(node))
        if isinstance(meta, (tuple, list)) and all(hasattr(m, "shape") for m in meta):
            return _Const(node.name, None, self.stack_of(node),
                          tuple(tuple(int(d) for d in m.shape) for m in meta))
        return None

    def batched_const(self, shape) -> bool:
        """Whether a constant holds one row per sample: at least two axes, the first the batch's size (token type
        ids made with torch.zeros(ids.size()), noise of torch.randn(B, d))."""
        return shape is not None and len(shape) >= 2 and self.batch > 1 and shape[0] == self.batch

    def materialize(self, node, c: _Const) -> _Tensor:
        """The constant as a layer (once: every reader shares it): per sample when it has the batch first, else
        the same for every sample."""
        if c.parts is not None:
            raise self.fail(node, f"uses the whole tuple of constants {c.name}; index it first")
        if c.tensor is None:
            if 0 in c.shape:
                raise self.fail(node, f"reads the empty constant {c.name} of shape {c.shape}")
            layout = PLAIN if self.batched_const(c.shape) else SHARED
            shape = c.shape[1:] if layout == PLAIN else c.shape
            while layout == SHARED and shape and shape[0] == 1:
                shape = shape[1:]
            t = self.add(node, c.name, Parameter(shape or (1,), trainable=False), [], layout, None, stack=c.stack)
            c.tensor = _Tensor(t.layer, layout, c.shape)
        return c.tensor

    # ------------------------------------------------------------- the functions of this mixin
    def tensor_function(self, node, meta, key, args, kwargs, expect, done):
        """The node's value when it is one of this mixin's functions, else None."""
        import torch
        import torch.nn.functional as F

        method = key if node.op == "call_method" else None
        if _hashable(key) and key in _likes():      # a new tensor the size of x: written once
            x = self.tensor(node, args[0])
            return done(Elementwise("mul"), [x], x.layout)
        if method in _SAME or key in (torch.clone, torch.Tensor.detach, torch.detach):
            return self.tensor(node, args[0])
        if _hashable(key) and key in _unary():   # x.exp(), x ** 2, x.clamp(0, 1): one operation per element
            if any(hasattr(a, "op") and isinstance(self.env.get(a), (_Tensor, _Const)) for a in args[1:]):
                return self.arithmetic(node, "mul", args, done)   # a tensor exponent or bound
            x = self.tensor(node, args[0])
            if getattr(key, "__name__", key) in ("cumsum", "cumprod"):   # along the batch: it mixes the samples
                dim = args[1] if len(args) > 1 else kwargs.get("dim")
                if isinstance(dim, int):
                    self.axis(node, x, dim)
            return done(Elementwise("mul"), [x], x.layout)
        if key in ("copysign", torch.copysign):   # x's magnitudes with y's signs: one operation per element
            return self.arithmetic(node, "mul", args, done)
        if _hashable(key) and key in _comparisons():   # a mask: one operation per element
            return self.arithmetic(node, "sub", args, done)
        if key in ("scatter", "scatter_", torch.scatter, "scatter_add", "scatter_add_", torch.scatter_add):
            return self.scatter(node, args, kwargs, done)
        if key is F.embedding:
            return self.embedding_function(node, args, kwargs, expect, done)
        if key in (torch.gather, "gather"):
            # values of a constant table picked per sample (RoBERTa's token types by position): one read per
            # element of the index; a gather from a network tensor is not modelled, but for a router's picks
            routed = self.routed_gather(node, args, kwargs, meta)
            if routed is not None:
                return routed
            source = self.env.get(args[0]) if hasattr(args[0], "op") else None
            index = args[2] if len(args) > 2 else kwargs.get("index")
            if isinstance(source, _Merged) or isinstance(source, _Tensor) and (
                    source.layout != SHARED or isinstance(self.env.get(index), _Const)):
                return self.gathered(node, args[0], args[1] if len(args) > 1 else kwargs.get("dim"), expect, done)
            if not isinstance(source, _Const) or not isinstance(self.env.get(index), _Tensor):
                raise self.fail(node, "gather is only supported from a network tensor, or from a constant table (a "
                                      "buffer) by a network index")
            x = self.tensor(node, index)
            return done(Elementwise("mul"), [x], x.layout)
        if key in ("masked_fill", "masked_fill_", torch.masked_fill):
            # the gradient flows where the mask is false: a product with the mask, forward and backward
            return self.arithmetic(node, "mul", args[:2], done)
        if key is torch.where and len(args) == 3:
            return self.arithmetic(node, "mul", args, done)
        if key in ("unsqueeze", "squeeze", torch.unsqueeze, torch.squeeze):
            x = self.tensor(node, args[0])
            dim = args[1] if len(args) > 1 else kwargs.get("dim")
            rank = len(x.torch_shape) + (1 if key in ("unsqueeze", torch.unsqueeze) else 0)
            if x.layout != SHARED and dim is not None and int(dim) % max(rank, 1) == 0:
                raise self.fail(node, f"{getattr(key, '__name__', key)} of the batch dimension is not supported")
            x = self.as_layout(node, x, PLAIN)
            shape = self.per_sample(node, expect, x.layout)   # () for one number per sample (mBART's EOS token)
            return done(Reshape(shape if shape or x.layout != SHARED else (1,)), [x], x.layout)
        if key in (torch.sum, "sum", torch.amax, "amax", torch.amin, "amin", torch.std, "std", torch.var, "var",
                   torch.logsumexp, "logsumexp", torch.argmax, "argmax", torch.argmin, "argmin"):
            return self.reduce(node, args, kwargs, done)   # argmax / argmin: the position, read as a reduction
        if key in (torch.norm, "norm", torch.linalg.vector_norm):   # a vector norm over some axes: as a mean
            names = ("input", "ord", "dim", "keepdim") if key is torch.linalg.vector_norm else \
                ("input", "p", "dim", "keepdim")
            given = dict(zip(names, args), **kwargs)
            return self.reduce(node, (given["input"], given.get("dim"), given.get("keepdim", False)), {}, done)
        if key in (torch.stack, "stack"):
            tensors = args[0] if args else kwargs.get("tensors")
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            pieces = self.env.get(tensors) if hasattr(tensors, "op") else None   # torch.stack(chunks[1:], 1)
            ts = [self.as_layout(node, t, PLAIN) for t in pieces.tensors] if isinstance(pieces, _Pieces) else \
                [self.as_layout(node, self.tensor(node, a), PLAIN) for a in tensors]
            if not any(t.layout == SHARED for t in ts) and dim % (len(ts[0].torch_shape) + 1) == 0 and \
                    node.users and all(_reduces_first_axis(u) for u in node.users):
                return _Stacked(tuple(ts))
            if all(t.layout == SHARED for t in ts):   # parameters (RoFormer's sines, each twice: stack([sin, sin]))
                return self.stacked_parameters(node, ts, dim, expect, done)
            if any(t.layout == SHARED for t in ts) or dim % (len(ts[0].torch_shape) + 1) == 0:
                raise self.fail(node, "stack: only network tensors along a dimension after the batch are supported")
            dim %= len(expect)   # counted on the result: stack(..., -1) adds the last axis
            one = self.per_sample(node, tuple(expect[:dim]) + (1,) + tuple(expect[dim + 1:]), PLAIN)
            views = [self.add(node, f"{node.name}:in{i}", Reshape(one), [t], PLAIN, None) for i, t in enumerate(ts)]
            return done(Concat(axis=dim % len(expect) - 1), views, PLAIN)
        if key is F.normalize:
            given = dict(zip(("input", "p", "dim"), args), **kwargs)
            x = self.tensor(node, given["input"], PLAIN)
            if given.get("dim", 1) % len(x.torch_shape) != len(x.torch_shape) - 1 or given.get("p", 2.0) != 2:
                raise self.fail(node, "normalize: only the L2 norm over the last dimension is supported")
            return done(RMSNorm(1, scale=False), [x], PLAIN)   # x / ||x||: the work of an RMS norm
        if key is F.linear:
            given = dict(zip(("input", "weight", "bias"), args), **kwargs)
            x, w = self.tensor(node, given["input"], PLAIN), self.tensor(node, given["weight"])
            bias = self.tensor(node, given["bias"]) if given.get("bias") is not None else None
            layer = self.weight_product(node, x, w, True, bias, expect)
            if layer is not None:   # a parameter as the weight: nn.Linear's layer (torch_weights.py)
                return layer
            if given.get("bias") is None:
                return done(MatMul(transpose_b=True), [x, w], PLAIN)
            y = self.add(node, f"{node.name}:matmul", MatMul(transpose_b=True), [x, w], PLAIN, expect)
            return done(Elementwise("add"), [y, self.tensor(node, given["bias"])], PLAIN)
        if key in (torch.addmm, "addmm", torch.baddbmm, "baddbmm"):
            # beta * input + alpha * (mat1 @ mat2): Hugging Face's Conv1D (addmm), BLOOM's ALiBi scores (baddbmm,
            # the bias plus the scaled products); a scale other than 1 is one more operation per element
            batched = key in (torch.baddbmm, "baddbmm")
            given = dict(zip(("input", "batch1", "batch2") if batched else ("input", "mat1", "mat2"), args), **kwargs)
            first, second = ("batch1", "batch2") if batched else ("mat1", "mat2")
            a, b = self.tensor(node, given[first], PLAIN), self.tensor(node, given[second])
            plain = not batched and given.get("alpha", 1) == 1 and given.get("beta", 1) == 1
            layer = self.weight_product(node, a, b, False, self.tensor(node, given["input"]), expect) \
                if plain else None
            if layer is not None:   # Hugging Face's Conv1D: nn.Linear's layer (torch_weights.py)
                return layer
            layout = PLAIN if PLAIN in (a.layout, b.layout) else SHARED
            y = self.add(node, f"{node.name}:matmul", MatMul(), [a, b], layout, None)
            if given.get("alpha", 1) != 1:
                y = self.add(node, f"{node.name}:alpha", Elementwise("mul"), [y], layout, None)
            beta = given.get("beta", 1)
            if beta == 0:
                return done(Reshape(self.per_sample(node, expect, y.layout) or (1,)), [y], y.layout)
            bias = self.tensor(node, given["input"])
            if beta != 1:
                bias = self.add(node, f"{node.name}:beta", Elementwise("mul"), [bias], bias.layout, None)
            return done(Elementwise("add"), [y, bias], y.layout)
        if key is torch.einsum:
            return self.einsum(node, args, expect, done)
        if key in (F.conv1d, F.conv2d, F.conv3d):
            return self.conv_function(node, key, args, kwargs, done)
        return None

    def conv_function(self, node, fn, args, kwargs, done):
        """F.conv1d / conv2d / conv3d with a weight tensor read in forward (weight standardisation, a fixed
        blur kernel, a modulated convolution): the convolution, whose weights are that tensor's layer (counted
        there; a constant has none)."""
        import torch.nn.functional as F
        from simulator.ops import Conv1d, Conv2d, Conv3d
        given = dict(zip(("input", "weight", "bias", "stride", "padding", "dilation", "groups"), args), **kwargs)
        rank = {F.conv1d: 1, F.conv2d: 2, F.conv3d: 3}[fn]
        w = self.tensor(node, given["weight"])
        if w.layout != SHARED or len(w.torch_shape) != rank + 2:
            raise self.fail(node, f"conv{rank}d with a weight that is not a parameter or constant of {rank + 2} axes")
        k, per_group, *kernel = (int(d) for d in w.torch_shape)
        groups = int(given.get("groups", 1))

        def spread(v):
            return tuple(v) if isinstance(v, (tuple, list)) else (int(v),) * rank

        stride, dilation = spread(given.get("stride", 1)), spread(given.get("dilation", 1))
        padding = given.get("padding", 0)
        padding = torch_padding(padding, kernel, dilation) if isinstance(padding, str) else spread(padding)
        bias = given.get("bias") is not None
        if rank == 2:
            x = self.tensor(node, given["input"], NCHW)
            op = Conv2d(k, tuple(kernel), stride, padding, dilation, groups, bias, per_group * groups)
            layout = NCHW
        else:
            x = self.tensor(node, given["input"], PLAIN)
            layout = PLAIN
            op = (Conv1d(k, kernel[0], stride[0], padding[0], dilation[0], groups, bias, per_group * groups)
                  if rank == 1 else Conv3d(k, tuple(kernel), stride, padding, dilation, groups, bias,
                                           per_group * groups))
        return self.add(node, node.name, op, [x], layout, tuple(node.meta["tensor_meta"].shape), shares=w.layer)

    def stacked_sum(self, node, stacked: _Stacked, mean: bool, done):
        """The mean or sum over the stacking dimension of stacked tensors: their sum (one addition per element
        and tensor), scaled for a mean."""
        total = stacked.parts[0]
        last = len(stacked.parts) - 1
        for i, t in enumerate(stacked.parts[1:], start=1):
            if i == last and not mean:
                return done(Elementwise("add"), [total, t], PLAIN)
            total = self.add(node, f"{node.name}:add{i}", Elementwise("add"), [total, t], PLAIN, None)
        return done(Elementwise("mul"), [total], PLAIN)

    def stacked_parameters(self, node, ts: list, dim: int, expect, done):
        """Tensors of parameters stacked along a new axis: each viewed with that axis of size 1, joined along it
        (the same for every sample)."""
        dim %= len(expect)
        one = tuple(int(d) for d in expect[:dim]) + (1,) + tuple(int(d) for d in expect[dim + 1:])
        ours = self.per_sample(node, one, SHARED)
        lead = len(one) - len(ours)
        if dim < lead:
            raise self.fail(node, "stack: parameters stacked along their leading axes are not supported")
        views = [self.add(node, f"{node.name}:in{i}", Reshape(ours), [t], SHARED, None) for i, t in enumerate(ts)]
        return done(Concat(axis=dim - lead), views, SHARED)

    def reduce(self, node, args, kwargs, done, values_of: str | None = None):
        """sum / amax / amin / std / var (and the values of max / min along a dim, `values_of`) over some
        dimensions: counted as a mean (the same reads and one operation per element; a std's second pass and
        the division are not counted)."""
        if isinstance(self.env.get(args[0]), _Stacked):
            return self.stacked_sum(node, self.env[args[0]], False, done)
        rows = self.env.get(args[0]) if hasattr(args[0], "op") else None
        merged = rows.prefix if isinstance(rows, _Merged) else None   # a router's logits over tokens (B*T, E)
        first = (values_of or tuple(getattr(node.meta.get("tensor_meta"), "shape", ())) or (None,))[0]
        merged = merged if merged is not None and len(merged) > 1 and first == prod(merged) else None
        x = self.tensor(node, args[0])
        dims = args[1] if len(args) > 1 else kwargs.get("dim")
        if dims is None:
            dims = self.every_dim(node, x, "a reduction")
        dims = [dims] if isinstance(dims, int) else list(dims)
        if merged is not None:   # the dims of the merged view, on the tensor itself
            rank = len(x.torch_shape) - len(merged) + 1
            if any(d % rank == 0 for d in dims):
                raise self.fail(node, "a reduction over rows that merge the batch with other axes is not supported")
            dims = [d % rank + len(merged) - 1 for d in dims]
        spread = getattr(node.target, "__name__", node.target) in ("std", "var")   # (dim, unbiased, keepdim)
        at = 3 if spread else 2
        keep = bool(args[at] if len(args) > at else kwargs.get("keepdim", False))
        x = self.as_layout(node, x, PLAIN) if not keep else x
        op = Mean(tuple(self.axis(node, x, d) for d in dims), keep)
        if merged is not None:   # merged rows again, their layer checked with the rows spelled out
            shape = values_of if values_of is not None else tuple(node.meta["tensor_meta"].shape)
            out = _Merged(self.add(node, node.name, op, [x], x.layout, tuple(merged) + tuple(shape[1:])), merged)
            return out if values_of is None else _Multi(out, "max")
        if values_of is None:
            return done(op, [x], x.layout)
        return _Multi(self.add(node, node.name, op, [x], x.layout, values_of), "max")

    # ------------------------------------------------------------- indexing
    def concrete(self, node, value):
        """An index with the values torch had in the sample run (sizes read with x.size())."""
        if hasattr(value, "op"):
            if "tensor_meta" in value.meta or isinstance(self.env.get(value), (_Tensor, _Const)):
                raise self.fail(node, "indexing with a tensor or a list (a gather) is not supported")
            if "value" not in value.meta:
                raise self.fail(node, f"indexing with {value.name}, whose value is not a number")
            return value.meta["value"]
        if isinstance(value, slice):
            return slice(*(self.concrete(node, v) for v in (value.start, value.stop, value.step)))
        if isinstance(value, (tuple, list)):
            return type(value)(self.concrete(node, v) for v in value)
        return value

    def index(self, node, x: _Tensor, index, expect, done):
        """x[...] with integers, slices of step 1, ... and None (see the module docstring)."""
        import torch
        if expect is not None and 0 in tuple(expect):
            # nothing picked (a partial rotary embedding's pass-through part when it rotates every channel): an
            # empty constant, which a concatenation drops and anything else refuses
            return _Const(node.name, tuple(int(d) for d in expect), self.stack_of(node))
        if hasattr(index, "op") and isinstance(self.env.get(index), _Const) and x.layout == SHARED:
            # a table of parameters, or one computed from them (Swin v2's continuous position bias)
            return self.gather(node, x, self.env[index], expect, allow_computed=True)
        if isinstance(index, tuple) and x.layout == SHARED and index and hasattr(index[-1], "op") and \
                isinstance(self.env.get(index[-1]), _Const) and all(i == slice(None) for i in index[:-1]):
            # a parameter's columns picked by a constant index (LeViT's attention_biases[:, idxs])
            return self.gather(node, x, self.env[index[-1]], expect, axis=len(index) - 1)
        if isinstance(index, tuple) and x.layout != SHARED and self.picked_per_sample(node, x, index, expect):
            # one position per sample, found by the network (Hugging Face's sequence classification with a decoder:
            # logits[arange(batch), last_non_pad_token], the position an argmax over the token ids): a row's copy,
            # which position does not change the work (the index's layers run before, as they did)
            return done(Select(0, 0), [self.as_layout(node, x, PLAIN)], PLAIN)
        if isinstance(index, tuple) and x.layout != SHARED and self.per_sample_gather(node, x, index, expect):
            # each sample's elements picked by constant indices, the first one per sample along the batch (Hugging
            # Face's padding mask: mask[batch_arange[:, None, None, None], kv_arange[None, None, None, :]]): as many
            # elements out as in, a copy as a view costs it
            return done(Reshape(self.per_sample(node, expect, PLAIN) or (1,)), [self.as_layout(node, x, PLAIN)],
                        PLAIN)
        index = self.concrete(node, index)
        items = list(index) if isinstance(index, tuple) else [index]
        if any(isinstance(i, (torch.Tensor, list)) or hasattr(i, "op") for i in items):
            raise self.fail(node, "indexing with a tensor or a list (a gather) is not supported")
        rank = len(x.torch_shape)
        used = sum(1 for i in items if i is not None and i is not Ellipsis)
        if used > rank or sum(1 for i in items if i is Ellipsis) > 1:
            raise self.fail(node, f"index {index!r} does not fit a tensor of shape {tuple(x.torch_shape)}")
        if Ellipsis in items:
            at = items.index(Ellipsis)
            items[at:at + 1] = [slice(None)] * (rank - used)
        items += [slice(None)] * (rank - sum(1 for i in items if i is not None))
        x = self.as_layout(node, x, PLAIN)
        lead = self.lead(x) if x.layout == SHARED else 0   # our axes of a parameter skip its leading size-1 axes
        steps, shape, dim = [], list(x.torch_shape), 0   # (select | slice, torch axis now, start, stop, step)
        for item in items:
            if item is None:
                continue
            size = shape[dim]
            if isinstance(item, slice):
                start, stop, step = item.indices(size)
                if step < 1:
                    raise self.fail(node, f"slices with a negative step ({item!r}) are not supported")
                if (start, stop, step) != (0, size, 1):
                    steps.append(("slice", dim, start, max(start, stop), step))
                    shape[dim] = len(range(start, stop, step))
                dim += 1
            elif isinstance(item, int):
                steps.append(("select", dim, item % size if size else item, None, 1))
                del shape[dim]
            else:
                raise self.fail(node, f"indexing with {item!r} is not supported")
        ops, ours, kept = [], self.shapes[x.layer], list(range(rank))   # kept: x's torch axes still there
        for what, dim, a, b, step in steps:
            axis_of = kept[dim]
            if (x.layout != SHARED and axis_of == 0) or (x.layout == SHARED and axis_of < lead):
                raise self.fail(node, "indexing the batch dimension is not supported" if x.layout != SHARED
                                else "indexing a parameter's leading size-1 axes is not supported")
            axis = dim - 1 if x.layout != SHARED else dim - sum(1 for k in kept[:dim] if k < lead)
            op = Slice(axis, a, b, step) if what == "slice" else Select(axis, a)
            ours = op.infer((ours,))
            ops.append((what, op))
            if what == "select":
                del kept[dim]
        theirs = self.per_sample(node, expect, x.layout)
        if ours != theirs:   # axes added by None
            ops.append(("view", Reshape(theirs or (1,))))
        current = x
        for n, (what, op) in enumerate(ops):
            last = n == len(ops) - 1
            current = self.add(node, node.name if last else f"{node.name}:{what}{n}", op, [current], x.layout,
                               None)
        return _Tensor(current.layer, x.layout, tuple(expect))

    def embedding_function(self, node, args, kwargs, expect, done):
        """F.embedding(ids, weight): a lookup whose weights are the parameter's (a subclass of nn.Embedding with a
        forward of its own, such as a scaled or offset position embedding, calls it): an embedding layer sharing
        them; constant ids (positions made in forward) pick the same rows for every sample."""
        ids = args[0] if args else kwargs.get("input")
        weight = args[1] if len(args) > 1 else kwargs.get("weight")
        table = self.env.get(weight) if hasattr(weight, "op") else None
        owner = next((l for l in self.layers if isinstance(table, _Tensor) and l.name == table.layer), None)
        if owner is None or not (isinstance(owner.op, Parameter) and owner.op.trainable):
            raise self.fail(node, "F.embedding of a weight that is not a parameter is not supported")
        index = self.env.get(ids) if hasattr(ids, "op") else None
        if isinstance(index, _Const):
            return self.gather(node, table, index, expect)
        x = self.tensor(node, ids, PLAIN)
        rows, width = (int(d) for d in table.torch_shape[-2:])
        return self.add(node, node.name, Embedding(rows, width), [x], PLAIN, expect,
                        shares=owner.shares_weights_with or owner.name)

    def per_sample_gather(self, node, x: _Tensor, index: tuple, expect) -> bool:
        """x[i0, i1, ...] with constant index tensors only, i0 one entry per sample, each sample keeping as many
        elements as it had."""
        consts = [self.env.get(i) if hasattr(i, "op") else None for i in index]
        if not consts or not all(isinstance(c, _Const) and c.shape is not None for c in consts):
            return False
        first = tuple(consts[0].shape)
        if not first or first[0] != self.batch or prod(first) != self.batch or expect is None:
            return False
        out = tuple(int(d) for d in expect)
        return bool(out) and out[0] == self.batch and prod(out) == prod(x.torch_shape)

    def gather(self, node, table: _Tensor, ids: _Const, expect, allow_computed: bool = False, axis: int = 0):
        """A parameter's rows picked by a constant index (a relative position bias: table[index]): a lookup, as an
        embedding whose weights are the parameter's (counted there). With `allow_computed`, the table may be a
        tensor computed from parameters (Swin v2's), whose own layers hold the weights."""
        owner = next(l for l in self.layers if l.name == table.layer)
        parameter = isinstance(owner.op, Parameter) and owner.op.trainable
        if not (parameter or allow_computed and table.layout == SHARED) or len(table.torch_shape) < 1:
            raise self.fail(node, "indexing with a tensor or a list (a gather) is not supported")
        rows = int(table.torch_shape[axis])   # along `axis` (0: rows); the other axes' values travel with each
        width = prod(table.torch_shape) // rows
        index = self.materialize(node, ids)   # per sample when it has a row per sample (Whisper's position ids)
        t = self.add(node, f"{node.name}:lookup", Embedding(rows, width), [index], index.layout, None,
                     shares=owner.shares_weights_with or owner.name)
        return self.add(node, node.name, Reshape(self.per_sample(node, expect, index.layout) or (1,)), [t],
                        index.layout, expect)

    # ------------------------------------------------------------- einsum
    def einsum(self, node, args, expect, done):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
        if not isinstance(equation, str) or "..." in equation or "->" not in equation:
            raise self.fail(node, f"einsum {equation!r}: give the output subscripts (->) and no ...")
        ins, out = equation.replace(" ", "").split("->")
        subs = ins.split(",")
        if len(subs) != len(operands) or not 1 <= len(operands) <= 2:
            raise self.fail(node, f"einsum {equation!r}: only one or two operands are supported")
        ts = [self.as_layout(node, self.tensor(node, a), PLAIN) for a in operands]
        batched = [t.layout != SHARED for t in ts]
        sample = None
        if any(batched):
            firsts = {s[0] for s, b in zip(subs, batched) if b}
            if len(firsts) != 1 or not out or out[0] not in firsts:
                raise self.fail(node, f"einsum {equation!r}: the batch must be the first subscript of every "
                                      "operand that has it and of the output")
            sample = firsts.pop()
        letters, sizes = [], {}
        for s, t, b in zip(subs, ts, batched):
            if b:
                s = s[1:]
            ours = self.shapes[t.layer]
            if len(set(s)) != len(s) or len(s) != len(ours) or (sample is not None and sample in s):
                raise self.fail(node, f"einsum {equation!r}: subscripts {s!r} do not fit shape {ours} (repeated "
                                      "subscripts, a parameter with leading size-1 axes or the batch inside "
                                      "are not supported)")
            for letter, size in zip(s, ours):
                if sizes.setdefault(letter, size) != size and 1 not in (size, sizes[letter]):
                    raise self.fail(node, f"einsum {equation!r}: subscript {letter} is {sizes[letter]} and {size}")
            letters.append(s)
        out = out[1:] if sample is not None else out
        if any(letter not in sizes for letter in out):
            raise self.fail(node, f"einsum {equation!r}: an output subscript is in no operand")
        layout = PLAIN if any(batched) else SHARED
        if len(ts) == 1:
            if sorted(out) != sorted(letters[0]):
                raise self.fail(node, f"einsum {equation!r}: sums over a subscript are not supported")
            perm = tuple(letters[0].index(c) for c in out)
            return done(Transpose(perm), ts, layout) if perm != tuple(range(len(perm))) else ts[0]
        (la, lb), (a, b) = letters, ts
        if any(c not in out and c not in other for s, other in ((la, lb), (lb, la)) for c in s):
            raise self.fail(node, f"einsum {equation!r}: sums over a subscript of one operand are not supported")
        batch = [c for c in out if c in la and c in lb]
        left = [c for c in out if c in la and c not in lb]
        right = [c for c in out if c in lb and c not in la]
        inner = [c for c in la if c in lb and c not in out]
        name = node.name
        if len(lb) == 2 and not batch and len(inner) == 1 and len(right) == 1 and la and la[-1] == inner[0] \
                and out == la[:-1] + right[0] and a.layout != SHARED:
            # x @ W (or x @ W.T) written as einsum ('bi,ij->bj'): a parameter's, nn.Linear's layer (torch_weights.py)
            layer = self.weight_product(node, a, b, lb == right[0] + inner[0], None, expect)
            if layer is not None:
                return layer

        def matrix(t, subs_of, order, rows, cols, tag):
            perm = tuple(subs_of.index(c) for c in order)
            if perm != tuple(range(len(perm))):
                t = self.add(node, f"{name}:{tag}", Transpose(perm), [t], t.layout, None)
            shape = tuple(sizes[c] for c in batch) + (prod(sizes[c] for c in rows), prod(sizes[c] for c in cols))
            if self.shapes[t.layer] != shape:
                t = self.add(node, f"{name}:{tag}_view", Reshape(shape), [t], t.layout, None)
            return t

        a = matrix(a, la, batch + left + inner, left, inner, "a")
        b = matrix(b, lb, batch + inner + right, inner, right, "b")
        natural = batch + left + right
        grouped = tuple(sizes[c] for c in natural)
        perm = tuple(natural.index(c) for c in out)
        tail = ([("view", Reshape(grouped))] if len(left) != 1 or len(right) != 1 else []) + \
               ([("out", Transpose(perm))] if perm != tuple(range(len(perm))) else [])
        steps = [("matmul", MatMul())] + tail
        t = None
        for n, (tag, op) in enumerate(steps):
            if n == len(steps) - 1:
                return done(op, [a, b] if t is None else [t], layout)
            t = self.add(node, f"{name}:{tag}", op, [a, b] if t is None else [t], layout, None)
        return None  # pragma: no cover


def _reduces_first_axis(node) -> bool:
    """node is a mean or sum over dimension 0 alone, its input's first argument, not keeping it."""
    import torch
    key = node.target
    if not (_hashable(key) and key in (torch.mean, "mean", torch.sum, "sum")):
        return False
    dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", node.kwargs.get("axis"))
    keep = node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)
    return dims in (0, (0,), [0]) and not keep and len(node.args) > 0 and hasattr(node.args[0], "op")


__all__ = ["TensorNodes"]
