"""A driver killed with kill -9 at random moments, twenty times in one exploration, resumes to exactly the run it
would have made: the same points with the same costs, each stored once, the tables consistent with the store.

The evaluator arms a killer on the first evaluation of each driver's life: a separate process that sleeps a
random fraction of a second and sends SIGKILL to the driver, so the kill lands wherever the driver is then
(evaluating, storing, training the model, writing tables). What is checked does not depend on where.
"""
import json
import os
import sqlite3
from collections import Counter

from cli_helpers import read_csv, run_deffe, write

KILLS = 20

EVALUATOR = f'''
import os, random, subprocess, sys, time

def evaluate(p):
    d = os.environ["FAULT_DIR"]
    with open(os.path.join(d, "calls.log"), "a") as fh:
        fh.write(f"{{p['a']}},{{p['b']}},{{p['c']}}\\n")
    driver = os.getppid()
    marker = os.path.join(d, f"kill_{{driver}}")
    kills = [f for f in os.listdir(d) if f.startswith("kill_")]
    if len(kills) < {KILLS} and not os.path.exists(marker):
        open(marker, "w").close()
        delay = random.Random(driver).uniform(0.0, 0.12)
        subprocess.Popen([sys.executable, "-c", f"import os, time; time.sleep({{delay}}); os.kill({{driver}}, 9)"],
                         start_new_session=True)
    time.sleep(0.03)
    return {{"t": (p["a"] - 5) ** 2 + (p["b"] - 2) ** 2 + 0.5 * p["c"], "m": p["a"] + p["b"]}}
'''


def setup(folder):
    write(folder / "ev.py", EVALUATOR)
    write(folder / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "a", "values": "0-10"}, {"name": "b", "values": "0-10"}, {"name": "c", "values": "0-10"}],
        "costs": ["t", "m"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "torch_mlp", "epochs": 30, "ensemble": 2},
        "exploration": {"initial_samples": 10, "samples_per_step": 10, "max_samples": 60, "analysis": False},
        "framework": {"seed": 4, "progress": False}}))
    (folder / "faults").mkdir()
    return {"FAULT_DIR": str(folder / "faults")}


def stored(folder) -> dict[str, dict]:
    with sqlite3.connect(folder / "explore" / "deffe.db") as db:
        rows = db.execute("SELECT key, costs, status FROM samples").fetchall()
    return {key: (json.loads(costs or "{}"), status) for key, costs, status in rows}


def test_twenty_kills_then_the_same_run_as_without_them(tmp_path):
    reference = tmp_path / "reference"
    env = setup(reference)
    for i in range(KILLS):   # the reference run is never killed
        (reference / "faults" / f"kill_{i}").write_text("")
    assert run_deffe("-config", "config.json", cwd=reference, env=env).rc == 0

    killed = tmp_path / "killed"
    env = setup(killed)
    lives = []
    for _ in range(KILLS + 5):
        r = run_deffe("-config", "config.json", cwd=killed, env=env)
        lives.append(r.rc)
        if r.rc == 0:
            break
        assert r.rc == -9, r          # killed, never failing on its own
    kills = len([f for f in os.listdir(killed / "faults") if f.startswith("kill_")])
    assert lives[-1] == 0 and lives.count(-9) == kills == KILLS, lives

    want, got = stored(reference), stored(killed)
    assert got == want and len(got) == 60              # the same points, the same costs, each stored once
    table = read_csv(killed / "explore" / "deffe_evaluation.csv")
    assert sorted(table, key=str) == sorted(read_csv(reference / "explore" / "deffe_evaluation.csv"), key=str)
    calls = Counter((killed / "faults" / "calls.log").read_text().splitlines())
    assert len(calls) == 60 and sum(calls.values()) - 60 <= kills   # only evaluations in flight ran again
