"""python -m simulator: tables, JSON, traces and one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.__main__ import main

REPO = Path(__file__).resolve().parents[2]


def run(args, capsys):
    """(exit status, stdout, stderr) of the CLI, whether it returns or exits."""
    try:
        code = main(args)
    except SystemExit as stop:
        code = stop.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_table_for_a_zoo_network_on_a_preset(capsys):
    code, out, err = run(["--network", "resnet18", "--devices", "cpu+2xV100-pcie3", "--placement", "1",
                          "--batch-size", "32"], capsys)
    assert code == 0 and err == ""
    assert "step time" in out and "throughput" in out and "gpu0" in out and "samples/s (batch 32)" in out


def test_a_preset_of_too_many_gpus_is_one_line_not_an_out_of_memory_kill(capsys):
    # cpu+99999999xV100-pcie3 built a link per device pair until the kernel killed the process
    code, out, err = run(["--network", "resnet18", "--devices", "cpu+99999999xV100-pcie3", "--placement", "1"],
                         capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: device preset 'cpu+99999999xV100-pcie3': 100000000 devices") and "2049" in err


def test_json_for_a_paleo_file_with_its_stored_placement(capsys, paleo_nets, reference):
    code, out, _ = run(["--network", str(paleo_nets / "alex_v2.json"),
                        "--devices", str(reference / "exprimo-device-graphs" / "malvik-4gpu.json"),
                        "--placement", "file", "--cost-model", "paleo", "--batch-size", "128", "--json"],
                       capsys)
    data = json.loads(out)
    assert code == 0 and data["feasible"] and data["step_time"] > 0
    assert data["settings"]["cost_model"] == "paleo" and len(data["devices"]) == 5


def test_an_exprimo_assignment_file_places_the_layers_it_names_of_this_network(capsys, paleo_nets, tmp_path):
    # Exprimo's nets/device_assignments/ files name the layers of several networks at once
    net = json.loads((paleo_nets / "mnist.json").read_text())["layers"]
    names = {name: (1 if i % 2 else 2) for i, name in enumerate(net)}
    path = tmp_path / "mnist.json"
    path.write_text(json.dumps({**names, "res2a_branch1": 1, "Conv2d_1a_3x3": 2}))
    base = ["--network", "mnist.json", "--devices", "malvik.json", "--cost-model", "paleo", "--json"]
    code, out, err = run(base + ["--placement", str(path)], capsys)
    assert code == 0 and f"note: {path}: 2 of its {len(names) + 2} names are not layers of 'Keras MNIST CNN' " \
        "(ignored: 'res2a_branch1', 'Conv2d_1a_3x3')" in err, err
    code, same, _ = run(base + ["--placement", json.dumps(names)], capsys)
    assert json.loads(out)["step_time"] == json.loads(same)["step_time"]
    # a file that leaves a layer of this network out is an error that names what it misses, as a dict is
    del names[next(iter(names))]
    path.write_text(json.dumps({**names, "res2a_branch1": 1}))
    code, _, err = run(base + ["--placement", str(path)], capsys)
    assert code == 2 and f"error: {path}: placement names 'res2a_branch1', which is neither a layer" in err, err
    path.write_text("[1, 2]")
    code, _, err = run(base + ["--placement", str(path)], capsys)
    assert code == 2 and err == f"error: {path}: a placement file must hold a JSON object {{layer or group: device}}\n"


def test_bundled_file_names_work_from_any_directory(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["--network", "inception_v3.json", "--devices", "malvik-4gpu.json", "--placement", "1",
                          "--cost-model", "paleo", "--json"], capsys)
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["network"] == "Inception v3" and data["device_graph"] == "malvik-4gpu"
    code, out, err = run(["--network", "resnet50", "--devices", "malvik-8gpu.json", "--placement", "1"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: malvik-8gpu.json: no such file (bundled device graphs: ") and "malvik-4gpu.json" in err


def test_placement_lists_dicts_and_settings(capsys, tmp_path):
    trace = tmp_path / "t.json"
    code, out, _ = run(["--network", "resnet18", "--devices", "cpu+4xV100-nvlink2", "--groups", "4",
                        "--placement", "1,2,3,4", "--micro-batches", "4", "--schedule", "1f1b",
                        "--batch-size", "32", "--json", "--trace", str(trace)], capsys)
    assert code == 0 and json.loads(out)["comm_bytes"] > 0
    assert json.loads(trace.read_text())["traceEvents"]
    code, out, _ = run(["--network", "resnet18", "--devices", "cpu+4xV100-nvlink2",
                        "--placement", '{"*": "gpu1", "fc": 2}', "--json"], capsys)
    assert code == 0 and json.loads(out)["devices"][2]["busy_time"] > 0


@pytest.mark.parametrize("args, message", [
    (["--network", "resnet51", "--devices", "cpu+1xV100-pcie3", "--placement", "1"],
     "error: unknown zoo model 'resnet51' (did you mean 'resnet50'?)"),
    (["--network", "resnet18", "--devices", "cpu+4xV10-pcie3", "--placement", "1"],
     "error: device preset 'cpu+4xV10-pcie3': unknown GPU 'V10' (did you mean 'V100'?)"),
    (["--network", "resnet18", "--devices", "cpu+1xV100-pcie3", "--placement", "7"],
     "error: placement: device 7 does not exist"),
    (["--network", "resnet18", "--devices", "cpu+1xV100-pcie3", "--placement", "1,1"],
     "error: placement lists 2 devices but network 'resnet18' has"),
    (["--network", "resnet18", "--devices", "cpu+1xV100-pcie3", "--placement", "{bad json"],
     "error: --placement is not valid JSON"),
    (["--network", "resnet18", "--devices", "cpu+1xV100-pcie3", "--placement", "1", "--micro-batches", "0"],
     "error: micro_batches must be an integer >= 1, not 0"),
    (["--network", "resnet18", "--devices", "cpu+1xV100-pcie3", "--placement", "1", "--batch-size", "100",
      "--micro-batches", "8"], "error: batch size 100 is not divisible by replicas x micro_batches"),
    (["--network", "resnet18", "--devices", "missing.json", "--placement", "1"],
     "error: missing.json: no such file"),
    (["--network", "resnet18", "--devices", "cpu+1xV100-pcie3", "--placement", "file"],
     "has no per-layer device in its file"),
    (["--network", "resnet18", "--devices", "cpu+1xV100-pcie3"],
     "error: the following arguments are required: --placement"),
    (["--network", "resnet18", "--devices", "cpu+1xV100-pcie3", "--placement", "1", "--schedule", "x"],
     "error: argument --schedule: invalid choice"),
])
def test_bad_input_is_one_line_and_status_2(capsys, args, message):
    code, out, err = run(args, capsys)
    lines = [l for l in err.splitlines() if l]
    assert code == 2 and out == ""
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_a_simulation_larger_than_memory_is_one_line_and_status_2(capsys, monkeypatch):
    import simulator.api
    monkeypatch.setattr(simulator.api, "_memory_limit", lambda: 10_000)
    code, out, err = run(["--network", "resnet18", "--devices", "cpu+2xV100-pcie3", "--placement", "1",
                          "--replicas", "2", "--batch-size", "2"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: simulating ") and err.endswith(" of memory, more than this machine's 0.01 MB; "
                                                                 "use fewer replicas or micro-batches\n")
    assert len(err.splitlines()) == 1


def test_a_memory_budget_is_shown_in_the_table_and_the_json(capsys):
    # without --remat the table said "memory does not fit" beside the device's full 32000 MB, never the budget
    args = ["--network", "alexnet", "--devices", "cpu+2xV100-pcie3", "--placement", "1", "--memory-budget", "0.02"]
    code, out, err = run(args, capsys)
    assert code == 0 and err == ""
    assert "(raw " in out and "memory does not fit the budget)" in out
    header = next(l for l in out.splitlines() if l.startswith("device "))
    assert header.split()[-2:] == ["budget", "MB"]
    gpu0 = next(l for l in out.splitlines() if l.startswith("gpu0 "))
    assert gpu0.split()[-2:] == ["32000", "640.00"]
    code, out, err = run(args + ["--json"], capsys)
    devices = json.loads(out)["devices"]
    assert [(d["memory"], d["memory_budget"]) for d in devices[1:]] == [(32e9, 640e6), (32e9, 640e6)]
    code, out, err = run(args[:-2], capsys)  # no budget: no column, the budget is the memory
    assert "budget" not in out


def test_module_entry_point_exit_status():
    proc = subprocess.run([sys.executable, "-m", "simulator", "--network", "resnet18", "--devices",
                           "cpu+1xV100-pcie3", "--placement", "3"], capture_output=True, text=True,
                          cwd=REPO)
    assert proc.returncode == 2 and proc.stderr.startswith("error: placement: device 3 does not exist")
    assert "Traceback" not in proc.stderr


def test_a_reader_that_goes_away_ends_the_output_quietly():
    # `python -m simulator ... --json | head -1`: the pipe closes before (or while) the simulator writes
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "simulator", "--network", "resnet18", "--devices",
                               "cpu+1xV100-pcie3", "--placement", "1", "--json"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, cwd=REPO)
    finally:
        os.close(write_end)
    assert proc.stderr == "" and proc.returncode == 141   # 128 + SIGPIPE, as run_deffe


def test_memory_timeline_and_rematerialisation_from_the_command_line(capsys, tmp_path):
    prefix = tmp_path / "r18"
    args = ["--network", "resnet18", "--devices", "cpu+2xV100-pcie3", "--placement", "1", "--batch-size", "64",
            "--memory-timeline", str(prefix), "--json"]
    code, out, err = run(args, capsys)
    full = json.loads(out)
    assert code == 0 and err == ""
    rows = (tmp_path / "r18.gpu0.txt").read_text().splitlines()
    in_use = [int(r.split()[1]) for r in rows]
    assert max(in_use) == full["devices"][1]["peak_memory"] and (tmp_path / "r18.png").stat().st_size > 0
    # a budget of 60% of that peak: infeasible alone, feasible with rematerialisation at a price in time
    budget = str(0.6 * full["devices"][1]["peak_memory"])
    code, out, _ = run(args[:-3] + ["--json", "--memory-budget", budget], capsys)
    assert code == 0 and not json.loads(out)["feasible"]
    code, out, _ = run(args[:-3] + ["--json", "--memory-budget", budget, "--remat", "all"], capsys)
    remat = json.loads(out)
    assert code == 0 and remat["feasible"] and remat["step_time"] > full["step_time"]
    assert remat["devices"][1]["peak_memory"] <= float(budget)


def test_the_memory_line_lists_the_files_written_and_an_earlier_runs_file_is_named(capsys, tmp_path):
    # the line said "tl.<device>.txt, tl.png" and the first run's tl.gpu0.txt stayed, unmentioned, beside the
    # second run's files
    prefix = str(tmp_path / "tl")
    args = ["--network", "resnet18", "--batch-size", "8", "--devices", "cpu+2xV100-pcie3", "--groups", "2",
            "--memory-timeline", prefix, "--placement"]
    code, out, err = run(args + ["1,2"], capsys)
    assert code == 0 and err == ""
    assert f"memory         {prefix}.gpu0.txt, {prefix}.gpu1.txt, {prefix}.png\n" in out
    first = (tmp_path / "tl.gpu0.txt").read_text()
    code, out, err = run(args + ["2,2"], capsys)
    assert code == 0
    assert f"memory         {prefix}.gpu1.txt, {prefix}.png\n" in out
    assert err == f"note: {prefix}.gpu0.txt is not from this run (gpu0 holds nothing in it): left as it was\n"
    assert (tmp_path / "tl.gpu0.txt").read_text() == first   # the user's to keep or delete


MODEL = """import torch
import torch.nn as nn


