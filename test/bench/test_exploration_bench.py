"""bench/exploration.py's bookkeeping: the best known every command is judged against, the stored runs and the
code they ran, the arguments, the budget of distinct designs, the warm-up before timing, the temp directory.

The benchmark runs in process on its fastest problem with tiny budgets; the long searches of the best known
are replaced by a fixed answer (they are bench/reference's business, test_exploration_reference.py).
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.append(str(REPO / "bench"))   # after the repository: bench/simulator.py must not shadow simulator/

import exploration as E  # noqa: E402
import exploration_methods as M  # noqa: E402
from exploration_problems import Problem  # noqa: E402

PROBLEM = "vgg16_2node_dp"   # the fastest to simulate
TINY = ["--problems", PROBLEM, "--seeds", "1", "--budget", "20", "--surrogate-budget", "10",
        "--best-known-effort", "50"]


@pytest.fixture
def bench(tmp_path, monkeypatch):
    """Run the benchmark's main in process, its bench/results in tmp_path: run(*args)."""
    monkeypatch.setattr(E, "ROOT", tmp_path)      # where bench/results is
    monkeypatch.setattr(E, "RESULTS", tmp_path / "bench" / "results")
    monkeypatch.setattr(E, "RUNS", tmp_path / "bench" / "results" / "exploration-runs")
    monkeypatch.setattr(E, "_DIGESTS", {}, raising=False)   # the code digests, taken under this ROOT
    monkeypatch.setattr(E, "_plot", lambda curves, out: None)
    # the long searches: a fixed best known, far above what the runs find
    oracle = {"best": 10.0, "values": [[10.0], [10.0]]}
    monkeypatch.setattr(E, "best_known", lambda p, effort, budget, workdir: (10.0, {"genetic": 10.0,
                                                                                     "oracle": oracle}))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(E.tempfile, "tempdir", str(tmp))

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["exploration.py", *args])
        E.main()
    return run


def _json(capsys) -> tuple[dict, str]:
    out = capsys.readouterr().out
    return json.loads(out.strip().splitlines()[-1]), out


def test_the_best_known_does_not_depend_on_the_methods_of_a_command(bench, capsys):
    bench(*TINY, "--methods", "random", "annealing", "--reuse")
    both, out = _json(capsys)
    rec = both["problems"][PROBLEM]
    best_run = min(m["best"] for m in rec["methods"].values())
    assert rec["best_known"] == best_run < 10.0
    assert rec["methods"]["annealing"]["best"] < rec["methods"]["random"]["best"]   # annealing found it
    first = out
    bench(*TINY, "--methods", "random", "--cached-only")
    alone, out = _json(capsys)
    assert alone["problems"][PROBLEM]["best_known"] == rec["best_known"]
    assert alone["problems"][PROBLEM]["methods"]["random"]["seeds_reaching"] == \
        rec["methods"]["random"]["seeds_reaching"]
    assert "found by annealing seed 0" in first and "found by annealing seed 0" in out
    bench(*TINY, "--methods", "random")      # nothing stored, and still judged against the stored best
    again, _ = _json(capsys)
    assert again["problems"][PROBLEM]["best_known"] == rec["best_known"]


def test_a_stored_run_keeps_its_key_and_says_when_it_ran_under_other_code(bench, capsys, monkeypatch):
    bench(*TINY, "--methods", "random", "--reuse")
    fresh, out = _json(capsys)
    assert "note" not in fresh["problems"][PROBLEM]["methods"]["random"] and "other code" not in out
    # the key of the stored runs on the main machine: problem digest, method, METHOD_VERSION, seed, budget
    p = Problem(PROBLEM)
    h = hashlib.sha256(f"{p.digest()}|random|{E.METHOD_VERSION['random']}|0|20".encode()).hexdigest()
    path = E.RUNS / f"{PROBLEM}-random-0-20-{h[:10]}.json"
    stored = json.loads(path.read_text())
    assert stored["code"] == E.code_digest("random") and stored["when"]
    monkeypatch.setitem(E._DIGESTS, "random", "another-code")     # today's code differs
    bench(*TINY, "--methods", "random", "--cached-only")
    rec, out = _json(capsys)
    note = rec["problems"][PROBLEM]["methods"]["random"]["note"]
    assert f"measured under other code ({stored['code']}, {stored['when']}" in note
    assert sum("other code" in line for line in out.splitlines()[:-1]) == 1
    path.write_text(json.dumps({"values": stored["values"], "seconds": 1.0}))   # stored before digests were
    bench(*TINY, "--methods", "random", "--reuse")
    rec, _ = _json(capsys)
    assert "no digest stored, date unknown" in rec["problems"][PROBLEM]["methods"]["random"]["note"]


def test_a_method_named_twice_counts_each_seed_once(bench, capsys):
    bench(*TINY, "--methods", "annealing", "annealing")
    rec, out = _json(capsys)
    assert rec["problems"][PROBLEM]["methods"]["annealing"]["seeds"] == 1
    assert sum(line.startswith(f"{PROBLEM} ") and " annealing " in line for line in out.splitlines()) == 1


@pytest.mark.parametrize("args", [["--seeds", "0"], ["--budget", "0"], ["--budget", "-3"],
                                  ["--surrogate-budget", "0"], ["--gp-budget", "0"],
                                  ["--best-known-effort", "0"], ["--cached-only", "--budget", "123"]])
def test_bad_arguments_are_one_line_and_status_2(bench, capsys, args):
    with pytest.raises(SystemExit) as e:
        bench(*TINY, "--methods", "random", *args)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "; " in err[0], err
    if "--cached-only" in args:
        assert "--budget 123" in err[0] and "--runs-only" in err[0]


