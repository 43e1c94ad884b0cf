"""The Python API (framework.explore / load_run / Run / Model): the command line's runs, in a process that
stays as it was."""
import json
import logging
import math
import os
import shutil
import sys
from pathlib import Path

import commentjson
import numpy as np
import pandas as pd
import pytest

import framework
from cli_helpers import ROOT, run_deffe
from framework.errors import DeffeError

MINIMAL = ROOT / "test" / "config.json"


def minimal_dict() -> dict:
    """test/config.json as a dict, its files named by absolute paths (it is used from other directories)."""
    cfg = commentjson.loads(MINIMAL.read_text())
    cfg["python_path"] = [str(ROOT / "test")]
    cfg["evaluate"]["script"] = str(ROOT / "test" / "evaluate.sh")
    return cfg


def minimal_copy(where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "evaluate.sh"):
        shutil.copy(ROOT / "test" / name, where / name)
    return where / "config.json"


LEARNABLE = '''
def evaluate(point):
    a, b = float(point["a"]), float(point["b"])
    return {"cost": 10.0 + 2.0 * a + 0.5 * b * b}
'''


def learnable_dict(tmp_path: Path) -> dict:
    (tmp_path / "learnable_cost.py").write_text(LEARNABLE)
    return {"python_path": ["."],
            "knobs": [{"name": "a", "values": "0-8"}, {"name": "b", "values": [0, 1, 2, 3, 4, 5]}],
            "costs": [{"name": "cost", "unit": "s"}],
            "evaluate": {"plugin": "python", "function": "learnable_cost:evaluate"},
            "exploration": {"samples_per_step": 24, "max_samples": 24},
            "model": {"plugin": "sklearn_gp", "train_test_split": 1.0},
            "framework": {"run_directory": "explore", "seed": 3}}


