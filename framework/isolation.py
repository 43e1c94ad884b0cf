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


@contextlib.contextmanager
def preserved() -> Iterator[None]:
    """Run the body, then restore the loggers, thread limits, environment and working directory."""
    cwd = os.getcwd()
    env = dict(os.environ)   # every variable: the run's own (DEFFE_DIR, ...) and its libraries' (KMP_...)
    loggers = {name: _logger_state(logging.getLogger(name)) for name in LOGGERS}
    root = _logger_state(logging.getLogger())
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None and hasattr(torch, "get_num_threads") else None
    from threadpoolctl import threadpool_limits
    pools = threadpool_limits(limits=None)   # remembers the pools loaded now, changes nothing
    try:
        yield
    finally:
        pools.restore_original_limits()
        if torch_threads is not None and torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)
        for name, state in loggers.items():
            _restore_logger(logging.getLogger(name), state)
        _restore_logger(logging.getLogger(), root)
        for k in [k for k in os.environ if k not in env]:
            del os.environ[k]
        for k, v in env.items():
            if os.environ.get(k) != v:
                os.environ[k] = v
        if os.getcwd() != cwd:
            os.chdir(cwd)


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
