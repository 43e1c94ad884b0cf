"""A mixture of experts: a bank of feed-forward experts, each token routed to k of them by a learned router.

Hugging Face's MoE models (Mixtral, Qwen-MoE, DeepSeek, OLMoE, Granite-MoE, ...: 67 families in transformers
5) keep a layer's experts as one module of 3-D weights, ``gate_up_proj`` (E, 2I, H) (or ``up_proj`` (E, I, H),
without a gate) and ``down_proj`` (E, H, I), called with the tokens, the router's top-k expert indices and
their weights (GPT-OSS stores them (in, out): (E, H, 2I) and (E, I, H), with biases, and names the last two
``router_indices`` and ``routing_weights``). Which token goes to which expert depends on the data (the module loops over the experts the
sample hit, which torch.fx cannot trace); the step's work, on average, does not: each token runs k experts.
So the module is kept whole and written as the work of balanced routing:

    tokens (T, H) -> each copied to its k experts (T, k, H): the dispatch, a copy
    -> @ one expert's gate and up weights (2I, H), read from the bank parameter (E, 2I, H)
    -> act(gate) * up (T, k, I) -> @ one expert's down weights (H, I) from the bank (E, H, I)
    -> times the router's weights (T, k) -> summed over the k: the combine (T, H)

FLOPs are those of k experts per token; the parameters, their gradients and optimizer state are those of
all E experts (the bank); the weight gradient's work is the products' gradient towards the expert's weights,
one per routed token. The router itself (a linear layer to E logits, softmax, top-k) is traced as it is.
"""
from __future__ import annotations

import inspect

from simulator.ops import Activation, Elementwise, MatMul, Mean, Parameter, Repeat, Reshape, Select, Slice

from .torch_nodes import PLAIN, SHARED, _Merged, _Multi, _Other, _Tensor

_ACTIVATIONS = ("silu", "gelu", "relu", "tanh", "sigmoid")
# what a bank of experts is called with: the tokens, the router's top-k indices and their weights
ROUTINGS = (("hidden_states", "top_k_index", "top_k_weights"), ("hidden_states", "router_indices", "routing_weights"))


def experts_layout(m) -> tuple[int, int, int, bool, bool, tuple] | None:
    """(experts, hidden, inner, gated, transposed, the forward's three argument names) when `m` is a bank of
    experts in Hugging Face's layout (or GPT-OSS's: ``gate_up_proj`` (E, H, 2I) and ``down_proj`` (E, I, H),
    called with ``router_indices`` and ``routing_weights``), else None."""
    import torch.nn as nn
    own = dict(m.named_parameters(recurse=False))
    down = own.get("down_proj")
    gate_up, up = own.get("gate_up_proj"), own.get("up_proj")
    first = gate_up if gate_up is not None else up
    if not isinstance(down, nn.Parameter) or first is None or down.dim() != 3 or first.dim() != 3 or \
            any(True for c in m.children() for _ in c.parameters()):   # an activation module is no weight
        return None
    gated = gate_up is not None
    e, a, b = (int(d) for d in down.shape)
    if tuple(first.shape) == (e, 2 * b if gated else b, a):
        h, i, transposed = a, b, False
    elif tuple(first.shape) == (e, b, 2 * a if gated else a):   # x @ W: the weights stored (in, out)
        h, i, transposed = b, a, True
    else:
        return None
    extra = set(own) - {"down_proj", "gate_up_proj", "up_proj", "gate_up_proj_bias", "up_proj_bias", "down_proj_bias"}
    # and called with the routing (a module of such weights computing every expert for every token is traced)
    try:
        names = tuple(p.name for p in inspect.signature(m.forward).parameters.values())[:3]
    except (TypeError, ValueError):
        return None
    return None if extra or names not in ROUTINGS else (e, h, i, gated, transposed, names)


def _activation(m) -> str:
    """The experts' activation by the name of its function or module (SiLU unless another is named)."""
    fn = getattr(m, "act_fn", None)
    name = (getattr(fn, "__name__", "") or type(fn).__name__).lower()
    return next((a for a in _ACTIVATIONS if a in name), "silu")


