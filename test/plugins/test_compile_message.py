"""The first compile of the simulator's kernel (about 15 s) is announced, and happens in the driver."""
import json
import logging
import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest

import simulator as sim
from framework.config import load_config
from framework.context import Budget, Framework
from plugins.evaluate import placement
from simulator import kernel

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = "compiling the simulator (once per machine, 10 to 30 s; later runs load it from the cache)"


def is_cached_in_a_new_process(**env) -> bool:
    """`kernel.is_cached()` in a fresh interpreter, which never compiles anything."""
    proc = subprocess.run([sys.executable, "-c", "from simulator import kernel; print(kernel.is_cached())"],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    return {"True": True, "False": False}[proc.stdout.strip()]


def test_an_empty_cache_is_not_cached(tmp_path):
    assert is_cached_in_a_new_process(NUMBA_CACHE_DIR=str(tmp_path)) is False


def test_a_compiled_kernel_is_cached_in_this_process_and_on_disk():
    sim.prepare(sim.zoo.load("resnet18", batch_size=8), "cpu+1xV100-pcie3").compile_kernel()
    assert kernel.run_batch.signatures and kernel.is_cached()
    # a new process reads numba's index, written when this one compiled (or was itself loaded from it)
    assert is_cached_in_a_new_process() is True


def evaluator(tmp_path, caplog):
    (tmp_path / "config.json").write_text(json.dumps({
        "knobs": [{"name": "device", "type": "categorical", "values": [0, 1], "count": 2}],
        "costs": ["step_time"],
        "evaluate": {"plugin": "placement",
                     "simulator": {"network": "resnet18", "devices": "cpu+1xV100-pcie3", "groups": 2, "batch_size": 8}},
    }))
    config = load_config(tmp_path / "config.json")
    log = logging.getLogger("test.compile_message")
    caplog.set_level(logging.INFO, logger=log.name)
    fw = Framework(config, Namespace(), tmp_path / "explore", 0, log)
    fw.enter(config.explores[0], Budget())
    return placement.GetObject(fw)


@pytest.mark.parametrize("cached", [False, True])
def test_initialize_says_it_compiles_then_compiles_in_the_driver(tmp_path, caplog, monkeypatch, cached):
    monkeypatch.setattr(kernel, "is_cached", lambda: cached)
    logged_before_compiling = []
    original = sim.Simulator.compile_kernel

    def compile_kernel(self):
        logged_before_compiling.append([r.getMessage() for r in caplog.records])
        original(self)

    monkeypatch.setattr(sim.Simulator, "compile_kernel", compile_kernel)
    evaluator(tmp_path, caplog).Initialize()
    assert logged_before_compiling == [[MESSAGE] if not cached else []]
    assert [r.levelno for r in caplog.records] == ([logging.INFO] if not cached else [])
