"""Built-in machines: N GPUs on PCIe behind a CPU host, NVLink islands, and
several such nodes on InfiniBand.

Channel layout (each channel is one FIFO resource):
- `pcie`: one PCIe x16 channel per GPU slot. CPU->GPU i and GPU i->CPU use
  slot i; GPU i->GPU j (peer to peer) uses the sender's slot i, as Exprimo's
  device files do.
- `nvlink`: as `pcie` for host traffic, plus one NVLink channel per GPU (an
  NVSwitch port at the full per-GPU NVLink bandwidth): GPU i->GPU j uses i's port.
- `cluster`: `nodes` copies of a node; every device has a direct link to every
  device of another node over its node's NIC (GPUDirect RDMA): GPU i uses NIC
  i % nics, the CPU uses NIC 0. A NIC is one channel shared by its users.

Device names: "cpu0", "gpu0".."gpu{n-1}"; in a cluster "n{k}.cpu0", "n{k}.gpu{i}".
Device indices: the CPU first, then the GPUs, node after node.
"""
from __future__ import annotations

import difflib
import re

from ..graph import SimulatorError
from .catalog import CPUS, GPU_FAMILIES, GPUS, HOST_FOR, LINKS, DeviceSpec
from .model import Channel, Device, DeviceGraph

PCIE_GENS = ("pcie3", "pcie4", "pcie5")
IB_KINDS = ("edr", "hdr", "ndr")

# Devices in one built machine, hosts included. Every device pair gets a link (and a route-table entry),
# so time and memory grow with the square of the count: with memory capped at 4 GB, cpu+1024xV100-pcie3
# simulated in 4 s (0.6 GB), cpu+2048x in 9 s (1.1 GB; 16 s and 1.5 GB with 2048 replicas, 21 s with
# NVLink), cpu+4096x in 40 s (3.2 GB), and cpu+100000x ran out of memory after 25 s. So one host and 2048
# GPUs is the largest machine; a larger count is refused before anything is built.
MAX_DEVICES = 2049


