"""Config reading: includes, $VARS, merges, Deffe's syntax and option strings, typed knobs."""
import json
import os

import pytest

from cli_helpers import write
from framework.config import load_config
from framework.errors import DeffeError


def cfg(tmp_path, data, name="config.json"):
    write(tmp_path / name, json.dumps(data) if not isinstance(data, str) else data)
    return load_config(tmp_path / name)


def values(c, explore=0):
    return {k.name: list(k.levels) if k.finite else (k.low, k.high) for k in c.explores[explore].space.knobs}


def test_deffe_value_syntax_keeps_written_order(tmp_path):
    c = cfg(tmp_path, {"knobs": [{"name": "a", "values": "5,1,2-4"}, {"name": "b", "values": "0-100-25"},
                                 {"name": "c", "values": [9, "1-3", 0]}, {"name": "d", "values": "core[0-3]x"},
                                 {"name": "e", "values": 7}], "costs": ["t"]})
    assert values(c) == {"a": [5, 1, 2, 3], "b": [0, 25, 50, 75], "c": [9, 1, 2, 0],
                         "d": ["core0x", "core1x", "core2x"], "e": [7]}


def test_deffe_decimal_ranges_are_ranges(tmp_path):
    # Deffe's np.arange for a range with a decimal point; they were one text value "0.5-2.0-0.5"
    c = cfg(tmp_path, {"knobs": [{"name": "f", "values": "0.5-2.0-0.5"}, {"name": "v", "values": "1.5-3"},
                                 {"name": "s", "values": "0.1-0.5-0.1"}, {"name": "n", "values": "-1-5"},
                                 {"name": "p", "values": "x[0.5-1.5-0.25]"}], "costs": ["t"]})
    assert values(c) == {"f": [0.5, 1.0, 1.5], "v": [1.5, 2.5], "s": [0.1, 0.2, 0.3, 0.4],
                         "n": ["-1-5"], "p": ["x0.5", "x0.75", "x1.0", "x1.25"]}


def test_comments_are_allowed(tmp_path):
    c = cfg(tmp_path, '{\n // a comment\n "knobs": [{"name": "a", "values": [1]}], # another\n "costs": ["t"]\n}\n')
    assert values(c) == {"a": [1]}


def test_include_relative_vars_and_merge_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("MYDIR", str(tmp_path / "lib"))
    write(tmp_path / "lib" / "base.json", json.dumps({
        "python_path": ["base_plugins"],
        "knobs": [{"name": "a", "values": [1, 2], "groups": "g"}, {"name": "b", "values": [3]}],
        "costs": ["t"],
        "framework": {"run_directory": "base_run", "jobs": 3},
        "include": "more.json"}))
    write(tmp_path / "lib" / "more.json", json.dumps({"scenarios": [{"name": "s", "values": [8]}]}))
    c = cfg(tmp_path, {"include": "$MYDIR/base.json", "python_path": ["mine"],
                       "knobs": [{"name": "a", "values": [5, 6]}, {"name": "z", "values": [0]}],
                       "framework": {"run_directory": "mine"}})
    assert values(c) == {"a": [5, 6], "b": [3], "z": [0], "s": [8]}
    knob_a = c.explores[0].space["a"]
    assert c.section("framework")["run_directory"] == "mine" and c.section("framework")["jobs"] == 3
    assert c.data["python_path"] == [str(tmp_path / "mine"), str(tmp_path / "lib" / "base_plugins")]
    assert knob_a.kind == "ordinal"


def test_deffe_dir_defaults_to_the_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("DEFFE_DIR", raising=False)
    c = cfg(tmp_path, {"knobs": [{"name": "a", "values": "$DEFFE_DIR/x"}], "costs": ["t"]})
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert values(c)["a"] == [f"{root}/x"]


