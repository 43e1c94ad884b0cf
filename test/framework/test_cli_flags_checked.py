"""Flags are checked as the config's keys are, an error or warning names the flag as the user spelled it, and a
flag with nothing to do says so: docs/running.md ("Every number on the command line is checked as the config
key it stands for is") and docs/deffe.md ("ignored with one warning each saying why")."""
import json
import os

import pytest

from cli_helpers import assert_user_error, run_deffe, write

BIG = str(2 ** 70)   # the config refuses it: "expected an integer below 2^63"


def tiny(tmp_path, **framework):
    write(tmp_path / "f.py", "def evaluate(p):\n    return {'cost': (p['x'] - 3) ** 2 + p['y'] + 1}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "x", "values": "0-8"}, {"name": "y", "values": [0, 1, 2, 3]}],
        "costs": ["cost"], "evaluate": {"plugin": "python", "function": "f:evaluate"},
        "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 4, "max_samples": 8},
        "framework": {"report_files": False, "progress": False, **framework}}))


@pytest.mark.parametrize("flag", ["-seed", "-max-samples", "-samples-per-step", "-fixed-samples", "-epochs",
                                  "-step-end", "-extract-batch-size"])
def test_an_integer_of_2_to_the_70_is_refused_as_the_config_refuses_it(tmp_path, flag):
    tiny(tmp_path)
    r = run_deffe("-config", "config.json", flag, BIG, cwd=tmp_path)
    assert_user_error(r, f"error: {flag}: expected an integer below 2^63, got {BIG}")
    assert not (tmp_path / "explore").exists()


def test_a_huge_custom_sample_count_is_refused(tmp_path):
    tiny(tmp_path)
    r = run_deffe("-config", "config.json", "-custom-samples", "4", BIG, cwd=tmp_path)
    assert_user_error(r, "error: -custom-samples: expected an integer below 2^63")


@pytest.mark.parametrize("flag", ["-pre-evaluated-data", "-sampling-method", "-model-stats-output", "-input",
                                  "-config", "-icp", "-output", "-loss"])
def test_an_empty_flag_value_is_an_error_not_a_flag_left_out(tmp_path, flag):
    tiny(tmp_path)
    r = run_deffe(*(["-config", "config.json"] if flag != "-config" else []), flag, "", cwd=tmp_path)
    assert_user_error(r, f"error: {flag}: empty text (an unset shell variable?)")
    assert not (tmp_path / "explore").exists()


def test_an_error_or_warning_about_a_flag_names_it_as_spelled(tmp_path):
    tiny(tmp_path)
    r = run_deffe("-config", "config.json", "-no-run", "-extract-batch-size", "0", cwd=tmp_path)
    assert_user_error(r, "error: -extract-batch-size: must be at least 1, got 0")
    r = run_deffe("-config", "config.json", "-no-run", "-extract-out-flow", "1", "-validate-samples", cwd=tmp_path)
    assert r.rc == 0, r
    assert "warning: -extract-out-flow: results are stored as each evaluation completes" in r.err, r
    assert "warning: -validate-samples: " in r.err, r
    assert "-evaluate-out-flow" not in r.err and "-validate-module" not in r.err, r


def test_flags_with_nothing_to_do_are_warned_about(tmp_path):
    tiny(tmp_path)
    r = run_deffe("-config", "config.json", "-output", "predictions.csv", "-strict", cwd=tmp_path)
    assert r.rc == 0, r
    assert "warning: -output: ignored without -inference-only" in r.err, r
    assert "warning: -strict: ignored without -inference-only" in r.err, r
    assert not (tmp_path / "predictions.csv").exists()
    # the config trains no model ("plugin": null): the checkpoint is never looked at
    r = run_deffe("-config", "config.json", "-no-run", "-icp", "no_such.ckpt", "-freeze-layers", "2", cwd=tmp_path)
    assert r.rc == 0, r
    assert "warning: -icp, -freeze-layers: ignored: the config trains no model (model.plugin is null)" in r.err, r
    r = run_deffe("-config", "config.json", "-no-run", "-icp", cwd=tmp_path)
    assert r.rc == 0, r
    assert "warning: -icp: ignored: no checkpoint file follows it" in r.err, r


def test_step_start_past_the_last_step_says_nothing_ran(tmp_path):
    tiny(tmp_path)
    r = run_deffe("-config", "config.json", "-step-start", "100", cwd=tmp_path)
    assert r.rc == 0, r
    assert ("warning: -step-start 100: exploration 'explore_0' ended after 8 steps, before step 100: nothing was "
            "evaluated") in r.err, r


def test_an_unset_variable_in_the_run_directory_is_an_error_before_anything_is_made(tmp_path):
    name = "DEFFE_TEST_NEVER_SET_7"
    assert name not in os.environ
    tiny(tmp_path, run_directory=f"${name}/run1")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert_user_error(r, f"error: config.json:framework.run_directory: '${name}/run1' names ${name}, which is "
                         "not set")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "f.py"]
