"""Device graphs: presets, topologies, routing, Exprimo's device files."""
from __future__ import annotations

import json

import pytest

import simulator as sim
from simulator.devices import Channel, DeviceGraph, preset, topology
from simulator.graph import SimulatorError
from test_schedule_helpers import gpu


def test_preset_pcie_host_with_four_v100():
    g = preset("cpu+4xV100-pcie3")
    assert [d.name for d in g.devices] == ["cpu0", "gpu0", "gpu1", "gpu2", "gpu3"]
    v100 = g.devices[1]
    # V100 PCIe datasheet: 14 TFLOP/s fp32, 112 TFLOP/s tensor fp16, 900 GB/s, 32 GB
    assert v100.peak_flops["fp32"] == 14e12 and v100.peak_flops["fp16"] == 112e12
    assert v100.mem_bandwidth == 900e9 and v100.memory == 32e9
    assert len(g.channels) == 4 and all(c.kind == "pcie3" for c in g.channels)
    assert g.channels[0].bandwidth == pytest.approx(15.75e9)
    # GPU i -> anything uses its own slot, as in Exprimo's files
    assert g.route(1, 3) == [(0, 1)] and g.route(0, 2) == [(1, 0)]


def test_nvlink_preset_uses_sxm_parts_and_nvlink_between_gpus():
    g = preset("cpu+8xA100-nvlink3")
    assert g.devices[1].model == "NVIDIA A100-SXM4-80GB"
    assert g.devices[1].peak_flops["bf16"] == 312e12
    ch, sender = g.route(1, 2)[0]
    assert g.channels[ch].kind == "nvlink3" and g.channels[ch].bandwidth == 300e9 and sender == 1
    # host traffic stays on PCIe 4
    assert g.channels[g.route(0, 1)[0][0]].kind == "pcie4"


def test_cluster_preset_links_nodes_over_infiniband():
    g = preset("2x(cpu+8xH100-nvlink4)-ndr")
    assert len(g.devices) == 18
    a, b = g.index("n0.gpu3"), g.index("n1.gpu5")
    (ch, _), = g.route(a, b)
    assert g.channels[ch].kind == "ib-ndr" and g.channels[ch].bandwidth == 50e9
    assert g.channels[ch].name == "n0.nic3"  # GPU i uses NIC i of its node
    assert g.channels[g.route(g.index("n1.gpu0"), g.index("n1.gpu1"))[0][0]].kind == "nvlink4"


def test_topology_function_matches_preset():
    g = topology("nvlink", gpu="A100", n=8)
    p = preset("cpu+8xA100-nvlink3")
    assert [d.model for d in g.devices] == [d.model for d in p.devices]
    assert [c.bandwidth for c in g.channels] == [c.bandwidth for c in p.channels]
    assert topology("pcie", gpu="K80", n=2).devices[1].memory == 12e9
    c = topology("cluster", nodes=3, gpu="V100", n=2, ib="edr", nics=1)
    assert len(c.devices) == 9 and sum(ch.kind == "ib-edr" for ch in c.channels) == 3


def test_precisions_without_a_fast_path_run_at_fp32_speed():
    k80 = preset("cpu+1xK80-pcie3").devices[1]
    assert k80.peak_flops["fp16"] == k80.peak_flops["fp32"] == k80.peak_flops["bf16"]


@pytest.mark.parametrize("name, model, fp32, fp16, memory", [
    ("cpu+4xT4-pcie3", "NVIDIA T4-16GB", 8.1e12, 65e12, 16e9),
    ("cpu+4xL40S-pcie4", "NVIDIA L40S-48GB", 91.6e12, 362e12, 48e9),
    ("cpu+2xH200-pcie5", "NVIDIA H200-NVL-141GB", 60e12, 835e12, 141e9),
    ("cpu+8xH200-nvlink4", "NVIDIA H200-SXM5-141GB", 67e12, 989e12, 141e9),
    ("cpu+8xMI250X-pcie4", "AMD Instinct MI250X (one GCD)", 47.85e12, 191.5e12, 64e9),
    ("cpu+8xMI300X-pcie5", "AMD Instinct MI300X", 163.4e12, 1307.4e12, 192e9),
])
def test_gpus_of_other_generations_and_vendors_by_their_datasheets(name, model, fp32, fp16, memory):
    g = preset(name)
    gpu = g.devices[1]
    assert (gpu.model, gpu.peak_flops["fp32"], gpu.peak_flops["fp16"], gpu.memory) == (model, fp32, fp16, memory)
    assert name in sim.devices.PRESETS
    net = sim.zoo.load("resnet50", batch_size=32)
    assert sim.simulate(net, g, 1).step_time > 0


