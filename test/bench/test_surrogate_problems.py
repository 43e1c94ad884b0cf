"""The surrogate benchmark's problems build at tiny size, hold distinct points, and split disjointly."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.append(str(REPO / "bench"))   # after the repository: bench/simulator.py must not shadow simulator/

import surrogate_problems as sp  # noqa: E402

SIMULATED = [n for n, p in sp.PROBLEMS.items() if p.kind == "simulated"]
REAL = [n for n, p in sp.PROBLEMS.items() if p.kind == "real"]


def test_the_suite_differs_in_kind():
    probs = list(sp.PROBLEMS.values())
    assert len(SIMULATED) >= 6 and set(REAL) == {"real_kmeans", "real_matmul"}
    assert {p.settings.get("cost_model") for p in probs if p.kind == "simulated"} == {"paleo", "roofline"}
    knobs = {k["name"] for p in probs for k in p.knobs}
    assert {"micro_batches", "replicas", "precision", "memory_cap_gb"} <= knobs
    assert {len(p.family["values"]) for p in probs if p.kind == "simulated"} >= {4, 8, 16}
    assert any(p.devices.startswith("2x(") for p in probs)   # a multi-node cluster


@pytest.mark.parametrize("name", SIMULATED)
def test_simulated_problem_is_distinct_and_splits_disjointly(name, tmp_path):
    problem = dataclasses.replace(sp.PROBLEMS[name], size=60)
    codes, y, dropped, drawn = sp.generate(problem)
    assert codes.shape == (60, len(problem.knob_names())) and np.all(np.isfinite(y)) and np.all(y > 0)
    keys = problem.canonical(codes)
    assert len(np.unique(keys, axis=0)) == len(keys)          # distinct, also up to renaming GPUs
    order = np.random.default_rng(0).permutation(len(y))
    assert sp.split(problem, codes, order[:12], order[12:])
    assert not sp.split(problem, codes, order[:12], order[11:])
    # the framework builds the problem's space and features from its knobs
    fw = sp.framework_for(problem, "sklearn_rf", tmp_path)
    assert fw.encoding.transform(codes.astype(float)).shape[0] == len(codes)


def test_exchangeable_problems_are_symmetric():
    """Where a problem declares its GPUs exchangeable, renaming them leaves the cost unchanged."""
    rng = np.random.default_rng(1)
    for name in SIMULATED:
        problem = dataclasses.replace(sp.PROBLEMS[name], size=20)
        if not problem.exchangeable:
            continue
        codes, y, _, _ = sp.generate(problem)
        pos = problem._family_positions()
        g = len(problem.family["values"])
        perm = np.array([rng.permutation(g) for _ in range(len(codes))])
        renamed = codes.copy()
        renamed[:, pos] = np.take_along_axis(perm, codes[:, pos], axis=1)
        assert np.allclose(sp.costs(problem, renamed), y, rtol=1e-9), name
        assert (problem.canonical(renamed) == problem.canonical(codes)).all()


@pytest.mark.parametrize("name", REAL)
def test_real_table_loads(name):
    problem = sp.PROBLEMS[name]
    if not (sp.REAL / problem.csv).exists():
        pytest.skip("bench/data/deffe-real is not there")
    codes, y, _ = sp.dataset(problem)
    assert len(np.unique(codes, axis=0)) == len(codes) == {"real_kmeans": 40, "real_matmul": 20}[name]
    assert np.all(y > 0)
