"""The model in the loop and inference-only, through the real command line."""
import json
import re
import sqlite3

import numpy as np
import pytest

from framework.training import holdout_mask
from cli_helpers import assert_user_error as one_line_error, read_csv, run_deffe
from ml_helpers import FAST, KNOBS

FUNCS = '''
from framework.protocols import Infeasible

def evaluate(p):
    if p["a"] == 8:
        raise Infeasible("out of memory")
    mult = {"x": 1, "y": 2, "z": 3}[p["b"]]
    return {"f": p["a"] * p["c"] * mult, "g": p["a"] + 10 * p["c"]}
'''


def project(directory, knobs=None, model=None):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "funcs.py").write_text(FUNCS)
    cfg = {"knobs": knobs or KNOBS, "costs": ["f", "g"], "sampling": {"plugin": "random"},
           "evaluate": {"plugin": "python", "function": "funcs:evaluate"},
           "exploration": {"plugin": "sampling", "samples_per_step": 30, "max_samples": 90},
           "model": {"plugin": "torch_mlp", **FAST, "epochs": 400, "top_k": 5, **(model or {})}}
    (directory / "config.json").write_text(json.dumps(cfg))
    return directory


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = project(tmp_path_factory.mktemp("loop"))
    r = run_deffe("-config", "config.json", "-quiet", "-model-stats-output", "stats.csv", cwd=d)
    assert r.returncode == 0, r.stderr
    return d


def test_metrics_per_step_in_a_table_and_the_store(trained):
    rows = read_csv(trained / "explore" / "model_metrics.csv")
    assert [(r["step"], r["cost"]) for r in rows] == [(s, c) for s in "012" for c in "fg"]
    last = rows[-1]
    assert int(last["train"]) + int(last["holdout"]) + int(last["failed"]) >= 80  # failures held out too
    assert 0 < float(last["mape_percent"]) < 100 and -1 <= float(last["kendall_tau"]) <= 1
    assert int(last["k"]) == 5 and 0 <= float(last["top_k_recall"]) <= 1
    db = sqlite3.connect(trained / "explore" / "deffe.db")
    reports = [json.loads(i)["model"] for (i,) in db.execute("SELECT info FROM steps ORDER BY step")]
    assert all(0 < rep["holdout_mape"] < 1 for rep in reports)
    assert reports[-1]["holdout_mape"] == pytest.approx(max(rep["mape"] for rep in reports[-1]["metrics"].values()))
    assert reports[-1]["failed"] > 0 and reports[-1]["feasibility_classifier"] is True


def test_the_log_says_how_many_of_the_training_samples_failed(trained):
    # "trained on 10 of 14 samples; hold-out of 3" when 6 of the 14 had succeeded: the 4 failed ones the model
    # learns the failures from were counted unsaid
    rows = read_csv(trained / "explore" / "model_metrics.csv")
    log = (trained / "explore" / "deffe.log").read_text()
    lines = re.findall(r"step (\d): model.* trained on (\d+) of (\d+) samples(?: \((\d+) of them failed\))?", log)
    assert [n for n, *_ in lines] == ["0", "1", "2"], lines
    assert any(failed for *_, failed in lines), lines
    for step, train, samples, failed in lines:
        row = next(r for r in rows if r["step"] == step)
        held_failed = int(row["failed"]) - int(failed or 0)
        assert int(train) + int(row["holdout"]) + held_failed == int(samples), (lines, row)


def test_stats_checkpoint_and_plots(trained):
    stats = read_csv(trained / "stats.csv")
    assert list(stats[0]) == ["Epoch", "TrainLoss", "ValLoss", "TestLoss", "Step", "TrainCount", "ValCount"]
    assert {r["Step"] for r in stats} == {"0", "1", "2"}
    assert all(float(r["TestLoss"]) >= 0 and float(r["TrainLoss"]) >= 0 for r in stats)
    # the automatic validation part: a fifth below 50 training points (early stopping), none from 50 on
    small = [r for r in stats if int(r["TrainCount"]) + int(r["ValCount"]) < 50]
    large = [r for r in stats if int(r["TrainCount"]) + int(r["ValCount"]) >= 50]
    assert small and large
    assert all(float(r["ValLoss"]) >= 0 and int(r["ValCount"]) > 0 for r in small)
    assert all(r["ValLoss"] == "" and r["ValCount"] == "0" for r in large)
    assert (trained / "explore" / "checkpoints" / "explore_0.ckpt").stat().st_size > 0
    for name in ("model_learning_curve.png", "model_predicted_vs_true.png"):
        assert (trained / "explore" / name).read_bytes()[:4] == b"\x89PNG"


