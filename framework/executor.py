"""Running evaluations: local worker processes with per-sample timeouts.

Each worker is a forked process in its own session, so that a sample that
overruns its timeout is stopped together with every process it started, and a
sample that crashes its worker (segfault, ``os._exit``) costs that sample only:
the worker is replaced and the run goes on. Results come back as they finish,
in completion order; the driver commits each one to the store at once.

What an evaluation started and left running when it returned (a helper, ``cmd &``
in a script) is stopped by the worker after it sent the result: SIGTERM, then
SIGKILL after `GRACE` seconds (`stop_leftovers`). They are the processes of the
worker's session, found in ``/proc`` (Linux), whatever their process group; a
process that started a session of its own (``setsid``, a daemon) has left on
purpose and is not followed. Where there is no ``/proc``, a timeout or the end of
the run stops the worker's process group. The worker says when it starts a sample, after that stopping:
a sample's timeout counts from there, never the time spent on its predecessor's leftovers.

A driver killed outright (``kill -9``, the out-of-memory killer) cannot stop
anything: its workers die with it (``PR_SET_PDEATHSIG``), and a `_Watchdog`, a
small process forked with the first worker in a session of its own, stops what
their samples still run: it learns each worker's session through a pipe from
the driver and acts when the pipe reports the driver's end (Linux).

With ``inline=True`` (``-debug``) samples run in the driver's own process, so
that tracebacks and debuggers work; timeouts are not enforced then.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
import traceback
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Iterator

from .errors import exit_status
from .evaluation import CRASHED_IN
from .protocols import EvaluationFailed, Result
from .threads import limit as limit_threads

TaskFn = Callable[[Any], Result]


def _die_with_parent() -> None:
    """Linux: the worker is killed when the driver dies (kill -9 included)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _become_subreaper() -> bool:
    """Linux: the descendants this process's children leave orphaned become its children (not init's); whether
    it is so. Then a process of the worker's session is always a child of the worker or a descendant of one."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0   # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _has_children() -> bool | None:
    """Whether this process has a child (ended ones not yet waited for included), from the kernel's list of
    each of its threads' children; None where the kernel does not keep that list."""
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children", "rb") as fh:
                if fh.read().strip():
                    return True
    except OSError:
        return None
    return False


_SUBREAPER = False   # this process (a worker) is a subreaper: see _become_subreaper

GRACE = 1.0   # seconds a process left behind by an evaluation has between SIGTERM and SIGKILL
STARTED = "started"   # what a worker sends the driver as it starts a sample (before the sample's result)


