"""Model checkpoints: one file per trained model, with what it was trained under.

File layout (so the metadata can be read and checked before the weights are):

    b"DEFFE-MODEL\\n"   magic line
    8 bytes          length of the header, big-endian
    header           JSON: `CheckpointMeta`
    payload          the model plugin's own bytes (weights, scalers, ...)

The header records the model plugin, the encoding signature (feature names,
knob domains, families), the cost names and a digest of the config sections a
model depends on. A checkpoint fits a config (`match`) when its inputs and
outputs have the same shape:

* the same knobs and costs: silent (a different digest alone, i.e. another
  network, evaluator or training settings, is what fine-tuning is for);
* other names (Deffe's transfer across kernels: the scenario ``kmeans_objects``
  of one config is ``matmul_size`` of the other): as many knobs that vary, and
  position by position the same kind, encoding and feature width (a one-hot
  knob: as many values), a knob of one name at the same position on both
  sides; as many costs. Knobs and costs are then matched by position, which
  the loader reports in one warning line;
* anything else is a `DeffeError` naming the first difference.

Keras ``.hdf5`` files of the original Deffe are recognised and refused with
what to do instead.

The payload is Python pickle data: load checkpoints only from sources you trust,
as with ``torch.load``.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .errors import DeffeError

MAGIC = b"DEFFE-MODEL\n"
FORMAT = 1
DIGEST_SECTIONS = ("knobs", "scenarios", "costs", "model")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"   # the first bytes of a Keras checkpoint of the original Deffe
KERAS_SUFFIXES = (".hdf5", ".h5")


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


def keras_error(files: Sequence[str]) -> DeffeError:
    """The one-line error for Keras checkpoints (.hdf5) of the original Deffe."""
    one = len(files) == 1
    return DeffeError(f"{'is a Keras checkpoint' if one else 'are Keras checkpoints'} of the original Deffe: "
                      f"{'it' if one else 'they'} cannot be read without TensorFlow", file=", ".join(files),
                      hint="train a model here on the same data (e.g. -only-preloaded-data-exploration "
                           "-pre-evaluated-data <the csv> -full-exploration), then give its "
                           "checkpoints/<explore>.ckpt")


def is_keras(path: str | Path) -> bool:
    """A Keras checkpoint of the original Deffe: by its suffix, or the HDF5 signature at its start."""
    if Path(path).suffix.lower() in KERAS_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE
    except OSError:
        return False


def one_checkpoint(icp: str | Path | Sequence[str] | None) -> str | None:
    """The checkpoint of -icp. Deffe gave one file per cost (``-icp a.hdf5 b.hdf5``); ours hold every cost."""
    if icp is None or isinstance(icp, (str, os.PathLike)):
        return None if icp is None else str(icp)
    files = [str(f) for f in icp]
    if len(files) <= 1:
        return files[0] if files else None
    if all(is_keras(f) for f in files):
        raise keras_error(files)
    raise DeffeError(f"{len(files)} checkpoint files given ({', '.join(files)}): a checkpoint of this framework "
                     "holds every cost in one file", where="-icp", hint="give one .ckpt file")


def _open(path: str | Path, shown: str | None):
    shown = shown or str(path)
    if Path(path).suffix.lower() in KERAS_SUFFIXES:
        raise keras_error([shown])
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise DeffeError("checkpoint file not found", file=shown) from None
    except IsADirectoryError:
        raise DeffeError("is a directory, not a checkpoint file", file=shown) from None
    except OSError as e:
        raise DeffeError(f"cannot read the checkpoint ({e.strerror})", file=shown) from None
    head = fh.read(len(MAGIC))
    if head != MAGIC:
        fh.close()
        if head.startswith(HDF5_SIGNATURE):
            raise keras_error([shown])
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


@dataclass
class Fit:
    """Whether a checkpoint fits a config: why not (None: it fits), and what was matched by position."""

    why: str | None = None
    knobs: list[tuple[str, str]] = field(default_factory=list)   # (checkpoint's name, config's name)
    costs: list[tuple[str, str]] = field(default_factory=list)

    def note(self) -> str | None:
        """The warning line when names differ (None for an exact match)."""
        parts = []
        if self.knobs:
            parts.append("knobs matched by position (inputs of the same shape, other names): "
                         + ", ".join(f"{a} -> {b}" for a, b in self.knobs))
        if self.costs:
            parts.append("costs matched by position: " + ", ".join(f"{a} -> {b}" for a, b in self.costs))
        return "; ".join(parts) or None


def match(meta: CheckpointMeta, signature: dict, costs: list[str], plugin: str | None = None) -> Fit:
    """Whether a checkpoint can serve a config with this encoding signature and these costs (see the module)."""
    if plugin is not None and meta.plugin != plugin:
        return Fit(f"it holds a '{meta.plugin}' model, the config's model plugin is '{plugin}'")
    old_c, new_c = list(meta.costs), list(costs)
    if len(old_c) != len(new_c):
        return Fit(f"it predicts the costs {', '.join(old_c)}, the config has {', '.join(new_c)}")
    why = _moved(old_c, new_c, "cost")
    if why:
        return Fit(why)
    renamed_costs = [(a, b) for a, b in zip(old_c, new_c) if a != b]
    mine = meta.signature
    if mine.get("version") != signature.get("version"):
        return Fit(f"it was trained under feature encoding version {mine.get('version')}, this framework uses "
                   f"version {signature.get('version')}")
    old_k, new_k = mine.get("knobs", []), signature.get("knobs", [])
    if {k["name"] for k in old_k} == {k["name"] for k in new_k}:
        why, renamed = _same_knobs(mine, signature), []
    else:
        why, renamed = _same_shape(mine, signature)
    return Fit(why, renamed, renamed_costs) if why is None else Fit(why)


def _same_knobs(mine: dict, signature: dict) -> str | None:
    old_knobs = {k["name"]: k for k in mine.get("knobs", [])}
    for name, k in {k["name"]: k for k in signature.get("knobs", [])}.items():
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


def _same_shape(mine: dict, signature: dict) -> tuple[str | None, list[tuple[str, str]]]:
    """Knobs of other names: the inputs must have the same shape (single-valued knobs give none)."""
    old_v = [k for k in mine.get("knobs", []) if _levels(k) != 1]
    new_v = [k for k in signature.get("knobs", []) if _levels(k) != 1]
    olds, news = [k["name"] for k in old_v], [k["name"] for k in new_v]
    shape = f"its inputs are {len(olds)} knobs that vary, the config has {len(news)}"
    if len(news) > len(olds):
        extra = next(n for n in news if n not in olds)
        return f"the config has a knob '{extra}' that it was not trained with ({shape})", []
    if len(olds) > len(news):
        gone = next(n for n in olds if n not in news)
        return f"it was trained with a knob '{gone}' that the config does not have ({shape})", []
    why = _moved(olds, news, "knob")
    if why:
        return why, []
    renamed = []
    for i, (o, n) in enumerate(zip(old_v, new_v)):
        if o["name"] == n["name"]:
            if o != n:
                return f"knob '{o['name']}' differs: trained with {_domain(o)}, the config has {_domain(n)}", []
            continue
        pair = f"knob {i + 1} ('{o['name']}' in the checkpoint, '{n['name']}' in the config)"
        if (o.get("kind"), o.get("encoding")) != (n.get("kind"), n.get("encoding")):
            return (f"{pair} is {o.get('kind')} ({o.get('encoding')}) in the checkpoint and {n.get('kind')} "
                    f"({n.get('encoding')}) in the config"), []
        if _width(o) != _width(n):
            return f"{pair} is one-hot over {_width(o)} values in the checkpoint and {_width(n)} in the config", []
        renamed.append((o["name"], n["name"]))
    to_new = dict(renamed)
    families = [([to_new.get(m, m) for m in f["members"]], f["exchangeable"], f["fixed"])
                for f in mine.get("families", {}).values()]
    if families != [(f["members"], f["exchangeable"], f["fixed"]) for f in signature.get("families", {}).values()]:
        return "the repeated knobs (count / exchangeable) differ from the config's", []
    old_f, new_f = mine.get("features", []), signature.get("features", [])
    if len(old_f) != len(new_f):
        return f"it has {len(old_f)} features, the config gives {len(new_f)}", []
    return None, renamed


def _moved(olds: list[str], news: list[str], what: str) -> str | None:
    """A name on both sides at another position (matching by position would swap them)."""
    for i, name in enumerate(olds):
        if name in news and news.index(name) != i:
            return (f"{what} '{name}' is {what} {i + 1} of the checkpoint and {what} {news.index(name) + 1} of "
                    "the config")
    return None


def _levels(k: dict) -> int | None:
    """How many values a knob of a signature takes (None: a continuous range)."""
    if "values" not in k:
        return None
    return int(k["count"]) if "count" in k else len(k["values"])


def _width(k: dict) -> int:
    """The features a knob gives on its own: one per value when one-hot, else one."""
    return (_levels(k) or 1) if k.get("encoding") == "onehot" else 1


def incompatibility(meta: CheckpointMeta, signature: dict, costs: list[str],
                    plugin: str | None = None) -> str | None:
    """Why a checkpoint cannot serve a config with this encoding signature and these costs, or None."""
    return match(meta, signature, costs, plugin).why


def _domain(k: dict) -> str:
    if "values" in k:
        vals = k["values"]
        text = ", ".join(map(str, vals[:6])) + (", ..." if len(vals) > 6 else "")
        return f"{k.get('kind')} [{text}]" + (f" ({k['count']} values)" if "count" in k else "")
    return f"{k.get('kind')} {k.get('low')} to {k.get('high')}" + (" (log)" if k.get("log") else "")


def check_compatible(meta: CheckpointMeta, signature: dict, costs: list[str], shown: str,
                     plugin: str | None = None, log: Any = None) -> Fit:
    """A DeffeError when the checkpoint does not fit; a warning to ``log`` when it fits by position."""
    fit = match(meta, signature, costs, plugin)
    if fit.why:
        raise DeffeError(f"checkpoint does not fit this config: {fit.why}", file=shown,
                         hint="use a checkpoint trained on the same knobs and costs (or on inputs of the same "
                              "shape), or train a new model")
    if log is not None and fit.note():
        log.warning(f"warning: {shown}: {fit.note()}")
    return fit
