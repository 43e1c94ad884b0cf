"""The run directory read is the run: ``-report RUN_DIR`` and ``framework.load_run(RUN_DIR)`` on a copy, on the
directory -fresh moved aside, on a hand-edited manifest or a store that is not one, on a run stopped mid-step."""
import json
import shutil
import sqlite3
import warnings

import pandas as pd
import pytest

import framework
from cli_helpers import assert_user_error, run_deffe, write
from framework.errors import DeffeError
from framework.reports.content import counts, explorations
from framework.run_data import load_run

EVALUATE = '''
def evaluate(p):
    t, u = int(p["tile"]), int(p["unroll"])
    return {"time": 1e-3 * (1 + 0.05 * (t - 24) ** 2 / 24 + 4.0 / u + 0.1 * u)}
'''


def config(max_samples: int, seed: int = 1) -> str:
    return json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "tile", "values": "8-65"}, {"name": "unroll", "values": [1, 2, 4, 8, 16]}],
        "costs": [{"name": "time", "unit": "s"}],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "sklearn_rf"},
        "exploration": {"samples_per_step": 10, "max_samples": max_samples},
        "framework": {"run_directory": "run", "seed": seed}})


def _run(d, max_samples, *flags, seed=1):
    write(d / "cfg.json", config(max_samples, seed))
    r = run_deffe("-config", "cfg.json", "-quiet", *flags, cwd=d)
    assert r.rc == 0, r


def _evaluated(run_dir) -> int:
    """The number of evaluations the HTML report's summary shows."""
    html = (run_dir / "deffe_report.html").read_text()
    cell = html.split("<td>explore_0</td>", 1)[1]
    return int(cell.split(">", 1)[1].split("<", 1)[0])