def left_by(leader: int) -> list[int]:
    """The live processes of the session that `leader` started (a worker: `os.setsid`), whatever their process
    group, `leader` left out; none where there is no /proc (Linux). A session id stays taken while a process has
    it: a worker's session is still its own after it died."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for name in names:
        if not name.isdigit() or int(name) == leader:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()   # the command (in parentheses) may hold anything
            if int(fields[3]) == leader and fields[0] not in (b"Z", b"X"):   # session; zombies have ended
                found.append(int(name))
        except (OSError, IndexError, ValueError):
            continue   # gone meanwhile
    return found


def _signal_all(pids: list[int], signum: int) -> set[int]:
    """Send `signum` to each of `pids`; those it may not signal (another user's: a setuid program)."""
    denied = set()
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError:
            denied.add(pid)
    return denied


def _reap() -> None:
    """Collect the exit status of the worker's children that ended."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_leftovers(grace: float = GRACE) -> int:
    """In a worker, after an evaluation: stop every process it started and left running (SIGTERM, then SIGKILL
    after ``grace`` seconds) and reap them; the worker itself goes on. Returns how many there were."""
    if _SUBREAPER and _has_children() is False:
        # nothing started by the evaluation is alive (an orphan of it would be a child of this subreaper): the
        # scan of every process of the machine (12 ms with 100 of them, after every sample) is not needed
        return 0
    me = os.getpid()
    left = left_by(me)
    if not left:
        _reap()   # a child that ended and was never waited for: no zombie kept for the rest of the run
        return 0
    count = len(left)
    denied = _signal_all(left, signal.SIGTERM)   # out of reach: not waited for
    _signal_all(left, signal.SIGCONT)   # a stopped process acts on SIGTERM once it runs
    killed_at = time.monotonic() + grace
    give_up = killed_at + 5.0
    while True:
        _reap()
        left = [p for p in left_by(me) if p not in denied]
        if not left or time.monotonic() > give_up:
            _reap()   # those that ended since
            return count
        if time.monotonic() >= killed_at:
            _signal_all(left, signal.SIGKILL)
        time.sleep(0.02)


def stop_sessions(leaders: list[int], grace: float = GRACE) -> None:
    """Stop the sessions the `leaders` started (workers whose driver died): the leaders at once, the rest of
    every session with SIGTERM, then SIGKILL after ``grace`` seconds, until none is left (at most ``grace`` + 5
    s, whatever the number of sessions)."""
    _signal_all(leaders, signal.SIGKILL)

    def members() -> list[int]:
        return [p for leader in leaders for p in left_by(leader)]
    left = members()
    if not left:
        return
    denied = _signal_all(left, signal.SIGTERM)
    _signal_all(left, signal.SIGCONT)
    killed_at = time.monotonic() + grace
    give_up = killed_at + 5.0
    while True:
        left = [p for p in members() if p not in denied]
        if not left or time.monotonic() > give_up:
            return
        if time.monotonic() >= killed_at:
            _signal_all(left, signal.SIGKILL)
        time.sleep(0.02)


_WATCHDOG_FDS: set[int] = set()   # the driver's ends of every watchdog's pipe (several executors at once)


def _close_watchdog_fds() -> None:
    """In a forked child (a worker, another watchdog): holding a watchdog's pipe would hide the driver's end."""
    for fd in list(_WATCHDOG_FDS):
        try:
            os.close(fd)
        except OSError:
            pass
    _WATCHDOG_FDS.clear()


class _Watchdog:
    """A process that stops the samples' sessions when the driver dies without stopping them (kill -9).

    The driver keeps the write end of a pipe and writes ``+pid`` for each worker it starts (a worker leads the
    session of its sample's processes), ``-pid`` for a worker it stopped itself, ``q`` at a clean end. Nothing
    else holds that end (the workers close it), so the watchdog reads end of file exactly when the driver is
    gone: it then stops the sessions it was told about (`stop_sessions`) and ends. It runs in a session of its
    own, out of reach of the terminal's Ctrl-C and of a signal sent to the driver's process group."""

    def __init__(self, close_in_child: list[Connection]):
        read_fd, self.fd = os.pipe()   # not inherited by what the processes exec
        self.pid = os.fork()
        if self.pid == 0:   # pragma: no cover - the child process
            try:
                os.close(self.fd)
                _close_watchdog_fds()
                for c in close_in_child:
                    c.close()
                os.setsid()
                for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(signum, signal.SIG_IGN if signum == signal.SIGINT else signal.SIG_DFL)
                _watch(read_fd)
            finally:
                os._exit(0)
        os.close(read_fd)
        _WATCHDOG_FDS.add(self.fd)

    def _say(self, word: str) -> None:
        try:
            os.write(self.fd, word.encode() + b"\n")
        except OSError:
            pass   # the watchdog is gone (killed): nothing to tell it

    def watch(self, pid: int) -> None:
        self._say(f"+{pid}")

    def forget(self, pid: int) -> None:
        self._say(f"-{pid}")

    def close(self) -> None:
        """A clean end: the sessions are stopped already; the watchdog ends without touching anything."""
        self._say("q")
        _WATCHDOG_FDS.discard(self.fd)
        os.close(self.fd)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _watch(fd: int) -> None:
    sessions: set[int] = set()
    pending = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except InterruptedError:
            continue
        except OSError:
            chunk = b""
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line == b"q":
                return
            if line[:1] == b"+":
                sessions.add(int(line[1:]))
            elif line[:1] == b"-":
                sessions.discard(int(line[1:]))
    stop_sessions(sorted(sessions))   # the driver died: nothing it started outlives it


def _worker_main(conn: Connection, inherited: list[Connection], task_fn: TaskFn) -> None:
    for c in inherited:  # the driver's ends of every pipe: holding them would hide the driver's death
        c.close()
    _close_watchdog_fds()   # the watchdogs' pipes: the same
    os.setsid()  # own session and process group: a timeout kills the sample's children too
    _die_with_parent()
    global _SUBREAPER
    _SUBREAPER = _become_subreaper()   # so that after a sample that started nothing, nothing is searched for
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides what happens on Ctrl-C
    for signum in (signal.SIGTERM, signal.SIGHUP):   # the driver's handlers (cli.py) are not the worker's
        if callable(signal.getsignal(signum)):
            signal.signal(signum, signal.SIG_DFL)
    limit_threads(1)  # -jobs workers in parallel: one core each
    # the driver starts its workers as daemons (stopped with it at exit), and multiprocessing refuses children to
    # a daemon ("daemonic processes are not allowed to have children"): an evaluation of the user's may run a
    # ProcessPoolExecutor. What it starts is in the worker's session, stopped as the sample's other processes are
    # (after the sample, on its timeout, by the watchdog when the driver is killed)
    try:
        mp.current_process().daemon = False
    except AssertionError:   # (only the driver's side of the process object could say it was started)
        pass
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        task_id, payload = msg
        try:   # the sample's timeout counts from here, not from the driver's send: this worker may have spent
            conn.send(STARTED)   # up to GRACE + 5 s stopping what its previous sample left running
        except (BrokenPipeError, OSError):
            return
        result = safe_call(task_fn, payload, in_worker=True)
        try:
            conn.send((task_id, result))
        except (BrokenPipeError, OSError):
            return
        finally:
            stop_leftovers()   # the result is sent: what the evaluation left running goes (the worker stays)


def safe_call(task_fn: TaskFn, payload: Any, in_worker: bool = False) -> Result:
    """The result of one task; any exception is the sample's failure. A KeyboardInterrupt too in a worker
    process, which ignores Ctrl-C (the driver decides): there only the evaluation itself can raise it. In the
    driver's own process (-debug) it is a Ctrl-C and stops the run."""
    t0 = time.perf_counter()
    try:
        result = task_fn(payload)
    except EvaluationFailed as e:
        result = Result("failed", error=str(e))
    except BaseException as e:  # noqa: BLE001 - any failure of one sample is that sample's result
        if isinstance(e, KeyboardInterrupt) and not in_worker:
            raise
        tb = traceback.format_exc(limit=-6)
        crash = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        result = Result("failed", error=f"{crash}\n{tb}", crash=crash,
                        block=getattr(e, CRASHED_IN, "evaluate"))
    if result.duration is None:
        result.duration = time.perf_counter() - t0
    return result


@dataclass
class _Worker:
    process: Any
    conn: Connection
    task: tuple[int, float | None] | None = None  # (task id, start time: None until the worker says it started)


def evaluation_timeout(timeout: float | None) -> float | None:
    """The evaluate.timeout in seconds, or None for no limit: 0, none, and anything beyond 1e9 s (31 years;
    1e300 overflowed the operating system's wait: OverflowError mid-run)."""
    return float(timeout) if timeout and 0 < timeout < 1e9 else None


class LocalExecutor:
    def __init__(self, task_fn: TaskFn, jobs: int = 1, timeout: float | None = None, inline: bool = False):
        self.task_fn = task_fn
        self.jobs = max(1, int(jobs))
        self.timeout = evaluation_timeout(timeout)
        self.inline = inline
        self._ctx = mp.get_context("fork")
        self._workers: list[_Worker] = []
        self._queue: deque[tuple[int, Any]] = deque()
        self._next_id = 0
        self._done: deque[tuple[int, Result]] = deque()
        self._watchdog: _Watchdog | None = None

    # ---- lifecycle
    def _spawn(self) -> _Worker:
        if self._watchdog is None:
            self._watchdog = _Watchdog([w.conn for w in self._workers])
        parent, child = self._ctx.Pipe(duplex=True)
        inherited = [w.conn for w in self._workers] + [parent]
        p = self._ctx.Process(target=_worker_main, args=(child, inherited, self.task_fn), daemon=True)
        p.start()
        child.close()
        self._watchdog.watch(p.pid)   # before it runs any sample
        return _Worker(p, parent)

    def _ensure_workers(self) -> None:
        # as many workers as there is work for, up to -jobs: a Deffe config's "batch_size": "400" does not
        # start 400 processes for a step of 10
        busy = sum(1 for w in self._workers if w.task is not None)
        while len(self._workers) < min(self.jobs, len(self._queue) + busy):
            self._workers.append(self._spawn())

    def close(self) -> None:
        for w in self._workers:
            try:
                if w.task is None:
                    w.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        deadline = time.time() + 2 + GRACE   # an idle worker may be stopping what its last sample left
        for w in self._workers:
            if w.task is not None:
                self._kill(w)
            w.process.join(max(0.0, deadline - time.time()))
            if w.process.is_alive():
                self._kill(w)
            else:   # nothing an evaluation started outlives the run
                _signal_all(left_by(w.process.pid), signal.SIGKILL)
            w.conn.close()
        self._workers = []
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def _kill(w: _Worker) -> None:
        """Kill a worker with every process its sample started: its session, whatever their process group."""
        pid = w.process.pid
        left = left_by(pid)
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # not (yet) a group leader: kill the worker itself
        _signal_all(left, signal.SIGKILL)
        if w.process.is_alive():
            w.process.kill()
        w.process.join(1)
        _signal_all(left_by(pid), signal.SIGKILL)   # started meanwhile, in its session

    # ---- work
    def submit(self, payload: Any, key: str | None = None) -> int:
        """Queue one evaluation; ``key`` (the sample's store id) matters to remote executors only."""
        task_id = self._next_id
        self._next_id += 1
        self._queue.append((task_id, payload))
        return task_id

    def pending(self) -> int:
        return len(self._queue) + sum(1 for w in self._workers if w.task is not None) + len(self._done)

    def results(self) -> Iterator[tuple[int, Result]]:
        """Results of everything submitted, as they complete."""
        if self.inline:
            while self._queue:
                task_id, payload = self._queue.popleft()
                yield task_id, safe_call(self.task_fn, payload)
            return
        self._ensure_workers()
        while self._queue or any(w.task is not None for w in self._workers):
            self._dispatch()
            yield from self._collect()

    def kill_running(self) -> int:
        """Kill the process group of every sample running now (safe from another thread: it only signals;
        the thread collecting results then sees each worker die); returns how many."""
        killed = 0
        for w in list(self._workers):
            if w.task is not None:
                left = left_by(w.process.pid)
                try:
                    os.killpg(w.process.pid, signal.SIGKILL)
                    killed += 1
                except (ProcessLookupError, PermissionError):
                    pass
                _signal_all(left, signal.SIGKILL)
        return killed

    def cancel_pending(self) -> int:
        """Drop queued (not started) tasks; returns how many."""
        n = len(self._queue)
        self._queue.clear()
        return n

    def _dispatch(self) -> None:
        for i, w in enumerate(self._workers):
            if not self._queue:
                return
            if w.task is None:
                task_id, payload = self._queue.popleft()
                try:
                    w.conn.send((task_id, payload))
                    w.task = (task_id, None)
                except (BrokenPipeError, OSError):
                    self._queue.appendleft((task_id, payload))
                    self._replace(i)

    def _replace(self, i: int) -> None:
        old = self._workers[i]
        if old.process.is_alive():
            self._kill(old)
        else:   # it died (a crash, os._exit): what its sample started is still in its session
            _signal_all(left_by(old.process.pid), signal.SIGKILL)
        old.conn.close()
        if self._watchdog is not None:
            self._watchdog.forget(old.process.pid)
        self._workers[i] = self._spawn()

    def _collect(self) -> Iterator[tuple[int, Result]]:
        busy = [(i, w) for i, w in enumerate(self._workers) if w.task is not None]
        if not busy:
            return
        wait_for = None
        starts = [w.task[1] for _, w in busy if w.task[1] is not None]
        if self.timeout is not None and starts:
            wait_for = max(0.0, min(starts) + self.timeout - time.monotonic())
        handles = [w.conn for _, w in busy] + [w.process.sentinel for _, w in busy]
        ready = wait(handles, timeout=wait_for)
        now = time.monotonic()
        for i, w in busy:
            task_id, started = w.task
            ran = now - started if started is not None else 0.0
            if w.conn in ready:
                try:
                    message = w.conn.recv()
                except (EOFError, OSError):
                    w.process.join(1)
                    code = w.process.exitcode
                    self._replace(i)
                    yield task_id, Result("failed", error=f"the evaluation process died: it {exit_status(code)}",
                                          duration=ran)
                    continue
                if message == STARTED:   # its clock starts now; the result follows on the same pipe
                    w.task = (task_id, time.monotonic())
                    continue
                got_id, result = message
                w.task = None
                yield got_id, result
            elif w.process.sentinel in ready:
                w.process.join(1)
                code = w.process.exitcode
                self._replace(i)
                yield task_id, Result("failed", error=f"the evaluation process died: it {exit_status(code)}",
                                      duration=ran)
            elif self.timeout is not None and started is not None and ran >= self.timeout:
                self._replace(i)  # kills the worker's whole process group
                yield task_id, Result("timeout", error=f"the evaluation took longer than {self.timeout:g} s "
                                                         "and was stopped", duration=ran)
