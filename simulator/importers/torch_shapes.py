"""Views and copies of tensors for the torch.fx importer: reshapes and flattening, transposes and permutes (the
batch moved only to be indexed back: torch_indexing.py), expand and repeat (a parameter spread to the batch), cat,
roll and flip. A mixin of the converter, beside FunctionNodes (torch_functions.py), which dispatches to it;
views that merge the batch with other axes are torch_rows.py's."""
from __future__ import annotations

import operator

from simulator.ops import Concat, Flatten, Gather, Repeat, Reshape, Transpose
from simulator.ops.base import prod

from .torch_nodes import NCHW, PLAIN, SHARED, _Const, _hashable, _Merged, _Moved, _Other, _Pieces, _Tensor


# element-wise functions (operators, torch functions and methods by name) that broadcast their inputs: an
# expanded view feeding only these need not be made
ELEMENTWISE = {operator.add, operator.sub, operator.mul, operator.truediv, operator.iadd, operator.imul}
ELEMENTWISE_NAMES = {"add", "sub", "mul", "div", "add_", "mul_", "masked_fill", "where"}


def _broadcasts(user) -> bool:
    return (_hashable(user.target) and user.target in ELEMENTWISE) or \
        getattr(user.target, "__name__", user.target) in ELEMENTWISE_NAMES


def _rank(x) -> int:
    return len(x.perm) if isinstance(x, _Moved) else len(x.torch_shape)


class ShapeFunctions:
    """The converter's views, transposes, expansions, repeats and concatenations."""

    def shape_function(self, node, key, method, args, kwargs, expect, done):
        """Views, transposes, expansions, repeats, concatenations and reordered copies; None for another function."""
        import torch
        name = node.name
        if method in ("expand", "expand_as"):
            return self.expand(node, args, expect, done)
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
        if key in ("t", torch.t):   # x.t(): the transpose of a matrix (of a vector or scalar: itself)
            x = self.reorderable(node, args[0])
            if _rank(x) < 2:
                return x
            if _rank(x) > 2:
                raise self.fail(node, f"t() expects a tensor of at most 2 dimensions, got {_rank(x)}")
            return self.transposed(node, x, [1, 0], expect, done)
        swaps = ("transpose", torch.transpose, "swapaxes", torch.swapaxes, "swapdims", torch.swapdims)
        if key in swaps + ("permute", torch.permute):
            rows = self.env.get(args[0])
            dims = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
            if isinstance(rows, _Merged) and key in ("permute", torch.permute) and dims and dims[0] != 0 \
                    and not node.meta.get("merged_permute"):
                return self.moved_rows(node, rows, dims)   # the rows moved (timm's Swin qkv.permute(2, 0, ...))
            x = self.reorderable(node, args[0])
            rank = _rank(x)
            if key in swaps:
                d0, d1 = (a % rank for a in args[1:3])
                perm = list(range(rank))
                perm[d0], perm[d1] = perm[d1], perm[d0]
            else:
                perm = [d % rank for d in dims]
                if node.meta.get("merged_permute"):   # of merged rows: the merged axes stay in front
                    perm = list(range(rank - len(perm))) + perm
            return self.transposed(node, x, perm, expect, done)
        return None

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

    def repeat(self, node, x: _Tensor, expect, done):
        """A network tensor copied with axes repeated (``expand`` then ``reshape``, ``repeat``,
        ``repeat_interleave``: grouped-query attention's keys and values, one per query head); the batch is
        not repeated."""
        if expect is None or len(expect) != len(x.torch_shape) or expect[0] != self.batch:
            raise self.fail(node, "repeating the batch dimension (or adding axes) is not supported")
        x = self.as_layout(node, x, PLAIN)
        return done(Repeat(self.per_sample(node, expect, PLAIN)), [x], PLAIN)

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

    def pieces_joined(self, node, pieces: _Pieces, dim: int, done):
        """torch.cat of some pieces of a split: a concatenation of their layers."""
        ts = [self.as_layout(node, t, PLAIN) for t in pieces.tensors]
        if len(ts) == 1:
            return ts[0]
        return done(Concat(axis=self.axis(node, ts[0], dim)), ts, PLAIN)

    def reordered_copy(self, node, x_arg, dims, done):
        """A copy whose elements are moved along axes after the batch (roll, flip): the work of a transpose."""
        x = self.as_layout(node, self.tensor(node, x_arg), PLAIN)
        for d in (dims if isinstance(dims, (tuple, list)) else (dims,)):
            self.axis(node, x, d)   # rejects the batch dimension
        return done(Transpose(tuple(range(len(self.shapes[x.layer])))), [x], PLAIN)

    def attribute(self, node, arg, attr: str, expect, done):
        """A tensor's attribute that is a tensor: its real or imaginary part or its data (the same values as far
        as the work goes: FNet keeps the real part of its Fourier transform), or transposed (Falcon's
        input @ self.weight.T)."""
        if attr in ("real", "imag", "data"):
            return self.env[arg]
        x = self.reorderable(node, arg)
        rank = _rank(x)
        perm = list(reversed(range(rank))) if attr == "T" else list(range(rank - 2)) + [rank - 1, rank - 2]
        return self.transposed(node, x, perm, expect, done)

    def reorderable(self, node, arg):
        """What a transpose or permute reads: a tensor, or a batch moved away (not merged rows), which the new
        order moves again (y.mT.mT, a batch moved last and brought back)."""
        value = self.env.get(arg) if hasattr(arg, "op") else None
        if isinstance(value, _Moved) and value.prefix is None:
            return value
        return self.tensor(node, arg)

    def transposed(self, node, x: _Tensor, perm: list, expect, done):
        """x with its torch axes in the order `perm` (permute, transpose, .T, .mT)."""
        if isinstance(x, _Moved):   # a batch moved, moved again: one permutation of its source
            perm, x = [x.perm[p] for p in perm], x.source
            if perm == list(range(len(perm))):
                return x
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
