"""The torch.fx importer on a mixture of experts written as Hugging Face's MoE models write it (without the
library, which is not a dependency): a router (a linear layer to E logits, softmax, top-k) and a bank of experts
with 3-D weights, whose forward loops over the experts the sample's tokens chose."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from simulator.graph import SimulatorError
from simulator.importers.torch_fx import from_torch

E, H, INNER, K = 4, 16, 24, 2


class Experts(nn.Module):
    """gate_up_proj (E, 2I, H) and down_proj (E, H, I), or up_proj (E, I, H) alone without a gate."""

    def __init__(self, gated=True, bias=False):
        super().__init__()
        self.gated = gated
        width = 2 * INNER if gated else INNER
        if gated:
            self.gate_up_proj = nn.Parameter(torch.randn(E, width, H) * 0.1)
        else:
            self.up_proj = nn.Parameter(torch.randn(E, width, H) * 0.1)
        self.down_proj = nn.Parameter(torch.randn(E, H, INNER) * 0.1)
        self.down_proj_bias = nn.Parameter(torch.zeros(E, H)) if bias else None
        self.act_fn = nn.SiLU()

    def forward(self, hidden_states, top_k_index, top_k_weights):
        out = torch.zeros_like(hidden_states)
        hit = F.one_hot(top_k_index, num_classes=E).permute(2, 1, 0)
        for expert in range(E):   # the experts this sample's tokens chose: data-dependent
            pos, token = torch.where(hit[expert])
            if token.numel() == 0:
                continue
            h = hidden_states[token]
            first = self.gate_up_proj if self.gated else self.up_proj
            h = F.linear(h, first[expert])
            if self.gated:
                gate, up = h.chunk(2, dim=-1)
                h = self.act_fn(gate) * up
            else:
                h = self.act_fn(h)
            h = F.linear(h, self.down_proj[expert])
            if self.down_proj_bias is not None:
                h = h + self.down_proj_bias[expert]
            out.index_add_(0, token, h * top_k_weights[token, pos, None])
        return out


class Router(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(E, H) * 0.1)

    def forward(self, hidden_states):
        logits = F.linear(hidden_states, self.weight)
        probs = F.softmax(logits.float(), dim=-1)
        values, indices = torch.topk(probs, K, dim=-1)
        values /= values.sum(dim=-1, keepdim=True)
        return logits, values, indices


class SparseMoeBlock(nn.Module):
    def __init__(self, **experts):
        super().__init__()
        self.gate = Router()
        self.experts = Experts(**experts)

    def forward(self, hidden_states):
        b, t, h = hidden_states.shape
        rows = hidden_states.view(-1, h)
        _, weights, index = self.gate(rows)
        return self.experts(rows, index, weights).reshape(b, t, h)


class MoeLM(nn.Module):
    def __init__(self, **experts):
        super().__init__()
        self.embed = nn.Embedding(100, H)
        self.moe = SparseMoeBlock(**experts)
        self.head = nn.Linear(H, 100)

    def forward(self, ids):
        x = self.embed(ids)
        return self.head(x + self.moe(x))


def torch_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_a_bank_of_experts_counts_k_experts_per_token_and_every_experts_weights():
    model = MoeLM().eval()
    ids = torch.randint(0, 100, (2, 9))
    net = from_torch(model, ids)
    assert net.params == torch_params(model)            # all E experts' weights: gradients and optimizer state
    bank = net.layer("moe.experts.gate_up_proj")
    assert bank.kind == "parameter" and bank.params == E * 2 * INNER * H
    assert net.layer("moe.experts").out_shape == (9, H)
    # per token, k experts' products: 2 x (H x 2I + I x H) multiply-adds each
    products = sum(layer.fwd_flops for layer in net.layers if layer.kind == "matmul" and "experts" in layer.name)
    assert products == 9 * K * 2 * (H * 2 * INNER + INNER * H)
    # the same work as torch's counter sees when the sample's tokens run their experts one by one
    ours = sum(layer.fwd_flops for layer in net.layers if layer.kind in ("linear", "matmul")) * 2
    with FlopCounterMode(display=False) as counter:
        model(ids)
    biases = 2 * 9 * 100   # ours count the head's bias
    assert ours - biases == counter.get_total_flops()


def test_experts_without_a_gate_and_with_biases():
    model = MoeLM(gated=False, bias=True).eval()
    net = from_torch(model, torch.randint(0, 100, (2, 5)))
    assert net.params == torch_params(model)
    kinds = {layer.name.split(":")[-1]: layer.kind for layer in net.layers if layer.name.startswith("moe.experts")}
    assert kinds["act"] == "silu" and "glu" not in kinds and kinds["down_proj_bias"] == "add"
    products = sum(layer.fwd_flops for layer in net.layers if layer.kind == "matmul" and "experts" in layer.name)
    assert products == 5 * K * 2 * (H * INNER + INNER * H)


def test_a_bank_of_experts_called_otherwise_is_refused_in_one_line():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate = Router()
            self.experts = Experts()

        def forward(self, x):
            rows = x.view(-1, H)
            _, w, i = self.gate(rows)
            return self.experts(self.experts(rows, i, w), i, w)

    with pytest.raises(SimulatorError, match="called twice"):
        from_torch(Twice(), torch.randn(2, 3, H))


def test_a_module_of_expert_weights_computing_every_expert_is_traced_as_it_is():
    class Dense(Experts):   # every token through every expert, averaged: no routing, nothing data-dependent
        def forward(self, x):
            h = torch.einsum("bth,eih->btei", x, self.gate_up_proj)
            gate, up = h.chunk(2, dim=-1)
            return torch.einsum("btei,ehi->bth", self.act_fn(gate) * up, self.down_proj) / E

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.experts = Dense()

        def forward(self, x):
            return self.experts(x)

    net = from_torch(Net(), torch.randn(2, 3, H))
    assert not any(layer.name.startswith("experts:dispatch") for layer in net.layers)
    assert net.params == torch_params(Net())


class GroupRouter(nn.Module):
    """DeepSeek-V3's router: sigmoid scores plus a bias buffer choose the experts; the chosen experts' weights are
    gathered from the scores by the chosen indices."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(E, H) * 0.1)
        self.register_buffer("correction", torch.zeros(E))

    def forward(self, hidden_states):
        scores = F.linear(hidden_states, self.weight).sigmoid()
        choice = scores + self.correction          # merged rows plus a constant: still the network's
        index = torch.topk(choice, K, dim=-1)[1]
        weights = scores.gather(1, index)
        return None, weights / weights.sum(dim=-1, keepdim=True), index


