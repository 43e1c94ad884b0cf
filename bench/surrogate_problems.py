"""The problems of the surrogate benchmark suite (bench/surrogate.py): design spaces and their data sets.

Each problem is a design space written as a config's knobs (so that every model
sees the framework's own features: one-hot and scaled knobs, repeated knobs
with transition features, exchangeable GPU families) and one cost. Simulated
problems are generated with the simulator's public API (``import simulator as
sim``); the real ones are the gem5 tables of the original Deffe
(bench/data/deffe-real/).

Sampling is without replacement: a data set holds distinct points, and where
the GPUs of a placement are exchangeable (identical GPUs with a symmetric
topology) distinct up to a renaming of the GPUs, the placement being
canonicalised by renaming its GPUs by order of first appearance before
duplicates are dropped. Any split of a data set into train and test is then
disjoint in that sense too. Placements are drawn half uniformly at random,
half as 1 to ``max_runs`` contiguous runs of one GPU each (pipeline-like; the
run-shaped placements are few, so once they are exhausted the draws are
uniform ones); every other knob is uniform over its values.

Data sets are cached in bench/results/, keyed by a hash of the problem's
settings, the simulator's version, the network and device files read, the
code that draws and costs the points (this module, framework/encoding.py, the
simulator package's source and data) and numpy's version.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import bench_support as digests  # noqa: E402  (bench/, beside this module)
from framework.config import load_config  # noqa: E402
from framework.context import Budget, Framework  # noqa: E402
from framework.encoding import canonical_labels  # noqa: E402

RESULTS = REPO / "bench" / "results"
REAL = REPO / "bench" / "data" / "deffe-real"
SIM_SETTINGS = ("cost_model", "batch_size", "ppp_comp", "ppp_comm", "micro_batches", "schedule", "replicas",
                "precision", "optimizer", "memory", "memory_penalty")


@dataclass
class Problem:
    """One problem: its knobs (config entries), its cost, and how its data set is made."""

    name: str
    title: str                     # one line for the table
    kind: str                      # "simulated" | "real"
    knobs: list[dict]              # the config's knob entries
    cost: str
    size: int = 5000               # points in the data set (simulated); the real tables hold what they hold
    # simulated problems
    network: str = ""              # zoo name or bundled Paleo file (.json)
    devices: str = ""              # preset name or bundled Exprimo file (.json)
    groups: int | None = None      # regroup the network into this many groups (None: its default groups)
    group_by: str = "layers"
    gpus: list[int] = field(default_factory=list)   # device indices the placement's GPU labels 0..G-1 stand for
    settings: dict = field(default_factory=dict)    # fixed simulator settings
    max_runs: int = 4              # contiguous runs of the pipeline-like half of the placements
    seed: int = 0
    # real problems
    csv: str = ""

    # ------------------------------------------------------------------ the design space
    @property
    def family(self) -> dict | None:
        """The repeated device knob, if any."""
        return next((k for k in self.knobs if k.get("count")), None)

    @property
    def exchangeable(self) -> bool:
        fam = self.family
        return bool(fam and fam.get("exchangeable"))

    def knob_names(self) -> list[str]:
        names = []
        for k in self.knobs:
            names += [f"{k['name']}_{i}" for i in range(k["count"])] if k.get("count") else [k["name"]]
        return names

    def describe(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("title")
        return d

    # ------------------------------------------------------------------ canonical keys
    def canonical(self, codes: np.ndarray) -> np.ndarray:
        """The codes with the device family renamed by first appearance when its GPUs are exchangeable."""
        codes = np.asarray(codes, dtype=np.int64).copy()
        fam = self.family
        if fam is not None and fam.get("exchangeable"):
            pos = self._family_positions()
            codes[:, pos] = canonical_labels(codes[:, pos], len(fam["values"]))
        return codes

    def _family_positions(self) -> list[int]:
        out, j = [], 0
        for k in self.knobs:
            n = k.get("count") or 1
            if k.get("count"):
                out = list(range(j, j + n))
            j += n
        return out


# ----------------------------------------------------------------------------- the problems
def _device_knob(gpus: int, count: int, exchangeable: bool = True) -> dict:
    return {"name": "device", "type": "categorical", "values": list(range(gpus)), "count": count,
            "exchangeable": exchangeable}


LEGACY_SETTINGS = {
    "network": "paleo-nets/resnet50.json",
    "devices": "exprimo-device-graphs/malvik-4gpu.json",
    "groups": 16, "cost_model": "paleo", "batch_size": 128, "ppp_comp": 0.9, "ppp_comm": 0.25,
    "samples": 20000, "seed": 20240501,
}


def legacy_problem(settings: dict = LEGACY_SETTINGS) -> Problem:
    """Today's problem of bench/surrogate.py: Paleo's ResNet-50 in 16 groups on Exprimo's malvik-4gpu."""
    s = settings
    return Problem(
        name="resnet50_paleo_4gpu" if s["network"].endswith("resnet50.json") else
        Path(s["network"]).stem + "_paleo_4gpu",
        title=f"{Path(s['network']).stem} (Paleo file) 16 groups on 4 V100 (malvik-4gpu), Paleo, placement only",
        kind="simulated", knobs=[_device_knob(4, s["groups"])], cost="step_time", size=s["samples"],
        network=s["network"], devices=s["devices"], groups=s["groups"], gpus=[],   # gpus: the file's GPUs
        settings={k: s[k] for k in ("cost_model", "batch_size", "ppp_comp", "ppp_comm")}, seed=s["seed"])


