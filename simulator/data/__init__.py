"""Files bundled with the simulator (sources and licences in README.md here).

    from simulator import data
    data.names(data.NETWORKS)                          # ['alex_v2.json', ...]
    data.path("malvik-4gpu.json", data.DEVICE_GRAPHS)  # its path inside the package
    data.locate("resnet50.json", data.NETWORKS)        # ./resnet50.json if it exists, else the bundled one

The loaders (`load_network`, `load_device_graph`, the CLI, the placement
evaluator) go through `locate`: a path that exists wins; a bare file name that
names no file falls back to the bundled file of that name.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..graph import SimulatorError

DATA = Path(__file__).resolve().parent
NETWORKS = "paleo-nets"                   # Paleo-format networks (Exprimo's nets/)
DEVICE_GRAPHS = "exprimo-device-graphs"   # Exprimo's device_graphs/
_WHAT = {NETWORKS: "networks", DEVICE_GRAPHS: "device graphs"}


def names(kind: str) -> list[str]:
    """The bundled file names of `kind` (NETWORKS or DEVICE_GRAPHS), sorted."""
    return sorted(p.name for p in (DATA / kind).glob("*.json"))


def path(name: str, kind: str) -> Path:
    """The bundled file `name` of `kind`; a `SimulatorError` listing the bundled names if there is none."""
    if name in names(kind):
        return DATA / kind / name
    raise SimulatorError(f"no bundled {_WHAT[kind][:-1]} '{name}'; bundled: {', '.join(names(kind))}")


def locate(file: str | os.PathLike, kind: str, base: str | os.PathLike | None = None) -> str:
    """`file` (relative to `base`, default the current directory) if it exists, else the bundled file
    of that name when `file` is a bare name; otherwise a one-line `SimulatorError` that lists the bundled
    names."""
    text = os.fspath(file)
    full = os.path.join(base, text) if base is not None else text
    if os.path.exists(full):
        return full
    if os.path.basename(text) == text and text in names(kind):
        return str(DATA / kind / text)
    raise SimulatorError(f"no such file (bundled {_WHAT[kind]}: {', '.join(names(kind))})", source=full)
