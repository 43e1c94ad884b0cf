"""Datasheet figures for the built-in devices and links (SI units).

GPU figures are from NVIDIA's product datasheets, peak *dense* rates at the
boost clock; fp16/bf16 are the tensor-core rates where the GPU has them (a
GPU without a faster path runs that precision at its fp32 rate). CPU figures
are cores x base clock x FLOP per cycle (AVX-512: 2 FMA units x 16 fp32 lanes
x 2 = 64) and channels x transfer rate x 8 bytes for memory bandwidth.

Link bandwidths are per direction. Latencies are representative end-to-end
figures for one small message (not datasheet values); change them with
`Channel(...)` if you have measurements.
"""
from __future__ import annotations

from dataclasses import dataclass

T = 1e12
G = 1e9


@dataclass(frozen=True)
class DeviceSpec:
    model: str
    kind: str
    fp32: float          # FLOP/s
    fp16: float          # FLOP/s
    bf16: float          # FLOP/s
    mem_bandwidth: float  # bytes/s
    memory: float        # bytes
    clock: float         # Hz (boost for GPUs, base for CPUs)
    pcie: str            # native host link
    nvlink: str | None   # NVLink generation of the SXM part


GPUS: dict[str, DeviceSpec] = {
    # Tesla K80 datasheet: per board 8.73 TFLOP/s fp32 (boost), 24 GB, 480 GB/s for two
    # GK210 GPUs; one CUDA device is one GK210: half of each. Boost 875 MHz. No fast fp16.
    "K80": DeviceSpec("NVIDIA Tesla K80 (one GK210)", "gpu", 4.37 * T, 4.37 * T, 4.37 * T,
                      240 * G, 12 * G, 875e6, "pcie3", None),
    # Tesla P100 datasheet (PCIe 16 GB): 9.3 TFLOP/s fp32, 18.7 fp16, 732 GB/s, boost 1303 MHz.
    "P100-PCIE": DeviceSpec("NVIDIA Tesla P100-PCIE-16GB", "gpu", 9.3 * T, 18.7 * T, 9.3 * T,
                            732 * G, 16 * G, 1303e6, "pcie3", None),
    # Tesla P100 datasheet (SXM2): 10.6 fp32, 21.2 fp16, 732 GB/s, boost 1480 MHz.
    "P100-SXM2": DeviceSpec("NVIDIA Tesla P100-SXM2-16GB", "gpu", 10.6 * T, 21.2 * T, 10.6 * T,
                            732 * G, 16 * G, 1480e6, "pcie3", "nvlink1"),
    # Tesla V100 datasheet (PCIe 32 GB): 14 fp32, 112 tensor fp16, 900 GB/s, boost 1380 MHz.
    "V100-PCIE": DeviceSpec("NVIDIA V100-PCIE-32GB", "gpu", 14 * T, 112 * T, 14 * T,
                            900 * G, 32 * G, 1380e6, "pcie3", None),
    # Tesla V100 datasheet (SXM2 32 GB): 15.7 fp32, 125 tensor fp16, 900 GB/s, boost 1530 MHz.
    "V100-SXM2": DeviceSpec("NVIDIA V100-SXM2-32GB", "gpu", 15.7 * T, 125 * T, 15.7 * T,
                            900 * G, 32 * G, 1530e6, "pcie3", "nvlink2"),
    # A100 datasheet (80 GB PCIe): 19.5 fp32, 312 fp16/bf16 tensor, 1935 GB/s, boost 1410 MHz.
    "A100-PCIE": DeviceSpec("NVIDIA A100-PCIE-80GB", "gpu", 19.5 * T, 312 * T, 312 * T,
                            1935 * G, 80 * G, 1410e6, "pcie4", None),
    # A100 datasheet (80 GB SXM4): 19.5 fp32, 312 fp16/bf16 tensor, 2039 GB/s, boost 1410 MHz.
    "A100-SXM4": DeviceSpec("NVIDIA A100-SXM4-80GB", "gpu", 19.5 * T, 312 * T, 312 * T,
                            2039 * G, 80 * G, 1410e6, "pcie4", "nvlink3"),
    # H100 datasheet (PCIe 80 GB): 51 fp32, 756 fp16/bf16 dense (1513 with sparsity),
    # 2.0 TB/s HBM2e, boost 1755 MHz.
    "H100-PCIE": DeviceSpec("NVIDIA H100-PCIE-80GB", "gpu", 51 * T, 756 * T, 756 * T,
                            2000 * G, 80 * G, 1755e6, "pcie5", None),
    # H100 datasheet (SXM5 80 GB): 67 fp32, 989 fp16/bf16 dense (1979 with sparsity),
    # 3.35 TB/s HBM3, boost 1980 MHz.
    "H100-SXM5": DeviceSpec("NVIDIA H100-SXM5-80GB", "gpu", 67 * T, 989 * T, 989 * T,
                            3350 * G, 80 * G, 1980e6, "pcie5", "nvlink4"),
    # H200 datasheet (SXM): 67 fp32, 989 fp16/bf16 dense (1979 with sparsity), 141 GB HBM3e at 4.8 TB/s,
    # NVLink 900 GB/s (450 per direction); the boost clock of the H100 SXM5 it shares its GH100 with.
    "H200-SXM5": DeviceSpec("NVIDIA H200-SXM5-141GB", "gpu", 67 * T, 989 * T, 989 * T,
                           4800 * G, 141 * G, 1980e6, "pcie5", "nvlink4"),
    # H200 NVL datasheet (PCIe): 60 fp32, 835 fp16/bf16 dense (1671 with sparsity), 141 GB at 4.8 TB/s;
    # clock: the H100 PCIe's boost (not on the datasheet).
    "H200-NVL": DeviceSpec("NVIDIA H200-NVL-141GB", "gpu", 60 * T, 835 * T, 835 * T,
                           4800 * G, 141 * G, 1755e6, "pcie5", None),
    # T4 datasheet: 8.1 fp32, 65 fp16 tensor (mixed precision), no bf16 path; 16 GB GDDR6, 320 GB/s
    # (256-bit at 10 Gbit/s), boost 1590 MHz, PCIe 3.0.
    "T4": DeviceSpec("NVIDIA T4-16GB", "gpu", 8.1 * T, 65 * T, 8.1 * T, 320 * G, 16 * G, 1590e6, "pcie3", None),
    # A10 datasheet: 31.2 fp32, 125 fp16/bf16 tensor dense (250 with sparsity), 24 GB GDDR6 at 600 GB/s,
    # boost 1695 MHz, PCIe 4.0.
    "A10": DeviceSpec("NVIDIA A10-24GB", "gpu", 31.2 * T, 125 * T, 125 * T, 600 * G, 24 * G, 1695e6, "pcie4",
                      None),
    # A40 datasheet: 37.4 fp32, 149.7 fp16/bf16 tensor dense, 48 GB GDDR6 at 696 GB/s, boost 1740 MHz.
    "A40": DeviceSpec("NVIDIA A40-48GB", "gpu", 37.4 * T, 149.7 * T, 149.7 * T, 696 * G, 48 * G, 1740e6, "pcie4",
                      None),
    # L4 datasheet: 30.3 fp32, 121 fp16/bf16 tensor dense (242 with sparsity), 24 GB at 300 GB/s, boost 2040 MHz.
    "L4": DeviceSpec("NVIDIA L4-24GB", "gpu", 30.3 * T, 121 * T, 121 * T, 300 * G, 24 * G, 2040e6, "pcie4", None),
    # L40S datasheet: 91.6 fp32, 362 fp16/bf16 tensor dense (733 with sparsity), 48 GB GDDR6 at 864 GB/s,
    # boost 2520 MHz.
    "L40S": DeviceSpec("NVIDIA L40S-48GB", "gpu", 91.6 * T, 362 * T, 362 * T, 864 * G, 48 * G, 2520e6, "pcie4",
                       None),
    # AMD Instinct MI250X datasheet: per module 95.7 fp32 matrix (47.9 vector), 383 fp16/bf16 matrix, 128 GB
    # HBM2e at 3.2768 TB/s, peak engine clock 1700 MHz, for two GCDs; software sees each GCD as one GPU (a
    # Frontier node's 4 modules are 8 GPUs): half of each. fp32 GEMMs run on the matrix cores.
    "MI250X": DeviceSpec("AMD Instinct MI250X (one GCD)", "gpu", 47.85 * T, 191.5 * T, 191.5 * T,
                         1638.4 * G, 64 * G, 1700e6, "pcie4", None),
    # AMD Instinct MI300X datasheet: 163.4 fp32 matrix (81.7 vector), 1307.4 fp16/bf16 dense, 192 GB HBM3 at
    # 5.3 TB/s, peak engine clock 2100 MHz, PCIe 5.0.
    "MI300X": DeviceSpec("AMD Instinct MI300X", "gpu", 163.4 * T, 1307.4 * T, 1307.4 * T, 5300 * G, 192 * G,
                         2100e6, "pcie5", None),
}

