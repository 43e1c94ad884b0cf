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


def _would_evaluate(r):
    return [line for line in r.out.splitlines() + r.err.splitlines() if line.startswith("would evaluate:")]


def test_deffes_factorial_method_draws_the_whole_grid_in_a_seeded_random_order(tmp_path):
    # Deffe: np.arange(every point), then np.random.shuffle; a budget of 8 on a 5 x 5 grid is not one corner
    write(tmp_path / "evaluate.sh", EVALUATE)
    grid = {"knobs": [{"name": "x", "groups": "g", "values": "1-6"}, {"name": "y", "groups": "g", "values": "1-6"}]}
    deffe_config(tmp_path, sampling={"pyscript": "_sampling.py", "arguments": "-method factorial"}, **grid)
    flags = ("-config", "config.json", "-no-train", "-max-samples", "8", "-no-run")
    first, again = (_would_evaluate(run_deffe(*flags, cwd=tmp_path)) for _ in range(2))
    in_order = [f"would evaluate: x={x}, y={y}" for x in range(1, 6) for y in range(1, 6)][:8]   # "1-6": 1 to 5
    assert len(first) == 8 and len(set(first)) == 8, first
    assert first != in_order and {line.split(",")[0] for line in first} != {"would evaluate: x=1", "would evaluate: x=2"}
    assert again == first   # seeded by the run's seed
    # this project's own factorial plugin keeps its documented order
    deffe_config(tmp_path, sampling={"plugin": "factorial"}, **grid)
    assert _would_evaluate(run_deffe(*flags, cwd=tmp_path)) == in_order


def test_an_absolute_evaluation_table_gets_deffes_table_and_ours_stays_in_the_run_directory(tmp_path):
    # Deffe expanded "$DEFFE_EXP_DIR/tabs/ev.csv": its table there, ours in the run directory as for "tabs/ev.csv"
    write(tmp_path / "evaluate.sh", EVALUATE)
    deffe_config(tmp_path, exploration={"explore": [{"name": "e", "groups": "g",
                                                     "evaluation_table": "$DEFFE_EXP_DIR/tabs/ev.csv"}]})
    r = run_deffe("-config", "config.json", "-no-train", cwd=tmp_path)
    assert r.rc == 0 and "would replace" not in r.err, r
    assert (tmp_path / "tabs" / "ev.csv").read_text().splitlines()[0] == "x, cpu_cycles, EvaluateTime, ExtractTime, RunDir"
    assert (tmp_path / "explore" / "tabs" / "ev.csv").read_text().splitlines()[0] == "x,cpu_cycles,status"
