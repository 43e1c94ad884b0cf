"""The SLURM executor against a real one-node SLURM cluster started on localhost (slurm_cluster.py).

The task functions are module-level: the jobs import them from this module by name (the test
directory is on the python path the executor gives its jobs).
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from slurm_cluster import ClusterError, SlurmCluster  # noqa: E402

from cli_helpers import ROOT, assert_user_error, read_csv, run_deffe  # noqa: E402

from framework import executor_slurm  # noqa: E402
from framework.errors import DeffeError  # noqa: E402
from framework.executor_slurm import SlurmExecutor, parse_time, slurm_parameters  # noqa: E402
from framework.protocols import EvaluationFailed, Result  # noqa: E402

POLL = 0.2


# ----------------------------------------------------------------------------- tasks (run in the jobs)
def square(x):
    return Result("ok", costs={"y": float(x) ** 2})


def nap(payload):
    """(value, seconds[, marker file]): notes each start in the marker, sleeps, returns value."""
    value, seconds, *marker = payload
    if marker:
        with open(marker[0], "a") as f:
            f.write(f"{value}\n")
    time.sleep(seconds)
    return Result("ok", costs={"y": float(value)})


def logged_nap(payload):
    """(value, seconds, log): appends 'start value' and 'end value' around its sleep."""
    value, seconds, log = payload
    with open(log, "a") as f:
        f.write(f"start {value}\n")
    time.sleep(seconds)
    with open(log, "a") as f:
        f.write(f"end {value}\n")
    return Result("ok", costs={"y": float(value)})


def environment(name):
    return Result("ok", costs={"value": float(os.environ.get(name, "nan"))})


def broken(kind):
    if kind == "expected":
        raise EvaluationFailed("the simulator said no")
    raise ValueError("bad knob")


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("slurm")
    try:
        c = SlurmCluster(root).start()
    except ClusterError as e:
        pytest.fail(f"the local SLURM cluster did not start: {e}", pytrace=False)
    saved = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(c.conf)   # submitit and the executor call sbatch/squeue themselves
    try:
        yield c
    finally:
        c.stop()
        if saved is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = saved


def make(task, folder, jobs=2, timeout=None, settings=None):
    ex = SlurmExecutor(task, jobs=jobs, timeout=timeout, settings=settings, folder=folder, poll_interval=POLL)
    ex.result_grace = 2.0
    ex.state_interval = POLL
    return ex


def collect(ex, limit=60.0):
    out = {}
    t0 = time.monotonic()
    for tid, result in ex.results():
        assert tid not in out, "a result came back twice"
        out[tid] = result
        assert time.monotonic() - t0 < limit
    return out


def record(folder):
    return json.loads((Path(folder) / "jobs.json").read_text())


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def release(cluster, job_id):
    """SLURM holds a requeued job back for two minutes (its begin time): let it start as soon as it is safe,
    once its first run is over (else the end of the first run is taken for the end of the second)."""
    cluster.wait_state(job_id, {"PENDING"})
    wait_for(lambda: not cluster.steps(job_id))
    # slurmd refuses a credential issued in the second the job's previous one was revoked
    time.sleep(2)
    cluster.run("scontrol", "update", f"JobId={job_id}", "StartTime=now")


# ----------------------------------------------------------------------------- settings (no cluster)
def test_settings_map_onto_submitit_parameters():
    p = slurm_parameters({"nodes": "2", "cpus_per_task": 4, "partition": "gpu", "account": "proj",
                          "time": "01:30:00", "mem": "16G", "constraint": "haswell", "exclude": "n[1-3]",
                          "nodelist": "n7", "mail_type": "END", "mail_user": "me@x.org",
                          "source_scripts": ["$HOME/env.sh", "/opt/setup.sh"],
                          "pyscript": "deffe_slurm.py", "user_script_configured": True}, jobs=3)
    assert p["nodes"] == 2 and p["cpus_per_task"] == 4 and p["partition"] == "gpu"
    assert p["time"] == 90 and p["mem"] == "16G" and p["array_parallelism"] == 3
    assert p["additional_parameters"] == {"account": "proj", "constraint": "haswell", "exclude": "n[1-3]",
                                          "nodelist": "n7", "mail-type": "END", "mail-user": "me@x.org"}
    assert [line.rsplit("; ", 1)[1] for line in p["setup"]] == ["source $HOME/env.sh", "source /opt/setup.sh"]
    [line] = slurm_parameters({"source_scripts": "a.sh"})["setup"]
    assert line.startswith("_deffe_source=(a.sh); ") and line.endswith("; source a.sh")
    assert slurm_parameters(None)["time"] is None


@pytest.mark.parametrize("text,minutes", [("30", 30), ("10:30", 11), ("2:00:00", 120), ("1-0", 1440),
                                          ("1-2:30", 1590), ("0-0:0:1", 1), (45, 45), ("infinite", None)])
def test_time_syntax(text, minutes):
    assert parse_time(text) == minutes


@pytest.mark.parametrize("settings,where", [({"partion": "x"}, "slurm.partion"), ({"nodes": "two"}, "slurm.nodes"),
                                            ({"nodes": 0}, "slurm.nodes"), ({"time": "1h"}, "slurm.time"),
                                            ({"mem": "lots"}, "slurm.mem"), ({"time": "0"}, "slurm.time")])
def test_bad_settings_name_their_key(settings, where):
    with pytest.raises(DeffeError) as e:
        slurm_parameters(settings)
    assert str(e.value).startswith(where + ":") and "\n" not in str(e.value)


def test_a_bad_setting_of_a_run_names_the_config_file_and_a_way_forward(tmp_path):
    # the errors said "error: slurm.time: ..." without the file, and "time limit '0' is zero" with no hint
    (tmp_path / "ev.py").write_text("def evaluate(p):\n    return {'t': p['a']}\n")
    (tmp_path / "config.json").write_text(json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [0, 1]}], "costs": ["t"], "model": None,
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "slurm": {"time": "0"},
        "exploration": {"samples_per_step": 2, "max_samples": 2}, "framework": {"executor": "slurm"}}))
    r = run_deffe("-config", "config.json", "-quiet", cwd=tmp_path)
    assert_user_error(r, "error: config.json:slurm.time: time limit '0' is zero; ", '"unlimited"')
    assert not (tmp_path / "explore").exists()   # nothing written


def test_a_bad_setting_with_fresh_leaves_the_finished_run_where_it_is(tmp_path):
    """The executor's settings are checked before a previous run is moved aside (or a store made)."""
    (tmp_path / "ev.py").write_text("def evaluate(p):\n    return {'t': p['a']}\n")
    config = {"python_path": ["."], "knobs": [{"name": "a", "values": [0, 1]}], "costs": ["t"], "model": None,
              "evaluate": {"plugin": "python", "function": "ev:evaluate"},
              "exploration": {"samples_per_step": 2, "max_samples": 2}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert run_deffe("-config", "config.json", "-quiet", cwd=tmp_path).rc == 0
    before = sorted(p.name for p in (tmp_path / "explore").iterdir())
    config.update({"slurm": {"time": "2h"}, "framework": {"executor": "slurm"}})
    (tmp_path / "config.json").write_text(json.dumps(config))
    r = run_deffe("-config", "config.json", "-quiet", "-fresh", cwd=tmp_path)
    assert_user_error(r, "error: config.json:slurm.time: time limit '2h' is not in SLURM's syntax")
    assert not (tmp_path / "explore.1").exists()
    assert sorted(p.name for p in (tmp_path / "explore").iterdir()) == before


# ----------------------------------------------------------------------------- on the cluster
def test_a_batch_goes_out_as_one_array(cluster, tmp_path):
    ex = make(square, tmp_path / "slurm", jobs=2)
    ids = {ex.submit(x, key=f"s{x}"): x for x in range(5)}
    assert ex.pending() == 5
    got = {}
    for tid, result in ex.results():
        if not got:   # the record holds the jobs in flight: one array, one task per sample
            jobs = [e["job_id"] for e in record(tmp_path / "slurm").values()]
            assert len({j.split("_")[0] for j in jobs}) == 1 and all("_" in j for j in jobs)
        got[tid] = result
    assert {ids[t]: r.costs["y"] for t, r in got.items()} == {x: float(x * x) for x in range(5)}
    assert all(r.status == "ok" for r in got.values()) and ex.pending() == 0
    assert record(tmp_path / "slurm") == {}
    assert "--array=0-4%2" in next((tmp_path / "slurm").glob("*/*_submission.sh")).read_text()


def test_jobs_bounds_the_samples_of_every_array_in_flight(cluster, tmp_path):
    """-jobs 1 with samples submitted while an array runs (an asynchronous exploration): one evaluation at a
    time, not one per array (the node has two CPUs: SLURM itself would run two)."""
    log = tmp_path / "evals.log"
    ex = make(logged_nap, tmp_path / "slurm", jobs=1)
    for x in range(2):
        ex.submit((x, 2, str(log)))
    got = []
    for tid, result in ex.results():
        if not got:   # the second of the first array is about to start: these wait for it
            for x in range(2, 4):
                ex.submit((x, 2, str(log)))
        got.append(result.costs["y"])
    assert sorted(got) == [0.0, 1.0, 2.0, 3.0]
    running = most = 0
    for line in log.read_text().split("\n"):
        running += {"start": 1, "end": -1}.get(line.split(" ")[0], 0)
        most = max(most, running)
    assert most == 1, log.read_text()


def test_settings_reach_the_job(cluster, tmp_path):
    script = tmp_path / "env.sh"
    script.write_text("export DEFFE_TEST_SOURCED=42\n")
    ex = make(environment, tmp_path / "slurm",
              settings={"time": "0:05:00", "mem": "100M", "cpus_per_task": 1, "source_scripts": [str(script)]})
    tid = ex.submit("DEFFE_TEST_SOURCED")
    got = collect(ex)
    assert got[tid].costs == {"value": 42.0}, got[tid].error
    text = next((tmp_path / "slurm").glob("*/*_submission.sh")).read_text()
    for line in ("--time=5", "--mem=100M", "--signal=B:USR2@60", f"source {script}", "exec "):
        assert line in text, line


def test_a_source_script_the_job_cannot_read_fails_the_sample(cluster, tmp_path, caplog):
    # the job ran "source /nonexistent/modules.sh", bash said "No such file" into the job's log only, and the
    # sample was evaluated without its environment and stored ok
    missing = tmp_path / "nowhere" / "modules.sh"
    with caplog.at_level("WARNING", logger="deffe"):
        ex = make(environment, tmp_path / "slurm", settings={"source_scripts": [f"{missing} --quiet"]})
    assert f"slurm.source_scripts: {missing} is not found here" in caplog.text
    tid = ex.submit("HOME")
    got = collect(ex)
    assert got[tid].status == "failed"
    assert f"slurm.source_scripts[0]: cannot read '{missing}' on " in got[tid].error, got[tid].error


def test_timeout_and_failures_are_results(cluster, tmp_path):
    ex = make(nap, tmp_path / "a", timeout=1.5)
    slow = ex.submit((1, 30))
    fast = ex.submit((2, 0))
    got = collect(ex)
    assert got[slow].status == "timeout" and "1.5 s" in got[slow].error
    assert got[fast].status == "ok"

    ex = make(broken, tmp_path / "b")
    expected, crash = ex.submit("expected"), ex.submit("crash")
    got = collect(ex)
    assert got[expected].status == "failed" and got[expected].error == "the simulator said no"
    assert got[crash].status == "failed" and got[crash].crash == "ValueError: bad knob"


def test_a_cancelled_job_is_a_failed_sample(cluster, tmp_path):
    ex = make(nap, tmp_path / "slurm")
    tid = ex.submit((1, 60), key="k")
    results = ex.results()
    ex._send()   # out to SLURM now, so that the job can be cancelled under the executor
    job_id = record(tmp_path / "slurm")["k"]["job_id"]
    cluster.wait_state(job_id, {"RUNNING"})
    cluster.run("scancel", job_id)
    t0 = time.monotonic()
    got = dict(results)
    assert time.monotonic() - t0 < 20
    assert got[tid].status == "failed" and got[tid].error.startswith(f"SLURM job {job_id} was cancelled")


def test_plugins_loaded_from_a_file_travel_with_the_task(cluster, tmp_path):
    # framework.plugins loads a user's plugin file under a made-up module name no node can import
    source = tmp_path / "my_evaluate.py"
    source.write_text("def cost(x):\n    return 3 * x\n")
    spec = importlib.util.spec_from_file_location("deffe_user_evaluate_my_evaluate_0123abcd", source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    try:
        def task(x):   # a closure over the plugin, as the driver's task is
            return Result("ok", costs={"y": module.cost(x)})
        source.unlink()   # the job cannot read the file either
        ex = make(task, tmp_path / "slurm")
        tid = ex.submit(5)
        got = collect(ex)
        assert got[tid].status == "ok" and got[tid].costs == {"y": 15}, got[tid].error
    finally:
        del sys.modules[spec.name]


def test_a_job_that_dies_is_a_failed_sample(cluster, tmp_path):
    # the job's own process killed (the kernel's OOM killer, a node going down) leaves no result
    ex = make(nap, tmp_path / "slurm")
    tid = ex.submit((1, 60), key="k")
    results = ex.results()
    ex._send()
    job_id = record(tmp_path / "slurm")["k"]["job_id"]
    cluster.wait_state(job_id, {"RUNNING"})
    cluster.run("scancel", "--batch", "--signal=KILL", job_id)
    got = dict(results)
    assert got[tid].status == "failed"
    assert got[tid].error.startswith(f"SLURM job {job_id} failed without leaving a result"), got[tid].error


def test_submit_while_iterating(cluster, tmp_path):
    ex = make(square, tmp_path / "slurm")
    first = {ex.submit(x): x for x in (1, 2)}
    seen = {}
    later = {}
    for tid, result in ex.results():
        seen[tid] = result.costs["y"]
        if len(later) < 2:   # an asynchronous exploration proposes a point per result
            x = 10 + len(later)
            later[ex.submit(x)] = x
    expected = {t: float(x * x) for t, x in {**first, **later}.items()}
    assert seen == expected


def test_a_restarted_driver_attaches_to_its_jobs(cluster, tmp_path):
    folder = tmp_path / "slurm"
    marker = tmp_path / "starts"
    payloads = {"fast": (1, 0), "done": (2, 1), "slow": (3, 6), "gone": (4, 60)}
    ex = make(nap, folder, jobs=4)
    ids = {ex.submit((*p, str(marker)), key=k): k for k, p in payloads.items()}
    results = ex.results()
    tid, result = next(results)
    assert ids[tid] == "fast" and result.costs["y"] == 1.0
    jobs = {k: e["job_id"] for k, e in record(folder).items()}
    assert set(jobs) == {"done", "slow", "gone"}
    # the driver dies (kill -9: nothing cancelled, nothing closed); meanwhile one job ends, one is cancelled
    results.close()
    del ex, results
    wait_for(lambda: (folder / jobs["done"] / f"{jobs['done']}_0_result.pkl").exists())
    cluster.run("scancel", jobs["gone"])
    # CANCELLED, or out of the listing already: under load the cancelled task, which had not started, once
    # left squeue's listing before it was seen cancelled (CI, 2026-12-02)
    cluster.wait_state(jobs["gone"], {"CANCELLED", None})
    before = set(cluster.jobs())

    ex = make(nap, folder, jobs=4)
    payloads["gone"] = (4, 0)   # not attached: evaluated anew, with what the new driver submits
    ids = {ex.submit((*payloads[k], str(marker)), key=k): k for k in ("done", "slow", "gone")}
    got = {ids[t]: r for t, r in collect(ex).items()}
    assert {k: r.costs.get("y") for k, r in got.items()} == {"done": 2.0, "slow": 3.0, "gone": 4.0}
    new = set(cluster.jobs()) - before
    assert len(new) == 1, new   # only the cancelled sample was submitted again
    starts = marker.read_text().split()
    assert sorted(set(starts)) == ["1", "2", "3", "4"] and len(starts) <= 5   # "gone" may have started once
    assert record(folder) == {}


def _interrupt_running_job(cluster, tmp_path, value, interrupt):
    """Start one sample as a job, do ``interrupt(job_id)`` once it runs, let SLURM start it again; returns
    (the executor's results, the marker file with one line per start)."""
    marker = tmp_path / "starts"
    ex = make(nap, tmp_path / "slurm")
    tid = ex.submit((value, 3, str(marker)), key="k")
    results = ex.results()
    ex._send()
    job_id = record(tmp_path / "slurm")["k"]["job_id"]
    cluster.wait_state(job_id, {"RUNNING"})
    wait_for(marker.exists)
    interrupt(job_id)
    release(cluster, job_id)
    return dict(results)[tid], marker


def test_a_requeued_job_runs_again_and_reports_once(cluster, tmp_path):
    got, marker = _interrupt_running_job(cluster, tmp_path, 7, lambda job: cluster.run("scontrol", "requeue", job))
    assert got.status == "ok" and got.costs["y"] == 7.0, got.error
    assert len(marker.read_text().split()) == 2


def test_a_preempted_job_checkpoints_and_requeues_itself(cluster, tmp_path):
    # USR2 to the job's own process is what SLURM sends ahead of the time limit (--signal=B:USR2@90) and what
    # preemption sends on clusters set up for submitit: the job calls scontrol requeue on itself
    got, marker = _interrupt_running_job(cluster, tmp_path, 8,
                                         lambda job: cluster.run("scancel", "--batch", "--signal=USR2", job))
    assert got.status == "ok" and got.costs["y"] == 8.0, got.error
    assert len(marker.read_text().split()) == 2
    log = next((tmp_path / "slurm").glob("*/*_log.err")).read_text()
    assert "this job is preempted" in log and "DUE TO JOB REQUEUE" in log


def test_cancel_pending_leaves_the_running_job(cluster, tmp_path):
    ex = make(nap, tmp_path / "slurm", jobs=1)
    for i in range(3):
        ex.submit((i, 30), key=f"k{i}")
    ex._send()
    jobs = {k: e["job_id"] for k, e in record(tmp_path / "slurm").items()}
    cluster.wait_state(jobs["k0"], {"RUNNING"})
    assert ex.cancel_pending() == 2
    # (cancelled array tasks that had not started leave squeue at once)
    wait_for(lambda: all(cluster.jobs().get(jobs[k]) in (None, "CANCELLED") for k in ("k1", "k2")))
    assert cluster.jobs()[jobs["k0"]] == "RUNNING" and ex.pending() == 1
    assert set(record(tmp_path / "slurm")) == {"k0"}   # a restarted run can still attach to it
    ex.close(cancel=True)
    cluster.wait_state(jobs["k0"], {"CANCELLED"})


def test_a_partition_slurm_does_not_have_is_named_before_anything_is_written(cluster, tmp_path):
    """sinfo knows the partitions: one line naming config.json:slurm.partition and the partitions there are,
    before the run directory is made (sbatch's refusal came after it, with sbatch's stderr printed raw)."""
    (tmp_path / "ev.py").write_text("def evaluate(p):\n    return {'t': p['a']}\n")
    (tmp_path / "config.json").write_text(json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [0, 1]}], "costs": ["t"], "model": None,
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "slurm": {"partition": "nope"},
        "exploration": {"samples_per_step": 2, "max_samples": 2}, "framework": {"executor": "slurm"}}))
    r = run_deffe("-config", "config.json", "-quiet", cwd=tmp_path, env={"SLURM_CONF": str(cluster.conf)})
    assert_user_error(r, "error: config.json:slurm.partition: partition 'nope' does not exist", "debug")
    assert not (tmp_path / "explore").exists()   # nothing written


