"""The run directory: one driver at a time, a full disk or a read-only directory said in one line with the
store still resumable, every result stored exactly once under load, sample directories kept or not, and a
stored run never reused for another question."""
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time

from cli_helpers import RUN_DEFFE, assert_runtime_error, assert_user_error, deffe_env, read_csv, run_deffe, write


def python_config(folder, evaluator="def evaluate(p):\n    return {'t': p['a'] * 100 + p['b']}\n", **sections):
    write(folder / "ev.py", evaluator)
    config = {"python_path": ["."], "knobs": [{"name": "a", "values": "0-40"}, {"name": "b", "values": "0-50"}],
              "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
              "model": {"plugin": None}, "exploration": {"plugin": "sampling", "samples_per_step": 50}}
    for k, v in sections.items():
        config[k] = {**config.get(k, {}), **v}
    write(folder / "config.json", json.dumps(config))
    return folder


def stored(folder):
    with sqlite3.connect(folder / "explore" / "deffe.db") as db:
        return db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM samples WHERE status='ok'").fetchone()


def held_driver(folder):
    """A driver started in the background whose evaluations mark 'started' and wait for a file 'release'."""
    python_config(folder, "import os, time\ndef evaluate(p):\n    open('started', 'w').close()\n"
                          "    while not os.path.exists('release'):\n        time.sleep(0.05)\n"
                          "    return {'t': p['a']}\n", exploration={"max_samples": 2})
    return subprocess.Popen([sys.executable, str(RUN_DEFFE), "-config", "config.json", "-quiet"], cwd=folder,
                            env=deffe_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_second_driver_on_the_same_run_directory_refuses(tmp_path):
    first = held_driver(tmp_path)
    try:
        while not (tmp_path / "explore" / "deffe.db").exists() or first.poll() is not None:
            time.sleep(0.05)   # the first driver has locked the directory and opened its store
        second = run_deffe("-config", "config.json", cwd=tmp_path)
        line = assert_runtime_error(second, "explore", "run_deffe (pid", "is running in this run directory",
                                    "another framework.run_directory")
        assert str(first.pid) in line
    finally:
        (tmp_path / "release").write_text("")
        first.wait()
    assert first.returncode == 0, first.stderr.read()
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0     # the lock went with the first driver


def test_a_killed_driver_leaves_no_lock_behind_in_its_evaluation_workers(tmp_path):
    """The evaluation workers are forked from the driver: one still busy with its point after the driver was
    killed with kill -9 must not keep the run directory locked, or the run restarted at once is refused."""
    from framework.guard import RunLock
    first = held_driver(tmp_path)
    try:
        while not (tmp_path / "started").exists() and first.poll() is None:
            time.sleep(0.05)   # a worker is evaluating
        first.kill()
        first.wait()
        lock = RunLock(tmp_path / "explore").acquire()   # the orphaned worker is still waiting for 'release'
        lock.release()
    finally:
        (tmp_path / "release").write_text("")
        if first.poll() is None:
            first.kill()


def limited(max_bytes):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply


def test_a_full_disk_is_one_line_and_the_run_resumes_afterwards(tmp_path):
    python_config(tmp_path, exploration={"max_samples": 500, "samples_per_step": 10})
    # no file of the run may grow past 2 MB: the store's journal reaches it after some hundred commits
    full = subprocess.run([sys.executable, str(RUN_DEFFE), "-config", "config.json"], cwd=tmp_path, env=deffe_env(),
                          capture_output=True, text=True, preexec_fn=limited(2_000_000))
    assert full.returncode == 2 and "Traceback" not in full.stderr, full.stderr
    last = full.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "cannot write the run directory" in last and "resume" in last, last
    before = stored(tmp_path)[0]
    assert before > 0                                                   # what was committed is there
    r = run_deffe("-config", "config.json", cwd=tmp_path)                # space again: it resumes
    assert r.rc == 0 and f"{500 - before} evaluated now, {before} from the store" in r.out, r
    assert stored(tmp_path) == (500, 500)


def read_only(argv: list[str], directory) -> list[str]:
    """``argv`` run with ``directory`` read-only: for root, whom permissions do not stop, a read-only bind
    mount in a mount namespace of its own; for a user, the permissions."""
    if os.geteuid() != 0:
        for p in [directory, *directory.iterdir()]:
            p.chmod(0o555 if p.is_dir() else 0o444)
        return argv
    script = f'mount --bind "{directory}" "{directory}" && mount -o remount,bind,ro "{directory}" && exec "$@"'
    return ["unshare", "--mount", "sh", "-c", script, "sh", *argv]


def test_a_read_only_run_directory_is_one_line_and_nothing_is_lost(tmp_path):
    python_config(tmp_path, exploration={"max_samples": 100})
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    python_config(tmp_path, exploration={"max_samples": 200})            # a bigger budget: there is work to write
    run_dir = tmp_path / "explore"
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    try:
        r = subprocess.run(read_only([sys.executable, str(RUN_DEFFE), "-config", "config.json"], run_dir),
                           cwd=tmp_path, env=deffe_env(), capture_output=True, text=True)
    finally:
        for p in [run_dir, *run_dir.iterdir()]:
            p.chmod(0o755 if p.is_dir() else 0o644)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "cannot write the run directory" in last, last
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file() and p.name in before} == before
    r = run_deffe("-config", "config.json", cwd=tmp_path)                 # writable again: it goes on
    assert r.rc == 0 and "100 evaluated now, 100 from the store" in r.out, r


