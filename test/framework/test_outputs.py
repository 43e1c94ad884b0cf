"""What a run leaves for people: the printed front, knob importance for every cost, and its tables."""
import json
import re

import numpy as np

from cli_helpers import read_csv, run_deffe, write
from framework.config import Cost
from framework.report import front_text
from framework.space import DesignSpace, Knob, ListLevels

EVALUATOR = '''
def evaluate(p):
    devices = [p[f"device_{i}"] for i in range(6)]
    time = (1.0 + max(devices.count(d) for d in set(devices))) / p["micro_batches"] * (1.3 if p["schedule"] == "gpipe" else 1.0)
    return {"step_time": time * 1e-3, "peak_memory": 1e9 * (len(set(devices)) + p["micro_batches"]), "ops": 512}
'''


def placement_like(tmp_path):
    write(tmp_path / "ev.py", EVALUATOR)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "device", "values": [1, 2, 3, 4], "count": 6, "type": "categorical"},
                  {"name": "micro_batches", "values": [1, 2, 4, 8]}, {"name": "schedule", "values": ["gpipe", "1f1b"]}],
        "costs": [{"name": "step_time", "unit": "s"}, {"name": "peak_memory", "unit": "B"}, "ops"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "torch_mlp", "epochs": 60, "ensemble": 2},
        "exploration": {"initial_samples": 16, "samples_per_step": 8, "max_samples": 32,
                        "objectives": ["step_time", "peak_memory"]},
        "framework": {"seed": 2}}))


def test_the_printed_front_shows_every_knob_that_differs_with_units(tmp_path):
    placement_like(tmp_path)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    front = r.out[r.out.index("front (step_time, peak_memory):"):]
    designs = [ln for ln in front.split("knobs that matter")[0].splitlines()
               if not re.fullmatch(r"\s*\.\.\. \d+ more in the table", ln)]   # a long front lists the rest
    assert designs and not any("..." in ln for ln in designs)        # no design's knobs cut off
    assert "micro_batches=" in front and "device=[" in front
    assert " ms" in front and " GB" in front                         # 0.00025 s and 3e9 B, for people


def test_knob_importance_is_given_for_every_cost(tmp_path):
    placement_like(tmp_path)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    tail = r.out[r.out.index("knobs that matter"):]
    assert "\n  step_time: " in tail and "\n  peak_memory: " in tail, r
    text = (tmp_path / "explore" / "knob_importance.txt").read_text()
    assert "knob importance for step_time" in text and "knob importance for peak_memory" in text
    assert (tmp_path / "explore" / "knob_importance_lasso_peak_memory.png").is_file()


def test_tables_have_predictions_with_their_spread_unix_lines_and_whole_numbers(tmp_path):
    placement_like(tmp_path)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    explore = tmp_path / "explore"
    pred = read_csv(explore / "deffe_prediction.csv")
    assert len(pred) >= 8                                             # the batches the model saw coming
    assert {"predicted-step_time", "std-step_time", "std-peak_memory"} <= set(pred[0])
    assert all(float(row["std-step_time"]) >= 0 for row in pred)
    for name in ("deffe_evaluation.csv", "deffe_prediction.csv", "deffe_output.csv", "deffe_exploration.csv",
                 "model_metrics.csv"):
        assert b"\r\n" not in (explore / name).read_bytes(), name
    rows = read_csv(explore / "deffe_evaluation.csv")
    assert {row["ops"] for row in rows} == {"512"}                    # not 512.0
    front = read_csv(explore / "deffe_exploration.csv")                # the result table too (it wrote 512.0)
    assert front and {row["ops"] for row in front if row["source"] == "evaluated"} == {"512"}
    out = read_csv(explore / "deffe_output.csv")
    assert len(out) == len(rows) == 32                                # predicted points that were evaluated: once


def test_front_text_puts_what_differs_first_and_shows_repeated_knobs_as_one_list():
    space = DesignSpace([Knob(f"device_{i}", "categorical", ListLevels([0, 1]), family="device", member=i)
                         for i in range(3)] + [Knob("micro_batches", "ordinal", ListLevels([1, 8])),
                                               Knob("precision", "categorical", ListLevels(["fp16", "fp32"]))])
    costs = [Cost("step_time", unit="s"), Cost("peak_memory", unit="B")]
    rows = [[0, 1, 1, 8, "fp16", 0.0123, 6.5e9, np.nan, np.nan, "evaluated", 1],
            [0, 0, 1, 1, "fp16", np.nan, np.nan, 0.031, 2.1e9, "predicted", 2]]
    text = front_text(rows, space, costs)
    assert text.splitlines() == [
        "  every design below has precision=fp16",
        "    1. step_time=12.3 ms, peak_memory=6.5 GB",
        "       device=[0 1 1], micro_batches=8",
        "    2. step_time~31 ms (predicted), peak_memory~2.1 GB (predicted)",
        "       device=[0 0 1], micro_batches=1"]


