"""Training losses, one value per ensemble member, on standardised targets with missing values masked.

``out`` and ``z`` are ``(k, n, c)`` standardised targets (see `_targets.py`),
``mask`` is 1.0 where the cost is known and 0.0 where it is not. Deffe's two losses are defined on the
cost itself, so they undo the standardisation (and the log) first:

* ``custom_mean_abs_exp_loss``: mean |predicted cost - cost| / cost, the
  relative error (Deffe's network predicted log(cost) and took exp);
* ``custom_mean_abs_log_loss``: mean |log predicted - log cost| / |log cost|
  (ill-conditioned for costs near 1, where log(cost) is near 0; the
  denominator is kept above 1e-3).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

RELATIVE = ("custom_mean_abs_log_loss", "custom_mean_abs_exp_loss")


def make_loss(name: str, log: torch.Tensor, mean: torch.Tensor, std: torch.Tensor):
    """A function (out, z, mask) -> (k,) per-member loss."""

    def reduce(e: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # mask: 1.0 where the cost is known, 0.0 where not (errors there are finite: targets are 0-filled)
        return (e * mask).sum(dim=(1, 2)) / mask.sum(dim=(1, 2)).clamp(min=1.0)

    if name == "mse":
        return lambda out, z, mask: reduce((out - z) ** 2, mask)
    if name == "mae":
        return lambda out, z, mask: reduce((out - z).abs(), mask)
    if name == "huber":
        return lambda out, z, mask: reduce(F.huber_loss(out, z, reduction="none", delta=1.0), mask)

    def unscale(v: torch.Tensor) -> torch.Tensor:
        return v * std + mean

    if name == "custom_mean_abs_exp_loss":
        def exp_loss(out, z, mask):
            t_hat, t = unscale(out), unscale(z)
            rel_log = (torch.exp((t_hat - t).clamp(max=20.0)) - 1.0).abs()
            rel_lin = (t_hat - t).abs() / t.abs().clamp(min=1e-12)
            return reduce(torch.where(log, rel_log, rel_lin), mask)
        return exp_loss
    if name == "custom_mean_abs_log_loss":
        def log_loss(out, z, mask):
            t_hat, t = unscale(out), unscale(z)
            lt_hat = torch.where(log, t_hat, torch.log(t_hat.clamp(min=1e-12)))
            lt = torch.where(log, t, torch.log(t.clamp(min=1e-12)))
            return reduce((lt_hat - lt).abs() / lt.abs().clamp(min=1e-3), mask)
        return log_loss
    raise ValueError(f"unknown loss {name!r}")