PROBLEMS: dict[str, Problem] = {}


def _add(p: Problem) -> None:
    PROBLEMS[p.name] = p


_add(legacy_problem())
_add(Problem(
    name="inception_16gpu_roofline",
    title="Inception-V3 (zoo) 16 groups by FLOPs on 16 V100 PCIe, roofline; knobs: placement, precision, batch",
    kind="simulated",
    knobs=[_device_knob(16, 16), {"name": "precision", "type": "categorical", "values": ["fp32", "fp16"]},
           {"name": "batch_size", "values": [64, 128, 256]}],
    cost="step_time", network="inception_v3", devices="cpu+16xV100-pcie3", groups=16, group_by="flops",
    gpus=list(range(1, 17)), settings={"cost_model": "roofline", "optimizer": "momentum"}, max_runs=8,
    seed=131))
_add(Problem(
    name="gpt2_pipeline_8gpu",
    title="GPT-2 small (zoo, 14 blocks) on 8 A100 NVLink, roofline; knobs: placement, micro-batches, "
          "schedule, precision",
    kind="simulated",
    knobs=[_device_knob(8, 14), {"name": "micro_batches", "values": [1, 2, 4, 8, 16]},
           {"name": "schedule", "type": "categorical", "values": ["gpipe", "1f1b"]},
           {"name": "precision", "type": "categorical", "values": ["fp32", "bf16"]}],
    cost="step_time", network="gpt2", devices="cpu+8xA100-nvlink3", gpus=list(range(1, 9)),
    settings={"cost_model": "roofline", "batch_size": 64, "optimizer": "adam"}, max_runs=8, seed=132))
_add(Problem(
    name="bert_multinode_dp_paleo",
    title="BERT-base (zoo, 14 blocks) on 2 nodes x 8 A100 (HDR), Paleo; knobs: placement on node 0's "
          "first 4 GPUs, data-parallel replicas, micro-batches; GPUs not exchangeable (a replica takes the "
          "lowest-indexed free GPUs, so renaming GPUs changes which stages cross the nodes)",
    kind="simulated",
    knobs=[_device_knob(4, 14, exchangeable=False), {"name": "replicas", "values": [1, 2, 4]},
           {"name": "micro_batches", "values": [1, 2, 4]}],
    cost="step_time", network="bert_base", devices="2x(cpu+8xA100-nvlink3)-hdr", gpus=[1, 2, 3, 4],
    settings={"cost_model": "paleo", "batch_size": 64, "optimizer": "adam"}, max_runs=4, seed=133))
