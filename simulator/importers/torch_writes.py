"""The torch.fx importer's writes and picks by index, and its complex numbers (a mixin of the converter in
torch_fx.py): which elements a router, a shift or a relative position picks or writes depends on the data, the
work does not, so each is written as the copy it costs.

- ``x[arange(batch), i]`` with i one position per sample (a decoder's classifier: each text's last token): a
  row's select;
- ``torch.gather`` from a network tensor, from rows merging the batch with other axes, or from a tensor
  computed from parameters by a constant index: a `gather` layer of the index's shape;
- ``x.scatter(dim, index, src or value)``: a scalar written leaves x's tensor as it is (a mask's ones); a
  tensor's values are padded into place and added;
- ``x[key] = y`` (recorded by the concrete tracer, torch_concrete.py, as a call of `assigned`): the same, at
  integers and slices after the batch;
- ``x[mask, :]`` with a boolean mask over the batch and the tokens that picks as many rows in every sample
  (BART's classifier: each text's <eos> tokens): a `gather`, as rows merging the batch with the picks;
- complex numbers as rotary embeddings (``view_as_complex``, a product, ``view_as_real``), kept as their real
  pairs, and torch.fft's transforms that keep their sizes: an `fft` layer.

What reads x after an in-place write reads the write's result (torch_rewrites.py threads it through the graph).
"""
from __future__ import annotations

import operator

from simulator.ops import FFT, Elementwise, Gather, Pad, Reshape
from simulator.ops.base import prod

from .torch_nodes import PLAIN, SHARED, _Complex, _Const, _Merged, _Tensor


