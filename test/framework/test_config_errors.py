"""Every config mistake: exit status 2, one line naming the file and the key path, nothing written."""
import json
import os

import pytest

from cli_helpers import assert_user_error, run_deffe, write

BASE = {
    "knobs": [{"name": "a", "values": [1, 2]}, {"name": "b", "values": "x,y"}],
    "costs": ["c"],
    "evaluate": {"script": "run.sh"},
}


def config_with(tmp_path, patch=None, text=None, name="config.json"):
    write(tmp_path / "run.sh", "echo 1 > results.out\n")
    if text is None:
        data = json.loads(json.dumps(BASE))
        if patch:
            patch(data)
        text = json.dumps(data, indent=2)
    return write(tmp_path / name, text)


def check(tmp_path, patch, *fragments, text=None):
    config_with(tmp_path, patch, text)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    line = assert_user_error(r, "config.json", *fragments)
    assert not (tmp_path / "explore").exists(), "nothing may be written for a bad config"
    return line


def test_unknown_top_key_with_near_miss(tmp_path):
    check(tmp_path, lambda d: d.update(knbos=[]), "knbos", "unknown key", "did you mean 'knobs'")


def test_unknown_knob_key(tmp_path):
    check(tmp_path, lambda d: d["knobs"][0].update(vales=[3]), "knobs[0].vales", "did you mean 'values'")


def test_unknown_section_key(tmp_path):
    check(tmp_path, lambda d: d.update(framework={"run_dir": "x"}), "framework.run_dir",
          "did you mean 'run_directory'")


def test_wrong_type(tmp_path):
    check(tmp_path, lambda d: d["knobs"][0].update(groups=5), "knobs[0].groups", "expected")


def test_wrong_type_in_section(tmp_path):
    check(tmp_path, lambda d: d.update(framework={"jobs": "many"}), "framework.jobs", "integer")


def test_bad_choice(tmp_path):
    check(tmp_path, lambda d: d["knobs"][0].update(type="ordinall"), "knobs[0].type", "did you mean 'ordinal'")


def test_a_scenario_is_called_a_scenario(tmp_path):
    check(tmp_path, lambda d: d.update(scenarios=[{"values": [1, 2]}]), "scenarios[0]", "every scenario needs a 'name'")
    check(tmp_path, lambda d: d.update(scenarios=[{"name": "size"}]), "scenarios[0]",
          "scenario 'size' has no 'values' (or 'min' and 'max')")
    check(tmp_path, lambda d: d["knobs"].append({"name": "c"}), "knobs[2]", "knob 'c' has no 'values'")


def test_a_null_value_is_named_as_json_names_it(tmp_path):
    check(tmp_path, lambda d: d["knobs"][0]["values"].append(None), "knobs[0].values[2]",
          "a value must be a number or a string, not null")


def test_an_integer_too_large_is_said_so_in_its_own_words(tmp_path):
    # before: a 301-digit number in the error of whatever used it
    line = check(tmp_path, lambda d: d.update(framework={"jobs": 1e300}), "framework.jobs",
                 "expected an integer below 2^63, got 1e+300")
    assert len(line) < 200


def test_a_run_directory_that_is_a_mistake(tmp_path):
    # "" put the run store among the config's files, "/" at the root of the machine, "a\nb" made a directory
    # whose name holds a newline: each ran
    for value, why in (("", "is empty"), ("/", "is the root of the file system"),
                       ("a\nb", "holds a control character"), ("run ", "starts or ends with a space")):
        check(tmp_path, lambda d: d.update(framework={"run_directory": value}), "framework.run_directory", why)


def test_number_below_minimum(tmp_path):
    check(tmp_path, lambda d: d.update(framework={"jobs": 0}), "framework.jobs", "at least 1")


def test_empty_value_list(tmp_path):
    check(tmp_path, lambda d: d["knobs"][0].update(values=[]), "knobs[0].values", "empty")