def _quiet_load(run_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a run as it was written: nothing to warn of
        return framework.load_run(run_dir)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("small")
    write(d / "ev.py", EVALUATE)
    _run(d, 20)
    return d / "run"


def _copy(run_dir, where):
    return shutil.copytree(run_dir, where)


def test_a_copy_and_a_run_moved_aside_read_their_own_tables_and_model(tmp_path):
    """The manifest held absolute paths: a copy read the original's tables and checkpoint once the original
    went on, and the directory -fresh moved aside read the new run's."""
    write(tmp_path / "ev.py", EVALUATE)
    _run(tmp_path, 20)
    run = tmp_path / "run"
    copy = _copy(run, tmp_path / "run_copy")
    assert json.loads((copy / "deffe_run.json").read_text())["explores"][0]["tables"]["evaluation"] == \
        "deffe_evaluation.csv"
    # a run directory of an older version: absolute paths, those of the directory it was copied from
    old = _copy(run, tmp_path / "old_copy")
    m = json.loads((old / "deffe_run.json").read_text())
    m["explores"][0]["tables"] = {k: str(run / v) for k, v in m["explores"][0]["tables"].items()}
    (old / "deffe_run.json").write_text(json.dumps(m))
    _run(tmp_path, 30)   # the original goes on
    assert len(_quiet_load(run).evaluations) == 30
    for d in (copy, old):
        loaded = _quiet_load(d)
        assert len(loaded.evaluations) == 20
        assert all(p.parent == d for p in loaded.explores["explore_0"].files.values())
        assert loaded.model.checkpoint == d / "checkpoints" / "explore_0.ckpt"   # the store names the original's
        r = run_deffe("-report", d, cwd=tmp_path)
        assert r.rc == 0 and r.err == "", r
        assert _evaluated(d) == 20
    _run(tmp_path, 12, "-fresh", seed=7)   # the 30-evaluation run moves aside to run.1
    aside = tmp_path / "run.1"
    assert len(_quiet_load(run).evaluations) == 12
    loaded = _quiet_load(aside)
    assert len(loaded.evaluations) == 30 and loaded.model.checkpoint == aside / "checkpoints" / "explore_0.ckpt"
    assert run_deffe("-report", aside, cwd=tmp_path).rc == 0 and _evaluated(aside) == 30


@pytest.mark.parametrize("edit, where, what", [
    (lambda m: m["explores"][0].pop("name"), "explores[0]", "no 'name'"),
    (lambda m: m.update(costs="time"), "costs", "a list of costs, not str"),
    (lambda m: m["explores"][0].update(tables=None), "explores[0].tables", "not null"),
    (lambda m: m["explores"][0]["tables"].update(evaluation=123), "explores[0].tables.evaluation",
     "a table's file is a path (text), not int 123"),
    (lambda m: m["costs"][0].update(direction="down"), "costs[0].direction", "'min' or 'max'"),
    (lambda m: m.update(objectives=[1]), "objectives[0]", "a name (text)"),
    # a name that is no cost: the report counted every design as missing its constraints
    (lambda m: m.update(objectives=["zzz"]), "objectives[0]", "'zzz' is not one of the run's costs (time)"),
    (lambda m: m.update(constraints=["zzz <= 1"]), "constraints[0]", "'zzz <= 1' is not a constraint"),
])
def test_a_hand_edited_manifest_is_one_error_naming_the_place(small_run, tmp_path, edit, where, what):
    d = _copy(small_run, tmp_path / "run")
    m = json.loads((d / "deffe_run.json").read_text())
    edit(m)
    (d / "deffe_run.json").write_text(json.dumps(m))
    before = sorted(p.name for p in d.iterdir())
    r = run_deffe("-report", d, cwd=tmp_path)
    assert_user_error(r, f"{d / 'deffe_run.json'}:{where}: ", what, "rewrites deffe_run.json")
    with pytest.raises(DeffeError, match="deffe_run.json:" + where.replace("[", r"\[").replace("]", r"\]")):
        framework.load_run(d)
    assert sorted(p.name for p in d.iterdir()) == before


def _foreign(db):
    db.unlink()
    c = sqlite3.connect(db)
    c.execute("CREATE TABLE t(x)")
    c.commit()
    c.close()


def _no_steps(db):
    c = sqlite3.connect(db)
    c.execute("DROP TABLE steps")
    c.commit()
    c.close()


@pytest.mark.parametrize("damage, what", [
    (lambda db: db.write_bytes(b""), "the run store is empty (0 bytes"),
    (_foreign, "not a run store of run_deffe.py but another SQLite database (its tables: t)"),
    (_no_steps, "not a run store of run_deffe.py (no table steps)"),
])
def test_a_store_that_is_not_one_is_one_error_naming_it(small_run, tmp_path, damage, what):
    d = _copy(small_run, tmp_path / "run")
    damage(d / "deffe.db")
    r = run_deffe("-report", d, cwd=tmp_path)
    assert_user_error(r, f"{d / 'deffe.db'}: {what}", "-fresh")
    with pytest.raises(DeffeError, match="deffe.db: "):
        framework.load_run(d)


def test_evaluations_stored_after_the_tables_are_shown_and_said(small_run, tmp_path):
    """A run killed mid-step: the store held evaluations the tables (written at step ends) did not, and
    -report and load_run showed the tables' alone, saying nothing."""
    d = _copy(small_run, tmp_path / "run")
    full = pd.read_csv(d / "deffe_evaluation.csv")
    lines = (d / "deffe_evaluation.csv").read_text().splitlines(keepends=True)
    (d / "deffe_evaluation.csv").write_text("".join(lines[:11]))   # the table of the first step
    table = (d / "deffe_evaluation.csv").read_bytes()
    db = sqlite3.connect(d / "deffe.db")   # the 15th sample was in flight when the run was killed
    sid = db.execute("SELECT sample FROM membership ORDER BY seq LIMIT 1 OFFSET 14").fetchone()[0]
    db.execute("UPDATE samples SET status='running', costs=NULL WHERE id=?", (sid,))
    db.commit()
    db.close()
    r = run_deffe("-report", d, cwd=tmp_path)
    assert r.rc == 0, r
    said = [line for line in r.err.splitlines() if line.startswith("warning: ")]
    assert len(said) == 2, r.err
    assert "1 sample(s) of exploration 'explore_0' are marked running" in said[0]
    assert f"{d / 'deffe_evaluation.csv'}: 9 of the 19 evaluations in the run store are not in this table" \
        in said[1] and "running the command that made the run again resumes it" in said[1]
    assert _evaluated(d) == 19
    assert (d / "deffe_evaluation.csv").read_bytes() == table   # the run's own files are not rewritten
    with pytest.warns(UserWarning) as caught:
        loaded = framework.load_run(d)
    assert [str(w.message) for w in caught] == [line[len("warning: "):] for line in said]
    pd.testing.assert_frame_equal(loaded.evaluations, full.drop(index=14).reset_index(drop=True))


def test_a_table_without_its_status_column_counts_nothing_negative(small_run, tmp_path):
    """The summary counted '-20 constraint violated' (ok rows were counted from the missing column). Without
    the run store (which holds the statuses: see the next test) the statuses are guessed from the costs."""
    d = _copy(small_run, tmp_path / "run")
    (d / "deffe.db").unlink()
    ev = pd.read_csv(d / "deffe_evaluation.csv").drop(columns=["status"])
    ev["time"] = ev["time"].astype(object)
    ev.loc[3, "time"] = ""   # a row without its cost: a failure
    ev.to_csv(d / "deffe_evaluation.csv", index=False)
    r = run_deffe("-report", d, cwd=tmp_path)
    assert r.rc == 0 and "no 'status' column" in r.err, r
    n = counts(explorations(load_run(d))[0])
    assert n["evaluated"] == 20 and n["feasible"] == 19 and n["failed"] == 1
    assert n["constraint violated"] == 0 and min(n.values()) >= 0


def test_a_table_without_its_status_column_is_shown_from_the_store(small_run, tmp_path):
    """A table that lost its status column and had a cost made 'n/a' by hand: -report counted the edited row
    as failed (19 of 20 feasible where the store says 20 ok), and load_run gave no 'status' column, integer
    knobs as floats (2.0) and NaN for the stored cost; the comparison with the store was skipped."""
    d = _copy(small_run, tmp_path / "run")
    table = d / "deffe_evaluation.csv"
    measured = _quiet_load(d).evaluations
    edited = pd.read_csv(table, dtype=str, keep_default_na=False).drop(columns=["status"])
    edited.loc[1, "time"] = "n/a"
    edited.to_csv(table, index=False)
    r = run_deffe("-report", d, cwd=tmp_path)
    assert r.rc == 0, r
    said = [line for line in r.err.splitlines() if line.startswith("warning: ")]
    assert said == [f"warning: {table}: no 'status' column (edited?), and 1 of its 20 rows differ from the run "
                    "store (a cost edited by hand?): the store's values and statuses are shown; running the "
                    "command that made the run again rewrites the table"], r.err
    assert _evaluated(d) == 20
    n = counts(explorations(load_run(d))[0])
    assert n["feasible"] == 20 and n["failed"] == 0
    with pytest.warns(UserWarning, match="no 'status' column"):
        loaded = framework.load_run(d)
    pd.testing.assert_frame_equal(loaded.evaluations, measured)   # status, int knobs, the stored cost
    assert set(loaded.evaluations["status"]) == {"ok"}

def test_text_knob_values_that_pandas_calls_missing_come_back_as_written(tmp_path):
    # "NA" and "None" (an activation, a policy) were read back as NaN: load_run showed NaN, the workbook empty
    # cells, and run.model.predict(run.evaluations) refused "value 'nan' of 'act'"
    write(tmp_path / "ev.py", "def evaluate(p):\n"
                              "    return {'time': {'None': 1.0, 'NA': 1.5, 'relu': 0.7}[p['act']] * int(p['tile'])}\n")
    write(tmp_path / "cfg.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "tile", "values": "8-20"},
                                        {"name": "act", "values": ["None", "NA", "relu"]}],
        "costs": ["time"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "sklearn_rf"}, "exploration": {"samples_per_step": 12, "max_samples": 24},
        "framework": {"run_directory": "run"}}))
    assert run_deffe("-config", "cfg.json", "-quiet", cwd=tmp_path).rc == 0
    run = framework.load_run(tmp_path / "run")
    assert set(run.evaluations["act"]) == {"None", "NA", "relu"}
    assert set(run.front["act"]) <= {"None", "NA", "relu"} and not run.evaluations["time"].isna().any()
    assert len(run.model.predict(run.evaluations)) == 24


