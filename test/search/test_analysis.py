"""Knob importance: permutation importance and lasso credit on data where the answer is known."""
import numpy as np
import pytest

from framework.analysis import decision_matrix, lasso_credit, permutation_importance
from framework.space import DesignSpace, Knob, ListLevels
from search_helpers import categorical_knob, integer_knob, real_knob


def space():
    return DesignSpace([categorical_knob("algo", ["a", "b", "c"]), integer_knob("threads", 8),
                        real_knob("ratio", 0.0, 2.0), integer_knob("noise1", 5), categorical_knob("noise2", "pq"),
                        Knob("dev_0", "categorical", ListLevels(["cpu", "gpu"]), family="dev", member=0),
                        Knob("dev_1", "categorical", ListLevels(["cpu", "gpu"]), family="dev", member=1)])


def truth(codes):
    """algo=c costs +10, each thread level +1, ratio +3 per unit, dev_1 on gpu -2; noise knobs: nothing."""
    return 10.0 * (codes[:, 0] == 2) + codes[:, 1] + 3.0 * codes[:, 2] - 2.0 * (codes[:, 6] == 1)


def data(n=400, seed=0, noise=0.05):
    sp = space()
    rng = np.random.default_rng(seed)
    codes = sp.random(rng, n)
    return sp, codes, truth(codes) + rng.normal(0, noise, n)


def test_lasso_credits_the_decisions_that_matter():
    sp, codes, y = data()
    imp = lasso_credit(sp, codes, y, cost="time")
    ranking = [name for name, _ in imp.ranking()]
    assert ranking[:4] == ["algo", "threads", "ratio", "dev_1"]
    scores = dict(imp.ranking())
    assert scores["algo"] == pytest.approx(10, rel=0.05)          # range over algo's decisions
    assert scores["threads"] == pytest.approx(7, rel=0.05)        # 8 levels, +1 each
    assert scores["ratio"] == pytest.approx(6, rel=0.05)          # 3 per unit over 0..2
    assert scores["dev_1"] == pytest.approx(2, rel=0.1)
    assert max(scores["noise1"], scores["noise2"], scores["dev_0"]) < 0.1
    by = {(d.knob, d.value): d.credit for d in imp.decisions}
    assert by[("algo", "c")] - by[("algo", "a")] == pytest.approx(10, rel=0.05)
    assert sum(1 for d in imp.decisions if d.knob.startswith("noise") and d.credit != 0) <= 2   # sparse
    top = imp.top_decisions(1)[0]
    assert (top.knob, top.value) == ("algo", "c") and top.count == int((codes[:, 0] == 2).sum())


def test_permutation_importance_on_a_model():
    sp, codes, y = data()

    class Model:                                   # any object with predict(codes) -> (n, m)
        def predict(self, c):
            return np.column_stack([truth(c), np.zeros(len(c))])
    imp = permutation_importance(Model(), sp, codes, y, cost="time", repeats=4, seed=1)
    ranking = [name for name, _ in imp.ranking()]
    assert ranking[:4] == ["algo", "threads", "ratio", "dev_1"]
    scores = dict(imp.ranking())
    assert scores["noise1"] == scores["noise2"] == scores["dev_0"] == 0.0   # the model ignores them
    # shuffling a knob adds about twice its variance to the squared error
    assert scores["threads"] == pytest.approx(2 * np.var(codes[:, 1]), rel=0.2)
    assert imp.spread is not None and imp.spread[1] > 0
    # a plain callable and a model plugin's Predict(...).mean work the same
    same = permutation_importance(truth, sp, codes, y, repeats=4, seed=1)
    assert np.allclose(same.scores, imp.scores)


