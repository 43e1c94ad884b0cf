"""Running evaluations on a Dask cluster (``framework.executor: "dask"``).

`DaskExecutor` has the interface of `LocalExecutor`: the driver submits
samples and takes their results as they complete. Each sample is one Dask task;
inside it the sample runs in a process of its own, through a one-worker
`LocalExecutor` that the worker keeps for its next samples, so that what the
local executor guarantees holds on a cluster too: a sample that overruns its
timeout is stopped together with every process it started (a simulator's shell
script), and a sample that crashes its process costs that sample only.

Without an address the executor starts a cluster of single-threaded worker
processes on this machine and shuts it down when it closes; with
``tcp://host:port`` it uses the workers of a running scheduler. The workers
import the task function's code by name (``framework``, ``plugins``, the
user's modules on the python path): they need the same Python environment and
the project on their path. Plugins the framework loaded from a file are sent by
value.

A local cluster's workers are started with multiprocessing's "spawn": a script
that makes a DaskExecutor itself needs the ``if __name__ == "__main__":`` guard
(``run_deffe`` has it).

Dask runs a task again when its worker died (that is right for the samples
that were only waiting on that worker), but an evaluation is not run twice
behind the driver's back: a task that finds its sample already started reports
the worker's death as the sample's failure, and the driver decides about
retrying (``evaluate.retries``).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import os
import pickle
import signal
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import cloudpickle
import dask
from distributed import Client, Event, LocalCluster, as_completed
from distributed.comm import connect
from distributed.diagnostics.plugin import WorkerPlugin
from distributed.scheduler import KilledWorker

from .errors import DeffeError
from .executor import LocalExecutor, TaskFn, evaluation_timeout
from .remote import pickle_task
from .protocols import Result
from .threads import limit as limit_threads

CONNECT_TIMEOUT = 10.0   # seconds to reach a scheduler before saying it cannot be reached
STOP_WAIT = 3.0          # seconds close() gives the tasks of the samples it killed to end
WORKER_WAIT = 10.0       # seconds a scheduler without workers gets at the start for one to join
WORKER_CHECK = 2.0       # seconds between two looks at the workers while samples wait for a result
NO_WORKER_WARN = 30.0    # seconds without any worker, samples pending, before a warning
NO_WORKER_LIMIT = 600.0  # seconds without any worker, samples pending, before the run stops
WORKER_DIED = "the Dask worker running the evaluation died"
DAEMONIC = "the Dask worker is a daemonic process and cannot start the evaluation's process"
DAEMON_HINT = ("start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False in their environment "
               "(or 'dask worker --no-nanny')")

# Dask's own loggers: at INFO they report every worker start and connection on the terminal
_NOISY_LOGGERS = ("distributed", "dask", "tornado", "bokeh")


# ----------------------------------------------------------------------------- worker side
# Each thread of a Dask worker runs its samples through a one-process LocalExecutor that it keeps for the next
# sample of the same run, as a local worker serves sample after sample: a task function that builds its plugins
# once per process (remote.PluginTask: a simulator prepares its network once) builds them once per worker
# thread, not once per sample. The executors are keyed by the token of the DaskExecutor that sent the samples.
_task_fns: dict[str, TaskFn] = {}                                  # token -> its unpickled task function
_idle: dict[str, list[tuple[LocalExecutor, float]]] = {}          # token -> executors free (since when)
_busy: dict[str, set[LocalExecutor]] = {}                          # token -> executors running a sample
_stopped: set[str] = set()                                         # tokens of closed DaskExecutors
_lock = threading.Lock()
IDLE_REAP = 600.0   # seconds after which a run's idle processes go: its driver died without closing it


def _task_fn(token: str, blob: bytes) -> TaskFn:
    fn = _task_fns.get(token)
    if fn is None:
        fn = _task_fns[token] = cloudpickle.loads(blob)
    return fn


def _started_before(marker: str) -> bool:
    """True when this sample was started already, on a worker that died: Dask runs such a task again (up to
    the scheduler's ``allowed-failures``), and a second run behind the driver's back is not what it asked for."""
    event = Event(marker)
    if event.is_set():
        event.clear()   # nothing runs under this name again: the scheduler forgets it
        return True
    event.set()
    return False


def _take(token: str, blob: bytes, timeout: float | None) -> LocalExecutor:
    with _lock:
        idle = _idle.get(token)
        executor = idle.pop()[0] if idle else None
    if executor is None:
        executor = LocalExecutor(_task_fn(token, blob), jobs=1, timeout=timeout)
    with _lock:
        _busy.setdefault(token, set()).add(executor)
    return executor


def _give_back(token: str, executor: LocalExecutor) -> None:
    with _lock:
        _busy.get(token, set()).discard(executor)
        keep = token not in _stopped
        if keep:
            _idle.setdefault(token, []).append((executor, time.monotonic()))
    if not keep:   # its DaskExecutor closed while this sample ran
        executor.close()


def _reap_idle() -> None:
    """Close the executors of runs that sent nothing for IDLE_REAP seconds (a driver killed before it could
    close its DaskExecutor): a long-lived worker does not keep their processes forever."""
    now = time.monotonic()
    with _lock:
        old = [(token, e) for token, idle in _idle.items() for e, since in idle if now - since > IDLE_REAP]
        for token, executor in old:
            _idle[token] = [(e, since) for e, since in _idle[token] if e is not executor]
    for _, executor in old:
        executor.close()


def _run_sample(token: str, blob: bytes, payload: Any, timeout: float | None, marker: str) -> Result:
    """One sample, in a process of its own (the Dask task's body)."""
    if mp.current_process().daemon:   # a worker that joined after the executor checked them
        return Result("failed", error=f"{DAEMONIC}; {DAEMON_HINT}")
    if _started_before(marker):
        return Result("failed", error=f"{WORKER_DIED} (Dask would have run it again)")
    _reap_idle()
    limit_threads(1)   # the worker's own thread pools: the sample's process inherits them
    try:
        executor = _take(token, blob, timeout)
    except Exception as e:  # noqa: BLE001 - a worker without the plugins' code fails each sample it gets
        Event(marker).clear()
        return Result("failed", error=f"the Dask worker cannot load the evaluation: {type(e).__name__}: {e}",
                      crash=f"{type(e).__name__}: {e}")
    try:
        executor.submit(payload)
        result = next(r for _, r in executor.results())
    except BaseException:
        with _lock:
            _busy.get(token, set()).discard(executor)
        executor.close()
        raise
    _give_back(token, executor)
    Event(marker).clear()
    return result


class _Call:
    """``fn(*args)`` as pickle bytes whose unpickling makes the call: the Dask task is ``pickle.loads(bytes)``.
    Dask's scheduler unpickles every task it is sent; a task naming this module's functions would need the
    project importable on the scheduler too (it failed each sample with "Error during deserialization of the
    task graph" when it was not). The standard library's ``pickle.loads`` and bytes need nothing: only the
    worker that runs the task imports ``framework``."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _stop_samples(token: str) -> int:
    """Close a closing DaskExecutor's executors here, killing the process groups of the samples still
    running (its driver stops waiting for them); how many were killed."""
    with _lock:
        _stopped.add(token)
        _task_fns.pop(token, None)
        idle = [e for e, _ in _idle.pop(token, [])]
        busy = list(_busy.get(token, ()))
    for executor in idle:
        executor.close()
    # the task's thread then sees its sample's process die and gives the executor back, which closes it
    return sum(executor.kill_running() for executor in busy)


class _IgnoreCtrlC(WorkerPlugin):
    """A local cluster's workers are in the driver's process group: Ctrl-C on the terminal reaches them too,
    and each would die with a traceback while the driver stops them in order. The driver decides, as it does
    for its local workers. (A plugin: it applies to workers restarted later as well.)"""

    def setup(self, worker) -> None:
        if threading.current_thread() is threading.main_thread():   # where signal handlers can be set
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _is_daemonic() -> bool:
    return bool(mp.current_process().daemon)


# ----------------------------------------------------------------------------- driver side
SILENT = logging.CRITICAL + 1


def quiet_dask_logs(level: int = logging.WARNING) -> None:
    """Dask's loggers at ``level`` while an executor runs. Its client's own errors (a scheduler gone: "Failed to
    reconnect ...") are silent: the executor says them in its own words. After the executor closed they all stay
    silent: a local cluster's scheduler and nannies, and the client's reconnection attempts, go on logging
    about the workers they stop ("Removing worker ...") until the process ends, after the driver's last line."""
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(level)
    logging.getLogger("distributed.client").setLevel(SILENT if level < SILENT else level)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait while the executor closes (a few seconds: its samples' processes are
    killed, the cluster stopped in order), then have their effect. A terminal's Ctrl-C often comes twice (an
    impatient user; ``timeout`` passes its own on to the process group): cut short, the closing left the
    samples' processes running, and a local cluster's scheduler and workers, closed at the interpreter's exit
    with tasks still running, warned about them after the driver's last line (or held up the exit). (Only
    the main thread sets signal handlers; a signal ignored stays ignored.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, Any]] = []
    handlers = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and callable(signal.getsignal(signum)):
            handlers[signum] = signal.signal(signum, lambda signum, frame: caught.append((signum, frame)))
    try:
        yield
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    if caught:   # (when closing raised, that exception is on its way already)
        signum, frame = caught[0]
        handlers[signum](signum, frame)


