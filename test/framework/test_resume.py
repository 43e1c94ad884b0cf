"""A run killed with kill -9 resumes: nothing finished is evaluated again; -fresh moves the run aside."""
import json
import re
from collections import Counter

import pytest

from cli_helpers import assert_user_error, read_csv, run_deffe, write

EVALUATOR = '''
import os, signal

def evaluate(point):
    calls = os.path.join(os.environ["CALLS_DIR"], "calls.log")
    with open(calls, "a") as fh:
        fh.write(f"{point['a']},{point['b']}\\n")
    with open(calls) as fh:
        n = sum(1 for _ in fh)
    kill_at = int(os.environ.get("KILL_AT", "0"))
    # >= and a marker made once: two workers may both append before either counts (neither would see n == 20)
    if kill_at and n >= kill_at:
        try:
            os.close(os.open(os.path.join(os.environ["CALLS_DIR"], "killed"), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            pass
        else:
            os.kill(os.getppid(), signal.SIGKILL)   # the driver dies mid-run, like kill -9
    return {"c": point["a"] * 10 + point["b"]}
'''


def setup(tmp_path):
    write(tmp_path / "ev.py", EVALUATOR)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "a", "values": "0-8"}, {"name": "b", "values": "0-6"}],
        "costs": ["c"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "exploration": {"samples_per_step": 7},
        "model": {"plugin": "torch_mlp", "epochs": 50, "ensemble": 2},   # resuming is the subject, not the model
    }))


def test_kill_minus_nine_then_resume(tmp_path):
    setup(tmp_path)
    env = {"CALLS_DIR": str(tmp_path), "KILL_AT": "20"}
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path, env=env)
    assert r.rc == -9, r  # the driver was killed
    first = (tmp_path / "calls.log").read_text().splitlines()
    assert 20 <= len(first) < 48
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path, env={"CALLS_DIR": str(tmp_path)})
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 48 and all(row["status"] == "ok" for row in rows)
    assert all(float(row["c"]) == int(row["a"]) * 10 + int(row["b"]) for row in rows)
    calls = Counter((tmp_path / "calls.log").read_text().splitlines())
    assert len(calls) == 48
    repeated = [p for p, n in calls.items() if n > 1]
    # only evaluations in flight when the driver died may run twice (at most one per job)
    assert len(repeated) <= 2, repeated
    assert all(n <= 2 for n in calls.values())


def test_fresh_moves_the_old_run_aside(tmp_path):
    setup(tmp_path)
    env = {"CALLS_DIR": str(tmp_path)}
    assert run_deffe("-config", "config.json", cwd=tmp_path, env=env).rc == 0
    r = run_deffe("-config", "config.json", "-fresh", cwd=tmp_path, env=env)
    assert r.rc == 0, r
    assert (tmp_path / "explore.1" / "deffe.db").is_file()
    assert len(read_csv(tmp_path / "explore.1" / "deffe_evaluation.csv")) == 48
    assert "48 evaluated now" in r.out


