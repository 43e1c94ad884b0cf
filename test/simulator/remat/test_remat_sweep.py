"""Budget sweeps: what holds as the budget grows, the CSV and the plot.

Greedy eviction is not monotone in the budget in general (a Belady-style anomaly:
more memory changes which storage goes first, and a later op may then need more
remats); `test_greedy_eviction_is_not_monotone_in_general` shows one. What the tests
assert for every heuristic: the full budget costs nothing, a finished run never costs
less than the baseline nor holds more than its budget. For every heuristic but random
they also assert overhead non-increasing over the ratios 0.1 .. 1.0 on each of the
three traces below (it holds there; on DTR's eight logs bench/remat.py shows dtr and
dtr_eq monotone and lru, largest, dtr_local and random not always).
"""
from __future__ import annotations

import csv
import math

import pytest

import simulator as sim
from simulator.remat import (HEURISTICS, RATIOS, baseline, load_dtr_log, plot_sweep, replay, sweep,
                             sweep_to_csv, trace_from_network)
from traces import chain, write_dtr_log


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    log = write_dtr_log(tmp_path_factory.mktemp("log") / "toy-8.log", layers=8)
    return {"chain": chain(200), "log": load_dtr_log(log),
            "resnet18": trace_from_network(sim.zoo.load("resnet18", batch_size=4))}


@pytest.mark.parametrize("name", ["chain", "log", "resnet18"])
@pytest.mark.parametrize("heuristic", HEURISTICS)
def test_what_holds_for_every_heuristic(traces, name, heuristic):
    t = traces[name]
    peak, compute = baseline(t)
    results = sweep(t, heuristic=heuristic, thrash_limit=50.0)
    assert [r.budget_bytes for r in results] == [r * peak for r in RATIOS]
    assert results[-1].overhead == 1.0 and results[-1].evictions == 0
    for ratio, r in zip(RATIOS, results):
        if r.ok:
            assert r.overhead >= 1.0 and r.peak_bytes <= ratio * peak
        assert r.overhead >= results[-1].overhead


@pytest.mark.parametrize("name", ["chain", "log", "resnet18"])
@pytest.mark.parametrize("heuristic", [h for h in HEURISTICS if h != "random"])
def test_overhead_does_not_increase_with_the_budget(traces, name, heuristic):
    overheads = [r.overhead for r in sweep(traces[name], heuristic=heuristic, thrash_limit=50.0)]
    assert all(b <= a for a, b in zip(overheads, overheads[1:])), overheads
    assert overheads[0] > 1.0  # the sweep does reach budgets that cost something


def test_greedy_eviction_is_not_monotone_in_general(traces):
    # random eviction on the chain: some larger budget costs more than a smaller one
    overheads = [r.overhead for r in sweep(traces["chain"], [0.1 + 0.01 * k for k in range(20)],
                                           heuristic="random", thrash_limit=50.0)]
    assert any(b > a for a, b in zip(overheads, overheads[1:]))


def test_sweep_csv_and_plot(tmp_path, traces):
    t = traces["log"]
    ratios = [0.6, 0.8, 1.0]
    by = {h: sweep(t, ratios, h) for h in ("dtr_eq", "lru")}
    sweep_to_csv(by["dtr_eq"], ratios, tmp_path / "s.csv")
    rows = list(csv.DictReader(open(tmp_path / "s.csv")))
    assert [float(r["ratio"]) for r in rows] == ratios
    assert float(rows[-1]["overhead"]) == 1.0
    assert float(rows[0]["overhead"]) == pytest.approx(by["dtr_eq"][0].overhead)
    plot_sweep(by, ratios, tmp_path / "s.png")
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_unfinished_runs_have_an_empty_overhead_in_the_csv(tmp_path, traces):
    t = traces["chain"]
    results = sweep(t, [0.001, 1.0])
    assert results[0].oom and math.isinf(results[0].overhead)
    sweep_to_csv(results, [0.001, 1.0], tmp_path / "s.csv")
    rows = list(csv.DictReader(open(tmp_path / "s.csv")))
    assert rows[0]["overhead"] == "" and rows[0]["oom"] == "True"


def test_bad_ratios():
    from simulator.graph import SimulatorError
    with pytest.raises(SimulatorError, match="ratio"):
        sweep(chain(10), [0.5, -1])
    with pytest.raises(SimulatorError, match="no budget ratios"):
        sweep(chain(10), [])
    assert replay(chain(10), 1e9).overhead == 1.0
