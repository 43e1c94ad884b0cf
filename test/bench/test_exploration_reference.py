"""The exploration benchmark's reference search: the surrogate exploration with the simulator as its model.

Its best is part of the benchmark's "best known" and its speed says how far the search alone gets, so the
plugin must answer exactly what the simulator computes, and the search with it must beat its own initial
design on a budget where a perfect model leaves no excuse.
"""
from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
import types
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.append(str(REPO / "bench"))   # after the repository: bench/simulator.py must not shadow simulator/
sys.path.append(str(REPO / "bench" / "reference"))

import simulator_as_model  # noqa: E402
from exploration_methods import surrogate_config  # noqa: E402
from exploration_problems import Problem  # noqa: E402

PROBLEM = "vgg16_2node_dp"   # the fastest to simulate (0.1 ms a point)


def test_the_plugin_predicts_what_the_simulator_computes():
    fw = types.SimpleNamespace(section=lambda name: {"options": {"problem": PROBLEM}})
    model = simulator_as_model.GetObject(fw)
    model.Initialize()
    p = Problem(PROBLEM)
    codes = p.random_codes(np.random.default_rng(3), 200)
    raw, mem, ok = p.evaluate(codes)
    pred = model.Predict(codes.astype(float))
    assert pred.mean.shape == (200, 2)
    fits = np.isfinite(raw)
    assert fits.any() and (mem > 1).any()              # both kinds of point are in the sample
    np.testing.assert_allclose(pred.mean[fits, 0], raw[fits], rtol=1e-12)
    np.testing.assert_allclose(pred.mean[:, 1], np.where(np.isfinite(mem), mem, 10.0), rtol=1e-12)


def test_the_search_with_a_perfect_model_beats_its_initial_design(tmp_path):
    config = surrogate_config(Problem(PROBLEM), seed=1, budget=40, oracle=True)
    config["exploration"].update(initial_samples=10, candidates=1500)
    (tmp_path / "config.json").write_text(json.dumps(config))
    proc = subprocess.run([sys.executable, str(REPO / "framework" / "run_deffe.py"), "-config", "config.json",
                           "-quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    db = sqlite3.connect(tmp_path / "run" / "deffe.db")
    rows = db.execute("SELECT s.status, json_extract(s.costs, '$.step_time'), json_extract(s.costs, '$.memory_use') "
                      "FROM membership m JOIN samples s ON s.id = m.sample ORDER BY m.seq").fetchall()
    db.close()
    assert len(rows) == 40
    t = np.array([v if st == "ok" and v is not None and m <= 1 else math.inf for st, v, m in rows])
    initial, guided = t[:10].min(), t[10:].min()
    assert math.isfinite(guided) and guided < 0.9 * initial, (initial, guided)