def test_group_selection_and_overrides(tmp_path):
    c = cfg(tmp_path, {
        "knobs": [{"name": "p1", "groups": "set1, set2", "values": "1,2-4,5"},
                  {"name": "p2", "groups": "set1", "values": [1, 2]},
                  {"name": "p3", "groups": "set2", "values": [1, 2]},
                  {"name": "free", "values": [0, 1]}],
        "scenarios": [{"name": "size", "groups": "app1", "values": [16, 32]},
                      {"name": "size", "groups": "app2", "values": "100-300-100"}],
        "costs": ["t"],
        "exploration": {"explore": [{"name": "e1", "groups": "set1, app1"},
                                    {"name": "e2", "groups": "set2, app2, p1::7;8"},
                                    {"groups": "p3, app1"}]}})
    assert [e.name for e in c.explores] == ["e1", "e2", "explore_2"]
    assert values(c, 0) == {"p1": [1, 2, 3, 5], "p2": [1, 2], "free": [0, 1], "size": [16, 32]}
    assert values(c, 1) == {"p1": [7, 8], "p3": [1, 2], "free": [0, 1], "size": [100, 200]}
    assert values(c, 2) == {"p3": [1, 2], "free": [0, 1], "size": [16, 32]}
    assert c.explores[0].space.names == ["p1", "p2", "free", "size"]  # written order, scenarios last


def test_typed_knobs(tmp_path):
    c = cfg(tmp_path, {"knobs": [
        {"name": "batch", "type": "integer", "min": 16, "max": 512, "log": True, "step": 2},
        {"name": "threads", "type": "integer", "min": 1, "max": 8},
        {"name": "lr", "type": "real", "min": 1e-4, "max": 1e-1, "log": True},
        {"name": "frac", "type": "real", "min": 0.0, "max": 1.0, "step": 0.25},
        {"name": "size", "type": "ordinal", "values": ["small", "medium", "large"]},
        {"name": "device", "type": "categorical", "values": [0, 1, 2, 3], "count": 4, "exchangeable": True}],
        "costs": ["t::min", {"name": "throughput", "direction": "max"}], "exploration": {"max_samples": 5}})
    v = values(c)
    assert v["batch"] == [16, 32, 64, 128, 256, 512]
    assert v["threads"] == list(range(1, 9))
    assert v["lr"] == (1e-4, 1e-1)
    assert v["frac"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [v[f"device_{i}"] for i in range(4)] == [[0, 1, 2, 3]] * 4
    space = c.explores[0].space
    assert space.families() == {"device": ["device_0", "device_1", "device_2", "device_3"]}
    assert space["device_2"].exchangeable and space["device_2"].encoding == "onehot"
    assert space["size"].encoding == "ordinal" and space["batch"].encoding == "numeric"
    assert [(x.name, x.direction) for x in c.costs] == [("t", "min"), ("throughput", "max")]
    # a point given by values matches by value: "1.0" is 1 and "32" is 32
    row = space.code_row({"batch": "32", "threads": 1.0, "lr": "0.01", "frac": 0.5, "size": "large",
                          "device_0": "1", "device_1": 0, "device_2": 3, "device_3": 2})
    assert space.values(row)["batch"] == 32 and space.values(row)["device_0"] == 1


def test_deffe_option_strings_are_mapped(tmp_path):
    c = cfg(tmp_path, {
        "knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"],
        "sampling": {"pyscript": "_sampling.py", "arguments": "-method central_composite_cci -fixed-samples 4"},
        "model": {"pyscript": "_ml_model.py", "ml_model_script": "keras_cnn.py",
                  "ml_arguments": "-convs 2 -loss custom_mean_abs_log_loss -tl-samples -epochs 2000 "
                                  "-batch-size 256 -train-test-split 1.0 -validation-split 0.4 -something 3"},
        "evaluate": {"pyscript": "_evaluate.py", "sample_evaluate_script": "evaluate.sh", "slurm": "True",
                     "batch_size": "400"},
        "exploration": {"pyscript": "_exploration.py",
                        "explore": [{"name": "x", "evaluation_predict_table": "deffe_eval_predict.csv"}]}})
    s, m = c.section("sampling"), c.section("model")
    assert (s["plugin"], s["face"]) == ("central_composite", "cci")
    assert c.explores[0].settings["samples_per_step"] == 4
    assert m["plugin"] == "torch_cnn" and m["epochs"] == 2000 and m["train_batch_size"] == 256
    assert m["transfer_learning"] is True and m["validation_split"] == 0.4 and m["convs"] == 2
    assert c.section("evaluate")["script"] == "evaluate.sh"
    assert c.explores[0].deffe_tables["eval_predict"] == "deffe_eval_predict.csv"   # Deffe's table, its name
    assert c.explores[0].deffe_tables["all"] == "deffe_output.csv" and c.deffe_tables
    assert c.section("framework")["jobs"] == 400                                       # Deffe's parallel batch
    assert any("-something 3" in w for w in c.warnings)
    assert c.section("framework")["executor"] == "slurm"   # Deffe's "slurm": "True": the samples go to SLURM


