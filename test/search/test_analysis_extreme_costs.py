"""Knob importance of costs of an extreme (finite) magnitude: the same answer as in ordinary units, no
overflow (the lasso squared costs near 1e300 and scikit-learn's cross-validation crashed), no underflow."""
import warnings

import numpy as np
import pytest

from framework.analysis import lasso_credit, permutation_importance
from framework.driver_model import _shares
from test_analysis import data, truth


@pytest.mark.parametrize("unit", [-1e300, 1e-300, -1e-300])
def test_lasso_credit_is_the_same_in_any_unit(unit):
    sp, codes, y = data(n=120)
    plain = lasso_credit(sp, codes, y, cost="time", seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # no overflow / underflow warnings either
        scaled = lasso_credit(sp, codes, y * unit, cost="time", seed=1)
    assert [n for n, _ in scaled.ranking()][:4] == [n for n, _ in plain.ranking()][:4]
    # the same credits up to the cross-validation's choice of alpha: on noise-free data the alphas' CV errors
    # are near ties, and the rounding of another unit can move the choice one step of the grid (on some
    # CPUs even for a unit of 2.0 without the rescaling), which moves the credits by about 1e-4 of the largest
    top = plain.scores.max()
    assert scaled.scores / abs(unit) == pytest.approx(plain.scores, rel=1e-3, abs=1e-3 * top)
    assert _shares(scaled.by_family(sp)) == _shares(plain.by_family(sp))


def test_permutation_importance_of_tiny_costs_is_not_zero():
    sp, codes, y = data(n=120)
    plain = permutation_importance(truth, sp, codes, y, cost="time")
    tiny = permutation_importance(lambda c: truth(c) * 1e-300, sp, codes, y * 1e-300, cost="time")
    assert _shares(tiny.by_family(sp)) == _shares(plain.by_family(sp)) != "no knob stands out"


def test_shares_of_scores_whose_sum_overflows():
    from framework.analysis import Importance
    imp = Importance("lasso", "d", ["a", "b"], np.array([1.5e308, 0.5e308]))
    assert _shares(imp) == "a 75%, b 25%"
