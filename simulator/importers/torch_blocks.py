"""torch's composite layers, taken whole by the torch.fx importer: nn.TransformerEncoderLayer,
nn.TransformerEncoder, nn.TransformerDecoderLayer, nn.TransformerDecoder and nn.Transformer.

torch.fx cannot trace through them (their forward inspects the masks and the
tensors to choose a fast path), so the importer keeps them as leaves and
writes each out here as the layers it computes, named after the submodules:

* post-norm (torch's default): ``x = norm1(x + dropout1(self_attn(x)))``, then
  ``x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))``;
* ``norm_first=True``: ``x = x + dropout1(self_attn(norm1(x)))``, then
  ``x = x + dropout2(linear2(dropout(activation(linear1(norm2(x))))))``;
* an encoder: its layers in turn, then its final ``norm`` if it has one;
* a decoder layer: the same with a cross-attention block between the two
  (``x = norm2(x + dropout2(multihead_attn(x, memory)))``, pre-norm
  ``x = x + dropout2(multihead_attn(norm2(x), memory))``; the feed-forward's
  norm and dropout are then ``norm3`` / ``dropout3``). The cross-attention is
  written out as what it computes: the queries (a linear of ``x``), the keys
  and values (one linear of ``memory``, split), per head the scores
  ``Q K^T``, their scaling, softmax, dropout, ``P V``, and the output
  projection; its parameters are checked against the module's;
* a decoder: its layers, then its final ``norm``; nn.Transformer: its encoder
  on the source, then its decoder on the target and the encoder's output.

A mask (``src_mask`` / ``mask`` / ``tgt_mask``, a key padding mask,
``is_causal``) costs what the causal mask costs, one addition per attention
score. Dropouts of rate 0 are left out. With ``batch_first=False`` (torch's
default) they read sequence-first tensors (torch_seqfirst.py).
"""
from __future__ import annotations

from typing import Any

from simulator.ops import (Activation, Dropout, Elementwise, LayerNorm, Linear, MatMul, MultiHeadAttention, Reshape,
                           Slice, Softmax, Transpose)

MASKS = ("src_mask", "mask", "src_key_padding_mask", "is_causal")


def masked(conv, node, args) -> bool:
    """Whether the call passes a mask (positional after the input, or by keyword); other arguments fail."""
    kwargs = dict(node.kwargs)
    unknown = [k for k in kwargs if k not in MASKS]
    if unknown:
        raise conv.fail(node, f"{unknown[0]}= is not supported")
    given = list(args[1:]) + [v for k, v in kwargs.items()]
    return any(v is not None and v is not False for v in given)


# each composite's arguments after its input(s), in torch's order
ARGUMENTS = {
    "decoder_layer": ("memory", "tgt_mask", "memory_mask", "tgt_key_padding_mask", "memory_key_padding_mask",
                      "tgt_is_causal", "memory_is_causal"),
    "transformer": ("tgt", "src_mask", "tgt_mask", "memory_mask", "src_key_padding_mask", "tgt_key_padding_mask",
                    "memory_key_padding_mask", "src_is_causal", "tgt_is_causal", "memory_is_causal"),
}
ARGUMENTS["decoder"] = ARGUMENTS["decoder_layer"]


def bind(conv, node, kind: str, args) -> dict:
    """The call's arguments after the first by name (the composites' forward signatures); others fail."""
    names = ARGUMENTS[kind]
    given = dict(zip(names, args[1:]))
    for k, v in node.kwargs.items():
        if k not in names:
            raise conv.fail(node, f"{k}= is not supported")
        given[k] = v
    if len(args) - 1 > len(names):
        raise conv.fail(node, f"too many arguments for {kind}")
    return given


def _on(given: dict, *names: str) -> bool:
    return any(given.get(n) is not None and given.get(n) is not False for n in names)