def _pickle_task(task_fn: TaskFn) -> bytes:
    return pickle_task(task_fn, "Dask workers")


def _unreachable(address: str, e: BaseException) -> DeffeError:
    if isinstance(e, MemoryError):   # an absurd frame length: some other service answered
        why = "what answers there does not speak Dask's protocol"
    else:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
    return DeffeError(f"cannot reach the Dask scheduler at {address} ({why})", where="framework.dask.address",
                      hint="start it with 'dask scheduler' and check the host and port (tcp://host:port, the "
                           "scheduler's port, not its dashboard's)")


def _reach(address: str, workers: bool = False) -> None:
    """DeffeError unless a Dask server answers at ``address`` (and, with ``workers``, a scheduler there has a
    worker within WORKER_WAIT seconds: the check made before the run directory is). Tried before making the
    Client: a Client that fails half-way (a malformed address, another service on the port) lingers and holds
    up the interpreter's exit with a traceback."""
    async def handshake() -> bool:
        comm = await connect(address, timeout=CONNECT_TIMEOUT)
        try:
            deadline = time.monotonic() + WORKER_WAIT
            while workers:
                await comm.write({"op": "identity", "reply": True, "n_workers": -1})
                info = await comm.read()
                if not isinstance(info, dict) or info.get("type") != "Scheduler" or info.get("workers"):
                    break   # (not a scheduler: the Client says what is wrong)
                if time.monotonic() > deadline:
                    return False
                await asyncio.sleep(0.2)
            return True
        finally:
            await comm.close()

    # a thread of its own: the caller may have an event loop running already (a notebook)
    with ThreadPoolExecutor(1) as pool:
        try:
            has_workers = pool.submit(asyncio.run, handshake()).result()
        except Exception as e:  # noqa: BLE001 - refused, timed out, bad address, not speaking Dask
            raise _unreachable(address, e) from e
    if not has_workers:
        raise _no_workers_at_start(address)


