"""Rows that merge the batch with other axes (``x.view(-1, C)``, ``x.flatten(0, 1)``, timm's windows), as the
torch.fx importer carries them: a `_Merged` tensor whose first axis stands for the batch and the axes merged
with it, through row-wise operations until a view puts the batch first again. A mixin of the converter
(torch_converter.py, whose `dispatch` converts a row-wise operation on the tensor itself)."""
from __future__ import annotations

from simulator.ops import Repeat, Reshape
from simulator.ops.base import prod

from .torch_nodes import PLAIN, SHARED, _Const, _Merged, _Moved, _Tensor


class RowNodes:
    """The converter's merged rows: made, read together, spelled as the axes they merge."""

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