def test_changed_costs_is_an_error_that_says_what_to_do(tmp_path):
    setup(tmp_path)
    assert run_deffe("-config", "config.json", cwd=tmp_path, env={"CALLS_DIR": str(tmp_path)}).rc == 0
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["costs"] = ["c", "d"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    r = run_deffe("-config", "config.json", cwd=tmp_path, env={"CALLS_DIR": str(tmp_path)})
    assert r.rc == 2 and "different costs" in r.err and "-fresh" in r.err, r
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 48  # nothing lost


def test_no_duplicate_evaluations_across_explorations(tmp_path):
    setup(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["knobs"][1]["groups"] = "g"
    cfg["knobs"][0]["groups"] = "g"
    cfg["exploration"]["explore"] = [{"name": "one", "groups": "g"},
                                     {"name": "two", "groups": "a, b::0;1;2"}]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    r = run_deffe("-config", "config.json", cwd=tmp_path, env={"CALLS_DIR": str(tmp_path)})
    assert r.rc == 0, r
    calls = Counter((tmp_path / "calls.log").read_text().splitlines())
    assert len(calls) == 48 and max(calls.values()) == 1
    two = read_csv(tmp_path / "explore" / "two-deffe_evaluation.csv")
    assert len(two) == 24 and {int(r["b"]) for r in two} == {0, 1, 2}
    assert "24 from the store" in r.out


def small(directory, **framework):
    write(directory / "ev.py", "def evaluate(p):\n    return {'c': p['a'] * 10 + p['b']}\n")
    write(directory / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-3"}, {"name": "b", "values": [0, 1]}],
        "costs": ["c"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "exploration": {"samples_per_step": 4, "max_samples": 4}, "model": {"plugin": None}, "framework": framework}))


@pytest.mark.parametrize("run_directory", [".", ".."])
def test_fresh_never_moves_the_project_it_runs_in(tmp_path, run_directory):
    project = tmp_path / "project"
    small(project, run_directory=run_directory)
    # before any run there is nothing to move, and -fresh ran; only the second one said it cannot work
    first = run_deffe("-config", "config.json", "-fresh", cwd=project)
    assert_user_error(first, "error: config.json:framework.run_directory: the run directory",
                      "the working directory", "-fresh would move it aside")
    assert sorted(p.name for p in project.iterdir()) == ["config.json", "ev.py"]   # nothing written
    assert run_deffe("-config", "config.json", cwd=project).rc == 0
    r = run_deffe("-config", "config.json", "-fresh", cwd=project)
    assert_user_error(r, "error: config.json:framework.run_directory: the run directory", "the working directory",
                      "-fresh would move it aside")
    assert (project / "config.json").is_file() and (project / "ev.py").is_file()
    assert not list(tmp_path.glob("*.1")) and not list(project.glob("*.1"))


def test_fresh_never_moves_away_a_python_path_folder(tmp_path):
    # the user's plugins in run/plugins went aside with the old run (explore.1/plugins): the next run said
    # only "plugin not found"
    small(tmp_path, run_directory="explore")
    data = json.loads((tmp_path / "config.json").read_text())
    data["python_path"] = [".", "explore/plugins"]
    write(tmp_path / "config.json", json.dumps(data))
    write(tmp_path / "explore" / "plugins" / "helper.py", "X = 1\n")
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    r = run_deffe("-config", "config.json", "-fresh", cwd=tmp_path)
    assert_user_error(r, "error: config.json:python_path[1]: the run directory", "holds a python_path folder",
                      "-fresh would move it aside", "copy the folder out of it first")
    assert (tmp_path / "explore" / "plugins" / "helper.py").is_file() and not list(tmp_path.glob("*.1"))


def test_fresh_never_moves_away_the_data_it_reads(tmp_path):
    small(tmp_path)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "explore/deffe_evaluation.csv",
                  "-only-preloaded-data-exploration", "-fresh", cwd=tmp_path)
    assert_user_error(r, "error: -pre-evaluated-data: the run directory explore holds the -pre-evaluated-data file")
    assert not (tmp_path / "explore.1").exists() and len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 4


def test_an_empty_run_store_is_started_anew_only_when_nothing_else_is_there(tmp_path):
    small(tmp_path)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    (tmp_path / "explore" / "deffe.db").write_bytes(b"")   # cut short by a full disk
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert_user_error(r, "deffe.db: the run store is empty (0 bytes", "-fresh")
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 4   # the tables still hold the results
    alone = tmp_path / "alone"
    small(alone)
    write(alone / "explore" / "deffe.db", "")
    r = run_deffe("-config", "config.json", cwd=alone)
    assert r.rc == 0 and "the run store was empty (0 bytes)" in r.err and "4 evaluated now" in r.out, r


def test_a_deleted_run_store_beside_a_run_s_tables_is_refused_and_fresh_moves_them(tmp_path):
    """A deffe.db deleted (or not copied with its tables) is as an empty one: one line, nothing evaluated or
    written over; -fresh moves the old run directory aside."""
    small(tmp_path)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    run_dir = tmp_path / "explore"
    for name in ("deffe.db", "deffe.db-wal", "deffe.db-shm"):
        (run_dir / name).unlink(missing_ok=True)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert_user_error(r, "deffe.db: the run store is missing", "deffe_evaluation.csv", "-fresh")
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before
    r = run_deffe("-config", "config.json", "-fresh", cwd=tmp_path)
    assert r.rc == 0 and "4 evaluated now" in r.out, r
    assert (tmp_path / "explore.1" / "deffe_evaluation.csv").read_bytes() == before["deffe_evaluation.csv"]


