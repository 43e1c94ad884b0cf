"""Importers: other descriptions of networks -> `simulator.graph.Network`.

- `simulator.importers.paleo.load_paleo_network(path)`: Paleo's (and
  Exprimo's) network JSON; `parse_paleo_network(text)` for a string.
- `simulator.importers.torch_fx.from_torch(module, sample_input)`: any
  `torch.nn.Module` that `torch.fx` can trace (imports torch only when used).

Submodules load on first use, so importing one importer never pulls in another.
"""
from __future__ import annotations

from typing import Any

_LAZY = {
    "load_paleo_network": "simulator.importers.paleo",
    "parse_paleo_network": "simulator.importers.paleo",
    "from_torch": "simulator.importers.torch_fx",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simulator.importers' has no attribute {name!r}")


__all__ = list(_LAZY)
