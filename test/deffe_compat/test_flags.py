"""Every flag of the original's command line is accepted; those that mean something here mean what they
meant there, and those that do not say so."""
import json
import os
import sqlite3

import pytest

from cli_helpers import read_csv, run_deffe, write

EVALUATOR = "def evaluate(p):\n    return {'t': p['a'] * 10 + p['b']}\n"

# Deffe's run_deffe.py options, with a value where they take one (from its argument parser)
DEFFE_FLAGS = [["-disable-threading"], ["-no-run"], ["-no-train"], ["-no-inference"], ["-validate-module"],
               ["-validate-samples"], ["-bounds-no-check"], ["-sampling-method", "random"], ["-step-increment", "1"],
               ["-step-start", "0"], ["-step-end", "5"], ["-epochs", "5"], ["-batch-size", "4"],
               ["-evaluate-batch-size", "2"], ["-extract-batch-size", "2"], ["-mlmodel-batch-size", "8"],
               ["-evaluate-out-flow", "2"], ["-extract-out-flow", "2"], ["-emulate-preload-feed"],
               ["-fixed-samples", "2"], ["-max-samples", "10"], ["-train-test-split", "1.0"],
               ["-validation-split", "0.2"], ["-init-batch-samples", "3"], ["-load-train-test"], ["-debug"],
               ["-hold-evaluated-data"], ["-no-slurm"], ["-pipeline"], ["-loss", "custom_mean_abs_log_loss"],
               ["-only-preloaded-data-exploration", "-pre-evaluated-data", "rows.csv"], ["-full-exploration"], ["-model-stats-output", "stats.csv"]]


def setup(tmp_path, **sections):
    write(tmp_path / "ev.py", EVALUATOR)
    config = {"python_path": ["."], "knobs": [{"name": "a", "values": "0-8"}, {"name": "b", "values": [1, 2, 3]}],
              "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
              "model": {"epochs": 20, "ensemble": 2}, **sections}
    write(tmp_path / "config.json", json.dumps(config))
    return tmp_path


@pytest.mark.parametrize("flags", DEFFE_FLAGS, ids=lambda f: f[0])
def test_each_flag_of_the_original_is_accepted(tmp_path, flags):
    setup(tmp_path)
    write(tmp_path / "rows.csv", "a,b,t\n1,1,11\n")
    r = run_deffe("-config", "config.json", "-no-run", *flags, cwd=tmp_path)
    assert r.rc == 0, r


def test_flags_that_change_nothing_here_say_so(tmp_path):
    setup(tmp_path)
    r = run_deffe("-config", "config.json", "-no-run", "-disable-threading", "-bounds-no-check",
                  "-step-increment", "2", cwd=tmp_path)
    assert r.rc == 0, r
    for text in ("-disable-threading:", "-bounds-no-check:", "-step-increment 2:"):
        assert text in r.err, (text, r.err)


def test_deffes_batch_sizes_set_the_steps_and_the_parallel_evaluations(tmp_path):
    # -init-batch-samples 3 without -fixed-samples: Deffe's first step was 3 + 2 x 3, each later one 2 x 3
    setup(tmp_path, exploration={"plugin": "sampling"})
    r = run_deffe("-config", "config.json", "-no-train", "-init-batch-samples", "3", "-batch-size", "2",
                  "-max-samples", "21", cwd=tmp_path)
    assert r.rc == 0, r
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        steps = [n for (n,) in db.execute("SELECT COUNT(*) FROM membership GROUP BY step ORDER BY step")]
    assert steps == [9, 6, 6], steps
    # -batch-size alone is the first step's size too; -fixed-samples sets the later ones
    setup(tmp_path / "b", exploration={"plugin": "sampling"})
    r = run_deffe("-config", "config.json", "-no-train", "-batch-size", "4", "-fixed-samples", "5",
                  "-max-samples", "14", cwd=tmp_path / "b")
    with sqlite3.connect(tmp_path / "b" / "explore" / "deffe.db") as db:
        steps = [n for (n,) in db.execute("SELECT COUNT(*) FROM membership GROUP BY step ORDER BY step")]
    assert r.rc == 0 and steps == [4, 5, 5], (steps, r)


def test_input_without_inference_only_explores_those_rows(tmp_path):
    setup(tmp_path)
    write(tmp_path / "rows.csv", "a, b, t\n1, 1, 11\n2, 3, 23\n")      # Deffe's ", " separators
    r = run_deffe("-config", "config.json", "-input", "rows.csv", "-no-train", cwd=tmp_path)
    assert r.rc == 0 and "0 evaluated now, 2 from the store" in r.out, r


def test_evaluate_batch_size_of_a_deffe_config_runs_evaluations_in_parallel(tmp_path):
    write(tmp_path / "ev.py", "import os, time\ndef evaluate(p):\n    time.sleep(0.2)\n"
                              "    return {'t': p['a'], 'pid': os.getpid()}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-6"}], "costs": ["t", "pid"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate", "batch_size": "3"},
        "model": {"plugin": None}, "exploration": {"plugin": "sampling", "samples_per_step": 6}}))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert len({row["pid"] for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")}) == 3


def test_deffes_keras_layer_count_for_frozen_layers_becomes_weight_layers(tmp_path):
    from framework.config import load_config
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"],
        "model": {"ml_model_script": "keras_cnn.py", "ml_arguments": "-convs 2 -freeze-layers 5 -epochs 10"}}))
    model = load_config(tmp_path / "config.json").section("model")
    assert model["plugin"] == "torch_cnn" and model["freeze_layers"] == 2     # its two convolutions, as in Deffe


