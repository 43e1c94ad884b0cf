"""A checkpoint's payload: an ``.npz`` archive of numeric arrays and one JSON entry, read without executing
anything (`pack`, `unpack`), and `State`, with which a model checks every value it takes from it."""
from __future__ import annotations

import io
import json
import math
import zipfile
from typing import Any, Sequence


STATE_ENTRY = "state.json"  # the payload's JSON part

ARRAY_KINDS = "biufSU"      # bool, int, unsigned, float, fixed-width bytes and text: what an array may hold

ZIP_TIME = (1980, 1, 1, 0, 0, 0)   # fixed entry times: the same model gives the same payload bytes

# ----------------------------------------------------------------------------- payload: npz + JSON
class PayloadError(ValueError):
    """What is wrong with a checkpoint's payload; the loader turns it into a DeffeError naming the file."""

def quoted(name: Any) -> str:
    """A name read from a file, fit for a one-line message."""
    text = repr(str(name))
    return text if len(text) <= 80 else text[:77] + "...'"

def pack(state: dict) -> bytes:
    """The payload of ``state``: an uncompressed .npz (``np.load`` reads it) of its arrays, one
    ``<path>.npy`` each, and ``state.json``, the rest of the tree with ``{"__array__": "<path>"}`` where
    an array was. Anything but dicts (string keys), lists, None, bools, numbers, strings and arrays of
    numbers or fixed-width text is refused: a checkpoint holds no Python objects."""
    from numpy.lib import format as npy

    arrays: dict[str, Any] = {}
    tree = _flatten(state, "", arrays)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            with zf.open(zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_TIME), "w", force_zip64=True) as fh:
                npy.write_array(fh, arr, allow_pickle=False)
        zf.writestr(zipfile.ZipInfo(STATE_ENTRY, date_time=ZIP_TIME), json.dumps(tree, allow_nan=False))
    return buf.getvalue()

def _flatten(x: Any, path: str, arrays: dict) -> Any:
    import numpy as np
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in ARRAY_KINDS or x.dtype.names is not None or x.dtype.itemsize == 0:
            raise TypeError(f"{path or 'the state'}: an array of {x.dtype} cannot go in a checkpoint (numbers and "
                            "fixed-width text only)")
        name = path or "array"
        if name in arrays:
            raise TypeError(f"{name}: two arrays of one name")
        arrays[name] = x
        return {"__array__": name}
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            if not isinstance(k, str) or not k or "/" in k or k == "__array__":
                raise TypeError(f"{path or 'the state'}: key {k!r} cannot go in a checkpoint (a non-empty string "
                                "without '/')")
            out[k] = _flatten(v, f"{path}/{k}" if path else k, arrays)
        return out
    if isinstance(x, (list, tuple)):
        return [_flatten(v, f"{path}/{i}" if path else str(i), arrays) for i, v in enumerate(x)]
    if isinstance(x, np.generic):
        x = x.item()
    if x is None or isinstance(x, (bool, int, str)) or (isinstance(x, float) and math.isfinite(x)):
        return x
    raise TypeError(f"{path or 'the state'}: a {type(x).__name__} ({x!r:.40}) cannot go in a checkpoint (dicts, "
                    "lists, numbers, strings and numeric arrays only)")