def test_deffe_option_strings_read_the_equals_form_as_argparse_does(tmp_path):
    # "-loss=mae -epochs=5" warned "Deffe option '-loss=mae' is not used here (ignored)" and trained with the
    # defaults; Deffe's argparse reads -opt=value as -opt value
    c = cfg(tmp_path, {"knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"],
                       "sampling": {"arguments": "-fixed-samples=4"},
                       "model": {"ml_model_script": "keras_cnn.py",
                                 "ml_arguments": "-loss=mae -epochs=5 -lr=0.01 -other=2"}})
    m = c.section("model")
    assert m["loss"] == "mae" and m["epochs"] == 5 and m["learning_rate"] == 0.01, m
    assert c.explores[0].settings["samples_per_step"] == 4
    assert [w for w in c.warnings if "not used here" in w] == \
        [f"{tmp_path / 'config.json'}:model.ml_arguments: Deffe option '-other=2' is not used here (ignored)"]
    with pytest.raises(DeffeError, match="option -tl-samples takes no value, got '-tl-samples=1'; write "
                                         "-tl-samples alone"):
        cfg(tmp_path, {"knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"],
                       "model": {"ml_arguments": "-tl-samples=1"}})


def test_deffe_model_scripts_train_on_every_point_by_default(tmp_path):
    # Deffe's keras_cnn.py, torch_cnn.py and sklearn_rf.py default -train-test-split to 1.00; it was our 0.8
    base = {"knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"]}
    for model in ({"ml_model_script": "torch_cnn.py", "ml_arguments": "-tl-samples -epochs 5 -validation-split 0.4"},
                  {"ml_model_type": "sklearn"}, {"ml_arguments": "-epochs 5"}):
        assert cfg(tmp_path, dict(base, model=model)).section("model")["train_test_split"] == 1.0, model
    # what the config writes wins, as does a config of our own keys
    written = {"ml_model_script": "torch_cnn.py", "train_test_split": 0.8}
    assert cfg(tmp_path, dict(base, model=written)).section("model")["train_test_split"] == 0.8
    given = {"ml_model_script": "torch_cnn.py", "ml_arguments": "-train-test-split 0.7"}
    assert cfg(tmp_path, dict(base, model=given)).section("model")["train_test_split"] == 0.7
    assert cfg(tmp_path, dict(base, model={"plugin": "torch_cnn"})).section("model")["train_test_split"] == 0.8


def test_deffe_costs_as_one_string_are_a_list(tmp_path):
    # Deffe read "costs" with its value syntax; the string was refused ("expected a list, got text")
    c = cfg(tmp_path, {"knobs": [{"name": "a", "values": [1, 2]}], "costs": "cpu_cycles, power::max"})
    assert [(x.name, x.direction) for x in c.costs] == [("cpu_cycles", "min"), ("power", "max")]


