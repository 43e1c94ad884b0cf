"""The torch.fx importer's function and method nodes (``call_function`` / ``call_method``): arithmetic,
activations, shapes, attention, normalisation, pooling and padding written as functions (see torch_fx.py for
the list). A mixin of the converter: it relies on its ``tensor``, ``add``, ``axis``, ``as_layout``,
``per_sample``, ``fail`` and ``batch``."""
from __future__ import annotations

import operator

from simulator.ops import (Activation, AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, Concat, Dropout,
                           Elementwise, Flatten, Gather, MatMul, Mean, Pad, PixelShuffle, Pool1d, Pool2d, Pool3d,
                           Repeat, Reshape, Select, Slice, Softmax, Transpose, TriangularSolve, Unfold, Upsample)
from simulator.ops.base import prod
from simulator.ops.conv import UPSAMPLE_FLOPS

from .torch_concrete import assigned
from .torch_nodes import (NCHW, PLAIN, SHARED, _Complex, _Const, _hashable, _is_stochastic_depth, _Merged, _Moved,
                          _Multi, _Other, _pair, _Pieces, _Split, _Stacked, _State, _Tensor, _Unbound)


# element-wise functions (operators, torch functions and methods by name) that broadcast their inputs: an
# expanded view feeding only these need not be made
ELEMENTWISE = {operator.add, operator.sub, operator.mul, operator.truediv, operator.iadd, operator.imul}
ELEMENTWISE_NAMES = {"add", "sub", "mul", "div", "add_", "mul_", "masked_fill", "where"}


def _broadcasts(user) -> bool:
    return (_hashable(user.target) and user.target in ELEMENTWISE) or \
        getattr(user.target, "__name__", user.target) in ELEMENTWISE_NAMES

# what a router does with its chosen positions before the experts read them: casts, views, masks (Zaya marks a
# dropped choice with masked_fill)
_ON_INDICES = {"to", "long", "int", "flatten", "reshape", "view", "masked_fill", "unsqueeze", "squeeze", "contiguous",
               "clone", "detach"}


def _out_of_place(node, name: str):
    """The out-of-place form of an in-place method or torch function (mul_ -> mul, torch.relu_ -> torch.relu),
    else None. What reads the tensor afterwards reads the call's result (torch_fx._thread_in_place), so the
    in-place form costs what the out-of-place one does, whichever of its forms the importer supports."""
    import torch
    if not name.endswith("_") or name.endswith("__") or name.startswith("_"):
        return None
    base = name[:-1]
    if node.op == "call_method":
        return base if hasattr(torch.Tensor, base) else None
    return getattr(torch, base, None) if getattr(torch, name, None) is node.target else None


