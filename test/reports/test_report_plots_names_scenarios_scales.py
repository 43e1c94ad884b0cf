"""report_*.png: which files a report build may replace or remove, the scenario combinations each plot
draws, costs of an extreme magnitude drawn in a power of ten of their unit, and timeline files without data.

* A build removed any report_*.png whose name ended like a plot's (report_before_tuning_front.png, a copy
  the user kept): only the run's own names may be replaced or removed.
* report_progress.png pooled every combination into one curve when there were more than 8 of them.
* report_front.png's title said "(one over all 2 scenario combinations)" above a panel per combination, and
  ran into the top panels' titles.
* Costs near 1e-300 were drawn on an axis of '-40 ms'..'40 ms' with every point at '0 s'.
* A memory timeline of NaN only drew an empty plot and printed numpy's 'All-NaN slice encountered'.
"""
import json
import math
import warnings

import numpy as np
import pytest

from cli_helpers import run_deffe, write
from framework.reports import build_reports
from framework.reports import content as c
from framework.reports import plots
from framework.run_data import load_run

EVALUATE = '''
def evaluate(p):
    a, b = p["a"], p["b"]
    size = p["s"] * p.get("r", 1)
    return {"tiny": 1e-300 * size * (1 + a + 0.5 * b), "huge": 1e300 * size * (2 + (5 - a) * b)}
'''


def _run(d, costs, scenarios, model):
    write(d / "ev.py", EVALUATE)
    exploration = {"plugin": "surrogate", "initial_samples": 12, "samples_per_step": 6, "max_samples": 24} \
        if model else {"plugin": "sampling", "samples_per_step": 96, "max_samples": 96}
    write(d / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-6" if model else "0-4"},
                                        {"name": "b", "values": [1, 2, 3] if model else [1, 2]}],
        "scenarios": scenarios, "costs": costs, "sampling": {"plugin": "factorial"},
        "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": "sklearn_rf" if model else None}, "exploration": exploration,
        "framework": {"run_directory": "run", "seed": 5, "report_files": False}}))
    r = run_deffe("-config", "config.json", "-quiet", cwd=d)
    assert r.rc == 0, r
    run = load_run(d / "run")
    return run, c.explorations(run)[0]


TWELVE = [{"name": "s", "values": [1, 2, 3, 4]}, {"name": "r", "values": [1, 3, 9]}]


@pytest.fixture(scope="module")
def twelve(tmp_path_factory):
    """12 scenario combinations, two objectives and one (costs near 1e-300), 8 designs each."""
    tmp = tmp_path_factory.mktemp("twelve")
    return {n: _run(tmp / f"o{n}", costs, TWELVE, model=False)
            for n, costs in ((2, [{"name": "tiny", "unit": "s"}, "huge"]), (1, [{"name": "tiny", "unit": "s"}]))}


@pytest.fixture(scope="module")
def extreme(tmp_path_factory):
    """Two scenario combinations, costs near 1e-300 and 1e300, a model (predictions to draw)."""
    return _run(tmp_path_factory.mktemp("extreme"), [{"name": "tiny", "unit": "s"}, {"name": "huge", "unit": "B"}],
                [{"name": "s", "values": [1, 10]}], model=True)


# -- which files a build replaces or removes -------------------------------------------------------------

from test_report_plots import _copy  # noqa: E402  (a copy of a run, its manifest naming the copy's tables)


def test_a_build_leaves_the_users_own_png_files_alone(minimal_run, tmp_path):
    run = _copy(minimal_run, tmp_path / "run")
    mine = {name: f"the user's {name}".encode() for name in (
        "report_before_tuning_front.png", "report_v1_progress.png", "report_mine_front.png",
        "report_old_memory_timeline.png", "report_x_knob_importance.png")}
    for name, data in mine.items():
        (run / name).write_bytes(data)
    (run / "report_front.png").write_bytes(b"an earlier build's")   # the run's own name: one objective, no front
    paths = build_reports(run)
    for name, data in mine.items():
        assert (run / name).read_bytes() == data, name
    assert not (run / "report_front.png").exists()   # a plot of the run without data now is still removed
    assert (run / "report_progress.png").read_bytes()[:4] == b"\x89PNG"
    assert not set(map(str, paths.values())) & {str(run / n) for n in mine}


def test_a_build_of_several_explorations_leaves_unprefixed_names_alone(two_cost_run, tmp_path):
    run = _copy(two_cost_run, tmp_path / "run")
    (run / "report_front.png").write_bytes(b"mine")   # not a name of this run: its plots are prefixed
    build_reports(run)
    assert (run / "report_front.png").read_bytes() == b"mine"
    assert (run / "report_first_front.png").read_bytes()[:4] == b"\x89PNG"


# -- the scenario combinations each plot draws --------------------------------------------------------------

