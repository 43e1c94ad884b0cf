"""The hypervolume a run records and prints does not depend on the costs' unit: costs near 1e-300 gave
"hv 0" (a product of ~1e-300 extents underflows) and costs near 1e300 an infinite one, where the same
problem in ordinary units gave hv 1.61e+05."""
import numpy as np
import pytest

from framework.config import Cost
from framework.progress import best_text
from framework.report import Tracker

COSTS = [Cost("t", "min"), Cost("m", "max")]


def _steps(unit):
    rng = np.random.default_rng(1)
    s = rng.integers(0, 60, size=(3, 15)).astype(float)
    tracker = Tracker(COSTS, [], ["t", "m"])
    out = []
    for k in range(3):   # three steps, each adding 15 designs
        x = s[:k + 1].reshape(-1)
        costs = np.column_stack([unit * (1 + x), -unit * (2 + x * x + 3 * x % 7)])
        out.append(tracker.update(costs, ["ok"] * len(x)))
    return out


@pytest.mark.parametrize("unit, exponent", [(1e-300, -600), (1e300, 600)])
def test_hypervolume_is_the_same_in_any_unit(unit, exponent):
    plain, extreme = _steps(1.0), _steps(unit)
    for a, b in zip(plain, extreme):
        hv = b["hypervolume"] * 10.0 ** (b["hypervolume_exponent"] - exponent)
        assert hv == pytest.approx(a["hypervolume"], rel=1e-9) and a["hypervolume"] > 0
        assert b["front"] == a["front"]
        shown, plain_shown = best_text(b, COSTS, ["t", "m"]), best_text(a, COSTS, ["t", "m"])
        mantissa, power = plain_shown.split("hv ")[1].split("e+")
        assert shown == plain_shown.split("hv ")[0] + f"hv {mantissa}e{int(power) + exponent:+03d}"


def test_ordinary_costs_record_what_they_always_did():
    rec = _steps(1.0)[-1]
    assert "hypervolume_exponent" not in rec
    assert best_text(rec, COSTS, ["t", "m"]) == f"front {rec['front']}, hv {rec['hypervolume']:.3g}"
