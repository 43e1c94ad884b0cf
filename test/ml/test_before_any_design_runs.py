"""A model trained before any design ran: it learns the constraints' costs, and says it knows no objective.

A placement over its memory cap stores its memory use and nothing else. While no design has run, that is all a
run knows, and it is what tells a search where the designs that fit lie: the model learns it
(``learn_infeasible``, by default the costs the constraints name) and predicts the objectives as NaN, never as
what an untrained output happens to say.
"""
import numpy as np
import pytest

from framework.protocols import TrainingData
from cli_helpers import run_deffe
from ml_helpers import framework, model

CONSTRAINED = {"constraints": ["g <= 10"]}


def overloaded(fw, n: int, seed: int = 0) -> TrainingData:
    """Points that all miss ``g <= 10``: g = a + 10 c with c >= 0.5 and a >= 1 (g from 6 to 48; the few at or
    under 10 are left out), stored as a placement that does not fit: g only."""
    codes = fw.space.random(np.random.default_rng(seed), 4 * n)
    g = codes[:, 0] + 1 + 10 * codes[:, 2]
    keep = np.flatnonzero(g > 10)[:n]
    costs = np.column_stack([np.full(len(keep), np.nan), g[keep]])
    return TrainingData(codes[keep], fw.encoding.transform(codes[keep]), costs, ["infeasible"] * len(keep), 0)


@pytest.mark.parametrize("plugin", ["auto", "sklearn_rf", "sklearn_gbm", "sklearn_gp", "torch_mlp"])
def test_the_constraints_cost_is_learned_and_the_objective_is_unknown(tmp_path, plugin):
    fw = framework(tmp_path / "train", **CONSTRAINED)
    m = model(fw, plugin)
    data = overloaded(fw, 60)
    assert m.CanLearn(data)
    m.Run(data)
    test = overloaded(fw, 40, seed=1)
    pred = m.Predict(test.codes)
    assert np.isnan(pred.mean[:, 0]).all()                  # f: no design ran, nothing known
    g = test.costs[:, 1]
    assert np.isfinite(pred.mean[:, 1]).all()
    assert np.corrcoef(pred.mean[:, 1], g)[0, 1] > 0.8      # g: learned from the designs that missed it

    # the checkpoint keeps both: the same predictions after loading it into a fresh model
    path = m.Save(tmp_path / "m.ckpt")
    again = model(framework(tmp_path / "load", **CONSTRAINED), plugin)
    again.Load(path)
    p2 = again.Predict(test.codes)
    assert np.isnan(p2.mean[:, 0]).all()
    np.testing.assert_allclose(p2.mean[:, 1], pred.mean[:, 1], rtol=1e-5)


def test_without_a_constraint_on_the_cost_nothing_is_learned(tmp_path):
    # no constraint names g: an infeasible design's costs are not learned, and no design ran
    fw = framework(tmp_path)
    m = model(fw, "auto")
    assert not m.CanLearn(overloaded(fw, 30))


def test_the_first_designs_that_run_train_the_objective_anew(tmp_path):
    # a few points more than the last training would have it continue (retrain_growth); but its objective output
    # never trained: continuing it for a tenth of the epochs would leave it near its initialisation
    fw = framework(tmp_path, model={"log_costs": False}, **CONSTRAINED)
    m = model(fw, "torch_mlp")
    missed = overloaded(fw, 60)
    m.Run(missed)
    codes = fw.space.random(np.random.default_rng(5), 3)
    a, b, c = codes[:, 0] + 1, codes[:, 1], codes[:, 2]
    ran = np.column_stack([a * c * (1 + b), np.full(3, 5.0)])
    data = TrainingData(np.vstack([missed.codes, codes]), fw.encoding.transform(np.vstack([missed.codes, codes])),
                        np.vstack([missed.costs, ran]), missed.status + ["ok"] * 3, 1)
    m.Run(data)
    assert not m.continuing
    assert np.isfinite(m.Predict(codes).mean).all()


def test_inference_gives_no_mape_for_the_cost_the_model_never_learned(tmp_path):
    # rows with the true objective, a model that never saw it: the summary gave "f: MAPE nan%"
    fw = framework(tmp_path, **CONSTRAINED)
    m = model(fw, "sklearn_rf")
    m.Run(overloaded(fw, 30))
    m.Save(tmp_path / "m.ckpt")
    (tmp_path / "q.csv").write_text("a,b,c,f,g\n1,x,1.0,1.0,11.0\n2,y,2.0,8.0,22.0\n")
    r = run_deffe("-config", "config.json", "-inference-only", "-icp", "m.ckpt", "-input", "q.csv",
                  "-output", "o.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "nan" not in r.stdout.lower() and "f: MAPE" not in r.stdout
    assert "g: MAPE" in r.stdout and "over 2 rows with the true cost" in r.stdout