def test_an_include_of_the_original_deffes_deffe_dir_says_what_to_do(tmp_path, monkeypatch):
    # Deffe's setup.source exports DEFFE_DIR=<deffe>/src/deffe, which has no templates/: the error showed only
    # '$DEFFE_DIR/templates/deffe_framework.json' not found
    old = tmp_path / "deffe" / "src" / "deffe"
    old.mkdir(parents=True)
    monkeypatch.setenv("DEFFE_DIR", str(old))
    with pytest.raises(DeffeError) as e:
        cfg(tmp_path, {"include": ["$DEFFE_DIR/templates/deffe_framework.json"], "knobs": [{"name": "a", "values": [1]}],
                       "costs": ["t"]})
    text = str(e.value)
    assert f"(looked for {old}/templates/deffe_framework.json)" in text
    assert f"DEFFE_DIR is {old} (which has no templates/" in text and "unset DEFFE_DIR" in text
    monkeypatch.delenv("NOT_SET_HERE", raising=False)
    with pytest.raises(DeffeError, match=r"included file '\$NOT_SET_HERE/a.json' not found \(is \$NOT_SET_HERE set\?\)"):
        cfg(tmp_path, {"include": "$NOT_SET_HERE/a.json", "costs": ["t"]})


def test_errors_name_the_included_file(tmp_path):
    write(tmp_path / "base.json", json.dumps({"knobs": [{"name": "a", "values": []}]}))
    with pytest.raises(DeffeError) as e:
        cfg(tmp_path, {"include": "base.json", "costs": ["t"]})
    assert "base.json" in str(e.value) and "knobs[0].values" in str(e.value)


def test_show_defaults_lists_every_section():
    from framework.config.schema import reference
    ref = reference()
    for section in ("sampling", "evaluate", "extract", "model", "exploration", "framework", "slurm",
                    "knobs[]", "exploration.explore[]"):
        assert section in ref
    assert ref["framework"]["run_directory"]["default"] == "explore"


def test_null_takes_the_default_except_where_it_means_none(tmp_path):
    # null is "not given": framework.seed: null is seed 0 (it reached the plugins as None and the sampler failed
    # on `None & 0xFFFFFFFF`); exploration.kappa: null, the default kappa; model.plugin: null, no model at all
    base = {"knobs": [{"name": "a", "values": [1, 2, 3]}], "costs": ["t"]}
    c = cfg(tmp_path, {**base, "framework": {"seed": None, "jobs": None},
                       "exploration": {"kappa": None, "candidates": None}, "model": {"candidates": None}})
    assert c.data["framework"]["seed"] == 0 and c.data["framework"]["jobs"] == 1
    assert c.data["exploration"]["kappa"] == 2.0 and c.data["exploration"]["candidates"] == 20000
    assert c.data["model"]["candidates"] == ["torch_mlp", "sklearn_rf", "sklearn_gbm", "sklearn_gp"]
    assert c.data["model"]["plugin"] == "auto"
    assert cfg(tmp_path, {**base, "model": {"plugin": None}}, "b.json").data["model"]["plugin"] is None


def test_a_run_with_seed_null_is_the_run_with_seed_0(tmp_path):
    from cli_helpers import read_csv, run_deffe
    write(tmp_path / "f.py", "def f(p):\n    return {'t': p['a'] * p['b']}\n")
    for name, seed in (("null", None), ("zero", 0)):
        write(tmp_path / f"{name}.json", json.dumps({
            "knobs": [{"name": "a", "values": list(range(1, 9))}, {"name": "b", "values": [1, 2, 3]}],
            "costs": ["t"], "evaluate": {"plugin": "python", "function": "f:f"},
            "exploration": {"plugin": "random_search", "max_samples": 6},
            "framework": {"seed": seed, "run_directory": name}}))
        r = run_deffe("-config", f"{name}.json", "-no-train", cwd=tmp_path)
        assert r.rc == 0, r
    rows = [[(row["a"], row["b"]) for row in read_csv(tmp_path / d / "deffe_evaluation.csv")] for d in ("null", "zero")]
    assert rows[0] == rows[1] and len(rows[0]) == 6


