"""Indexing for the torch.fx importer: ``x[...]`` and the elements of what a node returned as several (a tuple
of outputs, an RNN's final state, the pieces of a split or an unbind, a permute that moved the batch only to be
indexed back, timm's ``qkv.permute(2, 0, 3, 1, 4)[0]``). A mixin of the converter, beside FunctionNodes
(torch_functions.py), which dispatches ``operator.getitem`` to it."""
from __future__ import annotations

from simulator.ops import Select, Slice, Transpose

from .torch_nodes import PLAIN, _Merged, _Moved, _Multi, _Other, _Pieces, _Split, _State, _Tensor, _Unbound


class IndexFunctions:
    """The converter's getitem, and the pieces and picks it makes."""

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
