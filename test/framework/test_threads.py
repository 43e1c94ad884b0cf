"""Every library that spawns threads stays inside the budget the user gave (-jobs, model.threads).

A model plugin and an evaluator of the test's own report the thread pools of the
process they run in (threadpoolctl sees BLAS and OpenMP, scikit-learn's and
torch's; torch's own pool is asked directly). The runs start a new interpreter:
what is checked is what a user's process starts with.
"""
import json

import pytest

from cli_helpers import read_csv, run_deffe, write

REPORTER = '''
import json, os
import numpy as np

def pools():
    import sklearn.ensemble, torch                      # scikit-learn's OpenMP and torch's own pool
    from threadpoolctl import threadpool_info
    found = {f"{p['user_api']}:{os.path.basename(p['filepath'])}": p["num_threads"] for p in threadpool_info()}
    found["torch"] = torch.get_num_threads()
    return found

class Model:
    def __init__(self, framework):
        self.framework = framework
    def Initialize(self):
        pass
    def Run(self, data):
        # what the driver's libraries may use while the model trains
        with open(os.path.join(str(self.framework.run_dir), "driver_pools.json"), "w") as fh:
            json.dump(pools(), fh)
        return {}
    def Predict(self, codes):
        from framework.protocols import Prediction
        n = len(codes)
        return Prediction(np.zeros((n, 1)), np.zeros((n, 1)), np.ones(n))

def GetObject(framework):
    return Model(framework)

def evaluate(p):
    return {"t": max(pools().values())}                     # the most threads any pool of the worker has
'''


def setup(tmp_path, **model):
    write(tmp_path / "probe.py", REPORTER)
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [1, 2, 3, 4]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "probe:evaluate"},
        "model": {"plugin": "probe", **model},
        "exploration": {"plugin": "sampling", "samples_per_step": 4}}))


def driver_pools(tmp_path) -> dict:
    return json.loads((tmp_path / "explore" / "driver_pools.json").read_text())


def test_without_jobs_everything_runs_on_one_thread(tmp_path):
    setup(tmp_path)
    r = run_deffe("-config", "config.json", cwd=tmp_path, real=True)
    assert r.rc == 0, r
    pools = driver_pools(tmp_path)
    assert any(k.startswith("openmp") for k in pools), pools   # the classifier's OpenMP is among them
    assert set(pools.values()) == {1}, pools
    assert {row["t"] for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")} == {"1"}


@pytest.mark.parametrize("flags,model,driver", [(["-jobs", "2"], {}, 2), ([], {"threads": 2}, 2),
                                                (["-jobs", "2"], {"threads": 1}, 1)])
def test_jobs_and_model_threads_set_the_driver_budget_and_workers_keep_one_each(tmp_path, flags, model, driver):
    # a fork of the test process is enough here: it starts on one thread, so a pool of two is the run's doing
    setup(tmp_path, **model)
    r = run_deffe("-config", "config.json", *flags, cwd=tmp_path)
    assert r.rc == 0, r
    assert set(driver_pools(tmp_path).values()) == {driver}
    assert {row["t"] for row in read_csv(tmp_path / "explore" / "deffe_evaluation.csv")} == {"1"}


def test_scripts_get_the_thread_settings_the_user_started_with(tmp_path):
    write(tmp_path / "run.sh", 'echo "${OMP_NUM_THREADS:-unset}" > omp.txt\necho 1 > results.out\n')
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": [1]}], "costs": ["t"], "evaluate": {"script": "run.sh"},
        "model": {"plugin": None}}))
    r = run_deffe("-config", "config.json", cwd=tmp_path, env={"OMP_NUM_THREADS": "3"}, real=True)
    assert r.rc == 0, r
    assert next((tmp_path / "explore").glob("explore_*/omp.txt")).read_text().strip() == "3"
