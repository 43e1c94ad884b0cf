"""Normalisations written as functions (F.layer_norm, F.batch_norm, F.group_norm), as the torch.fx importer meets
them in modules it traces through: torchvision's LayerNorm2d, timm's BatchNormAct2d and GroupNorm1, subclasses
of the torch.nn norms with a forward of their own. Each is the normalisation without its affine, then the
weight multiplied and the bias added as the tensors they are read as (parameters of the traced module are
layers of their own, counted once there). A mixin of the converter."""
from __future__ import annotations

from simulator.ops import BatchNorm, Elementwise, GroupNorm, LayerNorm, Reshape

from .torch_nodes import NCHW, PLAIN, SHARED

_ARGUMENTS = {
    "layer_norm": ("input", "normalized_shape", "weight", "bias", "eps"),
    "batch_norm": ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"),
    "group_norm": ("input", "num_groups", "weight", "bias", "eps"),
}


class NormFunctions:
    """F.layer_norm, F.batch_norm and F.group_norm (see the module's docstring)."""

    def norm_function(self, node, fn, args, kwargs, name: str, expect):
        kind = fn.__name__
        given = dict(zip(_ARGUMENTS[kind], args), **kwargs)
        rank = len(expect)
        if kind == "layer_norm":
            shape = given.get("normalized_shape")
            x = self.tensor(node, given["input"], PLAIN)
            op, layout, channels_first = LayerNorm(1 if isinstance(shape, int) else len(shape), scale=False,
                                                   bias=False), PLAIN, False
        elif kind == "group_norm" or rank == 4:
            if rank != 4:
                raise self.fail(node, f"F.group_norm of a tensor of shape {tuple(expect)}: only images (N, C, H, W) "
                                      "are supported")
            x = self.tensor(node, given["input"], NCHW)
            op = GroupNorm(int(given["num_groups"]), affine=False) if kind == "group_norm" else \
                BatchNorm(axis=-1, affine=False)
            layout, channels_first = NCHW, False
        else:   # (N, C) or channels first (N, C, L), (N, C, D, H, W)
            x = self.tensor(node, given["input"], PLAIN)
            op, layout, channels_first = BatchNorm(axis=0 if rank > 2 else -1, affine=False), PLAIN, rank > 2
        steps = [(f, self.tensor(node, given[k])) for f, k in (("mul", "weight"), ("add", "bias"))
                 if given.get(k) is not None]
        y = self.add(node, f"{name}:norm" if steps else name, op, [x], layout, expect)
        for i, (f, t) in enumerate(steps):
            if channels_first:   # per channel: broadcast over the axes after it
                t = self.add(node, f"{name}:{f}_view", Reshape(self.shapes[t.layer] + (1,) * (rank - 2)), [t],
                             SHARED, None)
            last = i == len(steps) - 1
            y = self.add(node, name if last else f"{name}:{f}", Elementwise(f), [y, t], layout, expect)
        return y
