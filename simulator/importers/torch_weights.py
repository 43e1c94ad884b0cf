"""A parameter read in forward and multiplied by a network tensor: F.linear(x, self.weight, self.bias),
``x @ self.W``, torch.addmm(self.bias, x, self.weight) (Hugging Face's Conv1D), an nn.Linear subclass whose
forward calls ``super().forward(x)``.

Written as a matrix product of two tensors, the weight would be a tensor of every sample: read, kept for the
backward and given a gradient once per sample (a 4096x4096 layer cost 8.9 GB at batch 64, nn.Linear 0.27 GB).
It is the work of a `Linear` layer: so it becomes one, holding the weight (and the bias, when that is a
parameter too) as nn.Linear's layer does, and costs what nn.Linear costs."""
from __future__ import annotations

from simulator.ops import Elementwise, Linear, Parameter, Transpose

from .torch_nodes import PLAIN, SHARED, _Tensor


class WeightNodes:
    """The converter's products of a network tensor and a parameter (a mixin of torch_converter._Converter)."""

    def weight_product(self, node, x: _Tensor, w: _Tensor, transposed: bool, bias: _Tensor | None, expect):
        """x @ W (W as (in, out)) or, `transposed`, x @ W.T (W as (out, in), F.linear's): a `Linear` layer, or
        None when W is not a 2-D trainable parameter read as it is (or transposed: W.T, W.t(), W.transpose(0, 1),
        W.mT), or x is not a tensor of every sample."""
        w, transposed, dropped = self.untransposed(w, transposed)
        owner = self.parameter_layer(w)
        if owner is None or x.layout == SHARED or len(w.torch_shape) != 2 or \
                int(w.torch_shape[0 if transposed else 1]) != (expect[-1] if expect else None):
            return None
        if dropped is not None:   # the parameter read transposed: the transpose's copy is no layer of its own
            self.layers.remove(dropped)
        out = int(w.torch_shape[0 if transposed else 1])

        def done(op, parents, layout, shares=None):
            return self.add(node, node.name, op, parents, layout, expect, shares=shares)
        x = self.as_layout(node, x, PLAIN)
        b_owner = self.parameter_layer(bias) if bias is not None else None
        with_bias = b_owner is not None and tuple(self.shapes[b_owner.name]) == (out,) and \
            self.adoptable(b_owner) and self.adoptable(owner)
        if self.adoptable(owner) and (bias is None or with_bias):
            # the weight's layer (and the bias's) is read by nothing else yet: the product's layer holds them,
            # and what reads them later shares its weights
            y = done(Linear(out, bias=with_bias), [x], PLAIN)
            for taken in (owner, b_owner if with_bias else None):
                if taken is not None:
                    self.adopt(taken, y.layer)
            return y
        # read elsewhere too (a tied embedding's table as the output projection): the layer shares the weights
        shares = owner.shares_weights_with or owner.name
        if bias is None:
            return done(Linear(out, bias=False), [x], PLAIN, shares=shares)
        y = self.add(node, f"{node.name}:linear", Linear(out, bias=False), [x], PLAIN, None, shares=shares)
        return done(Elementwise("add"), [y, bias], PLAIN)

    def untransposed(self, w, transposed: bool):
        """(the parameter, `transposed` flipped, the transpose layer to drop) when `w` is a 2-D trainable
        parameter's transpose that nothing else reads, else (w, transposed, None)."""
        if not isinstance(w, _Tensor) or w.layout != SHARED or len(w.torch_shape) != 2:
            return w, transposed, None
        layer = next((l for l in reversed(self.layers) if l.name == w.layer), None)
        if layer is None or not isinstance(layer.op, Transpose) or tuple(layer.op.perm) != (1, 0) or \
                len(layer.parents) != 1 or not self.adoptable(layer):
            return w, transposed, None
        source = _Tensor(layer.parents[0], SHARED, tuple(reversed(w.torch_shape)))
        if self.parameter_layer(source) is None:
            return w, transposed, None
        return source, not transposed, layer

    def parameter_layer(self, t):
        """The `parameter` layer of a trainable parameter that `t` is, as forward read it, else None."""
        if not isinstance(t, _Tensor) or t.layout != SHARED or t.layer not in self.attr_params:
            return None
        layer = next((l for l in reversed(self.layers) if l.name == t.layer), None)
        if layer is None or not isinstance(layer.op, Parameter) or not layer.op.trainable:
            return None
        return layer

    def adoptable(self, layer) -> bool:
        """A parameter layer that owns its weights and that no layer reads or shares yet (nor will: its fx node
        has this one reader)."""
        read_by = [n for n, v in self.env.items() if isinstance(v, _Tensor) and v.layer == layer.name]
        return layer.shares_weights_with is None and all(len(getattr(n, "users", ())) == 1 for n in read_by) and \
            not any(layer.name in l.parents or l.shares_weights_with == layer.name for l in self.layers)

    def adopt(self, layer, by: str) -> None:
        """`by` holds the weights of parameter layer `layer`, which goes: a later read of the same tensor shares
        `by`'s weights."""
        self.layers.remove(layer)
        for key, value in list(self.owner.items()):
            if value == layer.name:
                self.owner[key] = by
        self.attr_params.pop(layer.name, None)
