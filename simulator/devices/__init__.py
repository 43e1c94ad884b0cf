"""Device graphs: devices, shared channels, routing, presets and topologies.

    import simulator as sim
    g = sim.devices.preset("cpu+4xV100-pcie3")
    g = sim.devices.topology("nvlink", gpu="A100", n=8)
    g = sim.load_device_graph("malvik-4gpu.json")   # Exprimo's format
"""
from .catalog import CPUS, GPUS, LINKS
from .model import BYTES_PER_ELEMENT, PRECISIONS, Channel, Device, DeviceGraph
from .topologies import PRESETS, cluster, device, nvlink, pcie, preset, topology

__all__ = ["BYTES_PER_ELEMENT", "CPUS", "Channel", "Device", "DeviceGraph", "GPUS", "LINKS",
           "PRECISIONS", "PRESETS", "cluster", "device", "nvlink", "pcie", "preset", "topology"]
