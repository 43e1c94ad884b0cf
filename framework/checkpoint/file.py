"""The checkpoint file: its header (`CheckpointMeta`), writing and reading it, the old pickle format behind the
opt-in, and the original Deffe's Keras files recognised and refused."""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..atomic import replacing
from ..errors import DeffeError
from .payload import PayloadError, pack, quoted, unpack

MAGIC = b"DEFFE-MODEL\n"

FORMAT = 2                 # header + npz payload: numbers and JSON only

PICKLE_FORMAT = 1          # header + pickle payload: read only when trusted (-trust-pickle, model.trust_pickle)

DIGEST_SECTIONS = ("knobs", "scenarios", "costs", "model")

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"   # the first bytes of a Keras checkpoint of the original Deffe

KERAS_SUFFIXES = (".hdf5", ".h5")

TRUST_FLAG = "-trust-pickle"

TRUST_KEY = "model.trust_pickle"

DAMAGED_HINT = ("the file is cut short, damaged or not written by this framework: use another checkpoint or train "
                "again")

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

def write_checkpoint(path: str | Path, meta: CheckpointMeta, state: dict) -> Path:
    """Write ``state`` (dicts, lists, numbers, strings, numeric arrays: see `pack`) atomically (a crash
    leaves the previous file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta.format = FORMAT
    header = json.dumps(asdict(meta), default=_jsonable).encode()
    payload = pack(state)
    with replacing(path) as tmp, open(tmp, "wb") as fh:
        fh.write(MAGIC)
        fh.write(len(header).to_bytes(8, "big"))
        fh.write(header)
        fh.write(payload)
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

# ----------------------------------------------------------------------------- a user plugin's own files
SIDECAR_SUFFIX = ".meta.json"
SIDECAR_KIND = "deffe-model-sidecar"


def sidecar_path(path: str | Path) -> Path:
    """Where the framework describes a checkpoint a user's model plugin wrote in its own format (its
    ``Save(path)``): ``<path>.meta.json``, beside it."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def is_framework_file(path: str | Path) -> bool:
    """A checkpoint in this framework's own format (the built-in models'), by its first bytes."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def write_sidecar(path: str | Path, meta: CheckpointMeta) -> Path:
    """Describe the checkpoint a user's model plugin wrote at ``path`` (which plugin, the space, the costs, its
    training's step and history, the model settings and python_path in ``info``), so that -inference-only and
    the Python API can rebuild the plugin and call its ``Load(path)``. Written atomically."""
    target = sidecar_path(path)
    meta.format = FORMAT
    text = json.dumps({"kind": SIDECAR_KIND, "file": Path(path).name, "meta": asdict(meta)}, default=_jsonable,
                      indent=1)
    with replacing(target) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return target


def _sidecar_meta(path: str | Path, shown: str) -> CheckpointMeta | None:
    """The description of a user plugin's checkpoint (`write_sidecar`), or None when it has none."""
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        d = json.loads(side.read_text(encoding="utf-8"))
        if not isinstance(d, dict) or d.get("kind") != SIDECAR_KIND:
            raise ValueError(f"it is not a {SIDECAR_KIND} file")
        meta = meta_from_header(d.get("meta"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise DeffeError(f"the description of this model plugin's checkpoint, {side.name}, cannot be read "
                         f"({' '.join(str(e).split())[:160]})", file=shown,
                         hint="train again (the run writes it beside the checkpoint)") from None
    if not Path(path).exists():   # described, not there: its Load(path) would load nothing, and predict anyway
        raise DeffeError(f"checkpoint file not found{_looked(path, shown)}: only its description {side.name} is "
                         f"there", file=shown, hint=f"the model plugin '{meta.plugin}' wrote no file in its "
                         "Save(path), or the file was moved; keep the two together (a Save(path) writing nothing: "
                         "fix it and train again)")
    return meta


# ----------------------------------------------------------------------------- pickle (format 1): opt-in only
def trusts_pickle(section: dict | None, args: Any) -> bool:
    """Whether the user allowed old pickle checkpoints: ``-trust-pickle`` or ``model.trust_pickle: true`` (exactly
    true: nothing else counts)."""
    return getattr(args, "trust_pickle", False) is True or (section or {}).get("trust_pickle") is True

def pickle_refused(shown: str) -> DeffeError:
    return DeffeError("is an old checkpoint (format 1) whose weights are Python pickle data, which can run any code "
                      "when loaded", file=shown,
                      hint=f"train the model again (checkpoints written now hold only numbers), or, if you trust "
                           f"where the file came from, allow it with {TRUST_FLAG} ({TRUST_KEY}: true)")

def read_state(meta: CheckpointMeta, payload: bytes, shown: str, trust_pickle: bool = False,
               log: Any = None) -> dict:
    """The payload of `read_checkpoint` as a tree (dicts, lists, JSON values, numpy arrays). Format 1 (pickle)
    only with ``trust_pickle``: the one place where a checkpoint is unpickled."""
    if meta.format == PICKLE_FORMAT:
        if trust_pickle is not True:
            raise pickle_refused(shown)
        if log is not None:
            log.warning(f"warning: {shown}: old checkpoint (format 1) unpickled, as {TRUST_FLAG} / {TRUST_KEY} "
                        f"allows; training again writes format {FORMAT}, which holds no code")
        import pickle
        try:
            tree = pickle.loads(payload)
        except Exception as e:  # noqa: BLE001 - anything a damaged pickle raises
            raise DeffeError(f"cannot read the model's weights ({type(e).__name__}: "
                             f"{' '.join(str(e).split())[:160]})", file=shown) from None
        if not isinstance(tree, dict):
            raise DeffeError(f"cannot read the model's weights: the pickle holds a {type(tree).__name__}, not a "
                             "checkpoint's dict", file=shown)
        return tree
    try:
        return unpack(payload)
    except PayloadError as e:
        raise DeffeError(f"cannot read the model's weights: {e}", file=shown, hint=DAMAGED_HINT) from None

# ----------------------------------------------------------------------------- Keras, -icp
def keras_error(files: Sequence[str], run_dir: str | os.PathLike | None = None) -> DeffeError:
    """The one-line error for Keras checkpoints (.hdf5) of the original Deffe; ``run_dir``: the run directory
    whose checkpoints/ a training here would write (callers that know it re-raise with it: `keras_files`)."""
    one = len(files) == 1
    where = f"{_relative(run_dir)}/checkpoints" if run_dir is not None else "<run directory>/checkpoints"
    e = DeffeError(f"{'is a Keras checkpoint' if one else 'are Keras checkpoints'} of the original Deffe: "
                   f"{'it' if one else 'they'} cannot be read without TensorFlow", file=", ".join(files),
                   hint="train a model here on the same data (e.g. -only-preloaded-data-exploration "
                        f"-pre-evaluated-data <the csv> -full-exploration), then give {where}/<explore>.ckpt "
                        "(checkpoints are written into the run directory)")
    e.keras_files = list(files)
    return e


def _relative(path: str | os.PathLike) -> str:
    """A directory as the user sees it: relative to the current one when inside it."""
    full = os.path.abspath(path)
    try:
        inside = os.path.commonpath([full, os.getcwd()]) == os.getcwd()
    except ValueError:   # another drive
        inside = False
    return os.path.relpath(full) if inside else full

def _looked(path: str | Path, shown: str) -> str:
    """Where a checkpoint named relatively was looked for: a config's name (model.initial_checkpoint, Deffe's
    -icp in ml_arguments) in the current directory and next to the config (Config.find_file)."""
    places = list(dict.fromkeys(str(p) for p in (Path(shown).absolute(), Path(path).absolute())))
    return f" (looked at {' and '.join(places)})" if not Path(shown).is_absolute() else ""


def _missing_hint(path: str | Path) -> str:
    """What to do about a checkpoint that is not there: a training run writes <run directory>/checkpoints/
    <explore>.ckpt once it has trained a model; in a run's directory, why that run may have written none."""
    path = Path(path)
    folder = path.parent
    if folder.name == "checkpoints" and (folder.parent / "deffe_run.json").exists():
        there = sorted(p.name for p in folder.glob("*.ckpt")) if folder.is_dir() else []
        if there:
            return f"that run wrote {', '.join(there[:5])}{' ...' if len(there) > 5 else ''} in {folder}"
        return (f"the run directory {folder.parent}{os.sep} holds no checkpoint: its run trained no model (a model "
                "needs at least 2 samples, one of which ran; see its deffe.log) or ran with model.checkpoints false; train on more "
                "samples, then give the .ckpt it writes")
    return ("give the .ckpt a training run wrote (<run directory>/checkpoints/<explore>.ckpt, written once the "
            "run has trained a model)")


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
        missing = [f for f in files if not Path(f).exists()]
        if missing:   # named .hdf5 but not there: not found, whatever its name says it would be
            raise DeffeError(f"checkpoint file{'s' if len(missing) > 1 else ''} not found", file=", ".join(missing))
        raise keras_error(files)
    raise DeffeError(f"{len(files)} checkpoint files given ({', '.join(files)}): a checkpoint of this framework "
                     "holds every cost in one file", where="-icp", hint="give one .ckpt file")

# ----------------------------------------------------------------------------- header
def _open(path: str | Path, shown: str | None):
    shown = shown or str(path)
    if Path(path).suffix.lower() in KERAS_SUFFIXES and Path(path).exists():   # one not there: "not found" below
        raise keras_error([shown])
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise DeffeError(f"checkpoint file not found{_looked(path, shown)}", file=shown,
                         hint=_missing_hint(path)) from None
    except IsADirectoryError:
        raise DeffeError("is a directory, not a checkpoint file", file=shown) from None
    except OSError as e:
        raise DeffeError(f"cannot read the checkpoint ({e.strerror})", file=shown) from None
    try:
        head = fh.read(len(MAGIC))
        if head != MAGIC:
            if head.startswith(HDF5_SIGNATURE):
                raise keras_error([shown])
            raise DeffeError("not a model checkpoint of this framework", file=shown,
                             hint="give a .ckpt file written by a training run (run directory, checkpoints/)")
        size = int.from_bytes(fh.read(8), "big")
        left = os.fstat(fh.fileno()).st_size - fh.tell()
        if size > left:
            raise DeffeError(f"the checkpoint's header is damaged (it announces {size} bytes, the file holds "
                             f"{max(left, 0)}: it may be cut short)", file=shown, hint=DAMAGED_HINT)
        try:
            meta = meta_from_header(json.loads(fh.read(size)))
        except FormatError as e:
            raise DeffeError(str(e), file=shown, hint="read it with the version of this framework that wrote it, "
                                                      "or train the model again") from None
        except (ValueError, RecursionError) as e:
            raise DeffeError(f"the checkpoint's header is damaged ({' '.join(str(e).split())[:160]})", file=shown,
                             hint=DAMAGED_HINT) from None
    except BaseException:
        fh.close()
        raise
    return fh, meta

class FormatError(ValueError):
    """A header of a format this framework does not read."""

def meta_from_header(d: Any) -> CheckpointMeta:
    """The header's fields, each checked for its type (ValueError naming the first wrong one)."""
    if not isinstance(d, dict):
        raise ValueError("it is not a JSON object")
    fmt = d.get("format")
    if not _is_int(fmt):
        raise ValueError(f"field 'format' is {repr(fmt)[:40]}, expected an integer")
    if fmt not in (FORMAT, PICKLE_FORMAT):
        raise FormatError(f"checkpoint format {fmt} is not a format this framework reads ({PICKLE_FORMAT} with "
                         f"{TRUST_FLAG}, {FORMAT})")
    known = {f for f in CheckpointMeta.__dataclass_fields__}
    for k in d:
        if k not in known:
            raise ValueError(f"unknown field {quoted(k)}")
    checks = {"plugin": (lambda v: isinstance(v, str) and v != "", "a plugin name"),
              "signature": (_is_signature, "an encoding signature (features, knobs, families)"),
              "costs": (lambda v: _is_list_of(v, str), "a list of cost names"),
              "config_digest": (lambda v: isinstance(v, str), "a string"),
              "explore": (lambda v: isinstance(v, str), "a string"),
              "step": (lambda v: v is None or _is_int(v), "an integer or null"),
              "samples": (lambda v: v is None or _is_int(v), "an integer or null"),
              "created": (lambda v: _is_number(v), "a number"),
              "info": (lambda v: isinstance(v, dict), "a JSON object"),
              "history": (_is_history, "a list of per-epoch records of numbers")}
    for name, (ok, what) in checks.items():
        if name not in d:
            if name in ("plugin", "signature", "costs"):
                raise ValueError(f"field '{name}' is missing")
            continue
        if not ok(d[name]):
            raise ValueError(f"field '{name}' is not {what}")
        if name in ("plugin", "signature", "costs", "explore") and not _one_line(name, d[name]):
            raise ValueError(f"field '{name}' holds a control character (a line break, ...) in a name")
    return CheckpointMeta(**d)

def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)

def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

def _is_list_of(v: Any, kind: type) -> bool:
    return isinstance(v, list) and all(isinstance(x, kind) for x in v)

def _is_signature(v: Any) -> bool:
    if not isinstance(v, dict) or not _is_list_of(v.get("features", []), str):
        return False
    knobs = v.get("knobs", [])
    if not _is_list_of(knobs, dict):
        return False
    for k in knobs:
        if not isinstance(k.get("name"), str) or ("values" in k and not isinstance(k["values"], list)) \
                or ("count" in k and not _is_int(k["count"])):
            return False
    families = v.get("families", {})
    if not isinstance(families, dict):
        return False
    return all(isinstance(f, dict) and _is_list_of(f.get("members"), str) and isinstance(f.get("exchangeable"), bool)
               and "fixed" in f and (f["fixed"] is None or isinstance(f["fixed"], list)) for f in families.values())

def _one_line(name: str, v: Any) -> bool:
    """No control character in the names of field ``name`` (a config refuses them; they end up in one-line
    messages): the plugin, exploration and cost names, and the signature's knob, feature and family names."""
    if name == "signature":
        names = [*v.get("features", []), *(k["name"] for k in v.get("knobs", [])), *v.get("families", {}),
                 *(m for f in v.get("families", {}).values() for m in f["members"])]
    else:
        names = v if isinstance(v, list) else [v]
    return not any(ord(ch) < 32 or ord(ch) == 127 for n in names for ch in n)

HISTORY_NUMBERS = ("epoch", "train_loss", "val_loss", "test_loss", "lr")   # compared and printed by readers

def _is_history(v: Any) -> bool:
    # a diverged training records NaN losses: any float, as Python's json writes and reads them
    def number(x: Any) -> bool:
        return x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))
    return _is_list_of(v, dict) and all(
        (number(x) if k in HISTORY_NUMBERS else x is None or isinstance(x, (bool, int, float, str)))
        for h in v for k, x in h.items())

def read_meta(path: str | Path, shown: str | None = None) -> CheckpointMeta:
    """The header alone (any readable format: reading it runs nothing); for a checkpoint a user's model plugin
    wrote in its own format, the description the framework wrote beside it (`write_sidecar`)."""
    if not is_framework_file(path) and Path(path).suffix.lower() not in KERAS_SUFFIXES:
        meta = _sidecar_meta(path, shown or str(path))
        if meta is not None:
            return meta
    fh, meta = _open(path, shown)
    fh.close()
    return meta

def read_checkpoint(path: str | Path, shown: str | None = None,
                    trust_pickle: bool = False) -> tuple[CheckpointMeta, bytes]:
    """The header and the payload's bytes (decode them with `read_state`). An old pickle checkpoint is refused
    here unless ``trust_pickle``."""
    shown = shown or str(path)
    fh, meta = _open(path, shown)
    with fh:
        if meta.format == PICKLE_FORMAT and trust_pickle is not True:
            raise pickle_refused(shown)
        return meta, fh.read()
