"""Build a real Framework object for a config, in-process (no CLI), for unit tests of plugins."""
import json
import logging
from argparse import Namespace
from pathlib import Path

from framework.config import load_config
from framework.context import Budget, Framework
from framework.plugins import make_plugin


def framework_for(tmp_path: Path, config: dict, explore: int = 0, seed: int = 0) -> Framework:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    cfg = load_config(path)
    fw = Framework(cfg, Namespace(), tmp_path / "explore", seed, logging.getLogger("test"))
    fw.enter(cfg.explores[explore], Budget())
    return fw


def sampler(tmp_path: Path, knobs: list, plugin: str, seed: int = 0, **options):
    fw = framework_for(tmp_path, {"knobs": knobs, "costs": ["cost"], "sampling": {"plugin": plugin, **options},
                                  "evaluate": {"plugin": "python", "function": "x:y"}}, seed=seed)
    s = make_plugin("sampling", plugin, fw, fw.config.dir, fw.config.python_paths())
    s.Initialize()
    return fw, s
