"""Event traces of one simulated step, exportable as Chrome trace JSON.

Open the file in chrome://tracing or https://ui.perfetto.dev: one process
row for the devices (a thread per device) and one for the channels (a thread
per channel); every task and transfer hop is a complete ("X") event.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from .output import write_output

KIND_NAMES = {0: "forward", 1: "backward", 2: "update", 3: "activation", 4: "gradient", 5: "all-reduce"}


@dataclass
class TraceEvent:
    kind: str          # forward | backward | update | activation | gradient | all-reduce
    resource: str      # device or channel name
    name: str          # layer name (or bucket name)
    micro_batch: int   # micro-batch (all-reduce: ring step)
    replica: int
    start: float       # seconds
    end: float         # seconds
    src: str = ""      # transfers: sending device of this hop
    dst: str = ""      # transfers: receiving device of this hop
    bytes: float = 0.0


@dataclass
class Trace:
    events: list[TraceEvent]

    @classmethod
    def from_arrays(cls, ints: np.ndarray, floats: np.ndarray, layer_names: list[str],
                    bucket_names: list[str], device_names: list[str], channel_names: list[str]) -> "Trace":
        events = []
        for row_i, row_f in zip(ints.tolist(), floats.tolist()):
            kind, res, obj, mb, rep, src, dst = row_i
            is_task = kind <= 2
            if kind in (2, 5):
                name = bucket_names[obj] if obj < len(bucket_names) else f"bucket{obj}"
            else:
                name = layer_names[obj]
            events.append(TraceEvent(
                kind=KIND_NAMES[kind], resource=device_names[res] if is_task else channel_names[res],
                name=name, micro_batch=mb, replica=rep, start=row_f[0], end=row_f[1],
                src="" if is_task else device_names[src], dst="" if is_task else device_names[dst],
                bytes=row_f[2]))
        events.sort(key=lambda e: (e.start, e.end))
        return cls(events)

    def to_chrome(self) -> dict:
        devices = sorted({e.resource for e in self.events if e.kind in ("forward", "backward", "update")})
        channels = sorted({e.resource for e in self.events if e.kind not in ("forward", "backward", "update")})
        tid = {name: i for i, name in enumerate(devices)}
        tid.update({name: i for i, name in enumerate(channels)})
        out: list[dict] = [
            {"name": "process_name", "ph": "M", "pid": 0, "tid": 0, "args": {"name": "devices"}},
            {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "channels"}},
        ]
        out += [{"name": "thread_name", "ph": "M", "pid": 0, "tid": tid[n], "args": {"name": n}} for n in devices]
        out += [{"name": "thread_name", "ph": "M", "pid": 1, "tid": tid[n], "args": {"name": n}} for n in channels]
        for e in self.events:
            task = e.kind in ("forward", "backward", "update")
            args = {"micro_batch": e.micro_batch, "replica": e.replica}
            if not task:
                args.update({"src": e.src, "dst": e.dst, "bytes": e.bytes})
            out.append({"name": f"{e.kind} {e.name}", "cat": e.kind, "ph": "X",
                        "ts": e.start * 1e6, "dur": (e.end - e.start) * 1e6,
                        "pid": 0 if task else 1, "tid": tid[e.resource], "args": args})
        return {"traceEvents": out, "displayTimeUnit": "ms"}

    def save(self, path: str | os.PathLike) -> None:
        """The Chrome trace JSON to `path`, whole or not at all (see simulator/output.py)."""
        def write(name: str) -> None:
            with open(name, "w", encoding="utf-8") as f:
                json.dump(self.to_chrome(), f)
        write_output(path, write)
