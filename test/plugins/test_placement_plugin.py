"""The placement evaluator: the simulator behind a config, costs equal to simulating directly."""
import dataclasses
import json

import numpy as np
import pytest

import simulator as sim
from cli_helpers import assert_user_error, read_csv, run_deffe, write
from simulator.data import DATA as REFERENCE


def config(tmp_path, knobs, costs=("step_time", "throughput", "peak_memory", "comm_bytes", "feasible"),
           max_samples=12, **simulator):
    settings = {"network": "resnet50", "devices": "cpu+4xV100-pcie3", "groups": 8, "batch_size": 64}
    if any(k.get("name") == "devices" for k in knobs):
        del settings["devices"]   # (a knob: fixed too would be set twice)
    settings.update(simulator)
    settings = {k: v for k, v in settings.items() if v is not None}   # None: the setting is a knob
    write(tmp_path / "config.json", json.dumps({
        "knobs": knobs, "costs": list(costs),
        "evaluate": {"plugin": "placement", "simulator": settings},
        "exploration": {"plugin": "sampling", "max_samples": max_samples},
        "framework": {"seed": 5},
    }))


DEVICES = {"name": "device", "type": "categorical", "values": [0, 1, 2, 3, 4], "count": 8}


def test_costs_equal_a_direct_simulation(tmp_path):
    config(tmp_path, [DEVICES, {"name": "micro_batches", "values": [1, 4]},
                      {"name": "precision", "values": ["fp32", "fp16"]},
                      {"name": "gpu", "values": ["V100", "A100"]}],
           devices="cpu+4x{gpu}-pcie4")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 12
    net = sim.zoo.load("resnet50").regroup(8)
    for row in rows:
        placement = [int(row[f"device_{i}"]) for i in range(8)]
        res = sim.simulate(net, sim.devices.preset(f"cpu+4x{row['gpu']}-pcie4"), placement, batch_size=64,
                           micro_batches=int(row["micro_batches"]), precision=row["precision"])
        assert float(row["step_time"]) == res.raw_step_time
        assert float(row["peak_memory"]) == max(res.peak_memory)
        assert float(row["comm_bytes"]) == res.comm_bytes
        assert row["status"] == ("ok" if res.feasible else "infeasible")


