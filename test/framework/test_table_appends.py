"""Per-step bookkeeping does not grow with the samples already stored: a step that only adds rows appends
them to the tables (three whole CSVs were rewritten after every step), and the step's tables reuse the read
of the store its progress record made (two full reads per step). The tables stay byte for byte what a
full rewrite writes."""
import math

import framework.tables as tables
from framework.protocols import Result
from framework.store import RunStore
from helpers import framework_for

CONFIG = {"knobs": [{"name": "a", "values": [1, 2, 3, 4, 5, 6]}, {"name": "b", "values": ["x", "y,z", 'q"r']}],
          "costs": ["t", "m"], "evaluate": {"plugin": "python", "function": "x:y"}}


def _step(store, explore, step, points):
    ids = []
    for a, b in points:
        sid = store.start(f"{a}|{b}", explore.name, {"a": a, "b": b}, step)
        cost = {"t": a * 0.5, "m": math.nan if a == 3 else 10 ** a}
        store.finish(sid, Result("failed" if a == 3 else "ok", cost))
        ids.append(sid)
    store.link(explore.name, ids, step)


def _bytes(run_dir):
    return {p.name: p.read_bytes() for p in sorted(run_dir.glob("deffe_*.csv"))}


def test_steps_append_rows_and_the_tables_equal_a_full_rewrite(tmp_path, monkeypatch):
    fw = framework_for(tmp_path / "cfg", CONFIG)
    explore = fw.config.explores[0]
    store = RunStore(tmp_path / "deffe.db")
    rewrites, reads = [], []
    real_write = tables.write_csv
    monkeypatch.setattr(tables, "write_csv", lambda path, *a, **k: (rewrites.append(path.name),
                                                                    real_write(path, *a, **k)))
    # every query of the exploration's members (a full read of the store)
    store.db.set_trace_callback(lambda sql: reads.append(sql) if "FROM membership m JOIN samples" in sql else None)
    points = [(a, b) for a in range(1, 7) for b in ["x", "y,z", 'q"r']]
    for step in range(6):
        _step(store, explore, step, points[3 * step:3 * step + 3])
        before = len(reads)
        store.explore_samples(explore.name)            # the step's progress record reads the store ...
        tables.write_tables(store, tmp_path / "run", explore, ["t", "m"], False)   # ... its tables reuse it
        assert len(reads) == before + 1
    assert sorted(rewrites) == ["deffe_evaluation.csv", "deffe_output.csv", "deffe_prediction.csv"]   # once
    appended = _bytes(tmp_path / "run")
    assert appended["deffe_evaluation.csv"].count(b"\n") == 19
    # a fresh store object (as the next run) rewrites every table whole: the same bytes
    fresh = RunStore(tmp_path / "deffe.db")
    tables.write_tables(fresh, tmp_path / "full", explore, ["t", "m"], False)
    assert _bytes(tmp_path / "full") == appended
    assert len(rewrites) == 6


def test_a_changed_row_or_file_rewrites_the_table(tmp_path):
    fw = framework_for(tmp_path / "cfg", CONFIG)
    explore = fw.config.explores[0]
    store = RunStore(tmp_path / "deffe.db")
    _step(store, explore, 0, [(1, "x"), (2, "x")])
    paths = tables.write_tables(store, tmp_path / "run", explore, ["t", "m"], False)
    first_id = store.explore_samples(explore.name)[0][1].id
    store.finish(first_id, Result("ok", {"t": 9.0, "m": 9.0}))   # an earlier row changes
    tables.write_tables(store, tmp_path / "run", explore, ["t", "m"], False)
    assert paths["evaluation"].read_text().splitlines()[1] == "1,x,9,9,ok"
    paths["evaluation"].write_text("edited by hand\n")            # the file is not as the run left it
    _step(store, explore, 1, [(4, "x")])
    tables.write_tables(store, tmp_path / "run", explore, ["t", "m"], False)
    assert paths["evaluation"].read_text().splitlines()[0] == "a,b,t,m,status"
    assert len(paths["evaluation"].read_text().splitlines()) == 4