def decoder_call(conv, node, kind: str, m, args, name: str, stack: list[str]):
    """A decoder layer, a decoder or a whole nn.Transformer called at `node`."""
    from .torch_nodes import PLAIN
    given = bind(conv, node, kind, args)
    if kind == "transformer":
        src, tgt = conv.tensor(node, args[0], PLAIN), conv.tensor(node, given.get("tgt"), PLAIN)
        memory = encoder(conv, node, m.encoder, src, f"{name}.encoder",
                         _on(given, "src_mask", "src_key_padding_mask", "src_is_causal"), stack + [f"{name}.encoder"])
        return decoder(conv, node, m.decoder, tgt, memory, f"{name}.decoder", given, stack + [f"{name}.decoder"])
    x, memory = conv.tensor(node, args[0], PLAIN), conv.tensor(node, given.get("memory"), PLAIN)
    if kind == "decoder":
        return decoder(conv, node, m, x, memory, name, given, stack)
    return decoder_layer(conv, node, m, x, memory, name, given, stack)


def decoder(conv, node, m, x, memory, name: str, given: dict, stack: list[str]):
    """nn.TransformerDecoder: its layers (each a block), then its final norm."""
    for i, layer in enumerate(m.layers):
        x = decoder_layer(conv, node, layer, x, memory, f"{name}.layers.{i}", given, stack + [f"{name}.layers.{i}"])
    if m.norm is not None:
        x = _sub(conv, node, m.norm, f"{name}.norm", _norm(conv, node, m.norm), [x], stack + [f"{name}.norm"])
    return x


def decoder_layer(conv, node, m, x, memory, name: str, given: dict, stack: list[str]):
    """nn.TransformerDecoderLayer: self-attention, cross-attention on `memory`, feed-forward (see the docstring)."""
    causal = _on(given, "tgt_mask", "tgt_key_padding_mask", "tgt_is_causal")
    masked = _on(given, "memory_mask", "memory_key_padding_mask", "memory_is_causal")
    attention, feed_forward = _blocks(conv, node, m, name, causal, stack, "decoder layer")
    cross = m.multihead_attn

    def across(h):
        h = cross_attention(conv, node, cross, h, memory, f"{name}.multihead_attn", masked, stack)
        return _dropout(conv, node, m.dropout2, f"{name}.dropout2", h, stack)

    def ff(h):
        return _dropout(conv, node, m.dropout3, f"{name}.dropout3", feed_forward(h), stack)

    steps = ((attention, m.norm1), (across, m.norm2), (ff, m.norm3))
    for k, (block, norm_module) in enumerate(steps, start=1):
        norm = _norm(conv, node, norm_module)
        if m.norm_first:
            h = block(_sub(conv, node, norm_module, f"{name}.norm{k}", norm, [x], stack))
            x = _sub(conv, node, None, f"{name}.add{k}", Elementwise("add"), [x, h], stack)
        else:
            x = _sub(conv, node, None, f"{name}.add{k}", Elementwise("add"), [x, block(x)], stack)
            x = _sub(conv, node, norm_module, f"{name}.norm{k}", norm, [x], stack)
    return x


