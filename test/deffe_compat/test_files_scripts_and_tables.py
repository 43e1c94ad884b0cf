"""Deffe's conventions for files, flags, orders and tables: where scripts, data and checkpoints are looked for,
what -method factorial draws, Deffe's table columns and paths, merged same-named knobs. Each test is what a user
coming from Deffe relies on."""
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


def _cwd_and_cfg(tmp_path, **sections):
    """A Deffe config in <tmp>/cfg, run from <tmp>/run (Deffe looked in the current directory first)."""
    (tmp_path / "run").mkdir()
    (tmp_path / "cfg").mkdir()
    deffe_config(tmp_path / "cfg", **sections)
    return tmp_path / "run"


def test_scripts_in_the_current_directory_are_found_as_deffe_found_them(tmp_path):
    run = _cwd_and_cfg(tmp_path, extract={"sample_extract_script": "extract.sh", "cost_output": "results.out"})
    write(run / "evaluate.sh", "#! /bin/bash\necho \"raw $(( $x * 3 ))\" > stats.txt\n")
    write(run / "extract.sh", "#! /bin/bash\nawk '{print $2}' stats.txt > results.out\n")
    r = run_deffe("-config", "../cfg/config.json", "-no-train", cwd=run)
    assert r.rc == 0 and "failed" not in r.err, r
    assert (run / "explore" / "explore_1" / "extract.log").exists()
    assert (run / "deffe_evaluation.csv").read_text().count(", ") >= 8   # two rows of costs read by extract.sh


def test_a_script_in_neither_place_says_where_it_looked_and_what_to_do(tmp_path):
    run = _cwd_and_cfg(tmp_path)
    r = run_deffe("-config", "../cfg/config.json", "-no-train", cwd=run)
    assert r.rc == 2, r
    line = r.err.strip().splitlines()[-1]
    assert f"looked at {run / 'evaluate.sh'} and {tmp_path / 'cfg' / 'evaluate.sh'}" in line, line
    assert "; put it in the current directory or next to the config" in line, line


def test_data_of_one_name_in_both_places_that_differ_is_one_error_naming_both(tmp_path):
    run = _cwd_and_cfg(tmp_path, exploration={"explore": [{"name": "e", "groups": "g", "pre_evaluated_data": "data.csv"}]})
    write(run / "data.csv", "x, cpu_cycles\n1, 111\n2, 222\n")
    write(tmp_path / "cfg" / "data.csv", "x, cpu_cycles\n1, 5\n2, 6\n")
    r = run_deffe("-config", "../cfg/config.json", "-no-train", "-only-preloaded-data-exploration", cwd=run)
    assert r.rc == 2 and not (run / "explore").exists(), r
    line = r.err.strip().splitlines()[-1]
    assert line.startswith("error: ") and str(run / "data.csv") in line and str(tmp_path / "cfg" / "data.csv") in line
    assert "keep one of them, or give an absolute path" in line, line
    # the same file in both places is no conflict: the current directory's, as Deffe read it
    write(tmp_path / "cfg" / "data.csv", "x, cpu_cycles\n1, 111\n2, 222\n")
    r = run_deffe("-config", "../cfg/config.json", "-no-train", "-only-preloaded-data-exploration", cwd=run)
    assert r.rc == 0, r
    assert "111" in (run / "deffe_output.csv").read_text()


def test_an_icp_in_ml_arguments_is_found_in_the_current_directory(tmp_path):
    rows = "x, y, cpu_cycles\n" + "".join(f"{x}, {y}, {x * 3 + y}\n" for x in range(1, 7) for y in range(1, 7))
    write(tmp_path / "data.csv", rows)
    space = {"knobs": [{"name": "x", "groups": "g", "values": "1-9"}, {"name": "y", "groups": "g", "values": "1-9"}],
             "exploration": {"explore": [{"name": "k", "groups": "g", "pre_evaluated_data": str(tmp_path / "data.csv")}]}}
    run = _cwd_and_cfg(tmp_path, model={"ml_model_script": "keras_cnn.py", "ml_arguments": "-epochs 1"}, **space)
    flags = ("-config", "../cfg/config.json", "-only-preloaded-data-exploration", "-max-samples", "12", "-quiet")
    assert run_deffe(*flags, cwd=run).rc == 0
    # Deffe's run.sh kept the checkpoint in the current directory: not there yet, the error says where it looked
    deffe_config(tmp_path / "cfg", model={"ml_model_script": "keras_cnn.py", "ml_arguments": "-icp k.ckpt -epochs 1"},
                 **{**space, "framework": {"run_directory": "tl"}})
    r = run_deffe(*flags, cwd=run)
    assert r.rc == 2, r
    assert f"(looked at {run / 'k.ckpt'} and {tmp_path / 'cfg' / 'k.ckpt'})" in r.err.strip().splitlines()[-1], r.err
    (run / "k.ckpt").write_bytes((run / "explore" / "checkpoints" / "k.ckpt").read_bytes())
    r = run_deffe(*flags, cwd=run)
    assert r.rc == 0, r