def unpack(payload: bytes) -> dict:
    """The state `pack` wrote, read without executing anything from the file; PayloadError if it is not one."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(payload))
        infos = zf.infolist()
    except Exception:   # noqa: BLE001 - whatever the bytes are, they are not our archive
        raise PayloadError("the weights are not a readable .npz archive") from None
    arrays: dict[str, Any] = {}
    text = None
    seen = set()
    for info in infos:
        name = info.filename
        if name in seen:
            raise PayloadError(f"the archive holds {quoted(name)} twice")
        seen.add(name)
        if info.file_size > len(payload) or info.flag_bits & 0x1:
            raise PayloadError(f"archive entry {quoted(name)} is encrypted or larger than the file")
        try:
            if name == STATE_ENTRY:
                text = zf.read(info).decode("utf-8")
            elif name.endswith(".npy"):
                arrays[name[:-4]] = _read_npy(zf, info)
            else:
                raise PayloadError(f"the archive holds {quoted(name)}, which is neither an array (.npy) nor "
                                   f"{STATE_ENTRY}")
        except PayloadError:
            raise
        except Exception as e:  # noqa: BLE001 - a damaged entry (CRC, compression, truncation, ...)
            raise PayloadError(f"archive entry {quoted(name)} is damaged ({type(e).__name__}: "
                               f"{' '.join(str(e).split())[:120]})") from None
    if text is None:
        raise PayloadError(f"the archive has no {STATE_ENTRY}")
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise PayloadError(f"{STATE_ENTRY} is not JSON ({' '.join(str(e).split())[:120]})") from None
    if not isinstance(tree, dict):
        raise PayloadError(f"{STATE_ENTRY} is not a JSON object")
    try:
        return _unflatten(tree, arrays)
    except RecursionError:
        raise PayloadError(f"{STATE_ENTRY} is nested too deeply") from None

def _read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Any:
    """One array: its npy header checked (numbers or fixed-width text, no objects or records), its bytes copied."""
    import numpy as np
    from numpy.lib import format as npy

    name = quoted(info.filename[:-4])
    with zf.open(info) as fh:
        version = npy.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(fh)
        else:
            raise PayloadError(f"array {name} is in npy format {version}, not 1.0 or 2.0")
        if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None \
                or dtype.kind not in ARRAY_KINDS or dtype.itemsize == 0:
            raise PayloadError(f"array {name} holds {dtype} values: a checkpoint's arrays hold numbers or text only")
        count = math.prod(shape)
        want = count * dtype.itemsize
        data = fh.read(want + 1)
    if len(data) != want:
        raise PayloadError(f"array {name} of shape {tuple(shape)} needs {want} bytes of {dtype}, the file holds "
                           f"{len(data)}")
    arr = np.frombuffer(data, dtype=dtype)
    arr = arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
    return np.array(arr, dtype=dtype.newbyteorder("="), order="C")   # a writable, native-order copy

def _unflatten(x: Any, arrays: dict) -> Any:
    if isinstance(x, dict):
        if set(x) == {"__array__"}:
            name = x["__array__"]
            if not isinstance(name, str) or name not in arrays:
                raise PayloadError(f"array {quoted(name)} is missing")
            return arrays[name]
        return {k: _unflatten(v, arrays) for k, v in x.items()}
    if isinstance(x, list):
        return [_unflatten(v, arrays) for v in x]
    return x

class State:
    """A payload's tree, read with checks: each getter raises a PayloadError naming the entry (the path of
    its array in the archive) and what it should have been."""

    def __init__(self, tree: Any, path: str = ""):
        if not isinstance(tree, dict):
            raise PayloadError(f"{path or 'the state'} is not a JSON object")
        self.tree = tree
        self.path = path

    def _where(self, key: str) -> str:
        return f"{self.path}/{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.tree

    def keys(self) -> list[str]:
        return list(self.tree)

    def raw(self, key: str) -> Any:
        if key not in self.tree:
            raise PayloadError(f"'{self._where(key)}' is missing")
        return self.tree[key]

    def sub(self, key: str) -> "State":
        return State(self.raw(key), self._where(key))

    def value(self, key: str, kind: type | tuple, what: str) -> Any:
        """A JSON value of type ``kind`` (int excludes bool; float accepts an int)."""
        v = self.raw(key)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = any((k is int and isinstance(v, int) and not isinstance(v, bool))
                 or (k is float and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))
                 or (k is type(None) and v is None)
                 or (k not in (int, float, type(None)) and isinstance(v, k)) for k in kinds)
        if not ok:
            raise PayloadError(f"'{self._where(key)}' is {quoted(v) if isinstance(v, str) else repr(v)[:60]}, "
                               f"expected {what}")
        return float(v) if kinds == (float,) else v

    def array(self, key: str, kind: str, shape: tuple) -> Any:
        """An array whose dtype kind is in ``kind`` ("f", "b", "iu", "U") and whose shape is ``shape`` (None:
        any length)."""
        import numpy as np
        v = self.raw(key)
        where = self._where(key)
        if not isinstance(v, np.ndarray):
            raise PayloadError(f"'{where}' is not an array")
        names = {"f": "floats", "b": "booleans", "iu": "integers", "U": "text"}
        if v.dtype.kind not in kind:
            raise PayloadError(f"array '{where}' holds {v.dtype}, expected {names.get(kind, kind)}")
        if v.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, v.shape)):
            want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
            raise PayloadError(f"array '{where}' has shape {tuple(v.shape)}, expected {want}")
        return v

def check_settings(st: State, key: str, allowed: Sequence[str]) -> dict:
    """The estimator settings under ``key``: a dict of the ``allowed`` names, each a JSON number, string, bool or
    null (an estimator class is never named by a file)."""
    where = st._where(key)
    d = st.value(key, dict, "a dict of settings")
    for k, v in d.items():
        if k not in allowed:
            raise PayloadError(f"'{where}' has the setting {quoted(k)}, which is not one of {', '.join(allowed)}")
        if not (v is None or isinstance(v, (bool, int, str)) or (isinstance(v, float) and math.isfinite(v))):
            raise PayloadError(f"'{where}/{k}' is {repr(v)[:60]}, expected a number, string, true/false or null")
    return dict(d)
