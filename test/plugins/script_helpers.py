"""The evaluate and extract plugins built in-process from a config, and one point run as a worker runs it."""
import json
import logging
from argparse import Namespace
from pathlib import Path

from cli_helpers import write
from framework.config import load_config
from framework.context import Budget, Framework
from framework.evaluation import run_sample
from framework.executor import safe_call
from framework.plugins import make_plugin
from framework.protocols import Sample


def setup(tmp_path: Path, monkeypatch, config: dict, files: dict[str, str], exp: str = "exp"):
    """The config and its files in <tmp>/cfg, the driver started in <tmp>/<exp>; the plugins initialised."""
    cfg_dir, exp_dir = tmp_path / "cfg", tmp_path / exp
    for name, text in files.items():
        write(cfg_dir / name, text)
    write(cfg_dir / "config.json", json.dumps({"costs": ["t"], **config}))
    exp_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(exp_dir)
    cfg = load_config(cfg_dir / "config.json")
    fw = Framework(cfg, Namespace(), exp_dir / "explore", 0, logging.getLogger("test.scripts"))
    fw.enter(cfg.explores[0], Budget())
    evaluate = make_plugin("evaluate", cfg.section("evaluate")["plugin"], fw, cfg.dir, [])
    evaluate.Initialize()
    extract = make_plugin("extract", cfg.section("extract")["plugin"], fw, cfg.dir, [])
    extract.Initialize()
    return fw, evaluate, extract


def evaluate_point(fw, evaluate, extract, values: dict, sample_id: int = 7):
    """The sample's result, as a worker gets it, and its directory."""
    sample = Sample(sample_id, values, fw.run_dir / f"explore_{sample_id}")
    return safe_call(lambda s: run_sample(evaluate, extract, s, fw.cost_names), sample), sample.directory
