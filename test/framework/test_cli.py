"""Command-line behaviour: dry runs, steps and budgets, pre-evaluated data, user plugins."""
import json

import pytest

from cli_helpers import assert_runtime_error, assert_user_error, read_csv, run_deffe, write


def simple(tmp_path, **extra):
    data = {"python_path": ["."], "knobs": [{"name": "a", "values": "0-6"}, {"name": "b", "values": [1, 2]}],
            "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
            "exploration": {"plugin": "sampling", "samples_per_step": 4}}
    for k, v in extra.items():
        data[k] = {**data.get(k, {}), **v} if isinstance(v, dict) else v
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': p['a'] * 10 + p['b']}\n")
    write(tmp_path / "config.json", json.dumps(data))


def test_dry_run_prints_and_writes_nothing(tmp_path):
    simple(tmp_path)
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0, r
    assert r.out.count("would evaluate:") == 12
    assert not (tmp_path / "explore").exists()


def test_max_samples_and_steps(tmp_path):
    simple(tmp_path)
    r = run_deffe("-config", "config.json", "-max-samples", "6", cwd=tmp_path)
    assert r.rc == 0 and "evaluation budget of 6 samples reached" in r.out, r
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 6
    # the budget grows: the next run continues where the first stopped
    r = run_deffe("-config", "config.json", "-max-samples", "10", cwd=tmp_path)
    assert "4 evaluated now, 6 from the store" in r.out, r


def test_step_end_and_custom_samples(tmp_path):
    simple(tmp_path)
    r = run_deffe("-config", "config.json", "-step-end", "2", cwd=tmp_path)
    assert "-step-end 2 reached" in r.out and "8 evaluated now" in r.out, r
    simple(tmp_path / "c")
    r = run_deffe("-config", "config.json", "-custom-samples", "2", "5", "11", cwd=tmp_path / "c")
    assert "11 evaluated now" in r.out, r
    import sqlite3
    db = sqlite3.connect(tmp_path / "c" / "explore" / "deffe.db")
    per_step = [n for _, n in db.execute("SELECT step, COUNT(*) FROM membership GROUP BY step ORDER BY step")]
    assert per_step == [2, 3, 6]


def test_step_start_uses_stored_results_only_before_it(tmp_path):
    simple(tmp_path)
    r = run_deffe("-config", "config.json", "-step-start", "1", "-step-end", "2", cwd=tmp_path)
    assert "4 evaluated now" in r.out, r  # step 0 skipped, step 1 evaluated


def test_pre_evaluated_data_matched_by_value(tmp_path):
    simple(tmp_path)
    write(tmp_path / "pre.csv", "b,a,t,other\n1.0,0,100,x\n2,\"3.0\",555,y\n1,9,7,z\n")
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", cwd=tmp_path)
    assert r.rc == 0, r
    assert "3 rows read, 2 new in the store, 1 outside the space skipped (first: line 4" in r.err
    rows = {(int(x["a"]), int(x["b"])): x for x in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")}
    assert len(rows) == 12
    assert rows[(0, 1)]["t"] == "100" and rows[(3, 2)]["t"] == "555"  # not evaluated again
    assert rows[(4, 2)]["t"] == "42"
    out = read_csv(tmp_path / "explore" / "deffe_output.csv")
    assert {x["source"] for x in out} == {"evaluated", "pre-evaluated"}


def test_only_preloaded_data_exploration(tmp_path):
    simple(tmp_path)
    write(tmp_path / "pre.csv", "a,b,t\n0,1,1\n1,1,2\n2,1,3\n")
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", "-only-preloaded-data-exploration",
                  cwd=tmp_path)
    assert r.rc == 0 and "0 evaluated now, 3 from the store" in r.out, r