def test_sbatch_refusing_the_jobs_is_a_config_error(cluster, tmp_path, monkeypatch, capfd):
    """A refusal the checks before the run could not foresee (here: the check skipped, as for a partition
    removed meanwhile): one line with the config's file and key, sbatch's own words in it, none printed raw."""
    monkeypatch.setattr(executor_slurm, "check_reachable", lambda partition=None: None)
    ex = SlurmExecutor(square, settings={"partition": "nosuchpartition"}, folder=tmp_path / "slurm",
                       poll_interval=POLL, file="config.json")
    ex.submit(1)
    with pytest.raises(DeffeError) as e:
        list(ex.results())
    message = str(e.value)
    assert message.startswith("config.json:slurm.partition: sbatch refused the jobs: ") and "\n" not in message
    assert "nosuchpartition" in message
    assert "sbatch" not in capfd.readouterr().err


def test_a_run_with_the_slurm_executor(cluster, tmp_path):
    # Deffe's bare-minimal example, its samples evaluated as SLURM jobs
    for name in ("config.json", "evaluate.sh"):
        (tmp_path / name).write_text((ROOT / "test" / name).read_text())
    run = run_deffe("-config", "config.json", "-jobs", "2", "-max-samples", "4", "-executor", "slurm",
                    cwd=tmp_path, env={"SLURM_CONF": str(cluster.conf)})
    assert run.rc == 0, run
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 4
    for r in rows:
        assert float(r["exec_time"]) == float(r["param1"]) * float(r["param2"]) * float(r["size"])
    slurm = tmp_path / "explore" / "slurm"
    assert record(slurm) == {} and len([p for p in slurm.iterdir() if p.is_dir()]) >= 4