def test_a_run_store_that_is_a_directory_is_named_so(tmp_path):
    small(tmp_path)
    (tmp_path / "explore" / "deffe.db").mkdir(parents=True)
    line = assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path),
                             "deffe.db is a directory, not a run store")
    assert "free space" not in line


def test_someone_elses_sqlite_database_is_not_taken_for_a_run_store(tmp_path):
    # a run added its tables to it; a dry run printed a traceback
    import sqlite3
    small(tmp_path)
    db_path = tmp_path / "explore" / "deffe.db"
    db_path.parent.mkdir()
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE results(x)")
    db.commit()
    db.close()
    before = db_path.read_bytes()
    for flags in (("-no-run",), ()):
        assert_user_error(run_deffe("-config", "config.json", *flags, cwd=tmp_path),
                          "deffe.db: not a run store of run_deffe.py but another SQLite database (its tables: results)",
                          "-fresh")
    assert db_path.read_bytes() == before


def _statuses(tmp_path):
    import sqlite3
    db = sqlite3.connect(tmp_path / "explore" / "deffe.db")
    try:
        return dict(db.execute("SELECT status, COUNT(*) FROM samples GROUP BY status").fetchall()), \
            [r[0] for r in db.execute("SELECT id FROM samples ORDER BY id")]
    finally:
        db.close()


def test_asynchronous_resume_evaluates_the_points_in_flight(tmp_path):
    # an asynchronous course depends on the order results arrive: a resumed run may never ask again for the
    # points in flight when the driver died; they were left 'running' in the store for good, and every later
    # run said they "are evaluated again"
    setup(tmp_path)
    env = {"CALLS_DIR": str(tmp_path), "KILL_AT": "12"}
    cmd = ("-config", "config.json", "-jobs", "2", "-async", "-max-samples", "24")
    assert run_deffe(*cmd, cwd=tmp_path, env=env).rc == -9
    left, _ = _statuses(tmp_path)
    assert left.get("running", 0) >= 1, left
    r = run_deffe(*cmd, cwd=tmp_path, env={"CALLS_DIR": str(tmp_path)})
    assert r.rc == 0, r
    assert "in flight when the last run stopped" in r.err and "are evaluated first" in r.err, r
    statuses, _ = _statuses(tmp_path)
    assert set(statuses) == {"ok"}, statuses
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 24 and all(row["status"] == "ok" for row in rows)
    r = run_deffe(*cmd, cwd=tmp_path, env={"CALLS_DIR": str(tmp_path)})
    assert r.rc == 0 and "in flight" not in r.err, r


def test_points_in_flight_not_asked_again_leave_the_store(tmp_path):
    # resumed with a smaller budget, the run does not reach the points in flight when the driver died: they
    # leave the store at its end (never evaluated), so that later runs do not announce them again; their ids
    # are not given to new points (an id names a sample's directory and its SLURM job)
    setup(tmp_path)
    env = {"CALLS_DIR": str(tmp_path), "KILL_AT": "20"}
    assert run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path, env=env).rc == -9
    left, ids = _statuses(tmp_path)
    assert left.get("running", 0) >= 1, left
    r = run_deffe("-config", "config.json", "-jobs", "2", "-max-samples", "14", cwd=tmp_path,
                  env={"CALLS_DIR": str(tmp_path)})
    assert r.rc == 0, r
    assert "removed from the run store" in r.err, r
    statuses, after = _statuses(tmp_path)
    assert "running" not in statuses, statuses
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path, env={"CALLS_DIR": str(tmp_path)})
    assert r.rc == 0 and "in flight" not in r.err, r
    statuses, final = _statuses(tmp_path)
    assert set(statuses) == {"ok"}, statuses
    assert min(set(final) - set(after)) > max(ids)   # new points got new ids