def _no_workers_at_start(address: str) -> DeffeError:
    return DeffeError(f"the Dask scheduler at {address} has no workers (none joined within {WORKER_WAIT:g} s)",
                      where="framework.dask.address",
                      hint=f"{_start_workers_hint(address)}, then run the same command again")


def _start_workers_hint(address: str) -> str:
    return f"start workers with 'dask worker {address}' (see docs/executors.md)"


def _check_workers(client: Client, address: str) -> None:
    """DeffeError for workers that would fail every sample: better said once, before the run, than per sample.
    (Workers that join later are not checked; their samples fail with the same message.) A scheduler without
    workers is one too: it holds every task, and the run would wait without a word (a scheduler restarted
    alone has none: its workers exit with the one before)."""
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except TimeoutError:
        raise _no_workers_at_start(address) from None
    answers = client.run(_is_daemonic, on_error="return")
    broken = {w: a for w, a in answers.items() if isinstance(a, BaseException)}
    if broken:
        worker, error = sorted(broken.items())[0]
        # the worker's exception comes back wrapped in a plain Exception when it could not be unpickled
        why = str(error) if type(error) is Exception else f"{type(error).__name__}: {error}"
        raise DeffeError(f"the Dask worker at {worker} (of {address}) cannot run the framework's code: {why}",
                         where="framework.dask.address",
                         hint="start the workers in the driver's Python environment, with the project's directory "
                              "on their PYTHONPATH")
    daemonic = sorted(w for w, yes in answers.items() if yes is True)
    if daemonic:
        raise DeffeError(f"{DAEMONIC} (the workers at {', '.join(daemonic)} of {address})",
                         where="framework.dask.address", hint=DAEMON_HINT)