@pytest.mark.parametrize("name, hint", [
    ("cpu+4xV10-pcie3", "did you mean 'V100'"),
    ("cpu+4V100-pcie3", "did you mean 'cpu+4xV100-pcie3'"),
    ("cpu+8xA100-nvlink2", "A100-SXM4 uses nvlink3"),
    ("cpu+2xK80-nvlink", "K80 has no NVLINK variant"),
    ("cpu+2xMI300X-nvlink", "MI300X has no NVLINK variant"),
])
def test_unknown_presets_say_what_is_wrong(name, hint):
    with pytest.raises(SimulatorError, match="preset") as err:
        preset(name)
    assert hint in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("name, count", [
    ("cpu+2049xV100-pcie3", "2050 devices (2049 GPUs and 1 CPU host)"),
    ("cpu+99999999xV100-pcie3", "100000000 devices"),   # filled the machine's memory: one link per device pair
    ("cpu+4096xA100-nvlink3", "4097 devices"),
    ("2x(cpu+1024xA100-nvlink3)-hdr", "2050 devices (2048 GPUs and 2 CPU hosts)"),
    ("100000x(cpu+8xA100-nvlink3)-hdr", "900000 devices"),
    ("cpu+" + "9" * 5000 + "xV100-pcie3", "a count of 5000 digits"),   # int() refuses it with a ValueError
])
def test_a_machine_beyond_the_device_limit_is_refused_before_it_is_built(name, count):
    import time
    start = time.perf_counter()
    with pytest.raises(SimulatorError, match="preset") as err:
        preset(name)
    assert count in str(err.value) and "at most 2049 devices" in str(err.value) and "\n" not in str(err.value)
    assert time.perf_counter() - start < 1


def test_the_device_limit_counts_hosts_and_gpus_in_every_builder(monkeypatch):
    with pytest.raises(SimulatorError, match=r"^2050 devices .* at most 2049 devices"):
        topology("pcie", n=2049)
    with pytest.raises(SimulatorError, match=r"^2050 devices .* at most 2049 devices"):
        topology("cluster", nodes=1025, n=1)
    with pytest.raises(SimulatorError, match=r"nics must be at most the number of GPUs per node \(8\)"):
        topology("cluster", nodes=2, n=8, nics=10**9)   # a channel per NIC: nobody would use the 9th
    from simulator.devices import topologies
    monkeypatch.setattr(topologies, "MAX_DEVICES", 9)   # the limit itself builds (2049 devices take seconds)
    assert len(preset("cpu+8xV100-pcie3")) == len(topology("cluster", nodes=3, n=2)) == 9
    with pytest.raises(SimulatorError, match=r"^device preset 'cpu\+9xV100-pcie3': 10 devices .* at most 9 "):
        preset("cpu+9xV100-pcie3")


@pytest.mark.parametrize("kind, kwargs, said", [
    ("pcie", {"n": True}, "the number of GPUs must be a positive integer, not True"),
    ("nvlink", {"n": False}, "the number of GPUs must be a positive integer, not False"),
    ("cluster", {"nodes": True}, "nodes must be a positive integer, not True"),
    ("cluster", {"n": True}, "the number of GPUs must be a positive integer, not True"),
    ("cluster", {"nics": True}, "nics must be a positive integer, not True"),
])
def test_a_boolean_is_not_a_device_count(kind, kwargs, said):
    # Python counts True as 1: topology("pcie", n=True) built one GPU, where batch_size=True is refused
    with pytest.raises(SimulatorError, match=f"^{said}$"):
        topology(kind, **kwargs)


def test_multi_hop_route_when_there_is_no_direct_link():
    devs = [gpu("a"), gpu("b"), gpu("c")]
    chans = [Channel("ab", "t", 10e9), Channel("bc", "t", 10e9), Channel("slow", "t", 1e6)]
    g = DeviceGraph(devs, chans, {(0, 1): 0, (1, 0): 0, (1, 2): 1, (2, 1): 1})
    assert g.route(0, 2) == [(0, 0), (1, 1)]  # a -> b on ab (sent by a), b -> c on bc (sent by b)
    g2 = DeviceGraph(devs, chans, {(0, 1): 0, (1, 2): 1, (0, 2): 2})
    assert g2.route(0, 2) == [(2, 0)]  # a direct link always wins


