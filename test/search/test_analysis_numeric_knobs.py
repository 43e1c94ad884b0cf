"""Lasso credit of a numeric knob of many values: its linear effect is credited to it (with one indicator per
value alone, each value carried 1/40 of it and the lasso zeroed them all, crediting the knobs of few values)."""
import numpy as np
import pytest

from framework.analysis import lasso_credit
from framework.space import DesignSpace, Knob, ListLevels


def space(kind="integer"):
    return DesignSpace([Knob("x", kind, ListLevels(list(range(1, 41)))),
                        Knob("y", "integer", ListLevels(list(range(9)))),
                        Knob("z", "integer", ListLevels([0, 1, 2, 3]))])


def m(codes):
    x, z = codes[:, 0] + 1, codes[:, 2]
    return 2.0 + 0.3 * x + z


# the 30 points of the run that credited "m: z 77%, y 23%" (x 0): sampling, seed 3
RUN = [(15, 7, 3), (7, 2, 0), (21, 5, 3), (16, 3, 2), (21, 1, 0), (35, 2, 3), (3, 6, 0), (15, 0, 3), (12, 1, 3),
       (19, 2, 1), (6, 2, 2), (24, 2, 0), (2, 4, 0), (38, 0, 1), (9, 4, 1), (40, 7, 2), (15, 1, 0), (13, 6, 2),
       (39, 6, 3), (10, 6, 3), (17, 1, 1), (37, 6, 2), (1, 0, 3), (9, 0, 1), (28, 7, 3), (40, 0, 1), (17, 5, 2),
       (25, 5, 0), (4, 2, 2), (24, 5, 2)]


def test_the_runs_numeric_knob_is_credited_first():
    from framework.driver_model import _shares
    sp = space()
    codes = np.array([[x - 1, y, z] for x, y, z in RUN], dtype=float)
    imp = lasso_credit(sp, codes, m(codes), cost="m", log_cost=True, seed=3)   # as the run calls it
    assert [name for name, _ in imp.ranking()][:2] == ["x", "z"], imp.table()
    assert _shares(imp.by_family(sp)).startswith("x "), imp.table()


@pytest.mark.parametrize("n,seed", [(30, 3), (30, 5), (200, 0)])
@pytest.mark.parametrize("log_cost", [True, False])
def test_a_linear_effect_of_a_40_valued_knob_is_credited_to_it(n, seed, log_cost):
    sp = space()
    codes = sp.random(np.random.default_rng(seed), n)
    imp = lasso_credit(sp, codes, m(codes), cost="m", log_cost=log_cost, seed=seed)
    scores = dict(imp.ranking())
    # x moves m by 0.3 * 39 = 11.7, z by 3, y not at all ("m: z 77%, y 23%" and x 0 before)
    assert [name for name, _ in imp.ranking()][:2] == ["x", "z"], imp.table()
    assert scores["y"] < 0.1 * scores["x"], imp.table()
    if not log_cost and n == 200:
        assert scores["x"] == pytest.approx(11.7, rel=0.05) and scores["z"] == pytest.approx(3, rel=0.05)
        by = {(d.knob, d.value): d.credit for d in imp.decisions}
        assert by[("x", 40)] - by[("x", 1)] == pytest.approx(11.7, rel=0.05)


def test_categorical_knobs_get_no_trend_only_their_indicators():
    from framework.analysis import trend_columns
    sp = space("categorical")
    codes = sp.random(np.random.default_rng(0), 20)
    _, knobs, _ = trend_columns(sp, codes)
    assert knobs == [1, 2]   # y and z (numeric), not x (categorical, even of numbers)
