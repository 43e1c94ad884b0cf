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


def test_1f1b_on_devices_holding_several_stages_does_not_depend_on_their_names():
    """GPT-2 on 8 exchangeable A100s, 1f1b, 16 micro-batches: when the 1F1B rules stalled every device, the
    device of the lowest index got one more micro-batch, so renaming the GPUs changed the step time by up to
    27% (0.2585 s against 0.3156 s); the stalled device is now chosen by its most urgent task."""
    problem = sp.PROBLEMS["gpt2_pipeline_8gpu"]
    pairs = [([2, 5, 5, 2, 6, 6, 6, 1, 6, 7, 7, 7, 4, 4, 4, 1, 1], [7, 0, 0, 7, 1, 1, 1, 2, 1, 6, 6, 6, 5, 5, 4, 1, 1]),
             ([5, 7, 2, 3, 3, 7, 7, 1, 4, 4, 7, 7, 0, 4, 3, 1, 1], [2, 6, 1, 4, 4, 6, 6, 0, 7, 7, 6, 6, 5, 7, 3, 1, 1]),
             ([1, 5, 1, 5, 3, 7, 2, 6, 3, 7, 7, 5, 2, 4, 4, 1, 1], [0, 6, 0, 6, 5, 2, 3, 7, 5, 2, 2, 6, 3, 4, 4, 1, 1])]
    codes = np.array([c for pair in pairs for c in pair])
    assert (problem.canonical(codes[0::2]) == problem.canonical(codes[1::2])).all()   # renamings indeed
    y = sp.costs(problem, codes)
    assert np.allclose(y[0::2], y[1::2], rtol=1e-9), y
