"""The model trains as soon as one design has run (framework/training.py, ModelTrainer.fit)."""
import numpy as np

from framework.protocols import TrainingData
from framework.training import ModelTrainer
from ml_helpers import framework, model, synthetic


def test_the_model_trains_from_the_first_design_that_runs(tmp_path):
    """One design that ran is something to learn from (its value, and the classifier's rate): the search
    starts from it instead of sampling blindly until a second one runs."""
    fw = framework(tmp_path)
    data = synthetic(fw, 12, seed=2)
    status = ["failed"] * 12
    status[4] = "ok"
    costs = np.where(np.array(status)[:, None] == "ok", data.costs, np.nan)
    one = TrainingData(data.codes, data.features, costs, status, 0)
    m = model(fw, "auto")
    fitted = ModelTrainer(fw, None, tmp_path, several=False).fit(m, fw.explore, one)
    assert fitted is not None
    p = m.Predict(data.codes)
    assert np.allclose(p.mean, data.costs[4], rtol=1e-6)   # the one value it knows, everywhere
    none = TrainingData(data.codes, data.features, np.full_like(costs, np.nan), ["failed"] * 12, 0)
    assert ModelTrainer(fw, None, tmp_path, several=False).fit(model(fw, "auto"), fw.explore, none) is None
