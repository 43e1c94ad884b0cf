"""Model training in a process of its own, for the asynchronous exploration.

Training in a thread of the driver would share the interpreter lock with the thread that searches the
model for the next points: on two cores both ran five to ten times slower than alone (measured with
bench/executors.py), and the workers waited for the proposals. So the model trains in a child process
started once per exploration ('spawn': a fork of a driver with threads running could inherit a held
lock). The child builds its own instance of the model plugin from the config, as an evaluation worker
builds its plugins (remote.py), and keeps it from one training to the next (a model that decides from
what it saw before, such as ``auto``, goes on deciding). After each fit it sends back the instance's
state and what the driver records (training.ModelTrainer.fit); the driver copies the state into its
own instance, the one the exploration predicts with. The reference to the framework object is not
sent: each side's instance keeps its own (pickle's persistent ids).

The child ignores Ctrl-C: a terminal sends it to the driver's whole process group, this child included,
and the driver decides (it stops the child in ``close``, as it stops its evaluation workers). SIGINT is
blocked from the child's first instruction (the mask is inherited through the spawn's exec), so that a
Ctrl-C while the child starts up does not print a traceback either. The child ends when the driver closes
it, when the driver's end of the pipe closes (the driver died), or, at the latest, when the driver exits
(a daemonic process).
"""
from __future__ import annotations

import io
import logging
import multiprocessing as mp
import pickle
import signal
import traceback
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from typing import Any

from .errors import DeffeError, exit_status

_FRAMEWORK = "framework"   # the persistent id standing for the framework object in a pickled state


class _Out(pickle.Pickler):
    def __init__(self, buf: io.BytesIO, fw: Any):
        super().__init__(buf, protocol=pickle.HIGHEST_PROTOCOL)
        self.fw = fw

    def persistent_id(self, obj: Any) -> str | None:
        return _FRAMEWORK if obj is self.fw else None


class _In(pickle.Unpickler):
    def __init__(self, buf: io.BytesIO, fw: Any):
        super().__init__(buf)
        self.fw = fw

    def persistent_load(self, pid: Any) -> Any:
        if pid != _FRAMEWORK:
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return self.fw


