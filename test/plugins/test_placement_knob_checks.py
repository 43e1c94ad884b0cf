"""The placement evaluator's checks of its setting knobs at the start: a verdict that does not depend on the
order a knob's values are listed in, continuous knobs checked at their range ends, a setting given twice."""
import json

import pytest

from cli_helpers import assert_user_error, read_csv, run_deffe, write

DEVICES = {"name": "device", "type": "categorical", "values": [1, 2, 3, 4], "count": 4}


def config(tmp_path, knobs, max_samples=6, **simulator):
    settings = {"network": "resnet18", "devices": "cpu+4xV100-pcie3", "groups": 4, **simulator}
    write(tmp_path / "config.json", json.dumps({
        "knobs": [DEVICES] + knobs, "costs": ["step_time"],
        "evaluate": {"plugin": "placement", "simulator": settings},
        "exploration": {"plugin": "sampling", "max_samples": max_samples},
        "framework": {"seed": 1},
    }))


def test_first_values_that_do_not_go_together_are_an_infeasible_combination(tmp_path):
    # batch 30 with 4 micro-batches, listed first: the whole config was refused (listed second, it ran)
    config(tmp_path, [{"name": "batch_size", "values": [30, 32]}, {"name": "micro_batches", "values": [4, 1]}],
           max_samples=12)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    clash = [r for r in rows if (r["batch_size"], r["micro_batches"]) == ("30", "4")]
    assert clash and {r["status"] for r in clash} == {"infeasible"}
    assert {r["status"] for r in rows if r not in clash} == {"ok"}


def test_first_template_values_that_name_no_machine_are_an_infeasible_combination(tmp_path):
    # V100 on NVLink 3 (A100 has it), listed first: "V100-SXM2 uses nvlink2, not nvlink3" refused the config
    config(tmp_path, [{"name": "gpu", "values": ["V100", "A100"]}, {"name": "link", "values": ["nvlink3", "pcie4"]}],
           devices="cpu+4x{gpu}-{link}", batch_size=32, max_samples=4)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0


def test_knob_values_of_which_no_combination_runs_are_a_config_error_naming_the_knobs(tmp_path):
    # each value runs alone (with the network's batch, or one micro-batch); no pair does
    config(tmp_path, [{"name": "batch_size", "values": [30, 34]}, {"name": "micro_batches", "values": [4, 8]}])
    line = assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path),
                             "no combination of the values of knobs 'batch_size', 'micro_batches' runs",
                             "batch size 30 is not divisible")
    assert line.startswith("error: config.json:knobs: "), line
    assert not (tmp_path / "explore").exists()


@pytest.mark.parametrize("knob", [{"name": "memory_budget", "type": "real", "min": 0.2, "max": 1.0},
                                  {"name": "memory_cap_gb", "type": "real", "min": 0.5, "max": 4}])
def test_a_continuous_setting_knob_with_a_valid_range_runs(tmp_path, knob):
    # its "first value" was its code 0, the value 0.0: "memory_budget['*'] must be a number > 0 ..., not 0.0"
    config(tmp_path, [knob], batch_size=32, max_samples=2)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0


def test_a_continuous_setting_knob_is_checked_at_its_range_ends(tmp_path):
    # a bad end is the knob's, with its value
    config(tmp_path, [{"name": "memory_budget", "type": "real", "min": -0.5, "max": 1.0}], batch_size=32)
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "config.json:knobs",
                      "knob 'memory_budget': value -0.5: memory_budget")


@pytest.mark.parametrize("knob, devices, message", [
    ({"name": "gpu", "values": ["A100", "V1OO"]}, "cpu+2x{gpu}-pcie4",
     "knob 'gpu': value 'V1OO': device preset 'cpu+2xV1OO-pcie4': unknown GPU 'V1OO' (did you mean 'V100'?)"),
    ({"name": "gpu", "values": ["V1OO", "A100"]}, "cpu+2x{gpu}-pcie4", "knob 'gpu': value 'V1OO'"),
    ({"name": "gpus", "values": [2, 0]}, "cpu+{gpus}xA100-pcie4", "knob 'gpus': value 0"),
])
def test_a_template_value_that_never_names_a_machine_is_a_config_error_wherever_it_is_listed(tmp_path, knob,
                                                                                             devices, message):
    # listed second, every sample that drew it was stored infeasible; listed first, evaluate.simulator.devices
    # was blamed
    config(tmp_path, [knob], devices=devices, batch_size=32)
    line = assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), message)
    assert line.startswith("error: config.json:knobs: "), line
    assert not (tmp_path / "explore").exists()


def test_a_setting_both_fixed_and_a_knob_is_a_config_error(tmp_path):
    # the fixed micro_batches 4 was dropped without a word: the knob's values were simulated
    config(tmp_path, [{"name": "micro_batches", "values": [1, 2]}], batch_size=32, micro_batches=4)
    line = assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path),
                             "'micro_batches' is set both in evaluate.simulator and as a knob", "remove one")
    assert line.startswith("error: config.json:evaluate.simulator.micro_batches: "), line
    assert not (tmp_path / "explore").exists()


def test_devices_fixed_at_the_default_and_a_knob_is_a_config_error(tmp_path):
    # a fixed devices equal to its default was taken for no setting at all: the knob won without a word
    config(tmp_path, [{"name": "devices", "values": ["cpu+4xA100-pcie4", "cpu+4xV100-pcie3"]}], batch_size=32)
    line = assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path),
                             "'devices' is set both in evaluate.simulator and as a knob", "remove one")
    assert line.startswith("error: config.json:evaluate.simulator.devices: "), line
    assert not (tmp_path / "explore").exists()


def test_a_devices_knob_alone_runs(tmp_path):
    # (the setting keeps its default when the config does not give it: that is not "set twice")
    config(tmp_path, [{"name": "devices", "values": ["cpu+4xA100-pcie4", "cpu+4xV100-pcie3"]}], batch_size=32,
           max_samples=2)
    cfg = json.loads((tmp_path / "config.json").read_text())
    del cfg["evaluate"]["simulator"]["devices"]
    write(tmp_path / "config.json", json.dumps(cfg))
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    assert {r["status"] for r in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")} == {"ok"}