def _count(value, what: str) -> int:
    """A count parameter: a positive int (a bool is not a count, though Python counts it as an int)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SimulatorError(f"{what} must be a positive integer, not {value!r}")
    return value


def _check_size(nodes: int, n: int) -> None:
    """Refuse a machine of more than MAX_DEVICES devices before any of it is allocated."""
    total = nodes * (n + 1)
    if total > MAX_DEVICES:
        hosts = f"{nodes} CPU hosts" if nodes > 1 else "1 CPU host"
        raise SimulatorError(f"{total} devices ({nodes * n} GPUs and {hosts}) is more than the simulator "
                             f"handles: at most {MAX_DEVICES} devices (e.g. cpu+{MAX_DEVICES - 1}xV100-pcie3)")


def device(spec_name: str, name: str) -> Device:
    """A Device from a catalogue entry ("V100-SXM2", "Xeon-6132", ...)."""
    spec = GPUS.get(spec_name) or CPUS.get(spec_name)
    if spec is None:
        raise SimulatorError(f"unknown device model {spec_name!r}"
                             + _did_you_mean(spec_name, list(GPUS) + list(CPUS)))
    return _from_spec(spec, name)


def _from_spec(spec: DeviceSpec, name: str) -> Device:
    return Device(name=name, model=spec.model, kind=spec.kind,
                  peak_flops={"fp32": spec.fp32, "fp16": spec.fp16, "bf16": spec.bf16},
                  mem_bandwidth=spec.mem_bandwidth, memory=spec.memory, clock=spec.clock)


def _channel(link: str, name: str) -> Channel:
    spec = LINKS[link]
    return Channel(name=name, kind=spec.kind, bandwidth=spec.bandwidth, latency=spec.latency)


def _resolve_gpu(gpu: str, interconnect: str) -> tuple[str, str]:
    """(catalogue key, family) for a GPU name given as a family or an exact variant."""
    key = gpu.upper()
    if key in GPUS:
        family = key.split("-")[0]
        return key, family
    if key in GPU_FAMILIES:
        variants = GPU_FAMILIES[key]
        if interconnect not in variants:
            raise SimulatorError(f"{key} has no {interconnect.upper()} variant")
        return variants[interconnect], key
    raise SimulatorError(f"unknown GPU {gpu!r}" + _did_you_mean(key, list(GPU_FAMILIES) + list(GPUS)))


def _node(gpu: str, n: int, link: str, cpu: str | None, prefix: str = ""
          ) -> tuple[list[Device], list[Channel], dict[tuple[int, int], int]]:
    """Devices, channels and links of one host with n GPUs (indices local to the node)."""
    _count(n, "the number of GPUs")
    _check_size(1, n)
    link = link.lower()
    nvlink = link.startswith("nvlink")
    gpu_key, family = _resolve_gpu(gpu, "nvlink" if nvlink else "pcie")
    spec = GPUS[gpu_key]
    if nvlink:
        native = spec.nvlink
        if native is None:
            raise SimulatorError(f"{gpu_key} has no NVLINK variant")
        if link == "nvlink":
            link = native
        if link != native:
            raise SimulatorError(f"{gpu_key} uses {native}, not {link}")
        host_link = spec.pcie
    elif link in PCIE_GENS:
        host_link = link
    else:
        raise SimulatorError(f"unknown link {link!r}" + _did_you_mean(link, list(PCIE_GENS) + ["nvlink"]))
    cpu_key = cpu or HOST_FOR[family]
    devices = [device(cpu_key, f"{prefix}cpu0")]
    devices += [_from_spec(spec, f"{prefix}gpu{i}") for i in range(n)]
    channels = [_channel(host_link, f"{prefix}{host_link}-slot{i}") for i in range(n)]
    links: dict[tuple[int, int], int] = {}
    for i in range(n):
        g = 1 + i
        links[(0, g)] = i
        links[(g, 0)] = i
        for j in range(n):
            if i != j:
                links[(g, 1 + j)] = i
    if nvlink:
        base = len(channels)
        channels += [_channel(link, f"{prefix}{link}-gpu{i}") for i in range(n)]
        for i in range(n):
            for j in range(n):
                if i != j:
                    links[(1 + i, 1 + j)] = base + i
    return devices, channels, links


def pcie(gpu: str = "V100", n: int = 4, link: str = "pcie3", cpu: str | None = None) -> DeviceGraph:
    """A CPU host with n GPUs, each in its own PCIe x16 slot."""
    devices, channels, links = _node(gpu, n, link, cpu)
    return DeviceGraph(devices, channels, links, name=f"cpu+{n}x{gpu}-{link}")


def nvlink(gpu: str = "A100", n: int = 8, cpu: str | None = None, link: str = "nvlink") -> DeviceGraph:
    """A CPU host with n SXM GPUs joined all-to-all by NVLink (NVSwitch)."""
    devices, channels, links = _node(gpu, n, link, cpu)
    return DeviceGraph(devices, channels, links, name=f"cpu+{n}x{gpu}-{link}")


def cluster(nodes: int = 2, gpu: str = "A100", n: int = 8, link: str = "nvlink", ib: str = "hdr",
            nics: int | None = None, cpu: str | None = None) -> DeviceGraph:
    """`nodes` hosts of n GPUs each, joined by InfiniBand (one NIC per GPU by default)."""
    _count(nodes, "nodes")
    _count(n, "the number of GPUs")
    _check_size(nodes, n)  # before the first node is built
    ib = ib.lower().removeprefix("ib-")
    if ib not in IB_KINDS:
        raise SimulatorError(f"unknown InfiniBand kind {ib!r}" + _did_you_mean(ib, list(IB_KINDS)))
    nics = n if nics is None else nics
    _count(nics, "nics")
    if nics > n:  # GPU i uses NIC i % nics: the others would be channels nobody uses (nics=10**9 filled memory)
        raise SimulatorError(f"nics must be at most the number of GPUs per node ({n}), not {nics}")
    devices: list[Device] = []
    channels: list[Channel] = []
    links: dict[tuple[int, int], int] = {}
    node_of: list[int] = []
    nic_of: list[int] = []  # channel index of each device's NIC
    for k in range(nodes):
        d, c, l = _node(gpu, n, link, cpu, prefix=f"n{k}.")
        d0, c0 = len(devices), len(channels)
        devices += d
        channels += c
        links.update({(a + d0, b + d0): ch + c0 for (a, b), ch in l.items()})
        nic0 = len(channels)
        channels += [_channel(ib, f"n{k}.nic{i}") for i in range(nics)]
        node_of += [k] * len(d)
        nic_of += [nic0] + [nic0 + (i % nics) for i in range(n)]
    for a in range(len(devices)):
        for b in range(len(devices)):
            if node_of[a] != node_of[b]:
                links[(a, b)] = nic_of[a]
    name = f"{nodes}x(cpu+{n}x{gpu}-{link})-{ib}"
    return DeviceGraph(devices, channels, links, name=name)


def topology(kind: str, **kwargs) -> DeviceGraph:
    """`topology("pcie" | "nvlink" | "cluster", gpu=..., n=..., ...)`."""
    builders = {"pcie": pcie, "nvlink": nvlink, "cluster": cluster, "ib": cluster}
    if kind not in builders:
        raise SimulatorError(f"unknown topology {kind!r}" + _did_you_mean(kind, list(builders)))
    try:
        return builders[kind](**kwargs)
    except TypeError as err:  # unknown keyword
        raise SimulatorError(f"topology {kind!r}: {err}") from None


# ---------------------------------------------------------------- preset names
_NODE_RE = r"cpu\+(\d+)x([A-Za-z0-9]+(?:-(?:PCIE|SXM\d))?)-((?:pcie|nvlink)\d?)"
_SINGLE = re.compile(rf"^{_NODE_RE}$", re.IGNORECASE)
_MULTI = re.compile(rf"^(\d+)x\({_NODE_RE}\)-(?:ib-)?([a-z]+)$", re.IGNORECASE)


def _canonical_presets() -> list[str]:
    names = ["cpu"]
    for fam, variants in GPU_FAMILIES.items():
        spec_pcie = GPUS[variants["pcie"]]
        for n in (1, 2, 4, 8):
            names.append(f"cpu+{n}x{fam}-{spec_pcie.pcie}")
            if "nvlink" in variants:
                names.append(f"cpu+{n}x{fam}-{GPUS[variants['nvlink']].nvlink}")
    for fam in ("V100", "A100", "H100", "H200"):
        nv = GPUS[GPU_FAMILIES[fam]["nvlink"]].nvlink
        for ib in IB_KINDS:
            names.append(f"2x(cpu+8x{fam}-{nv})-{ib}")
    return names


PRESETS: list[str] = _canonical_presets()


def _digits(text: str) -> int:
    """A count written in a preset name; int() refuses more than 4300 digits with a ValueError."""
    if len(text.lstrip("0")) > 100:
        raise SimulatorError(f"a count of {len(text)} digits is more than the simulator handles: "
                             f"at most {MAX_DEVICES} devices")
    return int(text)


def preset(name: str) -> DeviceGraph:
    """A built-in machine by name: "cpu", "cpu+4xV100-pcie3", "cpu+8xA100-nvlink3",
    "2x(cpu+8xH100-nvlink4)-ndr"; any GPU count up to MAX_DEVICES devices in all (hosts included)."""
    text = name.strip()
    if text.lower() == "cpu":
        return DeviceGraph([device("Xeon-6132", "cpu0")], [], {}, name="cpu")
    try:
        m = _SINGLE.match(text)
        if m:
            n, gpu, link = _digits(m.group(1)), m.group(2), m.group(3).lower()
            g = pcie(gpu, n, link) if link.startswith("pcie") else nvlink(gpu, n, link=link)
            g.name = text
            return g
        m = _MULTI.match(text)
        if m:
            nodes, n, gpu, link, ib = _digits(m.group(1)), _digits(m.group(2)), m.group(3), m.group(4), m.group(5)
            g = cluster(nodes, gpu, n, link=link.lower(), ib=ib)
            g.name = text
            return g
    except SimulatorError as err:
        raise SimulatorError(f"device preset {name!r}: {err.message}") from None
    raise SimulatorError(f"unknown device preset {name!r}" + _did_you_mean(text, PRESETS)
                         + "; presets look like 'cpu+4xV100-pcie3', 'cpu+8xA100-nvlink3' or "
                         "'2x(cpu+8xA100-nvlink3)-hdr'")


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[c] for c in difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.5)]
    return f" (did you mean {close[0]!r}?)" if close else ""