def test_explore_from_a_dict_gives_the_runs_tables(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = framework.explore(minimal_dict(), run_dir=tmp_path / "r", max_samples=10, no_train=True)
    assert run.run_dir == tmp_path / "r" and run.costs == ["exec_time"]
    ev = run.evaluations
    assert list(ev.columns) == ["param1", "param2", "size", "exec_time", "status"] and len(ev) == 10
    assert (ev["exec_time"] == ev["param1"] * ev["param2"] * ev["size"]).all()
    assert not run.front.empty and list(run.explores) == ["application1_explore"]
    assert run.explores["application1_explore"].evaluations is ev
    assert run.model is None   # -no-train: no checkpoint
    assert sorted(os.listdir(tmp_path)) == ["r"]   # the dict left no file behind
    # the manifest keeps the dict's text: the run rebuilds its config without any file
    assert json.loads(run.data.config_text)["costs"] == ["exec_time"]


def test_costs_of_whole_numbers_come_back_as_floats(tmp_path, monkeypatch):
    """docs/api.md: costs are floats (NaN for none), even when every value is a whole number (the tables
    write 12, not 12.0): a user's arithmetic or NaN assignment on them must not meet int64."""
    monkeypatch.chdir(tmp_path)
    run = framework.explore(minimal_dict(), run_dir=tmp_path / "r", max_samples=6, no_train=True)
    assert (run.evaluations["exec_time"] % 1 == 0).all()   # whole numbers, as the table writes them
    for table in (run.evaluations, run.front, framework.load_run(run.run_dir).evaluations):
        assert table["exec_time"].dtype == np.float64


def test_relative_names_of_a_dict_resolve_against_base_dir(tmp_path, monkeypatch):
    minimal_copy(tmp_path / "proj")
    monkeypatch.chdir(tmp_path)
    cfg = commentjson.loads(MINIMAL.read_text())   # evaluate.sh, python_path ".", run_directory "explore"
    run = framework.explore(cfg, base_dir=tmp_path / "proj", max_samples=4, no_train=True)
    assert run.run_dir == tmp_path / "proj" / "explore" and len(run.evaluations) == 4
    assert (run.evaluations["status"] == "ok").all()


def test_explore_from_a_path_resumes_and_load_run_reads_it_back(tmp_path, monkeypatch):
    config = minimal_copy(tmp_path)
    monkeypatch.chdir(tmp_path)
    first = framework.explore(str(config), max_samples=6, no_train=True)
    assert first.run_dir == tmp_path / "explore" and len(first.evaluations) == 6
    again = framework.explore(config, max_samples=6, no_train=True)   # resumed: the same rows
    pd.testing.assert_frame_equal(again.evaluations, first.evaluations)
    loaded = framework.load_run(tmp_path / "explore")
    pd.testing.assert_frame_equal(loaded.front, first.front)
    assert "exec_time" in repr(loaded)


def test_api_and_command_line_write_the_same_tables(tmp_path):
    cli_dir, api_dir = tmp_path / "cli", tmp_path / "api"
    minimal_copy(cli_dir)
    config = minimal_copy(api_dir)
    r = run_deffe("-config", "config.json", "-max-samples", "12", "-seed", "5", cwd=cli_dir)
    assert r.rc == 0, r
    run = framework.explore(config, run_dir=api_dir / "explore", max_samples=12, seed=5)
    tables = sorted(p.name for p in (cli_dir / "explore").glob("*.csv"))
    assert "deffe_evaluation.csv" in tables and "deffe_exploration.csv" in tables
    for name in tables:
        if name == "model_metrics.csv":   # holds the training's seconds
            continue
        assert (api_dir / "explore" / name).read_text() == (cli_dir / "explore" / name).read_text(), name
    cli_metrics = pd.read_csv(cli_dir / "explore" / "model_metrics.csv")
    assert list(run.model_metrics.columns) == list(cli_metrics.columns)
    assert run.model_metrics["mape_percent"].tolist() == cli_metrics["mape_percent"].tolist()


def test_model_predicts_the_evaluated_costs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = framework.explore(learnable_dict(tmp_path))
    ev = run.evaluations
    assert len(ev) == 24 and (ev["status"] == "ok").all()
    model = run.model
    assert model is run.model and model.knobs == ["a", "b"] and model.costs == ["cost"]
    # knob columns by name (another order, extra columns ignored); the result has them in knob order
    points = ev[["status", "b", "cost", "a"]].copy()
    pred = model.predict(points)
    assert list(pred.columns[:2]) == ["a", "b"] and "predicted-cost" in pred and "std-cost" in pred
    assert list(pred.index) == list(points.index)
    got, truth = pred["predicted-cost"].to_numpy(), ev["cost"].to_numpy()
    assert np.isfinite(got).all() and np.allclose(got, truth, rtol=0.05)
    unseen = model.predict(pd.DataFrame({"a": [4], "b": [2]}))["predicted-cost"].iloc[0]
    assert math.isfinite(unseen) and abs(unseen - 20.0) / 20.0 < 0.25
    assert model.predict(pd.DataFrame({"a": [], "b": []})).empty
    # one design as a dict of values (pandas refused a dict of scalars) or as a row of the table (read as a
    # table of columns 'a', 'b', ...: "no column for knobs a, b")
    one = model.predict({"a": 4, "b": 2})
    assert len(one) == 1 and math.isclose(one["predicted-cost"].iloc[0], unseen, rel_tol=1e-8)
    row = model.predict(ev.iloc[3])
    assert list(row.index) == [ev.index[3]]
    assert math.isclose(row["predicted-cost"].iloc[0], pred["predicted-cost"].iloc[3], rel_tol=1e-8)
    # read back from the run directory alone (the dict's text is in the manifest): the same predictions
    loaded = framework.load_run(run.run_dir).model
    assert loaded is not model and loaded.config.path.name == "<config dict>"
    pd.testing.assert_frame_equal(loaded.predict(points), pred)


def test_a_loaded_run_predicts_with_the_config_it_ran_with(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "learnable.json"
    config.write_text(json.dumps(learnable_dict(tmp_path)))
    first = framework.explore(config, max_samples=12).model.predict(pd.DataFrame({"a": [1, 7], "b": [5, 0]}))
    # the file changes afterwards (a knob renamed): the run keeps the text it ran with
    config.write_text(config.read_text().replace('"b"', '"beta"'))
    run = framework.load_run(tmp_path / "explore")
    assert run.model.knobs == ["a", "b"]
    pd.testing.assert_frame_equal(run.model.predict(pd.DataFrame({"a": [1, 7], "b": [5, 0]})), first)


def test_a_missing_knob_or_a_bad_value_names_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = framework.explore(learnable_dict(tmp_path), max_samples=12).model
    with pytest.raises(DeffeError, match=r"predict\(\):columns: no column for knob b"):
        model.predict(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(DeffeError, match=r"predict\(\):row 1: .*99"):
        model.predict(pd.DataFrame({"a": [1, 99], "b": [1, 1]}))
    twice = pd.DataFrame([[1, 2, "x", "y"]], columns=["a", "b", "note", "note"])   # other columns: ignored
    assert list(model.predict(twice).columns[:3]) == ["a", "b", "predicted-cost"]


def test_numpy_values_in_a_config_dict_are_lists_and_numbers(tmp_path, monkeypatch):
    # np.arange(...) as a knob's values was "ValueError: can only convert an array of size 1"
    monkeypatch.chdir(tmp_path)
    cfg = learnable_dict(tmp_path)
    cfg["knobs"] = [{"name": "a", "values": np.arange(0, 4)}, {"name": "b", "values": np.array([1.5, 2.5])}]
    cfg["exploration"] = {"samples_per_step": np.int64(8), "max_samples": np.int64(8)}
    cfg["model"] = {"plugin": None}
    run = framework.explore(cfg)
    assert len(run.evaluations) == 8
    assert sorted(set(run.evaluations["a"])) == [0, 1, 2, 3] and sorted(set(run.evaluations["b"])) == [1.5, 2.5]


def test_predict_names_what_it_takes(tmp_path, monkeypatch):
    # a text was "ValueError: DataFrame constructor not properly called!"
    monkeypatch.chdir(tmp_path)
    model = framework.explore(learnable_dict(tmp_path), max_samples=12).model
    for bad in ("a=1", 3, None):
        with pytest.raises(DeffeError, match=r"^predict\(\): the points are a DataFrame with a column per knob, .*, not "):
            model.predict(bad)
    assert len(model.predict([{"a": 1, "b": 2}, {"a": 2, "b": 3}])) == 2


def test_a_model_plugin_predicting_the_wrong_thing_is_named(tmp_path, monkeypatch):
    """Where no driver checks its answers (the Python API, -inference-only), a model's Prediction of the wrong
    shape was a numpy IndexError deep in predict()."""
    import numpy as np
    from framework.protocols import Prediction
    monkeypatch.chdir(tmp_path)
    model = framework.explore(learnable_dict(tmp_path), max_samples=12).model
    model.predict([{"a": 1, "b": 2}])   # loads the plugin
    monkeypatch.setattr(model.plugin, "Predict", lambda codes: Prediction(np.zeros((len(codes) + 3, 1))))
    with pytest.raises(DeffeError, match=r"model\.plugin: ml_model plugin '.+': Predict\(\) returned .*mean"):
        model.predict([{"a": 1, "b": 2}])


def test_seed_decides_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = [framework.explore(minimal_dict(), run_dir=tmp_path / name, seed=seed, max_samples=8, no_train=True)
            for name, seed in (("a", 1), ("b", 1), ("c", 2))]
    pd.testing.assert_frame_equal(runs[0].evaluations, runs[1].evaluations)
    assert not runs[0].evaluations.equals(runs[2].evaluations)


def test_bad_input_is_a_deffe_error_not_an_exit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = minimal_dict()
    bad["knobs"][0]["values"] = "5-1"
    with pytest.raises(DeffeError, match=r"^<config dict>:knobs\[0\]"):
        framework.explore(bad, run_dir=tmp_path / "r")
    with pytest.raises(DeffeError, match="file not found"):
        framework.explore(tmp_path / "nothing.json")
    with pytest.raises(DeffeError, match="did you mean 'epochs'"):
        framework.explore(minimal_dict(), epoch=3)
    with pytest.raises(DeffeError, match="must be at least 1"):
        framework.explore(minimal_dict(), run_dir=tmp_path / "r", max_samples=0)
    with pytest.raises(DeffeError, match="not an option"):
        framework.explore(minimal_dict(), no_run=True)   # a dry run makes no run to return
    with pytest.raises(DeffeError, match=r"'report' is not an option of explore\(\); framework.load_run"):
        framework.explore(minimal_dict(), report=tmp_path / "r")   # rebuilt reports, printed, ran nothing
    with pytest.raises(DeffeError, match="not a run directory"):
        framework.load_run(tmp_path)
    # arguments of the wrong type were a TypeError from deep inside (Path(5))
    with pytest.raises(DeffeError, match=r"^explore\(\): run_dir is a directory's path \(a str or a Path\), not int 5"):
        framework.explore(minimal_dict(), run_dir=5)
    for bad in (None, 5):
        with pytest.raises(DeffeError, match=r"^load_run\(\): run_dir is a directory's path"):
            framework.load_run(bad)
    assert not (tmp_path / "r" / "deffe.db").exists()


def _process_state():
    from threadpoolctl import threadpool_info
    deffe = logging.getLogger("deffe")
    return {"cwd": os.getcwd(), "root": list(logging.getLogger().handlers),
            "deffe": (list(deffe.handlers), deffe.level, deffe.propagate),
            "env": dict(os.environ), "sys.path": list(sys.path),
            "pools": {p["filepath"]: p["num_threads"] for p in threadpool_info()}}


def _same_process(before: dict) -> None:
    """The process as it was; a thread pool the run loaded is checked apart (see the test below)."""
    now = _process_state()
    now["pools"] = {k: v for k, v in now["pools"].items() if k in before["pools"]}
    assert now == before


def test_calls_leave_the_process_as_it_was(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")   # what a user set; the run limits it to -jobs meanwhile
    monkeypatch.delenv("DEFFE_DIR", raising=False)   # the run sets it for its config's $VARS: it stayed set
    before = _process_state()
    one = framework.explore(minimal_dict(), run_dir=tmp_path / "one", max_samples=5, no_train=True, jobs=2)
    _same_process(before)
    two = framework.explore(minimal_dict(), run_dir=tmp_path / "two", max_samples=3, no_train=True)
    _same_process(before)
    # each run logged into its own file only, and holds none open
    assert len(one.evaluations) == 5 and len(two.evaluations) == 3
    log_one = (tmp_path / "one" / "deffe.log").read_text()
    assert str(tmp_path / "two") not in log_one and "exploration 'application1_explore'" in log_one
    opened = [h for h in logging.getLogger("deffe").handlers if isinstance(h, logging.FileHandler)]
    assert not opened


USER_EVALUATE = ("class E:\n    def __init__(self, fw): pass\n    def Initialize(self): pass\n"
                 "    def Run(self, sample): return {'t': sample.values['a'] * FACTOR}\n"
                 "def GetObject(fw): return E(fw)\n")


def test_a_user_plugin_edited_between_calls_is_loaded_afresh(tmp_path, monkeypatch):
    """A notebook editing its evaluate plugin between two explore() calls: the second ran the old code (the
    module stayed cached) and the config's directory stayed on the import path."""
    monkeypatch.chdir(tmp_path)
    cfg = {"python_path": ["."], "knobs": [{"name": "a", "values": [1, 2, 3]}], "costs": ["t"],
           "evaluate": {"plugin": "my_eval"}, "model": {"plugin": None},
           "exploration": {"plugin": "sampling", "samples_per_step": 3},
           "framework": {"progress": False, "report_files": False}}
    path, modules = list(sys.path), set(sys.modules)
    for factor, run in ((10, "r1"), (1000, "r2")):
        (tmp_path / "my_eval.py").write_text(USER_EVALUATE.replace("FACTOR", str(factor)))
        os.utime(tmp_path / "my_eval.py", (1_000_000 + factor, 1_000_000 + factor))   # same size: the time
        result = framework.explore(cfg, run_dir=tmp_path / run, base_dir=tmp_path)
        assert sorted(result.evaluations["t"]) == [factor, 2 * factor, 3 * factor]
        assert sys.path == path
        assert not [m for m in set(sys.modules) - modules if "my_eval" in m]


POOLS_AFTER = """
import json, sys
from threadpoolctl import threadpool_info
if sys.argv[1] == "explore":
    import framework
    framework.explore(json.loads(sys.argv[2]), run_dir=sys.argv[3], jobs=1, max_samples=6)
else:
    import scipy.linalg, sklearn.ensemble   # what the run loads, loaded outside any run
print(json.dumps(sorted((p["internal_api"], p["num_threads"]) for p in threadpool_info())))
"""


def test_libraries_loaded_during_a_call_do_not_keep_its_thread_limit(tmp_path):
    # scipy's OpenBLAS and scikit-learn's OpenMP, first loaded by the run under its limit (jobs=1), kept one
    # thread after explore() returned; a process that loaded them itself has one per processor
    import subprocess
    import sys
    cfg = learnable_dict(tmp_path)
    cfg["model"] = {"plugin": "sklearn_rf"}
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["PYTHONPATH"] = str(ROOT)

    def pools(*argv):
        r = subprocess.run([sys.executable, "-c", POOLS_AFTER, *argv], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout.strip().splitlines()[-1])
    after = pools("explore", json.dumps(cfg), str(tmp_path / "r"))
    assert after == pools("fresh"), after
    assert {n for _, n in after} == {os.cpu_count()}


def test_errors_suggest_explore_keywords_not_command_line_flags(tmp_path, monkeypatch):
    # "run with -fresh to start over": a notebook has no command line to add -fresh to
    monkeypatch.chdir(tmp_path)
    cfg = minimal_dict()
    framework.explore(cfg, run_dir=tmp_path / "r", max_samples=4, no_train=True)
    cfg["extract"]["cost_output"] = "other.out"   # the extract settings changed since the stored run
    with pytest.raises(DeffeError) as e:
        framework.explore(cfg, run_dir=tmp_path / "r", max_samples=4, no_train=True)
    text = str(e.value)
    assert "run with fresh=True to start over" in text and "or keep_results=True if" in text, text
    assert " -fresh" not in text and "-keep-results" not in text, text
    cfg["extract"]["cost_output"] = "results.out"
    again = framework.explore(cfg, run_dir=tmp_path / "r", max_samples=4, no_train=True, fresh=True)
    assert len(again.evaluations) == 4


def test_a_loaded_run_needs_none_of_the_files_its_config_included(tmp_path, monkeypatch):
    # load_run(...).config and .model read the included file from the disk: moved, "included file 'base.json'
    # not found"; edited since, the run's own checkpoint was refused as not fitting the config
    monkeypatch.chdir(tmp_path)
    cfg = learnable_dict(tmp_path)
    (tmp_path / "base.json").write_text(json.dumps({"knobs": cfg.pop("knobs"), "costs": cfg.pop("costs")}))
    cfg["include"] = "base.json"
    cfg["model"] = {"plugin": "sklearn_rf"}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    framework.explore(tmp_path / "cfg.json")
    (tmp_path / "base.json").rename(tmp_path / "moved.json")
    run = framework.load_run(tmp_path / "explore")
    assert [k.name for k in run.config.explores[0].space.knobs] == ["a", "b"]
    assert len(run.model.predict(run.evaluations)) == 24
    (tmp_path / "base.json").write_text((tmp_path / "moved.json").read_text().replace('"0-8"', '"0-3"'))
    again = framework.load_run(tmp_path / "explore")
    assert len(again.config.explores[0].space.knobs[0].levels) == 8   # as the run had it: 0-8, its end excluded
    assert len(again.model.predict(again.evaluations)) == 24


def test_a_dask_run_puts_back_the_levels_of_dasks_loggers(tmp_path, monkeypatch):
    # the Dask executor silences Dask's loggers until the process ends (a local cluster logs about the workers it
    # stops after the run's last line): a notebook that goes on with Dask got none of its messages any more
    monkeypatch.chdir(tmp_path)
    names = ("distributed", "distributed.client", "dask")
    for name in names:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.INFO)
    cfg = learnable_dict(tmp_path)
    cfg["model"] = {"plugin": None}
    cfg["framework"].update(executor="dask", dask={"workers": 1})
    run = framework.explore(cfg, max_samples=4)
    assert len(run.evaluations) == 4
    assert [logging.getLogger(n).level for n in names] == [logging.INFO] * 3
