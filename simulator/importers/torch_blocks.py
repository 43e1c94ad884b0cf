"""torch's composite layers, taken whole by the torch.fx importer: nn.TransformerEncoderLayer and
nn.TransformerEncoder.

torch.fx cannot trace through them (their forward inspects the masks and the
tensors to choose a fast path), so the importer keeps them as leaves and
writes each out here as the layers it computes, named after the submodules:

* post-norm (torch's default): ``x = norm1(x + dropout1(self_attn(x)))``, then
  ``x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))``;
* ``norm_first=True``: ``x = x + dropout1(self_attn(norm1(x)))``, then
  ``x = x + dropout2(linear2(dropout(activation(linear1(norm2(x))))))``;
* an encoder: its layers in turn, then its final ``norm`` if it has one.

A mask (``src_mask`` / ``mask``, ``src_key_padding_mask``, ``is_causal``)
costs what the causal mask costs, one addition per attention score. Dropouts
of rate 0 are left out. Only ``batch_first=True`` is supported, as for
nn.MultiheadAttention.
"""
from __future__ import annotations

from typing import Any

from simulator.ops import Activation, Dropout, Elementwise, LayerNorm, Linear, MultiHeadAttention

MASKS = ("src_mask", "mask", "src_key_padding_mask", "is_causal")


def masked(conv, node, args) -> bool:
    """Whether the call passes a mask (positional after the input, or by keyword); other arguments fail."""
    kwargs = dict(node.kwargs)
    unknown = [k for k in kwargs if k not in MASKS]
    if unknown:
        raise conv.fail(node, f"{unknown[0]}= is not supported")
    given = list(args[1:]) + [v for k, v in kwargs.items()]
    return any(v is not None and v is not False for v in given)


def encoder(conv, node, m, x, name: str, causal: bool, stack: list[str]):
    """nn.TransformerEncoder: its layers, then its final norm; each layer a block of its own (a natural
    group of consecutive layers to place)."""
    for i, layer in enumerate(m.layers):
        x = encoder_layer(conv, node, layer, x, f"{name}.layers.{i}", causal, stack + [f"{name}.layers.{i}"])
    if m.norm is not None:
        x = _sub(conv, node, m.norm, f"{name}.norm", _norm(conv, node, m.norm), [x], stack + [f"{name}.norm"])
    return x


def encoder_layer(conv, node, m, x, name: str, causal: bool, stack: list[str]):
    """nn.TransformerEncoderLayer as its attention block and its feed-forward block (see the docstring)."""
    attn = m.self_attn
    if not getattr(attn, "batch_first", False):
        raise conv.fail(node, "only TransformerEncoderLayer(batch_first=True) is supported")
    if not attn._qkv_same_embed_dim or attn.bias_k is not None or attn.add_zero_attn:
        raise conv.fail(node, "the encoder layer's attention must have equal q/k/v widths, no bias_k/add_zero_attn")
    act = _activation(conv, node, m.activation)

    def attention(h):
        h = _sub(conv, node, attn, f"{name}.self_attn",
                 MultiHeadAttention(attn.num_heads, causal=causal, bias=attn.in_proj_bias is not None), [h], stack)
        return _dropout(conv, node, m.dropout1, f"{name}.dropout1", h, stack)

    def feed_forward(h):
        h = _sub(conv, node, m.linear1, f"{name}.linear1", Linear(m.linear1.out_features,
                                                                  bias=m.linear1.bias is not None), [h], stack)
        h = _sub(conv, node, None, f"{name}.activation", Activation(act), [h], stack)
        h = _dropout(conv, node, m.dropout, f"{name}.dropout", h, stack)
        h = _sub(conv, node, m.linear2, f"{name}.linear2", Linear(m.linear2.out_features,
                                                                  bias=m.linear2.bias is not None), [h], stack)
        return _dropout(conv, node, m.dropout2, f"{name}.dropout2", h, stack)

    norm1, norm2 = (_norm(conv, node, n) for n in (m.norm1, m.norm2))
    if m.norm_first:
        x = _sub(conv, node, None, f"{name}.add1", Elementwise("add"),
                 [x, attention(_sub(conv, node, m.norm1, f"{name}.norm1", norm1, [x], stack))], stack)
        return _sub(conv, node, None, f"{name}.add2", Elementwise("add"),
                    [x, feed_forward(_sub(conv, node, m.norm2, f"{name}.norm2", norm2, [x], stack))], stack)
    x = _sub(conv, node, None, f"{name}.add1", Elementwise("add"), [x, attention(x)], stack)
    x = _sub(conv, node, m.norm1, f"{name}.norm1", norm1, [x], stack)
    x = _sub(conv, node, None, f"{name}.add2", Elementwise("add"), [x, feed_forward(x)], stack)
    return _sub(conv, node, m.norm2, f"{name}.norm2", norm2, [x], stack)


def _sub(conv, node, module: Any, name: str, op, parents, stack: list[str]):
    """One layer of the block; a submodule met before (a layer object reused) shares its weights."""
    from .torch_nodes import PLAIN
    shares = conv.owner.get(("module", id(module))) if module is not None else None
    t = conv.add(node, name, op, parents, PLAIN, None, shares=shares, stack=stack)
    if module is not None:
        conv.owner.setdefault(("module", id(module)), t.layer)
        conv.check_params(node, module, op, parents, shares)
    return t


def _dropout(conv, node, module, name: str, x, stack: list[str]):
    rate = float(getattr(module, "p", 0.0))
    return _sub(conv, node, None, name, Dropout(rate), [x], stack) if rate > 0 else x


def _norm(conv, node, n):
    import torch.nn as nn
    if not isinstance(n, nn.LayerNorm):
        raise conv.fail(node, f"an encoder layer's norm must be a LayerNorm, not {type(n).__name__}")
    return LayerNorm(len(n.normalized_shape), scale=n.weight is not None, bias=n.bias is not None)


def _activation(conv, node, act) -> str:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    by_function = {F.relu: "relu", torch.relu: "relu", F.gelu: "gelu", F.silu: "silu", torch.tanh: "tanh"}
    by_module = {nn.ReLU: "relu", nn.GELU: "gelu", nn.SiLU: "silu", nn.Tanh: "tanh"}
    kind = by_module.get(type(act)) if isinstance(act, nn.Module) else by_function.get(act)
    if kind is None:
        raise conv.fail(node, f"encoder layer activation {getattr(act, '__name__', type(act).__name__)} is not "
                              "supported (relu, gelu, silu, tanh are)")
    return kind
