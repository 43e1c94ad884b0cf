"""Helpers for the model tests: a real Framework for a config, synthetic data, the CLI in a subprocess."""
from __future__ import annotations

import json
import logging
from argparse import Namespace
from pathlib import Path

import numpy as np

from framework.config import load_config
from framework.context import Budget, Framework
from framework.plugins import make_plugin
from framework.protocols import TrainingData

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ("torch_mlp", "torch_cnn", "sklearn_rf", "sklearn_gbm", "sklearn_gp", "auto")
# small and quick: the suite checks behaviour, the benchmark measures accuracy
FAST = {"epochs": 60, "patience": 20, "ensemble": 3, "hidden": [16, 16], "estimators": 25}

KNOBS = [
    {"name": "a", "values": [1, 2, 3, 4, 5, 6, 7, 8]},
    {"name": "b", "type": "categorical", "values": ["x", "y", "z"]},
    {"name": "c", "type": "real", "min": 0.5, "max": 4.0},
]


def write_config(directory: Path, knobs=None, costs=None, model=None, **sections) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    cfg = {"knobs": knobs or KNOBS, "costs": costs or ["f", "g"],
           "evaluate": {"plugin": "python", "function": "unused:unused"},
           "model": {**FAST, **(model or {})}, **sections}
    path = directory / "config.json"
    path.write_text(json.dumps(cfg))
    return path


def framework(directory: Path, knobs=None, costs=None, model=None, args: Namespace | None = None,
              seed: int = 0, **sections) -> Framework:
    path = write_config(directory, knobs, costs, model, **sections)
    cfg = load_config(path)
    fw = Framework(cfg, args or Namespace(), directory / "explore", seed, logging.getLogger("test.ml"))
    fw.enter(cfg.explores[0], Budget())
    return fw


def model(fw: Framework, plugin: str):
    m = make_plugin("ml_model", plugin, fw, fw.config.dir, [])
    m.Initialize()
    return m


def synthetic(fw: Framework, n: int, seed: int = 0, fail_when=None) -> TrainingData:
    """Points of the KNOBS space; f = a * c * (1, 2, 3 by b), g = a + 10 c; optional failures."""
    rng = np.random.default_rng(seed)
    codes = fw.space.random(rng, n)
    a = codes[:, 0] + 1
    b = codes[:, 1]
    c = codes[:, 2]
    costs = np.column_stack([a * c * (1 + b), a + 10 * c])
    status = ["ok"] * n
    if fail_when is not None:
        bad = fail_when(a, b, c)
        costs[bad] = np.nan
        status = ["failed" if x else "ok" for x in bad]
    return TrainingData(codes, fw.encoding.transform(codes), costs, status, 0)