class WriteNodes:
    """Picks and writes by computed indices, complex numbers and Fourier transforms (see the module docstring)."""

    def picked_per_sample(self, node, x: _Tensor, index: tuple, expect) -> bool:
        """x[arange(batch), i] with i a network tensor of one position per sample."""
        if len(index) != 2 or not all(hasattr(i, "op") for i in index) or expect is None:
            return False
        rows, at = self.env.get(index[0]), self.env.get(index[1])
        if not (isinstance(rows, _Const) and rows.shape == (self.batch,) and isinstance(at, _Tensor) and
                at.layout != SHARED and tuple(int(d) for d in at.torch_shape) == (self.batch,)):
            return False
        return len(x.torch_shape) >= 2 and tuple(int(d) for d in expect) == (self.batch,) + tuple(
            int(d) for d in x.torch_shape[2:])

    def gathered(self, node, source, dim, expect, done):
        """torch.gather from a network tensor along an axis after the batch (or from rows merging the batch with
        other axes: ProphetNet's relative positions), or from a tensor computed from parameters by a constant
        index (Funnel's position embeddings): a `gather` layer of the index's shape (which elements, the index
        decides; the work does not depend on it)."""
        x = self.tensor(node, source)
        if not isinstance(dim, int) or expect is None:
            raise self.fail(node, "gather needs a dim given as a number")
        self.axis(node, x, dim)   # rejects the batch dimension
        if x.layout == SHARED:
            shape = self.per_sample(node, expect, SHARED)
            if len(shape) != len(self.shapes[x.layer]):
                raise self.fail(node, "gather from a parameter's tensor along its leading size-1 axes")
            return done(Gather(shape), [x], SHARED)
        x = self.as_layout(node, x, PLAIN)
        if len(expect) != len(x.torch_shape) or int(expect[0]) != self.batch:
            raise self.fail(node, "gather: the index must keep the batch first and the input's rank")
        return done(Gather(self.per_sample(node, expect, PLAIN)), [x], PLAIN)

    def scatter(self, node, args, kwargs, done):
        """x.scatter(dim, index, src or value): a router's picks written back (Llama-4's top scores into a tensor
        of -inf, DeepSeek-V3's chosen groups as ones in a mask). Which positions depends on the data, the work
        does not: a scalar written at the index leaves x's tensor as it is (a few elements written, a mask's);
        a tensor's values are a copy of them into x's shape (a pad along dim, its gradient a slice), added to x."""
        given = dict(zip(("input", "dim", "index", "src"), args), **kwargs)
        src = given.get("src", given.get("value"))
        x = self.tensor(node, given["input"])
        if not (hasattr(src, "op") and isinstance(self.env.get(src), (_Tensor, _Const))):
            return x
        values = self.as_layout(node, self.tensor(node, src), PLAIN)
        x = self.as_layout(node, x, PLAIN)
        axis = self.axis(node, x, given["dim"])
        ours, theirs = self.shapes[values.layer], self.shapes[x.layer]
        if len(ours) != len(theirs) or any(a != b for i, (a, b) in enumerate(zip(ours, theirs)) if i != axis) or \
                ours[axis] > theirs[axis]:
            raise self.fail(node, f"scatter of values {ours} into {theirs}: only values shaped as the input but "
                                  "along dim are supported")
        pads = tuple((0, theirs[i] - ours[i]) if i == axis else (0, 0) for i in range(len(ours)))
        placed = self.add(node, f"{node.name}:placed", Pad(pads), [values], PLAIN, None)
        return done(Elementwise("add"), [x, placed], PLAIN)

    def assignment(self, node, args, done):
        """x[key] = value (the concrete tracer's `assigned`): a scalar or a constant written into x leaves x's
        tensor as it is (Hugging Face's shift_tokens_right sets the first token); a network tensor's values, at
        slices of x, are padded into place and added (its ids shifted by one)."""
        x_arg, key, value = args
        x = self.tensor(node, x_arg)
        v = self.env.get(value) if hasattr(value, "op") else None
        if not isinstance(v, (_Tensor, _Merged)):
            return x
        # an axis added (x[:, None, :4] = y) is one of size 1 in the values, which are viewed without it below
        items = [i for i in (key if isinstance(key, tuple) else (key,)) if i is not None]
        if items.count(Ellipsis) == 1:   # x[..., i, :i] = y (Kimi's forward substitution): full slices for the dots
            at = items.index(Ellipsis)
            items[at:at + 1] = [slice(None)] * max(len(x.torch_shape) - len(items) + 1, 0)
        if len(items) > len(x.torch_shape) or items[0] != slice(None) or not all(
                isinstance(i, int) or isinstance(i, slice) and i.step in (None, 1) for i in items):
            raise self.fail(node, "assigning a network tensor is supported at integers and slices after the batch "
                                  "only (x[:, 1:] = y, x[:, t] = y)")
        x = self.as_layout(node, x, PLAIN)
        values = self.as_layout(node, self.tensor(node, value), PLAIN)
        ours = self.shapes[x.layer]
        pads, region = [], []
        for axis, size in enumerate(ours):
            item = items[axis + 1] if axis + 1 < len(items) else slice(None)
            start, stop = (item % size, item % size + 1) if isinstance(item, int) else item.indices(size)[:2]
            pads.append((start, size - max(start, stop)))
            region.append(max(stop - start, 0))
        if self.shapes[values.layer] != tuple(region):   # an integer's axis dropped from the values: back, of 1
            if prod(self.shapes[values.layer]) != prod(region):
                raise self.fail(node, f"assigning values of shape {self.shapes[values.layer]} to {key!r} of {ours}")
            values = self.add(node, f"{node.name}:values", Reshape(tuple(region)), [values], PLAIN, None)
        placed = self.add(node, f"{node.name}:placed", Pad(tuple(pads)), [values], PLAIN, None)
        return done(Elementwise("add"), [x, placed], PLAIN)

    def masked_rows(self, node, x: _Tensor, index, meta):
        """x[mask, :] with a boolean mask over x's batch and next axis (BART's classifier reads each sample's
        <eos> tokens, as many in every sample): the same n rows of every sample, gathered, as rows that merge
        the batch with the n; None for another index."""
        import torch
        items = index if isinstance(index, tuple) else (index,)
        mask = items[0] if items else None
        spec = mask.meta.get("tensor_meta") if hasattr(mask, "op") else None
        if spec is None or getattr(spec, "dtype", None) != torch.bool or not hasattr(meta, "shape") or \
                any(i != slice(None) for i in items[1:]) or len(spec.shape) != 2 or len(x.torch_shape) < 2:
            return None
        if tuple(spec.shape) != tuple(x.torch_shape[:2]):
            return None
        batch, rows = int(x.torch_shape[0]), int(meta.shape[0])
        if rows % batch or not rows:
            raise self.fail(node, "a boolean mask picking a different number of rows in each sample is not "
                                  "supported")
        x = self.as_layout(node, x, PLAIN)
        picked = (rows // batch,) + tuple(int(d) for d in meta.shape[1:])
        return _Merged(self.add(node, node.name, Gather(picked), [x], PLAIN, (batch,) + picked), (batch, picked[0]))

    def complex_numbers(self, node, key, args, meta):
        """Complex numbers as Meta's LLaMA writes its rotary embeddings: view_as_complex(x) of the pairs (..., n, 2),
        multiplied by constant rotations (or other complex tensors), view_as_real back. Kept as the real pairs; a
        product is one multiplication per real element (a complex product costs three: a sixth of one rotary
        embedding's 6 FLOPs per pair is left out, next to the attention's products)."""
        import torch
        value = self.env.get(args[0]) if args and hasattr(args[0], "op") else None
        if key is torch.view_as_complex:
            x = self.tensor(node, args[0])
            if not x.torch_shape or int(x.torch_shape[-1]) != 2:
                raise self.fail(node, "view_as_complex of a tensor whose last dimension is not 2")
            return _Complex(x)
        if key is torch.view_as_real and isinstance(value, _Complex):
            return value.pairs
        if key in (operator.mul, torch.mul, "mul") and hasattr(meta, "shape"):
            parents = []
            for a in args[:2]:
                v = self.env.get(a) if hasattr(a, "op") else None
                if isinstance(v, _Complex):
                    parents.append(self.as_layout(node, v.pairs, PLAIN))
                elif isinstance(v, _Const) and v.shape is not None:   # a rotation: its pairs
                    parents.append(self.materialize(node, _Const(v.name, tuple(v.shape) + (2,), v.stack)))
                elif v is not None:
                    break
            else:
                expect = tuple(int(d) for d in meta.shape) + (2,)
                layout = PLAIN if any(p.layout != SHARED for p in parents) else SHARED
                return _Complex(self.add(node, node.name, Elementwise("mul"), parents, layout, expect))
        raise self.fail(node, "complex numbers are supported only as rotary embeddings: view_as_complex, a product, "
                              "view_as_real")

    def fourier(self, node, key, args, kwargs, expect, done):
        """torch.fft's complex transforms over some axes, the sizes kept (FNet's fftn over the tokens and the
        features)."""
        import torch
        given = dict(zip(("input", "size", "dim", "norm"), args), **kwargs)
        x = self.as_layout(node, self.tensor(node, given["input"]), PLAIN)
        if given.get("size", given.get("n", given.get("s"))) is not None or expect is None or \
                tuple(int(d) for d in expect) != tuple(int(d) for d in x.torch_shape):
            raise self.fail(node, "a Fourier transform that pads or crops (n or s given) is not supported")
        dims = given.get("dim")
        if dims is None:
            dims = {torch.fft.fft: -1, torch.fft.ifft: -1, torch.fft.fft2: (-2, -1), torch.fft.ifft2: (-2, -1)}.get(key)
        if dims is None:
            raise self.fail(node, "a Fourier transform over every dimension mixes the batch; give dim")
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        return done(FFT(tuple(self.axis(node, x, d) for d in dims)), [x], PLAIN)