def cross_attention(conv, node, attn, x, memory, name: str, masked: bool, stack: list[str]):
    """nn.MultiheadAttention(x, memory, memory) written out as its layers (see the docstring)."""
    if not attn._qkv_same_embed_dim or attn.bias_k is not None or attn.add_zero_attn:
        raise conv.fail(node, "the cross-attention must have equal q/k/v widths, no bias_k/add_zero_attn")
    conv.layout_check(node, "the cross-attention MultiheadAttention", attn.batch_first)
    if ("module", id(attn)) in conv.owner:
        raise conv.fail(node, "a cross-attention module used twice is not supported")
    d, heads, bias = attn.embed_dim, attn.num_heads, attn.in_proj_bias is not None
    dh = d // heads
    (t, _), (s, _) = conv.shapes[x.layer], conv.shapes[memory.layer]
    q = _sub(conv, node, None, f"{name}.q_proj", Linear(d, bias=bias), [x], stack)
    kv = _sub(conv, node, None, f"{name}.kv_proj", Linear(2 * d, bias=bias), [memory], stack)

    def heads_of(h, length, tag):
        h = _sub(conv, node, None, f"{name}.{tag}_heads", Reshape((length, heads, dh)), [h], stack)
        return _sub(conv, node, None, f"{name}.{tag}_t", Transpose((1, 0, 2)), [h], stack)

    q = heads_of(q, t, "q")
    k = heads_of(_sub(conv, node, None, f"{name}.k", Slice(1, 0, d), [kv], stack), s, "k")
    v = heads_of(_sub(conv, node, None, f"{name}.v", Slice(1, d, 2 * d), [kv], stack), s, "v")
    h = _sub(conv, node, None, f"{name}.scores", MatMul(transpose_b=True), [q, k], stack)
    h = _sub(conv, node, None, f"{name}.scale", Elementwise("mul"), [h], stack)
    if masked:
        h = _sub(conv, node, None, f"{name}.mask", Elementwise("add"), [h], stack)
    h = _sub(conv, node, None, f"{name}.probs", Softmax(), [h], stack)
    if attn.dropout > 0:
        h = _sub(conv, node, None, f"{name}.attn_dropout", Dropout(float(attn.dropout)), [h], stack)
    h = _sub(conv, node, None, f"{name}.context", MatMul(), [h, v], stack)
    h = _sub(conv, node, None, f"{name}.merge_t", Transpose((1, 0, 2)), [h], stack)
    h = _sub(conv, node, None, f"{name}.merge", Reshape((t, d)), [h], stack)
    out = _sub(conv, node, None, f"{name}.out_proj", Linear(d, bias=attn.out_proj.bias is not None), [h], stack)
    ours = sum(op.counts(((1, d),), (1, width)).params for op, width in
               ((Linear(d, bias=bias), d), (Linear(2 * d, bias=bias), 2 * d),
                (Linear(d, bias=attn.out_proj.bias is not None), d)))
    theirs = sum(p.numel() for p in attn.parameters())
    if ours != theirs:
        raise conv.fail(node, f"the simulator counts {ours} parameters for the cross-attention, PyTorch has {theirs}")
    conv.owner[("module", id(attn))] = out.layer
    return out


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
    attention, feed_forward = _blocks(conv, node, m, name, causal, stack, "encoder layer")

    def ff(h):
        return _dropout(conv, node, m.dropout2, f"{name}.dropout2", feed_forward(h), stack)

    norm1, norm2 = (_norm(conv, node, n) for n in (m.norm1, m.norm2))
    if m.norm_first:
        x = _sub(conv, node, None, f"{name}.add1", Elementwise("add"),
                 [x, attention(_sub(conv, node, m.norm1, f"{name}.norm1", norm1, [x], stack))], stack)
        return _sub(conv, node, None, f"{name}.add2", Elementwise("add"),
                    [x, ff(_sub(conv, node, m.norm2, f"{name}.norm2", norm2, [x], stack))], stack)
    x = _sub(conv, node, None, f"{name}.add1", Elementwise("add"), [x, attention(x)], stack)
    x = _sub(conv, node, m.norm1, f"{name}.norm1", norm1, [x], stack)
    x = _sub(conv, node, None, f"{name}.add2", Elementwise("add"), [x, ff(x)], stack)
    return _sub(conv, node, m.norm2, f"{name}.norm2", norm2, [x], stack)


def _blocks(conv, node, m, name: str, causal: bool, stack: list[str], what: str):
    """An encoder or decoder layer's self-attention block (with dropout1) and feed-forward block (without its
    last dropout, which is dropout2 in an encoder layer and dropout3 in a decoder layer)."""
    attn = m.self_attn
    conv.layout_check(node, type(m).__name__, attn.batch_first)
    if not attn._qkv_same_embed_dim or attn.bias_k is not None or attn.add_zero_attn:
        raise conv.fail(node, f"the {what}'s attention must have equal q/k/v widths, no bias_k/add_zero_attn")
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
        return _sub(conv, node, m.linear2, f"{name}.linear2", Linear(m.linear2.out_features,
                                                                     bias=m.linear2.bias is not None), [h], stack)

    return attention, feed_forward


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
