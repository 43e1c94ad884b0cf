"""What a run changes in its process, put back afterwards: the Python API runs explorations inside a
user's process (a notebook, a script running several), which must look the same after each call.

The command line sets these for the life of its process and never needs them back: the ``deffe``
loggers' handlers (one holds the run's log file open), the thread limits of the libraries
(`threads.limit`) and the environment (the variables the limits and the config's ``$VARS`` read, and
those a library sets when imported: scikit-learn's ``KMP_*``), and, in case a plugin changed it, the
working directory.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Iterator

# the loggers the command line sets up (cli._setup_logging, the preflight's filter, inference's own)
LOGGERS = ("deffe", "deffe.preflight", "deffe.inference")
# libraries' loggers whose level a run sets (the Dask executor silences Dask until the process ends): only
# their levels are put back (their handlers are the libraries' own, added when imported)
LEVELS = ("distributed", "distributed.client", "dask", "tornado", "bokeh")


@contextlib.contextmanager
def preserved() -> Iterator[None]:
    """Run the body, then restore the loggers, thread limits, environment and working directory."""
    cwd = os.getcwd()
    env = dict(os.environ)   # every variable: the run's own (DEFFE_DIR, ...) and its libraries' (KMP_...)
    loggers = {name: _logger_state(logging.getLogger(name)) for name in LOGGERS}
    root = _logger_state(logging.getLogger())
    levels = {name: logging.getLogger(name).level for name in LEVELS}
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None and hasattr(torch, "get_num_threads") else None
    from threadpoolctl import threadpool_limits
    pools = threadpool_limits(limits=None)   # remembers the pools loaded now, changes nothing
    loaded = {p["filepath"] for p in _pools()}
    try:
        yield
    finally:
        pools.restore_original_limits()
        _free_new_pools(loaded, env)
        if torch_threads is not None and torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)
        for name, state in loggers.items():
            _restore_logger(logging.getLogger(name), state)
        _restore_logger(logging.getLogger(), root)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        for k in [k for k in os.environ if k not in env]:
            del os.environ[k]
        for k, v in env.items():
            if os.environ.get(k) != v:
                os.environ[k] = v
        if os.getcwd() != cwd:
            os.chdir(cwd)


# the variables a pool of each kind reads when its library loads, first found first
_POOL_VARS = {"openblas": ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"), "mkl": ("MKL_NUM_THREADS", "OMP_NUM_THREADS"),
              "blis": ("BLIS_NUM_THREADS", "OMP_NUM_THREADS"), "openmp": ("OMP_NUM_THREADS",)}


def _free_new_pools(loaded: set[str], env: dict[str, str]) -> None:
    """A library loaded during the run (scipy's OpenBLAS, scikit-learn's OpenMP) started under the run's
    limit and would keep it: it gets what it would have had loaded outside the run, its variable in the
    caller's environment, or else one thread per processor."""
    from threadpoolctl import ThreadpoolController
    controller = ThreadpoolController()
    for pool in controller.info():
        if pool["filepath"] in loaded:
            continue
        wanted = next((env[v] for v in _POOL_VARS.get(pool["internal_api"], ("OMP_NUM_THREADS",)) if env.get(v)),
                      None)
        try:
            n = int(wanted) if wanted else os.cpu_count() or 1
        except ValueError:   # a variable that is no number: the library kept what it made of it
            continue
        if n >= 1 and n != pool["num_threads"]:
            controller.select(filepath=pool["filepath"]).limit(limits=n)


def _pools() -> list[dict]:
    from threadpoolctl import threadpool_info
    return threadpool_info()


def _logger_state(log: logging.Logger) -> tuple:
    return list(log.handlers), log.level, log.propagate, list(log.filters)


def _restore_logger(log: logging.Logger, state: tuple) -> None:
    handlers, level, propagate, filters = state
    for h in list(log.handlers):
        if h not in handlers:
            log.removeHandler(h)
            h.close()   # the run's log file: a closed run holds no file open
    for h in handlers:
        if h not in log.handlers:
            log.addHandler(h)
    log.setLevel(level)
    log.propagate = propagate
    log.filters = filters