def test_the_progress_plot_draws_the_first_8_of_12_combinations_apart(twelve):
    run, ex = twelve[2]
    order = c.scenario_order(ex)
    assert len(order) == 12
    ax = plots._progress(run, ex).get_axes()[0]
    assert [line.get_label() for line in ax.get_lines()] == order[:8]   # never one curve pooled over them
    assert "the first 8 of 12 scenario combinations" in ax.get_title()
    x, hv, power, _how = c.hypervolume_progress(run, ex, order[3])
    np.testing.assert_allclose(ax.get_lines()[3].get_ydata(), hv * 10.0 ** (power - max(
        c.hypervolume_progress(run, ex, label)[2] for label in order[:8])), rtol=1e-12)


def test_one_objective_draws_the_best_of_each_of_the_first_8_combinations(twelve):
    run, ex = twelve[1]
    order = c.scenario_order(ex)
    ax = plots._progress(run, ex).get_axes()[0]
    assert [line.get_label() for line in ax.get_lines()] == [f"best, {label}" for label in order[:8]]
    assert "the first 8 of 12 scenario combinations" in ax.get_title()
    points = ax.collections[0].get_offsets()
    assert len(points) == 8 * 8   # the evaluations of the combinations drawn only


def test_the_front_title_says_nothing_of_pooling_when_each_combination_has_its_panel(extreme):
    run, ex = extreme
    fig = plots._front(run, ex)
    assert [ax.get_title() for ax in fig.get_axes()] == ["s=1", "s=10"]
    assert fig.get_suptitle() == "Pareto front"


def test_the_front_title_does_not_run_into_the_panels(twelve, tmp_path):
    run, ex = twelve[2]
    fig = plots._front(run, ex)
    assert "the first 8 of 12 scenario combinations" in fig.get_suptitle()
    plots._save(fig, tmp_path / "front.png")
    renderer = fig.canvas.get_renderer()
    top = fig._suptitle.get_window_extent(renderer)
    for ax in fig.get_axes():
        assert not top.overlaps(ax.title.get_window_extent(renderer)), ax.get_title()
        assert not top.overlaps(ax.get_window_extent(renderer)), ax.get_title()


# -- costs of an extreme magnitude --------------------------------------------------------------------------

def _power(values):
    return math.floor(math.log10(max(abs(v) for v in values)))


def _drawn(ax, values, power):
    """The points of the axes (its first scatter: the evaluated ones) are the values in units of 10**power,
    spread over an axis of their own."""
    xs = np.sort(np.unique(ax.collections[0].get_offsets()[:, 0]))
    np.testing.assert_allclose(xs, np.sort(np.unique(values)) / 10.0 ** power, rtol=1e-9)
    lo, hi = ax.get_xlim()
    assert lo <= xs.min() < xs.max() <= hi and hi - lo < 3 * (xs.max() - xs.min())


def test_the_front_draws_costs_near_1e_300_and_1e300_in_a_power_of_ten(extreme):
    run, ex = extreme
    ev = ex.data.evaluations
    pt, ph = _power(ev["tiny"]), _power(ev["huge"])
    assert pt < -290 and ph > 290
    for ax, s in zip(plots._front(run, ex).get_axes(), (1, 10)):
        assert ax.get_xlabel() == f"tiny, minimised (x 1e{pt:+d} s)"
        assert ax.get_ylabel() == f"huge, minimised (x 1e{ph:+d} B)"
        _drawn(ax, ev.loc[ev["s"] == s, "tiny"].to_numpy(), pt)
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert all("e+" not in t and len(t) <= 5 for t in labels), labels


def test_the_predicted_plot_draws_costs_near_1e_300_in_a_power_of_ten(extreme):
    run, ex = extreme
    df = c.predicted_vs_true(run, ex.data)
    fig = plots._predicted(run, ex)
    for ax, cost, unit in zip(fig.get_axes(), ("tiny", "huge"), ("s", "B")):
        d = df[df["cost"] == cost]
        p = _power(np.r_[d["true"], d["predicted"]])
        assert ax.get_xlabel() == f"true {cost} (x 1e{p:+d} {unit})"
        _drawn(ax, d["true"].to_numpy(), p)


def test_the_best_so_far_of_costs_near_1e_300_is_drawn_in_a_power_of_ten(twelve):
    run, ex = twelve[1]
    ax = plots._progress(run, ex).get_axes()[0]
    order = c.scenario_order(ex)
    shown = ex.feasible & ex.scenario.isin(order[:8])
    p = _power(ex.data.evaluations.loc[shown, "tiny"])
    assert ax.get_ylabel() == f"tiny, minimised (x 1e{p:+d} s)"
    _x, best = c.best_so_far(run, ex, ex.scenario.eq(order[0]))
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), best / 10.0 ** p, rtol=1e-9)
    lo, hi = ax.get_ylim()
    assert 0 < hi < 1000


# -- a timeline without data ------------------------------------------------------------------------------

def test_a_memory_timeline_of_nan_only_is_left_out_without_a_warning(minimal_run, tmp_path):
    run = _copy(minimal_run, tmp_path / "run")
    (run / "a_memory_timeline.csv").write_text("time,bytes\n1,nan\n")
    (run / "b_memory_timeline.txt").write_text("0 nan 0 static\n1 nan 0 forward\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = build_reports(run)
    assert "report_memory_timeline" not in paths
    assert not (run / "report_memory_timeline.png").exists()
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
