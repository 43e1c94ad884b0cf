"""An analytical simulator of deep-learning training on a cluster.

    import simulator as sim
    net = sim.zoo.load("resnet50", batch_size=128)        # or sim.load_network("resnet50.json")
    devices = sim.devices.preset("cpu+4xV100-pcie3")      # or sim.load_device_graph("malvik-4gpu.json")
    result = sim.simulate(net, devices, [1] * len(net.groups))
    print(result.step_time, result.throughput, result.peak_memory)

Units are SI throughout: seconds, bytes, FLOP, FLOP/s, bytes/s.
"""
from __future__ import annotations

from typing import Any

# the version of the cost model: raise it whenever a change gives other costs for the same inputs, so that
# runs stored with the old ones are not resumed as if they were the new
# 0.2.0: 1f1b's in-flight bound for a device holding several stages (interleaved). 0.3.0: 1f1b runs Megatron's
# order of stage-level ops; a channel serves pipeline transfers before all-reduce chunks; an embedding's forward
# reads the rows it looks up, not its table
# 0.4.0: a dropout of rate 0 is its input (no kernel, no mask, no tensor); a seq2seq decoder reads its encoder's
# final state (h, c), not its output sequence;
# regular interleaved 1f1b runs Megatron's interleaved order; DFA sends the output error to each stage; a layer
# sharing weights with a layer on another device holds, updates and exchanges the gradient of a copy there
# 0.4.1: the placement remat pins the network's input batch (it was evicted and "remade" for free) and counts a
# pipelined device's transfer buffers whole (they were scaled down with the trace)
__version__ = "0.4.1"

from . import data, devices
from .api import BatchResult, Result, Simulator, prepare, simulate, simulate_batch
from .devices import Channel, Device, DeviceGraph
from .graph import Layer, Network, SimulatorError
from .importers.exprimo import load_device_graph
from .settings import Settings
from .trace import Trace


def load_network(path: str) -> Network:
    """A network from Paleo's JSON format (Exprimo's `nets/` files): a path, or the name of a bundled
    network (`simulator.data`: alex_v2.json, alex_v2_2gpu.json, alex_v2_8gpu.json, inception_v3.json, mnist.json,
    resnet34.json, resnet50.json)."""
    from .importers.paleo import load_paleo_network
    return load_paleo_network(path)


def from_torch(module: Any, sample_input: Any, name: str | None = None, batch_dim: int = 0) -> Network:
    """A network traced from a torch.nn.Module with torch.fx (imports torch); `batch_dim` 1 for a
    sequence-first sample input (T, N, ...)."""
    from .importers.torch_fx import from_torch as _from_torch
    return _from_torch(module, sample_input, name=name, batch_dim=batch_dim)


def from_built(built: Any, spec: str) -> Network:
    """The network a user's 'module:function' returned: a Network, (PyTorch model, sample input) or
    (PyTorch model, sample input, batch dimension)."""
    from .importers.torch_fx import from_built as _from_built
    return _from_built(built, spec)


def __getattr__(name: str) -> Any:
    # the zoo is imported on first use: `import simulator` stays light
    if name == "zoo":
        import importlib
        module = importlib.import_module(".zoo", __name__)
        globals()["zoo"] = module
        return module
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")


__all__ = ["BatchResult", "Channel", "Device", "DeviceGraph", "Layer", "Network", "Result", "Settings",
           "Simulator", "SimulatorError", "Trace", "data", "devices", "from_built", "from_torch", "load_device_graph",
           "load_network", "prepare", "simulate", "simulate_batch", "zoo"]
