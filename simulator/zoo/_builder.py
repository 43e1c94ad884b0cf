"""A small helper the zoo models use to write their graphs tersely."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from simulator.graph import Layer, Network
from simulator.ops import BatchNorm, Conv2d, OpBase, relu


class NetBuilder:
    """Collects layers in order; `block(name)` tags the layers added inside it
    and prefixes their names with ``name/``."""

    def __init__(self, name: str):
        self.name = name
        self.layers: list[Layer] = []
        self._prefix: list[tuple[str, bool]] = []

    @contextmanager
    def block(self, name: str, prefix: bool = True) -> Iterator[None]:
        """Layers added inside belong to block `name` (the outermost block
        counts); with `prefix` their names start with ``name/``."""
        self._prefix.append((name, prefix))
        try:
            yield
        finally:
            self._prefix.pop()

    def add(self, name: str, op: OpBase, *parents: str, shares_weights_with: str | None = None) -> str:
        full = "/".join([p for p, use in self._prefix if use] + [name])
        block = self._prefix[0][0] if self._prefix else ""
        self.layers.append(Layer(full, op, tuple(parents), block=block,
                                 shares_weights_with=shares_weights_with))
        return full

    def conv_bn_relu(self, name: str, x: str, out: int, kernel, stride=1, padding=0,
                     relu_after: bool = True) -> str:
        """Conv (no bias) + batch norm (+ ReLU), the torchvision pattern."""
        y = self.add(name, Conv2d(out, kernel, stride, padding, bias=False), x)
        y = self.add(name + "_bn", BatchNorm(), y)
        if relu_after:
            y = self.add(name + "_relu", relu(), y)
        return y

    def build(self, batch_size: int, **meta) -> Network:
        # an input belongs to the block of the first layer after it (its natural group)
        for i, layer in enumerate(self.layers):
            if layer.op.kind == "input" and not layer.block:
                layer.block = next((l.block for l in self.layers[i + 1:] if l.block), "")
        return Network.build(self.name, self.layers, batch_size=batch_size, meta=meta)
