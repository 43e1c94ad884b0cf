"""The report's hypervolume curve of costs of an extreme magnitude is the same curve as in ordinary units,
its axis saying the power of ten: the run records such volumes as mantissas of a power of ten (the
tracker's `hypervolume_exponent`), and the plot drew those mantissas as if they were the volumes; without
a record, a volume of costs near 1e-300 computed in their own units underflowed to 0."""
import json

import numpy as np
import pytest

from cli_helpers import run_deffe, write
from framework.reports import content as c
from framework.reports.plots import _progress
from framework.run_data import load_run

EVALUATE = '''
def evaluate(p):
    u = {unit!r}
    return {{"t": u * (1 + p["a"] + 0.5 * p["b"]), "m": u * (2 + (9 - p["a"]) * p["b"] + 3 * p["b"] % 7)}}
'''


def _run(tmp_path, unit):
    d = tmp_path / f"u{unit:g}"
    write(d / "ev.py", EVALUATE.format(unit=unit))
    write(d / "config.json", json.dumps({
        "python_path": ["."],
        "knobs": [{"name": "a", "values": "0-9"}, {"name": "b", "values": [1, 2, 3, 4]}],
        "costs": ["t", "m"], "evaluate": {"plugin": "python", "function": "ev:evaluate"},
        "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 8, "max_samples": 24},
        "framework": {"run_directory": "run", "seed": 3, "report_files": False}}))
    r = run_deffe("-config", "config.json", "-quiet", cwd=d)
    assert r.rc == 0, r
    run = load_run(d / "run")
    return run, c.explorations(run)[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hv_units")
    return {unit: _run(tmp, unit) for unit in (1.0, 1e-300, 1e300)}


@pytest.mark.parametrize("unit, power", [(1e-300, -600), (1e300, 600)])
@pytest.mark.parametrize("recorded", [True, False])
def test_the_curve_is_the_volume_in_a_power_of_ten(runs, unit, power, recorded):
    (plain_run, plain), (run, ex) = runs[1.0], runs[unit]
    if not recorded:   # a run without per-step records: the curve computed from the evaluations
        for e in (plain, ex):
            e.data.steps.clear()
    x0, hv0, p0, _ = c.hypervolume_progress(plain_run, plain)
    x, hv, p, _ = c.hypervolume_progress(run, ex)
    assert p0 == 0 and abs(p - power) <= 4   # (the power of the costs' largest magnitude, per objective)
    assert np.array_equal(x, x0) and hv0[-1] > 0
    np.testing.assert_allclose(hv * 10.0 ** (p - power), hv0, rtol=1e-9)   # the volume x unit^2
    ax = _progress(run, ex).axes[0]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), hv, rtol=1e-12)
    assert f"x 1e{p:+d}" in ax.get_ylabel()
    assert "1e" not in _progress(plain_run, plain).axes[0].get_ylabel()