def test_empty_range(tmp_path):
    check(tmp_path, lambda d: d["knobs"][0].update(values="5-5"), "knobs[0].values", "empty")


def test_value_listed_twice(tmp_path):
    check(tmp_path, lambda d: d["knobs"][0].update(values="1,2-4,3"), "knobs[0].values", "listed twice")


def test_min_greater_than_max(tmp_path):
    def patch(d):
        d["knobs"][0] = {"name": "a", "type": "integer", "min": 10, "max": 2}
    check(tmp_path, patch, "knobs[0].min", "greater than max")


def test_log_range_needs_positive_min(tmp_path):
    def patch(d):
        d["knobs"][0] = {"name": "a", "type": "real", "min": 0, "max": 2, "log": True}
    check(tmp_path, patch, "knobs[0].min", "log")


def test_integer_log_step_that_rounds_two_levels_to_one_value(tmp_path):
    """1 to 10 by a factor of 1.5 gave the levels 1, 2, 2, 3, 5, 8: "space of 12 points" for 10 distinct,
    the value 2 drawn twice as often. A list with a value twice is refused; so is this."""
    def patch(d):
        d["knobs"][0] = {"name": "n", "type": "integer", "min": 1, "max": 10, "log": True, "step": 1.5}
    line = check(tmp_path, patch, "knobs[0].step", "'n'", "2 twice", "larger step")
    assert line.count("error:") == 1
    # factors whose rounded levels stay apart are kept as they were
    from framework.config import load_config
    for lo, step, values in [(3, 1.4, [3, 4, 6, 8, 12]), (16, 2, [16, 32, 64, 128])]:
        path = config_with(tmp_path, lambda d: d["knobs"].__setitem__(0, {
            "name": "n", "type": "integer", "min": lo, "max": values[-1], "log": True, "step": step}))
        assert list(load_config(path).explores[0].space["n"].levels) == values


def test_duplicate_knob_names_in_one_exploration(tmp_path):
    # same-named knobs are merged as in Deffe, unless their values cannot make one list
    check(tmp_path, lambda d: d["knobs"].append({"name": "a", "values": ["x"]}), "two knobs named 'a'",
          "cannot be merged: one has numbers and the other text")


def test_same_name_in_disjoint_groups_is_allowed(tmp_path):
    # Deffe's own test config defines the scenario "size" twice, in different groups
    def patch(d):
        d["scenarios"] = [{"name": "size", "groups": "g1", "values": [1, 2]},
                          {"name": "size", "groups": "g2", "values": [3]}]
        d["exploration"] = {"explore": [{"name": "e", "groups": "g1"}]}
    config_with(tmp_path, patch)
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0, r


def test_cost_listed_twice(tmp_path):
    check(tmp_path, lambda d: d.update(costs=["c", "d", "c"]), "costs[2]", "listed twice")


def test_no_costs(tmp_path):
    check(tmp_path, lambda d: d.update(costs=[]), "costs", "no costs")


def test_costs_of_a_wrong_type_say_what_to_write(tmp_path):
    line = check(tmp_path, lambda d: d.update(costs=5), "costs", "expected a list of costs, got a number")
    assert '"costs": ["exec_time", "power"]' in line


def test_bad_cost_direction(tmp_path):
    check(tmp_path, lambda d: d.update(costs=["c::minimum"]), "costs[0]", "min or max")


def test_explore_group_matching_nothing(tmp_path):
    def patch(d):
        d["knobs"][0]["groups"] = "cache"
        d["exploration"] = {"explore": [{"name": "e", "groups": "cahce"}]}
    check(tmp_path, patch, "exploration.explore[0].groups", "matches no knob", "did you mean 'cache'")


def test_invalid_json_names_the_line(tmp_path):
    text = '{\n  "knobs": [\n    {"name": "a", "values": [1 2]}\n  ]\n}\n'
    line = check(tmp_path, None, "not valid JSON", text=text)
    assert "config.json:3:" in line


