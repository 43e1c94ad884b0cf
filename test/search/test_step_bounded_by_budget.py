"""Options that size a step (batch, k, population, ...) are bounded: a step draws no more points than the
budget has left, and an absurd size is refused in one line. batch 5,000,000 with max_samples 12 took
138 s and 3.2 GB; batch 2**62 crashed with "Maximum allowed dimension exceeded"; annealing k 2,000,000
ran for minutes."""
from __future__ import annotations

import json

import numpy as np
import pytest

from framework.search import make, minimize
from framework.space import ArithLevels, DesignSpace, Knob
from cli_helpers import assert_user_error, read_csv, run_deffe


def space() -> DesignSpace:
    return DesignSpace([Knob("x", "integer", ArithLevels(0, 1, 21, True)),
                        Knob("w", "integer", ArithLevels(0, 1, 21, True)),
                        Knob("y", "real", None, low=-5.0, high=5.0)])


def f(codes):
    codes = np.atleast_2d(codes)
    return ((codes[:, 0] - 7) ** 2 + (codes[:, 1] - 3) ** 2 + codes[:, 2] ** 2)[:, None]


@pytest.mark.parametrize("name,options", [("random", {"batch": 100_000}), ("annealing", {"k": 100_000}),
                                          ("hill_climbing", {"batch": 100_000, "initial_size": 100_000}),
                                          ("map_elites", {"batch": 100_000, "initial_size": 100_000,
                                                          "sequence": ["x", "w"]})])
def test_a_step_draws_no_more_than_the_budget_has_left(monkeypatch, name, options):
    drawn = []
    real = DesignSpace.random

    def spy(self, rng, n):
        drawn.append(n)
        return real(self, rng, n)

    monkeypatch.setattr(DesignSpace, "random", spy)
    result = minimize(make(name, space(), seed=1, **options), f, 12)
    assert result.evaluations == 12
    assert max(drawn) <= 2 * 12, max(drawn)          # fresh_random draws twice what it needs


CONFIG = {"python_path": ["."], "costs": ["f"], "model": {"plugin": None},
          "knobs": [{"name": "x", "type": "integer", "min": 0, "max": 20},
                    {"name": "y", "type": "real", "min": -5, "max": 5}],
          "evaluate": {"plugin": "python", "function": "funcs:f"},
          "framework": {"seed": 1, "progress": False}}


def run(tmp_path, plugin, options):
    (tmp_path / "funcs.py").write_text("def f(p):\n    return {'f': (p['x'] - 7) ** 2 + p['y'] ** 2}\n")
    config = dict(CONFIG, exploration={"plugin": plugin, "max_samples": 12, "options": options})
    (tmp_path / "config.json").write_text(json.dumps(config))
    return run_deffe("-config", "config.json", "-no-train", "-jobs", "1", cwd=tmp_path)


@pytest.mark.parametrize("plugin,option,value", [("random_search", "batch", 5_000_000),
                                                 ("random_search", "batch", 2 ** 62),
                                                 ("annealing", "k", 2_000_000),
                                                 ("genetic", "population", 10 ** 9)])
def test_an_absurd_step_size_is_refused_in_one_line(tmp_path, plugin, option, value):
    line = assert_user_error(run(tmp_path, plugin, {option: value}),
                             f"config.json:exploration.options.{option}: must be at most 100,000")
    assert "smaller" in line


def test_the_bound_is_in_the_options_table():
    from framework.docs import search_options
    table = search_options()
    assert table.count("at most 100,000") >= 7


def test_a_large_batch_within_the_bound_spends_the_budget(tmp_path):
    r = run(tmp_path, "random_search", {"batch": 100_000})
    assert r.rc == 0, r
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 12


def test_annealing_proposes_no_more_than_the_budget_has_left(monkeypatch):
    import framework.search.annealing as annealing
    rows = []
    real = annealing.random_neighbour

    def spy(space, codes, *args, **kwargs):
        rows.append(len(codes))
        return real(space, codes, *args, **kwargs)

    monkeypatch.setattr(annealing, "random_neighbour", spy)
    result = minimize(make("annealing", space(), seed=1, k=100_000), f, 12)
    assert result.evaluations == 12
    assert rows and max(rows) <= 12, max(rows)     # was 100,000 rows per step
