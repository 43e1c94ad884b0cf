"""Ensembles of small networks trained as one: every parameter has the member as its first dimension.

k members of the same architecture are one module whose weights are stacked
(``(k, in, out)``), so a mini-batch step of the whole ensemble is a few batched
matrix products instead of k small ones; on a CPU that is several times faster
for the network sizes a design-space surrogate needs. Members share nothing but
the shapes: each has its own initialisation, its own mini-batches and its own
validation part, and its gradients depend on its own loss only.

Input: ``(n, d)`` features shared by every member (prediction) or ``(k, n, d)``
one batch per member (training). Output: ``(k, n, outputs)``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"silu": F.silu, "relu": F.relu, "tanh": torch.tanh, "gelu": F.gelu}


def _uniform(shape: tuple, fan_in: int, gen: torch.Generator) -> nn.Parameter:
    # torch.nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases
    bound = 1.0 / math.sqrt(max(fan_in, 1))
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound, generator=gen))


class BatchedDense(nn.Module):
    """k independent dense layers."""

    def __init__(self, k: int, n_in: int, n_out: int, gen: torch.Generator):
        super().__init__()
        self.k, self.n_in, self.n_out = k, n_in, n_out
        self.weight = _uniform((k, n_in, n_out), n_in, gen)
        self.bias = _uniform((k, 1, n_out), n_in, gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            # the same input for every member: one (n, d) x (d, k*out) product
            w = self.weight.permute(1, 0, 2).reshape(self.n_in, self.k * self.n_out)
            y = torch.addmm(self.bias.reshape(1, -1), x, w)
            return y.view(x.shape[0], self.k, self.n_out).transpose(0, 1)
        return torch.baddbmm(self.bias, x, self.weight)


class BatchedMLP(nn.Module):
    """k multi-layer perceptrons: dense -> activation (-> dropout) ... -> linear output."""

    kind = "mlp"

    def __init__(self, k: int, n_in: int, hidden: list[int], n_out: int, activation: str = "silu",
                 dropout: float = 0.0, seed: int = 0, pooling: dict | None = None):
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        self.members = k
        self.act = ACTIVATIONS[activation]
        self.dropout = float(dropout)
        self.pool = None
        if pooling:   # a repeated knob's values pooled (see _pooling.py), handed to the first layer
            from ._pooling import BatchedFamilyPooling
            self.pool = BatchedFamilyPooling(k, n_in, pooling["families"], pooling["other"],
                                             pooling["channels"], pooling["width"], self.act, gen,
                                             pooling.get("own"))
        # the columns the first dense layer reads as they are (all, unless the pooling block names them)
        direct = (pooling or {}).get("direct")
        self.register_buffer("direct", None if direct is None else torch.as_tensor(direct, dtype=torch.long),
                             persistent=False)
        n_direct = n_in if direct is None else len(direct)
        dims = [n_direct + (self.pool.out_dim if self.pool is not None else 0), *hidden, n_out]
        self.dense = nn.ModuleList(BatchedDense(k, a, b, gen) for a, b in zip(dims[:-1], dims[1:]))
        self.config = {"kind": self.kind, "members": k, "inputs": n_in, "hidden": list(hidden),
                       "outputs": n_out, "activation": activation, "dropout": self.dropout}
        if pooling:
            self.config["pooling"] = pooling

    def weight_layers(self) -> list[nn.Module]:
        return ([self.pool] if self.pool is not None else []) + list(self.dense)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.pool is not None:
            pooled = self.pool(h)
            if self.direct is not None:
                h = h.index_select(-1, self.direct)
            if h.dim() == 2:
                h = h.unsqueeze(0).expand(self.members, *h.shape)
            h = torch.cat([h, pooled], dim=-1)
        last = len(self.dense) - 1
        for i, layer in enumerate(self.dense):
            h = layer(h)
            if i < last:
                h = self.act(h)
                if self.dropout and self.training:
                    h = F.dropout(h, self.dropout, True)
        return h


class BatchedCNN(nn.Module):
    """k copies of Deffe's 1-D convolutional network over the feature vector.

    Deffe (keras_cnn.py, convs=2): the features as a 1-channel sequence, Conv1D
    32 filters of width 3 (tanh), Conv1D 64 filters of width 3 (tanh), flatten,
    dense (tanh), dense (relu), output. Here the convolutions pad ('same') so
    that any number of knobs works (Deffe's 'valid' convolutions needed at least
    five features), further convolutions keep 64 channels, and the dense widths
    are ``hidden`` (Deffe: 256 then 32). The members are the groups of grouped
    convolutions.
    """

    kind = "cnn"
    CHANNELS = (32, 64)

    def __init__(self, k: int, n_in: int, convs: int, hidden: list[int], n_out: int, dropout: float = 0.0,
                 seed: int = 0, kernel: int = 3):
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        self.members, self.n_in, self.kernel = k, n_in, kernel
        self.dropout = float(dropout)
        chans = [1] + [self.CHANNELS[min(i, len(self.CHANNELS) - 1)] for i in range(convs)]
        self.conv_w = nn.ParameterList()
        self.conv_b = nn.ParameterList()
        for a, b in zip(chans[:-1], chans[1:]):
            self.conv_w.append(_uniform((k, b, a, kernel), a * kernel, gen))
            self.conv_b.append(_uniform((k, b), a * kernel, gen))
        self.chans = chans
        flat = chans[-1] * n_in
        dims = [flat, *hidden, n_out]
        self.dense = nn.ModuleList(BatchedDense(k, a, b, gen) for a, b in zip(dims[:-1], dims[1:]))
        self.config = {"kind": self.kind, "members": k, "inputs": n_in, "convs": convs, "hidden": list(hidden),
                       "outputs": n_out, "dropout": self.dropout}

    def weight_layers(self) -> list:
        convs = [(w, b) for w, b in zip(self.conv_w, self.conv_b)]
        return [*convs, *self.dense]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.members
        if x.dim() == 2:
            h = x.unsqueeze(1).expand(x.shape[0], k, x.shape[1])       # (n, k, d): member = channel group
        else:
            h = x.transpose(0, 1)                                      # (k, n, d) -> (n, k, d)
        for w, b in zip(self.conv_w, self.conv_b):
            out_c, in_c = w.shape[1], w.shape[2]
            h = F.conv1d(h, w.reshape(k * out_c, in_c, self.kernel), b.reshape(-1),
                         padding=self.kernel // 2, groups=k)
            h = torch.tanh(h)
            if self.dropout and self.training:
                h = F.dropout(h, self.dropout, True)
        n = h.shape[0]
        h = h.reshape(n, k, -1).transpose(0, 1)                       # (k, n, channels * d)
        last = len(self.dense) - 1
        for i, layer in enumerate(self.dense):
            h = layer(h)
            if i < last:
                h = F.relu(h) if i == last - 1 else torch.tanh(h)
                if self.dropout and self.training:
                    h = F.dropout(h, self.dropout, True)
        return h


def build(config: dict, seed: int) -> nn.Module:
    """A network from its `config` record (as saved in a checkpoint)."""
    if config["kind"] == "mlp":
        return BatchedMLP(config["members"], config["inputs"], config["hidden"], config["outputs"],
                          config.get("activation", "silu"), config.get("dropout", 0.0), seed,
                          config.get("pooling"))
    if config["kind"] == "cnn":
        return BatchedCNN(config["members"], config["inputs"], config["convs"], config["hidden"],
                          config["outputs"], config.get("dropout", 0.0), seed)
    raise ValueError(f"unknown network kind {config['kind']!r}")


def weight_layer_count(config: dict) -> int:
    """How many weight layers a network of this config has (what freeze_layers counts)."""
    return 1 + len(config["hidden"]) + config.get("convs", 0) + (1 if config.get("pooling") else 0)


def layer_parameters(layer) -> list[nn.Parameter]:
    if isinstance(layer, tuple):
        return list(layer)
    return list(layer.parameters())