def test_permutation_importance_of_costs_whose_squares_overflow(recwarn):
    # costs of 3e300..6e301: numpy's overflow warnings, "model MSE inf, R^2 nan" and every score nan; now the
    # scores are those of the costs divided by their largest magnitude (the ranking and the shares alike)
    sp, codes, y = data()
    base = permutation_importance(truth, sp, codes, y, repeats=4, seed=1)
    scale = 1e300 / float(np.max(np.abs(y[np.isfinite(y)])))
    huge = permutation_importance(lambda c: truth(c) * scale * 10, sp, codes, y * scale * 10, repeats=4, seed=1)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in recwarn]
    assert np.isfinite(huge.scores).all() and np.isfinite(huge.spread).all()
    assert [n for n, _ in huge.ranking()] == [n for n, _ in base.ranking()]
    assert np.allclose(huge.scores / huge.scores.sum(), base.scores / base.scores.sum())
    assert "R^2 1.000 (costs divided by 1e+301: their squares would overflow)" in huge.note, huge.note


def test_failed_rows_are_dropped_and_too_little_data_is_refused():
    sp, codes, y = data(60)
    y[:20] = np.nan
    imp = lasso_credit(sp, codes, y, alpha=0.01)
    assert "40 points" in imp.note
    with pytest.raises(ValueError, match="at least 3 points"):
        lasso_credit(sp, codes[:2], y[20:22])


def test_decision_matrix_one_hot_and_unit_columns():
    sp, codes, _ = data(5)
    x, meta = decision_matrix(sp, codes)
    assert x.shape == (5, 3 + 8 + 1 + 5 + 2 + 2 + 2)
    assert np.all(x[:, :3].sum(axis=1) == 1)
    assert meta[11] == (2, None) and np.allclose(x[:, 11], codes[:, 2] / 2.0)


def test_table_plot_and_families(tmp_path):
    sp, codes, y = data()
    imp = lasso_credit(sp, codes, y, cost="time")
    text = imp.table()
    lines = text.splitlines()
    assert lines[0].startswith("knob importance for time: lasso credit")
    assert lines[3].split()[:2] == ["1", "algo"]
    assert "algo=c: +" in text
    fam = imp.by_family(sp)
    assert "dev" in fam.knobs and "dev_0" not in fam.knobs
    assert dict(fam.ranking())["dev"] == pytest.approx(dict(imp.ranking())["dev_0"] + dict(imp.ranking())["dev_1"])
    path = imp.plot(tmp_path / "importance.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def _many_knobs(k, n, seed=0):
    sp = DesignSpace([Knob(f"k{i}", "integer", ListLevels(list(range(10)))) for i in range(k)])
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 10, size=(n, k)).astype(float)
    return sp, codes, codes.sum(axis=1) + 1 + rng.normal(size=n) * 0.1


def test_lasso_credit_of_a_large_problem_is_bounded_and_seeded():
    """200 knobs of 10 values and 2000 points took 3 min 23 s at the end of a run (LassoCV, 100 alphas,
    5 folds, max_iter 20000, on every point): beyond LASSO_FULL_CELLS it is a shorter, seeded fit, and says so."""
    from framework import analysis
    sp, codes, y = _many_knobs(60, 2400)
    assert codes.shape[0] * 60 * 10 > analysis.LASSO_FULL_CELLS
    a = lasso_credit(sp, codes, y, log_cost=True, seed=4)
    assert "a large problem: 2000 of the 2400 points" in a.note and "3-fold CV over 20 alphas" in a.note, a.note
    b = lasso_credit(sp, codes, y, log_cost=True, seed=4)
    assert np.array_equal(a.scores, b.scores)
    assert (a.scores > 0).sum() >= 55          # every knob adds to the cost: (nearly) every knob credited


def test_lasso_credit_of_a_small_problem_is_unchanged():
    """Below the bound the fit is the full one (every point, 5-fold CV); the figures pinned are those since
    numeric knobs enter with their trend and tied CV errors go to the sparsest fit (0.239199, 0.289457, ...
    before: each of these 10-valued knobs adds the same to the cost, and now gets about the same credit)."""
    sp, codes, y = _many_knobs(8, 300, seed=1)
    imp = lasso_credit(sp, codes, y, log_cost=True, seed=0)
    assert "by 5-fold CV," in imp.note
    assert np.allclose(imp.scores, [0.238263, 0.269297, 0.259125, 0.249919, 0.249155, 0.248846, 0.245029, 0.262118],
                       atol=2e-6), imp.scores.tolist()
