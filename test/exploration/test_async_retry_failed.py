"""-retry-failed in an asynchronous rerun does what it does in a synchronous one: the samples stored as failed
are evaluated again (not taken from the store as known), within the budget, and the summary counts them as
retried failures; the recovery the crash stop recommends (-retry-failed -keep-results) works in both modes."""
import json
import re
import shutil

from cli_helpers import assert_runtime_error, read_csv, run_deffe, write

# fails on the points with a % 3 == 0 until the file "healed" exists, each with its own message (a bad point,
# not a broken plugin: the run goes on); every evaluation is logged, to see which points were evaluated again
FLAKY = '''
import os
def evaluate(p):
    with open("evaluated.txt", "a") as f:
        f.write(f"{p['a']} {p['b']}\\n")
    if p["a"] % 3 == 0 and not os.path.exists("healed"):
        raise RuntimeError(f"no luck with {p['a']}")
    return {"t": (p["a"] - 7) ** 2 + p["b"]}
'''


def config(directory, asynchronous, budget=16):
    write(directory / "ev.py", FLAKY)
    write(directory / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-20"}, {"name": "b", "values": "0-3"}],
        "costs": ["t"], "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 4, "max_samples": budget},
        "framework": {"seed": 4, "jobs": 2, "asynchronous": asynchronous}}))


def statuses(directory) -> dict[tuple[str, str], str]:
    return {(row["a"], row["b"]): row["status"] for row in read_csv(directory / "explore" / "deffe_evaluation.csv")}


def evaluated(directory) -> list[tuple[str, str]]:
    path = directory / "evaluated.txt"
    return [tuple(line.split()) for line in path.read_text().splitlines()] if path.exists() else []


def summary(run) -> str:
    return next(line for line in run.out.splitlines() if line.startswith("exploration 'explore_0':"))


def test_an_async_rerun_with_retry_failed_evaluates_the_stored_failures_again_as_a_sync_one(tmp_path):
    first = tmp_path / "first"
    first.mkdir()
    config(first, asynchronous=False)
    r = run_deffe("-config", "config.json", cwd=first)
    assert r.rc == 0, r
    before = statuses(first)
    failed = {p for p, s in before.items() if s == "failed"}
    assert len(before) == 16 and failed, before
    counts = {}
    for mode in ("sync", "async"):   # the same finished run, rerun in each mode once the evaluator is healed
        here = tmp_path / mode
        shutil.copytree(first, here)
        (here / "evaluated.txt").unlink()
        write(here / "healed", "")
        r = run_deffe("-config", "config.json", "-retry-failed", *(["-async"] if mode == "async" else []), cwd=here)
        assert r.rc == 0, r
        after = statuses(here)
        assert set(after) == set(before) and set(after.values()) == {"ok"}, (mode, after)   # the budget: 16 rows
        assert sorted(evaluated(here)) == sorted(failed), mode                              # each failure once
        counts[mode] = re.search(r"\d+ evaluated now.*? failed", summary(r)).group(0)
    assert counts["async"] == counts["sync"] == \
        f"{len(failed)} evaluated now ({len(failed)} of them retried failures), {16 - len(failed)} from the " \
        "store, 0 failed", counts


def test_an_async_run_stopped_by_a_broken_evaluator_recovers_with_retry_failed_keep_results(tmp_path):
    # the recovery the error line recommends: every stored failure evaluated again with the fixed evaluator
    config(tmp_path, asynchronous=True)
    write(tmp_path / "ev.py", "def evaluate(p):\n    raise SystemExit(0)\n")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    line = assert_runtime_error(r, "config.json:evaluate.plugin", "failed with the same error: SystemExit: 0")
    assert "-retry-failed -keep-results" in line
    stored_failures = list(statuses(tmp_path).values()).count("failed")
    assert stored_failures >= 3
    config(tmp_path, asynchronous=True)   # the fixed evaluator (the healed one)
    write(tmp_path / "healed", "")
    r = run_deffe("-config", "config.json", "-retry-failed", "-keep-results", cwd=tmp_path)
    assert r.rc == 0, r
    after = statuses(tmp_path)
    assert len(after) == 16 and set(after.values()) == {"ok"}, after
    assert f"16 evaluated now ({stored_failures} of them retried failures), 0 from the store, 0 failed" \
        in summary(r), r
