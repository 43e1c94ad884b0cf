"""A user plugin that breaks its block's contract (framework/contract.py): one line naming the plugin, exit
status 2, never a traceback; a plugin that calls sys.exit() is a crash like any other."""
from __future__ import annotations

import json

import pytest

from cli_helpers import assert_runtime_error, assert_user_error, read_csv, run_deffe, write

HEAD = "import sys\nimport numpy as np\nfrom framework.protocols import Proposal, Prediction\n"


def setup(tmp_path, xp=None, mp=None, sp=None, evp=None, exp=None, **cfg):
    """Knobs x (12 levels) and z (real 1..100), cost t; a plugin of the exploration (xp), model (mp),
    sampling (sp), evaluate (evp), extract (exp) block given by the body of its class; ``cfg``: sections."""
    data = {"python_path": ["."],
            "knobs": [{"name": "x", "values": list(range(1, 13))}, {"name": "z", "type": "real", "min": 1, "max": 100}],
            "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
            "model": {"plugin": None},
            "exploration": {"plugin": "sampling", "samples_per_step": 4, "max_samples": 12}}
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': p['x'] * p['z']}\n")
    for block, body, name in (("exploration", xp, "xp"), ("model", mp, "mp"), ("sampling", sp, "sp"),
                              ("evaluate", evp, "evp"), ("extract", exp, "exp")):
        if body is None:
            continue
        write(tmp_path / f"{name}.py", HEAD + "class P:\n    def __init__(self, fw): self.fw = fw; self.step = 0\n"
                                           "    def Initialize(self): pass\n" + body + "def GetObject(fw): return P(fw)\n")
        data[block] = {**data.get(block, {}), "plugin": name}
    for k, v in cfg.items():
        data[k] = {**data.get(k, {}), **v}
    write(tmp_path / "cfg.json", json.dumps(data))


def run(tmp_path, *flags):
    return run_deffe("-config", "cfg.json", "-jobs", "1", *flags, cwd=tmp_path)


# an exploration whose Run proposes 4 new points a step
STEPS = ("    def Run(self):\n        self.step += 1\n"
         "        return Proposal(np.array([[i % 12, 1.0 + i * 0.5 + self.step * 7] for i in range(4)]))\n")
TELL = "    def Tell(self, codes, results): pass\n"
PREDICT = "    def Predict(self, codes): return Prediction(np.zeros((len(codes), 1)), np.ones((len(codes), 1)))\n"
SURROGATE = {"exploration": {"plugin": "surrogate", "samples_per_step": 4, "max_samples": 16}}


@pytest.mark.parametrize("case", ["tell", "model", "init"])
def test_a_plugin_calling_sys_exit_is_a_one_line_error(tmp_path, case):
    # the run ended quietly with the plugin's exit status: 0 after 4 of 12 samples, or 5 with nothing printed
    if case == "tell":
        setup(tmp_path, xp=STEPS + "    def Tell(self, codes, results): sys.exit(0)\n")
        fragments = ("exploration plugin 'xp' failed in Tell(): SystemExit: 0",)
    elif case == "model":
        setup(tmp_path, mp="    def Run(self, data):\n        self.step += 1\n"
                              "        if self.step >= 2: sys.exit(0)\n        return {}\n" + PREDICT, **SURROGATE)
        fragments = ("ml_model plugin 'mp' failed in Run(): SystemExit: 0",)
    else:
        setup(tmp_path, evp="    def Initialize(self): sys.exit(5)\n    def Run(self, s): return 1.0\n")
        r = run(tmp_path)
        assert_user_error(r, "evaluate plugin 'evp' failed in Initialize(): SystemExit: 5")
        assert not (tmp_path / "explore").exists()
        return
    assert_runtime_error(run(tmp_path), *fragments)


@pytest.mark.parametrize("call,shown", [("sys.exit(0)", "SystemExit: 0"), ("sys.exit('tool missing')",
                                                                         "SystemExit: tool missing")])
def test_a_plugin_calling_sys_exit_in_get_object_is_a_one_line_error(tmp_path, monkeypatch, call, shown):
    # the run ended silently with status 0 (sys.exit("msg"): the bare text, status 1); explore() raised SystemExit
    import framework
    from framework.errors import DeffeError
    setup(tmp_path, sp="    def Run(self, n): return None\n")
    write(tmp_path / "sp.py", f"import sys\ndef GetObject(fw):\n    {call}\n")
    assert_user_error(run(tmp_path), "cfg.json:sampling.plugin:", f"'sp' for sampling: GetObject failed: {shown}")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DeffeError, match=f"GetObject failed: {shown}"):
        framework.explore(tmp_path / "cfg.json", run_dir=tmp_path / "r")