def test_a_key_written_twice_in_one_object_is_named_where_it_repeats(tmp_path):
    # JSON parsers keep the last silently: the first 'evaluate' (or a whole knob list) was dropped unseen
    text = ('{\n  "knobs": [{"name": "a", "values": [1, 2]}, {"name": "b", "values": "x{,y["}],\n'
            '  "costs": ["c"], // "costs": twice in a comment is no key\n'
            '  "evaluate": {"script": "run.sh", "timeout": 5, "timeout": 10}\n}\n')
    line = check(tmp_path, None, "the key 'timeout' is written twice in one object (first at 4:36)", text=text)
    assert "config.json:4:50:" in line
    # the same key in two different objects is no repetition
    ok = text.replace('"timeout": 5, "timeout": 10', '"timeout": 5')
    config_with(tmp_path, text=ok)
    assert run_deffe("-config", "config.json", "-no-run", cwd=tmp_path).rc == 0


def test_missing_config_file(tmp_path):
    r = run_deffe("-config", "nope.json", cwd=tmp_path)
    assert_user_error(r, "nope.json", "not found")


def test_missing_include(tmp_path):
    check(tmp_path, lambda d: d.update(include="base.json"), "include", "base.json", "not found")


def test_include_cycle(tmp_path):
    write(tmp_path / "a.json", '{"include": "b.json"}')
    write(tmp_path / "b.json", '{"include": "a.json"}')
    check(tmp_path, lambda d: d.update(include="a.json"), "include cycle")


def test_missing_evaluate_script(tmp_path):
    check(tmp_path, lambda d: d.update(evaluate={"script": "nothere.sh"}), "evaluate.script", "not found")


def test_unknown_plugin_with_near_miss(tmp_path):
    check(tmp_path, lambda d: d.update(sampling={"plugin": "lhss"}), "sampling.plugin", "not found",
          "did you mean 'lhs'")


def test_plugin_without_getobject(tmp_path):
    write(tmp_path / "mysampler.py", "x = 1\n")
    check(tmp_path, lambda d: d.update(python_path=["."], sampling={"plugin": "mysampler"}),
          "sampling.plugin", "no GetObject")


def test_plugin_object_without_required_method(tmp_path):
    write(tmp_path / "mysampler.py", "class S:\n    def Initialize(self): pass\n\n"
                                      "def GetObject(framework):\n    return S()\n")
    check(tmp_path, lambda d: d.update(python_path=["."], sampling={"plugin": "mysampler"}),
          "sampling.plugin", "no Run()")


def test_a_plugin_next_to_the_config_but_not_on_python_path_is_named_with_the_way_out(tmp_path):
    # "plugin 'my_eval' for evaluate not found", listing the built-ins, while my_eval.py sat next to the config
    write(tmp_path / "my_eval.py", "def GetObject(fw): return None\n")
    check(tmp_path, lambda d: d.update(evaluate={"plugin": "my_eval"}),
          "evaluate.plugin", "not found on python_path", "my_eval.py is next to the config: add \".\" to python_path")


def test_plugin_that_fails_to_import(tmp_path):
    write(tmp_path / "mysampler.py", "import not_a_module_anywhere\n")
    check(tmp_path, lambda d: d.update(python_path=["."], sampling={"plugin": "mysampler"}),
          "sampling.plugin", "failed to import", "ModuleNotFoundError")


@pytest.mark.parametrize("evaluate, fragments", [
    ({"plugin": "my_evall"}, ("evaluate.plugin", "plugin 'my_evall' for evaluate not found")),
    ({"plugin": "tools/my_eval.py"}, ("evaluate.plugin", "plugin file 'tools/my_eval.py' for evaluate not found")),
    ({"script": "tools/run.sh"}, ("evaluate.script", "evaluate script 'tools/run.sh' not found")),
    ({"plugin": "python", "function": "nomodule:evaluate"}, ("evaluate.function", "'nomodule'", "not found")),
    ({"plugin": "fpboom"}, ("evaluate.plugin", "evaluate plugin 'fpboom' failed in Fingerprint(): RuntimeError")),
    ({"plugin": "initboom"}, ("evaluate.plugin", "evaluate plugin 'initboom' failed in Initialize(): RuntimeError"))])
