"""Dynamic tensor rematerialisation (DTR) simulated on operator traces.

    from simulator.remat import load_dtr_log, trace_from_network, replay, sweep
    trace = trace_from_network(simulator.zoo.load("resnet50", batch_size=32))
    r = replay(trace, 2e9, heuristic="dtr_eq")      # 2 GB budget
    results = sweep(trace)                          # budget = 0.1 .. 1.0 x baseline peak

Traces come from a `TraceBuilder`, from DTR's JSON-lines logs (`load_dtr_log`)
or from a simulator `Network` (`trace_from_network`). Command line:
`python -m simulator.remat --trace FILE --budget-ratio R --heuristic NAME`.
"""
from __future__ import annotations

from .dtr_log import is_dtr_log, load_dtr_log
from .from_network import trace_from_network
from .replay import HEURISTICS, RematResult, baseline, format_bytes, replay
from .sweep import RATIOS, plot_sweep, sweep, sweep_to_csv
from .trace import OpTrace, TraceBuilder

__all__ = ["HEURISTICS", "OpTrace", "RATIOS", "RematResult", "TraceBuilder", "baseline", "format_bytes",
           "is_dtr_log", "load_dtr_log", "plot_sweep", "replay", "sweep", "sweep_to_csv", "trace_from_network"]