def test_a_router_that_gathers_its_chosen_experts_weights():
    model = MoeLM().eval()
    model.moe.gate = GroupRouter()
    net = from_torch(model, torch.randint(0, 100, (2, 7)))
    assert net.params == torch_params(model)
    gather = net.layer("gather")
    assert gather.kind == "slice" and gather.out_shape == (7, K)
    # the bias buffer is added to the network's scores per sample, not folded into a constant
    assert net.layer("add").kind == "add" and net.layer("add").out_shape == (7, E)
    assert net.layer("moe.experts:weights").parents == ("truediv",)


class GptOssExperts(nn.Module):
    """GPT-OSS's bank: weights stored (in, out), gate_up_proj (E, H, 2I) and down_proj (E, I, H), with biases, gate
    and up interleaved, called with router_indices and routing_weights."""

    def __init__(self):
        super().__init__()
        self.gate_up_proj = nn.Parameter(torch.randn(E, H, 2 * INNER) * 0.1)
        self.gate_up_proj_bias = nn.Parameter(torch.zeros(E, 2 * INNER))
        self.down_proj = nn.Parameter(torch.randn(E, INNER, H) * 0.1)
        self.down_proj_bias = nn.Parameter(torch.zeros(E, H))

    def forward(self, hidden_states, router_indices=None, routing_weights=None):
        out = torch.zeros_like(hidden_states)
        hit = F.one_hot(router_indices, num_classes=E).permute(2, 1, 0)
        for expert in range(E):
            pos, token = torch.where(hit[expert])
            h = hidden_states[token] @ self.gate_up_proj[expert] + self.gate_up_proj_bias[expert]
            gate, up = h[..., ::2], h[..., 1::2]
            h = ((up + 1) * gate * torch.sigmoid(gate)) @ self.down_proj[expert] + self.down_proj_bias[expert]
            out.index_add_(0, token, h * routing_weights[token, pos, None])
        return out


def test_a_bank_of_experts_stored_input_by_output_with_other_argument_names():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate = Router()
            self.experts = GptOssExperts()

        def forward(self, x):
            rows = x.view(-1, H)
            _, weights, index = self.gate(rows)
            return self.experts(rows, index, weights).view(x.shape)

    model = Block().eval()
    x = torch.randn(2, 7, H)
    net = from_torch(model, x)
    assert net.params == torch_params(model)
    assert net.layer("experts.gate_up_proj").out_shape == (E, H, 2 * INNER)
    products = sum(layer.fwd_flops for layer in net.layers if layer.kind == "matmul" and "experts" in layer.name)
    assert products == 7 * K * 2 * (H * 2 * INNER + INNER * H)   # per sample: 7 tokens, k experts each
    with FlopCounterMode(display=False) as counter:
        model(x)
    router = 2 * 14 * H * E
    assert 2 * products + router == counter.get_total_flops()   # the batch of 2: what its tokens ran
