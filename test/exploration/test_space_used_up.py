"""A step never asks for more points than a finite space has left, and the exploration stops once the space
is used up: a samples_per_step far above the space's size with no sample budget used to spin for ever after
the first step (balanced_shares went slot by slot over 10**9 slots)."""
import json
import random
import subprocess
import sys

from cli_helpers import RUN_DEFFE, deffe_env, read_csv, write

from framework.scenarios import balanced_shares

EVALUATOR = '''
def evaluate(p):
    return {"cost": (p["x"] - 3) ** 2 + (p["y"] - 1) ** 2 + 1}
'''


def test_a_step_larger_than_the_space_ends_when_the_space_is_used_up(tmp_path):
    write(tmp_path / "f.py", EVALUATOR)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "x", "values": "0-8"}, {"name": "y", "values": [0, 1, 2, 3]}],
        "costs": ["cost"], "evaluate": {"plugin": "python", "function": "f:evaluate"},
        "model": {"plugin": "sklearn_rf"},
        "exploration": {"plugin": "surrogate", "samples_per_step": 1000000000},
        "framework": {"seed": 1, "report_files": False, "progress": False}}))
    # a bounded call: a hang (the bug) ends the test, not the suite; a normal run takes a few seconds
    proc = subprocess.run([sys.executable, str(RUN_DEFFE), "-config", "config.json"], cwd=tmp_path,
                          env=deffe_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 32
    assert len({(r["x"], r["y"]) for r in rows}) == 32


def test_an_initial_design_larger_than_the_budget_is_drawn_at_the_budget_size(tmp_path):
    # a continuous knob (no finite space to bound it) and samples_per_step 10**9: the initial design was
    # drawn at 10**9 points and cut to max_samples afterwards, for ever
    write(tmp_path / "f.py", EVALUATOR)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "x", "type": "real", "min": 0, "max": 8}, {"name": "y", "values": [0, 1, 2, 3]}],
        "costs": ["cost"], "evaluate": {"plugin": "python", "function": "f:evaluate"},
        "model": {"plugin": "sklearn_rf"},
        "exploration": {"plugin": "surrogate", "samples_per_step": 1000000000, "max_samples": 12},
        "framework": {"seed": 1, "report_files": False, "progress": False}}))
    proc = subprocess.run([sys.executable, str(RUN_DEFFE), "-config", "config.json"], cwd=tmp_path,
                          env=deffe_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 12 and len({(r["x"], r["y"]) for r in rows}) == 12


def _slot_by_slot(n, counts, serve):
    """The definition balanced_shares computes: each slot to the served scenario with the fewest points so
    far, ties to the first in the list."""
    have = {s: counts[s] for s in serve}
    shares = {s: 0 for s in serve}
    for _ in range(n if serve else 0):
        s = min(serve, key=lambda t: (have[t], serve.index(t)))
        have[s] += 1
        shares[s] += 1
    return {s: c for s, c in shares.items() if c}


def test_balanced_shares_is_the_slot_by_slot_share_without_the_slots():
    rng = random.Random(7)
    for _ in range(3000):
        k = rng.randint(1, 8)
        counts = [rng.randint(0, 6) for _ in range(k)]
        serve = rng.sample(range(k), rng.randint(0, k))
        n = rng.randint(0, 30)
        got = balanced_shares(n, counts, serve)
        want = _slot_by_slot(n, counts, serve)
        assert got == want and list(got) == list(want), (n, counts, serve)
