"""The values the torch.fx importer passes between graph nodes, and small helpers its parts share."""
from __future__ import annotations

from dataclasses import dataclass

NCHW, PLAIN, SHARED = "nchw", "plain", "shared"


@dataclass
class _Tensor:
    layer: str       # the layer that produces it
    layout: str      # NCHW, PLAIN or SHARED (no batch axis)
    torch_shape: tuple[int, ...]


@dataclass
class _Multi:
    """A module output that is a tuple; element 0 is `first`. For an LSTM / GRU, `rnn` is (kind, layers,
    directions, hidden): element 1 is its final state (see _State)."""

    first: _Tensor
    target: str
    rnn: tuple | None = None


@dataclass
class _State:
    """An LSTM's or GRU's final state h_n (part "h"), c_n ("c") or the pair (h_n, c_n) ("hc"): of shape
    (layers x directions, batch, hidden), batch second. Only its last layer's rows are in the output
    sequence `source` (h_n[-1] is the last step's output, or the backward direction's first), so those are
    what can be read; the state also initialises another RNN (the dependency of a decoder on its encoder)."""

    source: _Multi
    part: str


@dataclass
class _Split:
    """The tuple returned by split / chunk: pieces of `source` along torch `dim`."""

    source: _Tensor
    dim: int
    sizes: tuple[int, ...]
    prefix: tuple[int, ...] | None = None   # of merged rows (_Merged): the pieces are merged rows too


@dataclass
class _Pieces:
    """Some pieces of a split taken together (ProphetNet's ``chunks[1:]``, then stacked): each a layer already."""

    tensors: tuple


@dataclass
class _Other:
    """A value that is not a tensor of the graph (a shape, a size, a flag), or, with `indices`, a router's
    chosen positions (topk's or max's indices): integers that steer the work but add none of their own."""

    what: str
    indices: bool = False


@dataclass
class _Moved:
    """A permute that moved the batch away from the front (``qkv.permute(2, 0, 3, 1, 4)``): kept unmade until it
    is indexed back (``[0]``, ``unbind(0)``), which puts the batch first again."""

    source: _Tensor
    perm: tuple[int, ...]
    prefix: tuple[int, ...] | None = None   # of merged rows (_Merged): the picked pieces are merged rows too


@dataclass
class _Unbound:
    """The tuple returned by ``unbind(dim)``: its element i is ``source`` at position i of `dim`."""

    source: object   # _Tensor or _Moved
    dim: int
    prefix: tuple[int, ...] | None = None   # of merged rows (_Merged): the pieces are merged rows too


@dataclass
class _Stacked:
    """``torch.stack(xs, dim=0)`` of network tensors, before the batch, read only by a mean or sum over that
    dimension (CrossViT averages its two heads' logits so): the tensors themselves, to be added up."""

    parts: tuple


@dataclass
class _Complex:
    """A network tensor viewed as complex numbers (``torch.view_as_complex(x)`` of x (..., n, 2): rotary
    embeddings written as Meta's LLaMA does), kept as its real pairs, `pairs`, until ``torch.view_as_real``."""

    pairs: object


@dataclass
class _Merged:
    """A network tensor viewed with the batch merged into the axes after it (``x.view(-1, C)``: rows of
    B x T), kept as the tensor itself while only row-wise operations (a linear layer, addmm / mm with a
    weight, element-wise ones) follow, until a view puts the batch first again. `prefix` is the torch shape
    of the merged axes (B, T)."""

    source: _Tensor
    prefix: tuple[int, ...]


@dataclass
class _Const:
    """A constant tensor (see torch_tensors.py): its torch `shape` (or the shapes of a tuple's `parts`), and its
    layer once a layer reads it."""

    name: str
    shape: tuple[int, ...] | None
    stack: list
    parts: tuple | None = None
    tensor: _Tensor | None = None


def torch_padding(padding, kernel, dilation) -> tuple[int, ...]:
    """torch's convolution padding per axis: "valid" none, "same" half the dilated kernel (odd kernels), else as
    given."""
    if padding == "same":
        return tuple((k - 1) * d // 2 for k, d in zip(kernel, dilation))
    if padding == "valid":
        return (0,) * len(kernel)
    return tuple(padding)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _is_stochastic_depth(fn) -> bool:
    """torchvision.ops.stochastic_depth, recognised without importing torchvision."""
    return (getattr(fn, "__name__", None) == "stochastic_depth"
            and str(getattr(fn, "__module__", "")).startswith("torchvision"))


def _hashable(key) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True