def test_a_rerun_with_a_smaller_budget_writes_every_table_as_a_fresh_run_does(tmp_path):
    """Run with -max-samples 40, then again with 20: deffe_evaluation.csv followed the shorter course, but
    deffe_prediction.csv kept the 40-sample run's predictions (30 rows against a fresh run's 10) and
    deffe_output.csv listed 20 points as only predicted that the longer run had evaluated."""
    write(tmp_path / "prob.py", 'def f(p):\n    x, y = float(p["x"]), float(p["y"])\n'
          '    c = {"red": 0, "green": 1, "blue": 2}[p["c"]]\n'
          '    return {"f1": (x - 2) ** 2 + 0.5 * y + c, "g": x + y - c}\n')
    for run in ("again", "fresh"):
        write(tmp_path / f"{run}.json", json.dumps({
            "python_path": ["."],
            "knobs": [{"name": "x", "values": [3, 0, 4, 1, 2]}, {"name": "y", "values": "0-5"},
                      {"name": "c", "values": ["red", "green", "blue"]}],
            "costs": ["f1", "g::max"],
            "evaluate": {"plugin": "python", "function": "prob:f"},
            "model": {"plugin": "sklearn_rf", "estimators": 20},
            "exploration": {"samples_per_step": 10, "confirm": 2, "analysis": False},
            "framework": {"run_directory": run, "seed": 1, "report_files": False}}))
    for args in (("again", "40"), ("again", "20"), ("fresh", "20")):
        r = run_deffe("-config", f"{args[0]}.json", "-quiet", "-max-samples", args[1], cwd=tmp_path)
        assert r.rc == 0, r

    def points(run, table):
        return sorted((row["x"], row["y"], row["c"], row.get("source")) for row in read_csv(tmp_path / run / table))
    assert len(points("again", "deffe_evaluation.csv")) == 20
    for table in ("deffe_evaluation.csv", "deffe_prediction.csv", "deffe_output.csv"):
        assert points("again", table) == points("fresh", table), table
    assert {row["source"] for row in read_csv(tmp_path / "again" / "deffe_output.csv")} == {"evaluated"}


def _again_and_fresh(tmp_path, estimators, per_step):
    """Two configs alike but for their run directories, again/ and fresh/, over a 10 x 10 two-cost problem."""
    write(tmp_path / "prob.py", 'def f(p):\n    x, y = float(p["x"]), float(p["y"])\n'
          '    return {"f1": (x - 2) ** 2 + 0.5 * y, "g": x + y}\n')
    for run in ("again", "fresh"):
        write(tmp_path / f"{run}.json", json.dumps({
            "python_path": ["."],
            "knobs": [{"name": "x", "values": "0-9"}, {"name": "y", "values": "0-9"}],
            "costs": ["f1", "g::max"],
            "evaluate": {"plugin": "python", "function": "prob:f"},
            "model": {"plugin": "sklearn_rf", "estimators": estimators},
            "exploration": {"samples_per_step": per_step, "analysis": False},
            "framework": {"run_directory": run, "seed": 1, "report_files": False}}))


def test_a_rerun_with_a_smaller_budget_keeps_no_record_of_the_longer_runs_later_steps(tmp_path):
    """Run with -max-samples 40 (steps 0-4), then again with 20 (steps 0-2): the store kept the 40-sample run's
    records of steps 3 and 4 (their best, their hypervolume), which the report's progress plot drew as this
    run's."""
    from framework.run_data import load_run
    _again_and_fresh(tmp_path, estimators=10, per_step=10)
    for run, budget in (("again", "40"), ("again", "20"), ("fresh", "20")):
        assert run_deffe("-config", f"{run}.json", "-quiet", "-max-samples", budget, cwd=tmp_path).rc == 0

    def steps(run):
        data = load_run(tmp_path / run)
        return [(s["step"], s.get("hypervolume")) for s in next(iter(data.explores.values())).steps]
    assert [s for s, _ in steps("again")] == [s for s, _ in steps("fresh")]
    assert steps("again") == steps("fresh")
    # model_metrics.csv too: it listed steps 0-4 of the abandoned course
    metric_steps = lambda run: sorted({int(r["step"]) for r in read_csv(tmp_path / run / "model_metrics.csv")})
    assert metric_steps("again") == metric_steps("fresh") == [s for s, _ in steps("fresh")]


