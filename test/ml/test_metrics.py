"""The figures recorded per step: MAPE, R^2, Kendall's tau, top-k recall."""
import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from framework.metrics import evaluate, kendall_tau, mape, r2, top_k_recall


def test_mape_is_a_fraction_and_skips_zero_truths_and_nan():
    assert mape([100, 200, 0, np.nan], [110, 180, 5, 3]) == pytest.approx(0.10)
    assert math.isnan(mape([0, 0], [1, 2]))


def test_r2_and_tau_against_their_definitions():
    rng = np.random.default_rng(0)
    t = rng.normal(size=50)
    p = t + rng.normal(scale=0.3, size=50)
    assert r2(t, p) == pytest.approx(1 - np.sum((t - p) ** 2) / np.sum((t - t.mean()) ** 2))
    assert kendall_tau(t, p) == pytest.approx(kendalltau(t, p).statistic)
    assert r2(t, t) == 1.0 and kendall_tau(t, -t) == pytest.approx(-1.0)
    assert math.isnan(r2([1.0], [1.0])) and math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))


def test_r2_of_costs_whose_squares_overflow_is_that_of_the_same_costs_scaled(recwarn):
    # positive costs of 3e300..6e301 printed numpy's "overflow encountered in square" and gave no R^2
    rng = np.random.default_rng(0)
    t = rng.uniform(1, 20, size=30)
    p = t * rng.normal(1, 0.05, size=30)
    for scale in (1e301, 1e152, -1e152):
        assert r2(t * scale, p * scale) == pytest.approx(r2(t, p), rel=1e-9)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in recwarn]


def test_top_k_recall_direction_and_ties():
    t = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    assert top_k_recall(t, t, 2) == 1.0
    assert top_k_recall(t, -t, 2) == 0.0                     # predicts the worst as the best
    assert top_k_recall(t, -t, 2, maximize=True) == 0.0
    assert top_k_recall(t, t, 2, maximize=True) == 1.0
    assert top_k_recall(t, np.array([5, 1, 2, 3, 4.0]), 2) == 0.5
    # many equal optima: any of them predicted best counts as a hit
    ties = np.array([1.0, 1.0, 1.0, 9.0])
    assert top_k_recall(ties, np.array([3.0, 2.0, 1.0, 0.0]), 2) == 0.5


def test_evaluate_bundles_them():
    m = evaluate([1.0, 2.0, 3.0, 4.0], [1.1, 1.9, 3.3, 3.9], top_k=10)
    assert m.n == 4 and m.k == 4 and m.kendall_tau == 1.0 and m.top_k_recall == 1.0
    assert set(m.as_dict()) == {"n", "mape", "r2", "kendall_tau", "top_k_recall", "k"}


def test_r2_of_costs_whose_squares_underflow_is_that_of_the_same_costs_scaled(recwarn):
    # costs near 1e-300 (their spread squared is 0) gave an empty R^2 at every step while MAPE and tau were fine
    rng = np.random.default_rng(1)
    t = rng.uniform(1, 20, size=30)
    p = t * rng.normal(1, 0.05, size=30)
    for scale in (1e-300, 1e-160, -1e-200):
        assert r2(t * scale, p * scale) == pytest.approx(r2(t, p), rel=1e-9)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in recwarn]
