"""The thread budget: every library that spawns threads stays inside what the user gave.

The user says how many cores a run may use with ``-jobs`` (``framework.jobs``)
and, for the model, ``model.threads``. Left alone, BLAS, OpenMP (scikit-learn's
histogram boosting, torch), torch's own pool and numba each start one thread
per core; on a busy 2-core machine that made one classifier fit 50 times
slower than on one thread. So:

* the driver process runs its libraries on ``threads`` threads (``-jobs``
  unless ``model.threads`` says otherwise): `limit` caps every thread pool
  already loaded (threadpoolctl), torch's and numba's when they are loaded, and
  sets the usual environment variables so that libraries loaded later start
  within the budget too (numba reads its variable once, at import);
* each evaluation worker runs on one thread: ``-jobs`` workers in parallel use
  ``-jobs`` cores;
* a plugin's framework object says the budget of the process it is in
  (`follow`): a worker's copy says 1, an asynchronous driver's says its half,
  so a plugin that sizes its library by ``framework.threads`` stays inside it;
* scripts an evaluation starts get the environment the user started the
  driver with (`user_environment`): how many threads an external program uses
  is the user's business (set ``evaluate.env``).

The framework names no library here by import: torch and numba are only
touched when something else has already imported them.
"""
from __future__ import annotations

import os
import sys
import weakref

ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS")

# the values the user started us with, before `limit` changed them (None: unset)
_USER_ENV = {k: os.environ.get(k) for k in ENV_VARS}

# the objects whose ``threads`` says this process's budget (plugins' framework objects): `limit` sets it. Forked
# workers inherit the set with their copy of the driver's objects, so theirs follow the worker's own limit.
_FOLLOWERS: weakref.WeakSet = weakref.WeakSet()


def follow(obj: object) -> None:
    """Set ``obj.threads`` to this process's budget at every later `limit` (not kept alive by this)."""
    _FOLLOWERS.add(obj)


def limit(threads: int) -> int:
    """Hold every thread pool of this process, and of libraries loaded later, to ``threads`` threads (never
    more than the cores: 400 parallel evaluations of a Deffe config do not make 400 BLAS threads)."""
    n = max(1, min(int(threads), os.cpu_count() or 1))
    for k in ENV_VARS:
        if k == "NUMBA_NUM_THREADS" and "numba" in sys.modules:
            continue   # numba reads it once at import; changing it later makes numba refuse to start
        os.environ[k] = str(n)
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=n)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
    # numba: NUMBA_NUM_THREADS above caps it when it is imported later; once imported, its pool starts
    # only for parallel kernels (the simulator's are serial), and numba.set_num_threads would start it
    for obj in list(_FOLLOWERS):
        obj.threads = n
    return n


def user_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the thread variables as the user had them (for programs we start, not our libraries)."""
    out = dict(env)
    for k, v in _USER_ENV.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out
