"""Products of tensors for the torch.fx importer: matmul / @ / bmm / mm (x @ self.W: a linear layer holding W,
torch_weights.py), scaled_dot_product_attention written out as the layers it computes, and
torch.linalg.solve_triangular. A mixin of the converter, beside FunctionNodes (torch_functions.py), which
dispatches to it."""
from __future__ import annotations

import operator

from simulator.ops import Dropout, Elementwise, MatMul, Repeat, Softmax, TriangularSolve

from .torch_nodes import PLAIN, SHARED


class ProductFunctions:
    """The converter's matrix products, attention and triangular solves."""

    def product_function(self, node, key, method, args, kwargs, expect, done):
        """matmul, bmm, mm, scaled_dot_product_attention and solve_triangular; None for another function."""
        import torch
        import torch.nn.functional as F
        name = node.name
        if key is getattr(F, "scaled_dot_product_attention", None):
            return self.sdpa(node, args, kwargs, name, expect, done)
        if key in (torch.matmul, operator.matmul, torch.bmm, "matmul", "bmm", torch.mm, "mm"):
            a, b = (self.tensor(node, x, PLAIN) for x in args[:2])
            layer = self.weight_product(node, a, b, False, None, expect) if key is not torch.bmm else None
            if layer is not None:   # x @ self.W: nn.Linear's layer (torch_weights.py)
                return layer
            return done(MatMul(), [a, b], PLAIN if PLAIN in (a.layout, b.layout) else SHARED)
        if key is torch.linalg.solve_triangular:   # A X = B, A triangular (Gated DeltaNet's chunked delta rule)
            given = dict(zip(("A", "B"), args), **kwargs)
            if not given.get("left", True):
                raise self.fail(node, "solve_triangular with left=False (X A = B) is not supported")
            a, b = (self.tensor(node, given[x], PLAIN) for x in ("A", "B"))
            return done(TriangularSolve(), [a, b], PLAIN if PLAIN in (a.layout, b.layout) else SHARED)
        return None

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