def test_memory_cap_makes_points_infeasible(tmp_path):
    config(tmp_path, [{"name": "device", "type": "categorical", "values": [1], "count": 8},
                      {"name": "memory_cap_gb", "values": [1, 40]}], max_samples=2)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    status = {row["memory_cap_gb"]: row["status"] for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")}
    assert status == {"1": "infeasible", "40": "ok"}


def test_out_of_memory_names_the_bytes_in_a_unit_that_fits(tmp_path):
    # a 1 MB device: "out of memory: gpu0 needs 0.00 GB of 0.00 GB"
    write(tmp_path / "machine.json", json.dumps({"comm_channels": [], "devices": [
        {"type": "gpu", "model": "tiny", "clock": 1500, "peak_gflops": 10000, "memory": 0.001, "mem_bandwidth": 500,
         "neighbours": []}]}))
    config(tmp_path, [{"name": "micro_batches", "values": [1]}], costs=("step_time", "peak_memory"), max_samples=1,
           network="mnist.json", devices="machine.json", groups=None, default_device=0, batch_size=8)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    [row] = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert r.rc == 0 and row["status"] == "infeasible"
    need = float(row["peak_memory"])
    assert 1e6 < need < 1e9 and f"out of memory: gpu0 needs {need / 1e6:.2f} MB of 1.00 MB" in r.out + r.err, r


def test_byte_figures_keep_their_digits():
    from plugins.evaluate.placement import _fmt_bytes, _need_of
    assert [_fmt_bytes(n) for n in (512, 4_810, 4.81e6, 32e9)] == ["512 B", "4.81 kB", "4.81 MB", "32.00 GB"]
    assert _need_of(32.0004e9, 32e9) == "32.000400 GB of 32.000000 GB"   # over, by less than the 2 digits show


def test_the_memory_mode_sets_the_step_time_stored_for_a_placement_that_does_not_fit(tmp_path):
    # "penalty" stored the raw step time (as "infeasible" does), not the penalised one the docs promise
    net = sim.zoo.load("resnet50").regroup(8)
    capped = sim.devices.preset("cpu+4xV100-pcie3")
    capped = sim.DeviceGraph([d if d.kind != "gpu" else dataclasses.replace(d, memory=1e9)
                              for d in capped.devices], capped.channels, capped.links)
    for mode in ("penalty", "ignore", "infeasible"):
        (tmp_path / mode).mkdir()
        config(tmp_path / mode, [{"name": "device", "type": "categorical", "values": [1], "count": 8}],
               max_samples=1, memory=mode, memory_cap_gb=1)
        assert run_deffe("-config", "config.json", cwd=tmp_path / mode).rc == 0
        [row] = read_csv(tmp_path / mode / "explore" / "deffe_evaluation.csv")
        res = sim.simulate(net, capped, 1, batch_size=64, memory=mode)
        assert not res.feasible and row["feasible"] == "0"
        expected = {"penalty": res.step_time, "ignore": res.raw_step_time, "infeasible": res.raw_step_time}[mode]
        assert float(row["step_time"]) == expected
        # the throughput of that step time: it was 0 for "infeasible", beside the step time it would take
        assert float(row["throughput"]) == res.batch_size / expected
        assert row["status"] == ("infeasible" if mode == "infeasible" else "ok")
        if mode == "penalty":
            assert res.step_time > 2 * res.raw_step_time


def test_paleo_network_on_an_exprimo_device_graph(tmp_path):
    reference = REFERENCE
    # bare names that name no file next to the config: the files bundled with the simulator
    config(tmp_path, [{"name": "device", "type": "categorical", "values": [1, 2, 3, 4], "count": 16}],
           costs=("step_time",), max_samples=4, network="resnet50.json", devices="malvik-4gpu.json", groups=16,
           batch_size=128, cost_model="paleo", ppp_comp=0.9, ppp_comm=0.25)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    net = sim.load_network(str(reference / "paleo-nets" / "resnet50.json")).regroup(16)
    g = sim.load_device_graph(str(reference / "exprimo-device-graphs" / "malvik-4gpu.json"))
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    placements = np.array([[int(row[f"device_{i}"]) for i in range(16)] for row in rows])
    batch = sim.simulate_batch(net, g, placements, cost_model="paleo", batch_size=128, ppp_comp=0.9, ppp_comm=0.25)
    assert [float(row["step_time"]) for row in rows] == list(batch.step_time)


def test_a_precision_the_device_file_gives_no_peak_for_is_warned_about(tmp_path):
    # Exprimo's files give one peak: an fp16 run took the fp32 peak without a word
    config(tmp_path, [{"name": "precision", "values": ["fp32", "fp16"]}], costs=("step_time",), max_samples=2,
           network="mnist.json", devices="malvik-4gpu.json", groups=None, default_device=1, batch_size=8)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r.err
    assert (r.out + r.err).count("warning: ") == 1 and "no 'peak_gflops_fp16' for its devices: fp16 runs at the fp32 " \
        "'peak_gflops' there" in (r.out + r.err), (r.out + r.err)
    config(tmp_path, [{"name": "micro_batches", "values": [1, 2]}], costs=("step_time",), max_samples=2,
           network="mnist.json", devices="malvik-4gpu.json", groups=None, default_device=1, batch_size=8)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0 and "peak_gflops" not in (r.out + r.err), (r.out + r.err)


def test_a_file_next_to_the_config_wins_over_a_bundled_one(tmp_path):
    doc = json.loads((REFERENCE / "exprimo-device-graphs" / "malvik-4gpu.json").read_text())
    for d in doc["devices"][1:]:
        d["memory"] = 0.001  # 1 MB GPUs: nothing fits
    write(tmp_path / "malvik-4gpu.json", json.dumps(doc))
    config(tmp_path, [dict(DEVICES, values=[1, 2, 3, 4])], max_samples=2, devices="malvik-4gpu.json")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    assert run_deffe("-config", "../config.json", cwd=run_dir).rc == 0  # relative to the config, not the cwd
    assert {row["status"] for row in read_csv(run_dir / "explore" / "deffe_evaluation.csv")} == {"infeasible"}


def test_network_and_device_files_are_read_whatever_the_case_of_their_extension(tmp_path):
    # "net.JSON" was taken for a zoo model name: "unknown zoo model 'net.JSON'"
    bad = REFERENCE.parent.parent / "test" / "bad_inputs" / "simulator"
    (tmp_path / "net.JSON").write_bytes((bad / "net_good.json").read_bytes())
    (tmp_path / "devices.Json").write_bytes((bad / "dev_good.json").read_bytes())
    config(tmp_path, [{"name": "device", "type": "categorical", "values": [0, 1], "count": 4}],
           costs=("step_time",), max_samples=2, network="net.JSON", devices="devices.Json", groups=4, batch_size=8)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert {row["status"] for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")} == {"ok"}


def test_bad_settings_are_config_errors(tmp_path):
    config(tmp_path, [DEVICES], costs=("step_time", "energy"))
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "costs", "no cost 'energy'")
    config(tmp_path, [DEVICES, {"name": "colour", "values": ["red"]}])
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "knob 'colour' means nothing")
    config(tmp_path, [dict(DEVICES, count=5)])
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "stands for 5 layer groups",
                      "has 8")
    config(tmp_path, [DEVICES], devices="cpu+4xV1000-pcie3")
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "evaluate.simulator.devices: ", "V1000")
    config(tmp_path, [DEVICES], network="resnet5")
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "evaluate.simulator.network",
                      "resnet50")
    config(tmp_path, [DEVICES], devices="malvik-8gpu.json")
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "evaluate.simulator.devices: ",
                      "malvik-8gpu.json: no such file (bundled device graphs: ", "malvik-4gpu.json")
    config(tmp_path, [DEVICES], micro_batches=0)
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "evaluate.simulator.micro_batches")
    config(tmp_path, [DEVICES], memory_cap_gb=0)  # was "device 'gpu0': memory must be > 0"
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "evaluate.simulator.memory_cap_gb: ",
                      "memory_cap_gb must be a number of GB > 0, not 0")
    # a device file's error names the file by its path and the setting that names it (it said
    # 'evaluate.simulator: a.json: ...')
    write(tmp_path / "machines" / "a.json", json.dumps({"comm_channels": [], "devices": [
        {"type": "gpu", "model": "g", "clock": 1500, "peak_gflops": -5, "memory": 16, "neighbours": []}]}))
    config(tmp_path, [DEVICES], devices="machines/a.json")
    line = assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path))
    assert line.endswith(f"config.json:evaluate.simulator.devices: {tmp_path / 'machines' / 'a.json'}: devices[0]: "
                         "'peak_gflops' must be a positive number, not -5"), line
    assert not (tmp_path / "explore").exists()


