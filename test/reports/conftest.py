"""Two small real runs shared by the report tests (each made once per session: a run takes seconds):

* ``minimal_run``: test/config.json, Deffe's bare-minimal case: one cost, a scenario knob, 40 samples.
* ``two_cost_run``: two costs with units, a constraint, failures, knob values that are HTML, and two
  explorations (the reports' names get prefixes).

Each fixture returns the run directory with the reports built by ``run_deffe.py -report``.
"""
import json
import shutil

import pytest

from cli_helpers import ROOT, run_deffe, write

EVALUATE = '''
def evaluate(p):
    if p["a"] == 7 and p["b"] == 3:
        raise RuntimeError("boom")
    extra = {"<b>bold</b>": 0.0, "a&b": 0.3, 'q"uote': 0.6}[p["kind"]]
    return {"t": 0.001 * (p["a"] + 1) * (1 + extra), "m": 1e9 * (9 - p["a"]) * p["b"]}
'''
TWO_COSTS = {
    "python_path": ["."],
    "knobs": [{"name": "a", "values": "0-9"}, {"name": "b", "values": [1, 2, 3]},
              {"name": "kind", "values": ["<b>bold</b>", "a&b", 'q"uote']}],
    "costs": [{"name": "t", "unit": "s"}, {"name": "m", "unit": "B"}],
    "constraints": ["m <= 20e9"],
    "evaluate": {"plugin": "python", "function": "ev:evaluate"},
    "model": {"plugin": "sklearn_rf"},
    "exploration": {"plugin": "surrogate", "initial_samples": 12, "samples_per_step": 6, "max_samples": 24,
                    "explore": [{"name": "first"}, {"name": "second one"}]},
}


def _reports(run_dir):
    r = run_deffe("-report", run_dir, cwd=run_dir.parent)
    assert r.rc == 0, r
    return run_dir


@pytest.fixture(scope="session")
def minimal_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("minimal")
    for name in ("config.json", "evaluate.sh"):
        shutil.copy(ROOT / "test" / name, d / name)
    r = run_deffe("-config", "config.json", "-quiet", cwd=d)
    assert r.rc == 0, r
    return _reports(d / "explore")


@pytest.fixture(scope="session")
def two_cost_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("two_costs")
    write(d / "ev.py", EVALUATE)
    write(d / "config.json", json.dumps(TWO_COSTS))
    r = run_deffe("-config", "config.json", "-quiet", cwd=d)
    assert r.rc == 0, r
    return _reports(d / "explore")
