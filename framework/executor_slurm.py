"""Running evaluations as SLURM jobs, through submitit (``framework.executor: "slurm"``).

`SlurmExecutor` has the interface of `LocalExecutor`: the driver submits
samples and takes their results as they complete. Samples submitted together
(between two looks at the results) go out as one job array, at most ``jobs``
of them running at a time; a sample submitted while results are being taken
(an asynchronous exploration) goes out at the next poll with a slot free, with
whatever else was submitted meanwhile: ``jobs`` bounds the samples of all the
arrays in flight together. Inside its job a sample runs through a one-worker
`LocalExecutor`, so what the local executor guarantees holds on the cluster
too: a sample that overruns ``timeout`` is stopped with every process it
started, and a crash of the evaluation's process is that sample's failure.

What SLURM does to a job is the sample's result when the job leaves no result
of its own: cancelled, out of memory, node failure, time limit ->
``Result("failed", error="SLURM job <id> ...")``. A job is put back in the
queue instead when it is preempted or about to reach its time limit (submitit's
checkpointing: SLURM sends USR2 ahead of the limit, the job requeues itself
and the sample starts again from the beginning), and when an administrator
requeues it (``scontrol requeue``).

Resume: each job's id is recorded under the sample's key in ``jobs.json`` in
the executor's folder as soon as the job is submitted. A driver restarted after
being killed submits the same samples again with the same keys; a key whose job
is still queued or running, or has left its result in the folder, is attached
to that job instead of being evaluated a second time.

The jobs run the task function on the nodes: the project, the Python
environment (the same interpreter path) and the folder must be visible there
(a shared filesystem), as submitit requires.
"""
from __future__ import annotations

import contextlib
import getpass
import hashlib
import io
import json
import logging
import math
import os
import re
import shlex
import signal
import site
import subprocess
import sys
import sysconfig
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import cloudpickle
import submitit
from submitit.core.job_environment import JobEnvironment
from submitit.core.utils import pickle_load
from submitit.helpers import Checkpointable

from .config.schema import SLURM
from .errors import DeffeError, did_you_mean, exit_status
from .executor import LocalExecutor, TaskFn, evaluation_timeout
from .log_tail import log_tail
from .remote import pickle_task
from .protocols import Result
from .threads import ENV_VARS, user_environment

RECORD = "jobs.json"          # key -> job of every sample in flight, for a restarted driver
STATE_INTERVAL = 10.0         # seconds between two squeue calls (a result file is seen at each poll)
RESULT_GRACE = 15.0           # seconds a finished job's result file may take to show up (NFS caches)
UNREACHABLE_LIMIT = 600.0     # seconds squeue may fail in a row before the run gives up
NO_LIMIT_MINUTES = 366 * 24 * 60  # what submitit is told of a job without a time limit
SIGNAL_AHEAD = 90             # seconds before its time limit a job is told to requeue itself
STDERR_TAIL = 12              # lines of a failed job's stderr quoted in the sample's error

# States of a job that is still going to run or is running (a requeued job passes through REQUEUED).
ACTIVE = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_FED",
          "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD"}
# Words of the reasons a job waits for that waiting does not cure (held, refused by a limit, a bad request).
HOPELESS = ("held", "bad", "invalid", "notallowed", "partitionconfig", "timelimit", "maxwallduration",
            "neversatisfied", "down", "inactive")
# States in which SLURM stopped the job: whatever result file a killed evaluation may have left is not a result.
KILLED = {"CANCELLED", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "REVOKED", "TIMEOUT"}
WHY = {"CANCELLED": "was cancelled", "NODE_FAIL": "lost its node (NODE_FAIL)",
       "OUT_OF_MEMORY": "ran out of memory (OUT_OF_MEMORY)", "BOOT_FAIL": "could not boot its node (BOOT_FAIL)",
       "DEADLINE": "missed its deadline", "REVOKED": "was revoked", "TIMEOUT": "reached its time limit (TIMEOUT)",
       "FAILED": "failed", "COMPLETED": "ended", "PREEMPTED": "was preempted and not requeued"}