class FunctionNodes:
    """The converter's handling of call_function and call_method nodes."""

    def call_function(self, node, meta):
        import torch
        import torch.nn.functional as F

        fn = node.target
        method = fn if node.op == "call_method" else None
        source = self.env.get(node.args[0]) if node.args and hasattr(node.args[0], "op") else None
        if isinstance(source, _Other) and source.indices and (method or getattr(fn, "__name__", None)) in _ON_INDICES:
            return _Other(f"the value of {node.name}", indices=True)   # still the router's chosen positions
        expect = tuple(meta.shape) if hasattr(meta, "shape") else None
        args, kwargs = node.args, dict(node.kwargs)
        if "axis" in kwargs and "dim" not in kwargs:   # NumPy's name, which torch takes too (I-BERT's x.mean(axis=2))
            kwargs["dim"] = kwargs.pop("axis")
        name = node.name

        def done(op, parents, layout, out_shape=expect):
            return self.add(node, name, op, parents, layout, out_shape)

        if fn is getattr and len(args) == 2 and args[1] in ("real", "imag", "data", "T", "mT") and \
                hasattr(meta, "shape") and isinstance(self.env.get(args[0]), (_Tensor, _Const, _Merged)):
            return self.attribute(node, args[0], args[1], expect, done)
        if fn is getattr and len(args) == 2 and args[1] in ("values", "indices") and \
                isinstance(self.env.get(args[0]), _Multi):   # x.topk(k).indices, x.max(dim).values: by position
            return self.getitem(node, (args[0], ("values", "indices").index(args[1])), meta, done)
        if method in ("size", "dim") or fn in (getattr, len) or method == "numel":
            return _Other(f"the value of {node.name}")
        constant = self.fold(node, meta, method if method is not None else fn)
        if constant is not None:
            return constant
        if fn in (torch.view_as_complex, torch.view_as_real) or \
                any(isinstance(self.env.get(a), _Complex) for a in node.all_input_nodes):
            return self.complex_numbers(node, method or fn, args, meta)
        if fn is assigned:
            return self.assignment(node, args, done)
        if fn is operator.getitem:
            return self.getitem(node, args, meta, done)
        from . import torch_swin
        if torch_swin.is_swin(fn):
            return torch_swin.call(self, node, fn, args, kwargs, tuple(meta.shape), done)
        if (method or fn) in ("max", "min", torch.max, torch.min) and isinstance(meta, (tuple, list)) and \
                not hasattr(meta, "shape"):
            return self.reduce(node, args, kwargs, None, values_of=tuple(meta[0].shape))   # (values, indices)
        if (method or fn) in ("max", "min", "maximum", "minimum", torch.max, torch.min, torch.maximum, torch.minimum) \
                and len(args) > 1 and hasattr(args[1], "op"):
            # of two tensors, element by element (XGLM's scores bounded below by the dtype's minimum): one
            # operation per element, the gradient to whichever was larger, as a product's
            return self.arithmetic(node, "mul", args[:2], done)
        if (method or fn) in ("unbind", torch.unbind):
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            value = self.env.get(args[0])
            if isinstance(value, _Moved) and dim == 0:
                return _Unbound(value, 0)
            x = self.tensor(node, args[0])
            self.axis(node, x, dim)   # rejects the batch dimension
            return _Unbound(x, dim)
        if (method or fn) in ("topk", torch.topk):   # a router's k experts per token (torch_experts.py)
            return self.topk(node, args, kwargs, meta)
        if (method or fn) in ("split", "chunk", "tensor_split", torch.split, torch.chunk, torch.tensor_split):
            x = self.tensor(node, args[0])
            dim = args[2] if len(args) > 2 else kwargs.get("dim", 0)
            if not isinstance(meta, (tuple, list)) or not isinstance(dim, int):
                raise self.fail(node, "unsupported split (its pieces are not known tensors)")
            self.axis(node, x, dim)  # rejects the batch dimension
            return _Split(x, dim, tuple(int(m.shape[dim]) for m in meta))
        if expect is None:
            if meta is None and all(not isinstance(self.env.get(a), _Tensor)
                                    for a in node.all_input_nodes):
                return _Other(f"the value of {node.name}")  # arithmetic on sizes
            if node.users and all(u.op == "output" for u in node.users):
                return _Other("the network's outputs")   # a structure of outputs (Inception's in training)
            raise self.fail(node, "unsupported operation (its result is not a single tensor)")

        arith = {operator.add: "add", torch.add: "add", "add": "add", operator.iadd: "add",
                 "add_": "add", operator.sub: "sub", torch.sub: "sub", "sub": "sub",
                 operator.mul: "mul", torch.mul: "mul", "mul": "mul", operator.imul: "mul",
                 operator.truediv: "div", torch.div: "div", "div": "div",
                 # the same under their long names (ConvBERT's torch.multiply)
                 torch.multiply: "mul", "multiply": "mul", torch.subtract: "sub", "subtract": "sub",
                 torch.divide: "div", "divide": "div", torch.true_divide: "div", "true_divide": "div",
                 # on ids (CANINE hashes its characters: (ids + 1) * prime % buckets): one operation per element
                 operator.mod: "div", torch.remainder: "div", "remainder": "div", torch.fmod: "div", "fmod": "div",
                 operator.floordiv: "div", torch.floor_divide: "div", "floor_divide": "div",
                 # boolean masks combined (Hugging Face's padding mask and its causal one): one operation per
                 # element, as a product (and) or a sum (or)
                 operator.and_: "mul", "__and__": "mul", torch.logical_and: "mul", "logical_and": "mul",
                 operator.or_: "add", "__or__": "add", torch.logical_or: "add", "logical_or": "add"}
        acts = {F.relu: "relu", torch.relu: "relu", "relu": "relu", F.gelu: "gelu",
                torch.tanh: "tanh", F.tanh: "tanh", "tanh": "tanh", torch.sigmoid: "sigmoid",
                F.sigmoid: "sigmoid", "sigmoid": "sigmoid", F.silu: "silu", F.leaky_relu: "leaky_relu",
                F.hardtanh: "hardtanh", F.relu6: "hardtanh", F.hardsigmoid: "hardsigmoid",
                F.hardswish: "hardswish", F.elu: "elu", F.softplus: "softplus", F.mish: "mish"}
        key = method if method is not None else fn
        # torch.max_pool2d (and 1d, 3d) are F.max_pool2d's kernels, with the same arguments but return_indices
        key = {torch.max_pool1d: F.max_pool1d, torch.max_pool2d: F.max_pool2d,
               torch.max_pool3d: F.max_pool3d}.get(key, key) if _hashable(key) else key
        value = self.tensor_function(node, meta, key, args, kwargs, expect, done)
        if value is not None:
            return value
        if _hashable(key) and key in arith:
            return self.arithmetic(node, arith[key], args, done)
        if _hashable(key) and key in acts:
            x = self.tensor(node, args[0])
            return done(Activation(acts[key]), [x], x.layout)
        if key in (F.layer_norm, F.batch_norm, F.group_norm):
            return self.norm_function(node, key, args, kwargs, name, expect)
        if key in (F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d, F.adaptive_max_pool2d):
            return self.pool(node, key, args, kwargs, done)
        if key in (F.max_pool1d, F.avg_pool1d, F.adaptive_avg_pool1d):
            return self.pool1d(node, key, args, kwargs, done)
        if key in (F.max_pool3d, F.avg_pool3d, F.adaptive_avg_pool3d):
            return self.pool3d(node, key, args, kwargs, done)
        if key in (F.dropout, F.dropout1d, F.dropout2d) or _is_stochastic_depth(key):
            # torchvision's stochastic depth drops whole residual branches per sample while training: as
            # dropout, a mask multiplied in (the simulator models training)
            x = self.tensor(node, args[0])
            rate = args[1] if len(args) > 1 else kwargs.get("p", 0.5)
            return done(Dropout(float(rate)), [x], x.layout)
        if method in ("expand", "expand_as"):
            return self.expand(node, args, expect, done)
        if key in (F.unfold, F.fold):   # im2col and back (TNT's pixel patches, VOLO's outlook attention)
            names = ("input", "output_size", "kernel_size", "dilation", "padding", "stride") if key is F.fold else \
                ("input", "kernel_size", "dilation", "padding", "stride")
            given = dict(zip(names, args), **kwargs)
            settings = {k: _pair(given.get(k, d)) for k, d in (("kernel_size", 1), ("dilation", 1), ("padding", 0),
                                                                ("stride", 1))}
            common = dict(kernel=settings["kernel_size"], stride=settings["stride"], padding=settings["padding"],
                          dilation=settings["dilation"])
            if key is F.unfold:
                return done(Unfold(**common), [self.tensor(node, given["input"], NCHW)], PLAIN)
            _, c, h, w = expect
            return done(Unfold(**common, fold=True, size=(h, w, c)), [self.tensor(node, given["input"], PLAIN)], NCHW)
        if key in (torch.addcmul, "addcmul"):   # input + value * t1 * t2 (ResMLP's affine): two operations
            given = dict(zip(("input", "tensor1", "tensor2"), args), **kwargs)
            ts = [self.tensor(node, given[k]) for k in ("input", "tensor1", "tensor2")]
            layout = SHARED if all(t.layout == SHARED for t in ts) else PLAIN
            ts = [self.as_layout(node, t, PLAIN) for t in ts]
            product = self.add(node, f"{name}:mul", Elementwise("mul"), ts[1:], layout, None)
            return done(Elementwise("add"), [ts[0], product], layout)
        if key in (torch.roll, "roll"):   # a shifted copy (Swin's shifted windows)
            dims = args[2] if len(args) > 2 else kwargs.get("dims")
            if dims is None:
                raise self.fail(node, "roll over the flattened tensor (no dims) moves values across the batch")
            return self.reordered_copy(node, args[0], dims, done)
        if key in (torch.flip, "flip"):   # a reversed copy (a causal convolution's taps in Inkling's order)
            return self.reordered_copy(node, args[0], args[1] if len(args) > 1 else kwargs.get("dims"), done)
        if method == "unfold" and len(args) == 4 and expect is not None:
            # x.unfold(dim, size, step): the windows along dim as a new last axis (a short convolution written
            # as windows times weights); torch's view is copied by what reads it: counted as the copy here
            x = self.as_layout(node, self.tensor(node, args[0]), PLAIN)
            self.axis(node, x, args[1])   # rejects the batch dimension
            ours = self.shapes[x.layer]
            one = self.add(node, f"{name}:one", Reshape(ours + (1,)), [x], PLAIN, None)
            return done(Gather(self.per_sample(node, expect, PLAIN)), [one], PLAIN)
        if key in ("repeat", "repeat_interleave", torch.repeat_interleave):
            x = self.tensor(node, args[0])
            if x.layout == SHARED and key == "repeat" and expect is not None and len(expect) == len(x.torch_shape) \
                    and int(x.torch_shape[0]) == 1 and int(expect[0]) == self.batch != 1:
                # a tensor of parameters copied for every sample (WavLM's relative position bias, one per head,
                # repeated to the batch)
                return self.spread_to_batch(node, x, tuple(int(d) for d in x.torch_shape), expect)
            copies = tuple(self.concrete(node, args[1:])) if key == "repeat" and x.layout == SHARED else ()
            copies = tuple(copies[0]) if len(copies) == 1 and isinstance(copies[0], (tuple, list)) else copies
            if x.layout == SHARED and expect is not None and len(expect) == len(x.torch_shape) and copies and \
                    copies[0] == self.batch != 1 and all(c == 1 for c in copies[1:]) and \
                    int(expect[0]) == self.batch * int(x.torch_shape[0]):
                # a tensor of parameters with a row per head repeated for every sample, as rows merging the batch
                # with the heads (DeBERTa's and SEW-D's relative position keys beside queries of batch x heads)
                heads = int(x.torch_shape[0])
                spread = self.spread_to_batch(node, x, (1,) + tuple(int(d) for d in x.torch_shape),
                                              (self.batch,) + tuple(int(d) for d in x.torch_shape))
                return _Merged(spread, (self.batch, heads))
            if x.layout == SHARED:
                return done(Repeat(self.per_sample(node, expect, SHARED) or (1,)), [x], SHARED)
            rows = self.interleaved_rows(node, key, x, args, kwargs, expect)
            return rows if rows is not None else self.repeat(node, x, expect, done)
        if key in (F.prelu, torch.prelu):
            # max(0, x) + a * min(0, x): a leaky ReLU whose slopes are learned (the weight, a parameter layer of
            # its own, is counted there)
            x = self.tensor(node, args[0])
            return done(Activation("leaky_relu"), [x], x.layout)
        if key in (F.pixel_shuffle, F.pixel_unshuffle, torch.pixel_shuffle, torch.pixel_unshuffle):
            x = self.tensor(node, args[0], NCHW)
            factor = args[1] if len(args) > 1 else kwargs.get("upscale_factor", kwargs.get("downscale_factor"))
            inverse = key in (F.pixel_unshuffle, torch.pixel_unshuffle)
            return done(PixelShuffle(int(factor), inverse), [x], NCHW)
        if key is F.pad:
            return self.pad(node, args, kwargs, done)
        if key in (torch.cat, torch.concat, torch.concatenate, "cat", "concat", "concatenate"):
            tensors = args[0] if args else kwargs.get("tensors")
            dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
            # an empty constant adds nothing (Hugging Face's key-value cache starts as torch.tensor([]))
            if hasattr(tensors, "op") and isinstance(self.env.get(tensors), _Pieces):   # torch.cat(chunks[1:])
                return self.pieces_joined(node, self.env[tensors], dim, done)
            tensors = [a for a in tensors if not (isinstance(self.env.get(a), _Const) and self.env[a].shape is not None
                                                  and 0 in self.env[a].shape)]
            if tensors and all(isinstance(self.env.get(a), _Other) for a in tensors):   # PhiMoE's two maxima
                return _Other(f"the value of {node.name}", indices=all(self.env[a].indices for a in tensors))
            if len(tensors) == 1:
                return self.tensor(node, tensors[0])
            ts = [self.tensor(node, a) for a in tensors]
            if all(t.layout == SHARED for t in ts):
                ts, dim = self.shared_from(node, ts, dim)
            layout = NCHW if all(t.layout == NCHW for t in ts) else PLAIN
            ts = [self.as_layout(node, t, layout) for t in ts]
            return done(Concat(axis=self.axis(node, ts[0], dim)), ts, layout)
        if key in (torch.flatten, "flatten"):
            x = self.tensor(node, args[0])
            start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
            end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
            return self.flatten(node, x, start, end, name, done)
        if key in ("view", "reshape", torch.reshape, "unflatten", torch.unflatten, "view_as", "reshape_as"):
            x = self.tensor(node, args[0])
            merged = self.merging(node, x, expect)
            if merged is not None:
                return merged
            if x.layout == SHARED:   # a parameter's (or a constant's) view
                return done(Reshape(self.per_sample(node, expect, SHARED) or (1,)), [x], SHARED)
            return done(Reshape(self.per_sample(node, expect, PLAIN)), [x], PLAIN)
        if key == "contiguous":
            return self.tensor(node, args[0])
        if key is F.interpolate:   # nn.Upsample too: its output size is the traced one
            mode = args[3] if len(args) > 3 else kwargs.get("mode", "nearest")
            mode = {"nearest-exact": "nearest"}.get(mode, mode)
            if mode not in UPSAMPLE_FLOPS:
                raise self.fail(node, f"interpolate mode {mode!r} is not supported (nearest, bilinear and bicubic "
                                      "are)")
            x = self.tensor(node, args[0], NCHW)
            if len(x.torch_shape) != 4 or expect is None or len(expect) != 4:
                raise self.fail(node, "interpolate of other tensors than images (N, C, H, W) is not supported")
            size = (int(expect[2]), int(expect[3]))
            if x.layout == SHARED:   # a parameter resized (PVT's position embeddings for another image size)
                return self.resized_parameter(node, x, size, mode, expect)
            return done(Upsample(size, mode), [x], NCHW)
        if key in (torch.fft.fft, torch.fft.ifft, torch.fft.fft2, torch.fft.ifft2, torch.fft.fftn, torch.fft.ifftn):
            return self.fourier(node, key, args, kwargs, expect, done)
        if key is getattr(F, "scaled_dot_product_attention", None):
            return self.sdpa(node, args, kwargs, name, expect, done)
        if key in (torch.matmul, operator.matmul, torch.bmm, "matmul", "bmm", torch.mm, "mm"):
            a, b = (self.tensor(node, x, PLAIN) for x in args[:2])
            layer = self.weight_product(node, a, b, False, None, expect) if key is not torch.bmm else None
            if layer is not None:   # x @ self.W: nn.Linear's layer (torch_weights.py)
                return layer
            return done(MatMul(), [a, b], PLAIN if PLAIN in (a.layout, b.layout) else SHARED)
        if key in (F.glu, "glu"):   # a gated linear unit: the first half times the sigmoid of the second
            x = self.as_layout(node, self.tensor(node, args[0]), PLAIN)
            axis = self.axis(node, x, args[1] if len(args) > 1 else kwargs.get("dim", -1))
            half = self.shapes[x.layer][axis] // 2
            value = self.add(node, f"{name}:value", Slice(axis, 0, half), [x], PLAIN, None)
            gate = self.add(node, f"{name}:gate", Slice(axis, half, 2 * half), [x], PLAIN, None)
            gate = self.add(node, f"{name}:sigmoid", Activation("sigmoid"), [gate], PLAIN, None)
            return done(Elementwise("mul"), [value, gate], PLAIN)
        if key is torch.linalg.solve_triangular:   # A X = B, A triangular (Gated DeltaNet's chunked delta rule)
            given = dict(zip(("A", "B"), args), **kwargs)
            if not given.get("left", True):
                raise self.fail(node, "solve_triangular with left=False (X A = B) is not supported")
            a, b = (self.tensor(node, given[x], PLAIN) for x in ("A", "B"))
            return done(TriangularSolve(), [a, b], PLAIN if PLAIN in (a.layout, b.layout) else SHARED)
        if key in (F.softmax, torch.softmax, "softmax", F.log_softmax, torch.log_softmax, "log_softmax"):
            x = self.tensor(node, args[0])
            dim = args[1] if len(args) > 1 else kwargs.get("dim")
            if dim is None:
                raise self.fail(node, "softmax needs an explicit dim")
            return self.softmax(node, x, dim, name, done)
        if key in ("t", torch.t):   # x.t(): the transpose of a matrix (of a vector or scalar: itself)
            x = self.tensor(node, args[0])
            if len(x.torch_shape) < 2:
                return x
            if len(x.torch_shape) > 2:
                raise self.fail(node, f"t() expects a tensor of at most 2 dimensions, got {len(x.torch_shape)}")
            return self.transposed(node, x, [1, 0], expect, done)
        swaps = ("transpose", torch.transpose, "swapaxes", torch.swapaxes, "swapdims", torch.swapdims)
        if key in swaps + ("permute", torch.permute):
            rows = self.env.get(args[0])
            dims = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
            if isinstance(rows, _Merged) and key in ("permute", torch.permute) and dims and dims[0] != 0 \
                    and not node.meta.get("merged_permute"):
                return self.moved_rows(node, rows, dims)   # the rows moved (timm's Swin qkv.permute(2, 0, ...))
            x = self.tensor(node, args[0])
            rank = len(x.torch_shape)
            if key in swaps:
                d0, d1 = (a % rank for a in args[1:3])
                perm = list(range(rank))
                perm[d0], perm[d1] = perm[d1], perm[d0]
            else:
                perm = [d % rank for d in dims]
                if node.meta.get("merged_permute"):   # of merged rows: the merged axes stay in front
                    perm = list(range(rank - len(perm))) + perm
            return self.transposed(node, x, perm, expect, done)
        if key in (torch.mean, "mean"):
            if isinstance(self.env.get(args[0]), _Stacked):   # the mean of stacked tensors (checked at the stack)
                return self.stacked_sum(node, self.env[args[0]], True, done)
            x = self.tensor(node, args[0])
            dims = args[1] if len(args) > 1 else kwargs.get("dim")
            if dims is None:
                raise self.fail(node, "a mean over every dimension mixes the batch; give dim")
            dims = [dims] if isinstance(dims, int) else list(dims)
            keep = bool(args[2] if len(args) > 2 else kwargs.get("keepdim", False))
            if not keep:  # the remaining axes keep PyTorch's order
                x = self.as_layout(node, x, PLAIN)
            axes = tuple(self.axis(node, x, d) for d in dims)
            return done(Mean(axes, keep), [x], x.layout)
        what = key if isinstance(key, str) else getattr(key, "__name__", repr(key))
        if key == "copy_" and len(args) > 1:   # y.copy_(z): y holds z's values from here on (threaded through)
            y, z = self.tensor(node, args[0]), self.tensor(node, args[1])
            return z if tuple(z.torch_shape) == tuple(y.torch_shape) else self.arithmetic(node, "add", args[:2], done)
        base = _out_of_place(node, what)
        if base is not None:   # y.mul_(2), torch.relu_(y): the work of y.mul(2), read from here on as y
            node.target = base
            return self.call_function(node, meta)
        raise self.fail(node, f"unsupported operation '{what}'; write it with the operations docs/simulator.md "
                              "lists for from_torch, or import the model without it")

    def arithmetic(self, node, fn: str, args, done):
        """Tensors are the inputs; scalars are constants of the operation."""
        tensors = [a for a in args if hasattr(a, "op") and isinstance(self.env.get(a), (_Tensor, _Const, _Merged))]
        for a in args:
            if hasattr(a, "op") and isinstance(self.env.get(a), (_Multi, _Moved)):
                self.tensor(node, a)  # raises the right message
        if not tensors:
            return _Other(f"the value of {node.name}")
        ts = [self.tensor(node, a) for a in tensors]
        batched = [t for t in ts if t.layout != SHARED]
        if not batched:
            layout = SHARED
        elif all(t.layout == NCHW for t in ts):
            layout = NCHW
        else:
            layout = PLAIN
        ts = [self.as_layout(node, t, layout) for t in ts] if layout != SHARED else ts
        return done(Elementwise(fn), ts, layout)

    def getitem(self, node, args, meta, done):
        source, index = args
        value = self.env.get(source) if hasattr(source, "op") else None
        if isinstance(value, _Multi):
            if index == 0 or (index == 1 and value.target == "LSTMCell"):   # a cell's c: its step's layer
                return value.first
            if index == 1 and value.rnn is not None:
                return _State(value, "hc" if value.rnn[0] == "lstm" else "h")
            return _Other(f"element {index} of the {value.target} output",
                          indices=index == 1 and value.target in ("topk", "max"))
        if isinstance(value, _State) and isinstance(index, int):
            if value.part == "hc":
                return _State(value.source, "hc"[index])
            if value.part == "h":
                return self.final_state(node, value.source, index, done)
        if isinstance(value, _Moved) and isinstance(index, int):
            return self.pick(node, value, index, done)
        if isinstance(value, _Unbound) and isinstance(index, int):
            if isinstance(value.source, _Moved):
                return self.pick(node, value.source, index, done)
            x = self.as_layout(node, value.source, PLAIN)
            axis = self.axis(node, x, value.dim)
            done = self.rows_done(node, value.prefix, meta) if value.prefix is not None else done
            return done(Select(axis, index % self.shapes[x.layer][axis]), [x], PLAIN)
        if isinstance(value, _Split) and isinstance(index, slice) and value.prefix is None:
            pieces = []
            for i in range(len(value.sizes))[index]:
                shape = list(value.source.torch_shape)
                shape[value.dim] = value.sizes[i]
                pieces.append(self.add(node, f"{node.name}:{i}", self.piece(node, value, i), [value.source],
                                       value.source.layout, tuple(shape)))
            return _Pieces(tuple(pieces))
        if isinstance(value, _Pieces) and isinstance(index, int):
            return value.tensors[index]
        if isinstance(value, _Split) and isinstance(index, int):
            done = self.rows_done(node, value.prefix, meta) if value.prefix is not None else done
            return done(self.piece(node, value, index % len(value.sizes)), [value.source], value.source.layout)
        if isinstance(value, _Tensor):
            rows = self.masked_rows(node, value, index, meta)
            return rows if rows is not None else self.index(node, value, index, tuple(meta.shape), done)
        if isinstance(value, _Merged):   # rows merging the batch with other axes, indexed past the rows
            items = list(index) if isinstance(index, tuple) else [index]
            if not items or items[0] != slice(None) or Ellipsis in items:
                raise self.fail(node, "indexing rows that merge the batch with other axes is not supported")
            return self.index(node, value.source, (slice(None),) * len(value.prefix) + tuple(items[1:]),
                              tuple(meta.shape), done)
        return _Other(f"the value of {node.name}")

    def piece(self, node, split: _Split, i: int) -> Slice:
        """The slice that is piece i of a split."""
        start = sum(split.sizes[:i])
        return Slice(self.axis(node, split.source, split.dim), start, start + split.sizes[i])

    def reordered_copy(self, node, x_arg, dims, done):
        """A copy whose elements are moved along axes after the batch (roll, flip): the work of a transpose."""
        x = self.as_layout(node, self.tensor(node, x_arg), PLAIN)
        for d in (dims if isinstance(dims, (tuple, list)) else (dims,)):
            self.axis(node, x, d)   # rejects the batch dimension
        return done(Transpose(tuple(range(len(self.shapes[x.layer])))), [x], PLAIN)

    def pieces_joined(self, node, pieces: _Pieces, dim: int, done):
        """torch.cat of some pieces of a split: a concatenation of their layers."""
        ts = [self.as_layout(node, t, PLAIN) for t in pieces.tensors]
        if len(ts) == 1:
            return ts[0]
        return done(Concat(axis=self.axis(node, ts[0], dim)), ts, PLAIN)

    def final_state(self, node, rnn: _Multi, i: int, done):
        """h_n[i] of an RNN's last layer: the forward direction's is the output's last step, the backward
        direction's its first step (the second half of the features)."""
        _, layers, dirs, hidden = rnn.rnn
        i %= layers * dirs
        if i < (layers - 1) * dirs:
            raise self.fail(node, f"h_n[{i}] is the state of a layer before the last of {rnn.target}: only the last "
                                  "layer's (h_n[-1], and h_n[-2] when bidirectional) are supported")
        backward = dirs == 2 and i % 2 == 1
        x = rnn.first
        if dirs == 1:
            return done(Select(0, -1 % self.shapes[x.layer][0]), [x], PLAIN)
        step = self.add(node, f"{node.name}:step", Select(0, 0 if backward else self.shapes[x.layer][0] - 1), [x],
                        PLAIN, None)
        return done(Slice(0, hidden if backward else 0, 2 * hidden if backward else hidden), [step], PLAIN)

    def merging(self, node, x: _Tensor, expect):
        """`x` viewed with the batch merged into the axes after it (x.view(-1, C)), or None."""
        if x.layout == SHARED or expect is None or not expect or expect[0] == self.batch:
            return None
        shape, rest = tuple(int(d) for d in x.torch_shape), tuple(int(d) for d in expect[1:])
        rows = int(expect[0])
        if prod(shape) // rows != prod(rest) or prod(shape) % rows:
            return None
        for k in range(1, len(shape)):
            before = prod(shape[:k])
            if rows % before or shape[k] % (rows // before) or rows // before == 1:
                continue
            # the rows end at the end of axis k, or inside it (MobileViT's B * C * patches_h splits H)
            prefix = shape[:k] + (rows // before,)
            x = self.as_layout(node, x, PLAIN)
            if prefix != shape[:k + 1] or shape[k + 1:] != rest:   # the axes after the rows viewed too
                x = self.add(node, f"{node.name}:rows", Reshape(prefix[1:] + rest), [x], PLAIN, prefix + rest)
            return _Merged(x, prefix)
        return None

    def rows_done(self, node, prefix: tuple, meta):
        """`done` for a piece of merged rows (a split's, an unbind's, a moved permute's), which is merged rows
        itself: its layer checked against torch's shape with the rows spelled as the axes they merge."""
        expect = tuple(prefix) + tuple(int(d) for d in meta.shape[1:])

        def done(op, parents, layout):
            return _Merged(self.add(node, node.name, op, parents, layout, expect), prefix)
        return done

    def moved_rows(self, node, rows: _Merged, dims):
        """A permute of merged rows that moves them (qkv.permute(2, 0, 3, 1, 4) on windows' rows): kept unmade
        as the permute of the tensor itself, the rows' axis standing for the merged ones."""
        k = len(rows.prefix)
        rank = len(rows.source.torch_shape) - k + 1
        perm = []
        for d in dims:
            d %= rank
            perm += list(range(k)) if d == 0 else [d + k - 1]
        return _Moved(rows.source, tuple(perm), rows.prefix)

    def pick(self, node, moved: _Moved, i: int, done):
        """Element i of a permute that moved the batch (qkv.permute(2, 0, 3, 1, 4)[i]): the position i of the
        source's axis that came first, then the rest of the permutation, which must put the batch first again.
        Of moved merged rows, the piece is merged rows again."""
        if moved.prefix is not None:
            done = self.rows_done(node, moved.prefix, node.meta["tensor_meta"])
        x = self.as_layout(node, moved.source, PLAIN)
        first = moved.perm[0]
        axis = self.axis(node, x, first)
        rest = [p - (p > first) for p in moved.perm[1:]]   # torch axes of the selected tensor
        k = len(moved.prefix) if moved.prefix is not None else 1
        if rest[:k] != list(range(k)):
            raise self.fail(node, "moving the batch dimension is not supported")
        perm = tuple(r - 1 for r in rest[1:])
        select = Select(axis, i % self.shapes[x.layer][axis])
        if perm == tuple(range(len(perm))):
            return done(select, [x], PLAIN)
        picked = self.add(node, f"{node.name}:select", select, [x], PLAIN, None)
        return done(Transpose(perm), [picked], PLAIN)

    def sdpa(self, node, args, kwargs, name: str, expect, done):
        """F.scaled_dot_product_attention(q, k, v) as the layers it computes: the scores Q K^T, their scaling
        (and the causal mask, or an attn_mask, each one addition per score), softmax, dropout when training
        asks for it, P V; with enable_gqa, fewer key and value heads repeated to the query's first."""
        names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale")
        given = dict(zip(names, args), **kwargs)
        mask = given.get("attn_mask")
        if mask is not None:
            mask = self.tensor(node, mask)   # a buffer, a parameter or a tensor of the network
        q, k, v = (self.tensor(node, given.get(n), PLAIN) for n in names[:3])
        if given.get("enable_gqa") and len(q.torch_shape) >= 3 and q.torch_shape[-3] != k.torch_shape[-3]:
            # grouped-query attention: each key and value head serves several query heads; costed as torch's
            # reference computes it, the heads repeated (repeat_interleave) before the products
            k, v = (self.add(node, f"{name}:{what}_heads", Repeat(self.shapes[t.layer][:-3] + (
                        int(q.torch_shape[-3]),) + self.shapes[t.layer][-2:]), [t], t.layout,
                        tuple(t.torch_shape[:-3]) + (int(q.torch_shape[-3]),) + tuple(t.torch_shape[-2:]))
                    for what, t in (("k", k), ("v", v)))
        scores = tuple(q.torch_shape[:-1]) + (int(k.torch_shape[-2]),)
        s = self.add(node, f"{name}:scores", MatMul(transpose_b=True), [q, k], PLAIN, scores)
        s = self.add(node, f"{name}:scale", Elementwise("mul"), [s], PLAIN, scores)
        if given.get("is_causal"):
            s = self.add(node, f"{name}:mask", Elementwise("add"), [s], PLAIN, scores)
        if mask is not None:
            s = self.add(node, f"{name}:attn_mask", Elementwise("add"), [s, mask], PLAIN, scores)
        p = self.add(node, f"{name}:probs", Softmax(), [s], PLAIN, scores)
        rate = float(given.get("dropout_p") or 0.0)
        if rate > 0:
            p = self.add(node, f"{name}:dropout", Dropout(rate), [p], PLAIN, scores)
        return done(MatMul(), [p, v], PLAIN)

    def pool(self, node, fn, args, kwargs, done):
        """F.max_pool2d / F.avg_pool2d / F.adaptive_avg_pool2d / F.adaptive_max_pool2d, as their modules."""
        import torch.nn.functional as F
        x = self.tensor(node, args[0], NCHW)
        if fn is F.adaptive_avg_pool2d:
            size = args[1] if len(args) > 1 else kwargs["output_size"]
            size = _pair(size) if not isinstance(size, (tuple, list)) else tuple(size)
            _, _, h, w = x.torch_shape
            return done(AdaptiveAvgPool2d((size[0] or h, size[1] or w)), [x], NCHW)
        if fn is F.adaptive_max_pool2d:
            size = args[1] if len(args) > 1 else kwargs["output_size"]
            size = _pair(size) if not isinstance(size, (tuple, list)) else tuple(size)
            _, _, h, w = x.torch_shape
            oh, ow = size[0] or h, size[1] or w
            if h % oh or w % ow or args[2:] or kwargs.get("return_indices"):
                raise self.fail(node, f"adaptive max pooling of {h}x{w} to {oh}x{ow}: only sizes that divide the "
                                      "input, without return_indices, are supported")
            window = (h // oh, w // ow)   # then it is a plain max pooling
            return done(Pool2d("max", window, window, (0, 0)), [x], NCHW)
        given = self.pool_arguments(node, fn is F.max_pool2d, "max_pool2d", args, kwargs)
        if fn is F.avg_pool2d and given.get("divisor_override"):
            raise self.fail(node, "avg_pool2d with divisor_override is not supported")
        kernel = _pair(given["kernel_size"])
        stride = _pair(given.get("stride") or kernel)
        op = Pool2d("max" if fn is F.max_pool2d else "avg", kernel, stride, _pair(given.get("padding", 0)),
                    ceil_mode=bool(given.get("ceil_mode", False)))
        return done(op, [x], NCHW)

    def pool_arguments(self, node, is_max: bool, what: str, args, kwargs) -> dict:
        """torch's max / average pooling arguments by name; a max pooling with indices or dilation fails."""
        names = (("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
                 if is_max else ("input", "kernel_size", "stride", "padding", "ceil_mode"))
        given = dict(zip(names, args), **kwargs)
        dilation = given.get("dilation", 1)
        dilations = dilation if isinstance(dilation, (tuple, list)) else (dilation,)
        if given.get("return_indices") or any(int(d) != 1 for d in dilations):
            raise self.fail(node, f"{what} with return_indices or dilation is not supported")
        return given

    def pool1d(self, node, fn, args, kwargs, done):
        """F.max_pool1d / F.avg_pool1d / F.adaptive_avg_pool1d (and their modules) over (N, C, L)."""
        import torch.nn.functional as F
        x = self.tensor(node, args[0], PLAIN)
        if len(x.torch_shape) != 3:
            raise self.fail(node, f"1-D pooling of a tensor of shape {tuple(x.torch_shape)}: only (N, C, L) is "
                                  "supported")
        if fn is F.adaptive_avg_pool1d:
            size = args[1] if len(args) > 1 else kwargs["output_size"]
            size = size[0] if isinstance(size, (tuple, list)) else size
            return done(AdaptiveAvgPool1d(int(size or x.torch_shape[2])), [x], PLAIN)
        given = self.pool_arguments(node, fn is F.max_pool1d, "max_pool1d", args, kwargs)
        one = (lambda v: int(v[0]) if isinstance(v, (tuple, list)) else int(v))
        kernel = one(given["kernel_size"])
        stride = one(given.get("stride") or kernel)
        op = Pool1d("max" if fn is F.max_pool1d else "avg", kernel, stride, one(given.get("padding", 0)),
                    ceil_mode=bool(given.get("ceil_mode", False)))
        return done(op, [x], PLAIN)

    def pool3d(self, node, fn, args, kwargs, done):
        """F.max_pool3d / F.avg_pool3d / F.adaptive_avg_pool3d (and their modules) over (N, C, D, H, W)."""
        import torch.nn.functional as F
        x = self.tensor(node, args[0], PLAIN)
        if len(x.torch_shape) != 5:
            raise self.fail(node, f"3-D pooling of a tensor of shape {tuple(x.torch_shape)}: only (N, C, D, H, W) is "
                                  "supported")
        volume = tuple(x.torch_shape[2:])
        if fn is F.adaptive_avg_pool3d:
            size = args[1] if len(args) > 1 else kwargs["output_size"]
            size = (size,) * 3 if not isinstance(size, (tuple, list)) else tuple(size)
            return done(AdaptiveAvgPool3d(tuple(s or v for s, v in zip(size, volume))), [x], PLAIN)
        given = self.pool_arguments(node, fn is F.max_pool3d, "max_pool3d", args, kwargs)
        if fn is F.avg_pool3d and given.get("divisor_override"):
            raise self.fail(node, "avg_pool3d with divisor_override is not supported")
        kernel = given["kernel_size"]
        op = Pool3d("max" if fn is F.max_pool3d else "avg", kernel, given.get("stride") or kernel,
                    given.get("padding", 0), ceil_mode=bool(given.get("ceil_mode", False)))
        return done(op, [x], PLAIN)

    def pad(self, node, args, kwargs, done):
        """F.pad (nn.ZeroPad2d, ConstantPad*, ReflectionPad*, ...): a copy into the larger tensor, whatever
        the mode. torch's pairs run from the last dimension backwards."""
        x = self.tensor(node, args[0])
        spec = args[1] if len(args) > 1 else kwargs.get("pad")
        if isinstance(spec, (tuple, list)):   # sizes computed from x.size() (timm's Swin pads to whole windows)
            spec = [v.meta.get("value", v) if hasattr(v, "op") else v for v in spec]
        rank = len(x.torch_shape)
        if not isinstance(spec, (tuple, list)) or len(spec) % 2 or len(spec) // 2 > rank or \
                not all(isinstance(v, int) for v in spec):
            raise self.fail(node, f"pad {spec!r} is not a list of (before, after) pairs for a {rank}-D tensor")
        if x.layout == SHARED:
            raise self.fail(node, "padding a parameter tensor is not supported")
        pairs = [(0, 0)] * rank
        for i in range(len(spec) // 2):
            pairs[rank - 1 - i] = (int(spec[2 * i]), int(spec[2 * i + 1]))
        if pairs[0] != (0, 0):
            raise self.fail(node, "padding the batch dimension is not supported")
        order = list((2, 3, 1) if x.layout == NCHW else range(1, rank))   # torch's axes of our per-sample ones
        for axis, a in enumerate(order):   # a negative size crops (RWKV's time shift: ZeroPad2d((0, 0, 1, -1)))
            before, after = pairs[a]
            if before < 0 or after < 0:
                size = self.shapes[x.layer][axis]
                start, stop = max(-before, 0), size - max(-after, 0)
                if start >= stop:
                    raise self.fail(node, f"pad {spec!r} crops away every element of dimension {a}")
                x = self.add(node, f"{node.name}:crop{axis}", Slice(axis, start, stop), [x], x.layout, None)
                pairs[a] = (max(before, 0), max(after, 0))
        return done(Pad(tuple(pairs[a] for a in order)), [x], x.layout)

    def expand(self, node, args, expect, done):
        """A parameter expanded to the batch (a ViT's class token, ``token.expand(n, -1, -1)``): each sample
        reads it, as from a view. A tensor expanded only to be combined element-wise (squeeze-and-excitation's
        ``x * y.expand_as(x)``, a bias's ``bias.expand_as(residual)``) is what broadcasting reads: the tensor
        itself."""
        x = self.tensor(node, args[0])
        if node.users and all(_broadcasts(u) for u in node.users):   # a parameter too (GPT-NeoX-Japanese's bias)
            return x
        if x.layout != SHARED and expect is not None and len(expect) == len(x.torch_shape) and \
                expect[0] == self.batch:   # written to memory by what reads it (repeat_kv's reshape): a copy
            return self.repeat(node, x, expect, done)
        if x.layout != SHARED or expect is None or expect[0] != self.batch:
            raise self.fail(node, "only expanding a parameter to the batch (its first dimension) is supported")
        theirs, wanted = tuple(int(d) for d in x.torch_shape), tuple(int(d) for d in expect)
        theirs = (1,) * (len(wanted) - len(theirs)) + theirs   # axes added in front (CLIP's class_embedding
        # .expand(batch, 1, -1) of a vector), as broadcasting adds them
        if len(theirs) != len(wanted) or theirs[0] != 1 or any(a not in (b, 1) for a, b in zip(theirs, wanted)):
            raise self.fail(node, "only expanding a parameter's size-1 axes (its first to the batch) is supported")
        return self.spread_to_batch(node, x, theirs, expect)

    def spread_to_batch(self, node, x: _Tensor, theirs: tuple, expect):
        """A tensor of parameters (torch shape `theirs`, 1 first) given to every sample: copied once along any
        other axes it grows on (attention sinks, one logit per head, sinks.reshape(1, -1, 1, 1).expand(batch,
        -1, tokens, -1) beside the scores), then read by each sample."""
        wanted = tuple(int(d) for d in expect)
        if theirs[1:] != wanted[1:]:
            if self.shapes[x.layer] != theirs[1:]:
                x = self.add(node, f"{node.name}:full", Reshape(theirs[1:]), [x], SHARED, None)
            x = self.add(node, f"{node.name}:spread", Repeat(wanted[1:]), [x], SHARED, None)
        return self.add(node, node.name, Reshape(self.per_sample(node, expect, PLAIN), spread=True), [x], PLAIN,
                        expect, to_batch=True)

    def interleaved_rows(self, node, key, x: _Tensor, args, kwargs, expect):
        """``x.repeat_interleave(r, dim=0)``: each sample's tensor copied r times, next to each other (GCViT's
        global query, one per window of its image): rows merging the batch with the r copies, or None."""
        if key == "repeat":
            return None
        given = dict(zip(("input", "repeats", "dim"), args), **kwargs)
        r = self.concrete(node, given.get("repeats"))
        if given.get("dim") != 0 or not isinstance(r, int) or r < 2 or expect is None or \
                int(expect[0]) != self.batch * r:
            return None
        x = self.as_layout(node, x, PLAIN)
        ours = self.shapes[x.layer]
        rest = tuple(int(d) for d in x.torch_shape[1:])
        one = self.add(node, f"{node.name}:one", Reshape((1,) + ours), [x], PLAIN, (self.batch, 1) + rest)
        copies = self.add(node, node.name, Repeat((r,) + ours), [one], PLAIN, (self.batch, r) + rest)
        return _Merged(copies, (self.batch, r))

    def repeat(self, node, x: _Tensor, expect, done):
        """A network tensor copied with axes repeated (``expand`` then ``reshape``, ``repeat``,
        ``repeat_interleave``: grouped-query attention's keys and values, one per query head); the batch is
        not repeated."""
        if expect is None or len(expect) != len(x.torch_shape) or expect[0] != self.batch:
            raise self.fail(node, "repeating the batch dimension (or adding axes) is not supported")
        x = self.as_layout(node, x, PLAIN)
        return done(Repeat(self.per_sample(node, expect, PLAIN)), [x], PLAIN)

    def softmax(self, node, x: _Tensor, dim: int, name: str, done):
        x = self.as_layout(node, x, PLAIN)
        self.axis(node, x, dim)   # any axis but the batch: the same work per element (SKNet's over its branches)
        return done(Softmax(), [x], PLAIN)

    def shared_from(self, node, ts: list, dim: int):
        """Parameters joined along `dim` where some have a size-1 axis there (PVT's class token's position
        beside the patches'), which their shapes drop: each viewed from `dim` on, joined along their first axis."""
        rank = len(ts[0].torch_shape)
        if not isinstance(dim, int) or not -rank <= dim < rank:
            return ts, dim   # refused where the axis is read
        k = dim % rank
        if not all(int(d) == 1 for t in ts for d in t.torch_shape[:k]) or all(self.lead(t) <= k for t in ts):
            return ts, dim
        out = []
        for t in ts:
            tail = tuple(int(d) for d in t.torch_shape[k:])
            if self.shapes[t.layer] != tail:
                view = self.add(node, f"{node.name}:from{k}", Reshape(tail), [t], SHARED, None)
                t = _Tensor(view.layer, SHARED, t.torch_shape)
            out.append(t)
        return out, k

    def attribute(self, node, arg, attr: str, expect, done):
        """A tensor's attribute that is a tensor: its real or imaginary part or its data (the same values as far
        as the work goes: FNet keeps the real part of its Fourier transform), or transposed (Falcon's
        input @ self.weight.T)."""
        if attr in ("real", "imag", "data"):
            return self.env[arg]
        x = self.tensor(node, arg)
        rank = len(x.torch_shape)
        perm = list(reversed(range(rank))) if attr == "T" else list(range(rank - 2)) + [rank - 1, rank - 2]
        return self.transposed(node, x, perm, expect, done)

    def transposed(self, node, x: _Tensor, perm: list, expect, done):
        """x with its torch axes in the order `perm` (permute, transpose, .T, .mT)."""
        rank = len(x.torch_shape)
        lead = self.lead(x)   # the axes before ours: the batch, or a parameter's leading size-1 axes
        if x.layout != SHARED and perm[0] != 0:
            return _Moved(x, tuple(perm))
        if x.layout == SHARED and sorted(perm[:lead]) != list(range(lead)):
            # a parameter's size-1 axes moved among its others (DeBERTa's q_bias[None, None, :] viewed as
            # heads and permuted): permuted at its full rank, then its leading size-1 axes dropped again
            full = tuple(int(d) for d in x.torch_shape)
            whole = self.add(node, f"{node.name}:full", Reshape(full), [x], SHARED, None)
            moved = self.add(node, f"{node.name}:moved", Transpose(tuple(perm)), [whole], SHARED, None)
            return done(Reshape(self.per_sample(node, expect, SHARED)), [moved], SHARED)
        if sorted(perm[:lead]) != list(range(lead)):
            raise self.fail(node, "moving the batch dimension is not supported")
        ours = [self.axis(node, x, perm[j]) for j in range(lead, rank)]
        return done(Transpose(tuple(ours)), [x], PLAIN if x.layout != SHARED else SHARED)

    def resized_parameter(self, node, x: _Tensor, size: tuple, mode: str, expect):
        """interpolate of a parameter (1, C, H, W), the same for every sample: the simulator's resizing works on
        (H, W, C), so the channels go last and back around it."""
        if int(x.torch_shape[0]) != 1 or len(self.shapes[x.layer]) != 3:
            raise self.fail(node, "interpolate of a parameter is supported for one image (1, C, H, W) only")
        c, h, w = (int(d) for d in x.torch_shape[1:])
        hwc = self.add(node, f"{node.name}:hwc", Transpose((1, 2, 0)), [x], SHARED, (h, w, c))
        resized = self.add(node, f"{node.name}:resize", Upsample(size, mode), [hwc], SHARED, size + (c,))
        return self.add(node, node.name, Transpose((2, 0, 1)), [resized], SHARED, expect)

    def flatten(self, node, x: _Tensor, start: int, end: int, name: str, done):
        rank = len(x.torch_shape)
        start, end = start % rank, end % rank
        if start == 0 and prod(int(d) for d in x.torch_shape[1:end + 1]) == 1:   # axes of one: a plain view
            x = self.as_layout(node, x, PLAIN)
            return done(Reshape(tuple(int(d) for d in x.torch_shape[end + 1:])), [x], PLAIN)
        if start == 0:   # the batch merged with the next axes: rows (LeViT's x.flatten(0, 1) for a BatchNorm1d)
            merged = self.merging(node, x, node.meta["tensor_meta"].shape) if end < rank - 1 else None
            if merged is None:
                raise self.fail(node, "flattening the batch dimension is not supported "
                                      "(use start_dim=1)")
            return merged
        if start == 1 and end == rank - 1:
            return done(Flatten(), [x], PLAIN)
        x = self.as_layout(node, x, PLAIN)
        shape = x.torch_shape
        out = shape[1:start] + (prod(shape[start:end + 1]),) + shape[end + 1:]
        return done(Reshape(out), [x], PLAIN)