def test_stats_without_a_hold_out_write_their_plots_without_a_warning(tmp_path):
    # no hold-out (train_test_split 1): no learning curve to draw; matplotlib's "No artists with labels found
    # to put in legend" and its source line reached stderr, even with -quiet
    data = {"knobs": [{"name": "a", "values": "0-6"}, {"name": "b", "values": [1, 2]}], "costs": ["t"],
            "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "python_path": ["."],
            "exploration": {"plugin": "sampling", "samples_per_step": 10},
            "model": {"plugin": "torch_mlp", "epochs": 30, "patience": 10, "ensemble": 2, "hidden": [8],
                      "train_test_split": 1}}
    (tmp_path / "ev.py").write_text("def evaluate(p):\n    raise RuntimeError('nothing is evaluated here')\n")
    (tmp_path / "config.json").write_text(json.dumps(data))
    (tmp_path / "pre.csv").write_text("a,b,t\n1,2,13\n4,2,44\n3,1,32\n0,1,3\n2,1,22\n")
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", "-only-preloaded-data-exploration",
                  "-model-stats-output", "s.csv", "-quiet", cwd=tmp_path, real=True)   # (pytest catches warnings)
    assert r.rc == 0 and r.out == "" and r.err == "", r
    assert (tmp_path / "explore" / "model_learning_curve.png").read_bytes()[:4] == b"\x89PNG"



def few_rows(tmp_path, rows, model=None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = {"knobs": [{"name": "a", "values": "0-6"}, {"name": "b", "values": [1, 2]}], "costs": ["t"],
            "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "python_path": ["."],
            "model": {"plugin": "sklearn_rf", "estimators": 10, **(model or {})}}
    (tmp_path / "ev.py").write_text("def evaluate(p):\n    raise RuntimeError('nothing is evaluated here')\n")
    (tmp_path / "config.json").write_text(json.dumps(data))
    (tmp_path / "pre.csv").write_text("a,b,t\n" + "".join(f"{a},{b},{3 + a * b}\n" for a, b in rows))
    return run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", "-only-preloaded-data-exploration",
                     "-full-exploration", cwd=tmp_path)


def test_one_sample_trains_no_model_and_says_so(tmp_path):
    # one pre-evaluated row: the run ended with exit status 0 and said nothing of the model; the -inference-only
    # that followed failed with "checkpoint file not found" and nothing more
    r = few_rows(tmp_path, [(3, 2)])
    assert r.rc == 0, r
    assert "1 sample is too few to train the model: no model was trained and no checkpoint written (at least 2 " \
           "samples are needed)" in r.out + r.err
    assert not (tmp_path / "explore" / "checkpoints").exists()
    (tmp_path / "in.csv").write_text("a,b\n3,2\n")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", "explore/checkpoints/explore.ckpt",
                  "-input", "in.csv", "-output", "out.csv", cwd=tmp_path)
    line = one_line_error(r, "explore/checkpoints/explore.ckpt: checkpoint file not found (looked at ",
                          "holds no checkpoint: its run trained no model (a model needs at least 2 samples")
    assert not (tmp_path / "out.csv").exists(), line


def test_samples_none_of_which_ran_train_no_model_and_say_so(tmp_path):
    # two pre-evaluated rows, both failed: exit 0 and no word of the model anywhere (one that ran beside failed
    # ones does train: test_training_first_run)
    few_rows(tmp_path, [])   # its config and evaluator; its run over no row is not what is checked
    (tmp_path / "pre.csv").write_text("a,b,t,status\n1,1,,failed\n2,2,,failed\n")
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", "-only-preloaded-data-exploration",
                  "-full-exploration", "-fresh", cwd=tmp_path)
    assert r.rc == 0, r
    assert "2 samples, none of which ran: no model was trained and no checkpoint written" in r.out + r.err, r
    assert not (tmp_path / "explore" / "checkpoints").exists()


