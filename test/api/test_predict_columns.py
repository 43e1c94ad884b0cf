"""run.model.predict: the columns of the result do not depend on how many rows are asked about. With no rows
it dropped the std-<cost> columns (predicted-<cost> only), so code built on an empty selection broke."""
import pandas as pd

import framework

from test_python_api import learnable_dict


def test_predict_gives_the_same_columns_for_zero_one_and_many_rows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = framework.explore(learnable_dict(tmp_path)).model
    many = model.predict(pd.DataFrame({"a": [1, 4, 7], "b": [0, 2, 5]}))
    one = model.predict(pd.DataFrame({"a": [4], "b": [2]}))
    none = model.predict(pd.DataFrame({"a": [], "b": []}))
    assert list(many.columns) == ["a", "b", "predicted-cost", "std-cost"]
    assert list(one.columns) == list(many.columns) and list(none.columns) == list(many.columns)
    assert none.empty and str(none["predicted-cost"].dtype) == "float64" and str(none["std-cost"].dtype) == "float64"