def test_routes_asked_for_one_by_one_are_those_of_the_all_pairs_search(device_graphs):
    # route() computes only what it is asked for (a direct link without a search, Dijkstra from a source on
    # first need); routes() runs the search from every device: the same hops for every pair
    import random
    rng = random.Random(3)
    graphs = [sim.load_device_graph(p) for p in sorted(device_graphs.glob("*.json"))]
    graphs += [preset("cpu+4xV100-pcie3"), preset("2x(cpu+8xH100-nvlink4)-ndr")]
    for seed in range(20):   # sparse random graphs: multi-hop routes, ties, unreachable pairs
        n = rng.randint(2, 9)
        chans = [Channel(f"c{i}", "t", rng.choice([1e9, 2e9, 1e10]), rng.choice([0.0, 1e-6])) for i in range(4)]
        links = {(a, b): rng.randrange(4) for a in range(n) for b in range(n) if a != b and rng.random() < 0.3}
        graphs.append(DeviceGraph([gpu(f"d{i}") for i in range(n)], chans, links))
    for g in graphs:
        fresh = DeviceGraph(g.devices, g.channels, g.links)
        every = fresh.routes()
        lazy = DeviceGraph(g.devices, g.channels, g.links)
        pairs = [(a, b) for a in range(len(g.devices)) for b in range(len(g.devices)) if a != b]
        rng.shuffle(pairs)
        for a, b in pairs:
            assert lazy.route_or_none(a, b) == every.get((a, b)), (g.name, a, b)


def test_a_graph_with_every_pair_linked_needs_no_route_search():
    # cpu+256xV100-pcie3 took 14 s to prepare (Dijkstra from every device over every link, each time
    # re-sorting the links); its route table is its links
    from simulator.schedule import route_tables
    g = preset("cpu+64xV100-pcie3")
    ptr, chans, froms, max_hops = route_tables(g)
    assert max_hops == 1 and len(chans) == len(g.links) and not g._routes_from
    assert chans[ptr[3 * 65 + 7]] == g.links[(3, 7)] and froms[ptr[3 * 65 + 7]] == 3


def test_no_route_is_a_clear_error():
    g = DeviceGraph([gpu("a"), gpu("b")], [], {})
    with pytest.raises(SimulatorError, match="no route between devices a and b"):
        g.route(0, 1)


def test_exprimo_device_graph_is_converted_to_si(reference):
    g = sim.load_device_graph(reference / "exprimo-device-graphs" / "malvik-4gpu.json")
    cpu, v100 = g.devices[0], g.devices[1]
    assert (cpu.kind, v100.kind) == ("cpu", "gpu")
    assert v100.peak_flops["fp32"] == 14000e9       # GFLOP/s -> FLOP/s
    assert v100.memory == 32e9                      # GB -> bytes (decimal, as Exprimo checks)
    assert v100.clock == 1312e6                     # MHz -> Hz
    assert v100.mem_bandwidth == 900e9              # GB/s -> bytes/s
    assert g.channels[0].bandwidth == 128e9 / 8     # Gbit/s -> bytes/s
    # a device's neighbour list names the channel its own sends use
    assert g.route(2, 1) == [(1, 2)] and g.route(1, 2) == [(0, 1)]