def test_deffe_tables_is_a_switch_or_auto(tmp_path):
    base = {"knobs": [{"name": "a", "values": [1]}], "costs": ["t"]}
    for setting, expected in (("auto", False), (True, True), ("yes", True), (False, False), ("0", False)):
        assert cfg(tmp_path, {**base, "framework": {"deffe_tables": setting}}).deffe_tables is expected
    for setting in ("maybe", 2, [True]):   # once read as false without a word
        with pytest.raises(DeffeError) as e:
            cfg(tmp_path, {**base, "framework": {"deffe_tables": setting}})
        assert "framework.deffe_tables" in str(e.value) and '"auto"' in str(e.value)


def test_a_long_value_list_is_read_by_the_standard_parser(tmp_path, monkeypatch):
    """commentjson's parser took 12 GB for a list of 40,000 values and was killed at 100,000: a config it is
    not needed for (comments and trailing commas are blanked out first) never reaches it."""
    import commentjson

    def refuse(*args, **kwargs):
        raise AssertionError("commentjson parsed a config the standard parser reads")
    monkeypatch.setattr(commentjson, "loads", refuse)
    n = 100_000
    text = ('{\n // a comment, "not": "a key"\n "knobs": [{"name": "a", "values": [' +
            ", ".join(map(str, range(n))) + ',]},  # trailing comma and comment\n'
            ' {"name": "b", "values": ["x // y", "#z", "q\\"#]"],},],\n "costs": ["t"],\n}\n')
    c = cfg(tmp_path, text)
    assert values(c)["a"][:3] == [0, 1, 2] and len(values(c)["a"]) == n
    assert values(c)["b"] == ["x // y", "#z", 'q"#]']
    write(tmp_path / "long_broken.json", '{"knobs": [' + ", ".join(["1"] * n) + ' 2]}')
    with pytest.raises(DeffeError) as e:   # too long for commentjson: the standard parser's position
        load_config(tmp_path / "long_broken.json")
    assert "long_broken.json:1:" in str(e.value) and "not valid JSON" in str(e.value)


@pytest.mark.parametrize("section,name", [("knobs", "status"), ("knobs", "rank"), ("scenarios", "source"),
                                          ("knobs", "predicted-t"), ("costs", "status"), ("costs", "std-x")])
def test_a_knob_or_cost_cannot_take_the_name_of_a_column_the_tables_write(tmp_path, section, name):
    """A knob 'status' made deffe_evaluation.csv 'status,b,t,status', a table the driver refused to read back."""
    data = {"knobs": [{"name": "b", "values": [1, 2]}], "scenarios": [], "costs": ["t"]}
    if section == "costs":
        data["costs"] = ["t", name]
    else:
        data[section].append({"name": name, "values": [1, 2]})
    with pytest.raises(DeffeError) as e:
        cfg(tmp_path, data)
    assert f"cannot be named '{name}': the run's tables have a column of that name" in str(e.value)
    assert {"knobs": "knobs[1].name", "scenarios": "scenarios[0].name", "costs": "costs[1]"}[section] in str(e.value)


def test_a_real_range_of_one_value_is_that_value(tmp_path):
    """min == max of a real knob without step was a continuous range of width 0: its model feature divided by
    0 (NaN inputs, every torch prediction empty) and the space was 'infinitely many points'."""
    c = cfg(tmp_path, {"knobs": [{"name": "a", "type": "real", "min": 1.5, "max": 1.5},
                                 {"name": "b", "values": [1, 2]}], "costs": ["t"]})
    space = c.explores[0].space
    assert values(c)["a"] == [1.5] and space.finite and space.size == 2