def test_a_machine_that_does_not_exist_is_infeasible(tmp_path):
    # a combination (V100 on NVLink 3; A100 has it): a link no GPU of the knob has is a config error
    config(tmp_path, [DEVICES, {"name": "gpu", "values": ["V100", "A100"]},
                      {"name": "link", "values": ["pcie3", "nvlink3"]}], devices="cpu+4x{gpu}-{link}", max_samples=20)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert {row["status"] for row in rows if (row["gpu"], row["link"]) == ("V100", "nvlink3")} == {"infeasible"}
    assert {row["status"] for row in rows if (row["gpu"], row["link"]) == ("A100", "nvlink3")} == {"ok"}


def test_devices_by_name_give_the_costs_of_their_indices(tmp_path):
    rows = {}
    for kind, values in (("names", ["gpu0", "gpu1", "gpu2"]), ("indices", [1, 2, 3])):
        (tmp_path / kind).mkdir()
        config(tmp_path / kind, [{"name": "device", "type": "categorical", "values": values, "count": 8}],
               costs=("step_time", "peak_memory"), max_samples=6)
        assert run_deffe("-config", "config.json", cwd=tmp_path / kind).rc == 0
        rows[kind] = read_csv(tmp_path / kind / "explore" / "deffe_evaluation.csv")
    assert {r["status"] for r in rows["names"]} == {"ok"} and len(rows["names"]) == 6
    # the same seed draws the same positions in the two lists: gpu0 is device 1, and so on
    for by_name, by_index in zip(rows["names"], rows["indices"]):
        assert [by_name[f"device_{i}"] for i in range(8)] == [f"gpu{int(by_index[f'device_{i}']) - 1}"
                                                               for i in range(8)]
        assert by_name["step_time"] == by_index["step_time"] and by_name["peak_memory"] == by_index["peak_memory"]