def one_per_step(tmp_path, values, evaluate="return {'t': p['a'] * 10 + p['b']}"):
    """A run whose search evaluates one point per step (annealing), a model trained after each."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "ev.py").write_text(f"def evaluate(p):\n    {evaluate}\n")
    (tmp_path / "config.json").write_text(json.dumps({
        "knobs": [{"name": "a", "values": values}, {"name": "b", "values": [1]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "python_path": ["."],
        "exploration": {"plugin": "annealing", "max_samples": 6},
        "model": {"plugin": "sklearn_rf", "estimators": 5}}))
    return run_deffe("-config", "config.json", cwd=tmp_path)


def test_a_search_of_one_point_per_step_is_not_told_its_first_sample_is_too_few(tmp_path):
    # annealing evaluates one point, then one per step: its first training warned "1 sample is too few to train
    # the model: no model was trained", though every later step trained one
    r = one_per_step(tmp_path / "many", "0-20")
    assert r.rc == 0, r
    assert "too few" not in r.out + r.err, r
    assert (tmp_path / "many" / "explore" / "checkpoints" / "explore_0.ckpt").exists()
    # an exploration that does end with one sample (its space holds one point) is still told so
    r = one_per_step(tmp_path / "one", [3])
    assert r.rc == 0, r
    assert "1 sample is too few to train the model: no model was trained" in r.out + r.err, r
    # and one whose samples all failed, though the budget had room for more
    r = one_per_step(tmp_path / "failing", [1, 2], evaluate="raise RuntimeError('no')")
    assert "none of which ran: no model was trained" in r.out + r.err, r


def test_a_split_that_leaves_no_hold_out_is_warned_about(tmp_path):
    # train_test_split 0.01 held out nearly every point, left fewer than 2 to train on, and so trained on all of
    # them with no hold-out, quietly
    rows = [(a, b) for a in range(6) for b in (1, 2)]
    r = few_rows(tmp_path / "tiny", rows, model={"train_test_split": 0.01})
    assert r.rc == 0, r
    assert "train_test_split 0.01 leaves no hold-out of the 12 samples" in r.out + r.err
    assert read_csv(tmp_path / "tiny" / "explore" / "model_metrics.csv")[-1]["holdout"] == "0"
    r = few_rows(tmp_path / "default", rows)   # 0.8: a hold-out, no warning
    assert r.rc == 0 and "hold-out of" in r.out + r.err and "leaves no hold-out" not in r.out + r.err, r
    r = few_rows(tmp_path / "none", rows, model={"train_test_split": 1})   # none asked for: none warned about
    assert r.rc == 0 and "leaves no hold-out" not in r.out + r.err, r


def test_the_hold_out_is_the_same_points_at_every_step():
    keys = [f"point-{i}" for i in range(1000)]
    held = holdout_mask(keys, 0.8, seed=3)
    assert 150 < held.sum() < 250
    assert np.array_equal(holdout_mask(keys[:400], 0.8, seed=3), held[:400])   # a later step: more points
    assert not np.array_equal(holdout_mask(keys, 0.8, seed=4), held)
    assert not holdout_mask(keys, 1.0, seed=3).any()


INPUT = "a,b,c,f,extra\n2,x,1.5,3.0,zz\n3,z,2.0,18.0,\n9,x,1.0,9.0,\n4,y,,1,\n5,q,1.0,,\n2,y,3.5,oops,\n6,x,0.5,,\n"


def test_inference_predicts_good_rows_and_reports_bad_ones(trained):
    (trained / "in.csv").write_text(INPUT)
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", "explore/checkpoints/explore_0.ckpt",
                  "-input", "in.csv", "-output", "out.csv", cwd=trained)
    assert r.returncode == 0, r.stderr
    warnings = [l for l in r.stderr.splitlines() if l.startswith("warning:")]
    assert [w.split(":")[2] for w in warnings] == ["line 4", "line 5", "line 6", "line 7"]
    assert "value '9' of 'a' is outside its domain" in warnings[0] and "no value for 'c'" in warnings[1]
    assert "value 'q' of 'b'" in warnings[2] and "cost 'f' is not a number: 'oops'" in warnings[3]
    assert "3 rows predicted" in r.stdout and "4 bad rows skipped" in r.stdout
    out = read_csv(trained / "out.csv")
    assert list(out[0]) == ["a", "b", "c", "f", "predicted-f", "std-f", "error-f", "error-percent-f",
                            "signed-error-f", "percent-error-f", "predicted-g", "std-g", "feasible"]
    assert [(r["a"], r["b"], r["c"]) for r in out] == [("2", "x", "1.5"), ("3", "z", "2.0"), ("6", "x", "0.5")]
    for row, true in zip(out[:2], (3.0, 18.0)):
        err = float(row["predicted-f"]) - true
        assert float(row["error-f"]) == pytest.approx(abs(err))                 # Deffe: |true - predicted|
        assert float(row["error-percent-f"]) == pytest.approx(abs(err) / true)  # Deffe: a fraction
        assert float(row["signed-error-f"]) == pytest.approx(err)
        assert float(row["percent-error-f"]) == pytest.approx(100 * err / true)
    assert out[2]["f"] == "" and out[2]["error-f"] == "" and out[2]["signed-error-f"] == ""   # no true cost
    assert [row["f"] for row in out[:2]] == ["3", "18"]   # whole costs as in the run's tables (it wrote 3.0)
    assert all(0 <= float(r["feasible"]) <= 1 for r in out)


def test_inference_strict_and_missing_columns(trained):
    (trained / "in.csv").write_text(INPUT)
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", "explore/checkpoints/explore_0.ckpt",
                  "-input", "in.csv", "-output", "strict.csv", "-strict", cwd=trained)
    one_line_error(r, "in.csv", "4 bad rows of 7", "line 4")
    assert not (trained / "strict.csv").exists()
    (trained / "nocol.csv").write_text("a,c\n1,1.0\n")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", "explore/checkpoints/explore_0.ckpt",
                  "-input", "nocol.csv", cwd=trained)
    one_line_error(r, "nocol.csv:line 1", "no column for knob b")
    r = run_deffe("-config", "config.json", "-inference-only", "-input", "nocol.csv", cwd=trained)
    one_line_error(r, "-inference-only needs the model to predict with: -icp FILE")


def test_an_infinite_true_cost_is_a_bad_row_like_nan(trained):
    """'inf' and '-inf' in a cost column were taken as "no true cost" (and -strict accepted them)."""
    (trained / "inf.csv").write_text("a,b,c,f\n2,x,1.5,nan\n2,x,1.5,inf\n2,x,1.5,-inf\n2,x,1.5,3.0\n")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", "explore/checkpoints/explore_0.ckpt",
                  "-input", "inf.csv", "-output", "inf-out.csv", cwd=trained)
    assert r.returncode == 0, r.stderr
    warnings = [l for l in r.stderr.splitlines() if l.startswith("warning:")]
    assert [w.split(":")[2] for w in warnings] == ["line 2", "line 3", "line 4"]
    assert "cost 'f' is not a finite number: 'inf'" in warnings[1] and "'-inf'" in warnings[2]
    assert "1 row predicted" in r.stdout and "3 bad rows skipped" in r.stdout
    assert [row["f"] for row in read_csv(trained / "inf-out.csv")] == ["3"]   # whole, as deffe_evaluation.csv writes it
    (trained / "inf1.csv").write_text("a,b,c,f\n2,x,1.5,inf\n")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", "explore/checkpoints/explore_0.ckpt",
                  "-input", "inf1.csv", "-output", "inf1-out.csv", "-strict", cwd=trained)
    one_line_error(r, "inf1.csv:line 2", "cost 'f' is not a finite number: 'inf'")
    assert not (trained / "inf1-out.csv").exists()


def test_a_checkpoint_for_other_knobs_is_refused_with_nothing_written(trained, tmp_path):
    # (knob 'b' is one-hot: a column per value, so it needs the checkpoint's values; a numeric knob's may differ)
    other = project(tmp_path / "other", knobs=[KNOBS[0], dict(KNOBS[1], values=["x", "y"]), *KNOBS[2:]])
    ckpt = trained / "explore" / "checkpoints" / "explore_0.ckpt"
    r = run_deffe("-config", "config.json", "-icp", ckpt, cwd=other)
    one_line_error(r, str(ckpt), "checkpoint does not fit this config: knob 'b' differs")
    assert not (other / "explore").exists()
    (other / "in.csv").write_text("a,b,c\n1,x,1.0\n")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", ckpt, "-input", "in.csv", cwd=other)
    one_line_error(r, "checkpoint does not fit this config", "knob 'b' differs")


def test_fine_tuning_a_checkpoint_with_frozen_layers(trained, tmp_path):
    d = project(tmp_path / "tune")
    ckpt = trained / "explore" / "checkpoints" / "explore_0.ckpt"
    r = run_deffe("-config", "config.json", "-quiet", "-icp", ckpt, "-freeze-layers", "1", "-tl-samples", cwd=d)
    assert r.returncode == 0, r.stderr
    db = sqlite3.connect(d / "explore" / "deffe.db")
    reports = [json.loads(i)["model"] for (i,) in db.execute("SELECT info FROM steps ORDER BY step")]
    assert [rep["start"] for rep in reports] == ["checkpoint", "previous step", "previous step"]
    assert all(rep["frozen_layers"] == 1 for rep in reports)


def test_fresh_with_too_many_frozen_layers_refuses_with_nothing_moved(trained):
    # the check was made at the first training: the previous run was in explore.1 by then, and explore/ held a
    # new run of 20 evaluations that had stopped
    (trained / "start.ckpt").write_bytes((trained / CKPT).read_bytes())
    before = sorted(p.name for p in (trained / "explore").iterdir())
    r = run_deffe("-config", "config.json", "-quiet", "-fresh", "-icp", "start.ckpt", "-freeze-layers", "99",
                  cwd=trained)
    one_line_error(r, "error: -freeze-layers: freeze_layers 99 would freeze every layer of the network")
    assert "moved" not in r.err and not (trained / "explore.1").exists()
    assert sorted(p.name for p in (trained / "explore").iterdir()) == before


def test_inference_reads_an_excel_csv_and_writes_next_to_it(trained):
    folder = trained / "points"
    folder.mkdir(exist_ok=True)
    (folder / "excel.csv").write_bytes("a,b,c\r\n2,x,1.5\r\n3,z,2.0\r\n".encode("utf-8-sig"))
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", "explore/checkpoints/explore_0.ckpt",
                  "-input", "points/excel.csv", cwd=trained)
    assert r.returncode == 0 and "2 rows predicted" in r.stdout, r
    assert not (trained / "excel-predicted.csv").exists()
    out = folder / "excel-predicted.csv"
    assert [row["a"] for row in read_csv(out)] == ["2", "3"] and b"\r\n" not in out.read_bytes()


def test_inference_reads_semicolon_and_tab_separated_files(trained):
    # Excel writes ';' between cells where the decimal mark is a comma; cells pasted from a sheet have tabs
    (trained / "semi.csv").write_bytes("a;b;c\r\n2;x;1.5\r\n3;z;2.0\r\n".encode("utf-8-sig"))
    # and with decimal commas (there the rows were all bad: "0 rows predicted; 2 bad rows skipped")
    (trained / "decimal.csv").write_bytes("a;b;c\r\n2;x;1,5\r\n3;z;2,0\r\n".encode("utf-8-sig"))
    (trained / "tabs.csv").write_text("a\tb\tc\n2\tx\t1.5\n3\tz\t2.0\n")
    (trained / "commas.csv").write_text("a,b,c\n2,x,1.5\n3,z,2.0\n")
    out = {}
    for name in ("semi", "decimal", "tabs", "commas"):
        r = run_deffe("-config", "config.json", "-inference-only", "-icp", "explore/checkpoints/explore_0.ckpt",
                      "-input", f"{name}.csv", "-output", f"{name}-out.csv", cwd=trained)
        assert r.returncode == 0 and "2 rows predicted" in r.stdout, r
        out[name] = [row["predicted-f"] for row in read_csv(trained / f"{name}-out.csv")]
    assert out["semi"] == out["decimal"] == out["tabs"] == out["commas"]


def test_a_run_over_pre_evaluated_data_ends_with_a_choice_made_on_all_of_it(tmp_path):
    # auto chooses again once its samples have doubled; the last step's model is the one a user keeps
    # (-inference-only), so that step chooses again on everything, however few points it added
    data = {"knobs": [{"name": "a", "values": "0-9"}, {"name": "b", "values": "0-9"}], "costs": ["t"],
            "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "python_path": ["."],
            "exploration": {"samples_per_step": 20},
            "model": {"plugin": "auto", "epochs": 30, "patience": 10, "ensemble": 2, "hidden": [8],
                      "estimators": 10}}
    (tmp_path / "ev.py").write_text("def evaluate(p):\n    raise RuntimeError('nothing is evaluated here')\n")
    (tmp_path / "config.json").write_text(json.dumps(data))
    (tmp_path / "pre.csv").write_text("a,b,t\n" + "".join(f"{a},{b},{1 + a * a + 3 * b}\n"
                                                          for a in range(9) for b in range(9)))
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", "-only-preloaded-data-exploration",
                  cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "model_metrics.csv")
    chosen_at = [int(row["train"]) for row in rows if row["selection"]]
    assert int(rows[-1]["train"]) == chosen_at[-1] and chosen_at[-1] < 2 * chosen_at[-2], chosen_at


@pytest.mark.parametrize("exploration", ["surrogate", "sampling"])
def test_auto_measures_a_guided_exploration_on_its_latest_points(tmp_path, exploration):
    # with model.selection_holdout "latest", the guided exploration's history is a sequence (each step chosen on
    # a model of the earlier ones): auto scores its candidates on the latest quarter; a sampler's points get a random quarter, and so does the
    # final training, whose model answers -inference-only about any points
    project(tmp_path, knobs=[{"name": "a", "values": "0-29"}, {"name": "c", "values": "0-29"}],
            model={"plugin": "auto", "estimators": 10, "epochs": 30, "patience": 10, "selection_holdout": "latest"})
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "ev.py").write_text("def evaluate(p):\n    return {'g': 1 + (p['a'] - 3) ** 2 + 2 * p['c']}\n")
    cfg["costs"], cfg["evaluate"]["function"] = ["g"], "ev:evaluate"
    cfg["exploration"] = {"plugin": exploration, "initial_samples": 40, "samples_per_step": 20, "max_samples": 100}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.returncode == 0, r
    rows = read_csv(tmp_path / "explore" / "model_metrics.csv")
    chosen = [(int(row["train"]), re.search(r"\((hold-out of [^)]*|5-fold)\)", row["selection"]).group(1))
              for row in rows if row["selection"]]
    assert chosen[0][1] == "5-fold" and int(rows[-1]["train"]) + int(rows[-1]["holdout"]) == 100, chosen
    middle, final = chosen[1:-1], chosen[-1]
    assert middle and final[0] == int(rows[-1]["train"]), chosen
    quarter = [f"hold-out of {round(n / 4)}" for n, _ in middle]
    latest = [f"hold-out of the last {round(n / 4)}" for n, _ in middle]
    assert [p for _, p in middle] == (latest if exploration == "surrogate" else quarter), chosen
    assert final[1] == f"hold-out of {round(final[0] / 4)}", chosen


# ----------------------------------------------------------------------------- what inference writes
CKPT = "explore/checkpoints/explore_0.ckpt"


@pytest.mark.parametrize("output, what", [("in.csv", "is the -input file"), ("model.ckpt", "is the -icp checkpoint"),
                                          ("config.json", "is the config file"),
                                          ("funcs.py", "is the file of evaluate.function"),
                                          ("explore/deffe.db", "is the run store")])
def test_inference_never_writes_over_a_file_it_reads(trained, output, what):
    (trained / "in.csv").write_text("a,b,c\n2,x,1.5\n")
    (trained / "model.ckpt").write_bytes((trained / CKPT).read_bytes())
    before = (trained / output).read_bytes()
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", "model.ckpt", "-input", "in.csv",
                  "-output", output, cwd=trained)
    one_line_error(r, f"error: -output: {output} {what}; it would be overwritten; name another file")
    assert (trained / output).read_bytes() == before


@pytest.mark.parametrize("flag, output", [
    ("-output", "explore/deffe_run.json"), ("-output", "explore/deffe_evaluation.csv"),
    ("-output", "explore/model_metrics.csv"), ("-output", "explore/checkpoints/best.ckpt"),
    ("-output", "explore/deffe.log"), ("-output", "explore/../explore/deffe_report.html"),
    ("-model-stats-output", "explore/deffe_prediction.csv")])
def test_inference_never_writes_over_the_runs_own_files(trained, flag, output):
    # -output explore/deffe_run.json replaced the manifest: -report and load_run failed on the run after it
    (trained / "in.csv").write_text("a,b,c\n2,x,1.5\n")
    target = trained / output
    before = target.read_bytes() if target.exists() else None
    args = ["-output", "fine.csv"] if flag != "-output" else []
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", CKPT, "-input", "in.csv", flag, output,
                  *args, cwd=trained)
    one_line_error(r, f"error: {flag}: {output} is a file of the run in explore; it would be overwritten; name a "
                      "file the run does not keep")
    assert (target.read_bytes() if target.exists() else None) == before


def test_an_inference_output_that_cannot_be_written_is_one_line_before_predicting(trained, tmp_path):
    (trained / "in.csv").write_text("a,b,c\n2,x,1.5\n")
    (trained / "outdir").mkdir(exist_ok=True)
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", CKPT, "-input", "in.csv", "-output", "outdir",
                  cwd=trained)
    one_line_error(r, "error: -output: outdir is a directory")
    assert not [p for p in trained.iterdir() if ".tmp" in p.name]   # no temporary file left behind
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", CKPT, "-input", "in.csv",
                  "-output", "/proc/x.csv", cwd=trained)
    one_line_error(r, "error: -output: /proc/x.csv cannot be written")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", CKPT, "-input", "in.csv",
                  "-output", "fine.csv", "-model-stats-output", "outdir", cwd=trained)
    one_line_error(r, "error: -model-stats-output: outdir is a directory")
    assert not (trained / "fine.csv").exists()


def test_an_input_that_is_no_file_needs_an_output(trained):
    # -input /dev/stdin without -output: the predictions went to /dev/stdin-predicted.csv (as root)
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", CKPT, "-input", "/dev/stdin",
                  cwd=trained, input="a,b,c\n2,x,1.5\n")
    one_line_error(r, "error: -input /dev/stdin is no regular file", "name their file with -output FILE.csv")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", CKPT, "-input", "/dev/stdin",
                  "-output", "piped.csv", cwd=trained, input="a,b,c\n2,x,1.5\n")
    assert r.returncode == 0 and len(read_csv(trained / "piped.csv")) == 1, r.stderr


def test_an_output_that_is_a_link_or_a_pipe_is_written_through_not_replaced(trained):
    """-output through a symbolic link writes its target, the link stays; -output a pipe (as /dev/stdout is
    one) streams into it, the pipe stays. Both were replaced by an ordinary file (as root, /dev/stdout too)."""
    import os
    import stat
    (trained / "in.csv").write_text("a,b,c\n2,x,1.5\n3,z,2.0\n")
    real, link = trained / "real.csv", trained / "link.csv"
    real.write_text("")
    link.unlink(missing_ok=True)
    link.symlink_to("real.csv")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", CKPT, "-input", "in.csv", "-output",
                  "link.csv", cwd=trained)
    assert r.rc == 0, r
    assert link.is_symlink() and os.readlink(link) == "real.csv" and len(read_csv(real)) == 2
    fifo = trained / "pipe.csv"
    fifo.unlink(missing_ok=True)
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)   # a reader is there: the writer's open never waits
    try:
        r = run_deffe("-config", "config.json", "-inference-only", "-icp", CKPT, "-input", "in.csv", "-output",
                      "pipe.csv", cwd=trained)
        got = os.read(reader, 1 << 16).decode()   # two rows: far less than the pipe holds
    finally:
        os.close(reader)
    assert r.rc == 0, r
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and got.startswith("a,b,c,predicted-f") and got.count("\n") == 3, got
    assert not [p for p in trained.iterdir() if ".tmp" in p.name]


def test_no_run_with_inference_or_model_extract_dir_writes_nothing(trained):
    (trained / "in.csv").write_text("a,b,c,f,g\n2,x,1.5,3,17\n3,z,2.0,18,23\n")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", CKPT, "-input", "in.csv",
                  "-output", "dry.csv", "-no-run", cwd=trained)
    assert r.rc == 0 and "2 rows would be predicted -> dry.csv" in r.out, r
    r = run_deffe("-config", "config.json", "-model-extract-dir", "explore/checkpoints", "-pre-evaluated-data",
                  "in.csv", "-model-stats-output", "dry-stats.csv", "-no-run", cwd=trained)
    assert r.rc == 0 and "would be written to dry-stats.csv" in r.out, r
    assert not (trained / "dry.csv").exists() and not (trained / "dry-stats.csv").exists()


def test_model_extract_dir_checkpoints_as_in_deffe_finds_the_run_directorys(trained, tmp_path):
    """Deffe's README: train, then '-model-extract-dir checkpoints' in the same directory. Deffe wrote ./checkpoints,
    this framework <run directory>/checkpoints: it was 'checkpoints: no such directory'."""
    (trained / "pts.csv").write_text("a,b,c,f,g\n2,x,1.5,3,17\n3,z,2.0,18,23\n")
    r = run_deffe("-config", "config.json", "-model-extract-dir", "checkpoints", "-pre-evaluated-data", "pts.csv",
                  "-model-stats-output", "extract-stats.csv", cwd=trained)
    assert r.rc == 0, r
    assert "note: checkpoints: no such directory; measuring explore/checkpoints, the one in the config's run " \
           "directory" in r.err
    assert [row["rows"] for row in read_csv(trained / "extract-stats.csv")] == ["2", "2"]
    # a directory found nowhere: the error says where this config's checkpoints are
    r = run_deffe("-config", "config.json", "-model-extract-dir", "ckpts", "-pre-evaluated-data", "pts.csv",
                  cwd=trained)
    one_line_error(r, "error: ckpts: no such directory; this config's runs write their checkpoints to "
                      "explore/checkpoints/")


def test_model_stats_output_never_writes_over_the_data(trained, tmp_path):
    d = project(tmp_path / "stats")
    data = "a,b,c,f,g\n2,x,1.5,3,17\n3,z,2.0,18,23\n1,y,1.0,2,11\n"
    (d / "pre.csv").write_text(data)
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", "-only-preloaded-data-exploration",
                  "-model-stats-output", "pre.csv", cwd=d)
    one_line_error(r, "error: -model-stats-output: pre.csv is the -pre-evaluated-data file; it would be overwritten")
    assert not (d / "explore").exists()
    r = run_deffe("-config", "config.json", "-model-extract-dir", trained / "explore" / "checkpoints",
                  "-pre-evaluated-data", "pre.csv", "-model-stats-output", "pre.csv", cwd=d)
    one_line_error(r, "error: -model-stats-output: pre.csv is the -pre-evaluated-data file")
    assert (d / "pre.csv").read_text() == data


def test_an_unwritable_model_stats_output_is_found_before_anything_runs(trained, tmp_path):
    d = project(tmp_path / "statsdir")
    (d / "statsdir").mkdir()
    r = run_deffe("-config", "config.json", "-model-stats-output", "statsdir", cwd=d)
    one_line_error(r, "error: -model-stats-output: statsdir is a directory")
    assert not (d / "explore").exists()
    (trained / "statsdir").mkdir(exist_ok=True)
    r = run_deffe("-config", "config.json", "-fresh", "-model-stats-output", "statsdir", cwd=trained)
    one_line_error(r, "error: -model-stats-output: statsdir is a directory")
    assert not (trained / "explore.1").exists()   # the old run was not moved aside


def test_an_input_without_rows_gets_the_columns_of_one_with_rows(trained):
    # a header alone (0 rows) wrote no std-<cost> columns where rows got them: scripts reading outputs by
    # column broke on the empty case
    (trained / "some.csv").write_text("a,b,c\n2,x,1.5\n")
    (trained / "none.csv").write_text("a,b,c\n")
    for name in ("some", "none"):
        r = run_deffe("-config", "config.json", "-inference-only", "-icp", "explore/checkpoints/explore_0.ckpt",
                      "-input", f"{name}.csv", "-output", f"out-{name}.csv", cwd=trained)
        assert r.returncode == 0, r
    some = (trained / "out-some.csv").read_text().splitlines()
    none = (trained / "out-none.csv").read_text().splitlines()
    assert "std-f" in some[0] and none == [some[0]]


def test_a_plot_of_an_output_that_is_a_pipe_goes_beside_the_stats_file_not_beside_the_pipe(trained):
    """The plot of predicted against true costs was named after -output: with -output /dev/stdout (as root) it
    went to /dev/stdout-predicted-vs-true.png. A pipe's plot goes beside -model-stats-output."""
    import os
    (trained / "truth.csv").write_text("a,b,c,f,g\n2,x,1.5,3,17\n3,z,2.0,18,23\n")
    fifo = trained / "pipe2.csv"
    fifo.unlink(missing_ok=True)
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        r = run_deffe("-config", "config.json", "-inference-only", "-icp", CKPT, "-input", "truth.csv", "-output",
                      "pipe2.csv", "-model-stats-output", "st.csv", cwd=trained)
        os.read(reader, 1 << 16)
    finally:
        os.close(reader)
    assert r.rc == 0, r
    assert (trained / "st-predicted-vs-true.png").is_file() and not (trained / "pipe2-predicted-vs-true.png").exists()