@pytest.mark.parametrize("knob,groups,message", [
    ({"name": "a", "type": "integer", "min": 0, "max": 10}, "a::2;3;2.5", "gives 2.5 to an integer knob"),
    ({"name": "a", "type": "real", "min": 1, "max": 100, "log": True}, "a::0;4", "gives 0 to a log knob"),
])
def test_an_explore_override_obeys_the_rules_of_the_knobs_own_values(tmp_path, knob, groups, message):
    with pytest.raises(DeffeError) as e:
        cfg(tmp_path, {"knobs": [knob], "costs": ["t"],
                       "exploration": {"explore": [{"name": "e1", "groups": groups}]}})
    assert message in str(e.value) and "exploration.explore[0]" in str(e.value)
    c = cfg(tmp_path, {"knobs": [knob], "costs": ["t"], "exploration": {"explore": [{"name": "e1", "groups": "a::2;4"}]}})
    assert values(c)["a"] == [2, 4]


def test_null_in_an_including_file_leaves_the_included_value(tmp_path):
    """null is 'not given' (config.md): it deleted what the included file gave (the run directory, the budget,
    the scenarios), except model.plugin, where null says 'no model'."""
    write(tmp_path / "base.json", json.dumps({
        "knobs": [{"name": "a", "values": [1, 2]}], "scenarios": [{"name": "s", "values": [1, 2]}],
        "costs": ["t"], "framework": {"run_directory": "runs"}, "exploration": {"max_samples": 5},
        "model": {"plugin": "sklearn_rf"}}))
    c = cfg(tmp_path, {"include": "base.json", "framework": None, "exploration": {"max_samples": None},
                       "scenarios": None, "model": {"plugin": None}})
    assert c.section("framework")["run_directory"] == "runs"
    assert c.explores[0].settings["max_samples"] == 5
    assert values(c)["s"] == [1, 2]
    assert c.section("model")["plugin"] is None


def test_an_including_file_turns_an_included_knobs_list_into_a_range_and_back(tmp_path):
    """Overriding a knob by name replaces how its values are given: the included list stayed beside the new
    range, and the including file was blamed for giving both."""
    write(tmp_path / "base.json", json.dumps({
        "knobs": [{"name": "a", "values": [1, 2, 3]}, {"name": "b", "type": "integer", "min": 1, "max": 3}],
        "costs": ["t"]}))
    c = cfg(tmp_path, {"include": "base.json", "knobs": [{"name": "a", "values": None, "type": "integer",
                                                           "min": 4, "max": 6},
                                                          {"name": "b", "values": [7, 9]}]})
    assert values(c) == {"a": [4, 5, 6], "b": [7, 9]}
    c = cfg(tmp_path, {"include": "base.json", "knobs": [{"name": "b", "max": 5}]})   # a range's bound alone
    assert values(c)["b"] == [1, 2, 3, 4, 5]


def test_a_list_of_names_with_something_else_names_that_element(tmp_path):
    with pytest.raises(DeffeError) as e:   # was "expected a name or a list of names, got a list"
        cfg(tmp_path, {"knobs": [{"name": "a", "values": [1]}], "costs": ["t"],
                       "exploration": {"explore": [{"name": "e", "groups": ["a", 3]}]}})
    assert "explore[0].groups[1]: expected a name, got a number (3)" in str(e.value)


def test_an_error_in_a_list_names_the_entry_by_its_index_in_its_own_file(tmp_path):
    """The merged list puts the included file's entries first: errors named cfg.json:knobs[2] in a file with
    one knob."""
    write(tmp_path / "base.json", json.dumps({"knobs": [{"name": "a", "values": [1]}, {"name": "b", "values": [2]}],
                                              "costs": ["t"]}))
    for knob, message in (("a", "config.json:knobs[0]: expected an object"),
                          ({"name": "c", "values": []}, "config.json:knobs[0].values: knob 'c' has an empty list"),
                          ({"name": "c", "vals": [1]}, "config.json:knobs[0].vals: unknown key")):
        with pytest.raises(DeffeError) as e:
            cfg(tmp_path, {"include": "base.json", "knobs": [knob]})
        assert message in str(e.value)
    with pytest.raises(DeffeError) as e:
        cfg(tmp_path, {"include": "base.json", "costs": [{"name": "u", "min": 2, "max": 1}]})
    assert "config.json:costs[0]: min 2 is above max 1" in str(e.value)


