"""The torch.fx importer's function and method nodes (``call_function`` / ``call_method``): `FunctionNodes`
dispatches each by its target (see torch_fx.py for the list) and converts the element-wise ones (arithmetic,
activations, dropout, in-place forms) and the reductions (softmax, mean) itself; the other kinds are its mixins':
views and copies (torch_shapes.py), indexing and pieces (torch_indexing.py), products (torch_products.py) and
operations over positions, such as pooling and padding (torch_spatial.py). A mixin of the converter: it relies
on its ``tensor``, ``add``, ``axis``, ``as_layout``, ``per_sample``, ``fail`` and ``batch``."""
from __future__ import annotations

import operator

from simulator.ops import Activation, Dropout, Elementwise, Mean, Softmax, Slice

from .torch_concrete import assigned
from .torch_indexing import IndexFunctions
from .torch_nodes import (NCHW, PLAIN, SHARED, _Complex, _Const, _hashable, _is_stochastic_depth, _Merged, _Moved,
                          _Multi, _Other, _Split, _Stacked, _Tensor, _Unbound)
from .torch_products import ProductFunctions
from .torch_shapes import ShapeFunctions
from .torch_spatial import SpatialFunctions


# what a router does with its chosen positions before the experts read them: casts, views, masks (Zaya marks a
# dropped choice with masked_fill)
_ON_INDICES = {"to", "long", "int", "flatten", "reshape", "view", "masked_fill", "unsqueeze", "squeeze", "contiguous",
               "clone", "detach"}


def _out_of_place(node, name: str):
    """The out-of-place form of an in-place method or torch function (mul_ -> mul, torch.relu_ -> torch.relu),
    else None. What reads the tensor afterwards reads the call's result (torch_rewrites._thread_in_place), so the
    in-place form costs what the out-of-place one does, whichever of its forms the importer supports."""
    import torch
    if not name.endswith("_") or name.endswith("__") or name.startswith("_"):
        return None
    base = name[:-1]
    if node.op == "call_method":
        return base if hasattr(torch.Tensor, base) else None
    return getattr(torch, base, None) if getattr(torch, name, None) is node.target else None


class FunctionNodes(SpatialFunctions, ShapeFunctions, IndexFunctions, ProductFunctions):
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
                hasattr(meta, "shape") and isinstance(self.env.get(args[0]), (_Tensor, _Const, _Merged, _Moved)):
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
        if key in (torch.fft.fft, torch.fft.ifft, torch.fft.fft2, torch.fft.ifft2, torch.fft.fftn, torch.fft.ifftn):
            return self.fourier(node, key, args, kwargs, expect, done)
        # the other kinds, each None for a function not its own
        for convert in (self.elementwise_function, self.spatial_function, self.shape_function, self.product_function,
                        self.reduction_function):
            value = convert(node, key, method, args, kwargs, expect, done)
            if value is not None:
                return value
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

    def elementwise_function(self, node, key, method, args, kwargs, expect, done):
        """Dropout (and stochastic depth), addcmul, prelu and glu: element by element."""
        import torch
        import torch.nn.functional as F
        name = node.name
        if key in (F.dropout, F.dropout1d, F.dropout2d) or _is_stochastic_depth(key):
            # torchvision's stochastic depth drops whole residual branches per sample while training: as
            # dropout, a mask multiplied in (the simulator models training)
            x = self.tensor(node, args[0])
            rate = args[1] if len(args) > 1 else kwargs.get("p", 0.5)
            return done(Dropout(float(rate)), [x], x.layout)
        if key in (torch.addcmul, "addcmul"):   # input + value * t1 * t2 (ResMLP's affine): two operations
            given = dict(zip(("input", "tensor1", "tensor2"), args), **kwargs)
            ts = [self.tensor(node, given[k]) for k in ("input", "tensor1", "tensor2")]
            layout = SHARED if all(t.layout == SHARED for t in ts) else PLAIN
            ts = [self.as_layout(node, t, PLAIN) for t in ts]
            product = self.add(node, f"{name}:mul", Elementwise("mul"), ts[1:], layout, None)
            return done(Elementwise("add"), [ts[0], product], layout)
        if key in (F.prelu, torch.prelu):
            # max(0, x) + a * min(0, x): a leaky ReLU whose slopes are learned (the weight, a parameter layer of
            # its own, is counted there)
            x = self.tensor(node, args[0])
            return done(Activation("leaky_relu"), [x], x.layout)
        if key in (F.glu, "glu"):   # a gated linear unit: the first half times the sigmoid of the second
            x = self.as_layout(node, self.tensor(node, args[0]), PLAIN)
            axis = self.axis(node, x, args[1] if len(args) > 1 else kwargs.get("dim", -1))
            half = self.shapes[x.layer][axis] // 2
            value = self.add(node, f"{name}:value", Slice(axis, 0, half), [x], PLAIN, None)
            gate = self.add(node, f"{name}:gate", Slice(axis, half, 2 * half), [x], PLAIN, None)
            gate = self.add(node, f"{name}:sigmoid", Activation("sigmoid"), [gate], PLAIN, None)
            return done(Elementwise("mul"), [value, gate], PLAIN)
        return None

    def reduction_function(self, node, key, method, args, kwargs, expect, done):
        """softmax and log_softmax (along an axis), mean (over axes)."""
        import torch
        import torch.nn.functional as F
        name = node.name
        if key in (F.softmax, torch.softmax, "softmax", F.log_softmax, torch.log_softmax, "log_softmax"):
            x = self.tensor(node, args[0])
            dim = args[1] if len(args) > 1 else kwargs.get("dim")
            if dim is None:
                raise self.fail(node, "softmax needs an explicit dim")
            return self.softmax(node, x, dim, name, done)
        if key in (torch.mean, "mean"):
            if isinstance(self.env.get(args[0]), _Stacked):   # the mean of stacked tensors (checked at the stack)
                return self.stacked_sum(node, self.env[args[0]], True, done)
            x = self.tensor(node, args[0])
            dims = args[1] if len(args) > 1 else kwargs.get("dim")
            if dims is None:
                dims = self.every_dim(node, x, "a mean")
            dims = [dims] if isinstance(dims, int) else list(dims)
            keep = bool(args[2] if len(args) > 2 else kwargs.get("keepdim", False))
            if not keep:  # the remaining axes keep PyTorch's order
                x = self.as_layout(node, x, PLAIN)
            axes = tuple(self.axis(node, x, d) for d in dims)
            return done(Mean(axes, keep), [x], x.layout)
        return None

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

    def softmax(self, node, x: _Tensor, dim: int, name: str, done):
        x = self.as_layout(node, x, PLAIN)
        self.axis(node, x, dim)   # any axis but the batch: the same work per element (SKNet's over its branches)
        return done(Softmax(), [x], PLAIN)