def test_only_preloaded_data_exploration_without_usable_data_is_an_error(tmp_path):
    # the flag explores the data and evaluates nothing: without data it can do nothing (it was an empty run,
    # exit 0, "the exploration finished", a table of headers)
    simple(tmp_path)
    r = run_deffe("-config", "config.json", "-only-preloaded-data-exploration", cwd=tmp_path)
    assert_user_error(r, "-only-preloaded-data-exploration", "no pre-evaluated data", "-pre-evaluated-data CSV")
    write(tmp_path / "out.csv", "a,b,t\n9,1,3\n8,2,4\n")   # every row outside the space
    r = run_deffe("-config", "config.json", "-only-preloaded-data-exploration", "-pre-evaluated-data", "out.csv",
                  cwd=tmp_path)
    assert_user_error(r, "-only-preloaded-data-exploration", "no row of out.csv is in the space", "line 2")
    simple(tmp_path, exploration={"explore": [{"name": "e", "pre_evaluated_data": "gone.csv"}]})
    for dry in ([], ["-no-run"]):
        r = run_deffe("-config", "config.json", "-only-preloaded-data-exploration", *dry, cwd=tmp_path)
        assert_user_error(r, "config.json:exploration.explore[0].pre_evaluated_data", "gone.csv not found")
    assert not (tmp_path / "explore").exists()
    r = run_deffe("-config", "config.json", "-max-samples", "2", cwd=tmp_path)   # without the flag: a warning
    assert r.rc == 0 and "gone.csv not found" in r.err, r


def test_a_guided_exploration_of_preloaded_data_walks_the_data_and_ends(tmp_path):
    # a space far too large to enumerate: the guided steps must choose among the data's points (before,
    # they searched the whole space and proposed points outside the data for ever)
    knobs = [{"name": f"k{i}", "values": "0-9"} for i in range(8)]
    data = {"knobs": knobs, "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
            "python_path": ["."], "exploration": {"samples_per_step": 10},
            "model": {"plugin": "sklearn_rf", "estimators": 10, "train_test_split": 1.0}}
    write(tmp_path / "ev.py", "def evaluate(p):\n    raise RuntimeError('nothing is evaluated here')\n")
    write(tmp_path / "config.json", json.dumps(data))
    import numpy as np
    rows = np.random.default_rng(5).integers(0, 9, size=(60, 8)).tolist()   # "0-9": 0 to 8, as in Deffe
    write(tmp_path / "pre.csv", ",".join(f"k{i}" for i in range(8)) + ",t\n" +
          "".join(",".join(map(str, row)) + f",{1 + sum(row)}\n" for row in rows))
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", "-only-preloaded-data-exploration",
                  cwd=tmp_path)
    distinct = len({tuple(row) for row in rows})
    assert r.rc == 0 and f"0 evaluated now, {distinct} from the store" in r.out, r
    out = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(out) == distinct
    assert "every point will be evaluated" not in r.out + r.err     # the data bounds the run


def test_data_measured_elsewhere_needs_no_evaluator_here(tmp_path):
    # Deffe's gem5 configs name an evaluate script that is not on the machine holding the measurements
    data = {"knobs": [{"name": "a", "values": [1, 2, 3, 4]}, {"name": "b", "values": [1, 2, 3]}], "costs": ["c"],
            "evaluate": {"plugin": "script", "script": "run_gem5.sh"}}
    write(tmp_path / "config.json", json.dumps(data))
    write(tmp_path / "pre.csv", "a,b,c\n" + "".join(f"{a},{b},{a * b + 1}\n" for a in range(1, 5) for b in (1, 2, 3)))
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", "-only-preloaded-data-exploration",
                  cwd=tmp_path)
    assert r.rc == 0 and "0 evaluated now, 12 from the store" in r.out, r
    assert "run_gem5.sh' not found" in r.out + r.err and "evaluates nothing" in r.out + r.err
    # a run that would evaluate still stops at the missing script, before anything is written
    write(tmp_path / "other.json", json.dumps({**data, "framework": {"run_directory": "other"}}))
    assert_user_error(run_deffe("-config", "other.json", cwd=tmp_path), "other.json", "run_gem5.sh")
    assert not (tmp_path / "other").exists()


