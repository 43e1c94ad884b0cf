"""Sequence-first tensors in the torch.fx importer: PyTorch's default layout for recurrent and attention layers.

``nn.LSTM``, ``nn.GRU``, ``nn.MultiheadAttention`` and the ``nn.Transformer*`` layers read ``(sequence,
batch, features)`` unless built with ``batch_first=True``, and models written for them keep the batch second
from their input on (PyTorch's word language model: token ids of shape (T, N)) or move it there
(``x.permute(1, 0, 2)  # NLD -> LND`` around a transformer, as CLIP does). The simulator's shapes are per
sample, so the batch's position is only bookkeeping: such a tensor is kept as the batch-first tensor it
transposes (same per-sample shape (T, ...), same layer), and the converter's fx node is marked
*sequence-first*. A node that reads one is converted as if its tensors had the batch first: its traced
shape has axes 0 and 1 exchanged, so do its dimension arguments (``softmax(dim=-1)`` stays, ``mean(0)``, a
mean over the sequence, becomes a mean over per-sample axis 0), its indices (``out[-1]``, the last step)
and the constants and parameters it broadcasts with (a positional table of shape (T, 1, D) becomes (T, D)
per sample). Its result is sequence-first again when its batch is still second. A transpose or permute (or
``t()``, ``.T``, ``.mT``) that brings the batch back to the front (``x.transpose(0, 1)``) is a view of the same
tensor (or the remaining permutation); one that moves the batch of a batch-first tensor to the second axis makes
it sequence-first, whatever its sizes, so a batch-first model that moves its batch away and back (a (batch,
features) tensor transposed for an element-wise operation) imports as if it had stayed. The recurrent and
attention modules are checked against the tensor they get: ``batch_first=False`` wants a sequence-first one. An
operation along the batch of a sequence-first tensor (``x.transpose(0, 1).sum(1)``) is refused as one mixing
the samples.

Shapes are all the importer sees of the batch, so a sample input whose sequence length equals its batch
size cannot be followed, nor can an operation's result of such sizes unless it has the shape of a
sequence-first tensor it reads (an element-wise operation): such a node fails with a message saying to change
the sample's batch size.
"""
from __future__ import annotations

import operator
from dataclasses import replace

from simulator.ops import Reshape, Transpose

from .torch_nodes import PLAIN, SHARED, _Const, _Merged, _Moved, _Multi, _State, _Tensor

# functions and methods whose dimension arguments name torch axes: (argument position, keyword)
_DIM_SLOTS = {name: ((1, "dim"),) for name in (
    "softmax", "log_softmax", "mean", "sum", "amax", "amin", "std", "var", "max", "min", "cat", "concat", "stack",
    "unsqueeze", "squeeze", "unbind", "select", "narrow", "cumsum", "argmax", "argmin", "logsumexp", "prod",
    "size")}
_DIM_SLOTS.update({name: ((2, "dim"),) for name in ("split", "chunk", "normalize")})
_DIM_SLOTS["flatten"] = ((1, "start_dim"), (2, "end_dim"))
_SWAPS = ("transpose", "swapaxes", "swapdims")
_PRODUCTS = ("matmul", "mm", "bmm", "addmm", "linear")


def _name(target) -> str:
    return target if isinstance(target, str) else getattr(target, "__name__", "")


def _swap(shape) -> tuple:
    shape = tuple(int(d) for d in shape)
    return (shape[1], shape[0]) + shape[2:] if len(shape) >= 2 else shape


def _reorder(node, rank: int):
    """The torch axes, in their new order, of what a transpose / swapaxes / permute / t() / .T / .mT node makes of
    its input of `rank` axes; None for another node."""
    args, name = node.args, _name(node.target)
    if node.target is getattr and len(args) == 2 and args[1] in ("T", "mT") and rank >= 2:
        return list(reversed(range(rank))) if args[1] == "T" else list(range(rank - 2)) + [rank - 1, rank - 2]
    if name == "t" and rank == 2:
        return [1, 0]
    if name in _SWAPS and len(args) >= 3 and all(isinstance(d, int) for d in args[1:3]):
        perm = list(range(rank))
        d0, d1 = (d % rank for d in args[1:3])
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return perm
    if name == "permute":
        dims = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
        if len(dims) == rank and all(isinstance(d, int) for d in dims):
            return [d % rank for d in dims]
    return None