def test_a_device_listed_as_its_own_neighbour_is_read_as_exprimo_reads_it(reference, tmp_path):
    # Exprimo's colocrl-2.json: the second K80 lists itself where the CPU was meant; Exprimo loads it
    data = json.loads((reference / "exprimo-device-graphs" / "malvik.json").read_text())
    data["devices"][2]["neighbours"] = [{"device": 1, "comm_channel": 0}, {"device": 2, "comm_channel": 0}]
    path = tmp_path / "colocrl-2-like.json"
    path.write_text(json.dumps(data))
    g = sim.load_device_graph(path)
    assert (2, 2) not in g.links
    assert g.route(2, 0) == [(g.links[(2, 1)], 2), (g.links[(1, 0)], 1)]   # through the other GPU


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["devices"][1]["neighbours"].append({"device": 9, "comm_channel": 0}),
     "devices[1].neighbours[4]: device 9 does not exist (5 devices)"),
    (lambda d: d["devices"][2].update(peak_gflops=-1), "devices[2]: 'peak_gflops' must be a positive number"),
    (lambda d: d["devices"][0].pop("clock"), "devices[0]: missing 'clock'"),
    (lambda d: d["comm_channels"][3].update(bandwidth="fast"), "comm_channels[3]: 'bandwidth' must be"),
    # a misspelt key silently took the default (68 GB/s), a device without a type became a CPU
    (lambda d: d["devices"][1].update(mem_bandwith=d["devices"][1].pop("mem_bandwidth")),
     "devices[1]: unknown key 'mem_bandwith' (did you mean 'mem_bandwidth'?)"),
    (lambda d: d["devices"][2].pop("type"), "devices[2]: missing 'type' ('cpu' or 'gpu')"),
    (lambda d: d["comm_channels"][0].update(latency=1), "comm_channels[0]: unknown key 'latency' (keys: type, "),
    (lambda d: d["devices"][0]["neighbours"][0].update(channel=0), "devices[0].neighbours[0]: unknown key 'channel'"),
    # a neighbour listed twice: the last entry won without a word
    (lambda d: d["devices"][1]["neighbours"].append({"device": 0, "comm_channel": 3}),
     "devices[1].neighbours[4]: device 0 is listed twice as a neighbour (first at neighbours[0], channel 0; here "
     "channel 3); keep one"),
])
def test_bad_exprimo_files_name_the_file_and_the_place(reference, tmp_path, edit, message):
    data = json.loads((reference / "exprimo-device-graphs" / "malvik-4gpu.json").read_text())
    edit(data)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SimulatorError) as err:
        sim.load_device_graph(path)
    # the path as given (its base name left machines/a.json and other/a.json apart)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_an_exprimo_device_may_give_its_fp16_and_bf16_peaks(reference, tmp_path):
    # Exprimo's files give one peak: fp16 ran at it without a word (215 ms where the preset V100 takes 55 ms)
    from simulator.importers.exprimo import fp32_peak_note
    g = sim.load_device_graph(reference / "exprimo-device-graphs" / "malvik-4gpu.json")
    assert g.devices[1].peak_flops["fp16"] == g.devices[1].peak_flops["fp32"] == 14000e9
    assert fp32_peak_note(g, "fp32") is None
    assert fp32_peak_note(g, "fp16") == (f"{reference / 'exprimo-device-graphs' / 'malvik-4gpu.json'}: no 'peak_gflops_fp16' for its devices: fp16 runs at "
                                         "the fp32 'peak_gflops' there (add 'peak_gflops_fp16' to a device, in "
                                         "GFLOP/s, for its fp16 rate)")
    data = json.loads((reference / "exprimo-device-graphs" / "malvik-4gpu.json").read_text())
    for d in data["devices"][1:]:
        d.update(peak_gflops_fp16=112000)
    path = tmp_path / "tensor.json"
    path.write_text(json.dumps(data))
    g = sim.load_device_graph(path)
    assert g.devices[1].peak_flops["fp16"] == 112000e9 and g.devices[1].peak_flops["bf16"] == 14000e9
    assert fp32_peak_note(g, "fp16") == (f"{path}: no 'peak_gflops_fp16' for cpu0: fp16 runs at the fp32 "
                                         "'peak_gflops' there (add 'peak_gflops_fp16' to a device, in GFLOP/s, "
                                         "for its fp16 rate)")
    assert "for its devices" in fp32_peak_note(g, "bf16")
    assert fp32_peak_note(sim.devices.preset("cpu+1xV100-pcie3"), "fp16") is None
    data["devices"][2]["peak_gflops_bf16"] = 0
    path.write_text(json.dumps(data))
    with pytest.raises(SimulatorError, match=r"devices\[2\]: 'peak_gflops_bf16' must be a positive number"):
        sim.load_device_graph(path)


def test_device_file_errors_name_the_path_as_given(tmp_path, monkeypatch, capsys):
    # only the base name was named: machines/a.json and other/a.json could not be told apart
    from simulator.__main__ import main
    (tmp_path / "machines").mkdir()
    (tmp_path / "machines" / "a.json").write_text(json.dumps({"comm_channels": [], "devices": [
        {"type": "gpu", "model": "g", "clock": 1500, "peak_gflops": -5, "memory": 16, "neighbours": []}]}))
    monkeypatch.chdir(tmp_path)
    for given in ("machines/a.json", str(tmp_path / "machines" / "a.json")):
        with pytest.raises(SimulatorError) as err:
            sim.load_device_graph(given)
        assert str(err.value) == f"{given}: devices[0]: 'peak_gflops' must be a positive number, not -5"
        assert main(["--network", "mnist.json", "--devices", given, "--placement", "0"]) == 2
        assert capsys.readouterr().err == f"error: {err.value}\n"
    g = sim.load_device_graph("malvik-4gpu.json")   # a bundled one: its name
    assert (g.source, g.name) == ("malvik-4gpu.json", "malvik-4gpu")


def test_unreadable_device_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{\n  \"devices\": [,]\n}")
    with pytest.raises(SimulatorError, match=r"bad.json: line 2: not valid JSON"):
        sim.load_device_graph(bad)
    with pytest.raises(SimulatorError, match="no such file"):
        sim.load_device_graph(tmp_path / "missing.json")