def test_a_plugin_or_script_an_included_file_names_is_said_in_that_file(tmp_path, evaluate, fragments):
    """config.md: "An error in an included file names that file": a plugin, a script or a function it names
    that is not found too, not only a schema error (these said the including file, which has no such key)."""
    data = json.loads(json.dumps(BASE))
    data["evaluate"] = evaluate
    write(tmp_path / "common" / "base.json", json.dumps(data))
    write(tmp_path / "proj" / "top.json", '{"include": "../common/base.json", "python_path": ["."]}')
    write(tmp_path / "proj" / "fpboom.py", "class E:\n    def Initialize(self): pass\n    def Run(self, s): return 1\n"
                                           "    def Fingerprint(self): raise RuntimeError('boom')\n"
                                           "def GetObject(fw): return E()\n")
    write(tmp_path / "proj" / "initboom.py", "class E:\n    def Initialize(self): raise RuntimeError('boom')\n    def Run(self, s): return 1\n"
                                             "def GetObject(fw): return E()\n")
    r = run_deffe("-config", "top.json", cwd=tmp_path / "proj")
    line = assert_user_error(r, *fragments)
    assert line.startswith("error: " + os.path.join("..", "common", "base.json") + ":evaluate."), line
    assert not (tmp_path / "proj" / "explore").exists()


@pytest.mark.parametrize("key, value, where, got", [
    ("python_path", [".", 2], "python_path[1]", "expected text, got a number (2)"),
    ("python_path", [None], "python_path[0]", "expected text, got null"),
    ("python_path", [["plugins"]], "python_path[0]", "expected text, got a list"),
    ("source_scripts", [1], "evaluate.source_scripts[0]", "expected text, got a number (1)")])
def test_a_list_of_paths_with_an_entry_that_is_no_text_names_the_entry(tmp_path, key, value, where, got):
    """Once: 'expected text or a list, got a list', naming neither the entry nor its index."""
    def patch(d):
        if key == "source_scripts":
            d["evaluate"][key] = value
        else:
            d[key] = value
    check(tmp_path, patch, f"config.json:{where}: {got}")


def test_a_python_path_entry_that_is_no_directory_is_a_warning_naming_it(tmp_path):
    write(tmp_path / "ev.py", "x = 1\n")
    config_with(tmp_path, lambda d: d.update(python_path=[".", "nothere", "ev.py"]))
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0, r
    assert f"warning: config.json:python_path[1]: 'nothere' not found (looked for {tmp_path / 'nothere'})" in r.err, r
    assert "warning: config.json:python_path[2]: 'ev.py' is a file, not a directory" in r.err, r
    assert "python_path[0]" not in r.err, r


def test_continuous_knob_without_budget(tmp_path):
    def patch(d):
        d["knobs"][0] = {"name": "a", "type": "real", "min": 0.5, "max": 2}
    check(tmp_path, patch, "continuous knob and no budget")


def test_bad_command_line_option(tmp_path):
    config_with(tmp_path)
    r = run_deffe("-config", "config.json", "-frsh", cwd=tmp_path)
    assert_user_error(r, "-frsh")


def test_objective_listed_twice(tmp_path):
    # ["c", "c"] ran as a two-objective problem over one cost (a front of ties, a hypervolume of a line)
    def patch(d):
        d["costs"] = ["c", "d"]
        d["exploration"] = {"objectives": ["c", "c"]}
    check(tmp_path, patch, "exploration.objectives", "objective 'c' is listed twice")


