"""The reports match a run's scenario combinations by one label, that of deffe_exploration.csv ('s=1'), and
show them in its order."""
import json

from cli_helpers import run_deffe, write
from framework.reports import content, plots
from framework.run_data import load_run

EVALUATE = ('def f(p):\n    a, s = p["a"], float(p["s"])\n'
            '    return {"f1": float(a * s), "f2": float((6 - a) * s)}\n')


def _run(tmp_path, scenario_values, exploration=None, **extra):
    write(tmp_path / "prob.py", EVALUATE)
    write(tmp_path / "c.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [1, 2, 3, 4, 5]}],
        "scenarios": [{"name": "s", "values": scenario_values}], "costs": ["f1", "f2"],
        "evaluate": {"plugin": "python", "function": "prob:f"}, "model": {"plugin": None},
        "exploration": exploration or {"plugin": "sampling", "samples_per_step": 10},
        "framework": {"run_directory": "run", "seed": 1}, **extra}))
    r = run_deffe("-config", "c.json", "-quiet", cwd=tmp_path)
    assert r.rc == 0, r
    run = load_run(tmp_path / "run")
    return run, content.explorations(run)[0]


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_integers_among_decimals_are_labelled_as_the_run_writes_them(tmp_path):
    # pandas reads the column [1, 2.5] as floats: the reports said 's=1.0', matched no front row of 's=1', put
    # it after s=2.5 and fell back from the recorded hypervolumes to their own
    run, ex = _run(tmp_path, [1, 2.5])
    assert content.scenario_order(ex) == ["s=1", "s=2.5"]
    axes = plots._front(run, ex).get_axes()
    assert [ax.get_title() for ax in axes] == ["s=1", "s=2.5"]
    for ax in axes:   # each panel draws its own combination's front (5 designs on the line f1 + f2 = 6 s)
        assert "front (5)" in _legend(ax), (ax.get_title(), _legend(ax))
    assert list(dict.fromkeys(content.best_designs(run, ex)["scenario"])) == ["s=1", "s=2.5"]
    lines = plots._progress(run, ex).get_axes()[0].get_lines()
    assert [line.get_label() for line in lines] == ["s=1", "s=2.5"]
    assert list(lines[0].get_ydata()) == [s["scenarios"]["s=1"]["hypervolume"] for s in ex.data.steps]


def test_three_values_keep_the_order_of_the_config(tmp_path):
    run, ex = _run(tmp_path, [1, 0.5, 2])
    assert content.scenario_order(ex) == ["s=1", "s=0.5", "s=2"]
    titles = [ax.get_title() for ax in plots._front(run, ex).get_axes()]
    assert titles == ["s=1", "s=0.5", "s=2"]