def test_a_rerun_with_a_smaller_step_end_writes_the_tables_of_a_fresh_run(tmp_path):
    """-step-end 4, then -step-end 2 in the same run directory: the tables kept the longer course (32 rows, model
    steps 0-3) where a fresh run of the same command writes 16 rows and steps 0-1 (Deffe's -step-end: stop
    after this step). A part of a split run (-step-start 2 -step-end 4) still continues the first part."""
    _again_and_fresh(tmp_path, estimators=5, per_step=8)
    for run, end in (("again", "4"), ("again", "2"), ("fresh", "2")):
        assert run_deffe("-config", f"{run}.json", "-quiet", "-step-end", end, cwd=tmp_path).rc == 0

    def tables(run):
        rows = {t: len(read_csv(tmp_path / run / t)) for t in ("deffe_evaluation.csv", "deffe_prediction.csv",
                                                                "deffe_output.csv")}
        return rows, sorted({int(r["step"]) for r in read_csv(tmp_path / run / "model_metrics.csv")})
    assert tables("again") == tables("fresh")
    assert tables("fresh")[0]["deffe_evaluation.csv"] == 16 and tables("fresh")[1] == [0, 1]
    # the split run's second part (steps 0-1 from the store, trained as in a rerun) continues the first
    r = run_deffe("-config", "fresh.json", "-step-start", "2", "-step-end", "4", cwd=tmp_path)
    told = re.search(r"(\d+) evaluated now, (\d+) from the store", r.out)
    assert r.rc == 0 and told and int(told[1]) > 0 and int(told[2]) > 0, r
    assert tables("fresh")[0]["deffe_evaluation.csv"] == int(told[1]) + int(told[2])
    assert tables("fresh")[1] == [0, 1, 2, 3]


def _range_config(tmp_path, name, costs, run_directory="explore"):
    write(tmp_path / name, json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "a", "values": "0-10"}, {"name": "b", "values": "0-10"}],
        "costs": costs, "evaluate": {"plugin": "python", "function": "rng:evaluate"},
        "exploration": {"initial_samples": 6, "samples_per_step": 6, "max_samples": 12},
        "framework": {"seed": 4, "progress": False, "run_directory": run_directory}}))


def test_a_cost_range_changed_before_a_rerun_judges_the_stored_results_again(tmp_path):
    """A valid range (costs[].max) added before a rerun makes the stored measurements outside it failed, as
    a fresh run of the same config marks them; widening it again makes them ok again (the store keeps the
    measurement aside)."""
    write(tmp_path / "rng.py", 'def evaluate(p):\n    return {"t": (p["a"] - 5) ** 2 + (p["b"] - 2) ** 2, '
                               '"m": p["a"] + p["b"]}\n')
    _range_config(tmp_path, "c1.json", ["t", "m"])
    _range_config(tmp_path, "c2.json", [{"name": "t", "max": 10}, "m"])
    _range_config(tmp_path, "fresh.json", [{"name": "t", "max": 10}, "m"], run_directory="fresh")
    assert run_deffe("-config", "c1.json", "-no-train", cwd=tmp_path).rc == 0
    wide = (tmp_path / "explore" / "deffe_evaluation.csv").read_text()
    r = run_deffe("-config", "c2.json", "-no-train", cwd=tmp_path)
    assert r.rc == 0, r
    assert "0 evaluated now" in r.out
    assert run_deffe("-config", "fresh.json", "-no-train", cwd=tmp_path).rc == 0
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert any(row["status"] == "failed" for row in rows)
    assert not any(row["status"] == "ok" and float(row["t"]) > 10 for row in rows)
    for table in ("deffe_evaluation.csv", "deffe_exploration.csv"):
        assert (tmp_path / "explore" / table).read_text() == (tmp_path / "fresh" / table).read_text(), table
    r = run_deffe("-config", "c1.json", "-no-train", cwd=tmp_path)   # the range taken away: ok again
    assert r.rc == 0, r
    assert "0 evaluated now" in r.out and "0 failed" in r.out
    assert (tmp_path / "explore" / "deffe_evaluation.csv").read_text() == wide
    _range_config(tmp_path, "fresh_wide.json", ["t", "m"], run_directory="fresh")   # failed when evaluated
    assert run_deffe("-config", "fresh_wide.json", "-no-train", cwd=tmp_path).rc == 0
    assert (tmp_path / "fresh" / "deffe_evaluation.csv").read_text() == wide


