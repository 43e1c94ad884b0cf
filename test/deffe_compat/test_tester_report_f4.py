"""Deffe compatibility faults an outside tester found (flags, lookups, orders, tables): each test is what a
user coming from Deffe relies on."""
import json

from cli_helpers import run_deffe, write

EVALUATE = "#! /bin/bash\necho $(( $x * 3 )) > results.out\n"


def deffe_config(tmp_path, **sections):
    config = {"knobs": [{"name": "x", "groups": "g", "values": "1-3"}], "costs": ["cpu_cycles"],
              "exploration": {"explore": [{"name": "e", "groups": "g"}]},
              "evaluate": {"sample_evaluate_script": "evaluate.sh", "batch_size": "1"},
              "framework": {"run_directory": "explore"}, **sections}
    write(tmp_path / "config.json", json.dumps(config))
    return config


def test_an_unknown_sampling_method_flag_is_blamed_on_the_flag_not_an_included_template(tmp_path):
    write(tmp_path / "evaluate.sh", EVALUATE)
    write(tmp_path / "tpl.json", json.dumps({"sampling": {"pyscript": "_sampling.py", "arguments": "-fixed-samples 1"}}))
    deffe_config(tmp_path, include=["tpl.json"])
    r = run_deffe("-config", "config.json", "-no-run", "-sampling-method", "lhs_typo", cwd=tmp_path)
    assert r.rc == 2, r
    line = r.err.strip().splitlines()[-1]
    assert line.startswith("error: -sampling-method: plugin 'lhs_typo'"), r.err
    assert "tpl.json" not in r.err, r.err