def test_a_device_value_the_machine_lacks_is_a_config_error(tmp_path):
    # it failed every placement that used it, one evaluation at a time
    config(tmp_path, [{"name": "device", "type": "categorical", "values": [1, 2, 9], "count": 8}])
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "knobs", "knob 'device'", "device 9",
                      "5 devices: 0=cpu0, 1=gpu0")
    config(tmp_path, [{"name": "device", "type": "categorical", "values": ["gpu0", "gpu4"], "count": 8}])
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "knob 'device'", "no device named 'gpu4'")
    assert not (tmp_path / "explore").exists()


def test_a_placement_on_a_device_the_chosen_machine_lacks_is_infeasible(tmp_path):
    config(tmp_path, [{"name": "device", "type": "categorical", "values": [1, 2, 3, 4], "count": 8},
                      {"name": "gpus", "values": [2, 4]}], devices="cpu+{gpus}xV100-pcie3", max_samples=16)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    beyond = [r for r in rows if r["gpus"] == "2" and max(int(r[f"device_{i}"]) for i in range(8)) > 2]
    assert beyond and {r["status"] for r in beyond} == {"infeasible"}
    assert {r["status"] for r in rows if r["gpus"] == "4"} <= {"ok", "infeasible"}


MODEL = '''import torch
import torch.nn as nn


def build(width=32, blocks=4):
    layers = [nn.Linear(16, width)] + [nn.Sequential(nn.Linear(width, width), nn.ReLU()) for _ in range(blocks)]
    return nn.Sequential(*layers, nn.Linear(width, 10)), torch.randn(2, 16)
'''


def user_config(tmp_path, network, max_samples=4, **extra):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "device", "type": "categorical", "values": [1, 2], "count": 6}], "costs": ["step_time"],
        "evaluate": {"plugin": "placement", "simulator": {"network": network, "devices": "cpu+2xV100-pcie3",
                                                          "batch_size": 64, **extra}},
        "exploration": {"plugin": "sampling", "max_samples": max_samples}, "framework": {"seed": 5}}))


def test_a_users_pytorch_model_as_the_network(tmp_path):
    # 'module:function' next to the config: the function returns the model and a sample input, traced by
    # the simulator's torch.fx importer; network_config is its keyword arguments
    write(tmp_path / "mynet.py", MODEL)
    user_config(tmp_path, "mynet:build", network_config={"width": 64})
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    space = {}
    exec(MODEL, space)
    net = sim.from_torch(*space["build"](width=64))
    assert len(net.groups) == 6
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 4
    for row in rows:
        placement = [int(row[f"device_{i}"]) for i in range(6)]
        res = sim.simulate(net, sim.devices.preset("cpu+2xV100-pcie3"), placement, batch_size=64)
        assert float(row["step_time"]) == res.raw_step_time


def test_a_users_model_function_that_fails_or_is_missing_is_one_line(tmp_path):
    write(tmp_path / "mynet.py", MODEL)
    user_config(tmp_path, "mynet:build", network_config={"depth": 3})
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "config.json",
                      "evaluate.simulator.network", "mynet:build failed: TypeError")
    user_config(tmp_path, "mynet:make")
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "module 'mynet' has no function 'make'")
    user_config(tmp_path, "nonet:build")
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "nonet")


EXITS = """import sys
import torch
import torch.nn as nn


class Quits(nn.Module):
    def forward(self, x):
        sys.exit(5)


def exits():
    sys.exit(3)


def quits_in_forward():
    return Quits(), torch.randn(2, 4)
"""


def test_a_users_model_function_that_calls_sys_exit_is_one_line(tmp_path):
    # run_deffe ended with the function's status and no word
    write(tmp_path / "mynet.py", EXITS)
    user_config(tmp_path, "mynet:exits")
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "evaluate.simulator.network",
                      "mynet:exits failed: SystemExit: 3")
    user_config(tmp_path, "mynet:quits_in_forward")
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "evaluate.simulator.network",
                      "mynet:quits_in_forward failed while tracing the model: SystemExit: 5")