def test_deffe_slurm_switch_is_true_or_false_and_nothing_else(tmp_path):
    # Deffe's "slurm": "True" / "False" in evaluate or extract; "Flase" was read as SLURM without a word
    base = {"knobs": [{"name": "a", "values": [1]}], "costs": ["t"]}
    for setting, executor in (("True", "slurm"), ("yes", "slurm"), (True, "slurm"), (1, "slurm"),
                              ({"nodes": 1}, "slurm"), ("False", "local"), ("NO", "local"), (False, "local"),
                              ("0", "local"), ("", "local")):
        c = cfg(tmp_path, {**base, "evaluate": {"slurm": setting}})
        assert c.section("framework")["executor"] == executor, setting
    for setting in ("Flase", "Maybe", 2):
        with pytest.raises(DeffeError) as e:
            cfg(tmp_path, {**base, "extract": {"slurm": setting}})
        assert "extract.slurm" in str(e.value) and "true or false" in str(e.value), str(e.value)


def test_deffe_model_type_maps_in_any_case_and_an_unknown_one_says_what_is_used(tmp_path):
    base = {"knobs": [{"name": "a", "values": [1]}], "costs": ["t"]}
    for kind, plugin in (("keras_cnn", "torch_cnn"), ("Keras_CNN", "torch_cnn"), ("sklearn", "sklearn_rf")):
        c = cfg(tmp_path, {**base, "model": {"ml_model_type": kind}})
        assert c.section("model")["plugin"] == plugin and not c.warnings, (kind, c.warnings)
    c = cfg(tmp_path, {**base, "model": {"ml_model_type": "xgboost"}})   # was 'auto' without a word
    assert c.section("model")["plugin"] == "auto"
    assert any("model.ml_model_type" in w and "'xgboost'" in w and "'auto' is used instead" in w
               for w in c.warnings), c.warnings


def test_a_real_range_with_a_step_gives_the_values_as_written(tmp_path):
    """0 to 1 in steps of 0.1 gave 0.30000000000000004 and 0.6000000000000001 to the evaluator and the tables."""
    c = cfg(tmp_path, {"knobs": [{"name": "a", "type": "real", "min": 0, "max": 1, "step": 0.1},
                                 {"name": "b", "type": "real", "min": 1e-5, "max": 4e-5, "step": 1e-5}],
                       "costs": ["t"]})
    assert values(c)["a"] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert values(c)["b"] == [1e-5, 2e-5, 3e-5, 4e-5]
    assert c.explores[0].space.knobs[0].levels.index(0.3) == 3


@pytest.mark.parametrize("workers,message", [("abc", "expected an integer, got text ('abc'); write an "
                                                      "integer (or remove the key for its default)"),
                                             (0, "must be at least 1, got 0; give it 1 or more"),
                                             (-2, "must be at least 1, got -2; give it 1 or more")])
def test_dask_workers_is_a_positive_integer(tmp_path, workers, message):
    # "abc" was a Python traceback from int(); 0 and -2 silently ran one worker
    with pytest.raises(DeffeError) as e:
        cfg(tmp_path, {"knobs": [{"name": "a", "values": [0, 1]}], "costs": ["t"],
                       "framework": {"executor": "dask", "dask": {"workers": workers}}})
    assert str(e.value) == f"{tmp_path / 'config.json'}:framework.dask.workers: {message}"


@pytest.mark.parametrize("text,hint", [("True", "write true (lower case, without quotes)"),
                                       ("false", "write false (lower case, without quotes)"),
                                       ("yes", "write true (lower case, without quotes)")])
