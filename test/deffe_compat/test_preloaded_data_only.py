"""Deffe's experiments on pre-evaluated data (its README: `-only-preloaded-data-exploration
-full-exploration` on config_kmeans.json, a cluster config with "slurm": "True" and a scenario range of
1,000 object counts, of which the table holds a few) run here as they ran there."""
import json
import sqlite3

from cli_helpers import run_deffe, write

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