def test_a_users_model_is_fingerprinted_with_the_importer_that_converts_it(tmp_path, monkeypatch):
    # results stored under another conversion of the model (an older importer: other layers or groups) are
    # not reused silently; a zoo network's fingerprint does not depend on the importer
    import logging
    from argparse import Namespace

    import simulator.importers.torch_fx as torch_fx
    from framework.config import load_config
    from framework.context import Budget, Framework
    from framework.guard import fingerprints
    from plugins.evaluate import placement

    write(tmp_path / "mynet.py", MODEL)

    def evaluate_fingerprint(network, **extra):
        user_config(tmp_path, network, **extra)
        config = load_config(tmp_path / "config.json")
        fw = Framework(config, Namespace(), tmp_path / "explore", 0, logging.getLogger("test.fingerprint"))
        fw.enter(config.explores[0], Budget())
        plugin = placement.GetObject(fw)
        plugin.Initialize()
        return fingerprints(config, {"evaluate": plugin})["evaluate"]

    user, zoo = evaluate_fingerprint("mynet:build"), evaluate_fingerprint("resnet18", groups=6)
    monkeypatch.setattr(torch_fx, "IMPORTER_VERSION", torch_fx.IMPORTER_VERSION + 1)
    assert evaluate_fingerprint("mynet:build") != user
    assert evaluate_fingerprint("resnet18", groups=6) == zoo


def test_a_change_in_a_module_the_users_model_imports_is_not_mixed_with_stored_results(tmp_path):
    # the fingerprint hashed only the model's file: a wider block in layers.py beside it, which the model file
    # imports, reused every stored result of the narrower model without a word
    write(tmp_path / "layers.py", "import torch.nn as nn\n\n\ndef block(w):\n"
                                  "    return nn.Sequential(nn.Linear(w, w), nn.ReLU())\n")
    write(tmp_path / "mynet.py", "import torch\nimport torch.nn as nn\nfrom layers import block\n\n\n"
                                 "def build():\n    return nn.Sequential(nn.Linear(16, 32), *[block(32) for _ in "
                                 "range(4)], nn.Linear(32, 10)), torch.randn(2, 16)\n")
    user_config(tmp_path, "mynet:build", max_samples=2)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    again = run_deffe("-config", "config.json", cwd=tmp_path)   # unchanged: resumed from the store
    assert again.rc == 0 and "0 evaluated now, 2 from the store" in again.out + again.err
    text = (tmp_path / "layers.py").read_text()
    write(tmp_path / "layers.py", text.replace("nn.Linear(w, w), nn.ReLU()",
                                               "nn.Linear(w, 4 * w), nn.ReLU(), nn.Linear(4 * w, w)"))
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "different evaluate settings")


@pytest.mark.parametrize("network", ["resnet50.json", "mine.json"])
def test_network_config_for_a_paleo_json_network_is_a_config_error(tmp_path, network):
    # it was ignored without a word, whatever it held: a JSON file has no settings to give it
    write(tmp_path / "mine.json", json.dumps({"name": "tiny", "layers": {
        "data": {"parents": [], "type": "Input", "tensor": [8, 16, 16, 3]},
        "fc": {"parents": ["data"], "type": "InnerProduct", "num_outputs": 10}}}))
    config(tmp_path, [{"name": "device", "type": "categorical", "values": [1], "count": 1}], max_samples=1,
           network=network, groups=1, network_config={"nonsense": -1})
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "config.json:evaluate.simulator.network_config",
                      "network_config means nothing", "zoo names and module:function builders")