def test_an_exploration_proposing_nothing_of_the_data_stops_with_a_reason(tmp_path):
    simple(tmp_path, exploration={"plugin": "random_search"}, knobs=[{"name": "a", "values": "0-999"},
                                                                     {"name": "b", "values": "0-999"}])
    write(tmp_path / "pre.csv", "a,b,t\n0,1,1\n1,1,2\n2,1,3\n")
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", "-only-preloaded-data-exploration",
                  "-max-samples", "50", cwd=tmp_path)
    assert r.rc == 0, r
    assert "proposed no pre-evaluated point" in r.out + r.err, r


def test_pre_evaluated_rows_out_of_range_or_repeated_with_other_costs_are_said(tmp_path):
    # t=-44 under "min": 0 was stored ok and became the best; repeats with other costs were resolved silently,
    # and a later file's new costs for a stored point too ("1 rows read, 0 new")
    simple(tmp_path, costs=[{"name": "t", "min": 0}])
    write(tmp_path / "pre.csv", "a,b,t\n1,2,10\n1,2,99\n1.0,2,50\n4,2,-44\n3,1,30\n")
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", "-only-preloaded-data-exploration",
                  "-no-train", cwd=tmp_path)
    assert r.rc == 0, r
    assert "pre.csv: 5 rows read, 3 new in the store" in r.err, r
    assert ("warning: pre.csv: 1 row outside a cost's valid range stored as failed (first: line 5: t = -44 is "
            "below its minimum 0)") in r.err, r
    assert ("warning: pre.csv: 2 rows give other costs for a point of an earlier row, whose costs are kept "
            "(line 3: t=99 where line 2 gave t=10; line 4: t=50 where line 2 gave t=10)") in r.err, r
    rows = {(x["a"], x["b"]): (x["t"], x["status"]) for x in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")}
    assert rows == {("1", "2"): ("10", "ok"), ("4", "2"): ("", "failed"), ("3", "1"): ("30", "ok")}
    assert "best t 10" in r.err + r.out, r
    write(tmp_path / "again.csv", "a,b,t\n1,2,77\n")
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "again.csv", "-only-preloaded-data-exploration",
                  "-no-train", cwd=tmp_path)
    assert "again.csv: 1 row read, 0 new in the store" in r.err, r
    assert ("warning: again.csv: 1 row gives other costs than the store holds for its point, whose stored costs "
            "are kept (line 2: t=77 where the store holds t=10)") in r.err, r


def test_bad_pre_evaluated_data(tmp_path):
    simple(tmp_path)
    write(tmp_path / "pre.csv", "a,t\n0,1\n")
    assert_user_error(run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", cwd=tmp_path),
                      "pre.csv", "no column for knob b")
    write(tmp_path / "pre.csv", "a,b,t\n0,1,1\n1,1,fast\n")
    assert_user_error(run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", cwd=tmp_path),
                      "pre.csv:line 3", "not a number")
    # an infinite cost was stored ok, the best design or a cost to learn
    write(tmp_path / "pre.csv", "a,b,t\n0,1,1\n1,1,-inf\n")
    assert_user_error(run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", cwd=tmp_path),
                      "pre.csv:line 3", "cost 't' is infinite: '-inf'")
    assert not (tmp_path / "explore").exists()


def test_user_plugin_by_path(tmp_path):
    simple(tmp_path, sampling={"plugin": "plugins/corner.py"})
    write(tmp_path / "plugins" / "corner.py",
          "import numpy as np\n"
          "class Corner:\n"
          "    def __init__(self, fw): self.fw = fw; self.done = False\n"
          "    def Initialize(self): pass\n"
          "    def Run(self, n):\n"
          "        if self.done: return np.empty((0, 2))\n"
          "        self.done = True\n"
          "        return np.array([[0, 0], [5, 1]], dtype=float)\n"
          "def GetObject(framework): return Corner(framework)\n")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert [(x["a"], x["b"], x["t"]) for x in rows] == [("0", "1", "1"), ("5", "2", "52")]


