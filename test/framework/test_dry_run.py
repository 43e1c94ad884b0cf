"""-no-run shows what a real run would evaluate next, from what the run directory holds, and always ends."""
import json

import pytest

from cli_helpers import assert_runtime_error, read_csv, run_deffe, write

EVALUATOR = "def evaluate(p):\n    return {'t': (p['a'] - 3) ** 2 + p['b'] + 0.1 * p['c']}\n"


def guided(tmp_path, **exploration):
    """A model-guided exploration of a space far larger than its budget."""
    write(tmp_path / "ev.py", EVALUATOR)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "a", "values": "0-100"}, {"name": "b", "values": "0-100"},
                  {"name": "c", "values": "0-100"}],
        "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "torch_mlp", "epochs": 30, "ensemble": 2},
        "exploration": {"initial_samples": 8, "samples_per_step": 4, "max_samples": 16, **exploration},
        "framework": {"seed": 3}}))


def would(run) -> list[str]:
    return [line for line in run.out.splitlines() if line.startswith("would evaluate:")]


def test_a_budgeted_guided_run_shows_its_first_batch_and_ends(tmp_path):
    guided(tmp_path)
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0, r
    lines = would(r)
    assert len(lines) == 8 and len(set(lines)) == 8           # the initial design, no repeats
    assert "step 0 would evaluate 8 new points" in r.out and "depend on their results" in r.out
    assert not (tmp_path / "explore").exists()


def test_a_dry_run_of_a_finished_run_lists_nothing(tmp_path):
    guided(tmp_path)
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    before = sorted(p.name for p in (tmp_path / "explore").iterdir())
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0, r
    assert would(r) == [] and "nothing to evaluate" in r.out, r
    assert sorted(p.name for p in (tmp_path / "explore").iterdir()) == before


def test_a_dry_run_of_a_stopped_run_lists_the_points_the_real_run_evaluates_next(tmp_path):
    guided(tmp_path)
    assert run_deffe("-config", "config.json", "-max-samples", "8", cwd=tmp_path).rc == 0
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0, r
    shown = {line.removeprefix("would evaluate: ") for line in would(r)}
    # the next step of the guided search: 8 of the 16 remain, the last 5 (confirm) are the confirmation step
    assert len(shown) == 3, r
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    evaluated_next = {f"a={x['a']}, b={x['b']}, c={x['c']}" for x in rows[8:11]}
    assert shown == evaluated_next


def test_a_sampling_exploration_is_listed_step_by_step_within_its_budget(tmp_path):
    guided(tmp_path, plugin="sampling")
    r = run_deffe("-config", "config.json", "-no-run", "-max-samples", "11", cwd=tmp_path)
    assert r.rc == 0, r
    assert len(would(r)) == 11 and len(set(would(r))) == 11


def test_a_dry_run_of_a_script_evaluator_shows_the_substituted_scripts_of_its_first_points(tmp_path):
    """Deffe's -no-run wrote each sample's directory with the substituted evaluate script to check before a long
    campaign; ours wrote nothing and showed no script. Now it prints them, still writing nothing."""
    write(tmp_path / "evaluate.sh", '#!/bin/bash\necho "running a=$a"\n\necho $a > results.out\n')
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": "1-6"}], "costs": ["t"], "model": {"plugin": None},
        "evaluate": {"script": "evaluate.sh"}, "exploration": {"plugin": "sampling", "samples_per_step": 5}}))
    before = sorted(p.name for p in tmp_path.iterdir())
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0, r
    assert len(would(r)) == 5
    first = would(r)[0].split("=")[1]
    assert f'would evaluate: a={first}\n    in explore/explore_<N>/: /bin/bash evaluate.sh, which would read:\n' \
           f'      #!/bin/bash\n      echo "running a={first}"\n      echo {first} > results.out\n' in r.out
    assert r.out.count("which would read:") == 3 and "after the first 3 are not shown" in r.out
    assert sorted(p.name for p in tmp_path.iterdir()) == before   # nothing written


DRY_EVALUATOR = '''
class E:
    def __init__(self, fw): pass
    def Initialize(self): pass
    def Run(self, sample): return {"t": 1.0}
    def DryRun(self, values): return RETURN
def GetObject(framework): return E(framework)
'''