def test_a_switch_written_as_text_gets_a_hint_that_is_json(tmp_path, text, hint):
    # "True" got "write True without quotes", and True without quotes is not JSON
    with pytest.raises(DeffeError) as e:
        cfg(tmp_path, {"knobs": [{"name": "a", "values": [0, 1]}], "costs": ["t"],
                       "framework": {"asynchronous": text}})
    assert str(e.value).endswith(f"got text ({text!r}); {hint}"), str(e.value)


def test_deffe_method_does_not_override_the_structured_sampling_keys(tmp_path):
    """docs/config.md: the structured keys win when both are given. '-method full_fact' replaced an explicit
    "plugin": "lhs" without a word, '-method central_composite_cci' an explicit "face": "ccc"."""
    knobs = [{"name": "a", "values": [1, 2, 3]}, {"name": "b", "values": [1, 2, 3]}]
    c = cfg(tmp_path, {"knobs": knobs, "costs": ["t"], "sampling": {"plugin": "lhs", "arguments": "-method full_fact"}})
    assert c.section("sampling")["plugin"] == "lhs"
    assert any("'full_fact' ignored for sampling.plugin" in w for w in c.warnings), c.warnings
    c = cfg(tmp_path, {"knobs": knobs, "costs": ["t"], "sampling": {"plugin": "central_composite", "face": "ccc",
                                                                     "arguments": "-method central_composite_cci"}})
    assert (c.section("sampling")["plugin"], c.section("sampling")["face"]) == ("central_composite", "ccc")
    assert any("sampling.face" in w for w in c.warnings), c.warnings
    c = cfg(tmp_path, {"knobs": knobs, "costs": ["t"], "sampling": {"method": "box_behnken"}})
    assert c.section("sampling")["plugin"] == "box_behnken" and not c.warnings   # no plugin written: the method


def test_a_deffe_pyscript_sampler_with_a_method_is_the_users_module(tmp_path):
    # "sampling": {"pyscript": "my_sampling.py", "arguments": "-method random"} silently ran the built-in
    # random sampler; Deffe used the user's module, its option string being the module's own settings
    write(tmp_path / "my_sampling.py", "def GetObject(fw):\n    return None\n")
    c = cfg(tmp_path, {"python_path": ["."], "knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"],
                       "sampling": {"pyscript": "my_sampling.py", "arguments": "-method smart -other 3"}})
    s = c.section("sampling")
    assert s["plugin"] == "my_sampling.py" and s["method"] == "smart"
    assert s["arguments"] == "-method smart -other 3"
    assert not [w for w in c.warnings if "sampling" in w], c.warnings


@pytest.mark.parametrize("name,fragment", [("simulator.py", "this project's package 'simulator'"),
                                           ("scipy.py", "the installed package 'scipy'"),
                                           ("numpy", "the installed package 'numpy'")])
def test_a_python_path_module_named_like_the_projects_or_a_dependency_is_a_warning(tmp_path, name, fragment):
    # a user's simulator.py was silently swapped for the project's package (their code failed with
    # "module 'simulator' has no attribute ..."); a scipy.py broke the model ("'scipy' is not a package"),
    # both blamed on a plugin
    write(tmp_path / (name if name.endswith(".py") else f"{name}/__init__.py"), "X = 1\n")
    c = cfg(tmp_path, {"python_path": ["."], "knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"]})
    shown = tmp_path / name
    assert [w for w in c.warnings if f"python_path[0]: {shown} has the name of {fragment}" in w and "rename it" in w], \
        c.warnings


def test_a_python_path_of_plain_helper_modules_is_no_warning(tmp_path):
    for name in ("my_eval.py", "helpers.py", "plugins/__init__.py"):
        write(tmp_path / name, "X = 1\n")
    c = cfg(tmp_path, {"python_path": ["."], "knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"]})
    assert not [w for w in c.warnings if "python_path" in w], c.warnings
