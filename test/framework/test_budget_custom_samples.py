"""custom_samples bounds an exploration (its last count), and a design sampler bounds the sampling
exploration: neither is refused as "no budget" nor warned about as evaluating every point."""
import json

from cli_helpers import read_csv, run_deffe, write

EV = "def f(p):\n    return {'c': 1.0}\n"
NO_BUDGET = "no budget"


def config(tmp_path, knobs, sampling="lhs", **exploration):
    write(tmp_path / "ev.py", EV)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": knobs, "costs": ["c"], "sampling": {"plugin": sampling},
        "evaluate": {"plugin": "python", "function": "ev:f"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "explore": [{"name": "e"}], **exploration},
        "framework": {"report_files": False, "progress": False}}))


def rows(tmp_path):
    return read_csv(tmp_path / "explore" / "e" / "deffe_evaluation.csv") \
        if (tmp_path / "explore" / "e").is_dir() else read_csv(tmp_path / "explore" / "deffe_evaluation.csv")


REAL = [{"name": "a", "values": "1-6"}, {"name": "b", "type": "real", "min": 0, "max": 1}]


def test_custom_samples_is_the_budget_of_a_space_with_a_continuous_knob(tmp_path):
    # before: "exploration 'e' has a continuous knob and no budget", exit 2
    config(tmp_path, REAL, custom_samples=[3, 7, 12])
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert len(rows(tmp_path)) == 12


def test_the_custom_samples_flag_is_the_budget_too(tmp_path):
    config(tmp_path, REAL)
    r = run_deffe("-config", "config.json", "-custom-samples", "3", "7", cwd=tmp_path)
    assert r.rc == 0, r
    assert len(rows(tmp_path)) == 7


def test_no_false_warning_with_custom_samples_on_a_huge_space(tmp_path):
    config(tmp_path, [{"name": "d", "values": "0-10", "count": 20}], custom_samples=[3, 6])
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert NO_BUDGET not in r.out + r.err, r
    assert len(rows(tmp_path)) == 6


def test_no_false_warning_for_a_design_that_ends_the_sampling_exploration(tmp_path):
    # 24 two-valued knobs: 16,777,216 points, a Plackett-Burman design of 32
    config(tmp_path, [{"name": "d", "values": [0, 1], "count": 24}], sampling="plackett_burman")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert NO_BUDGET not in r.out + r.err, r
    assert len(rows(tmp_path)) == 32

