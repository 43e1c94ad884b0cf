"""Dense algebra: linear layers, matrix products, attention, embeddings.

T below is the number of rows a layer applies to (tokens: the product of all
but the last input axis), D the model width, h the number of heads, V a
vocabulary size. A multiply-add is 2 FLOPs.

| op | params | forward | data gradient (per input) | weight gradient | saved |
|---|---|---|---|---|---|
| linear | Din*Dout (+Dout) | 2*T*Din*Dout (+T*Dout bias) | 2*T*Din*Dout | 2*T*Din*Dout (+T*Dout) | input |
| matmul A(..,M,K) B(..,K,N) | 0 | 2*B*M*K*N | A: 2*B*M*K*N, B: 2*B*M*K*N | 0 | both inputs |
| triangular_solve A(..,N,N) B(..,N,K) | 0 | B*N*N*K | A: B*N*N*K, B: B*N*N*K | 0 | both inputs |
| attention_scores qkv(T,3D) -> (h,T,T) | 0 | 2*T*T*D + h*T*T (scale) (+h*T*T mask if causal) | 4*T*T*D + h*T*T | 0 | qkv |
| attention_context P(h,T,T), qkv -> (T,D) | 0 | 2*T*T*D | P: 2*T*T*D, qkv: 2*T*T*D | 0 | P, qkv |
| multi_head_attention (T,D) -> (T,D), fused | 4*D*D (+4*D) | the sum of its parts | the sum of its parts | the sum of its parts | input + qkv, P, context |
| embedding ids(T) -> (T,D) | V*D | 0 (a gather) | 0 (ids take no gradient) | T*D (scatter-add) | ids |
| position_embedding (T,D) -> (T,D) | L*D | T*D (adds) | 0 (passes through) | T*D | nothing |

The scores of causal attention are computed in full, as dense kernels do, and
masked (1 FLOP per score); the `causal` flag records the mask. The fused
`multi_head_attention` is self-attention (query = key = value = its input)
made of: QKV projection (linear D->3D), scores, softmax over the last axis,
context, output projection (linear D->D); the parts are also ops of their own
(`linear`, `attention_scores`, `softmax`, `attention_context`), which the zoo
uses so that each kernel is a layer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from simulator.graph import Shape
from simulator.ops.base import Counts, OpBase, fail, positive, prod
from simulator.ops.elementwise import Softmax


@dataclass(frozen=True)
class Linear(OpBase):
    """y = x W + b on the last axis; `flatten=True` first flattens the sample
    into one vector, as Paleo's InnerProduct does."""

    kind: ClassVar[str] = "linear"
    out_features: int
    bias: bool = True
    flatten: bool = False

    def __post_init__(self):
        positive(self.out_features, "out_features")

    def rows_and_width(self, x: Shape) -> tuple[int, int]:
        if self.flatten or len(x) == 0:
            return 1, prod(x)
        return prod(x[:-1]), x[-1]

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if prod(x) < 1:
            fail(f"linear got an empty input of shape {x}")
        if self.flatten or len(x) == 0:
            return (self.out_features,)
        return x[:-1] + (self.out_features,)

    def counts(self, ins, out) -> Counts:
        rows, din = self.rows_and_width(ins[0])
        macs = rows * din * self.out_features
        bias_ops = rows * self.out_features if self.bias else 0
        return Counts(
            params=din * self.out_features + (self.out_features if self.bias else 0),
            fwd=2 * macs + bias_ops,
            dgrad=(2 * macs,),
            wgrad=2 * macs + bias_ops,
            read=prod(ins[0]),
            write=prod(out),
            saved_inputs=(0,),
        )


