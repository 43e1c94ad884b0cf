"""Deffe's experiments on pre-evaluated data (its README: `-only-preloaded-data-exploration
-full-exploration` on config_kmeans.json, a cluster config with "slurm": "True" and a scenario range of
1,000 object counts, of which the table holds a few) run here as they ran there."""
import json
import os
import sqlite3

import pytest

from cli_helpers import assert_user_error, read_csv, run_deffe, write

ROWS = [(a, b, size) for size in (100, 500, 1000) for a in (1, 3, 5) for b in (1, 2)]


def setup(tmp_path, **evaluate):
    write(tmp_path / "ev.py", "def evaluate(p):\n    raise RuntimeError('nothing is evaluated')\n")
    config = {"python_path": ["."],
              "knobs": [{"name": "a", "values": "1-8"}, {"name": "b", "values": [1, 2, 4]}],
              # Deffe's range syntax: 100, 200, ..., 100000 (1,000 sizes; more than are served one by one)
              "scenarios": [{"name": "size", "map": "options", "values": "100-100100-100"}],
              "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate", **evaluate},
              "model": {"plugin": "sklearn_rf"}}
    write(tmp_path / "config.json", json.dumps(config))
    write(tmp_path / "data.csv", "a, b, size, t\n" + "".join(f"{a}, {b}, {s}, {a * b * s}\n" for a, b, s in ROWS))
    # a machine where SLURM is not reachable, whatever this one has
    write(tmp_path / "bin" / "sinfo", "#!/bin/sh\necho 'sinfo: fatal: Could not establish a configuration source' >&2\n"
                                      "exit 1\n")
    (tmp_path / "bin" / "sinfo").chmod(0o755)
    import os
    return {"PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}


def used(tmp_path) -> set:
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        rows = db.execute("SELECT s.params FROM samples s JOIN membership m ON m.sample = s.id").fetchall()
    return {(p["a"], p["b"], p["size"]) for p in (json.loads(r) for (r,) in rows)}


def test_a_cluster_configs_preloaded_exploration_needs_no_cluster(tmp_path):
    env = setup(tmp_path, slurm="True", batch_size="400")
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "data.csv", "-only-preloaded-data-exploration",
                  "-full-exploration", "-batch-size", "4096", cwd=tmp_path, env=env)
    assert r.rc == 0, r
    assert "SLURM" not in r.err and "in parallel" not in r.err, r.err   # nothing runs: nothing to warn of
    assert used(tmp_path) == set(ROWS)


def test_the_data_of_a_large_scenario_range_are_explored_as_they_are(tmp_path):
    # the scenario's 1,000 values are served by representatives; the data's sizes must not be moved to them
    env = setup(tmp_path)
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "data.csv", "-only-preloaded-data-exploration",
                  "-full-exploration", cwd=tmp_path, env=env)
    assert r.rc == 0 and f"0 evaluated now, {len(ROWS)} from the store" in r.out, r
    assert "size=500" in r.out, r.out      # the front of each size the data hold
    # step by step (Deffe's transfer-learning experiments): the model-guided steps choose among the data
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "data.csv", "-only-preloaded-data-exploration",
                  "-init-batch-samples", "6", "-fixed-samples", "4", "-fresh", cwd=tmp_path, env=env)
    assert r.rc == 0, r
    assert used(tmp_path) == set(ROWS), r.out


def grid_setup(tmp_path, pre_evaluated_data=None, config="config.json", a="1-11", **sections):
    """Knobs a (1 to 10) and b (1 to 6; Deffe's ranges leave out their end), the config's explore entry reading all_data.csv (every point), and
    part.csv: the 10 points with a >= 6 and b <= 2."""
    write(tmp_path / "ev.py", "def evaluate(p):\n    raise RuntimeError('nothing is evaluated')\n")
    explore = {"name": "e", **({"pre_evaluated_data": pre_evaluated_data} if pre_evaluated_data else {})}
    write(tmp_path / config, json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": a}, {"name": "b", "values": "1-7"}],
        "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "sklearn_rf"}, "exploration": {"explore": [explore], **sections.pop("exploration", {})},
        **sections}))
    write(tmp_path / "all_data.csv", "a,b,t\n" + "".join(f"{a},{b},{a * 10 + b}\n"
                                                          for a in range(1, 11) for b in range(1, 7)))
    write(tmp_path / "part.csv", "a,b,t\n" + "".join(f"{a},{b},{a * 10 + b}\n"
                                                     for a in range(6, 11) for b in range(1, 3)))