def test_eight_workers_and_two_thousand_evaluations_store_each_result_once(tmp_path):
    python_config(tmp_path, exploration={"max_samples": 2000, "samples_per_step": 250})
    r = run_deffe("-config", "config.json", "-jobs", "8", cwd=tmp_path)
    assert r.rc == 0 and "2000 evaluated now" in r.out, r
    assert stored(tmp_path) == (2000, 2000)
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 2000 and all(float(x["t"]) == int(x["a"]) * 100 + int(x["b"]) for x in rows)


def test_sample_directories_go_once_stored_unless_they_failed(tmp_path):
    write(tmp_path / "run.sh", "if [ $a = 3 ]; then exit 1; fi\necho $a > results.out\n")
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": "0-6"}], "costs": ["t"],
        "evaluate": {"script": "run.sh", "keep_directories": False}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling"}}))
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    kept = [p for p in (tmp_path / "explore").glob("explore_*")]
    assert len(kept) == 1 and (kept[0] / "evaluate.log").is_file()       # the failed one, for diagnosis


def test_a_changed_simulator_network_is_not_reused_as_if_it_were_the_same(tmp_path):
    def config(network):
        write(tmp_path / "config.json", json.dumps({
            "knobs": [{"name": "micro_batches", "values": [1, 2]}], "costs": ["step_time"],
            "evaluate": {"plugin": "placement", "simulator": {"network": network, "devices": "cpu+4xV100-pcie3"}},
            "model": {"plugin": None}, "exploration": {"plugin": "sampling"}}))
    config("resnet18")
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    config("resnet50")
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "deffe.db",
                      "the stored run was made with different evaluate settings", "-fresh")


def test_a_changed_script_or_evaluator_source_is_not_reused(tmp_path):
    write(tmp_path / "run.sh", "echo 1 > results.out\n")
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": [1, 2]}], "costs": ["t"], "evaluate": {"script": "run.sh"},
        "model": {"plugin": None}, "exploration": {"plugin": "sampling"}}))
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0
    assert run_deffe("-config", "config.json", cwd=tmp_path).rc == 0        # the same script: resumed
    write(tmp_path / "run.sh", "echo 2 > results.out\n")
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path), "different evaluate settings")
    python_config(tmp_path / "py")
    assert run_deffe("-config", "config.json", cwd=tmp_path / "py").rc == 0
    python_config(tmp_path / "py", "def evaluate(p):\n    return {'t': p['a'] * 1000 + p['b']}\n")
    assert_user_error(run_deffe("-config", "config.json", cwd=tmp_path / "py"), "different evaluate settings")


USER_EVALUATE = ("class E:\n    def __init__(self, fw): pass\n    def Initialize(self): pass\n"
                 "    def Run(self, sample): return {'t': sample.values['a'] * FACTOR}\n"
                 "def GetObject(fw): return E(fw)\n")