def build():
    return nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4)), \\
        torch.randn(2, 16)
"""


def test_a_pytorch_model_from_a_python_file(capsys, tmp_path):
    (tmp_path / "mynet.py").write_text(MODEL)
    code, out, err = run(["--network", f"{tmp_path / 'mynet.py'}:build", "--devices", "cpu+2xV100-pcie3",
                          "--placement", "1", "--json"], capsys)
    assert code == 0 and err == "" and json.loads(out)["step_time"] > 0
    code, _, err = run(["--network", f"{tmp_path / 'mynet.py'}:make", "--devices", "cpu+2xV100-pcie3",
                        "--placement", "1"], capsys)
    assert code == 2 and err.startswith("error: ") and "has no attribute 'make'" in err and len(err.splitlines()) == 1
    # the file without its function was read as a Paleo JSON file: "invalid JSON at line 1, column 1"
    code, _, err = run(["--network", str(tmp_path / "mynet.py"), "--devices", "cpu+2xV100-pcie3",
                        "--placement", "1"], capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "mynet.py:function" in err and "JSON" not in err


def test_a_model_file_that_calls_sys_exit_is_one_line(capsys, tmp_path):
    # the CLI ended silently with the status the user's code gave sys.exit()
    (tmp_path / "m.py").write_text(MODEL + "\n\ndef exits():\n    import sys\n    sys.exit(3)\n")
    (tmp_path / "atimport.py").write_text("import sys\nsys.exit(4)\n")
    for spec, message in ((f"{tmp_path / 'm.py'}:exits", "SystemExit: 3"),
                          (f"{tmp_path / 'atimport.py'}:f", "SystemExit: 4")):
        code, out, err = run(["--network", spec, "--devices", "cpu+2xV100-pcie3", "--placement", "1"], capsys)
        assert code == 2 and out == "" and err == f"error: {spec}: {message}\n"


def test_a_model_file_imports_the_modules_beside_it_from_any_directory(capsys, tmp_path, monkeypatch):
    # as Python runs a script: its own directory first on the import path (it was ModuleNotFoundError
    # unless run from that directory); taken off the path afterwards
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "s3_sibling_layers.py").write_text(MODEL)
    (tmp_path / "sub" / "mynet.py").write_text("from s3_sibling_layers import build as make\n\n\n"
                                               "def build():\n    return make()\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = list(sys.path)
    code, out, err = run(["--network", "sub/mynet.py:build", "--devices", "cpu+2xV100-pcie3", "--placement", "1",
                          "--json"], capsys)
    assert code == 0 and err == "" and json.loads(out)["step_time"] > 0, err
    assert sys.path == before


BAD_INPUTS = REPO / "test" / "bad_inputs" / "simulator"


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A directory with the small network and device graph of test/bad_inputs/simulator, as the cwd."""
    for name in ("net_good.json", "dev_good.json"):
        (tmp_path / name).write_bytes((BAD_INPUTS / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


TINY = ["--network", "net_good.json", "--devices", "dev_good.json"]


@pytest.mark.parametrize("output", [["--trace", "net_good.json"], ["--trace", "dev_good.json"],
                                    ["--trace", "place.json"], ["--memory-timeline", "net"]])
def test_an_output_that_names_an_input_is_an_error_and_the_input_is_untouched(capsys, tiny, output):
    (tiny / "place.json").write_text('{"*": 1}')
    (tiny / "net.gpu0.txt").write_bytes((tiny / "net_good.json").read_bytes())   # a network file of that name
    network = "net.gpu0.txt" if output[0] == "--memory-timeline" else "net_good.json"
    before = {p.name: p.read_bytes() for p in tiny.iterdir()}
    code, out, err = run(["--network", network, "--devices", "dev_good.json", "--placement", "place.json"]
                         + output, capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "writing it would replace an input" in err, err
    assert {p.name: p.read_bytes() for p in tiny.iterdir()} == before


@pytest.mark.parametrize("output, message", [
    (["--memory-timeline", "."], "error: --memory-timeline '.' is not a file name prefix"),
    (["--memory-timeline", "out/"], "error: --memory-timeline 'out/' is not a file name prefix"),
    (["--memory-timeline", ""], "error: --memory-timeline '' is not a file name prefix"),
    (["--trace", ""], "error: --trace needs a file name"),
    (["--trace", "t.json", "--memory-timeline", "m"], "error: m.png: --memory-timeline: this is a directory"),
    (["--trace", "nodir/t.json"], "error: nodir/t.json: --trace: no directory 'nodir' to write it in"),
    (["--trace", "q.png", "--memory-timeline", "q"], "error: q.png: --memory-timeline and --trace would both"),
])
def test_output_paths_are_checked_before_anything_is_written(capsys, tiny, output, message):
    (tiny / "m.png").mkdir()
    (tiny / "out").mkdir()
    before = sorted(p.name for p in tiny.rglob("*"))
    code, out, err = run(TINY + ["--placement", "1"] + output, capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and err.startswith(message), err
    assert sorted(p.name for p in tiny.rglob("*")) == before


def test_fp16_on_a_device_file_without_its_peak_says_the_fp32_peak_is_used(capsys, tiny):
    # an Exprimo file gives one peak: --precision fp16 ran at it without a word
    code, out, err = run(TINY + ["--placement", "1", "--precision", "fp16"], capsys)
    assert code == 0 and err == ("note: dev_good.json: no 'peak_gflops_fp16' for its devices: fp16 runs at the "
                                 "fp32 'peak_gflops' there (add 'peak_gflops_fp16' to a device, in GFLOP/s, for "
                                 "its fp16 rate)\n")
    slow = float(out.split("step time")[1].split()[0])
    doc = json.loads((tiny / "dev_good.json").read_text())
    for d in doc["devices"]:
        d["peak_gflops_fp16"] = 8 * d["peak_gflops"]
    (tiny / "dev_good.json").write_text(json.dumps(doc))
    code, out, err = run(TINY + ["--placement", "1", "--precision", "fp16"], capsys)
    assert code == 0 and err == "" and float(out.split("step time")[1].split()[0]) < slow
    assert run(TINY + ["--placement", "1"], capsys)[2] == ""


def test_a_write_that_fails_names_the_file(capsys, tiny):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    code, out, err = run(TINY + ["--placement", "1", "--trace", "/dev/full"], capsys)
    assert code == 2 and out == "" and err == "error: /dev/full: cannot write: No space left on device\n"


def test_a_placement_file_with_a_bom_is_read(capsys, tiny):
    # Windows editors write one; it was "not valid JSON: Unexpected UTF-8 BOM"
    (tiny / "place.json").write_bytes(b'\xef\xbb\xbf{"*": 1}\r\n')
    code, out, err = run(TINY + ["--placement", "place.json", "--json"], capsys)
    assert code == 0 and err == "" and json.loads(out)["devices"][1]["busy_time"] > 0


def test_a_placement_error_names_the_file_it_came_from(capsys, tiny):
    (tiny / "place.json").write_text('{"data": 0, "conv1": 9, "fc": 1, "prob": 1}')
    code, out, err = run(TINY + ["--placement", "place.json"], capsys)
    assert code == 2 and err.startswith("error: place.json: placement['conv1']: device 9 does not exist"), err
    (tiny / "place.json").write_text('{"data": 0, "conv1": 1}')
    code, out, err = run(TINY + ["--placement", "place.json"], capsys)
    assert code == 2 and err.startswith("error: place.json: placement does not say where to put fc, prob"), err
    # --placement file: the devices are the network file's, named by layer (it said "placement[1]: device 99")
    doc = json.loads((tiny / "net_good.json").read_text())
    doc["layers"]["data"]["device"], doc["layers"]["fc"]["device"] = 0, 99
    (tiny / "net99.json").write_text(json.dumps(doc))
    code, out, err = run(["--network", "net99.json", "--devices", "dev_good.json", "--placement", "file"], capsys)
    assert code == 2 and err.startswith('error: net99.json: layer \'fc\': "device": device 99 does not exist'), err


def test_groups_with_the_files_placement_is_an_error(capsys, tiny):
    # the file's devices make the groups: --groups was dropped without a word
    doc = json.loads((tiny / "net_good.json").read_text())
    doc["layers"]["fc"]["device"] = 1
    (tiny / "net1.json").write_text(json.dumps(doc))
    code, out, err = run(["--network", "net1.json", "--devices", "dev_good.json", "--placement", "file",
                          "--groups", "2"], capsys)
    assert code == 2 and out == "" and err.startswith("error: --groups does not apply with --placement file"), err


def test_infinite_times_are_null_in_json_and_no_warning_in_the_table(capsys, tiny):
    # a device of 1e-300 GFLOP/s and a huge batch: "busy_time": Infinity (not JSON), and "inf nan%" with
    # numpy's RuntimeWarning in the table
    doc = json.loads((tiny / "dev_good.json").read_text())
    doc["devices"][1]["peak_gflops"] = 1e-300
    (tiny / "slow.json").write_text(json.dumps(doc))
    args = ["--network", "net_good.json", "--devices", "slow.json", "--placement", "1",
            "--batch-size", "99999999999999999999", "--memory-penalty", "inf"]

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")
    code, out, err = run(args + ["--json"], capsys)
    data = json.loads(out, parse_constant=refuse)
    assert code == 0 and err == "" and data["devices"][1]["busy_time"] is None
    assert data["settings"]["memory_penalty"] is None
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, out, err = run(args, capsys)
    assert code == 0 and err == "" and "nan" not in out


def test_a_placement_file_with_a_default_and_a_misspelt_layer_is_an_error_as_inline(capsys, tiny):
    # the misspelt layer went to the "*" device with only "note: 1 of its 2 names are not layers"
    (tiny / "place.json").write_text('{"*": 1, "fcc": 0}')
    code, out, err = run(TINY + ["--placement", "place.json"], capsys)
    inline = run(TINY + ["--placement", '{"*": 1, "fcc": 0}'], capsys)
    assert code == inline[0] == 2 and out == ""
    assert err == "error: place.json: placement names 'fcc', which is neither a layer nor a group of network " \
                  "'tiny' (did you mean 'fc'?)\n"
    assert inline[2] == err.replace("place.json: ", "")


def test_a_placement_that_gives_a_key_twice_is_an_error(capsys, tiny):
    # the last one won without a word; network files already refuse it
    (tiny / "place.json").write_text('{"*": 1, "*": 0}')
    code, out, err = run(TINY + ["--placement", "place.json"], capsys)
    assert code == 2 and out == "" and err == "error: place.json: key '*' is given twice\n"
    code, out, err = run(TINY + ["--placement", '{"*": 1, "fc": 0, "fc": 1}'], capsys)
    assert code == 2 and out == "" and err == "error: --placement: key 'fc' is given twice\n"


PRINTS = """import torch
import torch.nn as nn


class Loud(nn.Linear):
    def forward(self, x):
        print("in forward")
        return super().forward(x)


print("importing")


def build():
    print("building")
    return nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4)), torch.randn(2, 16)


def five():
    return nn.Linear(16, 4), torch.randn(2, 16), 5
"""


def test_a_models_prints_go_to_stderr_and_a_bad_batch_dimension_is_named(capsys, tmp_path):
    # the prints corrupted --json's output; (model, input, 5) was "returned tuple; it must return (...)"
    (tmp_path / "loud.py").write_text(PRINTS)
    code, out, err = run(["--network", f"{tmp_path / 'loud.py'}:build", "--devices", "cpu+2xV100-pcie3",
                          "--placement", "1", "--json"], capsys)
    assert code == 0 and json.loads(out)["step_time"] > 0
    assert "importing" in err and "building" in err
    code, out, err = run(["--network", f"{tmp_path / 'loud.py'}:five", "--devices", "cpu+2xV100-pcie3",
                          "--placement", "1"], capsys)
    assert code == 2 and out == "" and err.splitlines()[0] == "importing"   # the module's own print
    assert len(err.splitlines()) == 2 and err.splitlines()[1].startswith("error: ")
    assert "returned (model, sample input, 5): the third item is the batch's dimension" in err, err