KILLS_ITS_DRIVER = '''
import os, signal, time

def evaluate(p):
    with open("calls.log", "a") as fh:
        fh.write("x")
    if os.path.getsize("calls.log") == 7:   # the 7th evaluation of the first step: the driver is killed
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(600)   # the worker dies with its driver
    return {"time": float(p["tile"]) * p["unroll"]}
'''


def test_a_run_killed_in_its_first_step_is_read_from_its_store(tmp_path):
    """-report and load_run on a run killed (or still going on) in its first step: 'deffe_run.json: not found
    ... written by an older version', though the store held its evaluations: the manifest was written at the
    first step's end only."""
    write(tmp_path / "ev.py", KILLS_ITS_DRIVER)
    cfg = json.loads(config(40))
    cfg["model"] = None
    cfg["exploration"] = {"initial_samples": 10, "samples_per_step": 10, "max_samples": 20}
    write(tmp_path / "config.json", json.dumps(cfg))
    r = run_deffe("-config", "config.json", "-jobs", "1", cwd=tmp_path)
    assert r.rc == -9, r
    d = tmp_path / "run"
    assert not (d / "deffe_evaluation.csv").exists()   # killed before any table
    r = run_deffe("-report", d, cwd=tmp_path)
    assert r.rc == 0, r
    assert "6 of the 6 evaluations in the run store are not in this table" in r.err, r.err
    with pytest.warns(UserWarning):
        loaded = framework.load_run(d)
    assert len(loaded.evaluations) == 6 and set(loaded.evaluations["status"]) == {"ok"}