def _child(conn: Connection, config: Any, args: Any, run_dir: Any, seed: int, explore_index: int,
           threads: int) -> None:
    """The training process: one model instance, fitted on each TrainingData the driver sends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the driver decides what happens on Ctrl-C (module doc)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    from .context import Budget, Framework
    from .plugins import make_plugin
    from .threads import limit
    from .training import ModelTrainer
    limit(threads)
    failure = None
    try:
        fw = Framework(config, args, run_dir, seed, logging.getLogger("deffe.training"), threads)
        explore = config.explores[explore_index]
        fw.enter(explore, Budget())
        model = make_plugin("ml_model", config.section("model")["plugin"], fw, config.dir, config.python_paths(),
                            file=config.data.get("__origin__"))
        model.Initialize()
        trainer = ModelTrainer(fw, None, run_dir, len(config.explores) > 1, dry_run=True)
    except BaseException as e:  # noqa: BLE001 - the answer to every fit: the driver stops with it
        failure = _failure(e, "Initialize")
    while True:
        try:
            data = conn.recv()
        except (EOFError, OSError):
            return
        if data is None:
            return
        if failure is not None:
            answer = failure   # already ("error" | "deffe", payload), as a failed fit answers
        else:
            try:
                fitted = trainer.fit(model, explore, data)
            except BaseException as e:  # noqa: BLE001 - a plugin's failure is the driver's error to report
                answer = _failure(e, None)
            else:
                answer = _state(model, fitted, fw)
        try:
            conn.send(answer)
        except OSError:   # the driver died while the model trained: nobody to answer
            return


def _state(model: Any, fitted: Any, fw: Any) -> tuple[str, Any]:
    """The answer for a fit done: the trained state pickled; or, when it cannot be (a lock, an open file, a
    generator among the model's attributes), which attribute, not a failure of Run()."""
    try:
        buf = io.BytesIO()
        _Out(buf, fw).dump((vars(model), fitted))
        return "ok", buf.getvalue()
    except Exception as e:  # noqa: BLE001 - whatever pickle raises
        for key, value in vars(model).items():
            try:
                _Out(io.BytesIO(), fw).dump(value)
            except Exception as part:  # noqa: BLE001
                return "state", (key, f"{type(part).__name__}: {part}")
        return "state", (None, f"{type(e).__name__}: {e}")


def _failure(e: BaseException, method: str | None) -> tuple[str, Any]:
    """The answer for a failed fit: a DeffeError (a contract check names the plugin and the place) travels
    whole, to be raised again as it is; any other exception is the plugin's, named as the driver names it."""
    if isinstance(e, DeffeError):
        return "deffe", (e.what, e.file, e.where, e.hint)
    return "error", (method, f"{type(e).__name__}: {e}", traceback.format_exc(limit=-4))


class Fit:
    """One training under way in the training process (the interface of a Future the loop uses)."""

    def __init__(self, owner: "TrainingProcess"):
        self.owner = owner

    def done(self) -> bool:
        return self.owner.conn.poll()

    def result(self) -> dict | None:
        """Wait for the fit; copy the trained state into the driver's model; what `ModelTrainer.record`
        needs (None if there were too few points to learn from)."""
        return self.owner.receive()


class TrainingProcess:
    def __init__(self, model: Any, fw: Any, config: Any, args: Any, run_dir: Any, explore_index: int,
                 threads: int):
        self.model, self.fw, self.config = model, fw, config
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_child, args=(child, config, args, run_dir, fw.seed, explore_index,
                                                        threads), daemon=True, name="deffe-training")
        # SIGINT blocked in this thread while it starts the child, which inherits the mask (module doc); a
        # Ctrl-C meanwhile waits, or reaches another thread of the driver, and is not lost. The resource tracker
        # first: starting it, multiprocessing blocks SIGINT and then unblocks it, whatever it was before
        resource_tracker.ensure_running()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        child.close()

    def fit(self, data: Any) -> Fit:
        self.conn.send(data)
        return Fit(self)

    def _recv(self) -> tuple[str, Any]:
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            code = self.process.exitcode
            raise DeffeError(f"the model's training process died: it {exit_status(code)}", where="model.plugin",
                             hint="run without framework.asynchronous to see the error in the driver") from None

    def receive(self) -> dict | None:
        kind, payload = self._recv()
        if kind == "deffe":
            what, file, where, hint = payload
            raise DeffeError(what, file=file, where=where, hint=hint)
        if kind == "error":
            method, what, trace = payload
            self.fw.log.debug(f"the training process's traceback:\n{trace}")
            plugin = self.config.section("model")["plugin"]
            step = f"in {method}()" if method else "while training (Run(), or Predict() on the hold-out)"
            raise DeffeError(f"ml_model plugin '{plugin}' failed {step} in the training process: {what}",
                             file=self.config.data.get("__origin__"), where="model.plugin",
                             hint="run with -debug for the traceback")
        if kind == "state":
            attribute, what = payload
            plugin = self.config.section("model")["plugin"]
            held = f"its attribute '{attribute}'" if attribute else "its state"
            raise DeffeError(f"ml_model plugin '{plugin}' trained, but {held} cannot be sent back to the driver: "
                             f"{what}", file=self.config.data.get("__origin__"), where="model.plugin",
                             hint="with -async the model trains in a process of its own and its attributes are "
                                  "pickled back to the driver: keep what cannot be pickled (a lock, an open file) "
                                  "out of them (make it where it is used), or run without -async")
        state, fitted = _In(io.BytesIO(payload), self.fw).load()
        vars(self.model).update(state)
        return fitted

    def close(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2)
        self.conn.close()