def test_the_python_api_raises_a_deffe_error_for_a_plugin_calling_sys_exit(tmp_path, monkeypatch):
    import framework
    from framework.errors import DeffeError
    setup(tmp_path, xp=STEPS + "    def Tell(self, codes, results): sys.exit(0)\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DeffeError, match=r"exploration plugin 'xp' failed in Tell\(\): SystemExit: 0"):
        framework.explore(tmp_path / "cfg.json", run_dir=tmp_path / "r")


@pytest.mark.parametrize("flags", [(), ("-async",)])
@pytest.mark.parametrize("returned,fragment", [
    ("np.array([[1.0, 2.0 + self.step]])", "Run() returned a numpy.ndarray, not a Proposal"),
    ("[[1.0, 2.0]]", "Run() returned a list, not a Proposal"),
    ("{'codes': [[1.0, 2.0]]}", "Run() returned a dict, not a Proposal"),
    ("Proposal([['a', 'b']])", "Run() proposed a point outside the space: row 0: ['a', 'b'] is not a row of numbers"),
    ("Proposal([[1.0, 2.0], [3.0]])", "Run() proposed a point outside the space: row 1: [3.0] is not a row of 2"),
    ("Proposal([[99.0, 2.0]])", "Run() proposed a point outside the space: row 0: 99 is not a code of knob 'x' "
                                "(its codes are the indices 0 to 11 of its values 1, 2"),
])
def test_an_exploration_returning_no_proposal_or_bad_codes_is_named(tmp_path, returned, fragment, flags):
    # a traceback (AttributeError: no attribute 'codes', could not convert string to float, inhomogeneous
    # shape); with -async the message outside the space did not name the plugin
    setup(tmp_path, xp=f"    def Run(self):\n        self.step += 1\n        return {returned}\n" + TELL)
    assert_runtime_error(run(tmp_path, *flags), "exploration.plugin:", f"exploration plugin 'xp': {fragment}")


@pytest.mark.parametrize("extra,fragment", [
    ("predicted=np.zeros((3, 5)), prediction=Prediction(np.zeros((2, 1)))",
     "Run() predicted a point outside the space: expected rows of 2 codes"),
    ("predicted=np.array([[99.0, 999.0]]), prediction=Prediction(np.zeros((1, 1)))",
     "Run() predicted a point outside the space: row 0: 99 is not a code of knob 'x'"),
    ("predicted=c[:2], prediction=[[1.0], [2.0]]", "prediction is a list, not a Prediction"),
    ("predicted=c[:2], prediction=Prediction(np.zeros((3, 1)))", "mean has shape (3, 1), not (n, c) = (2, 1)"),
])
def test_a_proposal_with_a_malformed_prediction_is_named_before_anything_is_evaluated(tmp_path, extra, fragment):
    # IndexError / AttributeError tracebacks, after the step's evaluations were stored
    setup(tmp_path, xp="    def Run(self):\n"
                                "        c = np.array([[i % 12, 1.0 + i] for i in range(4)], dtype=float)\n"
                                f"        return Proposal(c, {extra})\n" + TELL)
    assert_runtime_error(run(tmp_path), "exploration plugin 'xp':", fragment)
    table = tmp_path / "explore" / "deffe_evaluation.csv"
    assert not table.exists() or read_csv(table) == []


@pytest.mark.parametrize("predict,fragment", [
    ("Prediction(np.zeros((len(codes) + 3, 2)))", "Predict() returned a Prediction whose mean has shape"),
    ("Prediction(np.zeros(len(codes)))", "Predict() returned a Prediction whose mean has shape"),
    ("[[0.0]] * len(codes)", "Predict() returned a list, not a Prediction"),
    ("np.zeros((len(codes), 1))", "Predict() returned a numpy.ndarray, not a Prediction"),
    ("None", "Predict() returned a None, not a Prediction"),
    ("Prediction(np.full((len(codes), 1), 'a'))", "Predict() returned a Prediction whose mean is not numbers"),
    ("Prediction(np.full((len(codes), 1), np.nan))", "whose mean is NaN for every point and cost"),
    ("Prediction(np.full((len(codes), 1), np.inf))", "whose mean is inf (row 0, cost 0): a predicted cost is a finite"),
    ("Prediction(np.where(np.arange(len(codes))[:, None] == 1, -np.inf, 1.0))", "whose mean is -inf (row 1, cost 0)"),
    ("Prediction(np.zeros((len(codes), 1)), -np.ones((len(codes), 1)))", "whose std is -1"),
    ("Prediction(np.zeros((len(codes), 1)), np.full((len(codes), 1), np.nan))", "whose std is nan"),
    ("Prediction(np.zeros((len(codes), 1)), None, np.full(len(codes), 2.0))", "whose feasible is 2"),
    ("Prediction(np.zeros((len(codes), 1)), None, np.ones((len(codes), 3)))", "whose feasible has shape"),
    ("Prediction(np.zeros((len(codes), 1)), None, None, np.zeros((len(codes), 1)))", "whose members are not"),
])
def test_a_model_predicting_the_wrong_thing_is_named(tmp_path, predict, fragment):
    # tracebacks from the driver's training, or a broadcast error blamed on the surrogate exploration; a
    # negative or NaN std and a feasibility outside [0, 1] were used without a word
    setup(tmp_path, mp=f"    def Run(self, data): return {{}}\n    def Predict(self, codes): return {predict}\n",
          **SURROGATE)
    assert_runtime_error(run(tmp_path), "model.plugin:", "ml_model plugin 'mp':", fragment)


@pytest.mark.parametrize("flags", [(), ("-async",)])
def test_a_model_changing_the_codes_it_predicts_is_named_not_the_exploration(tmp_path, flags):
    # Predict scaled its codes in place: the surrogate exploration's candidates changed under it, and the run
    # stopped with "exploration plugin 'surrogate': Run() proposed a point outside the space"
    setup(tmp_path, mp="    def Run(self, data): return {}\n"
                       "    def Predict(self, codes):\n        X = np.asarray(codes)\n        X /= 5.0\n"
                       "        return Prediction(X[:, :1].copy(), np.ones((len(X), 1)))\n", **SURROGATE)
    err = assert_runtime_error(run(tmp_path, *flags), "model.plugin:", "ValueError: output array is read-only")
    assert "surrogate" not in err
    if not flags:
        assert "ml_model plugin 'mp' failed in Predict(): ValueError:" in err and "change a copy" in err, err
    else:   # in the training process: named once, not "the model plugin failed in training: DeffeError: ..."
        assert "ml_model plugin 'mp' failed while training" in err and "DeffeError" not in err, err


def test_inference_predicts_with_read_only_codes_and_writes_the_rows_it_read(tmp_path):
    # -inference-only wrote the rows as the model had changed them
    import numpy as np
    from framework.protocols import Prediction
    from framework.contract import frozen, predicted
    from framework.errors import DeffeError

    class Scaling:
        def Predict(self, codes):
            X = np.asarray(codes)
            X /= 5.0
            return Prediction(X[:, :1].copy())

    codes = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(DeffeError, match=r"ml_model plugin 'sc' failed in Predict\(\): ValueError: .*read-only"):
        predicted(Scaling(), codes, 1, "sc")
    assert codes.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    out = frozen(codes)
    assert not out.flags.writeable and out is not codes and codes.flags.writeable


def test_inference_refuses_an_infinite_or_empty_prediction_naming_the_model():
    # -inference-only and run.model.predict() wrote inf, or nothing at all, without a word
    import numpy as np
    from framework.contract import predicted
    from framework.errors import DeffeError
    from framework.protocols import Prediction

    class Constant:
        def __init__(self, value): self.value = value
        def Predict(self, codes): return Prediction(np.full((len(codes), 2), self.value))

    codes = np.array([[1.0, 2.0], [3.0, 4.0]])
    for value, what in ((np.inf, "mean is inf"), (np.nan, "mean is NaN for every point and cost")):
        with pytest.raises(DeffeError, match=rf"ml_model plugin 'c': Predict\(\) returned a Prediction whose {what}"):
            predicted(Constant(value), codes, 2, "c")
    half = Constant(1.0)
    half.Predict = lambda codes: Prediction(np.column_stack([np.ones(len(codes)), np.full(len(codes), np.nan)]))
    assert np.isnan(predicted(half, codes, 2, "c").mean[:, 1]).all()   # a cost nothing is known of: NaN is fine


def test_a_model_whose_run_returns_no_dict_is_named(tmp_path):
    setup(tmp_path, mp="    def Run(self, data): return [1, 2]\n" + PREDICT, **SURROGATE)
    assert_runtime_error(run(tmp_path), "ml_model plugin 'mp': Run() returned a list, not a dict")


@pytest.mark.parametrize("flags", [(), ("-async",)])
@pytest.mark.parametrize("report,fragment", [
    ("{'history': [0.5, 0.4]}", "Run() returned a report whose 'history' record 0 is 0.5: expected a dict"),
    ("{'history': [{'epoch': 0, 'train_loss': 'n/a'}]}",
     "Run() returned a report whose 'history' record 0 has train_loss 'n/a': expected a number or None"),
    ("{'history': [{'train_loss': 0.5}]}", "'history' record 0 has epoch None: expected a number"),
    ("{'history': 0.5}", "'history' is a float (0.5): expected a list of per-epoch dicts"),
    ("{'selection': {'k': 3}}", "Run() returned a report whose 'selection' gives 'k' 3: expected a dict"),
    ("{'selection': {'k': {'score': 'low'}}}", "'selection' gives 'k' score 'low': expected a number or None"),
    ("{'train_seconds': 'fast'}", "Run() returned a report whose 'train_seconds' is 'fast': expected a number"),
    ("{'chosen': 3}", "Run() returned a report whose 'chosen' is 3: expected a name"),
])
def test_a_model_report_the_framework_cannot_read_is_named(tmp_path, report, fragment, flags):
    # tracebacks (exit status 1): AttributeError 'float' object has no attribute 'get' (history of numbers,
    # with -model-stats-output; a selection entry that is no dict), ValueError: Unknown format code 'g' (a text
    # loss), TypeError (train_seconds)
    setup(tmp_path, mp=f"    def Run(self, data): return {report}\n" + PREDICT, **SURROGATE)
    err = assert_runtime_error(run(tmp_path, "-model-stats-output", "stats.csv", *flags), "model.plugin:", fragment)
    assert "ml_model plugin 'mp'" in err


def test_a_model_report_is_stored_as_json_with_its_keys_as_text(tmp_path):
    # a tuple key: TypeError: keys must be str, int, float, bool or None, not tuple (a traceback, exit status 1)
    setup(tmp_path, mp="    def Run(self, data): return {('t', 'mape'): 0.1, 'weights': np.arange(3),"
                       " 'n': np.int64(4), 'metrics': 'mine', 'checkpoint': '/etc/passwd'}\n" + PREDICT, **SURROGATE)
    r = run(tmp_path)
    assert r.rc == 0, r
    import sqlite3
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        texts = [row[0] for row in db.execute("SELECT info FROM steps")]
    reports = [json.loads(t)["model"] for t in texts if "model" in json.loads(t)]
    assert reports
    for rep in reports:
        assert rep["('t', 'mape')"] == 0.1 and rep["weights"] == [0, 1, 2] and rep["n"] == 4
        assert rep["metrics"] != "mine" and rep.get("checkpoint") != "/etc/passwd"   # the framework's own keys


@pytest.mark.parametrize("exploration", ["surrogate", "genetic", "hill_climbing"])
def test_a_sampler_that_crashes_under_another_exploration_is_the_one_named(tmp_path, exploration):
    # "exploration plugin 'surrogate' failed in Run(): ZeroDivisionError" ('genetic' ... in Initialize())
    setup(tmp_path, sp="    def Run(self, count): return 1 / 0\n",
          exploration={"plugin": exploration}, model={"plugin": "sklearn_rf"})
    assert_runtime_error(run(tmp_path), "sampling.plugin:", "sampling plugin 'sp' failed in Run(): ZeroDivisionError")


@pytest.mark.parametrize("exploration", ["sampling", "surrogate"])
def test_a_sampler_returning_none_has_no_more_points(tmp_path, exploration):
    # under the surrogate: "object of type 'NoneType' has no len()" blamed on the surrogate
    setup(tmp_path, sp="    def Run(self, count): return None\n", exploration={"plugin": exploration},
          model={"plugin": "sklearn_rf"})
    r = run(tmp_path)
    # none on its first call: said, not an empty run 'finished' without a word (a forgotten return?)
    assert r.rc == 0 and "the exploration proposed no point at all; 0 evaluated now" in r.out, r
    assert "warning: exploration 'explore_0' proposed no point at all" in r.err


@pytest.mark.parametrize("returned", ["[['a', 'b']] * count", "[[1.0, 2.0], [3.0]]"])
def test_a_sampler_returning_text_or_ragged_rows_is_named(tmp_path, returned):
    setup(tmp_path, sp=f"    def Run(self, count): return {returned}\n")
    assert_runtime_error(run(tmp_path), "sampling plugin 'sp': Run() proposed a point outside the space")


def test_a_sampler_returning_more_than_asked_is_cut_to_the_step(tmp_path):
    # 10 rows for a step of 4: the step evaluated 10 (cut only to the budget)
    setup(tmp_path, sp="    def Run(self, count):\n        self.step += 1\n"
                             "        return np.column_stack([np.arange(10) % 12, 1.0 + np.arange(10) + 10 * self.step])\n")
    r = run(tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 12
    import sqlite3
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:
        steps = [n for (n,) in db.execute("select count(*) from samples group by step order by step")]
    assert steps == [4, 4, 4], steps


def test_an_extract_plugin_that_always_crashes_is_the_one_named(tmp_path):
    # "evaluate.plugin: ... a bug in the python evaluation": the extract plugin was never named
    setup(tmp_path, exp="    def Run(self, sample, output): raise RuntimeError('extract boom')\n")
    write(tmp_path / "ev.py", "def evaluate(p):\n    return 'output'\n")
    assert_runtime_error(run(tmp_path), "cfg.json:extract.plugin:", "RuntimeError: extract boom",
                         "a bug in the extract plugin 'exp'")


def test_an_extract_plugin_crashing_with_each_samples_path_is_the_one_named(tmp_path):
    # FileNotFoundError: .../explore_7/results.txt: the message differed in each sample's directory, so the bug
    # was not seen as one: all 12 samples failed and the run ended with status 0
    setup(tmp_path, exp="    def Run(self, sample, output):\n"
                         "        return {'t': float((sample.directory / 'results.txt').read_text())}\n")
    write(tmp_path / "ev.py", "def evaluate(p):\n    return 'output'\n")
    r = run(tmp_path)
    assert_runtime_error(r, "cfg.json:extract.plugin:", "FileNotFoundError", "a bug in the extract plugin 'exp'")
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) < 12


def test_an_evaluate_plugin_whose_fingerprint_crashes_is_named(tmp_path):
    setup(tmp_path, evp="    def Run(self, s): return {'t': s.values['x'] * s.values['z']}\n"
                             "    def Fingerprint(self): raise RuntimeError('fp boom')\n")
    assert_user_error(run(tmp_path), "evaluate plugin 'evp' failed in Fingerprint(): RuntimeError: fp boom")
    assert not (tmp_path / "explore").exists()


def test_an_evaluate_fingerprint_that_is_not_plain_json_is_refused_at_the_first_run(tmp_path):
    # a set's text differs between processes (string hashing is randomised): the run was accepted, and the same
    # command on the same files then refused to resume ("made with different evaluate settings")
    setup(tmp_path, evp="    def Run(self, s): return {'t': s.values['x'] * s.values['z']}\n"
                         "    def Fingerprint(self): return {'inputs': {'a.dat', 'b.dat'}}\n")
    assert_user_error(run(tmp_path), "cfg.json:evaluate.plugin:", "evaluate plugin 'evp': Fingerprint() returned a "
                      "set at ['inputs']", "plain JSON only")
    assert not (tmp_path / "explore").exists()
    # plain JSON (a list of digests, None) is what it may say
    setup(tmp_path, evp="    def Run(self, s): return {'t': s.values['x'] * s.values['z']}\n"
                         "    def Fingerprint(self): return [['a.dat', 'ab12'], None, 1.5]\n")
    assert run(tmp_path).rc == 0


@pytest.mark.parametrize("units", ["'s'", "['s']"])
def test_evaluate_units_that_are_no_dict_are_named(tmp_path, units):
    setup(tmp_path, evp="    def Run(self, s): return {'t': s.values['x'] * s.values['z']}\n"
                             f"    units = {units}\n")
    assert_user_error(run(tmp_path), "evaluate plugin 'evp': its units attribute is", "not a dict")
    assert not (tmp_path / "explore").exists()


def test_an_exploration_report_that_is_no_dict_is_named(tmp_path):
    setup(tmp_path, xp=STEPS + TELL + "    def Report(self): return ['done']\n")
    assert_runtime_error(run(tmp_path), "exploration plugin 'xp': Report() returned a list, not a dict")
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 12   # the results stay


@pytest.mark.parametrize("flags", [(), ("-async",)])
def test_a_point_proposed_several_times_in_a_step_is_one_sample_of_the_budget(tmp_path, flags):
    # "evaluation budget of 12 samples reached; 9 evaluated now": 9 rows for a max_samples of 12
    setup(tmp_path, xp="    def Run(self):\n        self.step += 1\n"
                                "        if self.step == 1: return Proposal(np.array([[1.0, 50.0]] * 4))\n"
                                "        return Proposal(np.array([[i % 12, 1.0 + i * 0.5 + self.step * 7] "
                                "for i in range(4)]))\n" + TELL)
    r = run(tmp_path, *flags)
    assert r.rc == 0 and "evaluation budget of 12 samples reached; 12 evaluated now" in r.out, r
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 12


@pytest.mark.parametrize("flags", [(), ("-async",)])
def test_a_sampler_that_only_repeats_itself_ends_the_exploration(tmp_path, flags):
    # it ended at the budget with 1 row; it must still end, with its reason
    setup(tmp_path, sp="    def Run(self, count): return [[1, 5]] * count\n")
    r = run(tmp_path, *flags)
    assert r.rc == 0 and "proposed only points already evaluated in this run; 1 evaluated now" in r.out, r
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 1


def test_an_extract_plugin_crashing_deep_inside_is_the_one_named(tmp_path):
    # raised ten calls deep, the extract.Run( line fell out of the stored traceback's last frames: the run
    # stopped blaming "a bug in the python evaluation"
    setup(tmp_path, exp="    def Run(self, sample, output): return deep(10)\n"
                        "def deep(n):\n    if n == 0:\n        raise RuntimeError('deep boom')\n"
                        "    return deep(n - 1)\n")
    write(tmp_path / "ev.py", "def evaluate(p):\n    return 'output'\n")
    assert_runtime_error(run(tmp_path), "cfg.json:extract.plugin:", "RuntimeError: deep boom",
                         "a bug in the extract plugin 'exp'")


def test_an_extract_plugin_whose_costs_never_match_is_the_one_named(tmp_path):
    # a cost the config names that the extract plugin never gives: blamed on the evaluation
    setup(tmp_path, exp="    def Run(self, sample, output): return {'other': 1.0}\n")
    write(tmp_path / "ev.py", "def evaluate(p):\n    return 'output'\n")
    assert_runtime_error(run(tmp_path), "cfg.json:extract.plugin:", "a bug in the extract plugin 'exp'")


LIFE = ("    def __init__(self, fw):\n        self.fw = fw; self.step = 0\n"
        "        open('life.txt', 'a').write(f'NAME GetObject {fw.explore.name}\\n')\n"
        "    def Initialize(self):\n        self.name = self.fw.explore.name\n"
        "        open('life.txt', 'a').write(f'NAME Initialize {self.name}\\n')\n")


def test_each_plugin_is_made_and_initialised_once_per_exploration_and_fingerprinted_for_each(tmp_path):
    # every plugin was built and initialised twice per exploration (a preflight copy, dropped), a search's
    # sampler was asked for its start points for nothing, and the fingerprint read only the last
    # exploration's evaluate plugin: a file only the first one's costs depend on could change unnoticed
    setup(tmp_path, evp="    def Run(self, s): return {'t': s.values['x'] * s.values['z']}\n"
                        "    def Fingerprint(self):\n        from framework.guard import file_digests\n"
                        "        return file_digests([self.name + '.dat'])\n",
          sp="    def Run(self, n):\n        open('life.txt', 'a').write(f'sp Run {self.name}\\n')\n"
             "        return np.array([[i % 12, 1.0 + i] for i in range(n)])\n",
          exploration={"plugin": "genetic", "options": {"population": 4}, "max_samples": 8,
                       "explore": [{"name": "e1"}, {"name": "e2"}]})
    for name in ("evp", "sp"):   # the plugins note their life in life.txt
        path = tmp_path / f"{name}.py"
        path.write_text(path.read_text().replace(
            "    def __init__(self, fw): self.fw = fw; self.step = 0\n    def Initialize(self): pass\n",
            LIFE.replace("NAME", name)))
    write(tmp_path / "e1.dat", "1")
    write(tmp_path / "e2.dat", "2")
    life = tmp_path / "life.txt"
    expected = [f"{m} {what} {e}" for e in ("e1", "e2") for m in ("sp", "evp") for what in ("GetObject", "Initialize")]
    for flags in (("-no-run",), ()):
        r = run(tmp_path, *flags)
        assert r.rc == 0, r
        lines = life.read_text().splitlines()
        assert sorted(line for line in lines if " Run " not in line) == sorted(expected), lines
        if flags:   # the dry run: each exploration's sampler gives the start population once
            assert [line for line in lines if " Run " in line] == ["sp Run e1", "sp Run e2"], lines
        life.unlink()
    write(tmp_path / "e1.dat", "changed")   # what the first exploration's costs depend on
    assert_user_error(run(tmp_path), "the stored run was made with different evaluate settings")


def test_a_users_file_named_like_a_builtin_takes_only_a_block_that_names_it(tmp_path):
    # a user's random.py (a helper, or a sampler) on python_path replaced the default sampler, which the config
    # never named ("plugin 'random' for sampling has no GetObject"); a model saved as surrogate.py became the
    # default exploration
    setup(tmp_path)
    write(tmp_path / "random.py", "HELPER = 1\n")
    r = run(tmp_path)
    assert r.rc == 0, r
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 12
    # named by the config: the user's file wins (python_path is searched first, as in Deffe), and a warning
    # names both
    write(tmp_path / "sobol.py", HEAD + "class P:\n    def __init__(self, fw): self.fw = fw\n"
                                        "    def Initialize(self): pass\n"
                                        "    def Run(self, n): return np.array([[3.0, 50.0]])\n"
                                        "def GetObject(fw): return P(fw)\n")
    setup(tmp_path, sampling={"plugin": "sobol"})
    r = run(tmp_path, "-fresh")
    assert r.rc == 0, r
    line = next(x for x in r.err.splitlines() if "sobol.py" in x)
    assert line.startswith("warning: cfg.json:sampling.plugin:") and "built-in sampling plugin 'sobol'" in line
    assert [row["x"] for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")] == ["4"]


PROXY = ("class Impl:\n    def Initialize(self): pass\n    def Run(self, s): return {'t': s.values['x'] * s.values['z']}\n"
         "class Proxy:\n    def __init__(self): i = Impl(); self.table = {'Initialize': i.Initialize, 'Run': i.Run}\n"
         "    def __getattr__(self, name): return self.table[name]\n")


@pytest.mark.parametrize("body,fragment", [
    ("class P:\n    def __init__(self, fw): pass\n    def Initialize(self): pass\n"
     "    def Run(self, s): return 1.0\n    @property\n    def units(self): return open('units.json').read()\n"
     "def GetObject(fw): return P(fw)\n",
     "evaluate plugin 'evp': reading its units attribute failed: FileNotFoundError"),
    (PROXY + "def GetObject(fw): return Proxy()\n", "evaluate plugin 'evp': reading its units attribute failed: "
                                                   "KeyError: 'units'"),
])
def test_a_plugin_attribute_that_raises_is_a_one_line_error_naming_it(tmp_path, body, fragment):
    # a units property that raised, or a proxy whose __getattr__ raised KeyError ('_deffe_plugin'), ended in a
    # traceback
    setup(tmp_path, evp="    def Run(self, s): return 1.0\n")
    write(tmp_path / "evp.py", body)
    assert_user_error(run(tmp_path), "cfg.json:evaluate.plugin:", fragment)


def test_a_proxy_plugin_whose_getattr_raises_key_error_for_private_names_runs(tmp_path):
    # KeyError: '_deffe_plugin' (the driver's look-up of its own stand-in) ended in a traceback
    setup(tmp_path, evp="    def Run(self, s): return 1.0\n")
    write(tmp_path / "evp.py", PROXY.replace("return self.table[name]", "return self.table[name] if "
                                             "name in self.table or name.startswith('_') else getattr(Impl(), name)")
          + "def GetObject(fw): return Proxy()\n")
    r = run(tmp_path)
    assert r.rc == 0, r
    assert len(read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == 12


def test_a_plugin_message_of_several_lines_is_a_one_line_error(tmp_path):
    # the error took three lines, "; run with -debug" on one without the 'error:' prefix
    setup(tmp_path, sp="    def Initialize(self):\n"
                       "        raise ValueError('cannot read the table:\\n  row 3: bad\\n  row 7: bad')\n"
                       "    def Run(self, n): return None\n")
    line = assert_user_error(run(tmp_path), "sampling plugin 'sp' failed in Initialize()")
    assert "cannot read the table: | row 3: bad | row 7: bad; run with -debug" in line


def test_a_float32_code_at_a_continuous_bound_is_the_bound(tmp_path):
    # "0.3 is not a code of knob 'z' (0.1 to 0.3)": the sampler's float32 0.3 is 0.30000001192
    setup(tmp_path, sp="    def Run(self, n):\n        if self.step: return None\n        self.step = 1\n"
                       "        return np.array([[0, 0.1], [1, 0.3]], dtype=np.float32)\n")
    data = json.loads((tmp_path / "cfg.json").read_text())
    data["knobs"][1].update({"min": 0.1, "max": 0.3})
    write(tmp_path / "cfg.json", json.dumps(data))
    r = run(tmp_path)
    assert r.rc == 0, r
    assert sorted(float(row["z"]) for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == [0.1, 0.3]


def test_a_proposal_of_none_is_named_as_such(tmp_path):
    # "got an array of shape (1, 1)"
    setup(tmp_path, xp="    def Run(self): return Proposal(None)\n" + TELL)
    assert_runtime_error(run(tmp_path), "exploration plugin 'xp': Run() returned a Proposal whose codes are None")


DEFFE_ERA = ("class S:\n    def __init__(self, fw): self.config = fw.config.GetSampling()\n"
             "    def Initialize(self, parameters, n_samples, min_samples, max_samples): pass\n"
             "    def IsCompleted(self): return False\n    def GetBatch(self): return np.arange(2)\n"
             "def GetObject(fw): return S(fw)\n")


@pytest.mark.parametrize("edit,fragments", [
    ((), ("AttributeError: 'Config' object has no attribute 'GetSampling'",
          "framework.config.section('sampling')", "'From the original Deffe'")),
    ((("fw.config.GetSampling()", "None"),), ("its object has no Run()", "the original Deffe's GetBatch(), "
                                            "IsCompleted() are Run(count)", "'From the original Deffe'")),
    ((("fw.config.GetSampling()", "None"), ("    def GetBatch", "    def Run(self, n): return None\n    def GetBatch")),
     ("failed in Initialize(): TypeError", "this framework calls Initialize() with no arguments",
      "'From the original Deffe'")),
])
def test_a_plugin_written_for_the_original_deffe_is_told_what_is_expected_instead(tmp_path, edit, fragments):
    # bare Python errors, one at a time: 'Config' object has no attribute 'GetSampling', "Initialize() missing 4
    # required positional arguments"
    setup(tmp_path, sp="    def Run(self, n): return None\n")
    text = DEFFE_ERA
    for old, new in edit:
        text = text.replace(old, new)
    write(tmp_path / "sp.py", "import numpy as np\n" + text)
    assert_user_error(run(tmp_path), "cfg.json:sampling.plugin:", *fragments)


def test_an_async_model_whose_state_cannot_be_pickled_is_named_with_the_attribute(tmp_path):
    # blamed on training: "failed while training (Run(), or Predict() on the hold-out) ...: cannot pickle
    # '_thread.lock' object"
    setup(tmp_path, mp="    def Initialize(self):\n        import threading\n        self.lock = threading.Lock()\n"
                       "    def Run(self, data): return {}\n" + PREDICT, **SURROGATE)
    last = assert_runtime_error(run(tmp_path, "-async"), "cfg.json:model.plugin:", "ml_model plugin 'mp' trained, "
                                "but its attribute 'lock' cannot be sent back to the driver", "run without -async")
    assert "failed while training" not in last


def test_a_plugin_not_found_names_a_python_path_directory_that_is_not_there(tmp_path):
    # after -fresh moved run/plugins aside with the old run, the next run said only "plugin not found" (the
    # config's warning of the missing directory comes after the plugins are made)
    setup(tmp_path, sampling={"plugin": "mysampler"})
    data = json.loads((tmp_path / "cfg.json").read_text())
    data["python_path"] = [".", "run/plugins"]
    write(tmp_path / "cfg.json", json.dumps(data))
    assert_user_error(run(tmp_path), "plugin 'mysampler' for sampling not found; the python_path directory "
                                     f"{tmp_path / 'run' / 'plugins'} is not there")


def test_a_plugin_changing_the_working_directory_moves_no_deffe_table(tmp_path):
    # the original Deffe's tables went to the plugin's new working directory, replacing a file of the user's there
    setup(tmp_path, sp="    def Initialize(self):\n        import os\n        os.chdir('tool')\n"
                       "        self.rng = self.fw.rng('s')\n"
                       "    def Run(self, n): return self.fw.space.random(self.rng, n)\n",
          framework={"deffe_tables": True})
    write(tmp_path / "tool" / "deffe_output.csv", "my own notes\n")
    r = run(tmp_path)
    assert r.rc == 0, r
    assert (tmp_path / "tool" / "deffe_output.csv").read_text() == "my own notes\n"
    assert (tmp_path / "deffe_output.csv").read_text().startswith("x, z, t, EvaluateTime")


@pytest.mark.parametrize("case", ["getobject", "tell"])
def test_under_debug_a_plugin_calling_sys_exit_shows_its_traceback_without_the_debug_hint(tmp_path, case):
    # -debug: sys.exit(0) in Tell ended the run quietly with status 0; GetObject's error said "run with -debug"
    if case == "tell":
        setup(tmp_path, xp=STEPS + "    def Tell(self, codes, results): sys.exit(0)\n")
        said = "exploration plugin 'xp' failed in Tell(): SystemExit: 0"
    else:
        setup(tmp_path, sp="    def Run(self, n): return None\n")
        write(tmp_path / "sp.py", "import sys\ndef GetObject(fw):\n    sys.exit('tool missing')\n")
        said = "GetObject failed: SystemExit: tool missing"
    r = run(tmp_path, "-debug")
    assert r.rc != 0 and "Traceback" in r.err and said in r.err, r
    assert "run with -debug" not in r.err, r


@pytest.mark.parametrize("attr", ["Report", "Finish", "adaptive"])
def test_an_exploration_attribute_that_raises_is_a_one_line_error_naming_it(tmp_path, attr):
    # a property of the exploration's (Report, Finish, adaptive) that raised ended in a traceback
    setup(tmp_path, xp=STEPS + TELL + f"    @property\n    def {attr}(self): raise RuntimeError('not ready')\n")
    line = assert_runtime_error(run(tmp_path, *(["-no-run"] if attr == "adaptive" else [])),
                             "cfg.json:exploration.plugin:", f"reading its {attr} attribute failed")
    assert "RuntimeError: not ready" in line


def test_a_model_whose_initialize_fails_only_in_the_training_process_is_named(tmp_path):
    # with -async the model is built again in a process of its own; an Initialize() failing there (a file
    # gone, a device busy) was answered as ("error", ("error", ...)) and the driver stopped with a traceback:
    # "ValueError: not enough values to unpack"
    setup(tmp_path, mp="    def Initialize(self):\n"
                       "        import multiprocessing\n"
                       "        if multiprocessing.parent_process() is not None: raise OSError('no GPU left')\n"
                       "    def Run(self, data): return {}\n"
                       "    def Predict(self, codes): return Prediction(np.ones((len(codes), 1)))\n", **SURROGATE)
    err = assert_runtime_error(run(tmp_path, "-async"), "model.plugin:")
    assert "ml_model plugin 'mp' failed in Initialize() in the training process: OSError: no GPU left" in err, err
