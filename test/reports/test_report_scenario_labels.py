"""The reports match a run's scenario combinations by one label, that of deffe_exploration.csv ('s=1'), and
show them in its order."""
import json

from cli_helpers import run_deffe, write
from framework.reports import content, plots
from framework.run_data import load_run

EVALUATE = ('def f(p):\n    a, s = p["a"], float(p["s"])\n'
            '    return {"f1": float(a * s), "f2": float((6 - a) * s)}\n')


def _run(tmp_path, scenario_values, exploration=None, out=None, **extra):
    write(tmp_path / "prob.py", EVALUATE)
    write(tmp_path / "c.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [1, 2, 3, 4, 5]}],
        "scenarios": [scenario_values if isinstance(scenario_values, dict)
                      else {"name": "s", "values": scenario_values}],
        "costs": ["f1", "f2"],
        "evaluate": {"plugin": "python", "function": "prob:f"}, "model": {"plugin": None},
        "exploration": exploration or {"plugin": "sampling", "samples_per_step": 10},
        "framework": {"run_directory": "run", "seed": 1}, **extra}))
    r = run_deffe("-config", "c.json", *(() if out is not None else ("-quiet",)), cwd=tmp_path)
    assert r.rc == 0, r
    if out is not None:
        out.append(r.out + r.err)
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


def test_more_than_32_combinations_of_a_sampling_run_are_one_front_said_so(tmp_path):
    # the table then holds one front over all combinations, without a scenario column: the summary headed it
    # 'nan' (a cost cell taken for the label) and every panel of the front plot drew that front as its own
    said = []
    run, ex = _run(tmp_path, {"name": "s", "type": "integer", "min": 1, "max": 40},
                   {"plugin": "sampling", "samples_per_step": 60}, out=said)
    assert "scenario" not in ex.data.front
    summary = said[0][said[0].index("front (f1, f2):"):]
    heading = summary.splitlines()[1]
    assert "nan" not in heading and "one front over all" in heading, summary
    fig = plots._front(run, ex)
    assert len(fig.get_axes()) == 1 and "one over all 40 scenario combinations" in fig._suptitle.get_text()
    assert f"evaluated ({len(ex.data.evaluations)})" in _legend(fig.get_axes()[0])   # every design, one front
