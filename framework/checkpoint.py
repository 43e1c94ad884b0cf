"""Model checkpoints: one file per trained model, with what it was trained under.

File layout (so the metadata can be read and checked before the weights are):

    b"DEFFE-MODEL\\n"   magic line
    8 bytes          length of the header, big-endian
    header           JSON: `CheckpointMeta`
    payload          the model plugin's own bytes (weights, scalers, ...)

The header records the model plugin, the encoding signature (feature names,
knob domains, families), the cost names and a digest of the config sections a
model depends on. Loading a checkpoint into a config whose features or costs
differ is a `DeffeError` naming the first difference; a different digest alone
(another network, another evaluator, other training settings) is allowed, since
fine-tuning a model on another problem is what transfer learning is for.

The payload is Python pickle data: load checkpoints only from sources you trust,
as with ``torch.load``.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import DeffeError

MAGIC = b"DEFFE-MODEL\n"
FORMAT = 1
DIGEST_SECTIONS = ("knobs", "scenarios", "costs", "model")


@dataclass
class CheckpointMeta:
    plugin: str                                  # the model plugin that wrote it (torch_mlp, ...)
    signature: dict                              # Encoding.signature() of the space it was trained on
    costs: list[str]
    config_digest: str = ""
    explore: str = ""
    step: int | None = None
    samples: int | None = None                   # successful samples it was trained on
    created: float = field(default_factory=time.time)
    format: int = FORMAT
    info: dict = field(default_factory=dict)     # plugin facts shown to people (architecture, ...)
    history: list[dict] = field(default_factory=list)  # per-epoch losses of its last training

    @property
    def features(self) -> list[str]:
        return list(self.signature.get("features", []))


def config_digest(config: Any) -> str:
    """Digest of the config sections a trained model depends on."""
    return config.digest(*DIGEST_SECTIONS)


def write_checkpoint(path: str | Path, meta: CheckpointMeta, payload: bytes) -> Path:
    """Write atomically (a crash leaves the previous file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = json.dumps(asdict(meta), default=_jsonable).encode()
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(MAGIC)
        fh.write(len(header).to_bytes(8, "big"))
        fh.write(header)
        fh.write(payload)
    os.replace(tmp, path)
    return path


def _jsonable(x: Any) -> Any:
    try:
        import numpy as np
        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, np.ndarray):
            return x.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(x)


def _open(path: str | Path, shown: str | None):
    shown = shown or str(path)
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise DeffeError("checkpoint file not found", file=shown) from None
    except IsADirectoryError:
        raise DeffeError("is a directory, not a checkpoint file", file=shown) from None
    except OSError as e:
        raise DeffeError(f"cannot read the checkpoint ({e.strerror})", file=shown) from None
    if fh.read(len(MAGIC)) != MAGIC:
        fh.close()
        raise DeffeError("not a model checkpoint of this framework", file=shown,
                         hint="give a .ckpt file written by a training run (run directory, checkpoints/)")
    try:
        size = int.from_bytes(fh.read(8), "big")
        meta = CheckpointMeta(**json.loads(fh.read(size)))
    except (ValueError, TypeError) as e:
        fh.close()
        raise DeffeError(f"the checkpoint's header is damaged ({e})", file=shown) from None
    if meta.format != FORMAT:
        fh.close()
        raise DeffeError(f"checkpoint format {meta.format} is not the supported format {FORMAT}", file=shown)
    return fh, meta


def read_meta(path: str | Path, shown: str | None = None) -> CheckpointMeta:
    fh, meta = _open(path, shown)
    fh.close()
    return meta


def read_checkpoint(path: str | Path, shown: str | None = None) -> tuple[CheckpointMeta, bytes]:
    fh, meta = _open(path, shown)
    with fh:
        return meta, fh.read()


def incompatibility(meta: CheckpointMeta, signature: dict, costs: list[str],
                    plugin: str | None = None) -> str | None:
    """Why a checkpoint cannot serve a config with this encoding signature and these costs, or None."""
    if plugin is not None and meta.plugin != plugin:
        return f"it holds a '{meta.plugin}' model, the config's model plugin is '{plugin}'"
    if list(meta.costs) != list(costs):
        return f"it predicts the costs {', '.join(meta.costs)}, the config has {', '.join(costs)}"
    mine = meta.signature
    if mine.get("version") != signature.get("version"):
        return (f"it was trained under feature encoding version {mine.get('version')}, this framework uses "
                f"version {signature.get('version')}")
    old_knobs = {k["name"]: k for k in mine.get("knobs", [])}
    new_knobs = {k["name"]: k for k in signature.get("knobs", [])}
    for name in old_knobs:
        if name not in new_knobs:
            return f"it was trained with a knob '{name}' that the config does not have"
    for name in new_knobs:
        if name not in old_knobs:
            return f"the config has a knob '{name}' that it was not trained with"
    for name, k in new_knobs.items():
        if k != old_knobs[name]:
            return f"knob '{name}' differs: trained with {_domain(old_knobs[name])}, the config has {_domain(k)}"
    if mine.get("families") != signature.get("families"):
        return "the repeated knobs (count / exchangeable) differ from the config's"
    old_f, new_f = list(mine.get("features", [])), list(signature.get("features", []))
    if old_f != new_f:
        for i, (a, b) in enumerate(zip(old_f, new_f)):
            if a != b:
                return f"feature {i} is '{a}' in the checkpoint and '{b}' in the config"
        return f"it has {len(old_f)} features, the config gives {len(new_f)}"
    return None


def _domain(k: dict) -> str:
    if "values" in k:
        vals = k["values"]
        text = ", ".join(map(str, vals[:6])) + (", ..." if len(vals) > 6 else "")
        return f"{k.get('kind')} [{text}]" + (f" ({k['count']} values)" if "count" in k else "")
    return f"{k.get('kind')} {k.get('low')} to {k.get('high')}" + (" (log)" if k.get("log") else "")


def check_compatible(meta: CheckpointMeta, signature: dict, costs: list[str], shown: str,
                     plugin: str | None = None) -> None:
    why = incompatibility(meta, signature, costs, plugin)
    if why:
        raise DeffeError(f"checkpoint does not fit this config: {why}", file=shown,
                         hint="use a checkpoint trained on the same knobs and costs, or train a new model")