# Short names resolve to the variant that fits the link: PCIe -> the PCIe card,
# NVLink -> the SXM module.
GPU_FAMILIES: dict[str, dict[str, str]] = {
    "K80": {"pcie": "K80"},
    "P100": {"pcie": "P100-PCIE", "nvlink": "P100-SXM2"},
    "V100": {"pcie": "V100-PCIE", "nvlink": "V100-SXM2"},
    "A100": {"pcie": "A100-PCIE", "nvlink": "A100-SXM4"},
    "H100": {"pcie": "H100-PCIE", "nvlink": "H100-SXM5"},
    "H200": {"pcie": "H200-NVL", "nvlink": "H200-SXM5"},
    "T4": {"pcie": "T4"},
    "A10": {"pcie": "A10"},
    "A40": {"pcie": "A40"},
    "L4": {"pcie": "L4"},
    "L40S": {"pcie": "L40S"},
    "MI250X": {"pcie": "MI250X"},
    "MI300X": {"pcie": "MI300X"},
}

CPUS: dict[str, DeviceSpec] = {
    # Xeon Gold 6132 (Exprimo's "malvik" host): 14 cores x 2.6 GHz x 64 FLOP/cycle =
    # 1164.8 GFLOP/s fp32; 6 channels DDR4-2666 x 8 B = 128 GB/s; 384 GB fitted.
    "Xeon-6132": DeviceSpec("Intel Xeon Gold 6132", "cpu", 1164.8 * G, 1164.8 * G, 1164.8 * G,
                            128 * G, 384 * G, 2.6e9, "pcie3", None),
    # Xeon Platinum 8380 (Ice Lake): 40 cores x 2.3 GHz x 64 = 5888 GFLOP/s fp32;
    # 8 channels DDR4-3200 x 8 B = 204.8 GB/s; 512 GB fitted.
    "Xeon-8380": DeviceSpec("Intel Xeon Platinum 8380", "cpu", 5888 * G, 5888 * G, 5888 * G,
                            204.8 * G, 512 * G, 2.3e9, "pcie4", None),
}