@pytest.mark.parametrize("tables, key, fragment", [
    # the evaluation table was replaced by the front
    ({"evaluation_table": "r.csv", "exploration_table": "r.csv"}, "explore[0].exploration_table",
     "also exploration.explore[0].evaluation_table"),
    # the run store became CSV text
    ({"evaluation_table": "deffe.db"}, "explore[0].evaluation_table", "would replace deffe.db"),
    ({"exploration_table": "deffe_report.html"}, "explore[0].exploration_table", "deffe_report.html"),
    ({"output_table": "deffe.log"}, "explore[0].output_table", "would replace deffe.log"),
    ({"ml_predict_table": "deffe.db-wal"}, "explore[0].ml_predict_table", "deffe.db-wal"),
    ({"output_table": "explore_12"}, "explore[0].output_table", "would replace explore_12"),   # a sample's directory
])
def test_table_names_that_collide(tmp_path, tables, key, fragment):
    check(tmp_path, lambda d: d.update(exploration={"explore": [dict(name="e", **tables)]}), key, fragment)


def test_table_names_of_several_entries_compare_as_written(tmp_path):
    # with several entries each table is prefixed by its entry's name: a-r.csv and b-r.csv are two files, but
    # an entry's table named model_metrics.csv is a-model_metrics.csv, the entry's own metrics file
    def same_name(d):
        d["exploration"] = {"explore": [{"name": "a", "evaluation_table": "r.csv"},
                                        {"name": "b", "evaluation_table": "r.csv"}]}
    config_with(tmp_path, same_name)
    assert run_deffe("-config", "config.json", "-no-run", cwd=tmp_path).rc == 0
    check(tmp_path, lambda d: d.update(exploration={"explore": [{"name": "a"}, {"name": "b",
          "output_table": "model_metrics.csv"}]}), "explore[1].output_table", "b-model_metrics.csv")


@pytest.mark.parametrize("entries, key, fragment", [
    # entry a's table b-model_metrics.csv is a-b-model_metrics.csv: entry a-b's metrics file replaced it
    ([{"name": "a", "evaluation_table": "b-model_metrics.csv"}, {"name": "a-b"}],
     "explore[0].evaluation_table", "would replace a-b-model_metrics.csv"),
    ([{"name": "a", "output_table": "b-knob_importance.txt"}, {"name": "a-b"}],
     "explore[0].output_table", "would replace a-b-knob_importance.txt"),
    # the later entry's own file, named by the earlier entry's table
    ([{"name": "a-b"}, {"name": "a", "ml_predict_table": "b-model_metrics.csv"}],
     "explore[1].ml_predict_table", "would replace a-b-model_metrics.csv"),
])
def test_a_table_named_as_another_entrys_own_file(tmp_path, entries, key, fragment):
    check(tmp_path, lambda d: d.update(exploration={"explore": entries}), key, fragment)


@pytest.mark.parametrize("several, table, fragment", [
    # CSV text was written over the model checkpoint (then -inference-only: "not a model checkpoint")
    (False, "checkpoints/e1.ckpt", "would be written in checkpoints/"),
    (True, "{run}/checkpoints/e1.ckpt", "would be written in checkpoints/"),
    (True, "{run}/e1-model_metrics.csv", "would replace e1-model_metrics.csv"),
    (True, "{run}/deffe.db", "would replace deffe.db"),
    (False, "sub/../deffe_run.json", "would replace deffe_run.json"),
    (False, "explore_3/x.csv", "would be written in explore_3/"),
])
def test_a_table_path_into_the_runs_own_files(tmp_path, several, table, fragment):
    table = table.format(run=tmp_path / "explore")
    entries = [{"name": "e1"}, {"name": "e2", "exploration_table": table}] if several else \
        [{"name": "e1", "exploration_table": table}]
    key = f"explore[{1 if several else 0}].exploration_table"
    check(tmp_path, lambda d: d.update(exploration={"explore": entries}), key, fragment)


