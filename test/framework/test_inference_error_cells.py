"""-inference-only's error columns at any magnitude: a true cost of 1e308 predicted as 27 left
percent-error-<cost> empty (100 * err overflowed) where it is -100; the difference of 1e308 and -1e308, which
overflows, still has its ratios. Cells of ordinary magnitudes are the plain arithmetic's (bit for bit)."""
from types import SimpleNamespace

import numpy as np
import pytest

from framework.inference import _cost_cells


def cells(p, t):
    pred = SimpleNamespace(mean=np.array([[p]]), std=None, feasible=None)
    # true, predicted, error, error-percent (a fraction), signed-error, percent-error
    return _cost_cells([], 0, ["c"], pred, np.array([[t]]), [True], False, False)


@pytest.mark.parametrize("p, t, want", [
    (27.0, 1e308, ["1e+308", "27", "1e+308", "1.0", "-1e+308", "-100.0"]),
    (1e308, -1e308, ["-1e+308", "1e+308", "", "-2.0", "", "-200.0"]),
    (-1.5e308, 1e308, ["1e+308", "-1.5e+308", "", "2.5", "", "-250.0"]),
    (3e-310, 1e-310, ["1e-310", "3e-310", "2e-310", "2.0", "2e-310", "200.0"]),
])
def test_error_ratios_are_finite_at_any_magnitude(p, t, want):
    assert cells(p, t) == want


@pytest.mark.parametrize("p, t", [(1.1, 1.0), (3.0, -4.0), (123.456, 7.89), (-2.5, 0.3)])
def test_ordinary_errors_are_the_plain_arithmetic(p, t):
    err = p - t
    assert cells(p, t)[2:] == [repr(abs(err)), repr(abs(err) / t), repr(err), repr(100.0 * err / t)]


def test_no_ratio_without_a_true_cost_of_zero():
    assert cells(5.0, 0.0)[2:] == ["5.0", "", "5.0", ""]