@dataclass(frozen=True)
class LinkSpec:
    kind: str
    bandwidth: float  # bytes/s per direction
    latency: float    # s


LINKS: dict[str, LinkSpec] = {
    # PCIe x16 per direction: 3.0 8 GT/s x 16 lanes x 128/130 / 8 = 15.75 GB/s; 4.0 and 5.0 double.
    "pcie3": LinkSpec("pcie3", 15.75 * G, 2e-6),
    "pcie4": LinkSpec("pcie4", 31.5 * G, 2e-6),
    "pcie5": LinkSpec("pcie5", 63.0 * G, 2e-6),
    # NVLink per GPU, per direction: P100 4 x 20 GB/s; V100 6 x 25; A100 12 x 25; H100 18 x 25.
    "nvlink1": LinkSpec("nvlink1", 80 * G, 1e-6),
    "nvlink2": LinkSpec("nvlink2", 150 * G, 1e-6),
    "nvlink3": LinkSpec("nvlink3", 300 * G, 1e-6),
    "nvlink4": LinkSpec("nvlink4", 450 * G, 1e-6),
    # InfiniBand 4x ports: EDR 100 Gb/s, HDR 200 Gb/s, NDR 400 Gb/s.
    "edr": LinkSpec("ib-edr", 100e9 / 8, 1.5e-6),
    "hdr": LinkSpec("ib-hdr", 200e9 / 8, 1.5e-6),
    "ndr": LinkSpec("ib-ndr", 400e9 / 8, 1.5e-6),
}

# The host CPU that goes with each GPU generation in the presets.
HOST_FOR = {"K80": "Xeon-6132", "P100": "Xeon-6132", "V100": "Xeon-6132", "T4": "Xeon-6132",
            "A100": "Xeon-8380", "H100": "Xeon-8380", "H200": "Xeon-8380", "A10": "Xeon-8380", "A40": "Xeon-8380",
            "L4": "Xeon-8380", "L40S": "Xeon-8380", "MI250X": "Xeon-8380", "MI300X": "Xeon-8380"}