def test_an_edited_user_evaluate_plugin_is_not_resumed_as_if_it_were_the_same(tmp_path):
    """The source of a user's evaluate plugin module (a file, or a package's files) is part of the run's
    fingerprint, as a python evaluator's is: after an edit, the same command is refused rather than mixing the
    costs of the old and the new code; -keep-results keeps them, -fresh starts over."""
    for plugin, module in (("my_eval", "my_eval.py"), ("my_pkg", "my_pkg/__init__.py")):
        folder = tmp_path / plugin
        write(folder / module, USER_EVALUATE.replace("FACTOR", "10"))
        write(folder / "config.json", json.dumps({
            "python_path": ["."], "knobs": [{"name": "a", "values": [1, 2, 3, 4]}], "costs": ["t"],
            "evaluate": {"plugin": plugin}, "model": {"plugin": None},
            "exploration": {"plugin": "sampling", "samples_per_step": 2}}))
        assert run_deffe("-config", "config.json", "-max-samples", "2", cwd=folder).rc == 0
        assert run_deffe("-config", "config.json", "-max-samples", "2", cwd=folder).rc == 0   # unchanged: resumed
        write(folder / module, USER_EVALUATE.replace("FACTOR", "1000"))
        table = (folder / "explore" / "deffe_evaluation.csv").read_bytes()
        assert_user_error(run_deffe("-config", "config.json", cwd=folder), "deffe.db",
                          "the stored run was made with another source of the evaluate plugin module",
                          f"'{plugin}'", "-fresh", "-keep-results")
        assert (folder / "explore" / "deffe_evaluation.csv").read_bytes() == table   # nothing mixed in
        kept = run_deffe("-config", "config.json", "-keep-results", "-max-samples", "2", cwd=folder)
        assert kept.rc == 0 and "the source of the evaluate plugin module" in kept.err, kept
        assert run_deffe("-config", "config.json", "-fresh", cwd=folder).rc == 0
        assert {row["t"] for row in read_csv(folder / "explore" / "deffe_evaluation.csv")} == \
            {"1000", "2000", "3000", "4000"}


def test_a_damaged_store_page_is_reported_as_a_damaged_store_not_a_full_disk(tmp_path):
    """A deffe.db with a damaged page (a bad sector, a bad copy) was 'cannot write the run directory (database
    disk image is malformed) ... free space or make it writable, then run the same command to resume', at
    every try: the wrong cause and a way on that never works."""
    python_config(tmp_path, exploration={"max_samples": 60, "samples_per_step": 30})
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    db = tmp_path / "explore" / "deffe.db"
    assert db.stat().st_size >= 6 * 4096
    with open(db, "r+b") as fh:   # pages 3 to 5, whatever tables they hold, overwritten with garbage
        fh.seek(2 * 4096)
        fh.write(bytes(range(7, 247)) * 52)
    for _ in range(2):   # the same answer again: nothing about it changes on its own
        r = run_deffe("-config", "config.json", cwd=tmp_path)
        line = assert_user_error(r, f"{db}: the run store is not a readable SQLite database (", "-fresh")
        assert "free space" not in line and "writable" not in line, line
    r = run_deffe("-config", "config.json", "-fresh", cwd=tmp_path)   # the way on it gives
    assert r.rc == 0, r


def test_a_directory_in_the_place_of_a_table_is_named_and_no_temporary_file_stays(tmp_path):
    """'.deffe_evaluation.csv.tmp8871: cannot write the run directory (Is a directory); ... free space': the
    hidden temporary name, never the table in the way, and that temporary file left in the run directory."""
    python_config(tmp_path, exploration={"max_samples": 20, "samples_per_step": 10})
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    d = tmp_path / "explore"
    (d / "deffe_evaluation.csv").unlink()
    (d / "deffe_evaluation.csv").mkdir()
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    line = assert_runtime_error(r, f"error: {d / 'deffe_evaluation.csv'}: cannot write the run directory",
                                "move the directory aside")
    assert ".tmp" not in line and "free space" not in line, line
    assert [p.name for p in d.iterdir() if ".tmp" in p.name] == []