def test_two_report_writers_at_once_each_write_whole_files(small_run, tmp_path, monkeypatch):
    """Two -report runs at once (or one beside the driver's end-of-run reports) wrote the same temporary names
    (report_front.png.tmp, ...): one writer's rename took the other's half-written file, and the other failed
    with 'cannot write report_front.png (No such file or directory); free some space'. Here a second writer
    runs whole in the middle of the first one's first picture, after its file was written, before its rename."""
    from matplotlib.figure import Figure
    from framework.reports import build_reports
    d = _copy(small_run, tmp_path / "run")
    savefig, inside = Figure.savefig, []

    def interleaved(fig, *args, **kwargs):
        savefig(fig, *args, **kwargs)
        if not inside:
            inside.append(True)
            build_reports(d, warn=lambda text: None)   # the second writer
    monkeypatch.setattr(Figure, "savefig", interleaved)
    paths = build_reports(d, warn=lambda text: None)
    assert inside and paths["html"].is_file() and paths["xlsx"].is_file()
    assert not [p.name for p in d.iterdir() if ".tmp" in p.name]


def test_costs_edited_by_hand_in_the_table_are_said_and_the_stores_are_shown(small_run, tmp_path):
    """A cost turned into text ('n/a', NaN in a row still 'ok') or into a better number (0.001) in
    deffe_evaluation.csv: -report and load_run showed them as the run's measurements, without a word."""
    d = _copy(small_run, tmp_path / "run")
    table = d / "deffe_evaluation.csv"
    measured = _quiet_load(d).evaluations
    edited = pd.read_csv(table, dtype=str, keep_default_na=False)
    edited.loc[0, "time"] = "n/a"
    edited.loc[1, "time"] = "0.001"
    edited.to_csv(table, index=False)
    r = run_deffe("-report", d, cwd=tmp_path)
    assert r.rc == 0, r
    said = [line for line in r.err.splitlines() if line.startswith("warning: ")]
    assert said == [f"warning: {table}: 2 of its 20 rows differ from the run store (a cost or status edited by "
                    "hand?): the store's values are shown; running the command that made the run again rewrites "
                    "the table"], r.err
    with pytest.warns(UserWarning, match="2 of its 20 rows differ from the run store"):
        loaded = framework.load_run(d)
    pd.testing.assert_frame_equal(loaded.evaluations, measured)
    # a table sorted in a spreadsheet is the same table: nothing to say
    pd.read_csv(small_run / "deffe_evaluation.csv", dtype=str, keep_default_na=False) \
        .sort_values("tile").to_csv(table, index=False)
    assert len(_quiet_load(d).evaluations) == 20


def test_costs_edited_by_hand_in_the_front_are_said_and_the_stores_are_shown(small_run, tmp_path):
    """The best designs (deffe_exploration.csv) hold the measured costs of their evaluated rows: a better
    number typed there was shown as the run's best design."""
    d = _copy(small_run, tmp_path / "run")
    table = d / "deffe_exploration.csv"
    measured = _quiet_load(d).front
    edited = pd.read_csv(table, dtype=str, keep_default_na=False)
    first = edited.index[edited["source"] == "evaluated"][0]
    edited.loc[first, "time"] = "1e-9"
    edited.to_csv(table, index=False)
    with pytest.warns(UserWarning) as caught:
        loaded = framework.load_run(d)
    assert [str(w.message) for w in caught] == [
        f"{table}: the costs of 1 of its evaluated designs differ from the run store (edited by hand?): the "
        "store's values are shown; running the command that made the run again rewrites the table"]
    assert loaded.front["time"].tolist() == pytest.approx(measured["time"].tolist(), rel=1e-12, nan_ok=True)