def test_an_evaluate_plugins_dry_run_lines_may_be_one_str_and_anything_else_is_its_mistake(tmp_path):
    # a str was printed one character per line
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "1-6"}], "costs": ["t"],
        "evaluate": {"plugin": "my_eval"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 1, "max_samples": 1}}))
    write(tmp_path / "my_eval.py", DRY_EVALUATOR.replace("RETURN", '"simulate a=%s" % values["a"]'))
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0, r
    a = would(r)[0].split("=")[1]
    assert f"would evaluate: a={a}\n    simulate a={a}\nexploration" in r.out, r
    write(tmp_path / "my_eval.py", DRY_EVALUATOR.replace("RETURN", '["x", 2]'))
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert_runtime_error(r, "config.json:evaluate.plugin: evaluate plugin 'my_eval': DryRun() returned a list "
                            "holding a int (2), not lines; return the lines -no-run prints: a str, or a list of str")
    assert not (tmp_path / "explore").exists()


REPEATING = '''
import numpy as np
from framework.protocols import Proposal
STEPS = [[1, 2, 3], [4, 1, 2], [2, 2, 5]]    # values of a: points proposed again in later steps
class X:
    adaptive = False
    def __init__(self, fw): self.fw = fw; self.step = 0
    def Initialize(self): self.space = self.fw.space
    def Run(self):
        self.step += 1
        if self.step > len(STEPS):
            return None
        return Proposal(np.array([self.space.code_row({"a": a}) for a in STEPS[self.step - 1]]))
    def Tell(self, codes, results): pass
def GetObject(framework): return X(framework)
'''


def test_a_non_adaptive_exploration_proposing_points_again_is_listed_and_counted_as_the_real_run_does(tmp_path):
    # the dry run listed every proposal, repeats included, and said "evaluation budget of 8 samples reached"
    # where the real run evaluated 5 points and finished; the real run's summary said "3 from the store" in
    # a new run directory (the points it told again)
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': p['a']}\n")
    write(tmp_path / "my_x.py", REPEATING)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "1-9"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"plugin": "my_x", "max_samples": 8}}))
    r = run_deffe("-config", "config.json", "-no-run", cwd=tmp_path)
    assert r.rc == 0, r
    assert would(r) == [f"would evaluate: a={a}" for a in (1, 2, 3, 4, 5)], r
    assert "exploration 'explore_0': the exploration finished (dry run: nothing written)" in r.out, r
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    assert "exploration 'explore_0': the exploration finished; 5 evaluated now, 0 from the store, 0 failed" in r.out, r
    assert sorted(int(row["a"]) for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")) == [1, 2, 3, 4, 5]
    r = run_deffe("-config", "config.json", cwd=tmp_path)   # a rerun: each stored point once from the store
    assert "0 evaluated now, 5 from the store, 0 failed" in r.out, r
    # the asynchronous mode told the same: a point proposed again after it was evaluated counted as stored
    (tmp_path / "explore").rename(tmp_path / "steps")
    r = run_deffe("-config", "config.json", "-async", cwd=tmp_path)
    assert r.rc == 0 and "5 evaluated now, 0 from the store, 0 failed" in r.out, r


@pytest.mark.parametrize("flags", [(), ("-async",)])
def test_retry_failed_tries_again_failures_of_earlier_runs_not_of_this_one(tmp_path, flags):
    # a point that failed earlier in the same run and was proposed again was evaluated again at each proposal
    write(tmp_path / "ev.py", "import os\ndef evaluate(p):\n    open(f\"calls_{p['a']}\", 'a').write('x')\n"
                              "    if p['a'] == 2:\n        raise RuntimeError('no')\n    return {'t': p['a']}\n")
    write(tmp_path / "my_x.py", REPEATING)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "1-9"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"plugin": "my_x", "max_samples": 8}}))
    r = run_deffe("-config", "config.json", "-retry-failed", *flags, cwd=tmp_path)
    assert r.rc == 0, r
    assert (tmp_path / "calls_2").read_text() == "x", r    # proposed in the three steps, evaluated once
    r = run_deffe("-config", "config.json", "-retry-failed", *flags, cwd=tmp_path)
    assert r.rc == 0 and (tmp_path / "calls_2").read_text() == "xx", r   # a failure of the run before: again
