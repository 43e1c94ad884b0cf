"""A run whose costs are finite but near 1e300 finishes with its reports (the knob-importance lasso
crashed it with a traceback at the end, and on every rerun), and a knob importance that cannot be computed
costs one warning line, not the run."""
import json

from cli_helpers import run_deffe


def _config(tmp_path):
    (tmp_path / "bigeval.py").write_text("def evaluate(p):\n    return {'d': -1e300 * (1 + p['x'])}\n")
    (tmp_path / "config.json").write_text(json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "x", "values": [0, 1, 2, 3]}, {"name": "y", "values": [0, 1, 2]}],
        "costs": ["d::min"], "evaluate": {"plugin": "python", "function": "bigeval:evaluate"},
        "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 12, "max_samples": 12},
        "framework": {"run_directory": "run", "seed": 1, "report_files": False}}))


def test_costs_near_1e300_get_their_knob_importance(tmp_path):
    _config(tmp_path)
    for _ in range(2):   # the run, then a rerun on the stored samples
        r = run_deffe("-config", "config.json", cwd=tmp_path)
        assert r.rc == 0, r
        assert "Traceback" not in r.err and "Warning" not in r.err, r
        assert "d: x 100%" in r.out, r
        assert "knob importance for d" in (tmp_path / "run" / "knob_importance.txt").read_text()


def test_a_failing_knob_importance_is_one_warning(tmp_path, monkeypatch):
    import framework.analysis

    def broken(*a, **k):
        raise UnboundLocalError("cannot access local variable 'best_l1_ratio'")
    monkeypatch.setattr(framework.analysis, "lasso_credit", broken)   # the run is a fork of this process
    _config(tmp_path)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert "Traceback" not in r.err, r
    warned = [line for line in (r.out + r.err).splitlines() if "could not be computed" in line]
    assert len(warned) == 1 and "knob importance for d" in warned[0], r
    assert "exploration 'main'" in r.out or "front" in r.out or "best" in r.out, r
    assert (tmp_path / "run" / "deffe_evaluation.csv").exists()
