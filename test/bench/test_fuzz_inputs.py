"""bench/fuzz_inputs.py: the inputs that once ended in a traceback or a plugin's exception end cleanly, and the
fuzzer tells a traceback from a clean error."""
import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import fuzz_inputs  # noqa: E402


def case(section, key, value):
    cfg = copy.deepcopy(fuzz_inputs.BASE)
    cfg.setdefault(section, {})[key] = value
    return (f"{section}.{key}={value!r}", cfg)


def test_inputs_that_once_broke_a_run_end_cleanly(tmp_path):
    # framework.seed: null reached the sampler as None; gbm_learning_rate 0 was scikit-learn's refusal mid-run;
    # factorial put a log knob's last level above its range (the base config's z ends at 100)
    sampler = copy.deepcopy(fuzz_inputs.BASE)
    sampler["sampling"] = {"plugin": "factorial"}
    # a negative sampling.seed or model.seed (framework.seed takes -1): numpy and scikit-learn refused it mid-run
    todo = [case("framework", "seed", None), case("model", "gbm_learning_rate", 0),
            ("sampling.plugin=factorial", sampler), case("sampling", "seed", -1), case("model", "seed", -1)]
    results = [fuzz_inputs.run_case(c, tmp_path, 300) for c in todo]
    assert [r["verdict"] for r in results] == ["ran", "error", "ran", "ran", "ran"], results
    assert "gbm_learning_rate must be above 0" in results[1]["last"]


def test_a_traceback_counts_against_us(tmp_path, monkeypatch):
    # a stand-in for the command line that dies as an unhandled exception does
    fake = tmp_path / "repo"
    (fake / "framework").mkdir(parents=True)
    (fake / "framework" / "run_deffe.py").write_text("raise KeyError('boom')\n")
    monkeypatch.setattr(fuzz_inputs, "REPO", fake)
    r = fuzz_inputs.run_case(case("model", "epochs", 5), tmp_path / "runs", 300)
    assert r["verdict"] == "bad" and r["why"] == "traceback", r
    (fake / "framework" / "run_deffe.py").write_text("import sys\nprint('error: c.json:x: bad', file=sys.stderr)\n"
                                                     "sys.exit(2)\n")
    r = fuzz_inputs.run_case(case("model", "epochs", 6), tmp_path / "runs", 300)
    assert r["verdict"] == "error", r