_EXTRA = {"account": "account", "constraint": "constraint", "nodelist": "nodelist", "exclude": "exclude",
          "mail_type": "mail-type", "mail_user": "mail-user"}
_MEM = re.compile(r"^\d+(\.\d+)?[KMGT]?B?$", re.IGNORECASE)
_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


# ----------------------------------------------------------------------------- settings
def parse_time(value: Any, where: str = "slurm.time") -> int | None:
    """SLURM's time syntax (``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM``, ``D-HH:MM:SS``) in whole
    minutes, rounded up; None for no limit."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "infinite", "unlimited")):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0 or not math.isfinite(value):
            raise DeffeError(f"time limit {value!r} is not a positive number of minutes", where=where)
        return int(math.ceil(value))
    m = _TIME.match(str(value).strip())
    if not m:
        raise DeffeError(f"time limit {value!r} is not in SLURM's syntax", where=where,
                         hint="minutes, 'HH:MM:SS' or 'D-HH:MM:SS'")
    days, a, b, c = m.groups()
    if days is not None:      # D-HH[:MM[:SS]]
        seconds = int(days) * 86400 + int(a) * 3600 + int(b or 0) * 60 + int(c or 0)
    elif c is not None:       # HH:MM:SS
        seconds = int(a) * 3600 + int(b) * 60 + int(c)
    elif b is not None:       # MM:SS
        seconds = int(a) * 60 + int(b)
    else:                     # MM
        seconds = int(a) * 60
    if seconds <= 0:
        raise DeffeError(f"time limit {value!r} is zero", where=where,
                         hint="write \"unlimited\" for no limit (sbatch's 0), a positive limit ('30', "
                              "'02:00:00'), or leave the key out for the partition's default limit")
    return math.ceil(seconds / 60)


def _positive_int(value: Any, where: str) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise DeffeError(f"{value!r} is not a whole number", where=where) from None
    if n < 1:
        raise DeffeError(f"{value!r} must be at least 1", where=where)
    return n


def _text(value: Any, where: str) -> str:
    text = str(value).strip()
    if not text or "\n" in text:
        raise DeffeError(f"{value!r} is not a valid value", where=where)
    return text


def _mem(value: Any, where: str) -> str:
    text = str(value).strip()
    if not _MEM.match(text):
        raise DeffeError(f"memory {value!r} is not in SLURM's syntax", where=where,
                         hint="a size in megabytes or with a unit: 4000, 500M, 16G")
    return text


def _source(line: str, where: str) -> str:
    """The job script's line sourcing ``line`` (a script, maybe with arguments). A script the job cannot read
    ends the job with the reason in its stderr, which becomes the sample's error: bash alone only printed
    "No such file" into the log and the evaluation ran without the environment it needed."""
    # the words as the shell splits and expands them for 'source' (an array: the script is its first word)
    return (f"_deffe_source=({line}); [ -r \"$_deffe_source\" ] || {{ echo \"{where}: cannot read "
            f"'$_deffe_source' on $(hostname)\" >&2; exit 1; }}; source {line}")


def _scripts(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [_source(_text(value, where), where)]
    # left unquoted on purpose: Deffe's configs write "$DEFFE_DIR/setup.source" for the job's shell to expand
    return [_source(_text(s, f'{where}[{i}]'), f'{where}[{i}]') for i, s in enumerate(value)]


def missing_scripts(settings: dict | None) -> list[str]:
    """The slurm.source_scripts this machine cannot read (their first word, $VARIABLES and ~ expanded here)."""
    value = (settings or {}).get("source_scripts") or []
    missing = []
    for line in [value] if isinstance(value, str) else value:
        words = os.path.expanduser(os.path.expandvars(str(line))).split()
        if words and not os.access(words[0], os.R_OK):
            missing.append(words[0])
    return missing


def slurm_parameters(settings: dict | None, jobs: int = 1, section: str = "slurm") -> dict[str, Any]:
    """The config's ``slurm`` section as keyword arguments of submitit's ``SlurmExecutor.update_parameters``.

    Unknown keys and values SLURM would refuse are a one-line DeffeError naming the key; Deffe-only keys
    (``pyscript``, ``user_script_configured``) are accepted and ignored."""
    params: dict[str, Any] = {"job_name": "deffe", "array_parallelism": max(1, int(jobs)), "time": None}
    extra: dict[str, str] = {}
    setup: list[str] = []
    for key, value in (settings or {}).items():
        where = f"{section}.{key}"
        if key not in SLURM:
            raise DeffeError(f"unknown key '{key}'", where=where, hint=did_you_mean(key, SLURM))
        if SLURM[key].deffe or value is None or value == []:
            continue
        if key in ("nodes", "cpus_per_task"):
            params[key] = _positive_int(value, where)
        elif key == "time":
            params["time"] = parse_time(value, where)
        elif key == "mem":
            params["mem"] = _mem(value, where)
        elif key == "source_scripts":
            setup += _scripts(value, where)
        elif key == "partition":
            params["partition"] = _text(value, where)
        else:
            extra[_EXTRA[key]] = _text(value, where)
    if extra:
        params["additional_parameters"] = extra
    if setup:
        params["setup"] = setup
    return params


def _own_python_path() -> list[str]:
    """The directories on this process's python path that the interpreter would not find by itself in a
    job: the project, the user's plugin directories (``python_path``), what PYTHONPATH or conftest added."""
    lib_dirs = {Path(v).resolve() for v in sysconfig.get_paths().values()}
    lib_dirs |= {Path(p).resolve() for p in site.getsitepackages() + [site.getusersitepackages()]}
    own = []
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        path = Path(entry).resolve()
        if path in lib_dirs or any(path.is_relative_to(d) for d in lib_dirs if d.name.endswith("-packages")):
            continue
        if path.parent in lib_dirs and path.name == "lib-dynload":
            continue
        own.append(str(path))
    return list(dict.fromkeys(own))


