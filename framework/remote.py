"""Evaluations on other machines: a task that carries the config, not the plugin objects.

A local worker is a fork of the driver and inherits its evaluate and extract plugins. A Dask worker or
a SLURM job starts from nothing: the plugin objects cannot travel (they hold the framework, which holds
the run store's database connection and the model), and should not (a simulator evaluator prepares
its network once, not once per sample). So the task ships the loaded config and the command-line
options; each worker process builds the two plugins once, from the same files, and reuses them for
every sample it runs. The workers must see the same files as the driver: the repository, the config's
directory and the run directory (a shared filesystem on a cluster).
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Callable

from .errors import DeffeError
from .protocols import Result, Sample

# per worker process: (config identity, exploration) -> (evaluate, extract, cost names)
_BUILT: dict[tuple, tuple[Any, Any, list[str]]] = {}


class PluginTask:
    """``task(sample) -> Result`` for one exploration, picklable, building its plugins on first use."""

    def __init__(self, config: Any, args: Any, run_dir: Path, seed: int, explore_index: int, fingerprint: str):
        self.config = config
        self.args = args
        self.run_dir = Path(run_dir)
        self.seed = seed
        self.explore_index = explore_index
        self.fingerprint = fingerprint   # the evaluate fingerprint: a changed config never reuses old plugins

    def _plugins(self) -> tuple[Any, Any, list[str]]:
        key = (str(self.config.path), self.fingerprint, self.explore_index)
        built = _BUILT.get(key)
        if built is None:
            from .context import Budget, Framework
            from .plugins import make_plugin
            cfg = self.config
            log = logging.getLogger("deffe.worker")
            fw = Framework(cfg, self.args, self.run_dir, self.seed, log, threads=1)
            fw.enter(cfg.explores[self.explore_index], Budget())
            made = []
            for block in ("evaluate", "extract"):
                obj = make_plugin(block, cfg.section(block)["plugin"], fw, cfg.dir, cfg.python_paths(),
                                  file=cfg.data.get("__origin__"))
                obj.Initialize()
                made.append(obj)
            built = _BUILT[key] = (made[0], made[1], fw.cost_names)
        return built

    def __call__(self, sample: Sample) -> Result:
        from .evaluation import run_sample
        evaluate, extract, cost_names = self._plugins()
        return run_sample(evaluate, extract, sample, cost_names)


def pickle_task(task_fn: Callable, to: str) -> bytes:
    """The task as bytes for another process (cloudpickle). Plugins loaded from a file live under a made-up
    module name (plugins.py, _load_file) that a worker cannot import: their code travels with the task.
    ``to`` names the receivers in the error ("Dask workers", "SLURM jobs")."""
    import cloudpickle
    for name, module in list(sys.modules.items()):
        if name.startswith("deffe_user_") and module is not None:
            cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps(task_fn)
    except Exception as e:  # noqa: BLE001 - whatever the plugins hold that cannot travel
        raise DeffeError(f"the evaluation cannot be sent to {to}: {type(e).__name__}: {e}",
                         where="framework.executor",
                         hint="the evaluate and extract plugins must be picklable; use the local executor") from e