def test_a_checkpoint_that_fits_one_entry_of_several_names_the_entry_it_does_not_fit(tmp_path):
    # one -icp serves every explore entry: e1's checkpoint, given to a config of e1 and e2, failed on e2's knobs
    # with a line that named neither e2 nor anything but the checkpoint
    (tmp_path / "ev.py").write_text("def evaluate(p):\n    return {'t': p.get('a', 1) * 10 + p.get('b', 1) + "
                                    "p.get('c', 1)}\n")
    data = {"python_path": ["."], "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
            "knobs": [{"name": "a", "groups": "g1", "values": "1-7"}, {"name": "b", "groups": "g1, g2",
                                                                       "values": [1, 2, 3, 4]},
                      {"name": "c", "groups": "g2", "values": [1, 2, 3]}],
            "model": {"plugin": "sklearn_rf", "estimators": 5},
            "exploration": {"plugin": "sampling", "samples_per_step": 6, "max_samples": 6,
                            "explore": [{"name": "e1", "groups": "g1"}, {"name": "e2", "groups": "g2"}]},
            "framework": {"run_directory": "first"}}
    (tmp_path / "config.json").write_text(json.dumps(data))
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    data["framework"]["run_directory"] = "second"
    (tmp_path / "config.json").write_text(json.dumps(data))
    r = run_deffe("-config", "config.json", "-icp", "first/checkpoints/e1.ckpt", cwd=tmp_path)
    one_line_error(r, "first/checkpoints/e1.ckpt: checkpoint does not fit this config (exploration 'e2'): ")