def membership(tmp_path) -> list[tuple[int, int, int]]:
    """(step, a, b) of every point the run's exploration was told, in step order."""
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        rows = db.execute("SELECT m.step, s.params FROM samples s JOIN membership m ON m.sample = s.id "
                          "ORDER BY m.step").fetchall()
    return [(step, json.loads(p)["a"], json.loads(p)["b"]) for step, p in rows]


@pytest.mark.parametrize("flag", ["-pre-evaluated-data", "-input"])
def test_the_data_given_on_the_command_line_replaces_the_configs(tmp_path, flag):
    # Deffe: load_data_file = args.input / args.pre_evaluated_data, in place of the explore entry's file
    grid_setup(tmp_path, pre_evaluated_data="all_data.csv")
    r = run_deffe("-config", "config.json", flag, "part.csv", "-only-preloaded-data-exploration", "-no-train",
                  cwd=tmp_path)
    assert r.rc == 0, r
    assert "all_data.csv" not in r.err, r.err
    assert sorted((a, b) for _s, a, b in membership(tmp_path)) == \
        [(a, b) for a in range(6, 11) for b in range(1, 3)], r
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 10


@pytest.mark.parametrize("flag", ["-pre-evaluated-data", "-input"])
def test_a_missing_file_of_the_config_replaced_on_the_command_line_is_no_warning(tmp_path, flag):
    # the config's file is not read at all: "not found ... going on without it" was a false alarm
    grid_setup(tmp_path, pre_evaluated_data="gone.csv")
    r = run_deffe("-config", "config.json", flag, "part.csv", "-only-preloaded-data-exploration", "-no-train",
                  cwd=tmp_path)
    assert r.rc == 0 and "gone.csv" not in r.err and "warning" not in r.err, r
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 10


@pytest.mark.parametrize("flags", [[], ["-batch-size", "10"], ["-custom-samples", "10", "20"]],
                         ids=["default", "batch-size", "custom-samples"])
def test_full_exploration_trains_once_on_all_the_data(tmp_path, flags):
    # Deffe's _sampling.Initialize with full_exploration: every row in step 0, whatever the first step's size
    grid_setup(tmp_path, pre_evaluated_data="all_data.csv")
    r = run_deffe("-config", "config.json", "-only-preloaded-data-exploration", "-full-exploration", *flags,
                  cwd=tmp_path)
    assert r.rc == 0, r
    assert [step for step, _a, _b in membership(tmp_path)] == [0] * 60, r
    assert "60/60 samples" in r.err and "every pre-evaluated point explored in one step" in r.out, r
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        trained = db.execute("SELECT COUNT(*) FROM steps").fetchone()[0]
    assert trained == 1, r


