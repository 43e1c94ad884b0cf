"""A parameter read in forward and multiplied by a network tensor costs what nn.Linear costs (torch_weights.py);
work on parameters alone is done once per step."""
from __future__ import annotations

import pytest
import torch   # a hard dependency: a broken install must fail here, not be skipped
import torch.nn as nn
import torch.nn.functional as F

import simulator as sim
from simulator.importers.torch_fx import from_torch

N = 1024


class FLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.randn(N, N)), nn.Parameter(torch.zeros(N))

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class MatW(nn.Module):
    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(torch.randn(N, N))

    def forward(self, x):
        return x @ self.W


class SubLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x)   # its own forward: traced through, F.linear(x, self.weight, self.bias)


class Conv1D(nn.Module):   # Hugging Face GPT-2's
    def __init__(self):
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.randn(N, N)), nn.Parameter(torch.zeros(N))

    def forward(self, x):
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(x.size()[:-1] + (N,))


def _cost(layer, batch, tokens=()):
    net = from_torch(nn.Sequential(nn.Linear(N, N), layer, nn.Linear(N, 10)), torch.randn(batch, *tokens, N))
    r = sim.simulate(net, "cpu+1xV100-pcie3", 1)
    return net, r.step_time, r.peak_memory[1]


@pytest.mark.parametrize("make", [FLinear, MatW, lambda: SubLinear(N, N), Conv1D],
                         ids=["F.linear", "x@W", "Linear subclass", "Conv1D addmm"])
def test_a_parameter_read_in_forward_costs_what_nn_linear_costs(make):
    for batch in (8, 64):
        tokens = (4,) if make is Conv1D else ()
        _, step, peak = _cost(make(), batch, tokens)
        _, step_ref, peak_ref = _cost(nn.Linear(N, N), batch, tokens)
        assert step == pytest.approx(step_ref, rel=0.03) and peak == pytest.approx(peak_ref, rel=0.03)


class Transposed(nn.Module):
    """A parameter (out, in) read through a transpose, or through einsum."""

    def __init__(self, f):
        super().__init__()
        self.W, self.f = nn.Parameter(torch.randn(N, N)), f

    def forward(self, x):
        return self.f(x, self.W)


_TRANSPOSED = {"x@W.T": lambda x, W: x @ W.T, "x@W.t()": lambda x, W: x @ W.t(),
               "matmul W.transpose": lambda x, W: torch.matmul(x, W.transpose(0, 1)),
               "torch.t": lambda x, W: torch.mm(x, torch.t(W)), "x@W.mT": lambda x, W: x @ W.mT,
               "einsum bi,ij": lambda x, W: torch.einsum("bi,ij->bj", x, W),
               "einsum bi,ji": lambda x, W: torch.einsum("bi,ji->bj", x, W),
               "F.linear W.T": lambda x, W: F.linear(x, W.T)}


@pytest.mark.parametrize("form", list(_TRANSPOSED))
def test_a_parameter_read_transposed_or_by_einsum_costs_what_nn_linear_costs(form):
    for batch in (8, 64):
        net, step, peak = _cost(Transposed(_TRANSPOSED[form]), batch)
        _, step_ref, peak_ref = _cost(nn.Linear(N, N, bias=False), batch)
        assert step == pytest.approx(step_ref, rel=0.03) and peak == pytest.approx(peak_ref, rel=0.03)
        assert "transpose" not in [l.op.kind for l in net.layers]


def test_a_parameter_transposed_and_read_twice_is_still_correct():
    class Twice(nn.Module):   # the transpose is read by two products: kept, the weights counted once
        def __init__(self):
            super().__init__()
            self.W = nn.Parameter(torch.randn(N, N))

        def forward(self, x):
            t = self.W.T
            return x @ t + (x * 2) @ t

    net = from_torch(nn.Sequential(nn.Linear(N, N), Twice()), torch.randn(4, N))
    assert net.params == 2 * N * N + N


def test_work_on_parameters_alone_is_counted_once_per_step():
    class LoraMerged(nn.Module):
        def __init__(self):
            super().__init__()
            self.W, self.A, self.B = (nn.Parameter(torch.randn(256, 256)), nn.Parameter(torch.randn(8, 256)),
                                      nn.Parameter(torch.zeros(256, 8)))

        def forward(self, x):
            return F.linear(x, self.W + self.B @ self.A)

    for batch in (8, 64):
        net = from_torch(LoraMerged(), torch.randn(batch, 256))
        assert net.params == 256 * 256 + 2 * 8 * 256
        # the product with x once per sample; B @ A and the sum once per step, at any batch
        total = sum(l.fwd_flops for l in net.layers) * net.batch_size
        assert total == pytest.approx(2 * 256 * 256 * batch + 2 * 256 * 8 * 256 + 256 * 256)


def test_a_weight_read_twice_is_counted_once():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.W = nn.Parameter(torch.randn(64, 64))

        def forward(self, x):
            return (x @ self.W) @ self.W

    net = from_torch(Twice(), torch.randn(4, 64))
    assert net.params == 64 * 64
    assert sum(l.wgrad_flops for l in net.layers) == 2 * 2 * 64 * 64


def test_a_parameter_spread_to_the_batch_is_worked_on_per_sample():
    class ClassToken(nn.Module):
        def __init__(self):
            super().__init__()
            self.cls, self.pos = nn.Parameter(torch.zeros(1, 1, 16)), nn.Parameter(torch.zeros(1, 6, 16))

        def forward(self, x):   # a ViT's class token, each sample's copy, and its positions
            return torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos

    net = from_torch(ClassToken(), torch.randn(8, 5, 16))
    assert net.layer("cat").fwd_read == 6 * 16 and net.layer("add").fwd_flops == 6 * 16
    assert net.layer("add").saved_inputs == () or 1 not in net.layer("add").saved_inputs
