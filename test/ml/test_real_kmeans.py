"""The default model on real data: the gem5 kmeans measurements of the original Deffe (40 points,
bench/data/deffe-real/), where the deep ensemble alone was unstable (MAPE over 1000% on 18 of 100 random
38/2 splits) and the forest four times more accurate."""
import json
import logging
from argparse import Namespace

import numpy as np
import pandas as pd
import pytest

from framework.config import load_config
from framework.context import Budget, Framework
from framework.metrics import mape
from framework.protocols import TrainingData
from ml_helpers import ROOT, model

KMEANS = ROOT / "bench" / "data" / "deffe-real" / "real_kmeans.csv"


def kmeans(tmp_path):
    """A framework for the original Deffe's kmeans cache space and the 40 measured points."""
    df = pd.read_csv(KMEANS)
    knobs = [{"name": k, "values": sorted(int(v) for v in df[k].unique())} for k in df.columns[:-1]]
    (tmp_path / "config.json").write_text(json.dumps({
        "knobs": knobs, "costs": ["cpu_cycles"], "evaluate": {"plugin": "python", "function": "unused:unused"}}))
    cfg = load_config(tmp_path / "config.json")
    fw = Framework(cfg, Namespace(), tmp_path / "explore", 0, logging.getLogger("test.ml"))
    fw.enter(cfg.explores[0], Budget())
    codes = np.column_stack([[kn["values"].index(int(v)) for v in df[kn["name"]]] for kn in knobs]).astype(float)
    return fw, codes, df["cpu_cycles"].to_numpy(float)[:, None]


def fit_predict(fw, plugin, codes, y, train, test):
    m = model(fw, plugin)
    m.Run(TrainingData(codes[train], fw.encoding.transform(codes[train]), y[train], ["ok"] * len(train), 0))
    return m.Predict(codes[test]).mean[:, 0]


@pytest.mark.slow
def test_on_real_kmeans_auto_is_no_worse_than_the_forest_and_never_absurd(tmp_path):
    fw, codes, y = kmeans(tmp_path)
    n = len(y)
    # leave-one-out on 6 seeded points (all 40, and repeated random splits, take minutes: the figures are
    # bench/surrogate.py's, in docs/models.md)
    left_out = np.random.default_rng(0).choice(n, 6, replace=False)
    errors = {}
    for plugin in ("auto", "sklearn_rf"):
        errors[plugin] = [abs(fit_predict(fw, plugin, codes, y, np.delete(np.arange(n), i), [i])[0] - y[i, 0])
                          / y[i, 0] for i in left_out]
    assert np.median(errors["auto"]) <= np.median(errors["sklearn_rf"]), errors
    # random 38/2 splits: before the bound, the deep ensemble predicted 4e28 cycles for 2.6e8 on one of them
    rng = np.random.default_rng(1)
    worst = 0.0
    for _ in range(2):
        order = rng.permutation(n)
        worst = max(worst, mape(y[order[-2:], 0], fit_predict(fw, "auto", codes, y, order[:-2], order[-2:])))
    assert worst < 2.0, worst
    # the deep ensemble alone is poor on 38 points (why auto does not try it below 50), but bounded: never
    # beyond the training range widened by a quarter of its width on the log scale (a factor 6 here)
    order = rng.permutation(n)
    m = model(fw, "torch_mlp")
    m.Run(TrainingData(codes[order[:-2]], fw.encoding.transform(codes[order[:-2]]), y[order[:-2]], ["ok"] * 38, 0))
    everywhere = m.Predict(fw.space.random(np.random.default_rng(2), 2000)).mean[:, 0]
    t = np.log(y[order[:-2], 0])
    reach = 0.25 * (t.max() - t.min())
    assert np.all(np.log(everywhere) <= t.max() + reach + 1e-9) and np.all(np.log(everywhere) >= t.min() - reach - 1e-9)