def test_same_named_scenarios_of_two_groups_in_one_exploration_are_merged_as_deffe_did(tmp_path):
    # Deffe's test/config.json: "size" in application1 and application2, explored by the group "all"
    write(tmp_path / "evaluate.sh", "#! /bin/bash\necho $(( $param1 * $size )) > results.out\n")
    scenarios = [{"name": "size", "map": "options", "groups": "application1", "values": [16, 32]},
                 {"name": "size", "map": "options", "groups": "application2", "values": "100-300-100"}]
    for exploration in ({"explore": [{"name": "e", "groups": "all"}]}, {"explore": [{"name": "e"}]}, None):
        deffe_config(tmp_path, knobs=[{"name": "param1", "groups": "set1", "values": "1-3"}], scenarios=scenarios,
                     **({"exploration": exploration} if exploration else {}))
        if exploration is None:
            config = json.loads((tmp_path / "config.json").read_text())
            del config["exploration"]
            write(tmp_path / "config.json", json.dumps(config))
        r = run_deffe("-config", "config.json", "-no-train", "-no-run", cwd=tmp_path)
        assert r.rc == 0, r
        sizes = {line.split("size=")[1] for line in _would_evaluate(r)}
        assert sizes == {"16", "32", "100", "200"}, (exploration, r)
        assert "named 'size'" in r.err and "merged" in r.err, r.err
    # values that cannot be one list are refused, with a hint that can fix it
    scenarios[1]["map"] = "other"
    deffe_config(tmp_path, knobs=[{"name": "param1", "groups": "set1", "values": "1-3"}], scenarios=scenarios,
                 exploration={"explore": [{"name": "e", "groups": "all"}]})
    r = run_deffe("-config", "config.json", "-no-train", "-no-run", cwd=tmp_path)
    assert r.rc == 2 and "cannot be merged: their maps differ" in r.err, r
    assert "explore their groups in separate explore entries" in r.err, r.err


def test_data_without_a_column_for_one_cost_is_used_for_the_costs_it_has(tmp_path):
    # a cost added to the config after the data was made: Deffe said "Couldn't find data for power" and went on
    write(tmp_path / "evaluate.sh", "#! /bin/bash\necho $(( $x * 3 + $y )) > results.out\necho $(( $x + $y )) >> results.out\n")
    write(tmp_path / "old_data.csv", "x, y, cpu_cycles\n1, 1, 4\n2, 1, 7\n3, 2, 11\n")
    deffe_config(tmp_path, knobs=[{"name": "x", "groups": "g", "values": "1-4"}, {"name": "y", "groups": "g", "values": "1-3"}],
                 costs=["cpu_cycles", "power"],
                 exploration={"explore": [{"name": "e", "groups": "g", "pre_evaluated_data": "old_data.csv"}]})
    r = run_deffe("-config", "config.json", "-no-train", cwd=tmp_path)
    assert r.rc == 0, r
    warned = [line for line in r.err.splitlines() if "no column for cost power" in line]
    assert len(warned) == 1 and "old_data.csv" in warned[0] and warned[0].startswith("warning: "), r.err
    rows = (tmp_path / "explore" / "deffe_evaluation.csv").read_text().splitlines()
    assert "2,1,7,,ok" in rows and "1,2,5,3,ok" in rows, rows   # the data's row unmeasured for power only
    # no column for any cost: nothing to use, an error with a remedy, nothing written
    write(tmp_path / "old_data.csv", "x, y, cycles\n1, 1, 4\n")
    r = run_deffe("-config", "config.json", "-no-train", "-fresh", cwd=tmp_path)
    assert r.rc == 2, r
    line = r.err.strip().splitlines()[-1]
    assert line.startswith("error: ") and "old_data.csv:line 1: no column for any cost" in line, line
    assert "name a cost's column as the config's costs" in line, line


def test_training_flags_with_model_extract_dir_say_they_change_nothing(tmp_path):
    # Deffe's transfer_learning_samples/*/run.sh ran -model-extract-dir with -loss ...: here they are not used,
    # and the user is told so instead of getting identical files silently
    rows = "x, cpu_cycles\n1, 3\n2, 6\n3, 9\n"
    write(tmp_path / "data.csv", rows)
    write(tmp_path / "evaluate.sh", EVALUATE)
    deffe_config(tmp_path, knobs=[{"name": "x", "groups": "g", "values": "1-4"}],
                 model={"ml_model_script": "keras_cnn.py", "ml_arguments": "-epochs 1"},
                 exploration={"explore": [{"name": "k", "groups": "g", "pre_evaluated_data": "data.csv"}]})
    assert run_deffe("-config", "config.json", "-only-preloaded-data-exploration", "-quiet", cwd=tmp_path).rc == 0
    r = run_deffe("-model-extract-dir", "explore/checkpoints", "-config", "config.json", "-only-preloaded-data-exploration",
                  "-train-test-split", "0.5", "-loss", "custom_mean_abs_log_loss", "-model-stats-output", "out.csv",
                  cwd=tmp_path)
    assert r.rc == 0 and (tmp_path / "out.csv").exists(), r
    for flag in ("-train-test-split", "-loss"):
        warned = [line for line in r.err.splitlines() if line.startswith(f"warning: {flag}: ignored with -model-extract-dir")]
        assert len(warned) == 1, (flag, r.err)


def test_deffes_table_puts_the_extract_scripts_time_in_extract_time_not_evaluate_time(tmp_path):
    write(tmp_path / "evaluate.sh", EVALUATE)
    write(tmp_path / "extract.sh", "#! /bin/bash\nsleep 1\n")
    deffe_config(tmp_path, knobs=[{"name": "x", "groups": "g", "values": [1]}],
                 extract={"sample_extract_script": "extract.sh", "cost_output": "results.out"})
    r = run_deffe("-config", "config.json", "-no-train", "-quiet", cwd=tmp_path)
    assert r.rc == 0, r
    header, row = (line.split(", ") for line in (tmp_path / "deffe_evaluation.csv").read_text().splitlines())
    cells = dict(zip(header, row))
    assert float(cells["ExtractTime"]) >= 0.9, cells   # the extract script sleeps 1 s
    assert float(cells["EvaluateTime"]) < float(cells["ExtractTime"]), cells