TABLES_EVALUATOR = '''
import math
def evaluate(p):
    if p["a"] == 3 and p["mode"] == "x, y":
        raise RuntimeError("fails")
    cost = p["a"] * p["r"] + (0.5 if p["mode"] == 'say "hi"' else 0)
    return {"cost": cost, "whole": 512.0 * p["a"], "nan": math.nan if p["a"] == 2 else p["r"]}
'''


def test_the_tables_written_at_each_step_are_unchanged(tmp_path, monkeypatch):
    """Each step rewrote every table from three full reads of the store, decoding every row (4000 samples:
    86 of 133 s). Now rows are read once a step and decoded and formatted once: the bytes of every table at
    every step are those of the old code (its digest, pinned)."""
    import hashlib
    import shutil
    import framework.tables as tables
    write(tmp_path / "ev.py", TABLES_EVALUATOR)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "a", "values": [1, 2, 3, 4]}, {"name": "r", "type": "real", "min": 0.1, "max": 2},
                  {"name": "mode", "values": ["x, y", 'say "hi"', "plain"]}],
        "scenarios": [{"name": "size", "values": [8, 16]}],
        "costs": ["cost", "whole", "nan"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 7, "max_samples": 40, "analysis": False},
        "framework": {"seed": 3, "progress": False, "report_files": False}}))
    snaps = tmp_path / "snaps"
    snaps.mkdir()
    original = tables._write_rows   # every write of a table, whole or appended

    def snapshot(store, path, *a, **k):
        original(store, path, *a, **k)
        shutil.copy(path, snaps / f"{len(list(snaps.iterdir())):04d}-{path.name}")
    monkeypatch.setattr(tables, "_write_rows", snapshot)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    h = hashlib.sha256()
    for p in sorted(snaps.iterdir()):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    assert len(list(snaps.iterdir())) > 6 * 3
    assert h.hexdigest()[:16] == "2995ffe8ee17cb05", h.hexdigest()[:16]


def test_inference_output_is_written_as_before(tmp_path, monkeypatch):
    """The output is formatted and written a chunk of rows at a time from numpy arrays (a 1,000,000-row file
    took 2.3 GB, every cell held as a string in one list): the same bytes (digest of the file the code before
    the chunks wrote, whole-number costs written as such)."""
    import hashlib
    from types import SimpleNamespace
    import numpy as np
    import framework.inference as inference
    from helpers import framework_for
    fw = framework_for(tmp_path, {"knobs": [
        {"name": "a", "values": [1, 2, 4, 8]}, {"name": "s", "values": ["x, y", 'say "hi"', "plain"]},
        {"name": "r", "type": "real", "min": 0.1, "max": 2}, {"name": "g", "type": "integer", "min": 1, "max": 1024,
                                                               "log": True},
        {"name": "f", "values": [0.5, 1.25, 3]}],
        "costs": ["c1", "c2"], "evaluate": {"plugin": "python", "function": "x:y"}})
    space = fw.space
    rng = np.random.default_rng(5)
    codes = space.random(rng, 23)
    mean = rng.normal(size=(23, 2)) * 100
    mean[3, 0] = np.nan
    truth = np.round(rng.normal(size=(23, 2)) * 100, 2)
    truth[::5, 0] = 0.0
    truth[::4, 1] = np.nan
    pred = SimpleNamespace(mean=mean, std=np.abs(rng.normal(size=(23, 2))), feasible=rng.random(23))
    monkeypatch.setattr(inference, "OUTPUT_CHUNK", 5, raising=False)   # several chunks
    out = tmp_path / "out.csv"
    inference.write_output(out, space, ["c1", "c2"], codes, pred, truth, [True, False], True)
    assert hashlib.sha256(out.read_bytes()).hexdigest()[:16] == "0f394f17912c13bf", out.read_text()