_add(Problem(
    name="lstm_memcap_4gpu",
    title="LSTM seq2seq (zoo, 4x1000 enc/dec, 11 groups) on 4 V100 PCIe, roofline; knobs: placement, GPU "
          "memory cap, optimizer, precision (over the cap: step time x (1 + 10 x overflow))",
    kind="simulated",
    knobs=[_device_knob(4, 11), {"name": "memory_cap_gb", "values": [2, 4, 8, 16, 32]},
           {"name": "optimizer", "type": "categorical", "values": ["sgd", "adam"]},
           {"name": "precision", "type": "categorical", "values": ["fp32", "fp16"]}],
    cost="step_time", network="lstm_seq2seq", devices="cpu+4xV100-pcie3", gpus=[1, 2, 3, 4],
    settings={"cost_model": "roofline", "batch_size": 128, "memory": "penalty", "memory_penalty": 10},
    max_runs=4, seed=134))
_add(Problem(
    name="vgg16_memory_8gpu",
    title="VGG-16 (zoo, 16 groups) on 8 H100 PCIe, roofline; cost: peak memory of the busiest GPU; knobs: "
          "placement, micro-batches, precision, optimizer, batch",
    kind="simulated",
    knobs=[_device_knob(8, 16), {"name": "micro_batches", "values": [1, 2, 4, 8]},
           {"name": "precision", "type": "categorical", "values": ["fp32", "bf16"]},
           {"name": "optimizer", "type": "categorical", "values": ["sgd", "momentum", "adam"]},
           {"name": "batch_size", "values": [64, 128, 256]}],
    cost="peak_memory", network="vgg16", devices="cpu+8xH100-pcie5", groups=16, gpus=list(range(1, 9)),
    settings={"cost_model": "roofline"}, max_runs=8, seed=135))

# the real gem5 tables: the knob value lists of the original Deffe configs (bench/data/deffe-real/README.md)
_WAYS = [1, 2, 4, 8]
_CACHE = [
    {"name": "l1d_ways", "values": _WAYS}, {"name": "l1i_ways", "values": _WAYS},
    {"name": "l2_ways", "values": _WAYS},
    {"name": "l1d_size", "values": [1, 2, 4, 8, 16, 32, 64]}, {"name": "l1i_size", "values": [1, 2, 4, 8, 16, 32, 64]},
    {"name": "l2_size", "values": [1, 2, 4, 8, 16, 32, 64, 128, 256]},
    {"name": "cacheline", "values": [16, 32, 64, 128]},
]
_add(Problem(name="real_kmeans", title="gem5 kmeans on RISC-V cache configurations (Deffe's table, 40 points)",
             kind="real", knobs=_CACHE + [{"name": "kmeans_objects", "values": [100, 500, 1000, 10000, 66950]}],
             cost="cpu_cycles", csv="real_kmeans.csv"))
_add(Problem(name="real_matmul", title="gem5 matmul on RISC-V cache configurations (Deffe's table, 20 points)",
             kind="real", knobs=_CACHE + [{"name": "matmul_size", "values": [16, 32, 64, 128, 256, 512]}],
             cost="cpu_cycles", csv="real_matmul.csv"))


# ----------------------------------------------------------------------------- framework
def framework_for(problem: Problem, plugin: str, workdir: Path, model: dict | None = None,
                  args: argparse.Namespace | None = None, knobs: list[dict] | None = None) -> Framework:
    """The framework entered on the problem's design space, with this model section (as a run builds it)."""
    cfg = {"knobs": knobs or problem.knobs, "costs": [problem.cost],
           "evaluate": {"plugin": "python", "function": "unused:unused"},
           "model": {"plugin": plugin, **(model or {})}}
    text = json.dumps(cfg, sort_keys=True)
    path = workdir / f"{problem.name}-{plugin}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.json"
    path.write_text(text)
    config = load_config(path)
    fw = Framework(config, args or argparse.Namespace(), workdir, 0, logging.getLogger("bench"))
    fw.enter(config.explores[0], Budget())
    return fw


# ----------------------------------------------------------------------------- placements
def placements(rng: np.random.Generator, n: int, groups: int, gpus: int, max_runs: int = 4) -> np.ndarray:
    """Half uniform at random, half 1 to max_runs contiguous runs of one GPU each (GPU labels 0..gpus-1;
    consecutive runs on different GPUs)."""
    half = n // 2
    uniform = rng.integers(0, gpus, size=(half, groups))
    runs = np.empty((n - half, groups), dtype=np.int64)
    top = max(1, min(max_runs, groups))
    for i in range(n - half):
        r = int(rng.integers(1, top + 1))
        cuts = np.sort(rng.choice(np.arange(1, groups), size=r - 1, replace=False))
        gpu = int(rng.integers(gpus))
        for part in np.split(np.arange(groups), cuts):
            runs[i, part] = gpu
            if gpus > 1:
                gpu = (gpu + int(rng.integers(1, gpus))) % gpus   # the next run on another GPU
    return np.vstack([uniform, runs])


