"""Small traces the remat tests share (written here, never taken from DTR's logs)."""
from __future__ import annotations

import json
from pathlib import Path

from simulator.remat import OpTrace, TraceBuilder


def chain(n: int, size: int = 1, cost: float = 1.0) -> OpTrace:
    """Forward x1..xn of unit ops, then the backward of each, as autograd holds them:
    x[i] is kept until the gradient step that reads it."""
    b = TraceBuilder(name=f"chain{n}")
    xs = [b.constant("x0", size)]
    for i in range(1, n + 1):
        (x,) = b.call(f"f{i}", [xs[-1]], [(size, None)], cost)
        xs.append(x)
    (g,) = b.call("loss", [xs[n]], [(size, None)], cost)
    b.release(xs[n])
    for i in range(n, 0, -1):
        (g_prev,) = b.call(f"b{i}", [xs[i - 1], g], [(size, None)], cost)
        b.release(g)
        b.release(xs[i - 1])
        g = g_prev
    b.release(g)
    return b.build()


def write_dtr_log(path: Path, layers: int = 6, batch_bytes: int = 4_000_000) -> Path:
    """A small log in DTR's JSON-lines format: a warm-up run, then START, constants
    (weights), a forward of conv-like CALLs with a view (ALIAS 0), in-place ReLUs
    (MUTATE), COPYs of handles, then a backward, and RELEASEs."""
    lines: list[dict] = []
    name = iter(f"x{k}" for k in range(10_000))

    def emit(**kw):
        lines.append(kw)

    # a warm-up that the loader must skip (before the last START)
    emit(INSTRUCTION="ANNOTATE", ANNOTATION="START")
    emit(INSTRUCTION="CONSTANT", NAME="warm")
    emit(INSTRUCTION="MEMORY", NAME="warm", MEMORY="123")
    emit(INSTRUCTION="ANNOTATE", ANNOTATION="START")
    inp = next(name)
    emit(INSTRUCTION="CONSTANT", NAME=inp)
    emit(INSTRUCTION="MEMORY", NAME=inp, MEMORY=str(batch_bytes))
    weights = []
    for i in range(layers):
        w = next(name)
        emit(INSTRUCTION="CONSTANT", NAME=w)
        emit(INSTRUCTION="MEMORY", NAME=w, MEMORY="4096")
        weights.append(w)
    acts = [inp]
    held = []
    for i in range(layers):
        out = next(name)
        emit(INSTRUCTION="CALL", NAME="conv", ARGS=[acts[-1], weights[i]], RESULT=[out], TIME=str(1_000_000 + 1000 * i))
        emit(INSTRUCTION="MEMORY", NAME=out, MEMORY=str(batch_bytes))
        emit(INSTRUCTION="ALIAS", NAME=out, ALIAS="-1")
        emit(INSTRUCTION="MUTATE", NAME="relu_", ARGS=[out], MUTATE=[0], TIME="200000")
        view = next(name)
        emit(INSTRUCTION="CALL", NAME="view", ARGS=[out], RESULT=[view], TIME="1000")
        emit(INSTRUCTION="MEMORY", NAME=view, MEMORY=str(batch_bytes))
        emit(INSTRUCTION="ALIAS", NAME=view, ALIAS="0")
        saved = next(name)
        emit(INSTRUCTION="COPY", DST=saved, SRC=view)  # autograd keeps the view for the backward
        emit(INSTRUCTION="RELEASE", NAME=view)
        held.append(saved)
        acts.append(out)
    grad = next(name)
    emit(INSTRUCTION="ANNOTATE", ANNOTATION="BACKWARD")
    emit(INSTRUCTION="CALL", NAME="loss_backward", ARGS=[acts[-1]], RESULT=[grad], TIME="50000")
    emit(INSTRUCTION="MEMORY", NAME=grad, MEMORY=str(batch_bytes))
    emit(INSTRUCTION="ALIAS", NAME=grad, ALIAS="-1")
    for i in range(layers - 1, -1, -1):
        g_in, g_w = next(name), next(name)
        emit(INSTRUCTION="CALL", NAME="conv_backward", ARGS=[grad, held[i], weights[i]], RESULT=[g_in, g_w],
             TIME=str(2_000_000 + 500 * i))
        emit(INSTRUCTION="MEMORY", NAME=g_in, MEMORY=str(batch_bytes))
        emit(INSTRUCTION="ALIAS", NAME=g_in, ALIAS="-1")
        emit(INSTRUCTION="MEMORY", NAME=g_w, MEMORY="4096")
        emit(INSTRUCTION="ALIAS", NAME=g_w, ALIAS="-1")
        emit(INSTRUCTION="RELEASE", NAME=grad)
        emit(INSTRUCTION="RELEASE", NAME=held[i])
        emit(INSTRUCTION="RELEASE", NAME=acts[i + 1])
        grad = g_in
    emit(INSTRUCTION="RELEASE", NAME=grad)
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path