def _broadcast(a: Shape, b: Shape, what: str) -> Shape:
    """NumPy broadcasting of two shapes, or a one-line error."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            fail(f"{what}: shapes {a} and {b} do not broadcast")
        out.append(max(x, y) if 1 in (x, y) else x)
    return tuple(reversed(out))


@dataclass(frozen=True)
class MatMul(OpBase):
    """Product of two activations, NumPy semantics (batch axes broadcast);
    `transpose_b=True` multiplies by B transposed on its last two axes."""

    kind: ClassVar[str] = "matmul"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2
    transpose_b: bool = False

    def dims(self, ins) -> tuple[Shape, int, int, int, tuple[bool, bool]]:
        a, b = ins
        if not a or not b:
            fail("matmul needs inputs with at least one axis")
        a_vec, b_vec = len(a) == 1, len(b) == 1
        a2 = (1,) + a if a_vec else a
        b2 = b + (1,) if b_vec else b
        if self.transpose_b and not b_vec:
            b2 = b2[:-2] + (b2[-1], b2[-2])
        m, k = a2[-2], a2[-1]
        k2, n = b2[-2], b2[-1]
        if k != k2:
            fail(f"matmul: inner sizes differ, {a} @ {b}"
                 + (" (B transposed)" if self.transpose_b else "") + f": {k} != {k2}")
        batch = _broadcast(a2[:-2], b2[:-2], "matmul batch axes")
        return batch, m, k, n, (a_vec, b_vec)

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        batch, m, _, n, (a_vec, b_vec) = self.dims(ins)
        return batch + ((m,) if not a_vec else ()) + ((n,) if not b_vec else ())

    def counts(self, ins, out) -> Counts:
        batch, m, k, n, _ = self.dims(ins)
        macs = prod(batch) * m * k * n
        return Counts(fwd=2 * macs, dgrad=(2 * macs, 2 * macs), read=prod(ins[0]) + prod(ins[1]),
                      write=prod(out), saved_inputs=(0, 1))


@dataclass(frozen=True)
class TriangularSolve(MatMul):
    """X with A X = B for a triangular A (.., N, N) and B (.., N, K), batch axes broadcast (torch.linalg.
    solve_triangular: the chunked delta rule of Gated DeltaNet, Qwen3-Next's linear attention). Substitution
    costs a multiply-add for each of the N (N - 1) / 2 entries of A's triangle and each of the K columns: N*N*K
    FLOPs, half a product's; the gradient towards B is one more solve (with A transposed), towards A a product
    kept to A's triangle, N*N*K each."""

    kind: ClassVar[str] = "triangular_solve"

    def dims(self, ins):
        a, b = ins
        if len(a) < 2 or a[-1] != a[-2] or len(b) < 2:
            fail(f"triangular_solve needs a square A (.., N, N) and B (.., N, K), got {a} and {b}")
        return super().dims(ins)

    def counts(self, ins, out) -> Counts:
        batch, n, _, k, _ = self.dims(ins)
        flops = prod(batch) * n * n * k
        return Counts(fwd=flops, dgrad=(flops, flops), read=prod(ins[0]) // 2 + prod(ins[1]), write=prod(out),
                      saved_inputs=(0, 1))


def _qkv(x: Shape, heads: int, what: str) -> tuple[int, int]:
    if len(x) != 2 or x[1] % 3:
        fail(f"{what} expects the fused QKV tensor (T, 3*D) per sample, got {x}")
    t, d = x[0], x[1] // 3
    if d % heads:
        fail(f"{what}: model width {d} is not divisible by {heads} heads")
    return t, d


@dataclass(frozen=True)
class AttentionScores(OpBase):
    """Scaled scores Q K^T / sqrt(D/h) per head, from the fused QKV tensor."""

    kind: ClassVar[str] = "attention_scores"
    heads: int = 1
    causal: bool = False

    def __post_init__(self):
        positive(self.heads, "heads")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        t, _ = _qkv(ins[0], self.heads, "attention scores")
        return (self.heads, t, t)

    def counts(self, ins, out) -> Counts:
        t, d = _qkv(ins[0], self.heads, "attention scores")
        scores = self.heads * t * t
        return Counts(
            fwd=2 * t * t * d + scores + (scores if self.causal else 0),
            dgrad=(4 * t * t * d + scores,),
            read=2 * t * d,  # Q and K: two thirds of the QKV tensor
            write=scores,
            saved_inputs=(0,),
        )


@dataclass(frozen=True)
class AttentionContext(OpBase):
    """Context P V per head, heads concatenated: (h,T,T) and (T,3D) -> (T,D)."""

    kind: ClassVar[str] = "attention_context"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2
    heads: int = 1

    def __post_init__(self):
        positive(self.heads, "heads")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        p, qkv = ins
        t, d = _qkv(qkv, self.heads, "attention context")
        if p != (self.heads, t, t):
            fail(f"attention context expects probabilities of shape {(self.heads, t, t)}, got {p}")
        return (t, d)

    def counts(self, ins, out) -> Counts:
        t, d = _qkv(ins[1], self.heads, "attention context")
        macs = t * t * d
        return Counts(fwd=2 * macs, dgrad=(2 * macs, 2 * macs), read=prod(ins[0]) + t * d,
                      write=prod(out), saved_inputs=(0, 1))


@dataclass(frozen=True)
class MultiHeadAttention(OpBase):
    """Fused multi-head self-attention (PyTorch's nn.MultiheadAttention with
    query = key = value): (T, D) -> (T, D)."""

    kind: ClassVar[str] = "multi_head_attention"
    heads: int = 1
    causal: bool = False
    bias: bool = True

    def __post_init__(self):
        positive(self.heads, "heads")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if len(x) != 2:
            fail(f"multi-head attention expects (T, D) per sample, got {x}")
        if x[1] % self.heads:
            fail(f"multi-head attention: width {x[1]} is not divisible by {self.heads} heads")
        return x

    def parts(self, x: Shape) -> list[tuple[OpBase, tuple[Shape, ...], Shape]]:
        t, d = x
        qkv, probs = (t, 3 * d), (self.heads, t, t)
        return [
            (Linear(3 * d, bias=self.bias), (x,), qkv),
            (AttentionScores(self.heads, self.causal), (qkv,), probs),
            (_SOFTMAX, (probs,), probs),
            (AttentionContext(self.heads), (probs, qkv), (t, d)),
            (Linear(d, bias=self.bias), ((t, d),), (t, d)),
        ]

    def counts(self, ins, out) -> Counts:
        rows = [(op, op.counts(i, o)) for op, i, o in self.parts(ins[0])]
        t, d = ins[0]
        return Counts(
            params=sum(c.params for _, c in rows),
            fwd=sum(c.fwd for _, c in rows),
            dgrad=(sum(sum(c.dgrad) for _, c in rows),),
            wgrad=sum(c.wgrad for _, c in rows),
            read=sum(c.read for _, c in rows),
            write=sum(c.write for _, c in rows),
            saved_inputs=(0,),
            saved_private=3 * t * d + self.heads * t * t + t * d,  # qkv, probabilities, context
        )


@dataclass(frozen=True)
class Embedding(OpBase):
    """Table lookup: integer ids of any shape -> shape + (dim,)."""

    kind: ClassVar[str] = "embedding"
    vocab: int
    dim: int

    def __post_init__(self):
        positive(self.vocab, "vocab")
        positive(self.dim, "dim")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        return ins[0] + (self.dim,)

    def counts(self, ins, out) -> Counts:
        n_ids = prod(ins[0])
        return Counts(params=self.vocab * self.dim, fwd=0, dgrad=(0,), wgrad=n_ids * self.dim,
                      read=n_ids, write=prod(out), saved_inputs=(0,))


@dataclass(frozen=True)
class PositionEmbedding(OpBase):
    """Adds learned position rows (max_len, dim) to a (T, dim) sequence, T <= max_len."""

    kind: ClassVar[str] = "position_embedding"
    max_len: int
    dim: int

    def __post_init__(self):
        positive(self.max_len, "max_len")
        positive(self.dim, "dim")

    def _infer(self, ins: tuple[Shape, ...]) -> Shape:
        (x,) = ins
        if len(x) != 2 or x[1] != self.dim:
            fail(f"position embedding expects (T, {self.dim}) per sample, got {x}")
        if x[0] > self.max_len:
            fail(f"sequence of {x[0]} positions is longer than the {self.max_len} learned positions")
        return x

    def counts(self, ins, out) -> Counts:
        n = prod(out)
        return Counts(params=self.max_len * self.dim, fwd=n, dgrad=(0,), wgrad=n, read=n, write=n)


_SOFTMAX = Softmax()  # the fused attention's softmax over the last axis