def swapped_meta(meta):
    """torch.fx's tensor metadata with axes 0 and 1 exchanged: a sequence-first tensor's batch-first twin."""
    return meta._replace(shape=type(meta.shape)(_swap(meta.shape)))


def _other(d: int, rank: int) -> int:
    """Torch dimension `d` of a sequence-first tensor of `rank` axes, on its batch-first twin."""
    if isinstance(d, int) and -rank <= d < rank and d % rank in (0, 1):
        return 1 - d % rank
    return d


class SeqFirstNodes:
    """The converter's handling of sequence-first tensors (see the module docstring). Relies on the
    converter's ``env``, ``seq`` (the sequence-first nodes), ``seq_mode``, ``batch``, ``add``, ``axis``,
    ``tensor``, ``shapes``, ``per_sample``, ``fail`` and ``dispatch``."""

    # ------------------------------------------------------------- when
    def seq_first_visit(self, node, meta) -> bool:
        """Convert `node` in the sequence-first way when it reads a sequence-first tensor; False otherwise."""
        inputs = node.all_input_nodes
        for a in inputs:   # a permute that put the batch second, used otherwise than indexed back: made now
            value = self.env.get(a)
            if isinstance(value, _Moved) and value.perm[-1] == 0 and _name(node.target) in _PRODUCTS:
                # img @ txt.T (CLIP's, SimCLR's logits): every sample times every other, not a sequence
                raise self.fail(node, "a product with the batch moved last (img @ txt.T: a (batch, batch) matrix "
                                      "of logits) mixes the samples of the batch, which the simulator does not "
                                      "model; import the model without it (return the embeddings: the loss's "
                                      "product is small next to the encoders)")
            if isinstance(value, _Moved) and len(value.perm) > 1 and value.perm[1] == 0 and not self._picks(node, a):
                self.env[a] = self._seq_from_moved(a, value)
                self.seq.add(a)
        if node.target is operator.getitem:
            value = self.env.get(node.args[0])
            if isinstance(value, _State) or (isinstance(value, _Multi) and node.args[1] != 0):
                return False   # an RNN's final state is (layers, batch, hidden) in both layouts
        if not any(a in self.seq for a in inputs) and not self._unmerges_to_seq(node, meta):
            return False
        self.env[node] = self._convert_seq_first(node, meta)
        return True

    def _picks(self, node, a) -> bool:
        """Whether `node` indexes the permuted `a` back (``[0]``, ``unbind(0)``), which _Moved handles."""
        if node.target is operator.getitem and node.args[0] is a and isinstance(node.args[1], int):
            return True
        if _name(node.target) == "unbind" and node.args and node.args[0] is a:
            dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
            return dim == 0
        return False

    def _unmerges_to_seq(self, node, meta) -> bool:
        """A view of rows merged from a sequence-first tensor back to (T, N, ...)."""
        if _name(node.target) not in ("view", "reshape") or not hasattr(meta, "shape") or len(meta.shape) < 2:
            return False
        value = self.env.get(node.args[0]) if node.args else None
        return isinstance(value, _Merged) and len(value.prefix) == 2 and \
            tuple(int(d) for d in meta.shape[:2]) == (value.prefix[1], value.prefix[0])

    def _seq_shaped(self, node, shape) -> bool:
        """Whether a tensor of torch `shape` is sequence-first (its batch second); a batch as long as the
        sequence cannot be told apart, but for the result of an operation on a sequence-first tensor of the same
        shape (an element-wise one), which is sequence-first as that tensor is."""
        shape = tuple(int(d) for d in shape)
        if len(shape) >= 2 and shape[0] == shape[1] == self.batch:
            if any(a in self.seq and tuple(_swap(a.meta["tensor_meta"].shape)) == shape
                   for a in node.all_input_nodes if hasattr(a.meta.get("tensor_meta"), "shape")):
                return True
            if node.op == "placeholder":
                raise self.fail(node, f"a sequence-first tensor of shape {shape} has its sequence as long as the "
                                      f"batch ({self.batch}): give a sample input with another batch size")
            raise self.fail(node, f"a tensor of shape {shape} made from one whose batch is second (sequence-first, "
                                  f"or moved there by a transpose or permute) has its first axis as long as the batch "
                                  f"({self.batch}), which the importer tells apart by their sizes only: give a sample "
                                  "input with another batch size")
        return len(shape) >= 2 and shape[1] == self.batch

    # ------------------------------------------------------------- how
    def _convert_seq_first(self, node, meta):
        """The node converted with its sequence-first tensors seen as their batch-first twins; the node is
        marked sequence-first when its result is."""
        # the rank of the sequence-first tensors read: what their dimension arguments count
        metas = [a.meta.get("tensor_meta") for a in node.all_input_nodes if a in self.seq]
        rank = max((len(m.shape) for m in metas if hasattr(m, "shape")), default=0)
        module = node.op == "call_module"
        # a transpose or permute: where the batch goes is its permutation's, whatever the sizes
        perm = _reorder(node, rank) if node.args and node.args[0] in self.seq and node.op != "call_module" else None
        if hasattr(meta, "shape"):
            seq_out = perm.index(1) == 1 if perm is not None else self._seq_shaped(node, meta.shape)
            if not seq_out and (not len(meta.shape) or int(meta.shape[0]) != self.batch) and perm is None and \
                    _name(node.target) not in ("view", "reshape"):
                along = self._along_batch(node, rank)
                if along is not None:
                    raise self.fail(node, f"an operation along the batch dimension (dim {along} of a tensor whose "
                                          "batch is second) mixes the samples of a batch, which the simulator does "
                                          f"not model: its result {tuple(meta.shape)} keeps the batch neither first "
                                          "nor second; leave it out of the model imported (in the loss, say)")
                raise self.fail(node, f"the result {tuple(meta.shape)} of an operation on a tensor whose batch is "
                                      "second (sequence-first) keeps the batch neither first nor second")
            swapped = swapped_meta(meta) if seq_out else meta
        elif isinstance(meta, (tuple, list)) and meta:
            parts = [meta[0]] if module else list(meta)
            flags = [hasattr(m, "shape") and self._seq_shaped(node, m.shape) for m in parts]
            seq_out = any(flags)
            swap = [swapped_meta(m) if f else m for m, f in zip(parts, flags)]
            swapped = type(meta)(swap + list(meta[len(parts):]))
        else:
            seq_out, swapped = False, meta
        node.meta["tensor_meta"] = swapped
        if perm is not None:
            value, seq_out = self._seq_reorder(node, swapped, perm)
        else:
            self._translate(node, rank)
            saved = {a: self.env[a] for a in node.all_input_nodes if a in self.env}
            for a, value in saved.items():
                self.env[a] = self._aligned(node, value, rank)
            self.seq_mode = True
            try:
                value = self.dispatch(node, swapped)
            finally:
                self.seq_mode = False
                self.env.update(saved)
        if seq_out:
            self.seq.add(node)
        return value

    def _along_batch(self, node, rank: int):
        """The dimension argument of `node` that names the batch of its sequence-first tensors (axis 1), or None."""
        for slot, key in _DIM_SLOTS.get(_name(node.target), ()) if node.op != "call_module" else ():
            dims = node.kwargs[key] if key in node.kwargs else node.args[slot] if len(node.args) > slot else None
            for d in dims if isinstance(dims, (tuple, list)) else (dims,):
                if isinstance(d, int) and rank and -rank <= d < rank and d % rank == 1:
                    return d
        return None

    def _translate(self, node, rank: int) -> None:
        """The node's dimension arguments and indices, from torch's sequence-first axes to batch-first ones."""
        args, kwargs = list(node.args), dict(node.kwargs)
        if node.target is operator.getitem and isinstance(self.env.get(args[0]), _Tensor):
            args[1] = self._swapped_index(node, args[1], rank)
        if _name(node.target) in ("unsqueeze", "stack"):
            rank += 1   # their dimension counts the result's axes
        for slot, key in _DIM_SLOTS.get(_name(node.target), ()) if node.op != "call_module" else ():
            where = (kwargs, key) if key in kwargs else (args, slot) if len(args) > slot else None
            if where is None:
                continue
            box, k = where
            dims = box[k]
            box[k] = type(dims)(_other(d, rank) for d in dims) if isinstance(dims, (tuple, list)) else \
                _other(dims, rank)
        node.args, node.kwargs = tuple(args), kwargs

    def _swapped_index(self, node, index, rank: int):
        items = list(index) if isinstance(index, tuple) else [index]
        used = sum(1 for i in items if i is not None and i is not Ellipsis)
        if Ellipsis in items:
            at = items.index(Ellipsis)
            items[at:at + 1] = [slice(None)] * max(0, rank - used)
        items += [slice(None)] * max(0, 2 - len(items))
        if None in items[:2]:
            raise self.fail(node, "a new axis (None) before the batch of a sequence-first tensor is not supported")
        items[0], items[1] = items[1], items[0]
        return tuple(items)

    def _aligned(self, node, value, rank: int):
        """A constant or parameter that broadcasts with the node's sequence-first tensors, with its axes 0 and 1
        exchanged when they line up with the sequence and the batch (same rank)."""
        if not rank or not isinstance(value, (_Const, _Tensor)):
            return value
        shape = value.shape if isinstance(value, _Const) else value.torch_shape
        if shape is None or len(shape) != rank or rank < 2:
            return value
        if isinstance(value, _Const):
            return replace(value, shape=_swap(shape), tensor=None)
        if value.layout != SHARED:
            return value
        twin = self.per_sample(node, _swap(shape), SHARED)
        if twin == self.shapes[value.layer]:
            return replace(value, torch_shape=_swap(shape))
        key = (value.layer, "seq")
        if key not in self.env:
            self.env[key] = self.add(node, f"{value.layer}:seq", Reshape(twin), [value], SHARED, _swap(shape),
                                     stack=self.stacks.get(value.layer))
        return self.env[key]

    # ------------------------------------------------------------- transposes
    def _seq_reorder(self, node, meta, perm: list):
        """A transpose / permute (torch's axes in the order `perm`) of a sequence-first tensor: (value, whether the
        result is sequence-first)."""
        x = self.tensor(node, node.args[0])
        rank = len(x.torch_shape)

        def s(a):
            return 1 - a if a in (0, 1) else a
        at = perm.index(1)   # where the batch goes
        if at == 0:
            q = [s(p) for p in perm]
        elif at == 1:
            q = [s(perm[s(k)]) for k in range(rank)]
        else:
            return _Moved(x, tuple(s(p) for p in perm)), False
        return self._permuted(node, x, q, tuple(meta.shape)), at == 1

    def _seq_from_moved(self, a, moved: _Moved) -> _Tensor:
        """The batch-first twin of a permute (of a batch-first tensor) that put the batch second."""
        perm = moved.perm
        q = [0, perm[0]] + list(perm[2:])
        shape = a.meta["tensor_meta"].shape
        # the batch is second by the permutation, whatever the sizes (a (4, 4) tensor transposed)
        a.meta["tensor_meta"] = swapped_meta(a.meta["tensor_meta"])
        return self._permuted(a, moved.source, q, _swap(shape))

    def _permuted(self, node, x: _Tensor, q, expect) -> _Tensor:
        """x (batch-first) permuted by `q` (which keeps the batch first): x itself when nothing moves."""
        ours = tuple(self.axis(node, x, q[j]) for j in range(1, len(q)))
        if ours == tuple(range(len(ours))) and x.layout == PLAIN:
            return x
        return self.add(node, node.name, Transpose(ours), [x], PLAIN, tuple(expect))

    # ------------------------------------------------------------- modules
    def layout_check(self, node, what: str, batch_first: bool) -> None:
        """A recurrent or attention module's `batch_first` against the tensor it is given."""
        if batch_first and self.seq_mode:
            raise self.fail(node, f"{what}(batch_first=True) is given a sequence-first tensor (sequence, batch, "
                                  "...)")
        if not batch_first and not self.seq_mode:
            raise self.fail(node, f"{what}(batch_first=False) reads (sequence, batch, features) but is given a "
                                  "tensor whose first axis is the batch: give the sample input sequence-first "
                                  "(batch_dim=1) or transpose it before the layer")