def test_two_tables_of_one_path_by_different_names(tmp_path):
    # one file spelled two ways (an absolute path with .. in it) is still one file: the later table replaced it
    run = tmp_path / "explore"
    def same(d):
        d["exploration"] = {"explore": [{"name": "e1", "evaluation_table": str(run / "t.csv")},
                                        {"name": "e2", "output_table": str(run / "x" / ".." / "t.csv")}]}
    check(tmp_path, same, "explore[1].output_table", "is also exploration.explore[0].evaluation_table")


def test_run_file_names_match_the_modules_that_write_them():
    from framework import guard, run_data, store
    from framework.config.table_names import RUN_FILES
    from framework.reports import html, xlsx
    for name in (store.DB_NAME, guard.LOCK_NAME, run_data.MANIFEST, html.NAME, xlsx.NAME):
        assert name in RUN_FILES


@pytest.mark.parametrize("exploration, costs, warned", [
    # silently ignored: an NSGA-II or random search ran its whole budget with patience set
    ({"plugin": "random_search", "patience": 2}, ["c"],
     "warning: config.json:exploration.patience: the 'random_search' exploration ignores patience"),
    ({"plugin": "nsga2", "patience": 2}, ["c", "d"], "the 'nsga2' exploration ignores patience"),
    # several objectives: ei and thompson chose what lcb chooses, silently
    ({"acquisition": "thompson"}, ["c", "d"],
     "warning: config.json:exploration.acquisition: with several objectives acquisition 'thompson' acts as 'lcb'"),
    ({"acquisition": "ei", "objectives": ["c", "d"]}, ["c", "d", "e"], "acquisition 'ei' acts as 'lcb'"),
])
def test_exploration_keys_the_exploration_ignores_are_warned(tmp_path, exploration, costs, warned):
    config_with(tmp_path, lambda d: d.update(costs=costs, exploration=exploration))
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0 and warned in r.err, r
    assert len([line for line in r.err.splitlines() if "ignores patience" in line or "acts as" in line]) == 1


@pytest.mark.parametrize("exploration, costs", [
    ({"plugin": "surrogate", "patience": 2}, ["c"]),
    ({"acquisition": "thompson"}, ["c"]),
    ({"acquisition": "exploit"}, ["c", "d"]),
    ({"acquisition": "ei", "objectives": ["c"]}, ["c", "d"]),
])
def test_exploration_keys_that_apply_are_not_warned(tmp_path, exploration, costs):
    config_with(tmp_path, lambda d: d.update(costs=costs, exploration=exploration))
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0 and "ignores patience" not in r.err and "acts as" not in r.err, r


@pytest.mark.parametrize("text, fragments", [
    ("[1, 2]", ["config.json: a config must be a JSON object, not a JSON array; write the config as {"]),
    ("null", ["config.json: a config must be a JSON object, not null; write"]),
    ('{"include": ""}', ["config.json:include: the include is empty text; name the file to include"]),
    ('{"include": "nope.json"}', ["config.json:include: included file 'nope.json' not found; check the name"]),
    ('{"include": 5}', ["config.json:include: 'include' must be a file name or a list of file names, not a "
                        "number; write \"include\": \"base.json\""]),
    (json.dumps({**BASE, "framework": {"jobs": 2.5}}), ["config.json:framework.jobs: expected an integer, got a "
                                                        "number (2.5); write a whole number, such as 2"]),
    (json.dumps({**BASE, "knobs": [{"name": "a", "values": None}]}),
     ["config.json:knobs[0]: knob 'a' has no 'values' (or 'min' and 'max'); give its values"]),
])
def test_each_error_line_says_what_to_do_in_json_words(tmp_path, text, fragments):
    """`error: <file>:<where>: <what>; <what to do>`, with JSON's names (an array, null) and not Python's"""
    line = check(tmp_path, None, *fragments, text=text)
    assert "NoneType" not in line and "not list" not in line


def test_a_missing_config_says_what_to_do(tmp_path):
    r = run_deffe("-config", "no_such_config.json", cwd=tmp_path)
    assert_user_error(r, "error: no_such_config.json: file not found; check the name")
