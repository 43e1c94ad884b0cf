"""The remat evaluator (DTR replay of a trace) and the placement evaluator's memory knobs, end to end:
costs equal a direct call of the simulator, bad input is one line, a changed trace file is noticed."""
import json

import pytest

import simulator as sim
from cli_helpers import assert_user_error, read_csv, run_deffe, write
from simulator import remat
from simulator.data import DATA as REFERENCE


def dtr_log(n: int = 10, nbytes: int = 1000) -> str:
    """A small DTR log: a forward chain that keeps every activation and a backward that uses them in
    reverse, the shape rematerialisation is made for."""
    lines = [{"INSTRUCTION": "ANNOTATE", "ANNOTATION": "START"},
             {"INSTRUCTION": "CONSTANT", "NAME": "x"}, {"INSTRUCTION": "MEMORY", "NAME": "x", "MEMORY": nbytes}]
    prev = "x"
    for i in range(n):
        lines += [{"INSTRUCTION": "CALL", "NAME": "relu", "ARGS": [prev], "RESULT": [f"y{i}"], "TIME": 1000},
                  {"INSTRUCTION": "MEMORY", "NAME": f"y{i}", "MEMORY": nbytes},
                  {"INSTRUCTION": "ALIAS", "NAME": f"y{i}", "ALIAS": -1}]
        prev = f"y{i}"
    grad = "y%d" % (n - 1)
    for i in reversed(range(n - 1)):
        lines += [{"INSTRUCTION": "CALL", "NAME": "relu_backward", "ARGS": [f"y{i}", grad], "RESULT": [f"g{i}"],
                   "TIME": 2000},
                  {"INSTRUCTION": "MEMORY", "NAME": f"g{i}", "MEMORY": nbytes},
                  {"INSTRUCTION": "ALIAS", "NAME": f"g{i}", "ALIAS": -1},
                  {"INSTRUCTION": "RELEASE", "NAME": grad}, {"INSTRUCTION": "RELEASE", "NAME": f"y{i}"}]
        grad = f"g{i}"
    return "\n".join(json.dumps(x) for x in lines) + "\n"


def remat_config(tmp_path, knobs, options, costs=("overhead", "peak_memory", "feasible"), max_samples=6):
    write(tmp_path / "config.json", json.dumps({
        "knobs": knobs, "costs": list(costs),
        "evaluate": {"plugin": "remat", "options": options},
        "model": {"plugin": None},  # no surrogate: the costs are what is tested
        "exploration": {"plugin": "sampling", "max_samples": max_samples},
        "framework": {"seed": 3},
    }))


def test_remat_costs_equal_a_direct_replay(tmp_path):
    write(tmp_path / "chain.log", dtr_log())
    remat_config(tmp_path, [{"name": "budget_ratio", "values": [0.3, 0.6, 1.0]},
                            {"name": "heuristic", "values": ["dtr_eq", "lru"]}], {"trace": "chain.log"})
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 6
    trace = remat.load_dtr_log(tmp_path / "chain.log")
    peak, _ = remat.baseline(trace)
    for row in rows:
        direct = remat.replay(trace, float(row["budget_ratio"]) * peak, row["heuristic"])
        assert row["status"] == ("ok" if direct.ok else "infeasible")
        if direct.ok:
            assert float(row["overhead"]) == direct.overhead
            assert float(row["peak_memory"]) == direct.peak_bytes
    full = [row for row in rows if row["budget_ratio"] == "1.0"]
    assert full and all(float(row["overhead"]) == 1.0 for row in full)
    tight = [row for row in rows if row["budget_ratio"] == "0.3" and row["status"] == "ok"]
    assert all(float(row["overhead"]) > 1.0 for row in tight)


def test_a_zoo_network_as_the_trace_and_runtime_variants(tmp_path):
    remat_config(tmp_path, [{"name": "runtime", "values": ["eager_free", "banish", "lazy"]}],
                 {"trace": "resnet18", "batch_size": 8, "budget_ratio": 0.6}, max_samples=3)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    trace = remat.trace_from_network(sim.zoo.load("resnet18", batch_size=8), batch_size=8)
    peak, _ = remat.baseline(trace)
    variants = {"eager_free": {}, "banish": {"banish": True}, "lazy": {"eager_free": False}}
    for row in rows:
        direct = remat.replay(trace, 0.6 * peak, "dtr_eq", **variants[row["runtime"]])
        assert row["status"] == ("ok" if direct.ok else "infeasible")
        if direct.ok:
            assert float(row["overhead"]) == direct.overhead


