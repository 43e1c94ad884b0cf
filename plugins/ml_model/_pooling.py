"""Pooling over the values of a repeated knob: what each value (e.g. each device) receives, summed up.

Costs of an assignment (groups of layers placed on devices, tasks on
machines) are functions of what each device gets: its load is the sum of the
work of the groups placed on it, its traffic the sum of the transfers that
cross into or out of it, and the cost is then set by the busiest device (step
time of a pipeline, peak memory) or by all of them. A plain network over
one-hot features has to learn that sum-then-max from data; on the pipelined
problems of bench/surrogate.py it stayed at 5-8% error from 1,000 points.

This block gives the network that structure (a Deep Sets encoder over the
values, Zaheer et al. 2017), per ensemble member and per repeated knob:

* per member m of the family, ``C`` (4) learned non-negative weights a[m]
  (its work in C respects: compute, memory, ...) and, per pair of
  neighbouring members, C weights b[m] (what crossing between them costs);
* per value s: load[s] = sum over members holding s of a[m]; traffic[s] =
  sum over neighbouring pairs that cross, with s on either side, of b[m];
  used[s] = 1 when some member holds s;
* phi (two dense layers of 16) maps each value's (load, traffic, used, the other
  knobs' features) to a vector, the knobs besides the family being what
  makes a load heavy or light (micro-batches, precision, a memory cap); a value
  that is itself, not one of interchangeable labels (the CPU beside four
  exchangeable GPUs), also tells phi which it is (a one-hot of its own), since
  the same load costs another time and another share of memory there (the
  values of a family not declared exchangeable do not: see
  ``Encoding.member_slots``);
* the vectors are pooled over the values that are used by max (the
  bottleneck) and by mean, and handed to the network beside the features.

Max and mean do not depend on the order of the values: the block gives the
same output for placements that differ only in naming interchangeable
devices. The family's one-hot or label columns (``Encoding.member_slots``)
are read out of the feature vector, so the block needs no other input.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Small on purpose: at 1,000 points of the suite's six placement problems, 4 channels and width 16 were
# better than 8 and 32 on five (GPT-2 3.9% against 4.2%, VGG-16 3.0% against 3.2%, Inception-V3 0.44%
# against 0.51%) and level on BERT; width 8 was worse again (GPT-2 4.1%, VGG-16 3.4%).
CHANNELS = 4   # respects in which a member's work can differ (compute, memory, ...)
WIDTH = 16     # of phi's two layers; the block hands 2 x WIDTH numbers per repeated knob to the network


class BatchedFamilyPooling(nn.Module):
    """k members' pooling blocks; input (n, d) or (k, n, d) features, output (k, n, 2 x width x families)."""

    def __init__(self, k: int, n_in: int, families: list, other: list[int], channels: int, width: int,
                 activation, gen: torch.Generator, own: list | None = None):
        from ._nets import BatchedDense
        super().__init__()
        self.k, self.n_in, self.act = k, n_in, activation
        self.n_other = len(other)
        self.register_buffer("other", torch.as_tensor(other, dtype=torch.long).reshape(-1), persistent=False)
        self.weights, self.crossings, self.phi = nn.ParameterList(), nn.ParameterList(), nn.ModuleList()
        for i, slots in enumerate(families):
            s = torch.as_tensor(slots, dtype=torch.long)
            # -1: a value the member cannot hold (reads a 0 appended to the features); -2: a member's only
            # value (reads a 1)
            s = torch.where(s >= 0, s, n_in - 1 - s)
            self.register_buffer(f"slots{i}", s, persistent=False)
            m = s.shape[0]
            # which value is which, for values that are themselves (-1: an interchangeable label); checkpoints
            # before 2026-12-04 have no such table: their phi reads no identity
            ids = [int(v) for v in own[i]] if own else [-1] * s.shape[1]
            n_own = max(ids, default=-1) + 1
            table = [[1.0 if v == j else 0.0 for j in range(n_own)] for v in ids]   # plain lists: built on meta too
            self.register_buffer(f"own{i}", torch.as_tensor(table, dtype=torch.float32).reshape(len(ids), n_own),
                                 persistent=False)
            self.weights.append(nn.Parameter(0.5 * torch.randn((k, m, channels), generator=gen)))
            self.crossings.append(nn.Parameter(0.5 * torch.randn((k, max(m - 1, 1), channels), generator=gen)))
            self.phi.append(nn.ModuleList([BatchedDense(k, 2 * channels + 1 + n_own + self.n_other, width, gen),
                                           BatchedDense(k, width, width, gen)]))
        self.width = width
        self.out_dim = 2 * width * len(families)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (n, d) features shared by every member (prediction: the members' one-hot columns are read
        once, not k times) or (k, n, d) one batch per member (training)."""
        shared = x.dim() == 2
        k = self.k
        n = x.shape[-2]
        lead = x.shape[:-1]
        padded = torch.cat([x, x.new_zeros(*lead, 1), x.new_ones(*lead, 1)], dim=-1)
        other = x.index_select(-1, self.other) if self.n_other else None
        if other is not None and shared:
            other = other.unsqueeze(0).expand(k, n, self.n_other)
        # per member of the family, per value: (k, n, ...) or, shared, (n, ...)
        sums = "nms,kmc->knsc" if shared else "knms,kmc->knsc"
        out = []
        for i, (slots, a, b, phi) in enumerate(zip(self._tables(), self.weights, self.crossings, self.phi)):
            held = padded[..., slots]                     # (..., n, members, values)
            values = held.shape[-1]
            load = torch.einsum(sums, held, F.softplus(a))
            if held.shape[-2] > 1:
                same = (held[..., 1:, :] * held[..., :-1, :]).sum(-1, keepdim=True)  # neighbours share a value
                ends = (held[..., 1:, :] + held[..., :-1, :]) * (1.0 - same)
                traffic = torch.einsum(sums, ends, F.softplus(b))
            else:
                traffic = torch.zeros_like(load)
            used = (held.sum(-2) > 0).to(x.dtype).unsqueeze(-1)                  # (..., n, values, 1)
            if shared:
                used = used.unsqueeze(0).expand(k, n, values, 1)
            parts = [load, traffic, used]
            ident = getattr(self, f"own{i}")                                      # (values, own values)
            if ident.shape[1]:
                parts.append(ident.expand(k, n, values, ident.shape[1]))
            if other is not None:
                parts.append(other.unsqueeze(2).expand(k, n, values, self.n_other))
            h = torch.cat(parts, dim=-1).reshape(k, n * values, -1)
            for layer in phi:
                h = self.act(layer(h))
            h = h.reshape(k, n, values, self.width)
            busiest = (h + (used - 1.0) * 1e4).max(dim=2).values                  # over used values only
            mean = (h * used).sum(2) / used.sum(2).clamp(min=1.0)
            out += [busiest, mean]
        return torch.cat(out, dim=-1)

    def _tables(self) -> list[torch.Tensor]:
        """Per family, (members, values) feature columns (buffers, so that they follow the module's device)."""
        return [getattr(self, f"slots{i}") for i in range(len(self.phi))]

    def rows_per_pass(self, budget: int = 1 << 24) -> int:
        """Rows one prediction pass may hold: the members' one-hot tables take members x values numbers per row."""
        widest = max((t.numel() for t in self._tables()), default=1)
        return max(64, budget // max(widest, 1))