# ----------------------------------------------------------------------------- data sets
def _files(problem: Problem) -> list[Path]:
    from simulator.data import DATA
    return [DATA / x for x in (problem.network, problem.devices) if x.endswith(".json")]


def _generator_files() -> list[Path]:
    """The code that makes a data set: this module (the draws, the costs), framework/encoding.py (the
    canonical keys that decide duplicates) and the whole simulator package, its source and data (a change
    of its source need not bump its __version__, and still changes the costs)."""
    sim = REPO / "simulator"
    return [REPO / "bench" / "surrogate_problems.py", REPO / "framework" / "encoding.py",
            *sim.rglob("*.py"), *sim.rglob("*.json")]


def digest(problem: Problem) -> str:
    """The key of the problem's data set: its settings, the files it reads, the code that draws and costs
    the points (_generator_files) and numpy's version (its generators and sums)."""
    import simulator as sim
    h = hashlib.sha256(json.dumps(problem.describe(), sort_keys=True).encode())
    h.update(sim.__version__.encode())
    for f in _files(problem):
        h.update(f.read_bytes())
    digests.update(h, REPO, _generator_files())
    h.update(digests.library_versions(("numpy",)).encode())
    if problem.kind == "real":
        h.update((REAL / problem.csv).read_bytes())
    return h.hexdigest()[:16]