def test_a_changed_trace_file_changes_the_fingerprint(tmp_path):
    write(tmp_path / "chain.log", dtr_log())
    remat_config(tmp_path, [{"name": "budget_ratio", "values": [0.5, 1.0]}], {"trace": "chain.log"}, max_samples=2)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0  # same file: the stored run is resumed
    write(tmp_path / "chain.log", dtr_log(nbytes=2000))
    again = run_deffe("-config", "config.json", cwd=tmp_path)
    assert again.rc == 2 and "different evaluate settings" in again.err


@pytest.mark.parametrize("options, knobs, message", [
    ({"trace": "nothere.log"}, [], "evaluate.options.trace: trace file nothere.log does not exist"),
    ({"trace": "resnet5"}, [], "'resnet5' is neither a file nor a zoo network"),
    ({"trace": "resnet18", "heuristic": "best"}, [], "evaluate.options.heuristic: unknown heuristic 'best'"),
    ({"trace": "resnet18"}, [{"name": "runtime", "values": ["eager", "banish"]}], "knobs: unknown runtime 'eager'"),
    ({"trace": "resnet18", "budget": 3}, [], "'budget' means nothing to the remat evaluator"),
    ({"trace": "broken.log"}, [], "broken.log"),
    # every sample failed ("SimulatorError: seed must be ..."), exit 0
    ({"trace": "resnet18", "batch_size": 2, "seed": -1}, [{"name": "budget_ratio", "values": [0.5]}], "evaluate.options.seed: seed must be an integer in [0, 2**32), not -1"),
    ({"trace": "resnet18", "batch_size": 2, "seed": 1.5}, [{"name": "budget_ratio", "values": [0.5]}], "evaluate.options.seed: seed must be an integer"),
    ({"trace": "resnet18", "batch_size": 2, "thrash_limit": -1}, [], "evaluate.options.thrash_limit: thrash_limit must be a number >= 1"),
    ({"trace": "resnet18", "batch_size": 2, "thrash_limit": 0.5}, [], "evaluate.options.thrash_limit: thrash_limit must be a number >= 1"),
    ({"trace": "resnet18", "batch_size": 2}, [{"name": "seed", "values": [0, -2]}], "knobs: seed must be an integer"),
    # a continuous knob: only the option's default was checked, every sample beyond the bound failed
    ({"trace": "resnet18", "batch_size": 2}, [{"name": "thrash_limit", "type": "real", "min": -1, "max": 2}],
     "knobs: thrash_limit must be a number >= 1"),
    ({"trace": "resnet18", "batch_size": 2}, [{"name": "budget_ratio", "type": "real", "min": -0.5, "max": 1}],
     "knobs: budget_ratio must be a number > 0, not -0.5"),
    # 0 (a budget of nothing) was taken: every sample failed, the run exiting 0; --budget-ratio refuses it
    ({"trace": "resnet18", "batch_size": 2, "budget_ratio": 0}, [],
     "evaluate.options.budget_ratio: budget_ratio must be a number > 0, not 0"),
    ({"trace": "resnet18", "batch_size": 2}, [{"name": "budget_ratio", "type": "real", "min": 0, "max": 1}],
     "knobs: budget_ratio must be a number > 0, not 0"),
    ({"trace": "resnet18", "batch_size": 2}, [{"name": "seed", "type": "real", "min": 0, "max": 9}],
     "knobs: seed must take integer values"),
    # named at evaluate.options.trace
    ({"trace": "resnet18", "device": "gpu9"}, [], "evaluate.options.device: unknown device 'gpu9'; give a GPU family"),
    ({"trace": "resnet18", "device": "cpu+2xV100-pcie9"}, [], "evaluate.options.device: device preset "),
    ({"trace": "resnet18", "precision": "fp8"}, [], "evaluate.options.precision: precision must be one of"),
    ({"trace": "resnet18", "cost_model": "paleoo"}, [], "evaluate.options.cost_model: cost_model must be one of"),
    ({"trace": "resnet18", "batch_size": 0}, [], "evaluate.options.batch_size: batch_size must be an integer >= 1"),
    # silently ignored; the command line rejects --model with a network, --batch-size with a log
    ({"trace": "resnet18", "model": "lstm"}, [], "evaluate.options.model: model applies to DTR's logs.zip, not to "
                                                  "the network trace 'resnet18'"),
    ({"trace": "chain.log", "batch_size": 8}, [], "evaluate.options.batch_size: batch_size applies to networks, not "
                                                   "to the log 'chain.log'"),
    ({"trace": "resnet18", "device": "nodevice.json"}, [], "evaluate.options.device: "),
])
def test_bad_input_is_one_line(tmp_path, options, knobs, message):
    write(tmp_path / "broken.log", '{"INSTRUCTION": "CALL", "NAME": "f", "ARGS": ["nobody"], "RESULT": ["y"], '
                                   '"TIME": 1}\n')
    write(tmp_path / "chain.log", dtr_log())
    remat_config(tmp_path, knobs or [{"name": "seed", "values": [0]}], options, max_samples=1)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 2, r
    lines = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.err, r.err