def _job_environment() -> list[str]:
    """Shell lines for the job script: the python path the driver imports the project and the user's
    plugins from, and the thread variables as the user had them (the driver caps its own)."""
    lines = []
    own = _own_python_path()
    if own:
        lines.append(f"export PYTHONPATH={shlex.quote(os.pathsep.join(own))}")
    env = user_environment(dict(os.environ))
    for k in ENV_VARS:
        lines.append(f"export {k}={shlex.quote(env[k])}" if k in env else f"unset {k}")
    return lines


# ----------------------------------------------------------------------------- inside the job
class _InWorker:
    """The task function as the job's evaluation process runs it."""

    def __init__(self, task_fn: TaskFn):
        self.task_fn = task_fn

    def __call__(self, payload: Any) -> Result:
        # SLURM signals every process of the job: USR2 (preemption, time limit) is for the job's own process
        # to requeue the job, and is ignored by the evaluation and the programs it starts (an ignored signal
        # stays ignored across exec); SIGTERM (scancel, requeue) stops them as it normally does
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        return self.task_fn(payload)


def _stop_job(signum, frame) -> None:
    # the job is being cancelled or requeued: leave no result behind (SystemExit passes submitit's handler
    # of exceptions); the one-worker executor's close kills the evaluation's process group on the way out
    raise SystemExit(f"stopped by signal {signal.Signals(signum).name}")


class _Evaluation(Checkpointable):
    """One sample in one job. Checkpointable: preempted or about to time out, the job requeues itself
    (submitit's checkpoint resubmits the same call: the sample starts again)."""

    def __init__(self, task_file: Path, timeout: float | None):
        self.task_file = task_file   # the pickled task function, written once for all the jobs of a run
        self.timeout = timeout

    def __call__(self, payload: Any) -> Result:
        try:
            task_fn = cloudpickle.loads(self.task_file.read_bytes())
        except Exception as e:  # noqa: BLE001 - whatever the node cannot read or import
            return Result("failed", error=f"the evaluation could not be loaded on {os.uname().nodename}: "
                                          f"{type(e).__name__}: {e} (are the project, its python path and "
                                          f"{self.task_file.parent} visible on the nodes?)",
                          crash=f"{type(e).__name__}: {e}")
        signal.signal(signal.SIGTERM, _stop_job)
        with LocalExecutor(_InWorker(task_fn), jobs=1, timeout=self.timeout) as executor:
            executor.submit(payload)
            for _, result in executor.results():
                return result
        return Result("failed", error="the evaluation returned no result")