def dataset(problem: Problem, size: int | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """(codes, costs, info) of the problem: distinct points (up to renaming exchangeable GPUs), in the
    order drawn; cached in bench/results/. ``size`` overrides the problem's size (tests)."""
    if problem.kind == "real":
        return _real(problem)
    if size is not None and size != problem.size:
        problem = dataclasses.replace(problem, size=size)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"surrogate-{problem.name}-{digest(problem)}.npz"
    t0 = time.perf_counter()
    if path.exists():
        d = np.load(path)
        return d["codes"], d["cost"], {"seconds": time.perf_counter() - t0, "dropped": int(d["dropped"]),
                                       "drawn": int(d["drawn"]), "cached": True}
    codes, y, dropped, drawn = generate(problem)
    np.savez_compressed(path, codes=codes, cost=y, dropped=dropped, drawn=drawn)
    return codes, y, {"seconds": time.perf_counter() - t0, "dropped": dropped, "drawn": drawn, "cached": False}


def _network(problem: Problem):
    import simulator as sim
    from simulator.data import DATA
    if problem.network.endswith(".json"):
        net = sim.load_network(str(DATA / problem.network))
    else:
        net = sim.zoo.load(problem.network)
    if problem.groups:
        net = net.regroup(problem.groups, by=problem.group_by)
    return net


def _graph(problem: Problem, cap_gb: float | None = None):
    import simulator as sim
    from simulator.data import DATA
    g = (sim.load_device_graph(str(DATA / problem.devices)) if problem.devices.endswith(".json")
         else sim.devices.preset(problem.devices))
    if cap_gb is not None:     # as the placement evaluator applies memory_cap_gb
        devices = [dataclasses.replace(d, memory=min(d.memory, cap_gb * 1e9)) if d.kind == "gpu" else d
                   for d in g.devices]
        g = sim.DeviceGraph(devices, g.channels, g.links, name=f"{g.name} (GPU memory {cap_gb:g} GB)")
    return g


def generate(problem: Problem) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Draw, deduplicate (canonical keys), simulate; drop infeasible points; until `size` points."""
    rng = np.random.default_rng(problem.seed)
    net = _network(problem)
    fam = problem.family
    pos = problem._family_positions()
    if fam is not None and fam["count"] != len(net.groups):
        raise SystemExit(f"{problem.name}: {fam['count']} device knobs for {len(net.groups)} groups")
    n_knobs = len(problem.knob_names())
    graphs: dict = {}
    seen: set[bytes] = set()
    kept_codes, kept_y = [], []
    have = dropped = drawn = 0
    rounds = 0
    while have < problem.size:
        rounds += 1
        if rounds > 50:
            raise SystemExit(f"{problem.name}: could not draw {problem.size} distinct points")
        batch = max(problem.size - have, 1000) * 2
        codes = np.zeros((batch, n_knobs), dtype=np.int64)
        if fam is not None:
            codes[:, pos] = placements(rng, batch, fam["count"], len(fam["values"]), problem.max_runs)
            rng.shuffle(codes, axis=0)
        j = 0
        for k in problem.knobs:
            if k.get("count"):
                j += k["count"]
                continue
            codes[:, j] = rng.integers(0, len(k["values"]), size=batch)
            j += 1
        keys = problem.canonical(codes)
        fresh = []
        for i in range(batch):
            key = keys[i].tobytes()
            if key not in seen:
                seen.add(key)
                fresh.append(i)
        drawn += batch
        codes = codes[fresh]
        y = costs(problem, codes, net, graphs)
        ok = np.isfinite(y) & (y > 0)
        dropped += int((~ok).sum())
        kept_codes.append(codes[ok])
        kept_y.append(y[ok])
        have += int(ok.sum())
    codes = np.vstack(kept_codes)[:problem.size]
    y = np.concatenate(kept_y)[:problem.size]
    return codes.astype(np.int64), y, dropped, drawn


def costs(problem: Problem, codes: np.ndarray, net=None, graphs: dict | None = None) -> np.ndarray:
    """The cost of each point (codes: level indices); NaN where it does not fit (memory "infeasible")."""
    import simulator as sim
    net = net if net is not None else _network(problem)
    graphs = {} if graphs is None else graphs
    codes = np.asarray(codes, dtype=np.int64)
    pos = problem._family_positions()
    others = [k for k in problem.knobs if not k.get("count")]
    gpu_ids = np.array(problem.gpus or [i for i, d in enumerate(_graph(problem).devices) if d.kind == "gpu"])
    combo = codes[:, [_position(problem, k["name"]) for k in others]]
    y = np.full(len(codes), np.nan)
    for c in np.unique(combo, axis=0) if len(codes) else []:     # one prepared simulator per combination
        rows = np.flatnonzero((combo == c).all(axis=1))
        values = {k["name"]: k["values"][int(ci)] for k, ci in zip(others, c)}
        settings = dict(problem.settings)
        settings.update({n: v for n, v in values.items() if n in SIM_SETTINGS})
        cap = values.get("memory_cap_gb")
        if cap not in graphs:
            graphs[cap] = _graph(problem, cap)
        res = sim.simulate_batch(net, graphs[cap], gpu_ids[codes[rows][:, pos]], **settings)
        if problem.cost == "step_time":
            y[rows] = res.step_time
        elif problem.cost == "peak_memory":
            y[rows] = np.asarray(res.peak_memory).max(axis=1)
        else:
            raise SystemExit(f"{problem.name}: unknown cost {problem.cost}")
        if problem.settings.get("memory", "infeasible") == "infeasible":
            y[rows[~np.asarray(res.feasible, dtype=bool)]] = np.nan      # does not fit: dropped
    return y


def _position(problem: Problem, name: str) -> int:
    return problem.knob_names().index(name)


def _real(problem: Problem) -> tuple[np.ndarray, np.ndarray, dict]:
    path = REAL / problem.csv
    if not path.exists():
        raise SystemExit(f"{path} is missing (copied from the reference data by bench/data/deffe-real's owner)")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    codes = np.array([[k["values"].index(int(float(r[k["name"]]))) for k in problem.knobs] for r in rows],
                     dtype=np.int64)
    y = np.array([float(r[problem.cost]) for r in rows])
    _, first = np.unique(codes, axis=0, return_index=True)
    if len(first) != len(codes):
        raise SystemExit(f"{path}: duplicate points")
    return codes, y, {"seconds": 0.0, "dropped": 0, "drawn": len(y), "cached": True}


def split(problem: Problem, codes: np.ndarray, train: np.ndarray, test: np.ndarray) -> bool:
    """True when no test point equals a training point (up to renaming exchangeable GPUs)."""
    keys = problem.canonical(codes)
    tr = {keys[i].tobytes() for i in train}
    return not any(keys[i].tobytes() in tr for i in test)
