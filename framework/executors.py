"""Which executor runs the evaluations: local processes, a Dask cluster or SLURM jobs.

Every executor has the same small interface (see `executor.LocalExecutor`): ``submit(payload, key)``
returns a task id, ``results()`` yields ``(task id, Result)`` as evaluations complete (and also those
submitted while it is being iterated), ``cancel_pending()``, ``close()``. The run store stays the source
of truth: the driver commits each result as it arrives, so a driver killed at any moment resumes from
the store whatever the executor. ``key`` is the sample's id in the store: the SLURM executor uses it to
reattach a restarted driver to the jobs still in flight instead of submitting them again.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from .errors import DeffeError
from .executor import LocalExecutor

KINDS = ("local", "dask", "slurm")


def executor_kind(config: Any, args: Any) -> str:
    """-executor, else framework.executor (Deffe's evaluate.slurm sets it); -no-slurm keeps SLURM out."""
    kind = getattr(args, "executor", None) or config.section("framework").get("executor") or "local"
    if kind == "slurm" and getattr(args, "no_slurm", False):
        return "local"   # Deffe: -no-slurm runs a SLURM config's evaluations on this machine
    return kind


def check_executor(kind: str, config: Any, jobs: int, reach: bool = True) -> None:
    """The executor's settings checked, and (``reach``) its scheduler or controller reached, before the run
    directory is created or a previous run moved aside: such a mistake writes nothing (`make_executor` then
    builds the executor, when the exploration starts)."""
    file = config.data.get("__origin__")
    if kind == "local":
        return
    if kind == "dask":
        dask = dict(config.section("framework").get("dask") or {})
        unknown = sorted(set(dask) - {"address", "workers"})
        if unknown:
            raise DeffeError(f"framework.dask.{unknown[0]}: unknown key (known: address, workers)",
                             file=file, where="framework.dask")
        if reach and dask.get("address"):
            from .executor_dask import _reach
            try:
                _reach(dask["address"], workers=True)   # a scheduler without workers: nothing would run
            except DeffeError as e:   # an unreachable framework.dask.address: the config's file in front
                raise (e.located(file=file) if str(e.where).startswith("framework.dask") else e) from e
        return
    if kind == "slurm":
        from .executor_slurm import check_reachable, slurm_parameters
        try:
            params = slurm_parameters(dict(config.section("slurm")), max(1, int(jobs)))
            if reach:
                check_reachable(params.get("partition"))
        except DeffeError as e:   # slurm.time, slurm.mem, slurm.partition ...: the config's file in front
            raise (e.located(file=file) if str(e.where).startswith("slurm.") else e) from e
        return
    raise DeffeError(f"framework.executor: '{kind}' is not an executor (one of {', '.join(KINDS)})",
                     file=file, where="framework.executor")


def make_executor(kind: str, task_fn: Callable, local_task: Callable, *, jobs: int, timeout: float | None,
                  inline: bool, config: Any, run_dir: Path, log: logging.Logger):
    """The executor of a run. ``local_task`` is the driver's closure over its own plugins (a fork inherits
    them); ``task_fn`` the picklable `remote.PluginTask` that rebuilds them on another machine."""
    if kind == "local" or inline:   # -debug: in this process, whatever the config says
        return LocalExecutor(local_task, jobs=jobs, timeout=timeout, inline=inline)
    if kind == "dask":
        from .executor_dask import DaskExecutor
        dask = dict(config.section("framework").get("dask") or {})
        unknown = sorted(set(dask) - {"address", "workers"})
        if unknown:
            raise DeffeError(f"framework.dask.{unknown[0]}: unknown key (known: address, workers)",
                             file=config.data.get("__origin__"), where="framework.dask")
        try:
            return DaskExecutor(task_fn, jobs=jobs, timeout=timeout, address=dask.get("address"),
                                workers=dask.get("workers"), log=log, file=config.data.get("__origin__"))
        except DeffeError as e:   # an unreachable framework.dask.address: the config's file in front
            raise (e.located(file=config.data.get("__origin__")) if str(e.where).startswith("framework.dask")
                   else e) from e
    if kind == "slurm":
        from .executor_slurm import SlurmExecutor
        try:
            return SlurmExecutor(task_fn, jobs=jobs, timeout=timeout, settings=dict(config.section("slurm")),
                                 folder=run_dir / "slurm", log=log, file=config.data.get("__origin__"))
        except DeffeError as e:   # slurm.time, slurm.mem, ...: the config's file in front
            raise (e.located(file=config.data.get("__origin__")) if str(e.where).startswith("slurm.")
                   else e) from e
    raise DeffeError(f"framework.executor: '{kind}' is not an executor (one of {', '.join(KINDS)})",
                     file=config.data.get("__origin__"), where="framework.executor")
