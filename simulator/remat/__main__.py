"""Command line: replay an operator trace under a memory budget.

    python -m simulator.remat --trace resnet32.log --budget-ratio 0.5 --heuristic dtr_eq
    python -m simulator.remat --trace logs.zip --model lstm --budget-ratio 0.3 --json
    python -m simulator.remat --trace resnet50 --batch-size 32 --sweep --csv s.csv --plot s.png

--trace: a DTR log (JSON lines), DTR's logs.zip with --model NAME, a zoo
network name or a Paleo JSON network (bundled ones by name, e.g. mnist.json):
a network's training step on one V100, see `trace_from_network`.
Prints the baseline peak memory and compute, then the overhead, peak memory
and OOM / thrash flags of the replay; --json prints one JSON object instead
(a list of them with --sweep). Bad input: one line `error: ...`, exit 2.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
from typing import NoReturn, Sequence

from ..graph import SimulatorError
from .replay import HEURISTICS, RematResult, baseline, replay
from .sweep import RATIOS, plot_file, plot_sweep, sweep_to_csv

JSON_KEYS = ("baseline_peak_bytes", "baseline_compute_s", "overhead", "peak_bytes", "oom", "thrash", "seconds")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m simulator.remat",
                description="Replay an operator trace with a memory budget, rematerialising evicted tensors (DTR).")
    p.add_argument("--trace", required=True, help="DTR log file, DTR's logs.zip (with --model), a zoo network name "
                   "or a Paleo JSON network")
    p.add_argument("--model", help="model inside logs.zip (e.g. resnet32, lstm, densenet121)")
    p.add_argument("--budget-ratio", type=float, default=0.5, help="budget / baseline peak (default 0.5)")
    p.add_argument("--heuristic", default="dtr_eq", help=f"one of {', '.join(HEURISTICS)} (default dtr_eq)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random heuristic")
    p.add_argument("--thrash-limit", type=float, default=2.0, help="stop beyond this overhead (default 2)")
    p.add_argument("--banish", action="store_true", help="forget unreferenced evicted storages when safe")
    p.add_argument("--no-eager-free", action="store_true", help="keep released storages until evicted")
    p.add_argument("--batch-size", type=int, help="batch size of a zoo network")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--sweep", action="store_true", help="run the ratios 0.1, 0.2, ..., 1.0")
    p.add_argument("--csv", metavar="OUT", help="write the results as CSV")
    p.add_argument("--plot", metavar="OUT.png", help="plot overhead against budget ratio")
    return p


def _load(args):
    from .dtr_log import LOG_SUFFIXES, is_dtr_log, load_dtr_log
    from .from_network import trace_from_network
    path = args.trace
    if path.endswith(".json") and not (os.path.exists(path) and is_dtr_log(path)):
        if args.model is not None:
            raise SimulatorError("--model applies to logs.zip, not to networks", source=path)
        from .. import load_network
        return trace_from_network(load_network(path), batch_size=args.batch_size)
    if os.path.exists(path) or path.endswith(LOG_SUFFIXES):   # a missing log is "no such file", not a zoo name
        if args.batch_size is not None:
            raise SimulatorError("--batch-size applies to networks, not to logs", source=path)
        return load_dtr_log(path, args.model)
    if args.model is not None:
        raise SimulatorError(f"--model applies to logs.zip, and '{path}' is no file")
    from .. import zoo
    return trace_from_network(zoo.load(path, batch_size=args.batch_size))


def _input_files(args) -> list[tuple[str, str]]:
    """(flag, path) of the file --trace reads: the path given, or the bundled network of that name."""
    from .. import data
    found = [("--trace", args.trace)] if os.path.isfile(args.trace) else []
    try:
        found.append(("--trace", data.locate(args.trace, data.NETWORKS)))
    except SimulatorError:
        pass
    return found


def _check_outputs(args) -> None:
    """Before the trace is read or replayed: --csv and --plot name files that can be written, neither the
    --trace file (it was replaced by the CSV) nor each other, and --plot a format matplotlib writes (it
    failed with a traceback after the whole sweep)."""
    from ..__main__ import _check_outputs as check
    outputs = []
    for flag, path in (("--csv", args.csv), ("--plot", args.plot)):
        if path is not None and not path.strip():
            raise SimulatorError(f"{flag} needs a file name (an empty one was given)")
        if path is not None and flag == "--plot":
            try:
                path = plot_file(path)
            except SimulatorError as err:
                raise SimulatorError(f"--plot: {err.message}", source=err.source) from None
        if path is not None:
            outputs.append((flag, path))
    check(outputs, _input_files(args))


def _fmt_bytes(n: float) -> str:
    from .replay import format_bytes
    return format_bytes(n)


def _line(ratio: float, r: RematResult) -> str:
    over = "-" if not math.isfinite(r.overhead) else f"{r.overhead:.4f}"
    flags = ("OOM" if r.oom else "") + ("THRASH" if r.thrash else "") or "ok"
    return (f"{ratio:6.2f} {_fmt_bytes(r.budget_bytes):>14s} {over:>9s} {_fmt_bytes(r.peak_bytes):>14s} "
            f"{r.evictions:>9d} {r.remats:>8d} {flags:>7s} {r.seconds * 1e3:9.2f}")


def _json(r: RematResult) -> dict:
    d = r.to_dict()
    return {k: d[k] for k in JSON_KEYS}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.heuristic not in HEURISTICS:
            raise SimulatorError(f"unknown heuristic '{args.heuristic}'; known: {', '.join(HEURISTICS)}")
        if not (args.budget_ratio > 0 and math.isfinite(args.budget_ratio)):
            raise SimulatorError(f"--budget-ratio must be a number > 0, not {args.budget_ratio}")
        _check_outputs(args)
        trace = _load(args)
        peak, compute = baseline(trace)
        ratios = list(RATIOS) if args.sweep else [args.budget_ratio]
        results = [replay(trace, r * peak, args.heuristic, seed=args.seed, thrash_limit=args.thrash_limit,
                          eager_free=not args.no_eager_free, banish=args.banish) for r in ratios]
        if args.csv:
            sweep_to_csv(results, ratios, args.csv)
        if args.plot:
            plot_sweep({args.heuristic: results}, ratios, args.plot, title=f"{trace.name}: overhead vs budget")
    except SimulatorError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        out = [dict(_json(r), ratio=ratio) for ratio, r in zip(ratios, results)] if args.sweep else _json(results[0])
        print(json.dumps(out))
        return 0
    print(f"trace                {trace.summary()}")
    print(f"baseline peak        {_fmt_bytes(peak)}")
    print(f"baseline compute     {compute * 1e3:.4f} ms")
    print(f"heuristic            {args.heuristic}")
    print(f"{'ratio':>6s} {'budget':>14s} {'overhead':>9s} {'peak':>14s} {'evictions':>9s} {'remats':>8s} "
          f"{'status':>7s} {'ms':>9s}")
    for ratio, r in zip(ratios, results):
        print(_line(ratio, r))
    return 0


if __name__ == "__main__":
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:   # the reader went away (`... | head -1`): stop quietly, as `python -m simulator`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 128 + signal.SIGPIPE
    raise SystemExit(status)
