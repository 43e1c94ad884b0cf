#!/usr/bin/env python3
"""Exploration benchmark: evaluations to within 1% of the best known step time, per method and problem.

Problems (bench/exploration_problems.py), each a placement of a network's 16 layer groups on devices,
evaluated by the analytical simulator, objective step_time, constraint memory_use <= 1:
  resnet50        Paleo's ResNet-50 on Exprimo's CPU + 4 V100 with GPU memory capped, GPipe
  inception_v3    Paleo's Inception-V3, the same kind of machine
  gpt2_8gpu       GPT-2 large on 8 A100 (NVLink 3, 24 GB cap), bf16, Adam, 1F1B pipeline
  vgg16_2node_dp  VGG-16 on 2 nodes of 8 V100 over EDR: placement on 4 GPUs + data-parallel replicas and
                  micro-batches as knobs (4 GB cap)

Methods (bench/exploration_methods.py), all told the same: the knobs and their levels, the objective and
the constraint memory_use <= 1:
  surrogate  this project's default exploration through framework/run_deffe.py (placement evaluator,
             default model, constraint memory_use <= 1, GPUs declared exchangeable where they are,
             10 points a step)
  tpe        Optuna's TPESampler(multivariate=True, group=True), constraint by trial.set_constraint
  gp         Optuna's GPSampler(deterministic_objective=True), constraint by trial.set_constraint
             (slow per trial: its budget is capped, --gp-budget)
  nsga2      Optuna's NSGAIISampler (defaults), constraint by trial.set_constraint
  random     uniform random designs
  annealing, genetic  this project's search algorithms on the simulator, on the one number rule for a
             design that does not fit: the simulator's memory="penalty" step time (x (1 + 10 x overflow))
A budget counts distinct designs evaluated: every method's proposal that repeats a design, or a renaming of one
where the GPUs are exchangeable, is answered from the method's cache and not counted
(exploration_methods.Designs).

"Best known": the best feasible step time of long searches of the simulator (4 genetic searches, and the
surrogate exploration with the simulator itself as its model, bench/reference/simulator_as_model.py) and
of every run of this benchmark any command has made, kept per problem in
bench/results/best-known-<problem>.json (each command's runs improve it and it is saved back): it does
not depend on the --methods or --seeds of a command, and the table says which search or run found it.
The second long search also shows how far the search alone gets with a perfect model, i.e. how much of a
method's shortfall is its model's. Per method and problem: the median over seeds of the evaluations to
within 1% of it (a run that never gets there counts as infinite: the median is "not reached" when half
the runs or more miss) with the min-max over seeds, how many seeds reach it, the median best found and
the median wall time (the simulator kernel is compiled before any run is timed). A stored run measured
under other code (its code digest differs from today's) is still reused, with a note. The goal: the
surrogate within 1% in a tenth of the evaluations of the best Optuna sampler, on every problem. Last
line: JSON.

    python bench/exploration.py [--seeds 5] [--budget 2000] [--surrogate-budget 300] [--gp-budget 150]
                                [--problems ...] [--methods ...] [--quick] [--reuse]
    # a long run in parts (each stores its runs in bench/results/exploration-runs/), then the table:
    python bench/exploration.py --runs-only --methods surrogate &
    python bench/exploration.py --runs-only --methods tpe nsga2 random annealing genetic &
    python bench/exploration.py --runs-only --methods gp &
    python bench/exploration.py --cached-only
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import itertools
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))                 # before bench/: bench/simulator.py is not the package
sys.path.append(str(ROOT / "bench"))
_ENV = dict(os.environ)
# Optuna's GPSampler documents OMP_NUM_THREADS=1 (set before torch is imported) against thread
# oversubscription; the surrogate's subprocess gets the environment the benchmark was started with.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import exploration_methods as M  # noqa: E402
from bench_support import check_counts, fail  # noqa: E402
from exploration_problems import SPECS, Problem  # noqa: E402
from framework.search import make, minimize  # noqa: E402

RESULTS = ROOT / "bench" / "results"
RUNS = RESULTS / "exploration-runs"
ALL_METHODS = ["surrogate", "tpe", "gp", "nsga2", "random", "annealing", "genetic"]
# bump when a method's settings change, so that cached runs (--reuse) are not mixed with new ones
# surrogate 2: auto may choose the average of its two best candidates (model.blend)
# surrogate 3: auto chooses per cost (a candidate or an average for each cost)
# surrogate 4: choosing again at 1.25x the samples (measured, not kept; docs/exploration-versions.md)
# surrogate 5: an ensemble predicts its members' mean on the learned scale; up to 49 samples auto averages
# surrogate 6: boosting a candidate of auto from 50 samples (scoring on the latest points was tried as an option)
# surrogate 7: the deep ensemble trains without a validation part (every member on all the points)
# surrogate 8: the deep ensemble pools what each device receives from 50 training points (was 500)
# surrogate 9: the pooled network reads the device knobs only through the block (auto also tries it reading them
#              directly, torch_mlp:direct); numbers of a value list also give their place in the list (':rank')
# surrogate 10: the pooling block gives a value that is itself (the CPU beside interchangeable GPUs) its identity
# surrogate 11: the feasibility classifier is left out while the constraints explain every failure
# surrogate 12: the values of a family not declared exchangeable get no identity in the pooling block
# surrogate 13: never proposes a renaming of a design evaluated or in its batch (exchangeable GPUs)
# (model.constraint_model "network", measured as a version 14 and not kept: docs/exploration.md)
# tpe, gp, nsga2 2: a renaming of a design evaluated is answered from the cache (Problem.design_key)
# random, annealing, genetic 2: the same rule (exploration_methods.Designs): a repeat or a renaming is not counted
METHOD_VERSION = {"surrogate": 15, "tpe": 2, "gp": 2, "nsga2": 2, "random": 2, "annealing": 2, "genetic": 2}


# ----------------------------------------------------------------------------- best known
ORACLE_SEEDS = (100, 101)
ORACLE_VERSION = 2   # bump when the guided search (framework/guided*.py) changes what it proposes
# (2: no renamed copies)


def _cache_path(p: Problem) -> Path:
    return RESULTS / f"best-known-{p.name}.json"


def _update_cache(p: Problem, change) -> dict:
    """Read bench/results/best-known-<problem>.json, let ``change(data)`` edit it and write it back, under a
    lock (commands run in parallel, --runs-only in parts, share the file). Returns the data."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    cache = _cache_path(p)
    with open(RESULTS / f".best-known-{p.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(cache.read_text()) if cache.exists() else {}
        if change(data) is not False:
            write_atomic(cache, json.dumps(data, indent=1))
    return data


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file renamed over ``path``: a write cut short (Ctrl-C, a full disk, a kill)
    leaves the old file or none, never a truncated one that a later command reads."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def record_runs(p: Problem, found: list[tuple[float, str, int, int]]) -> None:
    """Keep the best feasible step time of the runs made or reused by this command ((best, method, seed,
    budget) each) in the problem's best-known file, if it improves on what every earlier command stored."""
    finite = [f for f in found if math.isfinite(f[0])]
    if not finite:
        return
    best, method, seed, budget = min(finite, key=lambda f: f[0])
    key = f"{p.digest()}|runs"

    def change(data: dict):
        if key in data and data[key]["best"] <= best:
            return False
        data[key] = {"best": best, "method": method, "seed": seed, "budget": budget,
                     "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    _update_cache(p, change)


def _source(key: str, v: dict) -> str:
    """Which search or run found a best-known entry, in words."""
    what = key.split("|", 1)[1]
    if what.isdigit():
        return f"the long genetic searches (4 x {int(what):,} evaluations)"
    if what.startswith("oracle-"):
        seeds = [s for s, vs in zip(ORACLE_SEEDS, v.get("values", [])) if min(
            (x for x in vs if x is not None), default=math.inf) == v["best"]]
        return (f"the surrogate's search with the simulator as its model ({what.split('-')[1]}, seed "
                f"{seeds[0] if seeds else '?'}, budget {what.rsplit('-', 1)[1]})")
    if what == "runs":
        return f"{v['method']} seed {v['seed']} (budget {v['budget']}, a run of {v['when']})"
    return what


def stored_best(p: Problem) -> tuple[float, str]:
    """The stored best known of the problem: the minimum over every entry of its best-known file under the
    problem's digest (every long search, whatever its effort, and the best of every run stored by
    record_runs), and which search or run found it."""
    cache = _cache_path(p)
    data = json.loads(cache.read_text()) if cache.exists() else {}
    digest = p.digest()
    entries = [(v["best"], _source(k, v)) for k, v in data.items()
               if k.split("|")[0] == digest and isinstance(v, dict) and v.get("best") is not None]
    return min(entries, key=lambda e: e[0]) if entries else (math.inf, "nothing stored")


def best_known(p: Problem, effort: int, budget: int, workdir: Path) -> tuple[float, dict]:
    """The best feasible step time of two kinds of long search of the simulator, each cached per problem in
    bench/results/best-known-<problem>.json: 4 genetic searches of `effort` evaluations (penalised
    objective; a cached search of at least this effort is used), and the surrogate exploration run with
    the simulator as its model (ORACLE_SEEDS, the surrogate's budget of evaluations, 20,000 exact
    predictions a step). Returns the best and, per kind, what it found (the oracle's runs, evaluation by
    evaluation, also say how far the search alone gets). The benchmark's target is stored_best(), which
    also counts every long search stored and every run of the benchmark."""
    cache = _cache_path(p)
    data = json.loads(cache.read_text()) if cache.exists() else {}
    digest = p.digest()
    done = [(int(k.split("|")[1]), v) for k, v in data.items()
            if k.split("|")[0] == digest and k.split("|")[1].isdigit()]
    done = [(e, v) for e, v in done if e >= effort]
    if done:
        genetic = min(v["best"] for _, v in done)
    else:
        found = _genetic_reference(p, effort)
        _update_cache(p, lambda data: data.__setitem__(f"{digest}|{effort}", found))
        genetic = found["best"]
    key = f"{digest}|oracle-v{ORACLE_VERSION}-{budget}"
    if key not in data:
        found = _oracle_reference(p, budget, workdir)
        data = _update_cache(p, lambda data: data.__setitem__(key, found))
    oracle = data[key]
    return min(genetic, oracle["best"]), {"genetic": genetic, "oracle": oracle}


def _genetic_reference(p: Problem, effort: int) -> dict:
    if effort < 1:
        raise ValueError(f"the best known's genetic searches need an effort of at least 1 evaluation, got {effort}")
    t0 = time.perf_counter()
    best, best_code = math.inf, None
    for seed in range(4):
        res = minimize(make("genetic", p.space, m=1, seed=100 + seed, population=200),
                       lambda codes: p.penalised(codes)[:, None], effort)
        v = p.feasible_values(res.codes)
        if np.min(v) < best:
            best, best_code = float(np.min(v)), res.codes[int(np.argmin(v))].astype(int).tolist()
    print(f"  {p.name}: best known by genetic searches {best:.6f} s ({time.perf_counter() - t0:.0f} s)",
          file=sys.stderr, flush=True)
    return {"best": best, "design": best_code, "seconds": round(time.perf_counter() - t0, 1)}


def _oracle_reference(p: Problem, budget: int, workdir: Path) -> dict:
    """The surrogate exploration with a perfect model (the simulator), ORACLE_SEEDS: the step time of every
    evaluation in order (inf where the point does not fit), per seed."""
    t0 = time.perf_counter()
    runs = [M.run_surrogate(p, seed, budget, workdir, oracle=True) for seed in ORACLE_SEEDS]
    best = float(min(np.min(v) for v in runs))
    print(f"  {p.name}: best known by the search with the simulator as its model {best:.6f} s "
          f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return {"best": best, "values": [[x if math.isfinite(x) else None for x in v.tolist()] for v in runs],
            "seconds": round(time.perf_counter() - t0, 1)}


# ----------------------------------------------------------------------------- runs
def run_key(p: Problem, method: str, seed: int, budget: int) -> Path:
    h = hashlib.sha256(f"{p.digest()}|{method}|{METHOD_VERSION[method]}|{seed}|{budget}".encode()).hexdigest()
    return RUNS / f"{p.name}-{method}-{seed}-{budget}-{h[:10]}.json"


_DIGESTS: dict[str, str] = {}


def code_digest(method: str) -> str:
    """A digest of the code a method's result depends on: the benchmark's methods and problems, the simulator,
    the spaces and encodings, framework/search (annealing, genetic); for the surrogate every module of
    framework/ and plugins/; for the Optuna samplers Optuna's version too."""
    if method not in _DIGESTS:
        files = [ROOT / "bench" / "exploration_methods.py", ROOT / "bench" / "exploration_problems.py",
                 *ROOT.glob("simulator/**/*.py"), *ROOT.glob("framework/search/*.py"),
                 *[ROOT / "framework" / f for f in ("space.py", "encoding.py", "values.py")]]
        if method == "surrogate":
            files += [*ROOT.glob("framework/**/*.py"), *ROOT.glob("plugins/**/*.py")]
        h = hashlib.sha256()
        for f in sorted(set(files)):
            if f.exists():
                h.update(str(f.relative_to(ROOT)).encode())
                h.update(f.read_bytes())
        if method in M.OPTUNA:
            from importlib.metadata import version
            h.update(f"optuna=={version('optuna')}".encode())
        _DIGESTS[method] = h.hexdigest()[:12]
    return _DIGESTS[method]


_WARM: set[str] = set()


def warm_up(p: Problem, method: str) -> None:
    """Before a run is timed: compile the simulator's kernel (numba, one-off: about a minute in a fresh
    clone) and prepare the simulator of every combination of training settings by one evaluation each, and
    import Optuna, so that no method's wall time holds them."""
    if not getattr(p, "warm", False):
        p.warm = True
        combos = np.array(list(itertools.product(*[range(len(v)) for v in p.spec.extra.values()])), dtype=np.int64)
        codes = np.zeros((len(combos), p.spec.groups), dtype=np.int64)
        p.evaluate(np.hstack([codes, combos.reshape(len(combos), -1)]))
    if method in M.OPTUNA and "optuna" not in _WARM:
        _WARM.add("optuna")
        M._optuna()


def one_run(p: Problem, method: str, seed: int, budget: int, workdir: Path, reuse: bool
            ) -> tuple[np.ndarray, float, dict]:
    """(the step time of each evaluation, the wall time, {"code": digest, "when": date} of the code it ran
    under): a stored run (``reuse``) whatever code it was measured under, else a new run (stored with
    ``reuse``)."""
    path = run_key(p, method, seed, budget)
    if reuse and path.exists():
        return load_run(path)
    warm_up(p, method)
    if method == "surrogate":
        values, seconds = M.timed(M.run_surrogate, p, seed, budget, workdir)
    else:
        values, seconds = M.timed(M.METHODS[method], p, seed, budget)
    meta = {"code": code_digest(method), "when": time.strftime("%Y-%m-%d", time.gmtime())}
    if reuse:
        RUNS.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps({"values": [v if math.isfinite(v) else None for v in values.tolist()],
                                       "seconds": seconds, **meta}))
    return values, seconds, meta


def load_run(path: Path) -> tuple[np.ndarray, float, dict]:
    """A stored run as one_run returns it; a damaged file (a write cut short before runs were written
    atomically, an edit) is one error line naming it, not a traceback."""
    where = ""
    try:
        d = json.loads(path.read_text())
        values = np.array([math.inf if v is None else float(v) for v in d["values"]])
        seconds = float(d["seconds"])
        return values, seconds, {"code": d.get("code"), "when": d.get("when")}
    except json.JSONDecodeError as e:
        where, what = f":{e.lineno}:{e.colno}", f"not JSON ({e.msg}): a write cut short?"
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError) as e:
        what = f"not a stored run ({type(e).__name__}: {e})"
    fail(f"{_shown(path)}{where}: {what}; delete it: the next --reuse or --runs-only makes the run anew "
         f"(or leave out --reuse, --runs-only and --cached-only)")


def _shown(path: Path) -> str:
    """A path as the user knows it: relative to the repository when inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def other_code(method: str, metas: list[dict]) -> str | None:
    """The note for runs measured under other code than today's, or None."""
    now = code_digest(method)
    old = [m for m in metas if m["code"] != now]
    if not old:
        return None
    said = sorted({f"{m['code'] or 'no digest stored'}, {m['when'] or 'date unknown'}" for m in old})
    return (f"measured under other code ({'; '.join(said)}; today's digest {now}): "
            f"{len(old)} of {len(metas)} seeds")


def format_median(x: float) -> str:
    """A median of counts: an integer, or with its .5."""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def best_so_far(values: np.ndarray, budget: int) -> np.ndarray:
    v = np.full(budget, math.inf)
    n = min(len(values), budget)
    if n:
        v[:n] = np.minimum.accumulate(values[:n])
        v[n:] = v[n - 1]
    return v


def evals_to(curve: np.ndarray, target: float) -> int | None:
    hit = np.flatnonzero(curve <= target)
    return int(hit[0]) + 1 if len(hit) else None


def summary(xs: list[int | None]) -> tuple[float | None, int | None, int | None, int]:
    """(median with misses as infinite, min, max of those that reach, how many reach)."""
    v = np.array([math.inf if x is None else x for x in xs], dtype=float)
    med = float(np.median(v))
    hits = [x for x in xs if x is not None]
    return (med if math.isfinite(med) else None, min(hits) if hits else None, max(hits) if hits else None,
            len(hits))


# ----------------------------------------------------------------------------- main
# the counts' defaults, and --quick's (a smoke run): each fills only a count the command line leaves out
DEFAULTS = {"seeds": 5, "budget": 2000, "surrogate_budget": 300, "gp_budget": 150, "best_known_effort": 20000}
QUICK = {"seeds": 1, "budget": 300, "surrogate_budget": 100, "gp_budget": 40, "best_known_effort": 10000}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, its counts filled in (--quick's or the defaults) and checked (one line, exit 2)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=None, help=f"default {DEFAULTS['seeds']}")
    ap.add_argument("--budget", type=int, default=None, help="distinct evaluations of tpe, nsga2, random, "
                                                              f"annealing and genetic (default {DEFAULTS['budget']})")
    ap.add_argument("--surrogate-budget", type=int, default=None, help=f"default {DEFAULTS['surrogate_budget']}")
    ap.add_argument("--gp-budget", type=int, default=None,
                    help=f"Optuna's GPSampler (slow per trial; default {DEFAULTS['gp_budget']})")
    ap.add_argument("--best-known-effort", type=int, default=None, help="evaluations of each of the 4 genetic "
                    f"searches for the best known (population 200; default {DEFAULTS['best_known_effort']})")
    ap.add_argument("--problems", nargs="+", default=list(SPECS), choices=list(SPECS))
    ap.add_argument("--methods", nargs="+", default=ALL_METHODS, choices=ALL_METHODS)
    ap.add_argument("--reuse", action="store_true", help=f"store every run in {RUNS.relative_to(ROOT)} and "
                                                         "reuse stored runs (resume a long run)")
    ap.add_argument("--runs-only", action="store_true", help="make and store the runs (implies --reuse), no table")
    ap.add_argument("--cached-only", action="store_true", help="the table of the stored runs only (seeds missing "
                                                               "from the store are left out and counted)")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: " + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in QUICK.items())
                         + " unless given")
    args = ap.parse_args(argv)
    for name, default in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:      # an explicit count wins over --quick's, and is checked
            setattr(args, name, default)
    args.methods = list(dict.fromkeys(args.methods))      # a name given twice is taken once
    args.problems = list(dict.fromkeys(args.problems))
    check_args(args)
    args.reuse = args.reuse or args.runs_only
    return args


def main() -> None:
    args = parse_args()
    M._SURROGATE_ENV.update(_ENV)
    budgets = {m: args.surrogate_budget if m == "surrogate" else args.gp_budget if m == "gp" else args.budget
               for m in args.methods}
    problems = {pname: Problem(pname) for pname in args.problems}
    if args.cached_only:
        check_stored(args, problems, budgets)
    workdir = Path(tempfile.mkdtemp(prefix="deffe-bench-exploration-"))
    # removed at exit, also on an exception, Ctrl-C or a SIGTERM (timeout, kill)
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        run(args, problems, budgets, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def check_args(args: argparse.Namespace) -> None:
    check_counts(args, DEFAULTS)
    if args.runs_only and args.cached_only:
        fail("--runs-only --cached-only: one makes runs and prints no table, the other makes none and prints "
             "the table of the stored runs; give one of them")


def _settings(args: argparse.Namespace, problems: list[str]) -> str:
    return (f"--problems {' '.join(problems)} --methods {' '.join(args.methods)} --seeds {args.seeds} "
            f"--budget {args.budget} --surrogate-budget {args.surrogate_budget} --gp-budget {args.gp_budget}")


def check_stored(args: argparse.Namespace, problems: dict, budgets: dict) -> None:
    """--cached-only: every problem needs at least one stored run of these settings."""
    empty = [pname for pname, p in problems.items()
             if not any(run_key(p, m, seed, budgets[m]).exists() for m in args.methods for seed in range(args.seeds))]
    if empty:
        fail(f"--cached-only: no run stored in {RUNS.relative_to(ROOT)} for {_settings(args, empty)}; make them "
             f"with: python bench/exploration.py --runs-only {_settings(args, empty)}")


def run(args: argparse.Namespace, problems: dict, budgets: dict, workdir: Path) -> None:
    out: dict = {"settings": {"seeds": args.seeds, "budgets": budgets, "best_known_effort": args.best_known_effort},
                 "problems": {}}
    runs: dict = {pname: {m: [] for m in args.methods} for pname in args.problems}
    seconds: dict = {pname: {m: [] for m in args.methods} for pname in args.problems}
    metas: dict = {pname: {m: [] for m in args.methods} for pname in args.problems}
    found: dict = {pname: [] for pname in args.problems}
    missing: dict = {pname: {m: 0 for m in args.methods} for pname in args.problems}   # --cached-only
    # seed by seed over every problem and method: an interrupted run leaves whole seeds (--reuse)
    for seed in range(args.seeds):
        for pname, p in problems.items():
            for method in args.methods:
                if args.cached_only and not run_key(p, method, seed, budgets[method]).exists():
                    missing[pname][method] += 1
                    continue
                values, s, meta = one_run(p, method, seed, budgets[method], workdir, args.reuse or args.cached_only)
                runs[pname][method].append(values)
                seconds[pname][method].append(s)
                metas[pname][method].append(meta)
                found[pname].append((float(np.min(values)) if len(values) else math.inf, method, seed,
                                     budgets[method]))
                print(f"  {pname} {method} seed {seed}: {len(values)} evaluations, best {np.min(values):.6f} s, "
                      f"{s:.1f} s", file=sys.stderr, flush=True)
    notes = {pname: {m: other_code(m, ms) for m, ms in per.items() if ms} for pname, per in metas.items()}
    for pname, p in problems.items():
        record_runs(p, found[pname])      # the stored best known: every command's runs improve it
    if args.runs_only:
        for pname, per in notes.items():
            for method, note in per.items():
                if note:
                    print(f"note: {pname} {method}: {note}", file=sys.stderr)
        return
    curves: dict = {}
    rows = []
    for pname, p in problems.items():
        bk, refs = best_known(p, args.best_known_effort, args.surrogate_budget, workdir)
        best, source = stored_best(p)
        target = 1.01 * best
        oracle = [np.array([math.inf if x is None else x for x in v]) for v in refs["oracle"]["values"]]
        oracle_evals = [evals_to(best_so_far(v, len(v)), target) for v in oracle]
        out["problems"][pname] = {"best_known": best, "best_known_found_by": source, "best_known_by_search": bk,
                                  "best_known_by_genetic": refs["genetic"],
                                  "oracle": {"evals_to_1pct": oracle_evals,
                                             "best": [float(np.min(v)) for v in oracle]},
                                  "methods": {}}
        curves[pname] = {}
        for method, vs in runs[pname].items():
            if not vs:
                if missing[pname][method]:   # none stored: no row, but said (print_table) and in the JSON
                    out["problems"][pname].setdefault("not_stored", {})[method] = missing[pname][method]
                continue
            budget = budgets[method]
            cs = [best_so_far(v, budget) for v in vs]
            curves[pname][method] = np.median(np.vstack(cs), axis=0)
            med, lo, hi, hits = summary([evals_to(c, target) for c in cs])
            bests = [float(c[-1]) for c in cs]
            med_best = float(np.median(bests))
            rec = {"evals_to_1pct": med, "evals_to_1pct_min": lo, "evals_to_1pct_max": hi,
                   "seeds_reaching": hits, "seeds": len(cs), "best": med_best,
                   "best_min": float(np.min(bests)), "best_max": float(np.max(bests)),
                   "budget": budget, "seconds": float(np.median(seconds[pname][method])),
                   "missing": missing[pname][method]}   # seeds asked for (--seeds) but not stored
            if notes[pname].get(method):
                rec["note"] = notes[pname][method]
            out["problems"][pname]["methods"][method] = {k: (None if isinstance(v, float) and not math.isfinite(v)
                                                             else v) for k, v in rec.items()}
            rows.append((pname, method, rec))
        verdict(out["problems"][pname], budgets)
    print_table(rows, out, budgets)
    _plot(curves, out)
    print(json.dumps(out))


def verdict(prob: dict, budgets: dict) -> None:
    """The issue's goal: surrogate within 1% in a tenth of the evaluations of the best Optuna sampler.

    Met: every Optuna sampler needs at least 10x the surrogate's evaluations (median), known either from
    its own median or because it did not get there in a budget of at least 10x. Not met: the surrogate
    misses, or a sampler gets there in fewer than 10x. Undecided: a sampler missed in a budget smaller
    than 10x the surrogate's evaluations (it might get there before 10x)."""
    ms = prob["methods"]
    samplers = [m for m in M.OPTUNA if m in ms]
    if "surrogate" not in ms or not samplers:
        return
    s = ms["surrogate"]["evals_to_1pct"]
    reached = {m: ms[m]["evals_to_1pct"] for m in samplers if ms[m]["evals_to_1pct"] is not None}
    best = min(reached, key=reached.get) if reached else None
    if s is None:
        met, why = False, "the surrogate does not get within 1% (median) in its budget"
    elif best is not None and reached[best] < 10 * s:
        met, why = False, (f"{best} gets there in {format_median(reached[best])} evaluations, less than "
                           f"10 x {format_median(s)}")
    else:
        short = [m for m in samplers if m not in reached and ms[m]["budget"] < 10 * s]
        if short:
            met = None
            why = (f"{', '.join(short)} did not get there in {', '.join(str(ms[m]['budget']) for m in short)} "
                   f"evaluations; telling needs a budget of 10 x {format_median(s)}")
        else:
            met = True
            why = "; ".join(f"{m}: {format_median(reached[m])}" if m in reached else f"{m}: > {ms[m]['budget']}"
                            for m in samplers) + f"; surrogate {format_median(s)}"
    prob["goal"] = {"met": met, "best_optuna": best, "best_optuna_evals": reached.get(best) if best else None,
                    "surrogate_evals": s, "why": why}


def _fmt_evals(rec: dict) -> str:
    med = rec["evals_to_1pct"]
    text = "not reached" if med is None else format_median(med)
    if rec["seeds_reaching"]:
        lo, hi = rec["evals_to_1pct_min"], rec["evals_to_1pct_max"]
        text += f" [{lo}-{hi}]" if lo != hi else f" [{lo}]"
    return text + f" {rec['seeds_reaching']}/{rec['seeds']}"


def print_table(rows, out: dict, budgets: dict) -> None:
    print(f"{'problem':15s} {'method':10s} {'budget':>6s} {'evals to 1% [min-max] reached':>32s} "
          f"{'best (s), median':>16s} {'gap':>7s} {'best min-max (s)':>19s} {'time (s)':>9s}")
    for pname, method, rec in rows:
        best = out["problems"][pname]["best_known"]
        gap = rec["best"] / best - 1 if math.isfinite(rec["best"]) else math.inf
        print(f"{pname:15s} {method:10s} {rec['budget']:6d} {_fmt_evals(rec):>32s} {rec['best']:16.6f} "
              f"{gap:7.2%} {rec['best_min']:9.5f}-{rec['best_max']:9.5f} {rec['seconds']:9.1f}")
    for pname, method, rec in rows:
        if rec.get("note"):
            print(f"note: {pname} {method}: {rec['note']}")
        if rec.get("missing"):
            print(f"note: {pname} {method}: {rec['missing']} of {out['settings']['seeds']} seeds not stored, left "
                  f"out (--cached-only): the figures are of {rec['seeds']} seeds")
    for pname, prob in out["problems"].items():
        for method, n in prob.get("not_stored", {}).items():
            print(f"note: {pname} {method}: none of {out['settings']['seeds']} seeds stored (--cached-only): no row")
    for pname, prob in out["problems"].items():
        oracle = prob["oracle"]
        reached = ", ".join("not reached" if e is None else str(e) for e in oracle["evals_to_1pct"])
        print(f"{pname}: best known {prob['best_known']:.6f} s, found by {prob['best_known_found_by']} (the best of "
              f"bench/results/best-known-{pname}.json: every long search and every run of any command; these "
              f"settings' long genetic searches: {prob['best_known_by_genetic']:.6f} s, the surrogate's search "
              f"with the simulator as its model: {min(oracle['best']):.6f} s); target within 1%: "
              f"{1.01 * prob['best_known']:.6f} s")
        print(f"  the search with a perfect model reaches the target in {reached} evaluations "
              f"(seeds {', '.join(map(str, ORACLE_SEEDS))}): what a better model could gain")
        g = prob.get("goal")
        if g:
            print(f"  goal (surrogate within 1% in a tenth of the best Optuna sampler's evaluations): "
                  f"{ {True: 'MET', False: 'NOT MET', None: 'UNDECIDED'}[g['met']]} ({g['why']})")


def _plot(curves: dict, out: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 4.5), squeeze=False)
    for ax, (pname, per) in zip(axes[0], curves.items()):
        best = out["problems"][pname]["best_known"]
        for method, curve in per.items():
            x = np.arange(1, len(curve) + 1)
            ax.plot(x, np.where(np.isfinite(curve), curve / best, np.nan), label=method)
        ax.axhline(1.01, color="grey", linestyle=":", label="within 1%")
        ax.set_xscale("log")
        ax.set_ylim(0.99, 1.6)
        ax.set_xlabel("simulator evaluations")
        ax.set_ylabel("median best step time / best known")
        ax.set_title(pname)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = RESULTS / "exploration.png"
    fig.savefig(path, dpi=110)
    print(f"plot: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