USER_EVALUATE = ("class E:\n    def __init__(self, fw): pass\n    def Initialize(self): pass\n"
                 "    def Run(self, sample): return {'t': sample.values['a'] * 10 + sample.values['b']}\n"
                 "def GetObject(fw): return E(fw)\n")


@pytest.mark.parametrize("package, plugin", [(True, "plugins/my_eval.py"), (True, "plugins.my_eval"),
                                             (False, "plugins.my_eval")])
def test_a_users_own_plugins_folder_hides_no_built_in(tmp_path, package, plugin):
    """A user's plugins/ folder next to the config (python_path ".") once hid the project's plugins package:
    the built-in sampler failed to import ('No module named plugins.sampling'), and the dotted form the docs
    give, plugins.my_eval, was not found. The built-ins are the project's, the user's module the user's."""
    simple(tmp_path, evaluate={"plugin": plugin}, model={"plugin": None},
           exploration={"max_samples": 4})   # the built-in 'random' sampler
    write(tmp_path / "plugins" / "my_eval.py", USER_EVALUATE)
    if package:
        write(tmp_path / "plugins" / "__init__.py", "")
    r = run_deffe("-config", "config.json", cwd=tmp_path, real=True)   # a fresh process: nothing imported yet
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 4 and all(int(x["t"]) == int(x["a"]) * 10 + int(x["b"]) for x in rows)


def test_a_python_path_module_named_like_one_of_pythons_is_named_with_its_file(tmp_path):
    simple(tmp_path, model={"plugin": None}, exploration={"max_samples": 2})
    write(tmp_path / "xml.py", "x = 1\n")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert f"warning: config.json:python_path[0]: {tmp_path / 'xml.py'} has the name of Python's own module " \
           "'xml'" in r.err, r


def test_quiet_and_log_file(tmp_path):
    simple(tmp_path)
    r = run_deffe("-config", "config.json", "-quiet", cwd=tmp_path)
    assert r.rc == 0 and r.out == "" and r.err == "", r
    log = (tmp_path / "explore" / "deffe.log").read_text()
    assert "exploration 'explore_0'" in log
    # -fresh said "previous run moved to ..." and -report printed every path it wrote, -quiet or not
    r = run_deffe("-config", "config.json", "-quiet", "-fresh", cwd=tmp_path)
    assert r.rc == 0 and r.out == "" and r.err == "", r
    assert (tmp_path / "explore.1" / "deffe.db").is_file()
    r = run_deffe("-report", "explore", "-quiet", cwd=tmp_path)
    assert r.rc == 0 and r.out == "" and r.err == "", r
    assert (tmp_path / "explore" / "deffe_report.html").is_file()
    r = run_deffe("-config", "config.json", "-fresh", cwd=tmp_path)
    assert r.rc == 0 and f"previous run moved to {tmp_path / 'explore.2'}" in r.err, r
    assert str(tmp_path / "explore" / "deffe_report.html") in run_deffe("-report", "explore", cwd=tmp_path).out


def test_show_defaults(tmp_path):
    r = run_deffe("-show-defaults", cwd=tmp_path)
    assert r.rc == 0 and json.loads(r.out)["framework"]["jobs"]["default"] == 1


def test_help(tmp_path):
    r = run_deffe("-h", cwd=tmp_path)
    assert r.rc == 0 and "-pre-evaluated-data" in r.out and "-samples-per-step" in r.out


def test_plugin_proposing_a_point_outside_the_space(tmp_path):
    simple(tmp_path, sampling={"plugin": "bad.py"})
    write(tmp_path / "bad.py", "import numpy as np\nclass S:\n    def Initialize(self): pass\n"
                               "    def Run(self, n): return np.array([[7.0, 0.0]])\n"
                               "def GetObject(fw): return S()\n")
    assert_runtime_error(run_deffe("-config", "config.json", cwd=tmp_path), "outside the space",
                      "knob 'a'", "sampling plugin 'bad.py'")


