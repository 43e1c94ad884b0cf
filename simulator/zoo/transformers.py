"""GPT-2 (Radford et al. 2019) and BERT (Devlin et al. 2019) as the reference
implementations define them (OpenAI's GPT-2 release / Hugging Face
`GPT2Model` + tied LM head; Google's BERT / Hugging Face `BertModel`).

Each attention is written as its kernels: fused QKV projection (one D x 3D
linear; BERT's three D x D projections have the same parameters and FLOPs),
scores (causal in GPT-2), softmax, attention dropout, context, output
projection, residual dropout, residual add. Dropout layers are included
(training); with dropout=0.0 they are views of their inputs that cost nothing,
as F.dropout(x, 0.0) is x.

GPT-2: pre-LN blocks, learned positions (1024), GELU MLP of width 4D, final
layer norm, LM head tied to the token embedding (no extra parameters, its
FLOPs counted). Sizes: small (D 768, 12 layers, 12 heads) 124,439,808
parameters; medium (1024, 24, 16) 354,823,168; large (1280, 36, 20)
774,030,080; xl (1600, 48, 25) 1,557,611,200. `seq_len` defaults to the full
1024-token context.

BERT: post-LN blocks; embeddings = word (30,522) + token type (2) + learned
positions (512), then layer norm and dropout; the pooler (dense + tanh on the
[CLS] token) is included, the pre-training heads are not. base (768, 12, 12):
109,482,240 parameters; large (1024, 24, 16): 335,141,888. `seq_len`
defaults to 512, the full context (pre-training ran 90% of its steps at 128).

Natural blocks: embeddings, each transformer layer, the head (final norm and
LM head / pooler).
"""
from __future__ import annotations

from simulator.graph import Network, SimulatorError
from simulator.ops import (AttentionContext, AttentionScores, Dropout, Embedding, Input, LayerNorm,
                           Linear, PositionEmbedding, Select, Softmax, add, gelu, tanh)
from simulator.zoo._builder import NetBuilder

GPT2_SIZES = {  # d_model, layers, heads
    "small": (768, 12, 12),
    "medium": (1024, 24, 16),
    "large": (1280, 36, 20),
    "xl": (1600, 48, 25),
}
GPT2_PUBLISHED = {"small": 124_439_808, "medium": 354_823_168, "large": 774_030_080,
                  "xl": 1_557_611_200}
GPT2_VOCAB, GPT2_POSITIONS = 50257, 1024

BERT_SIZES = {"base": (768, 12, 12), "large": (1024, 24, 16)}
BERT_PUBLISHED = {"base": 109_482_240, "large": 335_141_888}
BERT_VOCAB, BERT_POSITIONS, BERT_TYPES = 30522, 512, 2


def _attention(b: NetBuilder, x: str, d: int, heads: int, causal: bool, dropout: float) -> str:
    """The attention kernels on a (T, D) input; returns the dropped-out projection."""
    qkv = b.add("attn_qkv", Linear(3 * d), x)
    s = b.add("attn_scores", AttentionScores(heads, causal=causal), qkv)
    p = b.add("attn_softmax", Softmax(), s)
    p = b.add("attn_dropout", Dropout(dropout), p)
    c = b.add("attn_context", AttentionContext(heads), p, qkv)
    o = b.add("attn_proj", Linear(d), c)
    return b.add("attn_resid_dropout", Dropout(dropout), o)


def _check_seq(seq_len, limit: int, model: str) -> None:
    if not isinstance(seq_len, int) or isinstance(seq_len, bool) or not 1 <= seq_len <= limit:
        raise SimulatorError(f"{model} seq_len must be an integer in 1..{limit}, not {seq_len!r}")