class DaskExecutor:
    """`LocalExecutor`'s interface on a Dask cluster: a local one it starts (``workers`` processes, ``jobs``
    when not given) or the one at ``address``; at most ``jobs`` samples in flight (None: one per worker
    thread of the cluster), the rest queued here."""

    def __init__(self, task_fn: TaskFn, jobs: int | None = 1, timeout: float | None = None,
                 address: str | None = None, workers: int | None = None, log: logging.Logger | None = None,
                 file: str | None = None):
        self.log = log or logging.getLogger("deffe")
        self._file = file   # the config's, for the warnings
        self.timeout = evaluation_timeout(timeout)
        self.address = address
        self._token = uuid.uuid4().hex[:12]
        self._blob = _pickle_task(task_fn)
        self._queue: deque[tuple[int, Any, str | None]] = deque()
        self._running: dict[str, tuple[int, Any, float]] = {}   # Dask key -> (task id, future, submit time)
        self._next_id = 0
        self._completed: as_completed | None = None             # while results() iterates
        self._cluster: LocalCluster | None = None
        self._closed = False
        quiet_dask_logs()
        # in force while the executor lives: a local cluster's nannies (in this process) read it each time
        # they start a worker, a restart after a worker's death included
        self._config = dask.config.set({
            "distributed.worker.daemon": False,             # the worker forks each sample's process
            "distributed.comm.timeouts.connect": f"{CONNECT_TIMEOUT}s",
            # a local cluster's scheduler runs in the driver's process, which holds the GIL for seconds
            # (minutes) while it trains a model: that delays the scheduler harmlessly and is not worth a
            # warning, and must not make it drop workers whose heartbeats it could not read meanwhile
            "distributed.admin.tick.limit": "1h",
            "distributed.scheduler.worker-ttl": None,
        })
        if address and workers:   # the scheduler's workers are whatever was started with 'dask worker'
            place = f"{file}:framework.dask.workers" if file else "framework.dask.workers"
            self.log.warning(f"warning: {place}: applies only to a local cluster (without framework.dask.address);"
                             f" ignored: the run uses the workers of the scheduler at {address}")
        try:
            self.client = (self._connect(address) if address else
                           self._start_cluster(workers or jobs or 1, "framework.dask.workers" if workers else "-jobs"))
            self._every_thread = not jobs   # as many in flight as the cluster has threads, which may change
            self.jobs = max(1, int(jobs)) if jobs else self._cluster_threads()
        except BaseException:
            self._shutdown()
            raise

    # ---- lifecycle
    def _start_cluster(self, workers: int, setting: str) -> Client:
        workers = max(1, int(workers))
        cores = os.cpu_count() or 1
        if workers > cores:   # each worker is a Python process started up front: 1000 of them never came up
            place = f"{self._file}:{setting}" if self._file and setting.startswith("framework") else setting
            self.log.warning(f"warning: {place}: {workers} Dask workers on {cores} cores; the local cluster "
                             f"starts {cores}, one core per sample (give framework.dask.address to use a larger "
                             f"cluster)")
            workers = cores
        self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                     host="127.0.0.1", dashboard_address="127.0.0.1:0", memory_limit=0,
                                     silence_logs=logging.WARNING)
        client = Client(self._cluster, set_as_default=False)
        client.register_plugin(_IgnoreCtrlC(), name="deffe-ignore-ctrl-c")
        return client

    def _connect(self, address: str) -> Client:
        _reach(address)
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except Exception as e:  # noqa: BLE001 - a scheduler that went away since _reach
            raise _unreachable(address, e) from e
        try:
            _check_workers(client, address)
        except BaseException:
            client.close()
            raise
        return client

    def _cluster_threads(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.clear()
        with _signals_deferred():
            try:
                self._stop_running()
            finally:
                self._shutdown()

    def _stop_running(self) -> None:
        # cancelling a Dask task does not stop a running one: its processes are killed on the workers, then
        # its task ends at once (cancelling it while it still runs makes the worker log a warning)
        futures = [f for _, f, _ in self._running.values()]
        self._running.clear()
        if self.client.status != "running":
            return   # the scheduler is gone: nothing to reach
        try:
            self.client.run(_stop_samples, self._token, on_error="ignore")
            deadline = time.monotonic() + STOP_WAIT
            while not all(f.done() for f in futures) and time.monotonic() < deadline:
                time.sleep(0.05)
            if futures:
                self.client.cancel(futures)
        except Exception as e:  # noqa: BLE001 - closing goes on; the scheduler may be gone already
            self.log.debug(f"dask: stopping the running samples: {type(e).__name__}: {e}")

    def _shutdown(self) -> None:
        client = getattr(self, "client", None)
        # on a busy machine a local worker can be slow to exit and its nanny (in this process) warns that it
        # killed it, and a Ctrl-C leaves the scheduler reporting its workers' removal after the driver's last
        # line: the shutdown is ours, its messages are noise (a new DaskExecutor sets the levels again)
        quiet_dask_logs(SILENT)
        try:
            for part in (client, self._cluster):
                if part is not None:
                    try:
                        part.close()
                    except Exception as e:  # noqa: BLE001 - a scheduler gone already is closed enough
                        self.log.debug(f"dask: closing {type(part).__name__}: {type(e).__name__}: {e}")
        finally:
            self._config.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- work
    def submit(self, payload: Any, key: str | None = None) -> int:
        task_id = self._next_id
        self._next_id += 1
        self._queue.append((task_id, payload, key))
        self._dispatch()
        return task_id

    def pending(self) -> int:
        return len(self._queue) + len(self._running)

    def cancel_pending(self) -> int:
        """Drop the tasks not sent to the cluster yet; returns how many."""
        n = len(self._queue)
        self._queue.clear()
        return n

    def results(self) -> Iterator[tuple[int, Result]]:
        """Results of everything submitted, as they complete (tasks submitted meanwhile included)."""
        if self._every_thread:
            self.jobs = self._cluster_threads()
        self._completed = as_completed([f for _, f, _ in self._running.values()], loop=self.client.loop)
        try:
            while True:
                self._dispatch()
                if not self._running:
                    return
                future = self._next_done()
                task_id, _, submitted = self._running.pop(future.key)
                if future.status in ("cancelled", "lost") and self._scheduler_gone():
                    raise self._lost()
                yield task_id, self._outcome(future, time.monotonic() - submitted)
        finally:
            self._completed = None

    def _next_done(self):
        """The next future done. A scheduler left without workers holds the tasks for ever: the wait is said
        in the log after NO_WORKER_WARN seconds and ends the run after NO_WORKER_LIMIT (a local cluster's
        nannies restart its workers themselves)."""
        completed, cond = self._completed, self._completed.thread_condition
        alone_since, warned, looked = None, False, time.monotonic()
        while not completed.is_empty():
            with cond:   # checked under the condition as_completed notifies under: no wake-up is missed
                if completed.has_ready():
                    break
                cond.wait(timeout=WORKER_CHECK)
            now = time.monotonic()
            if not self.address or now - looked < WORKER_CHECK:
                continue
            looked = now
            if self._worker_count() != 0:
                alone_since, warned = None, False
                continue
            alone_since = alone_since or now
            if now - alone_since >= NO_WORKER_LIMIT:
                # the run stops as when the scheduler is lost: the samples in flight stay unfinished in the store
                raise self._no_workers(f"has had no worker for {NO_WORKER_LIMIT:g} s",
                                       "then run the same command again: the samples it held are evaluated again")
            if not warned and now - alone_since >= NO_WORKER_WARN:
                warned = True
                waiting = f"{self.pending()} sample(s) wait; the run stops after {NO_WORKER_LIMIT:g} s without one"
                self.log.warning(f"warning: {self._no_workers(f'has had no worker for {NO_WORKER_WARN:g} s', waiting)}")
        return next(completed)

    def _worker_count(self) -> int | None:
        """How many workers the scheduler has; None when it did not say (gone: as_completed reports it)."""
        if self.client.status != "running":
            return None
        try:
            return len(self.client.nthreads(callback_timeout=CONNECT_TIMEOUT))
        except Exception as e:  # noqa: BLE001 - a scheduler going away: its futures tell the rest
            self.log.debug(f"dask: asking for the workers: {type(e).__name__}: {e}")
            return None

    def _no_workers(self, what: str, then: str) -> DeffeError:
        return DeffeError(f"the Dask scheduler at {self.address} {what}", file=self._file,
                          where="framework.dask.address", hint=f"{_start_workers_hint(self.address)}; {then}")

    def _dispatch(self) -> None:
        """Send queued samples to the cluster while fewer than ``jobs`` are there: the rest wait here, where
        cancel_pending can still drop them."""
        if self._queue and self.client.status not in ("running", "connecting"):
            raise self._lost()
        while self._queue and len(self._running) < self.jobs:
            task_id, payload, key = self._queue.popleft()
            name = f"deffe-{key if key is not None else 'sample'}-{self._token}-{task_id}"
            call = cloudpickle.dumps(_Call(_run_sample, self._token, self._blob, payload, self.timeout,
                                           f"{name}-started"))
            future = self.client.submit(pickle.loads, call, key=name, pure=False, retries=0)
            self._running[future.key] = (task_id, future, time.monotonic())
            if self._completed is not None:
                self._completed.add(future)

    def _scheduler_gone(self) -> bool:
        """True when the client gave up reconnecting to the scheduler (a restarted scheduler that is back in
        time only cancelled what it had)."""
        deadline = time.monotonic() + CONNECT_TIMEOUT + 5
        while self.client.status == "connecting" and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.client.status != "running"

    def _lost(self) -> DeffeError:
        # the whole run stops: the samples in flight stay 'running' in the store and a resumed run evaluates
        # them, where failing them would have spent the driver's retries on a network outage
        at = f" at {self.address}" if self.address else ""
        return DeffeError(f"lost the connection to the Dask scheduler{at}",
                          file=self._file if self.address else None,
                          where="framework.dask.address" if self.address else None,
                          hint="the samples it was running are evaluated again when the run is resumed")

    @staticmethod
    def _outcome(future, seconds: float) -> Result:
        if future.status == "finished":
            try:
                return future.result()
            except Exception as e:  # noqa: BLE001 - the result was lost on the way back (its worker died)
                return Result("failed", error=f"{WORKER_DIED} before its result was fetched ({e})",
                              duration=seconds)
        if future.status in ("cancelled", "lost"):
            return Result("failed", error=f"the Dask task was {future.status} (the scheduler restarted?)",
                          duration=seconds)
        error = future.exception()
        if isinstance(error, KilledWorker):
            return Result("failed", error=f"{WORKER_DIED} ({error})", duration=seconds)
        crash = f"{type(error).__name__}: {error}"
        return Result("failed", error=f"the Dask task failed: {crash}", crash=crash, duration=seconds)