# ----------------------------------------------------------------------------- driver side
@dataclass
class _Task:
    id: int
    payload: Any
    key: str | None
    job: Any = None                    # submitit.SlurmJob once submitted
    limit: int = 1                     # how many tasks of its job array SLURM may run at once (its %limit)
    submitted: float = 0.0
    ended: float | None = None         # when SLURM first said the job was over and no result was there yet


def _pickle_task(task_fn: TaskFn) -> bytes:
    return pickle_task(task_fn, "SLURM jobs")


def _run(cmd: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def queue_states() -> dict[str, tuple[str, str]] | None:
    """job id -> (state, reason) of this user's jobs SLURM still holds (array tasks as ``<array>_<index>``,
    finished ones for a few minutes: MinJobAge); None when squeue fails."""
    try:
        p = _run(["squeue", "-h", "-r", "-t", "all", "-u", getpass.getuser(), "-o", "%i|%T|%r"])
    except (OSError, subprocess.TimeoutExpired):
        return None
    if p.returncode != 0:
        return None
    out = {}
    for line in p.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3:
            out[parts[0]] = (parts[1].upper(), parts[2])
    return out


def partition_minutes(partition: str | None) -> int | None:
    """The time limit sbatch gives a job of ``partition`` (the default one if None) without --time, in minutes:
    the partition's DefaultTime, else its MaxTime; None when unlimited or unknown."""
    try:
        p = _run(["sinfo", "-h", "-o", "%P|%L|%l"])
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in p.stdout.splitlines() if p.returncode == 0 else []:
        parts = line.strip().split("|")
        if len(parts) != 3:
            continue
        name, default, maximum = parts
        if (partition is None and name.endswith("*")) or name.rstrip("*") == partition:
            for limit in (default, maximum):
                if limit.strip().lower() in ("", "n/a"):
                    continue
                try:
                    return parse_time(limit)     # "infinite": None
                except DeffeError:
                    continue
            return None
    return None


def accounting_states(job_ids: list[str]) -> dict[str, str]:
    """Final states from SLURM's accounting for jobs squeue no longer shows ({} without accounting)."""
    if not job_ids:
        return {}
    try:
        p = _run(["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(job_ids)])
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if p.returncode != 0:
        return {}
    out = {}
    for line in p.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 2:
            out[parts[0]] = parts[1].split()[0].upper()   # "CANCELLED by 0" -> CANCELLED
    return out


class SlurmExecutor:
    """`LocalExecutor`'s interface over SLURM jobs (see the module's docstring).

    ``settings`` is the config's ``slurm`` section (`slurm_parameters`), ``folder`` the run directory's
    ``slurm`` folder (job scripts, logs, pickles, the record of jobs in flight), ``poll_interval`` how often
    finished jobs' result files are looked for. Two attributes tune the rest: ``state_interval``, the
    seconds between two squeue calls (10 s), and ``result_grace``, how long a job SLURM says has ended may
    take to show its result file before the sample counts as failed (15 s, for NFS caches)."""

    def __init__(self, task_fn: TaskFn, jobs: int = 1, timeout: float | None = None, settings: dict | None = None,
                 folder: Path = Path("slurm"), log: logging.Logger | None = None, poll_interval: float = 1.0,
                 file: str | None = None):
        self.log = log or logging.getLogger("deffe")
        params = slurm_parameters(settings, max(1, int(jobs)))   # a mistake in the settings is said first
        check_reachable(params.get("partition"))
        self._file = file   # the config's, in front of the key of a setting sbatch refuses
        for script in missing_scripts(settings):   # the nodes may see what this machine does not: a warning
            self.log.warning(f"warning: {file + ':' if file else ''}slurm.source_scripts: {script} is not found "
                             f"here; a job that cannot read it either fails")
        self.jobs = max(1, int(jobs))
        self.timeout = evaluation_timeout(timeout)
        self.poll_interval = max(0.05, float(poll_interval))
        self.result_grace = RESULT_GRACE
        self.folder = Path(folder).absolute()
        self.folder.mkdir(parents=True, exist_ok=True)
        params["setup"] = _job_environment() + params.get("setup", [])
        self._evaluation = _Evaluation(self._save_task(task_fn), self.timeout)
        self._submitter = self._make_submitter(params)
        self._next_id = 0
        self._queue: deque[_Task] = deque()       # submitted here, not yet sent to SLURM
        self._running: dict[int, _Task] = {}      # sent to SLURM, result not taken yet
        self._record: dict[str, dict] = {}        # this executor's jobs, by key (the file's content)
        self._inherited = self._read_record()     # a previous driver's jobs, by key, not yet claimed
        self._inherited_states: dict[str, tuple[str, str]] = {}
        self._inherited_at = 0.0
        self._unreachable_since: float | None = None
        self._states: dict[str, tuple[str, str]] = {}   # SLURM's last answer: job id -> (state, reason)
        self._states_at = 0.0
        self._noted: set[str] = set()
        self.state_interval = max(self.poll_interval, STATE_INTERVAL)
        self._write_record()

    # ---- lifecycle
    def _save_task(self, task_fn: TaskFn) -> Path:
        """The task function, pickled once into the folder: each job's own pickle then holds only its sample
        (submitit refuses arrays whose pickles add up to more than a gigabyte)."""
        blob = _pickle_task(task_fn)
        path = self.folder / f"task_{hashlib.sha1(blob).hexdigest()[:16]}.pkl"
        if not path.exists():   # the same content under the same name: a restarted run's jobs share it
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(blob)
            os.replace(tmp, path)
        return path

    def _make_submitter(self, params: dict) -> submitit.SlurmExecutor:
        try:
            # "exec": python replaces the job script's shell, so that the signals SLURM sends the batch step
            # (B:USR2 ahead of the time limit) reach submitit's handler; no srun: with nodes > 1 the
            # evaluation runs once, on the first node, and uses the others itself (mpirun, srun)
            ex = submitit.SlurmExecutor(folder=self.folder / "%j", python=f"exec {shlex.quote(sys.executable)}")
        except RuntimeError as e:
            raise DeffeError(f"SLURM is not available here: {e}", where="framework.executor",
                             hint="run on a SLURM login node, or use the local executor") from e
        params = dict(params)
        extra = {}
        if params.get("time") is None:
            # submitit tells a time limit (requeue, counted) from a preemption (requeue) by the job's limit:
            # the partition's, as sbatch would apply it without --time
            params["time"] = partition_minutes(params.get("partition"))
        if params["time"] is None:
            # no limit at all: a USR2 can only be a preemption; submitit still computes with the limit
            params["time"], extra["time"] = NO_LIMIT_MINUTES, "UNLIMITED"
        # a short job is warned a fifth of its time ahead, not before it starts
        ahead = min(SIGNAL_AHEAD, max(10, params["time"] * 60 // 5))
        extra["signal"] = f"B:{JobEnvironment.USR_SIG}@{ahead}"
        params["additional_parameters"] = {**extra, **params.get("additional_parameters", {})}
        ex.update_parameters(use_srun=False, **params)
        return ex

    def close(self, cancel: bool = False) -> None:
        """Stop taking results. Jobs already sent to SLURM go on (a restarted run attaches to them through
        the record) unless ``cancel``; samples not sent yet are dropped."""
        self._queue.clear()
        if cancel:
            self._cancel([t for t in self._running.values()])
            for t in list(self._running.values()):
                self._forget(t)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        # Ctrl-C: the queued jobs would only run for a driver that is gone; running ones are left to finish
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.cancel_pending()
        self.close()

    # ---- the record
    def _record_path(self) -> Path:
        return self.folder / RECORD

    def _read_record(self) -> dict[str, dict]:
        try:
            data = json.loads(self._record_path().read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            self.log.warning(f"{self._record_path()}: unreadable ({e}); earlier SLURM jobs are not reattached")
            return {}
        return {str(k): v for k, v in data.items() if isinstance(v, dict) and "job_id" in v}

    def _write_record(self) -> None:
        # the jobs of a previous driver not claimed yet stay in the file: a third run can still attach to them
        data = {**self._inherited, **self._record}
        tmp = self._record_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, self._record_path())

    # ---- work
    def submit(self, payload: Any, key: str | None = None) -> int:
        task = _Task(self._next_id, payload, None if key is None else str(key))
        self._next_id += 1
        job = self._reattach(task.key)
        if job is not None:
            task.job, task.submitted, task.limit = job, time.time(), self.jobs   # (its array's limit, as sent)
            self._running[task.id] = task
            self._record[task.key] = self._entry(job)
            self._write_record()
            self.log.debug(f"sample {task.key}: attached to SLURM job {job.job_id} of an earlier run")
        else:
            self._queue.append(task)
        return task.id

    def pending(self) -> int:
        """Samples submitted whose results have not been taken."""
        return len(self._queue) + len(self._running)

    def results(self) -> Iterator[tuple[int, Result]]:
        """Results of everything submitted, as they complete (submitting while iterating is fine)."""
        while self._queue or self._running:
            self._send()
            done = self._poll()
            for task, result in done:
                self._forget(task)
                yield task.id, result
            if self._queue and self._slots() > 0:
                continue   # submitted while we yielded: out they go at once
            if self._running and not done:
                time.sleep(self.poll_interval)

    def cancel_pending(self) -> int:
        """Drop the samples not sent yet and cancel the jobs SLURM has not started; returns how many."""
        n = len(self._queue)
        self._queue.clear()
        states = queue_states() or {}
        waiting = [t for t in self._running.values() if states.get(t.job.job_id, ("",))[0] == "PENDING"]
        self._cancel(waiting)
        for t in waiting:
            self._forget(t)
        return n + len(waiting)

    # ---- sending
    def _slots(self) -> int:
        """How many more samples may run at once: ``jobs`` less what the arrays in flight may still run. An
        array's %limit holds for that array only: two arrays of %jobs (an asynchronous exploration's asks) ran
        twice ``jobs`` samples at once."""
        unfinished: dict[str, int] = {}
        limits: dict[str, int] = {}
        for t in self._running.values():
            array = t.job.job_id.split("_")[0]
            unfinished[array] = unfinished.get(array, 0) + 1
            limits[array] = t.limit
        return self.jobs - sum(min(n, limits[a]) for a, n in unfinished.items())

    def _send(self) -> None:
        """What is queued goes out as one job array: all of it, limited to ``jobs`` at a time, when no other
        array is in flight (a step's samples); beside other arrays, only as many as may start now, the rest
        held here until slots free up."""
        slots = self._slots()
        if not self._queue or slots <= 0:
            return
        n = len(self._queue) if slots == self.jobs else min(len(self._queue), slots)
        tasks = [self._queue.popleft() for _ in range(n)]
        self._submitter.update_parameters(array_parallelism=slots)
        said = io.StringIO()   # submitit prints a refusing sbatch's stderr: it belongs in the one line below
        try:
            with contextlib.redirect_stderr(said), self._submitter.batch():
                jobs = [self._submitter.submit(self._evaluation, t.payload) for t in tasks]
        except Exception as e:  # noqa: BLE001 - sbatch's refusal (bad partition, account) is a config error
            self.log.debug(f"sbatch: {said.getvalue().strip()}")
            why = _sbatch_error(e)
            raise DeffeError(f"sbatch refused the jobs: {why}", file=self._file, where=_refused_key(why),
                             hint=f"see the submission scripts in {self.folder}") from e
        now = time.time()
        for t, job in zip(tasks, jobs):
            t.job, t.submitted, t.limit = job, now, slots
            self._running[t.id] = t
            if t.key is not None:
                self._record[t.key] = self._entry(job)
        self._write_record()
        self.log.debug(f"{len(tasks)} sample{'s' * (len(tasks) > 1)} sent to SLURM as job "
                       f"{jobs[0].job_id.split('_')[0]}")

    def _entry(self, job) -> dict:
        return {"job_id": job.job_id, "folder": str(job.paths.folder)}

    def _forget(self, task: _Task) -> None:
        """The task's result is taken (or no longer wanted): out of the record, pickles removed (logs stay)."""
        self._running.pop(task.id, None)
        if task.key is not None and self._record.get(task.key, {}).get("job_id") == task.job.job_id:
            del self._record[task.key]
            self._write_record()
        for path in (task.job.paths.submitted_pickle, task.job.paths.result_pickle):
            try:
                path.unlink()
            except OSError:
                pass

    def _cancel(self, tasks: list[_Task]) -> None:
        ids = [t.job.job_id for t in tasks]
        if ids:
            _run(["scancel", *ids])

    # ---- reattaching
    def _reattach(self, key: str | None):
        """The job of an earlier run for this key, if it is still coming or has left its result."""
        entry = self._inherited.pop(key, None) if key is not None else None
        if entry is None:
            return None
        job = submitit.SlurmJob(folder=self.folder / "%j", job_id=str(entry["job_id"]))
        if time.time() - self._inherited_at > self.state_interval:   # one squeue for a whole batch of keys
            self._inherited_states, self._inherited_at = queue_states() or {}, time.time()
        state = self._inherited_states.get(job.job_id, ("",))[0]
        if job.paths.result_pickle.exists() or state in ACTIVE:
            return job
        self._write_record()   # nothing to attach to: the stale entry goes
        return None

    # ---- polling
    def _poll(self) -> list[tuple[_Task, Result]]:
        """The tasks whose jobs are over, with their results. Result files are looked at on every poll;
        SLURM is asked at most every ``state_interval`` seconds (squeue in a tight loop burdens a cluster)."""
        if not self._running:
            return []
        now = time.time()
        if now - self._states_at >= self.state_interval:
            self._refresh_states(now)
        done = []
        for task in list(self._running.values()):
            result = self._outcome(task, now)
            if result is not None:
                done.append((task, result))
        return done

    def _refresh_states(self, now: float) -> None:
        states = queue_states()
        if states is None:
            self._squeue_failed()
            return
        self._unreachable_since = None
        gone = [t.job.job_id for t in self._running.values() if t.job.job_id not in states]
        for jid, state in accounting_states(gone).items():
            states[jid] = (state, "")
        self._states, self._states_at = states, now
        self._note_stuck(states)

    def _outcome(self, task: _Task, now: float) -> Result | None:
        """The task's result if its job is over, else None."""
        state, reason = self._states.get(task.job.job_id, ("UNKNOWN", ""))
        if state in KILLED:
            # a job stopped by SLURM leaves no result (the job's SIGTERM handler sees to it): the state is the news
            return self._job_failed(task, state, reason)
        if task.job.paths.result_pickle.exists():
            return self._read_result(task)
        if state in ACTIVE or (state == "UNKNOWN" and self._states_at < task.submitted):
            task.ended = None   # (a job sent after SLURM was last asked is not in the answer yet)
            return None
        # COMPLETED / FAILED / not known any more, and no result yet: a shared filesystem may show it late
        if task.ended is None:
            task.ended = now
        if now - task.ended < self.result_grace:
            return None
        return self._job_failed(task, state, reason)

    def _note_stuck(self, states: dict[str, tuple[str, str]]) -> None:
        """Say once per reason that jobs wait for something waiting does not cure: the run would seem to hang."""
        for task in self._running.values():
            state, reason = states.get(task.job.job_id, ("", ""))
            hopeless = any(word in reason.lower() for word in HOPELESS)
            if state == "PENDING" and hopeless and reason not in self._noted:
                self._noted.add(reason)
                self.log.warning(f"SLURM job {task.job.job_id} is pending: {reason} "
                                 f"(see: scontrol show job {task.job.job_id})")

    def _read_result(self, task: _Task) -> Result:
        try:
            outcome, value = pickle_load(task.job.paths.result_pickle)
        except Exception as e:  # noqa: BLE001 - a truncated or unreadable file is that sample's failure
            return Result("failed", error=f"SLURM job {task.job.job_id}: its result could not be read: "
                                          f"{type(e).__name__}: {e}")
        if outcome == "success" and isinstance(value, Result):
            return value
        text = str(value).strip().splitlines()
        return Result("failed", error=f"SLURM job {task.job.job_id} failed: " + "\n".join(text[-STDERR_TAIL:]))

    def _job_failed(self, task: _Task, state: str, reason: str) -> Result:
        why = WHY.get(state, f"ended in state {state}" if state != "UNKNOWN"
                      else "is no longer known to SLURM and left no result")
        if state in ("COMPLETED", "FAILED"):
            why += " without leaving a result"
        detail = f" ({reason})" if reason and reason not in ("None", "") else ""
        tail = _tail(task.job.paths.stderr)
        return Result("failed", error=f"SLURM job {task.job.job_id} {why}{detail}" + (f": {tail}" if tail else ""),
                      duration=time.time() - task.submitted)

    def _squeue_failed(self) -> None:
        now = time.time()
        if self._unreachable_since is None:
            self._unreachable_since = now
            self.log.warning("squeue failed: SLURM's controller cannot be reached; waiting for it")
        elif now - self._unreachable_since > UNREACHABLE_LIMIT:
            raise DeffeError(f"SLURM's controller has not answered squeue for {UNREACHABLE_LIMIT:g} s",
                             where="framework.executor",
                             hint=f"the jobs go on; run the same command again to attach to them "
                                  f"({self._record_path()})")


def _tail(path: Path, lines: int = STDERR_TAIL) -> str:
    return "\n".join(log_tail(path, lines))   # (a job's stderr may be of any size: its end only is read)


def check_reachable(partition: str | None = None) -> None:
    """Stop at once, in one line, when this machine cannot talk to a SLURM controller: a config written for
    a cluster (Deffe's "slurm": "True") run on a laptop gets Deffe's way out, not a failure per sample. So
    does a ``partition`` (sbatch's comma-separated list) the controller does not have, before anything is
    written, where sbatch would refuse the first jobs only after the run directory was made."""
    try:
        r = _run(["sinfo", "-a", "-h", "-o", "%P"], timeout=30)   # -a: hidden partitions too
        lines = [ln.strip() for ln in (r.stderr or r.stdout or "").splitlines() if ln.strip()]
        # sinfo's last word says it best ("sinfo: fatal: Could not establish a configuration source")
        problem = None if r.returncode == 0 else (lines[-1] if lines else f"sinfo {exit_status(r.returncode)}")
    except FileNotFoundError:
        problem = "sinfo and sbatch are not installed here"
    except subprocess.TimeoutExpired:
        problem = "sinfo got no answer in 30 s"
    if problem:
        raise DeffeError(f"this run sends its samples to SLURM (framework.executor \"slurm\", or Deffe's "
                         f"evaluate.slurm), and SLURM is not reachable from here: {problem}", where="slurm",
                         hint="run with -no-slurm (or -executor local) to evaluate on this machine")
    names = [ln.strip().rstrip("*") for ln in r.stdout.splitlines() if ln.strip()]
    for name in (partition or "").split(","):
        if name.strip() and names and name.strip() not in names:
            raise DeffeError(f"partition '{name.strip()}' does not exist (SLURM's partitions: {', '.join(names)})",
                             where="slurm.partition", hint=did_you_mean(name.strip(), names) or
                             "write one of them, or leave slurm.partition out for the default partition")


# words of sbatch's refusals -> the setting of the slurm section they are about
_REFUSED = (("partition", "slurm.partition"), ("account", "slurm.account"), ("feature", "slurm.constraint"),
            ("constraint", "slurm.constraint"), ("memory", "slurm.mem"), ("time limit", "slurm.time"))


def _refused_key(why: str) -> str:
    """The key of the slurm section sbatch's refusal names, else the section."""
    return next((key for word, key in _REFUSED if word in why.lower()), "slurm")


def _sbatch_error(e: BaseException) -> str:
    """sbatch's complaints on one line ("invalid partition specified: x; Batch job submission failed: ...")."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    errors = list(dict.fromkeys(ln.split("error:", 1)[1].strip() for ln in lines if "error:" in ln))
    return "; ".join(errors) if errors else (lines[-1] if lines else type(e).__name__)