class ExpertNodes:
    """The converter's handling of a bank of experts and of the router's top-k."""

    def topk(self, node, args, kwargs, meta):
        """torch.topk over the last axis (a router's k experts per token): the values, a slice's worth of
        output; the indices only route tokens, which the experts' work does not depend on."""
        given = dict(zip(("input", "k", "dim", "largest", "sorted"), args), **kwargs)
        dim, k = given.get("dim", -1), given["k"]
        if not isinstance(k, int) or dim % len(meta[0].shape) != len(meta[0].shape) - 1:
            raise self.fail(node, "topk: only a number k of values over the last dimension is supported")
        return _Multi(self.picked(node, given["input"], k, meta[0]), "topk")

    def picked(self, node, source, k: int, meta):
        """k values of each row of `source` picked along its last axis (by topk, or gathered by a router's
        indices): a slice's worth of output, merged rows kept merged."""
        value = self.env.get(source)
        prefix = value.prefix if isinstance(value, _Merged) else None
        x = self.as_layout(node, self.tensor(node, source), PLAIN)
        done = self.rows_done(node, prefix, meta) if prefix is not None else \
            (lambda op, parents, layout: self.add(node, node.name, op, parents, layout, tuple(meta.shape)))
        return done(Slice(-1, 0, k), [x], PLAIN)

    def routed_gather(self, node, args, kwargs, meta):
        """scores.gather(-1, indices) with a router's top-k indices (DeepSeek's weights of its chosen experts):
        as topk's values, or None when it is another gather."""
        given = dict(zip(("input", "dim", "index"), args), **kwargs)
        index = self.env.get(given.get("index"))
        source = self.env.get(given.get("input"))
        if not isinstance(index, _Other) or not isinstance(source, (_Tensor, _Merged)) or not hasattr(meta, "shape"):
            return None
        # the rank torch sees: merged rows count as one axis (the metadata here spells them out)
        rank = len(meta.shape) - (len(source.prefix) - 1 if isinstance(source, _Merged) else 0)
        if not isinstance(given.get("dim"), int) or given["dim"] % rank != rank - 1:
            return None
        # on merged rows the converter has spelled the rows out in `meta` and merges the result again
        x = self.as_layout(node, self.tensor(node, given["input"]), PLAIN)
        return self.add(node, node.name, Slice(-1, 0, int(meta.shape[-1])), [x], PLAIN, tuple(meta.shape))

    def experts(self, node, m, layout: tuple[int, int, int, bool], args, kwargs, expect):
        """The bank of experts called with (tokens, top-k indices, top-k weights): see the module docstring."""
        e, h, inner, gated, transposed, routed_as = layout
        given = dict(zip(routed_as, args), **kwargs)
        if set(given) != set(routed_as):
            raise self.fail(node, f"{type(m).__name__} is called with {sorted(given)}; a bank of experts takes the "
                                  "tokens, the top-k expert indices and their weights")
        if ("module", id(m)) in self.owner:
            raise self.fail(node, f"{type(m).__name__} called twice: a bank of experts is supported once")
        x = self.as_layout(node, self.tensor(node, given[routed_as[0]]), PLAIN)
        w = self.weights_of(node, given[routed_as[2]])
        tokens = self.shapes[x.layer]
        k = self.shapes[w.layer][-1]
        if not tokens or tokens[-1] != h or self.shapes[w.layer][:-1] != tokens[:-1]:
            raise self.fail(node, f"{type(m).__name__}: tokens of shape {tokens} and top-k weights of shape "
                                  f"{self.shapes[w.layer]} do not fit experts of width {h}")
        name = node.target
        stack = self.stack_of(node)
        stack = stack if stack and stack[-1] == node.target else stack + [node.target]

        def add(suffix, op, parents, expect=None):   # expect: torch's shape of the module's output, checked
            return self.add(node, f"{name}{suffix}", op, parents, PLAIN if any(
                p.layout != SHARED for p in parents) else SHARED, expect, stack=stack)

        def bank(param: str, shape: tuple):
            p = self.add(node, f"{name}.{param}", Parameter(shape), [], SHARED, None, stack=stack)
            self.owner.setdefault(("param", id(getattr(m, param))), p.layer)
            self.module_params.add(id(getattr(m, param)))
            return add(f":{param}:expert", Select(0, 0), [p])   # one expert's slice: what each token's rows read

        def biased(t, param: str, width: int):
            if getattr(m, param, None) is None:
                return t
            return add(f":{param}", Elementwise("add"), [t, bank(param, (e, width))])

        one = add(":tokens", Reshape(tokens[:-1] + (1, h)), [x])
        routed = add(":dispatch", Repeat(tokens[:-1] + (k, h)), [one])
        width = 2 * inner if gated else inner
        proj = "gate_up_proj" if gated else "up_proj"
        hidden = biased(add(f":{proj}_matmul", MatMul(transpose_b=not transposed),
                            [routed, bank(proj, (e, h, width) if transposed else (e, width, h))]), f"{proj}_bias", width)
        act = Activation(_activation(m))
        if gated:
            gate = add(":gate", Slice(-1, 0, inner), [hidden])
            up = add(":up", Slice(-1, inner, 2 * inner), [hidden])
            hidden = add(":glu", Elementwise("mul"), [add(":act", act, [gate]), up])
        else:
            hidden = add(":act", act, [hidden])
        out = biased(add(":down_proj_matmul", MatMul(transpose_b=not transposed),
                         [hidden, bank("down_proj", (e, inner, h) if transposed else (e, h, inner))]), "down_proj_bias", h)
        scale = add(":weights", Reshape(tokens[:-1] + (k, 1)), [w])
        out = add(":weighted", Elementwise("mul"), [out, scale])
        t = add("", Mean((len(tokens) - 1,)), [out], expect)
        self.owner.setdefault(("module", id(m)), t.layer)
        return _Tensor(t.layer, PLAIN, expect)

    def weights_of(self, node, arg) -> _Tensor:
        value = self.env.get(arg) if hasattr(arg, "op") else None
        if isinstance(value, _Other) or value is None:
            raise self.fail(node, "the experts' top-k weights are not a tensor of the network")
        return self.as_layout(node, self.tensor(node, arg), PLAIN)
