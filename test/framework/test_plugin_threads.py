"""A plugin's ``framework.threads`` is the budget of the process it runs in (docs/plugins.md: "the threads its
libraries may use"): 1 in each of the -jobs evaluation workers, half the budget in an asynchronous driver whose
model trains beside it, the whole budget in a synchronous driver. A plugin that sizes its library by it
(torch.set_num_threads(framework.threads)) then stays inside -jobs.
"""
import json
import os

from cli_helpers import read_csv, run_deffe, write

NOTE = '''
import json, os
def note(fw, what):
    with open(os.path.join(str(fw.run_dir), "threads.jsonl"), "a") as fh:
        fh.write(json.dumps([what, fw.threads]) + "\\n")
'''
EVALUATE = '''
class Evaluate:
    def __init__(self, fw): self.fw = fw
    def Initialize(self): pass
    def Run(self, sample): return {"t": float(self.fw.threads)}      # what a worker's evaluation is told
def GetObject(fw): return Evaluate(fw)
'''
EXPLORE = '''
from framework.protocols import Proposal
from note import note
class Explore:
    def __init__(self, fw): self.fw = fw
    def Initialize(self): pass
    def Run(self):
        note(self.fw, "ask")
        codes = self.fw.sampling.Run(2)
        return Proposal(codes) if len(codes) else None
    def Tell(self, codes, results): pass
def GetObject(fw): return Explore(fw)
'''
MODEL = '''
import numpy as np
from framework.protocols import Prediction
class Model:
    def __init__(self, fw): self.fw = fw
    def Initialize(self): pass
    def Run(self, data): return {}
    def Predict(self, codes):
        n = len(codes)
        return Prediction(np.zeros((n, 1)), np.zeros((n, 1)), np.ones(n))
def GetObject(fw): return Model(fw)
'''
BUDGET = min(2, os.cpu_count() or 1)   # -jobs 2 (the driver never takes more threads than there are cores)


def setup(tmp_path, model):
    for name, text in (("note", NOTE), ("my_eval", EVALUATE), ("my_explore", EXPLORE), ("my_model", MODEL)):
        write(tmp_path / f"{name}.py", text)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "x", "values": [1, 2, 3, 4, 5, 6, 7, 8]}], "costs": ["t::min"],
        "evaluate": {"plugin": "my_eval"},
        "model": {"plugin": "my_model" if model else None},
        "exploration": {"plugin": "my_explore", "samples_per_step": 2, "max_samples": 6},
        "framework": {"run_directory": "run", "seed": 1}}))


def told(tmp_path) -> set:
    return {n for _, n in map(json.loads, (tmp_path / "run" / "threads.jsonl").read_text().splitlines())}


def evaluations_told(tmp_path) -> set:
    return {row["t"] for row in read_csv(tmp_path / "run" / "deffe_evaluation.csv")}


def test_each_of_the_jobs_workers_is_told_one_thread_and_the_driver_the_budget(tmp_path):
    setup(tmp_path, model=False)
    r = run_deffe("-config", "config.json", "-jobs", "2", cwd=tmp_path)
    assert r.rc == 0, r
    # 2 workers of one thread each: told 2 each, a library sized by it ran 4 threads on 2 cores
    assert evaluations_told(tmp_path) == {"1"}
    assert told(tmp_path) == {BUDGET}   # the synchronous driver keeps the whole budget


def test_async_asks_are_told_the_half_budget_the_driver_is_held_to(tmp_path):
    setup(tmp_path, model=True)
    r = run_deffe("-config", "config.json", "-jobs", "2", "-async", cwd=tmp_path)
    assert r.rc == 0, r
    assert told(tmp_path) == {max(1, BUDGET // 2)}   # the training process has the other half
    assert evaluations_told(tmp_path) == {"1"}