def test_renamings_and_repeats_are_not_counted(monkeypatch):
    """Every method evaluates through one cache: a repeat or a renaming of a design (exchangeable GPUs) is
    answered from it, and the budget counts distinct designs."""
    p = Problem("resnet50")
    seen: list[tuple] = []
    evaluate = p.evaluate

    def counting(codes):
        seen.extend(p.design_key(c) for c in np.atleast_2d(codes))
        return evaluate(codes)
    monkeypatch.setattr(p, "evaluate", counting)
    for name in ("annealing", "genetic", "random"):
        seen.clear()
        values = M.METHODS[name](p, 0, 400)
        assert len(values) == 400 and len(seen) == len(set(seen)) == 400, name
    seen.clear()
    d = M.Designs(p)
    code = np.array([1, 2, 3, 4] * 4)
    renamed = np.array([2, 1, 4, 3] * 4)       # the same placement, the GPUs renamed
    raw, mem, ok, n = d.evaluate(np.vstack([code, renamed, code]))
    assert n == 3 and len(d) == 1 and len(seen) == 1 and raw[0] == raw[1] == raw[2]


def test_the_kernel_is_warm_before_a_run_is_timed(bench, capsys, monkeypatch):
    state = {}
    random = M.METHODS["random"]

    def spy(p, seed, budget):
        state["prepared"] = len(p._sims)
        return random(p, seed, budget)
    monkeypatch.setitem(M.METHODS, "random", spy)
    bench(*TINY, "--methods", "random")
    assert state["prepared"] == 12          # every combination of replicas (3) and micro-batches (4)


def test_the_temp_directory_is_removed_also_on_an_interrupt(bench, capsys, monkeypatch, tmp_path):
    bench(*TINY, "--methods", "random")
    assert not list((tmp_path / "tmp").iterdir())

    def interrupted(p, seed, budget):
        raise KeyboardInterrupt
    monkeypatch.setitem(M.METHODS, "random", interrupted)
    with pytest.raises(KeyboardInterrupt):
        bench(*TINY, "--methods", "random")
    assert not list((tmp_path / "tmp").iterdir())


def test_medians_keep_their_half():
    rec = {"evals_to_1pct": 125.5, "evals_to_1pct_min": 100, "evals_to_1pct_max": 151, "seeds_reaching": 2,
           "seeds": 2}
    assert E._fmt_evals(rec).startswith("125.5 [100-151]")
    assert E._fmt_evals(dict(rec, evals_to_1pct=125.0)).startswith("125 [")


# ----------------------------------------------------------------------------- --quick, the stored runs
def test_quick_fills_only_the_counts_not_given():
    args = E.parse_args(["--quick", "--seeds", "3", "--budget", "50"])
    assert (args.seeds, args.budget) == (3, 50)                      # given: kept
    assert (args.surrogate_budget, args.gp_budget, args.best_known_effort) == (
        E.QUICK["surrogate_budget"], E.QUICK["gp_budget"], E.QUICK["best_known_effort"])   # not given: --quick's
    assert E.parse_args([]).seeds == E.DEFAULTS["seeds"]
    assert E.parse_args(["--runs-only"]).reuse          # --runs-only stores its runs


@pytest.mark.parametrize("args", [["--quick", "--seeds", "0"], ["--quick", "--gp-budget", "-1"],
                                  ["--runs-only", "--cached-only"]])
def test_quick_checks_the_counts_given_and_contradictions_are_refused(capsys, args):
    with pytest.raises(SystemExit) as e:
        E.parse_args(args)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {args[-2] if args[0] == '--quick' else args[0]} ") \
        and "; " in err[0], err


def _stored(p: Problem, seed: int, budget: int = 20) -> Path:
    path = E.run_key(p, "random", seed, budget)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"values": [20.0 - i / 10 for i in range(budget)], "seconds": 1.0,
                                "code": E.code_digest("random"), "when": "2026-01-01"}))
    return path


def test_a_damaged_stored_run_is_one_line_naming_it(bench, capsys, tmp_path):
    path = _stored(Problem(PROBLEM), 0)
    original = path.read_text()
    path.write_text(original[:100])          # what a write cut short leaves
    with pytest.raises(SystemExit) as e:
        bench(*TINY, "--methods", "random", "--reuse")
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and path.name in err[0] and "delete it" in err[0], err
    assert path.read_text() == original[:100]        # left for the user to look at, not overwritten


def test_a_run_whose_store_is_cut_short_leaves_no_damaged_file(bench, capsys, monkeypatch):
    p = Problem(PROBLEM)
    monkeypatch.setattr(E, "warm_up", lambda p, method: None)
    monkeypatch.setattr(M, "timed", lambda f, p, seed, budget: (np.arange(1.0, 21.0), 1.0))
    write_text = Path.write_text

    def cut_short(self, text, *a, **k):      # the process killed half-way through writing
        write_text(self, text[:len(text) // 2], *a, **k)
        raise KeyboardInterrupt
    monkeypatch.setattr(Path, "write_text", cut_short)
    with pytest.raises(KeyboardInterrupt):
        E.one_run(p, "random", 0, 20, Path("."), reuse=True)
    monkeypatch.setattr(Path, "write_text", write_text)
    assert not E.run_key(p, "random", 0, 20).exists()
    assert not list(E.RUNS.iterdir())        # nor its temporary file


def test_cached_only_counts_the_seeds_not_stored(bench, capsys):
    _stored(Problem(PROBLEM), 0)
    bench(*TINY, "--methods", "random", "--cached-only", "--seeds", "3")
    rec, out = _json(capsys)
    random = rec["problems"][PROBLEM]["methods"]["random"]
    assert (rec["settings"]["seeds"], random["seeds"], random["missing"]) == (3, 1, 2)
    assert f"note: {PROBLEM} random: 2 of 3 seeds not stored" in out