def test_a_config_sharing_the_run_directory_shows_its_own_points_and_model(tmp_path):
    # Deffe's config_kmeans.json, then a config of a smaller space over the same data, in the same run
    # directory and exploration: the second one's best, model error and tables are of its own points
    grid_setup(tmp_path, pre_evaluated_data="all_data.csv", config="A.json", model={"plugin": "sklearn_rf"})
    r = run_deffe("-config", "A.json", "-only-preloaded-data-exploration", "-init-batch-samples", "10",
                  "-step-end", "2", cwd=tmp_path)
    assert r.rc == 0 and "best t 11," in r.err and "model MAPE" in r.err, r
    grid_setup(tmp_path, pre_evaluated_data="all_data.csv", config="B.json", a="5-11",   # a in 5..10
               model={"plugin": "sklearn_rf", "train_test_split": 1.0})
    r = run_deffe("-config", "B.json", "-only-preloaded-data-exploration", "-custom-samples", "5",
                  cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 5 and all(int(x["a"]) >= 5 for x in rows), rows
    progress = [line for line in r.err.splitlines() if "samples (" in line][-1]
    assert f"best t {min(int(x['t']) for x in rows)}," in progress, r
    assert "model MAPE" not in progress, r   # B's model holds nothing out


def test_only_preloaded_tables_hold_the_data_only(tmp_path):
    # a config evaluated three points of the space; another, in the same run directory, explores its data only
    grid_setup(tmp_path, config="A.json")
    evaluator = "def evaluate(p):\n    return {'t': p['a'] * 1000 + p['b']}\n"
    write(tmp_path / "ev.py", evaluator)
    r = run_deffe("-config", "A.json", "-no-train", "-max-samples", "3", cwd=tmp_path)
    assert r.rc == 0 and "3 evaluated now" in r.out, r
    write(tmp_path / "data.csv", "a,b,t\n" + "".join(f"{a},{b},{a * 10 + b}\n" for a in range(1, 6) for b in range(1, 7)))
    grid_setup(tmp_path, pre_evaluated_data="data.csv", config="B.json", framework={"deffe_tables": True})
    write(tmp_path / "ev.py", evaluator)   # the same evaluation settings: the same run
    r = run_deffe("-config", "B.json", "-only-preloaded-data-exploration", "-init-batch-samples", "256",
                  "-step-end", "1", cwd=tmp_path)
    assert r.rc == 0 and "30/30 samples" in r.err, r
    for table in (tmp_path / "explore" / "deffe_evaluation.csv", tmp_path / "explore" / "deffe_output.csv"):
        rows = read_csv(table)
        assert len(rows) == 30 and all(int(x["t"]) < 1000 for x in rows), (table, rows)
    deffe = (tmp_path / "deffe_output.csv").read_text().splitlines()[1:]   # the original's all_table
    assert len(deffe) == 30 and all(int(line.split(", ")[2]) < 1000 for line in deffe), deffe


def test_a_point_given_twice_counts_once_in_the_samples_to_explore(tmp_path):
    grid_setup(tmp_path)
    rows = (tmp_path / "part.csv").read_text().splitlines()
    write(tmp_path / "twice.csv", "\n".join(rows + rows[1:]) + "\n")   # its 10 points, each on two lines
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "twice.csv", "-only-preloaded-data-exploration",
                  cwd=tmp_path)
    assert r.rc == 0 and "10/10 samples" in r.err and "0 evaluated now, 10 from the store" in r.out, r


