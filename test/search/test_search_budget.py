"""How a search exploration ends: at custom_samples' last count, and, ending by itself before covering a
finite space, saying how much of it it evaluated."""
import json

import pytest

from cli_helpers import read_csv, run_deffe

EVALUATE = "def cost(p):\n    return {'cost': sum((x - 2.5) ** 2 for x in p.values())}\n"


def run(tmp_path, exploration, size):
    (tmp_path / "ev.py").write_text(EVALUATE)
    config = {"python_path": ["."], "knobs": [{"name": f"k{i}", "values": list(range(size))} for i in range(3)],
              "costs": ["cost"], "evaluate": {"plugin": "python", "function": "ev:cost"}, "model": {"plugin": None},
              "exploration": {"analysis": False, **exploration}, "framework": {"seed": 3, "progress": False}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    r = run_deffe("-config", "config.json", cwd=tmp_path, real=True)
    assert r.rc == 0, r
    return r, read_csv(tmp_path / "explore" / "deffe_evaluation.csv")


@pytest.mark.parametrize("custom,max_samples,evaluated", [([3, 5, 10], None, 10), ([3, 5, 10], 30, 10),
                                                           ([3, 5, 30], 12, 12)])
def test_custom_samples_last_count_is_a_search_budget(tmp_path, custom, max_samples, evaluated):
    # before: ignored, the genetic search evaluated the whole space (64 points) without a word
    r, rows = run(tmp_path, {"plugin": "genetic", "custom_samples": custom, "max_samples": max_samples,
                             "options": {"population": 4}}, 4)
    assert len(rows) == evaluated
    assert (f"warning: config.json:exploration.custom_samples: the 'genetic' exploration takes "
            f"the last count ({custom[-1]}) as its budget") in r.err, r
    if custom[-1] < (max_samples or 64):
        assert f"custom_samples' last count of {custom[-1]} samples reached; {evaluated} evaluated now" in r.out


def test_a_search_ending_before_covering_the_space_says_how_much_it_evaluated(tmp_path):
    # before: "the exploration finished" after 48 of 125 points, read as the whole space evaluated (config.md)
    r, rows = run(tmp_path, {"plugin": "annealing", "samples_per_step": 8}, 5)
    assert len(rows) < 125
    assert (f"no new point in 200 steps in a row, with {len(rows)} of the space's 125 points evaluated (a "
            "search stops when it finds no new point, whatever its budget: the exhaustive exploration evaluates "
            "every point)") in r.out, r