def test_plugin_crash_is_one_clear_line(tmp_path):
    simple(tmp_path, sampling={"plugin": "bad.py"})
    write(tmp_path / "bad.py", "class S:\n    def Initialize(self): pass\n"
                               "    def Run(self, n): return 1 / 0\n"
                               "def GetObject(fw): return S()\n")
    line = assert_runtime_error(run_deffe("-config", "config.json", cwd=tmp_path), "ZeroDivisionError", "-debug")
    assert "Run()" in line


@pytest.mark.parametrize("block,section", [("evaluate", "evaluate"), ("exploration", "exploration"),
                                           ("sampling", "sampling")])
def test_a_plugin_object_without_its_methods_is_named_in_plain_english(tmp_path, block, section):
    simple(tmp_path, **{section: {"plugin": "lazy.py"}})
    write(tmp_path / "lazy.py", "class L:\n    pass\ndef GetObject(fw): return L()\n")
    article = "an" if block[0] in "aeiou" else "a"
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), f"{section}.plugin",
                      "its object has no Initialize()", f"; {article} {block} plugin's object needs Initialize()")


def test_a_csv_saved_by_excel_with_a_byte_order_mark_is_read(tmp_path):
    simple(tmp_path)
    (tmp_path / "pre.csv").write_bytes("a,b,t\r\n0,1,100\r\n3,2,555\r\n".encode("utf-8-sig"))
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", cwd=tmp_path)
    assert r.rc == 0 and "2 rows read, 2 new in the store" in r.err, r
    rows = {(x["a"], x["b"]): x["t"] for x in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")}
    assert rows[("0", "1")] == "100" and rows[("3", "2")] == "555"


def test_an_excel_csv_with_semicolons_reads_decimal_commas(tmp_path):
    # Excel where the decimal mark is a comma: "cost 't' is not a number: '12,5'"
    simple(tmp_path, knobs=[{"name": "a", "values": "0-6"}, {"name": "b", "values": [1, 2.5]}])
    (tmp_path / "pre.csv").write_bytes("a;b;t\r\n0;1;12,5\r\n3;2,5;-0,25\r\n4;1;1,5e3\r\n".encode("utf-8-sig"))
    r = run_deffe("-config", "config.json", "-pre-evaluated-data", "pre.csv", "-only-preloaded-data-exploration",
                  "-no-train", cwd=tmp_path)
    assert r.rc == 0 and "3 rows read, 3 new in the store" in r.err, r
    rows = {(x["a"], x["b"]): x["t"] for x in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")}
    assert rows == {("0", "1"): "12.5", ("3", "2.5"): "-0.25", ("4", "1"): "1500"}


def test_a_file_that_is_no_table_is_named_in_one_short_line(tmp_path):
    # the config itself given as data: its whole text is "line 1", and the hint listed every piece of it
    simple(tmp_path)
    write(tmp_path / "big.json", json.dumps({"knobs": [{"name": f"k{i}", "values": list(range(40))}
                                                      for i in range(30)]}))
    line = assert_user_error(run_deffe("-config", "config.json", "-pre-evaluated-data", "big.json", cwd=tmp_path),
                             "big.json:line 1: no column for knobs a, b", "the columns are: ", "columns)")
    assert len(line) < 300


@pytest.mark.parametrize("flags,message", [
    (["-max-samples", "-5"], "-max-samples: must be at least 1, got -5"),
    (["-samples-per-step", "0"], "-samples-per-step: must be at least 1, got 0"),
    (["-fixed-samples", "0"], "-fixed-samples: must be at least 1, got 0"),   # the flag as typed
    (["-jobs", "0"], "-jobs: must be at least 1, got 0; give -jobs 1 or more"),   # and what to do
    (["-epochs", "0"], "-epochs: must be at least 1, got 0"),
    (["-custom-samples", "10", "5"], "-custom-samples: cumulative sample counts must be positive and increasing"),
    (["-train-test-split", "1.5"], "-train-test-split: must be a fraction in (0, 1], got 1.5"),
    (["-validation-split", "1"], "-validation-split: must be a fraction in [0, 1), got 1"),
    (["-learning-rate", "-0.1"], "-learning-rate: must be above 0, got -0.1"),
    (["-lr", "0"], "-lr: must be above 0, got 0"),
    (["-step-start", "2", "-step-end", "1"], "-step-end 1 is not after -step-start 2"),
    (["-max-samples", "five"], "argument -max-samples: invalid int value: 'five'"),
    # Deffe's: 0 was taken as "not given"
    (["-init-batch-samples", "0"], "-init-batch-samples: must be at least 1, got 0"),
    (["-evaluate-batch-size", "0"], "-evaluate-batch-size: must be at least 1, got 0"),
    (["-mlmodel-batch-size", "-2"], "-mlmodel-batch-size: must be at least 1, got -2"),
])
def test_every_number_on_the_command_line_is_checked(tmp_path, flags, message):
    simple(tmp_path)
    assert_user_error(run_deffe("-config", "config.json", *flags, cwd=tmp_path), message)
    assert not (tmp_path / "explore").exists()


@pytest.mark.parametrize("flags, message", [
    (["-loss", "bogus"], "error: -loss: 'bogus' is not a loss"),
    # Keras's name of a loss here: it suggested 'mean_squared_error', a squared loss
    (["-loss", "mean_absolute_error"], "is not a loss: one of mse, huber, mae, custom_mean_abs_log_loss, "
                                       "custom_mean_abs_exp_loss (or Deffe's mean_squared_error, mean_squared_error_int, "
                                       "custom_mean_abs_loss); write 'mae' (the name here of mean_absolute_error)"),
    (["-sampling-method", "bogus"], "error: -sampling-method: plugin 'bogus' for sampling not found"),
    (["-icp", "mlp.ckpt", "-freeze-layers", "1"], "error: -freeze-layers: freeze_layers applies to the torch models, not to sklearn_rf"),
])
def test_an_error_about_a_flag_names_the_flag_not_the_config(tmp_path, flags, message):
    simple(tmp_path, model={"plugin": "sklearn_rf"})
    write(tmp_path / "mlp.ckpt", "a checkpoint of a torch model")
    line = assert_user_error(run_deffe("-config", "config.json", "-no-run", *flags, cwd=tmp_path), message)
    assert "config.json" not in line


def test_a_keras_loss_in_the_config_gets_the_loss_it_means_here(tmp_path):
    simple(tmp_path, model={"loss": "Mean_Absolute_Error"})
    assert_user_error(run_deffe("-config", "config.json", "-no-run", cwd=tmp_path),
                      "config.json:model.loss: 'Mean_Absolute_Error' is not one of mse, huber, mae, ")
    simple(tmp_path, model={"loss": "mape"})
    line = assert_user_error(run_deffe("-config", "config.json", "-no-run", cwd=tmp_path), "model.loss")
    assert line.endswith("write 'custom_mean_abs_exp_loss' (the name here of mape)"), line


def test_a_bad_loss_flag_is_found_before_anything_is_stored_or_moved(tmp_path):
    simple(tmp_path, model={"plugin": "sklearn_rf"}, exploration={"max_samples": 4})
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    write(tmp_path / "pre.csv", "a,b,t\n0,1,1\n")
    r = run_deffe("-config", "config.json", "-fresh", "-loss", "bogus", "-pre-evaluated-data", "pre.csv", cwd=tmp_path)
    assert_user_error(r, "error: -loss:")
    assert not (tmp_path / "explore.1").exists() and len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 4


def test_pre_evaluated_data_from_a_pipe_is_read_once(tmp_path):
    import subprocess
    import sys
    from cli_helpers import RUN_DEFFE, deffe_env
    simple(tmp_path)
    p = subprocess.run([sys.executable, str(RUN_DEFFE), "-config", "config.json", "-pre-evaluated-data", "/dev/stdin",
                        "-only-preloaded-data-exploration", "-no-train"], input="a,b,t\n0,1,1\n1,1,2\n2,1,3\n",
                       cwd=tmp_path, env=deffe_env(), capture_output=True, text=True, timeout=900)
    assert p.returncode == 0 and "0 evaluated now, 3 from the store" in p.stdout, p
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 3


def test_a_number_written_as_text_is_refused_in_our_keys_and_read_in_deffes(tmp_path):
    simple(tmp_path, exploration={"max_samples": "5"})
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path),
                      "config.json:exploration.max_samples: expected an integer, got text ('5'); "
                      "write 5 without quotes")
    simple(tmp_path, evaluate={"batch_size": "2", "slurm": "False"})   # Deffe wrote its own keys so
    assert run_deffe("-config", "config.json", "-max-samples", "4", cwd=tmp_path).rc == 0