def gpt2(batch_size: int, size: str = "small", seq_len: int = GPT2_POSITIONS,
         dropout: float = 0.1) -> Network:
    if size not in GPT2_SIZES:
        from simulator.graph import did_you_mean
        raise SimulatorError(f"unknown gpt2 size '{size}' (use {', '.join(GPT2_SIZES)})"
                             + did_you_mean(size, GPT2_SIZES))
    _check_seq(seq_len, GPT2_POSITIONS, "gpt2")
    d, n_layers, heads = GPT2_SIZES[size]
    b = NetBuilder(f"gpt2-{size}")
    ids = b.add("tokens", Input((seq_len,)))
    with b.block("embeddings", prefix=False):
        x = b.add("wte", Embedding(GPT2_VOCAB, d), ids)
        x = b.add("wpe", PositionEmbedding(GPT2_POSITIONS, d), x)
        x = b.add("embed_dropout", Dropout(dropout), x)
    for i in range(n_layers):
        with b.block(f"h.{i}"):
            y = b.add("ln_1", LayerNorm(), x)
            y = _attention(b, y, d, heads, True, dropout)
            x = b.add("add_1", add(same_shape=True), x, y)
            y = b.add("ln_2", LayerNorm(), x)
            y = b.add("mlp_fc", Linear(4 * d), y)
            y = b.add("mlp_gelu", gelu(), y)
            y = b.add("mlp_proj", Linear(d), y)
            y = b.add("mlp_dropout", Dropout(dropout), y)
            x = b.add("add_2", add(same_shape=True), x, y)
    with b.block("head", prefix=False):
        x = b.add("ln_f", LayerNorm(), x)
        b.add("lm_head", Linear(GPT2_VOCAB, bias=False), x, shares_weights_with="wte")
    return b.build(batch_size, published_params=GPT2_PUBLISHED[size], d_model=d,
                   n_layers=n_layers, heads=heads, seq_len=seq_len, vocab=GPT2_VOCAB)


def bert(batch_size: int, size: str = "base", seq_len: int = BERT_POSITIONS,
         dropout: float = 0.1) -> Network:
    if size not in BERT_SIZES:
        from simulator.graph import did_you_mean
        raise SimulatorError(f"unknown bert size '{size}' (use {', '.join(BERT_SIZES)})"
                             + did_you_mean(size, BERT_SIZES))
    _check_seq(seq_len, BERT_POSITIONS, "bert")
    d, n_layers, heads = BERT_SIZES[size]
    b = NetBuilder(f"bert-{size}")
    ids = b.add("input_ids", Input((seq_len,)))
    types = b.add("token_type_ids", Input((seq_len,)))
    with b.block("embeddings", prefix=False):
        w = b.add("word_embeddings", Embedding(BERT_VOCAB, d), ids)
        t = b.add("token_type_embeddings", Embedding(BERT_TYPES, d), types)
        x = b.add("embeddings_add", add(same_shape=True), w, t)
        x = b.add("position_embeddings", PositionEmbedding(BERT_POSITIONS, d), x)
        x = b.add("embeddings_ln", LayerNorm(), x)
        x = b.add("embeddings_dropout", Dropout(dropout), x)
    for i in range(n_layers):
        with b.block(f"layer.{i}"):
            y = _attention(b, x, d, heads, False, dropout)
            x = b.add("attn_add", add(same_shape=True), x, y)
            x = b.add("attn_ln", LayerNorm(), x)
            y = b.add("intermediate", Linear(4 * d), x)
            y = b.add("intermediate_gelu", gelu(), y)
            y = b.add("output", Linear(d), y)
            y = b.add("output_dropout", Dropout(dropout), y)
            x = b.add("output_add", add(same_shape=True), x, y)
            x = b.add("output_ln", LayerNorm(), x)
    with b.block("pooler", prefix=False):
        c = b.add("cls_token", Select(axis=0, index=0), x)
        c = b.add("pooler_dense", Linear(d), c)
        b.add("pooler_tanh", tanh(), c)
    return b.build(batch_size, published_params=BERT_PUBLISHED[size], d_model=d,
                   n_layers=n_layers, heads=heads, seq_len=seq_len, vocab=BERT_VOCAB)