def test_deffes_batch_size_beyond_the_cores_warns_unless_jobs_is_given(tmp_path):
    setup(tmp_path, evaluate={"plugin": "python", "function": "ev:evaluate", "batch_size": "400"})
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0 and "400 evaluations in parallel on" in r.err and "give -jobs N for fewer" in r.err, r
    r = run_deffe("-config", "config.json", "-no-run", "-jobs", "2", cwd=tmp_path)
    assert r.rc == 0 and "in parallel" not in r.err, r
    # Deffe's run_deffe.sh: -batch-size 1 overrides the config's 400 (the warning said 400 would run at once)
    for flag in ("-batch-size", "-evaluate-batch-size"):
        r = run_deffe("-config", "config.json", "-no-run", flag, "1", cwd=tmp_path)
        assert r.rc == 0 and "in parallel" not in r.err, r
    more = (os.cpu_count() or 1) + 1   # its own batch beyond the cores: its own warning
    r = run_deffe("-config", "config.json", "-no-run", "-batch-size", str(more), cwd=tmp_path)
    assert r.rc == 0 and f"{more} evaluations in parallel on" in r.err and "400" not in r.err, r


def test_a_sampling_method_deffe_had_and_we_do_not_is_replaced_with_a_warning(tmp_path):
    # as the same method in a config's "arguments": "-method onedim" (it was mapped without a word)
    setup(tmp_path)
    for method, nearest in (("onedim", "random"), ("smart", "random"), ("maximin", "lhs"),
                            ("random_k_means", "lhs")):
        r = run_deffe("-config", "config.json", "-no-run", "-sampling-method", method, cwd=tmp_path)
        assert r.rc == 0, r
        assert f"-sampling-method {method}: Deffe's sampling method '{method}' is not here: '{nearest}' is used" \
            in r.err, r
    r = run_deffe("-config", "config.json", "-no-run", "-sampling-method", "lhs", cwd=tmp_path)
    assert r.rc == 0 and "warning" not in r.err, r


@pytest.mark.parametrize("flags, ignored", [
    (["-input", "a.csv", "-pre-evaluated-data", "b.csv"], "-input a.csv: ignored: -pre-evaluated-data b.csv"),
    (["-full-exploration"], "-full-exploration: ignored without -only-preloaded-data-exploration"),
    (["-no-train", "-icp", "m.ckpt", "-tl-samples", "-epochs", "5"], "-icp, -tl-samples, -epochs: ignored with -no-train"),
    (["-custom-samples", "5", "12", "-init-batch-samples", "3", "-fixed-samples", "2"],
     "-init-batch-samples, -fixed-samples: ignored: -custom-samples 5 12"),
    (["-executor", "slurm", "-no-slurm"], "-executor slurm: ignored with -no-slurm"),
], ids=["input", "full-exploration", "no-train", "custom-samples", "no-slurm"])
def test_a_flag_another_flag_makes_pointless_is_named_in_a_warning(tmp_path, flags, ignored):
    setup(tmp_path)
    write(tmp_path / "a.csv", "a,b,t\n1,1,11\n")
    write(tmp_path / "b.csv", "a,b,t\n2,3,23\n")
    r = run_deffe("-config", "config.json", "-no-run", *flags, cwd=tmp_path)
    assert r.rc == 0, r
    assert f"warning: {ignored}" in r.err, r


def test_inference_only_names_the_run_flags_it_ignores(tmp_path):
    setup(tmp_path, model={"plugin": "sklearn_rf"}, exploration={"plugin": "sampling", "max_samples": 6})
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    write(tmp_path / "a.csv", "a,b,t\n1,1,11\n")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", "explore/checkpoints/explore_0.ckpt",
                  "-input", "a.csv", "-output", "o.csv", "-model-extract-dir", "explore/checkpoints",
                  "-only-preloaded-data-exploration", "-pre-evaluated-data", "a.csv", cwd=tmp_path)
    assert r.rc == 0 and (tmp_path / "o.csv").is_file(), r
    for flag in ("-model-extract-dir", "-only-preloaded-data-exploration", "-pre-evaluated-data"):
        assert f"warning: {flag}: ignored with -inference-only" in r.err, (flag, r)


def test_deffes_own_command_lines_get_no_conflict_warning(tmp_path):
    # test/run_deffe.sh: -no-train with Deffe's overloaded -batch-size (the first step's size too)
    setup(tmp_path)
    r = run_deffe("-no-slurm", "-no-train", "-batch-size", "1", "-config", "config.json", "-init-batch-samples",
                  "10", "-batch-size", "10", "-no-run", cwd=tmp_path)
    assert r.rc == 0 and "ignored" not in r.err, r