def _guided_configs(tmp_path, names) -> None:
    """A config per name (its run directory that name) of a small model-guided run: 40 points of a bowl over
    three knobs, steps of 10, seed 4."""
    write(tmp_path / "ev3.py", 'def evaluate(p):\n    return {"t": (p["a"] - 5) ** 2 + (p["b"] - 2) ** 2 + '
                               '0.5 * p["c"], "m": p["a"] + p["b"]}\n')
    for name in names:
        write(tmp_path / f"{name}.json", json.dumps({
            "python_path": ["."],
            "knobs": [{"name": k, "values": "0-10"} for k in "abc"],
            "costs": ["t", "m"], "evaluate": {"plugin": "python", "function": "ev3:evaluate"},
            "model": {"plugin": "torch_mlp", "epochs": 30, "ensemble": 2},
            "exploration": {"initial_samples": 10, "samples_per_step": 10, "max_samples": 40, "analysis": False},
            "framework": {"seed": 4, "progress": False, "run_directory": name, "report_files": False}}))


def test_a_rerun_on_another_course_lists_its_own_predictions(tmp_path):
    """A finished run rerun with another -seed (or a raised budget) takes another course: deffe_prediction.csv
    is that course's model's, as a fresh run's, not the earlier course's predictions (other values and steps,
    points the new course took from its sampler)."""
    _guided_configs(tmp_path, ("rerun", "fresh"))
    assert run_deffe("-config", "fresh.json", "-seed", "5", cwd=tmp_path).rc == 0
    assert run_deffe("-config", "rerun.json", cwd=tmp_path).rc == 0
    first = (tmp_path / "rerun" / "deffe_prediction.csv").read_text()
    r = run_deffe("-config", "rerun.json", "-seed", "5", cwd=tmp_path)
    assert r.rc == 0, r
    for table in ("deffe_evaluation.csv", "deffe_prediction.csv", "deffe_output.csv"):
        assert (tmp_path / "rerun" / table).read_text() == (tmp_path / "fresh" / table).read_text(), table
    assert first != (tmp_path / "fresh" / "deffe_prediction.csv").read_text()   # the courses differ


def test_step_start_after_step_end_continues_as_the_uninterrupted_run(tmp_path):
    """-step-end 2, then -step-start 2: the second part replays steps 0-1 from the store with their model (as
    a plain rerun does), so step 1's model-guided points stay in the course; the tables are the uninterrupted
    run's. (It replayed them without a model: step 1's points left the course, 20 new ones were evaluated.)"""
    _guided_configs(tmp_path, ("whole", "split"))
    assert run_deffe("-config", "whole.json", cwd=tmp_path).rc == 0
    assert run_deffe("-config", "split.json", "-step-end", "2", cwd=tmp_path).rc == 0
    r = run_deffe("-config", "split.json", "-step-start", "2", cwd=tmp_path)
    assert r.rc == 0 and "20 evaluated now, 20 from the store" in r.out, r
    for table in ("deffe_evaluation.csv", "deffe_exploration.csv", "deffe_prediction.csv", "deffe_output.csv"):
        assert (tmp_path / "split" / table).read_text() == (tmp_path / "whole" / table).read_text(), table


def test_a_widened_cost_range_makes_a_pre_evaluated_row_it_failed_ok_again(tmp_path):
    small(tmp_path)
    write(tmp_path / "pre.csv", "a,b,c\n0,1,50\n1,1,11\n")
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["costs"] = [{"name": "c", "max": 10}]
    write(tmp_path / "config.json", json.dumps(cfg))
    status = lambda: {(r["a"], r["b"]): (r["c"], r["status"]) for r in
                      read_csv(tmp_path / "explore" / "deffe_evaluation.csv")}
    assert run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", cwd=tmp_path).rc == 0
    assert status()[("0", "1")] == ("", "failed")
    cfg["costs"] = ["c"]
    write(tmp_path / "config.json", json.dumps(cfg))
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", cwd=tmp_path)
    assert r.rc == 0 and "0 evaluated now" in r.out, r
    assert status()[("0", "1")] == ("50", "ok")