def test_an_infinite_budget_ratio_is_a_config_error(tmp_path):
    # 1e999 is inf: every sample failed ("the evaluator gave no value for budget"), exit 0; --budget-ratio refuses it
    remat_config(tmp_path, [{"name": "heuristic", "values": ["dtr_eq", "lru"]}],
                 {"trace": "resnet18", "batch_size": 2, "budget_ratio": 0.5}, costs=("overhead", "budget"))
    text = (tmp_path / "config.json").read_text()
    write(tmp_path / "config.json", text.replace('"budget_ratio": 0.5', '"budget_ratio": 1e999'))
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path),
                      "config.json:evaluate.options.budget_ratio: budget_ratio must be a number > 0, not inf")
    assert not (tmp_path / "explore").exists()


@pytest.mark.parametrize("options, knobs, where, what", [
    ({"trace": "logs.zip", "model": "nosuch"}, [], "evaluate.options.model", "no log of model 'nosuch' in the archive"),
    ({"trace": "logs.zip"}, [{"name": "model", "values": ["chain", "nosuch"]}], "knobs",
     "no log of model 'nosuch' in the archive"),
    ({"trace": "logs.zip"}, [], "evaluate.options.model", "a zip of logs needs a model name (one of: chain)"),
])
def test_a_model_logs_zip_does_not_hold_is_blamed_on_the_model_not_the_trace(tmp_path, options, knobs, where, what):
    # it said "config.json:evaluate.options.trace: ...logs.zip: no log of model 'nosuch'": the trace was right
    import zipfile
    with zipfile.ZipFile(tmp_path / "logs.zip", "w") as z:
        z.writestr("logs/chain-1.log", dtr_log())
    remat_config(tmp_path, knobs or [{"name": "seed", "values": [0]}], options, max_samples=1)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 2, r
    lines = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(f"error: config.json:{where}: "), r.err
    assert f"logs.zip: {what}" in lines[0]


def test_a_batch_size_range_builds_the_traces_of_its_ends_at_the_start_and_the_others_when_needed(tmp_path):
    # Initialize built a trace for every batch size of the knob: a minute of silence for 1..2000
    import logging
    from argparse import Namespace
    from types import SimpleNamespace

    from framework.config import load_config
    from framework.context import Budget, Framework
    from plugins.evaluate import remat as remat_plugin

    remat_config(tmp_path, [{"name": "batch_size", "type": "integer", "min": 1, "max": 2000}],
                 {"trace": "resnet18", "budget_ratio": 0.7}, costs=("overhead", "peak_memory"))
    config = load_config(tmp_path / "config.json")
    fw = Framework(config, Namespace(), tmp_path / "explore", 0, logging.getLogger("test.remat_batch"))
    fw.enter(config.explores[0], Budget())
    plugin = remat_plugin.GetObject(fw)
    plugin.Initialize()
    assert sorted(key[2] for key in plugin._traces) == [1, 2000]
    costs = plugin.Run(SimpleNamespace(values={"batch_size": 37}))
    assert sorted(key[2] for key in plugin._traces) == [1, 37, 2000]
    trace = remat.trace_from_network(sim.zoo.load("resnet18", batch_size=37), batch_size=37)
    peak, _ = remat.baseline(trace)
    assert costs == {"overhead": remat.replay(trace, 0.7 * peak).overhead,
                     "peak_memory": float(remat.replay(trace, 0.7 * peak).peak_bytes)}


def test_an_infeasible_point_of_a_small_trace_says_its_budget_in_readable_units(tmp_path):
    # it said "out of memory at 0.0 MB (0.05 of 0.0 MB)"
    import logging
    from argparse import Namespace
    from types import SimpleNamespace

    from framework.config import load_config
    from framework.context import Budget, Framework
    from framework.protocols import Infeasible
    from plugins.evaluate import remat as remat_plugin

    write(tmp_path / "chain.log", dtr_log(nbytes=1000))
    remat_config(tmp_path, [{"name": "budget_ratio", "values": [0.05]}], {"trace": "chain.log"})
    config = load_config(tmp_path / "config.json")
    fw = Framework(config, Namespace(), tmp_path / "explore", 0, logging.getLogger("test.remat_units"))
    fw.enter(config.explores[0], Budget())
    plugin = remat_plugin.GetObject(fw)
    plugin.Initialize()
    peak, _ = remat.baseline(remat.load_dtr_log(tmp_path / "chain.log"))
    with pytest.raises(Infeasible) as err:
        plugin.Run(SimpleNamespace(values={"budget_ratio": 0.05}))
    assert str(err.value) == f"out of memory at {0.05 * peak:.0f} B (0.05 of {peak / 1e3:.1f} kB)"


