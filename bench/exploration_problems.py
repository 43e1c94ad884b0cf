"""The problems of bench/exploration.py: placements evaluated by the analytical simulator.

Each problem is a design space (one device knob per layer group, plus optional training settings),
a memory constraint (``memory_use <= 1``: the fullest device's peak over its capacity) and the
objective ``step_time``. A ``Problem`` evaluates codes (level indices, as ``framework.space`` writes
them) in process, with exactly what the placement evaluator computes, and writes the config that runs
the same problem through ``framework/run_deffe.py``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import simulator as sim  # noqa: E402
from simulator.data import DATA  # noqa: E402
from framework.encoding import Relabelling  # noqa: E402
from framework.space import DesignSpace, Knob, ListLevels  # noqa: E402
from framework.values import value_key  # noqa: E402

# one rule for every method that needs a number for a placement that does not fit: the simulator's
# own memory="penalty" mode (step time x (1 + MEMORY_PENALTY x overflow), overflow = memory_use - 1)
MEMORY_PENALTY = 10.0

PAL = dict(cost_model="paleo", batch_size=128, ppp_comp=0.9, ppp_comm=0.25, micro_batches=8, schedule="gpipe")


@dataclass(frozen=True)
class Spec:
    title: str
    network: str                      # a Paleo file under simulator/data/ or a zoo name
    devices: str                      # an Exprimo file under simulator/data/ or a preset
    device_values: tuple              # device indices a group may go to
    settings: dict                    # simulator settings (fixed)
    groups: int = 16
    network_config: dict = field(default_factory=dict)
    memory_cap_gb: float | None = None
    exchangeable: tuple | bool = ()   # values of the device knob that are interchangeable
    extra: dict = field(default_factory=dict)   # training settings that are knobs: name -> values
    note: str = ""


SPECS: dict[str, Spec] = {
    "resnet50": Spec(
        "ResNet-50 (Paleo file), 16 groups, CPU + 4 V100 (GPU memory 2.5 GB), GPipe 8 micro-batches",
        "paleo-nets/resnet50.json", "exprimo-device-graphs/malvik-4gpu-reduced-resnet.json",
        (0, 1, 2, 3, 4), PAL, exchangeable=(1, 2, 3, 4),
        note="5^16 = 1.5e11 placements; the network fits on no single GPU"),
    "inception_v3": Spec(
        "Inception-V3 (Paleo file), 16 groups, CPU + 4 V100 (reduced memory), GPipe 8 micro-batches",
        "paleo-nets/inception_v3.json", "exprimo-device-graphs/malvik-4gpu-reduced-inception.json",
        (0, 1, 2, 3, 4), PAL, exchangeable=(1, 2, 3, 4),
        note="5^16 = 1.5e11 placements"),
    "gpt2_8gpu": Spec(
        "GPT-2 large (zoo, 774M), 16 groups, 8 A100 NVLink 3 (memory capped at 24 GB), bf16, Adam, "
        "1F1B 8 micro-batches, batch 32",
        "gpt2", "cpu+8xA100-nvlink3", tuple(range(1, 9)),
        dict(cost_model="roofline", precision="bf16", optimizer="adam", micro_batches=8, schedule="1f1b",
             batch_size=32),
        network_config={"size": "large"}, memory_cap_gb=24.0, exchangeable=tuple(range(1, 9)),
        note="8^16 = 2.8e14 placements on the 8 GPUs; one GPU (38 GB) does not fit, nor does an even "
             "8-way split (stage 0 keeps 8 micro-batches in flight)"),
    "vgg16_2node_dp": Spec(
        "VGG-16 (zoo, 138M), 16 groups on 4 GPUs of node 0 of 2 x (CPU + 8 V100 NVLink 2) over EDR "
        "(memory capped at 4 GB), data-parallel replicas and micro-batches as knobs, 1F1B, batch 256",
        "vgg16", "2x(cpu+8xV100-nvlink2)-edr", (1, 2, 3, 4),
        dict(cost_model="roofline", optimizer="momentum", schedule="1f1b", batch_size=256),
        memory_cap_gb=4.0, exchangeable=(),
        extra={"replicas": [1, 2, 4], "micro_batches": [1, 2, 4, 8]},
        note="4^16 x 3 x 4 = 5.2e10 designs; replica k takes the next unused GPUs (node 0, then node 1), "
             "gradients all-reduced by a ring, across the nodes over InfiniBand EDR. The 4 GPUs are not "
             "declared exchangeable: which GPU holds which stage changes the replicas' NIC sharing "
             "(relabelling changes step times by up to 25%)"),
}


class Problem:
    """A problem of the benchmark, evaluated in process."""

    def __init__(self, name: str):
        self.name = name
        self.spec = s = SPECS[name]
        if s.network.endswith(".json"):
            self.net_path: str = str(DATA / s.network)
            net = sim.load_network(self.net_path)
        else:
            self.net_path = s.network
            net = sim.zoo.load(s.network, **s.network_config)
        self.net = net.regroup(s.groups)
        if s.devices.endswith(".json"):
            self.dev_path: str = str(DATA / s.devices)
            graph = sim.load_device_graph(self.dev_path)
        else:
            self.dev_path = s.devices
            graph = sim.devices.preset(s.devices)
        if s.memory_cap_gb is not None:   # as the placement evaluator caps memory
            devs = [dataclasses.replace(d, memory=min(d.memory, s.memory_cap_gb * 1e9)) if d.kind == "gpu" else d
                    for d in graph.devices]
            graph = sim.DeviceGraph(devs, graph.channels, graph.links, name=f"{graph.name} (capped)")
        self.graph = graph
        self.device_values = np.array(s.device_values, dtype=np.int64)
        knobs = [Knob(f"device_{i}", "categorical", ListLevels(list(s.device_values)), encoding="onehot")
                 for i in range(s.groups)]
        knobs += [Knob(n, "ordinal", ListLevels(list(v))) for n, v in s.extra.items()]
        self.space = DesignSpace(knobs)
        # the placement's renamings, for design_key: the device knobs as the surrogate's config declares them
        ex = s.exchangeable
        family = [Knob(f"device_{i}", "categorical", ListLevels(list(s.device_values)), family="device", member=i,
                       exchangeable=True if ex is True else tuple(value_key(v) for v in ex)) for i in range(s.groups)]
        self._renaming = Relabelling(DesignSpace(family)) if ex else None
        self.knob_names = [k.name for k in knobs]
        self.levels = [list(s.device_values)] * s.groups + [list(v) for v in s.extra.values()]
        self._sims: dict[tuple, object] = {}
        self.evaluations = 0

    # ------------------------------------------------------------------ evaluation
    def _simulator(self, combo: tuple):
        if combo not in self._sims:
            settings = dict(self.spec.settings)
            settings.update(dict(zip(self.spec.extra, combo)))
            self._sims[combo] = sim.prepare(self.net, self.graph, **settings)
        return self._sims[combo]

    def evaluate(self, codes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(raw step time, memory_use, feasible) of each row of codes (level indices)."""
        codes = np.atleast_2d(np.asarray(codes)).astype(np.int64)
        n, g = len(codes), self.spec.groups
        self.evaluations += n
        placements = self.device_values[codes[:, :g]]
        raw, mem, ok = np.full(n, math.inf), np.full(n, math.inf), np.zeros(n, dtype=bool)
        extra = list(self.spec.extra.values())
        combos = [tuple(v[int(c)] for v, c in zip(extra, row)) for row in codes[:, g:]] if extra else [()] * n
        for combo in set(combos):
            rows = np.array([i for i, c in enumerate(combos) if c == combo])
            r = self._simulator(combo).run_batch(placements[rows])
            cap = np.asarray(r.memory_capacity, dtype=float)
            use = np.asarray(r.peak_memory, dtype=float)[:, np.isfinite(cap) & (cap > 0)] / cap[np.isfinite(cap) & (cap > 0)]
            raw[rows] = r.raw_step_time
            mem[rows] = use.max(axis=1) if use.shape[1] else 0.0
            ok[rows] = np.asarray(r.feasible, dtype=bool) & np.isfinite(r.raw_step_time)
        return raw, mem, ok

    def feasible_values(self, codes) -> np.ndarray:
        """Step time of each point; inf where it does not fit (what 'best found' counts)."""
        raw, _, ok = self.evaluate(codes)
        return np.where(ok, raw, math.inf)

    def penalised(self, codes) -> np.ndarray:
        """The one number for methods that need one: the simulator's memory="penalty" rule."""
        raw, mem, ok = self.evaluate(codes)
        return raw * (1.0 + MEMORY_PENALTY * np.maximum(0.0, mem - 1.0))

    def design_key(self, code) -> tuple:
        """A design's identity. Where the GPUs are exchangeable, a placement and its renamings (the GPUs
        permuted) are one design: every method that keeps a record of what it evaluated (the Optuna
        samplers' cache, the surrogate exploration) counts a renamed copy as evaluated already."""
        code = np.asarray(code, dtype=np.int64)
        if self._renaming is not None:
            g = self.spec.groups
            code = np.concatenate([self._renaming.canonical(code[None, :g])[0], code[g:]])
        return tuple(int(c) for c in code)

    # ------------------------------------------------------------------ identity and config
    def digest(self) -> str:
        s = self.spec
        text = json.dumps(dataclasses.asdict(s), sort_keys=True, default=str) + sim.__version__
        h = hashlib.sha256(text.encode())
        for path in (self.net_path, self.dev_path):
            if path.endswith(".json"):
                h.update(Path(path).read_bytes())
        return h.hexdigest()[:12]

    def deffe_config(self, seed: int, budget: int) -> dict:
        """The config that runs the surrogate exploration on this problem through run_deffe.py."""
        s = self.spec
        device = {"name": "device", "type": "categorical", "values": list(s.device_values), "count": s.groups}
        if s.exchangeable:
            device["exchangeable"] = True if s.exchangeable is True else list(s.exchangeable)
        knobs = [device] + [{"name": n, "values": list(v)} for n, v in s.extra.items()]
        simulator = dict(network=self.net_path, devices=self.dev_path, groups=s.groups, **s.settings)
        if s.network_config:
            simulator["network_config"] = dict(s.network_config)
        if s.memory_cap_gb is not None:
            simulator["memory_cap_gb"] = s.memory_cap_gb
        return {
            "knobs": knobs,
            # memory_use as a constraint: what every other method is told too
            "costs": ["step_time::min", "memory_use"],
            "constraints": ["memory_use <= 1"],
            "evaluate": {"plugin": "placement", "simulator": simulator},
            "exploration": {"plugin": "surrogate", "max_samples": budget, "samples_per_step": 10,
                            "objectives": ["step_time"], "analysis": False},
            "framework": {"run_directory": "run", "seed": seed},
        }

    def random_codes(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.column_stack([rng.integers(0, len(v), n) for v in self.levels])


def all_combos(spec: Spec) -> list[tuple]:
    return list(itertools.product(*spec.extra.values())) if spec.extra else [()]