@pytest.mark.parametrize("knob, message", [
    ({"name": "schedule", "values": ["gpipe", "zb"]}, "knob 'schedule': value 'zb': schedule must be one of"),
    ({"name": "remat", "values": ["off", "bogus"]}, "knob 'remat': value 'bogus': remat names device 'bogus'"),
    ({"name": "memory_budget", "values": [0.5, -1]}, "knob 'memory_budget': value -1: memory_budget"),
    ({"name": "memory_cap_gb", "values": [8, 0]}, "knob 'memory_cap_gb': value 0: memory_cap_gb must be"),
    ({"name": "devices", "values": ["cpu+4xV100-pcie3", "cpu+4xV10-pcie3"]},
     "knob 'devices': value 'cpu+4xV10-pcie3': device preset 'cpu+4xV10-pcie3': unknown GPU 'V10'"),
    ({"name": "devices", "values": ["cpu+4xV100-pcie3", "nofile.json"]}, "knob 'devices': value 'nofile.json'"),
    ({"name": "micro_batches", "values": [1, 3]}, "knob 'micro_batches': value 3: batch size 64 is not divisible"),
])
def test_every_value_of_a_setting_knob_is_checked_at_the_start(tmp_path, knob, message):
    # only the first value was: the others made every sample that drew them infeasible (or a traceback
    # for a device file that does not exist)
    config(tmp_path, [DEVICES, knob])
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "config.json", "knobs", message)
    assert not (tmp_path / "explore").exists()


@pytest.mark.parametrize("knob, message", [
    ({"name": "schedule", "values": ["zb", "gpipe"]}, "knob 'schedule': value 'zb': schedule must be one of"),
    ({"name": "remat", "values": ["bogus", "off"]}, "knob 'remat': value 'bogus': remat names device 'bogus'"),
    ({"name": "memory_budget", "values": [-1, 0.5]}, "knob 'memory_budget': value -1: memory_budget"),
    ({"name": "devices", "values": ["cpu+4xV10-pcie3", "cpu+4xV100-pcie3"]}, "knob 'devices': value 'cpu+4xV10"),
])
def test_a_bad_first_value_of_a_setting_knob_is_named_as_the_knobs(tmp_path, knob, message):
    # it was blamed on evaluate.simulator, a section without that key
    config(tmp_path, [DEVICES, knob])
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "config.json:knobs", message)


@pytest.mark.parametrize("knob, setting, where, message", [
    ({"name": "micro_batches", "values": [1, 2]}, {"memory_budget": 0}, "evaluate.simulator.memory_budget",
     "memory_budget['*'] must be a number > 0"),
    ({"name": "micro_batches", "values": [1, 2]}, {"remat": ["gpu7"]}, "evaluate.simulator.remat",
     "remat names device 'gpu7'"),
    # neither is wrong alone: the pair is, in the section that holds them
    ({"name": "schedule", "values": ["gpipe", "1f1b"]}, {"batch_size": 8, "micro_batches": 3}, "evaluate.simulator",
     "batch size 8 is not divisible"),
    # a knob's own bad value is still the knob's
    ({"name": "memory_budget", "values": [0.5, -1]}, {"remat": "all"}, "knobs", "knob 'memory_budget': value -1"),
])
def test_a_bad_fixed_setting_is_named_as_itself_not_as_a_setting_knob(tmp_path, knob, setting, where, message):
    # it said "config.json:knobs: knob 'micro_batches': value 1: memory_budget['*'] must be ...": the knob was right
    config(tmp_path, [DEVICES, knob], **setting)
    line = assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), message)
    assert line.startswith(f"error: config.json:{where}: "), line
    assert not (tmp_path / "explore").exists()


def test_a_value_that_fails_only_with_another_knobs_value_is_an_infeasible_combination(tmp_path):
    config(tmp_path, [DEVICES, {"name": "batch_size", "values": [64, 60]}, {"name": "micro_batches",
                                                                          "values": [1, 8]}], max_samples=8,
           batch_size=None)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert {r["status"] for r in rows if (r["batch_size"], r["micro_batches"]) == ("60", "8")} <= {"infeasible"}
    assert {r["status"] for r in rows if (r["batch_size"], r["micro_batches"]) != ("60", "8")} == {"ok"}


def test_a_default_device_the_machine_lacks_is_a_config_error(tmp_path):
    config(tmp_path, [{"name": "micro_batches", "values": [1, 2]}], default_device=5)
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "evaluate.simulator.default_device",
                      "device 5 does not exist (5 devices: 0=cpu0")
    assert not (tmp_path / "explore").exists()