def test_custom_samples_are_kept_on_data_short_of_a_scenarios_share(tmp_path):
    # sizes 2 and 3 have 4 points each in the data: their share of a guided step is more than is left
    write(tmp_path / "ev.py", "def evaluate(p):\n    raise RuntimeError('nothing is evaluated')\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "1-11"}, {"name": "b", "values": "1-7"}],
        "scenarios": [{"name": "size", "values": [1, 2, 3]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": "sklearn_rf"}}))
    rows = [(a, b, 1) for a in range(1, 11) for b in range(1, 4)] + [(a, 1, s) for s in (2, 3) for a in range(1, 5)]
    write(tmp_path / "data.csv", "a,b,size,t\n" + "".join(f"{a},{b},{s},{a * 10 + b * s}\n" for a, b, s in rows))
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "data.csv", "-only-preloaded-data-exploration",
                  "-custom-samples", "6", "18", "30", cwd=tmp_path)
    assert r.rc == 0, r
    steps = [step for step, _a, _b in membership(tmp_path)]
    assert [steps.count(i) for i in range(3)] == [6, 12, 12], r


def test_step_start_on_the_data_trains_first_on_that_steps_samples(tmp_path):
    # Deffe's -step-start S moves its sampler S steps ahead: the first model learns step S's cumulative samples
    grid_setup(tmp_path, pre_evaluated_data="all_data.csv")
    r = run_deffe("-config", "config.json", "-only-preloaded-data-exploration", "-init-batch-samples", "4",
                  "-fixed-samples", "1", "-step-start", "2", "-step-end", "3", cwd=tmp_path)
    assert r.rc == 0, r
    trained = [line for line in r.err.splitlines() if "model trained on" in line]
    assert len(trained) == 1 and trained[0].startswith("step 2: model trained on 6 of 6 samples"), r
    # all the data in step 0: nothing left to train at step 1, and the run says so
    r = run_deffe("-config", "config.json", "-only-preloaded-data-exploration", "-full-exploration",
                  "-step-start", "1", "-fresh", cwd=tmp_path)
    assert r.rc == 0 and "model trained on" not in r.err, r
    assert "warning: -step-start 1: exploration 'e' ended after 1 step of its data, before step 1: no model was " \
           "trained" in r.err, r


def test_the_summary_has_only_the_scenario_values_the_data_hold_and_counts_their_evaluations(tmp_path):
    """The data hold s=1 and 2 of the scenario's 1, 2, 3: the summary printed a section
    's=3 (0 evaluated designs): (no feasible design evaluated)', and '(10 evaluated designs)' for the 10
    designs listed (top_k) of the 12 evaluated."""
    write(tmp_path / "prob.py", "def f(p):\n    raise RuntimeError('not used: only the data are explored')\n")
    write(tmp_path / "data.csv", "x,y,s,t\n" + "".join(
        f"{x},{y},{s},{(x - s) ** 2 + y}\n" for x in range(4) for y in range(4) for s in (1, 2)))
    write(tmp_path / "c.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "x", "values": [0, 1, 2, 3]}, {"name": "y", "values": [0, 1, 2, 3]}],
        "scenarios": [{"name": "s", "values": [1, 2, 3]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "prob:f"}, "model": {"plugin": "sklearn_rf", "estimators": 10},
        "exploration": {"samples_per_step": 8, "max_samples": 24, "analysis": False},
        "framework": {"run_directory": "run", "seed": 1}}))
    r = run_deffe("-config", "c.json", "-pre-evaluated-data", "data.csv", "-only-preloaded-data-exploration",
                  cwd=tmp_path)
    assert r.rc == 0, r
    evaluated = read_csv(tmp_path / "run" / "deffe_evaluation.csv")
    heads = [line for line in r.out.splitlines() if line.startswith("  s=")]
    assert heads == [f"  s={s} ({sum(row['s'] == str(s) for row in evaluated)} evaluated designs, 10 listed):"
                     for s in (1, 2)], r.out
    assert "s=3" not in r.out


def test_a_local_share_chooses_among_the_data_too(tmp_path):
    # exploration.local_share's moves of the best designs would be designs the data do not hold: dropped, they
    # left a step short of -fixed-samples
    env = setup(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["exploration"] = {"local_share": 0.5}
    write(tmp_path / "config.json", json.dumps(config))
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "data.csv", "-only-preloaded-data-exploration",
                  "-init-batch-samples", "6", "-fixed-samples", "4", cwd=tmp_path, env=env)
    assert r.rc == 0, r
    assert used(tmp_path) == set(ROWS), r.out
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        sizes = [n for (_, n) in db.execute("SELECT step, count(*) FROM membership GROUP BY step ORDER BY step")]
    assert sizes == [6, 4, 4, 4], r.out


@pytest.mark.parametrize("given", ["explore/deffe_evaluation.csv", "link.csv"], ids=["the-table", "a-hard-link"])
def test_data_that_is_one_of_the_runs_own_tables_is_refused_untouched(tmp_path, given):
    # a previous run's deffe_evaluation.csv given as the data was rewritten by the run's table: 60 rows given,
    # 10 left, no warning
    grid_setup(tmp_path)
    assert run_deffe("-config", "config.json", "-pre-evaluated-data", "all_data.csv",
                     "-only-preloaded-data-exploration", "-full-exploration", "-no-train", cwd=tmp_path).rc == 0
    table = tmp_path / "explore" / "deffe_evaluation.csv"
    if given == "link.csv":
        os.link(table, tmp_path / "link.csv")
    before = table.read_bytes()
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", given, "-only-preloaded-data-exploration",
                  "-max-samples", "10", "-no-train", cwd=tmp_path)
    assert_user_error(r, f"-pre-evaluated-data: {given} (the -pre-evaluated-data file) is a table this run writes",
                      "copy it out of the run directory first")
    assert table.read_bytes() == before