def test_a_changed_device_file_changes_the_fingerprint(tmp_path):
    # a GPU made 10x slower in it reused the stored compute times ("0 evaluated now, 2 from the store")
    graph = json.loads((REFERENCE / "exprimo-device-graphs" / "cluster1.json").read_text())
    write(tmp_path / "mydev.json", json.dumps(graph))
    remat_config(tmp_path, [{"name": "budget_ratio", "values": [0.7, 1.0]}],
                 {"trace": "mnist.json", "batch_size": 8, "device": "mydev.json"},
                 costs=("overhead", "compute_time"), max_samples=2)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0   # same file: the stored run is resumed
    for device in graph["devices"]:
        if "peak_gflops" in device:
            device["peak_gflops"] /= 10
    write(tmp_path / "mydev.json", json.dumps(graph))
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "different evaluate settings")


def test_an_exprimo_device_file_as_the_device(tmp_path):
    # every other devices setting takes a device file; this one said "unknown device preset"
    remat_config(tmp_path, [{"name": "budget_ratio", "values": [1.0]}],
                 {"trace": "mnist.json", "batch_size": 8, "device": "malvik-4gpu.json", "precision": "fp16"},
                 costs=("overhead", "compute_time"), max_samples=1)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert "malvik-4gpu.json: no 'peak_gflops_fp16' for its devices" in (r.out + r.err).split("warning: ")[1]
    [row] = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    graph = sim.load_device_graph("malvik-4gpu.json")
    trace = remat.trace_from_network(sim.load_network("mnist.json"), device=graph, batch_size=8, precision="fp16")
    assert float(row["compute_time"]) == remat.baseline(trace)[1]
    assert remat.trace_from_network(sim.load_network("mnist.json"), device="malvik-4gpu.json", batch_size=8,
                                    precision="fp16").summary() == trace.summary()


def placement_config(tmp_path, knobs, **simulator):
    settings = {"network": "resnet18", "devices": "cpu+4xV100-pcie3", "groups": 4, "batch_size": 64}
    settings.update(simulator)
    write(tmp_path / "config.json", json.dumps({
        "knobs": knobs, "costs": ["step_time", "peak_memory", "remat_time", "feasible"],
        "evaluate": {"plugin": "placement", "simulator": settings},
        "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "max_samples": 8},
        "framework": {"seed": 5},
    }))


def test_placement_memory_knobs_equal_a_direct_simulation(tmp_path):
    placement_config(tmp_path, [
        {"name": "device", "type": "categorical", "values": [1, 2], "count": 4},
        {"name": "memory_budget", "values": [0.05, 1.0]},
        {"name": "remat", "values": ["off", "all"]},
        {"name": "training_algorithm", "values": ["backprop", "memory_efficient_dfa"]}])
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    net = sim.zoo.load("resnet18").regroup(4)
    seen = set()
    for row in rows:
        placement = [int(row[f"device_{i}"]) for i in range(4)]
        res = sim.simulate(net, "cpu+4xV100-pcie3", placement, batch_size=64,
                           memory_budget=float(row["memory_budget"]), remat=row["remat"],
                           training_algorithm=row["training_algorithm"])
        assert row["status"] == ("ok" if res.feasible else "infeasible")
        assert float(row["peak_memory"]) == max(res.peak_memory)
        if res.feasible:
            assert float(row["step_time"]) == res.step_time
            assert float(row["remat_time"]) == res.remat_overhead.sum()
        seen.add((row["remat"], res.feasible, bool(res.remat_used.any())))
    assert len(rows) == 8


@pytest.mark.parametrize("setting, message", [
    ({"memory_budget": -1}, "memory_budget['*'] must be a number > 0"),
    ({"remat": ["gpu9"]}, "remat names device 'gpu9'"),
    ({"training_algorithm": "dfa"}, "training_algorithm"),
])
def test_placement_bad_memory_settings_are_one_line(tmp_path, setting, message):
    placement_config(tmp_path, [{"name": "device", "type": "categorical", "values": [1, 2], "count": 4}], **setting)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 2, r
    lines = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0] and "evaluate.simulator" in lines[0], r.err
