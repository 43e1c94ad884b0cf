"""One clear count of what a run evaluated, reused, retried and saw fail; a broken plugin stops the run early."""
import json
import re
import sqlite3

from cli_helpers import assert_runtime_error, read_csv, run_deffe, write

FLAKY = '''
import os
def evaluate(p):
    if p["a"] % 4 == 0 and not os.path.exists("healed"):
        raise RuntimeError(f"no luck with {p['a']}")      # a different message for every point
    return {"t": (p["a"] - 17) ** 2 + p["b"]}
'''


def flaky(tmp_path, **exploration):
    write(tmp_path / "ev.py", FLAKY)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-40"}, {"name": "b", "values": "0-10"}],
        "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "torch_mlp", "epochs": 30, "ensemble": 2},
        "exploration": {"initial_samples": 12, "samples_per_step": 6, "max_samples": 30, **exploration},
        "framework": {"seed": 5}}))


def statuses(tmp_path) -> list[str]:
    return [row["status"] for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")]


def test_the_summary_counts_the_failures_it_reuses(tmp_path):
    flaky(tmp_path)
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    failed = statuses(tmp_path).count("failed")
    assert failed > 0
    assert f"30 evaluated now, 0 from the store, {failed} failed" in r.out, r
    again = run_deffe("-config", "config.json", cwd=tmp_path)
    assert f"0 evaluated now, 30 from the store, {failed} failed" in again.out, again


def test_retrying_failures_keeps_the_exploration_within_its_budget(tmp_path):
    flaky(tmp_path)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    failed = statuses(tmp_path).count("failed")
    (tmp_path / "healed").write_text("")
    r = run_deffe("-config", "config.json", "-retry-failed", cwd=tmp_path)
    assert r.rc == 0, r
    after = statuses(tmp_path)
    assert len(after) == 30 and "failed" not in after, after            # the budget, not 30 + the new course
    retried = re.search(r"\((\d+) of them retried failures\)", r.out)
    assert retried and 1 <= int(retried.group(1)) <= failed and ", 0 failed" in r.out, r
    with sqlite3.connect(tmp_path / "explore" / "deffe.db") as db:       # nothing was thrown away
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] >= 30


def test_a_plugin_that_crashes_alike_on_every_point_stops_the_run(tmp_path):
    # the mistake of the README's first plugin: the evaluator gets a Sample, not a dict
    write(tmp_path / "broken.py", "class E:\n    def __init__(self, fw):\n        pass\n"
                                  "    def Initialize(self):\n        pass\n"
                                  "    def Run(self, sample):\n        return {'t': sample['a']}\n"
                                  "def GetObject(fw):\n    return E(fw)\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-100"}], "costs": ["t"],
        "evaluate": {"plugin": "broken"}, "exploration": {"plugin": "sampling", "samples_per_step": 5}}))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    line = assert_runtime_error(r, "config.json:evaluate.plugin", "every evaluation so far (5) failed with "
                                   "the same error: TypeError: 'Sample' object is not subscriptable")
    assert "-retry-failed" in line
    assert statuses(tmp_path) == ["failed"] * 5                          # stored, and only the first step


def test_an_evaluator_that_never_gives_a_cost_the_config_names_stops_the_run(tmp_path):
    # costs under other names (a typo in the config or the evaluator) failed every point of the budget, quietly
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'time': p['a'], 'mem': 1}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-100"}], "costs": ["tme", "mem"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 5, "max_samples": 40}}))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert_runtime_error(r, "config.json:evaluate.plugin", "every evaluation so far (5) failed with the same error: "
                            "the evaluator gave no value for tme (it gave: time, mem)")
    assert statuses(tmp_path) == ["failed"] * 5
    # an evaluator that gives nothing for some points is a run of bad points, not a broken one
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {} if p['a'] % 2 else {'tme': p['a'], 'mem': 1}\n")
    r = run_deffe("-config", "config.json", "-fresh", cwd=tmp_path)
    assert r.rc == 0, r


def test_points_that_fail_each_their_own_way_do_not_stop_the_run(tmp_path):
    write(tmp_path / "ev.py", "def evaluate(p):\n    raise ValueError(f'point {p[\"a\"]} is bad')\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-10"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 5}}))
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0 and "10 evaluated now, 0 from the store, 10 failed" in r.out, r


def two_entries(tmp_path, knob):
    """Entries e1 (knobs a, b) and e2 (knobs b, c), and an evaluator that reads ``knob``."""
    write(tmp_path / "ev.py", f"def evaluate(p):\n    return {{'t': float(p['{knob}']) + float(p['b'])}}\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "a", "groups": "g1", "values": "1-6"}, {"name": "b", "groups": "g1, g2", "values": "1-4"},
                  {"name": "c", "groups": "g2", "values": "1-3"}],
        "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 4, "explore": [
            {"name": "e1", "groups": "g1", "max_samples": 8}, {"name": "e2", "groups": "g2", "max_samples": 12}]}}))


def test_a_bug_that_hits_only_a_later_entry_stops_the_run(tmp_path):
    # the evaluator reads knob a, which entry e2 has not: with one watch for the run, e1's successes covered
    # e2's failures and e2 spent its whole budget on one KeyError, exit 0
    two_entries(tmp_path, "a")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    line = assert_runtime_error(r, "config.json:evaluate.plugin", "every evaluation of exploration 'e2' so far (4) "
                                   "failed with the same error: KeyError: 'a'")
    assert "(e2-deffe_evaluation.csv, deffe.log)" in line          # the entry's table as it was written
    assert [row["status"] for row in read_csv(tmp_path / "explore" / "e2-deffe_evaluation.csv")] == ["failed"] * 4
    assert [row["status"] for row in read_csv(tmp_path / "explore" / "e1-deffe_evaluation.csv")] == ["ok"] * 8


def test_the_crash_stop_names_the_entrys_table_as_written(tmp_path):
    # the failures were said to be in deffe_evaluation.csv; with several entries the file is e1-deffe_evaluation.csv
    two_entries(tmp_path, "c")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    line = assert_runtime_error(r, "every evaluation of exploration 'e1' so far (4) failed with the same error: "
                                   "KeyError: 'c'")
    assert "(e1-deffe_evaluation.csv, deffe.log)" in line
    assert (tmp_path / "explore" / "e1-deffe_evaluation.csv").exists()