SLOW_EVALUATOR = '''
import os
import time

def evaluate(p):
    with open(os.path.join(os.path.dirname(__file__), "starts"), "a") as f:
        f.write(f"{p['x']}\\n")
    time.sleep(4)
    return {"t": p["x"] + 1.0}
'''


def test_a_killed_driver_resumes_and_attaches_to_its_jobs(cluster, tmp_path):
    """kill -9 of the driver while its SLURM jobs run: the same command again attaches to the jobs in flight
    (running or queued) instead of submitting them again, and every point is evaluated exactly once."""
    import signal
    import subprocess
    (tmp_path / "slow.py").write_text(SLOW_EVALUATOR)
    (tmp_path / "config.json").write_text(json.dumps({
        "python_path": ["."], "knobs": [{"name": "x", "values": "0-4"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "slow:evaluate"},
        "exploration": {"plugin": "sampling", "samples_per_step": 4, "max_samples": 4},
        "framework": {"jobs": 2, "executor": "slurm", "seed": 1}}))
    env = {**os.environ, "SLURM_CONF": str(cluster.conf), "DEFFE_REPORTS": "off"}
    driver = subprocess.Popen([sys.executable, str(ROOT / "framework" / "run_deffe.py"), "-config", "config.json",
                               "-no-train", "-quiet"], cwd=tmp_path, env=env, start_new_session=True)
    folder = tmp_path / "explore" / "slurm"
    try:
        wait_for(lambda: (folder / "jobs.json").exists() and len(record(folder)) == 4, timeout=60)
        wait_for(lambda: (tmp_path / "starts").exists() and len((tmp_path / "starts").read_text().split()) >= 1,
                 timeout=60)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait(10)
    submitted = {entry["job_id"] for entry in record(folder).values()}
    before = set(cluster.jobs())
    run = run_deffe("-config", "config.json", "-no-train", cwd=tmp_path, env={"SLURM_CONF": str(cluster.conf)})
    assert run.rc == 0, run
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert sorted(float(r["t"]) for r in rows) == [1.0, 2.0, 3.0, 4.0]
    assert set(cluster.jobs()) - before == set()      # nothing submitted anew
    assert submitted <= before
    starts = (tmp_path / "starts").read_text().split()
    assert sorted(starts) == ["0", "1", "2", "3"], starts   # each point started once