def test_the_driver_runs_with_the_checkout_on_pythonpath(tmp_path):
    """As on a Dask worker or in a SLURM job, where PYTHONPATH names the checkout: framework/ (the script's
    own folder, which Python puts first on the path) must not hide the plugins package behind
    framework/plugins.py."""
    from cli_helpers import ROOT
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': p['a'] + 1}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-5"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "exploration": {"plugin": "sampling", "max_samples": 4}}))
    r = run_deffe("-config", "config.json", "-no-train", cwd=tmp_path, env={"PYTHONPATH": str(ROOT)}, real=True)
    assert r.rc == 0, r
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 4


def test_a_run_log_that_cannot_be_written_is_one_warning_and_the_run_goes_on(tmp_path, capsys):
    import errno
    from framework.cli import _setup_logging

    class FullDisk:
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            pass

    log = _setup_logging(tmp_path, "deffe.log", quiet=False, debug=False)
    log.handlers[-1].stream = FullDisk()
    for i in range(3):
        log.info(f"message {i}")
    err = capsys.readouterr().err
    assert "Logging error" not in err and "Traceback" not in err
    assert err.count("the run log cannot be written (No space left on device)") == 1
    assert "message 2" in err   # stderr still gets every message
    log.handlers.clear()


def test_a_knob_repeated_thousands_of_times_runs_and_prints_its_space_and_front_in_short(tmp_path):
    """count 5,000 (config.md allows 10,000): the space's size has 5,001 digits, which Python refuses to write
    (it was a traceback), and the front printed 5,000 values a line."""
    simple(tmp_path, knobs=[{"name": "d", "values": "0-10", "count": 5000}],
           exploration={"plugin": "sampling", "samples_per_step": 2, "max_samples": 2})
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': sum(p[f'd_{i}'] for i in range(5000))}\n")
    run = run_deffe("-config", "config.json", "-jobs", "1", cwd=tmp_path)
    assert run.rc == 0, run
    assert "5000 knobs (d x5000), space of 1e+5000 points" in run.err
    front = [line for line in run.out.splitlines() if line.strip().startswith("d=[")]
    assert front and all("(4968 more)" in line and len(line) < 200 for line in front)
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 2