def test_data_named_as_one_explore_entrys_table_of_several_is_refused(tmp_path):
    grid_setup(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["exploration"]["explore"] = [{"name": "e1"}, {"name": "e2"}]
    write(tmp_path / "config.json", json.dumps(config))
    table = tmp_path / "explore" / "e2-deffe_output.csv"
    write(table, (tmp_path / "all_data.csv").read_text())
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "explore/e2-deffe_output.csv",
                  "-only-preloaded-data-exploration", "-no-train", cwd=tmp_path)
    assert_user_error(r, "explore/e2-deffe_output.csv (the -pre-evaluated-data file) is a table this run writes")
    assert table.read_text() == (tmp_path / "all_data.csv").read_text()
    assert not (tmp_path / "explore" / "deffe.db").exists()
    # given as the entry's own pre_evaluated_data, the line named the key but not the config that wrote it
    config["exploration"]["explore"][1]["pre_evaluated_data"] = "explore/e2-deffe_output.csv"
    write(tmp_path / "config.json", json.dumps(config))
    r = run_deffe("-config", "config.json", "-no-train", cwd=tmp_path)
    assert_user_error(r, "error: config.json:exploration.explore[1].pre_evaluated_data: ",
                      "(the pre_evaluated_data of exploration 'e2') is a table this run writes")
    assert table.read_text() == (tmp_path / "all_data.csv").read_text()


def test_full_exploration_takes_all_the_data_whatever_the_configs_budget(tmp_path):
    # Deffe's -full-exploration: every row in one step; the config's max_samples cut it to 10 of 60 silently
    grid_setup(tmp_path, pre_evaluated_data="all_data.csv", exploration={"max_samples": 10})
    r = run_deffe("-config", "config.json", "-only-preloaded-data-exploration", "-full-exploration", "-no-train",
                  cwd=tmp_path)
    assert r.rc == 0, r
    assert len(membership(tmp_path)) == 60 and "beyond the config's max_samples (10)" in r.err, r
    # a -max-samples given with it caps it, and a warning says so
    r = run_deffe("-config", "config.json", "-only-preloaded-data-exploration", "-full-exploration", "-no-train",
                  "-max-samples", "20", cwd=tmp_path)
    assert r.rc == 0 and len(membership(tmp_path)) == 20, r
    assert "warning: -full-exploration: -max-samples 20 explores 20 of the data's 60 points" in r.err, r


def test_a_dry_run_reports_the_data_as_the_run_uses_it(tmp_path):
    # -no-run said "60 rows read, 0 new in the store" and "step 0 proposed no pre-evaluated point"; the real
    # run stores 60 and explores 20
    grid_setup(tmp_path, pre_evaluated_data="all_data.csv")
    r = run_deffe("-config", "config.json", "-only-preloaded-data-exploration", "-max-samples", "20", "-no-run",
                  cwd=tmp_path)
    assert r.rc == 0, r
    assert "all_data.csv: 60 rows read, 60 new in the store" in r.err, r
    assert "proposed no pre-evaluated point" not in r.out and "20 points from the store (dry run" in r.out, r
    assert not (tmp_path / "explore").exists()
    r = run_deffe("-config", "config.json", "-only-preloaded-data-exploration", "-max-samples", "20", cwd=tmp_path)
    assert r.rc == 0 and "60 new in the store" in r.err and len(membership(tmp_path)) == 20, r


def test_a_data_file_with_only_its_header_is_said_to_have_no_rows(tmp_path):
    grid_setup(tmp_path)
    write(tmp_path / "hdr.csv", "a,b,t\n")
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "hdr.csv", "-only-preloaded-data-exploration",
                  cwd=tmp_path)
    line = assert_user_error(r, "hdr.csv: the file has no data rows, only its header")
    assert "check the data's columns" not in line


def test_the_data_file_is_parsed_once(tmp_path, monkeypatch):
    # the preflight parsed it and the run parsed it again: a file of millions of rows took twice as long
    import framework.driver_preload as driver
    parse = driver.load_csv

    def counted(path, *a, **k):
        with open(tmp_path / "parsed.txt", "a") as fh:
            fh.write(f"{path}\n")
        return parse(path, *a, **k)
    monkeypatch.setattr(driver, "load_csv", counted)
    grid_setup(tmp_path)
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "all_data.csv", "-only-preloaded-data-exploration",
                  "-no-train", cwd=tmp_path)
    assert r.rc == 0 and "60 rows read, 60 new in the store" in r.err, r
    assert (tmp_path / "parsed.txt").read_text().splitlines() == ["all_data.csv"]