def test_deffes_tables_never_replace_the_runs_own_in_the_same_directory(tmp_path):
    """run_directory '.' with two explorations: Deffe's e1-deffe_output.csv (its 'all' table) replaced ours of
    the same name, the prefix being left out of the check; Deffe's tables of other names are still written."""
    simple(tmp_path, knobs=[{"name": "a", "values": "0-6", "groups": "g1"}, {"name": "b", "values": [1, 2], "groups": "g2"}],
           exploration={"explore": [{"name": "e1", "groups": "g1"}, {"name": "e2", "groups": "g2"}]},
           framework={"run_directory": ".", "deffe_tables": True}, model={"plugin": None})
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': p.get('a', 0) * 10 + p.get('b', 0)}\n")
    run = run_deffe("-config", "config.json", cwd=tmp_path)
    assert run.rc == 0, run
    for e in ("e1", "e2"):
        assert "status" in read_csv(tmp_path / f"{e}-deffe_output.csv")[0]   # ours, not Deffe's
        assert (tmp_path / f"{e}-deffe_eval_predict.csv").exists()           # Deffe's, of another name
    assert "the original Deffe's all table is not written" in run.err


def test_deffes_tables_of_several_explorations_are_written_under_the_names_each_entry_gives(tmp_path):
    """Two explore entries naming t1.csv and t2.csv: Deffe's tables were written as e1-t1.csv and e2-t2.csv
    (and with run_directory '.', not at all); now t1.csv and t2.csv. Entries sharing Deffe's default names
    have theirs prefixed by the exploration's name, with one warning saying so."""
    knobs = [{"name": "a", "values": "0-6", "groups": "g1"}, {"name": "b", "values": [1, 2], "groups": "g2"}]
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': p.get('a', 0) * 10 + p.get('b', 0)}\n")
    named = [{"name": "e1", "groups": "g1", "evaluation_table": "t1.csv"},
             {"name": "e2", "groups": "g2", "evaluation_table": "t2.csv"}]
    for run_dir in ("explore", "."):
        d = tmp_path / run_dir.replace(".", "here")
        d.mkdir()
        simple(d, knobs=knobs, exploration={"explore": named}, model={"plugin": None},
               framework={"run_directory": run_dir, "deffe_tables": True})
        write(d / "ev.py", (tmp_path / "ev.py").read_text())
        run = run_deffe("-config", "config.json", cwd=d)
        assert run.rc == 0, run
        assert len((d / "t1.csv").read_text().splitlines()) == 7 and (d / "t1.csv").read_text().startswith("a, t")
        assert len((d / "t2.csv").read_text().splitlines()) == 3
        assert not [w for w in run.err.splitlines() if w.startswith("warning") and ("t1.csv" in w or "t2.csv" in w)]
    d = tmp_path / "defaults"
    d.mkdir()
    simple(d, knobs=knobs, exploration={"explore": [{"name": "e1", "groups": "g1"}, {"name": "e2", "groups": "g2"}]},
           model={"plugin": None}, framework={"deffe_tables": True})
    write(d / "ev.py", (tmp_path / "ev.py").read_text())
    run = run_deffe("-config", "config.json", cwd=d)
    assert run.rc == 0, run
    assert (d / "e1-deffe_evaluation.csv").exists() and (d / "e2-deffe_evaluation.csv").exists()
    assert not (d / "deffe_evaluation.csv").exists()
    assert run.err.count("the explorations 'e1', 'e2' name the same original Deffe's tables") == 1


@pytest.mark.parametrize("flags", [["-show-defaults"], ["-config", "config.json", "-no-run"]])
def test_output_into_a_reader_that_stopped_ends_quietly(tmp_path, flags):
    """`run_deffe ... | head -1`: a reader gone before the output is written (a pipe whose reading end is
    closed, so that every write fails, whatever the timing) ends quietly with the status of SIGPIPE: no
    traceback, and no 'cannot write the run directory' (the run directory is fine; -no-run writes none)."""
    import os
    import subprocess
    import sys

    from cli_helpers import HANG_GUARD, RUN_DEFFE, deffe_env
    simple(tmp_path)
    read, written = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, str(RUN_DEFFE), *flags], cwd=tmp_path, env=deffe_env(),
                              stdout=written, stderr=subprocess.PIPE, text=True, timeout=HANG_GUARD)
    finally:
        os.close(written)
    assert proc.returncode == 141, (proc.returncode, proc.stderr)
    assert not any(w in proc.stderr for w in ("Traceback", "error", "Exception", "Broken pipe")), proc.stderr
    assert not (tmp_path / "explore").exists()
