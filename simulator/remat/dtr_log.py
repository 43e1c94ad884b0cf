"""Read DTR's operator logs (JSON lines, as recorded from PyTorch by the DTR prototype
and replayed by its simulator, simrd) into an `OpTrace`.

    trace = load_dtr_log("resnet32.log")
    trace = load_dtr_log("logs.zip", model="resnet32")   # read inside the zip, nothing extracted

Instructions (names are program references; the replay starts at the last
`ANNOTATE START`):
  CONSTANT{NAME} then MEMORY{NAME, MEMORY}   a weight or input: pinned while referenced
  CALL{NAME, ARGS, RESULT, TIME (ns)}         each result followed by MEMORY and ALIAS
                                              (-1: fresh storage; k: a view of ARGS[k])
  MUTATE{NAME, ARGS, MUTATE, TIME}            in place: overwrites ARGS[k] for k in MUTATE
  COPY{DST, SRC}                              DST is one more reference to SRC's storage
  COPY_FROM{DST, SRC}                         DST lets go of its storage and refers to SRC's
  RELEASE{NAME}                               the reference is given back
  ANNOTATE{ANNOTATION}                        START / BACKWARD markers
A malformed log is a `SimulatorError` naming the file and the line; a model that logs.zip does not hold
(or none named) is a `ModelNotInArchive`, one kind of SimulatorError.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Iterator

from ..graph import SimulatorError, did_you_mean
from .trace import OpTrace, TraceBuilder

LOG_SUFFIXES = (".log", ".zip", ".jsonl", ".txt")   # a file named so is read as a log (missing: "no such file")
MAX_INTEGER = 2 ** 53  # sizes and times are summed in float64: exact up to here
_KNOWN = {"CONSTANT", "MEMORY", "CALL", "ALIAS", "MUTATE", "COPY", "COPY_FROM", "RELEASE", "ANNOTATE"}


class ModelNotInArchive(SimulatorError):
    """A logs.zip has no log of the model asked for, or no model was named: the model is wrong, not the file."""


def is_dtr_log(path: str | os.PathLike) -> bool:
    """Whether a file is a DTR log (JSON lines of instructions) rather than a Paleo network (one JSON
    document); an unreadable file counts as a log, so that the log reader says what is wrong with it."""
    try:
        with open(path) as f:
            first = f.readline()
        return '"INSTRUCTION"' in first
    except (OSError, UnicodeDecodeError):
        return True


def _zip_member(path: str, model: str | None) -> tuple[str, str]:
    """(member name, model key) of `model` in DTR's logs.zip."""
    try:
        with zipfile.ZipFile(path) as z:
            members = [n for n in z.namelist() if n.endswith(".log")]
            manifest = {}
            if "logs/manifest.json" in z.namelist():
                try:
                    for m in json.loads(z.read("logs/manifest.json")).get("models", []):
                        manifest[str(m.get("name", "")).lower()] = m.get("log")
                except (ValueError, AttributeError):
                    manifest = {}
    except (OSError, zipfile.BadZipFile) as err:
        raise SimulatorError(f"cannot read the zip archive: {err}", source=path) from None
    keys = {os.path.basename(n).split("-")[0]: n for n in members}
    if model is None:
        raise ModelNotInArchive(f"a zip of logs needs a model name (one of: {', '.join(sorted(keys))})",
                                source=path)
    want = model.lower()
    if want in keys:
        return keys[want], want
    if want in manifest and manifest[want] in members:
        return manifest[want], os.path.basename(manifest[want]).split("-")[0]
    aliases = {k.removeprefix("tv_"): k for k in keys}
    if want in aliases:
        return keys[aliases[want]], aliases[want]
    raise ModelNotInArchive(f"no log of model '{model}' in the archive" + did_you_mean(want, keys)
                            + f"; models: {', '.join(sorted(keys))}", source=path)


def _lines(path: str, model: str | None) -> tuple[list[str], str, str]:
    """(lines, source for messages, trace name)."""
    if not os.path.exists(path):
        raise SimulatorError("no such file", source=path)
    if zipfile.is_zipfile(path):
        member, key = _zip_member(path, model)
        with zipfile.ZipFile(path) as z:
            raw = z.read(member)
        source, name = f"{path}:{member}", key
    else:
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as err:
            raise SimulatorError(f"cannot read: {err.strerror}", source=path) from None
        source, name = path, os.path.basename(path).split("-")[0].removesuffix(".log")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SimulatorError("not a text file (DTR logs are JSON lines)", source=source) from None
    return text.splitlines(), source, name


class _Reader:
    def __init__(self, lines: list[str], first: int, source: str):
        self.lines = lines
        self.i = first
        self.source = source

    def fail(self, message: str, line: int) -> SimulatorError:
        return SimulatorError(message, source=self.source, where=f"line {line}")

    def __iter__(self) -> Iterator[tuple[int, dict]]:
        return self

    def __next__(self) -> tuple[int, dict]:
        while self.i < len(self.lines):
            line_no = self.i + 1
            text = self.lines[self.i].strip()
            self.i += 1
            if not text:
                continue
            try:
                obj = json.loads(text)
            except ValueError as err:
                raise self.fail(f"not valid JSON ({err.msg})", line_no) from None
            if not isinstance(obj, dict):
                raise self.fail(f"not a JSON object (a JSON {_json_kind(obj)}); each line of a DTR log is "
                                f"one object such as {{\"INSTRUCTION\": \"CALL\", ...}}", line_no)
            if "INSTRUCTION" not in obj:
                raise self.fail("has no INSTRUCTION", line_no)
            if not isinstance(obj["INSTRUCTION"], str) or obj["INSTRUCTION"] not in _KNOWN:
                raise self.fail(f"unknown instruction {obj['INSTRUCTION']!r}", line_no)
            return line_no, obj
        raise StopIteration

    def field(self, obj: dict, key: str, line: int):
        if key not in obj:
            raise self.fail(f"{obj['INSTRUCTION']} has no {key}", line)
        return obj[key]

    def integer(self, obj: dict, key: str, line: int, low: int = 0) -> int:
        """A whole number (DTR writes them as strings: "4000"); 4000.7 or true is refused, not truncated."""
        value = self.field(obj, key, line)
        n = None
        if isinstance(value, int) and not isinstance(value, bool):
            n = value
        elif isinstance(value, float) and value.is_integer():
            n = int(value)
        elif isinstance(value, str):
            try:
                n = int(value.strip())
            except ValueError:
                pass
        if n is None:
            raise self.fail(f"{key} must be an integer, not {value!r}", line)
        shown = value if isinstance(value, float) else n     # 1e+300 as written, not its 301 digits
        if n < low:
            raise self.fail(f"{key} must be >= {low}, not {shown}", line)
        if n > MAX_INTEGER:
            raise self.fail(f"{key} {shown} is too large (at most 2**53 = {MAX_INTEGER})", line)
        return n

    def name(self, obj: dict, key: str, line: int) -> str:
        value = self.field(obj, key, line)
        if not isinstance(value, str):
            raise self.fail(f"{key} must be a name (a string), not {value!r}", line)
        return value

    def names(self, obj: dict, key: str, line: int) -> list[str]:
        value = self.field(obj, key, line)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{key} must be a list of names", line)
        return value


def _json_kind(value) -> str:
    """JSON's name of a parsed value's type (array, not list)."""
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return {list: "array", str: "string", int: "number", float: "number"}.get(type(value), type(value).__name__)


def _start(lines: list[str], source: str) -> int:
    """Index of the first line after the last ANNOTATE START (0 if there is none)."""
    for i in range(len(lines) - 1, -1, -1):
        text = lines[i]
        if '"START"' in text and "ANNOTATE" in text:
            try:
                obj = json.loads(text)
            except ValueError:
                continue
            if isinstance(obj, dict) and obj.get("INSTRUCTION") == "ANNOTATE" and obj.get("ANNOTATION") == "START":
                return i + 1
    return 0


def load_dtr_log(path: str | os.PathLike, model: str | None = None) -> OpTrace:
    """An `OpTrace` from a DTR log file, or from DTR's logs.zip with `model` (e.g.
    "resnet32", "lstm", "densenet121", or a manifest name such as "ResNet-32 (56)")."""
    path = os.fspath(path)
    lines, source, name = _lines(path, model)
    rd = _Reader(lines, _start(lines, source), source)
    b = TraceBuilder(name=name, source=source)
    refs: dict[str, int] = {}

    def ref(n: str, line: int) -> int:
        try:
            return refs[n]
        except KeyError:
            raise rd.fail(f"unknown name '{n}' (not defined since the last START, or released)", line) from None

    def bind(n: str, r: int, line: int) -> None:
        old = refs.get(n)
        if old is not None:  # a name reused without RELEASE: the old reference is dropped
            b.release(old)
        refs[n] = r

    for line, obj in rd:
        kind = obj["INSTRUCTION"]
        if kind == "ANNOTATE":
            continue
        if kind == "CONSTANT":
            n = rd.name(obj, "NAME", line)
            nxt = next(rd, None)
            if nxt is None or nxt[1]["INSTRUCTION"] != "MEMORY" or nxt[1].get("NAME") != n:
                raise rd.fail(f"CONSTANT '{n}' is not followed by its MEMORY", line)
            bind(n, b.constant(n, rd.integer(nxt[1], "MEMORY", nxt[0])), line)
        elif kind == "CALL":
            args = rd.names(obj, "ARGS", line)
            results = rd.names(obj, "RESULT", line)
            cost = rd.integer(obj, "TIME", line) * 1e-9
            arg_refs = [ref(a, line) for a in args]
            outs = []
            for r in results:
                got: dict[str, tuple[int, dict]] = {}
                while len(got) < 2:
                    nxt = next(rd, None)
                    if nxt is None or nxt[1]["INSTRUCTION"] not in ("MEMORY", "ALIAS") \
                            or nxt[1].get("NAME") != r or nxt[1]["INSTRUCTION"] in got:
                        raise rd.fail(f"CALL result '{r}' is not followed by its MEMORY and ALIAS", line)
                    got[nxt[1]["INSTRUCTION"]] = nxt
                mline, mobj = got["MEMORY"]
                aline, aobj = got["ALIAS"]
                nbytes = rd.integer(mobj, "MEMORY", mline)
                alias = rd.integer(aobj, "ALIAS", aline, low=-1)
                if alias >= len(args):
                    raise rd.fail(f"ALIAS {alias} names no argument (the call has {len(args)})", aline)
                outs.append((nbytes, None if alias < 0 else arg_refs[alias]))
            new = b.call(obj.get("NAME", "?"), arg_refs, outs, cost)
            for r, t in zip(results, new):
                bind(r, t, line)
        elif kind == "MUTATE":
            args = rd.names(obj, "ARGS", line)
            which = rd.field(obj, "MUTATE", line)
            if not isinstance(which, list) or not all(isinstance(k, int) and not isinstance(k, bool) and 0 <= k < len(args)
                                                     for k in which):
                raise rd.fail(f"MUTATE must list argument positions below {len(args)}, not {which!r}", line)
            arg_refs = [ref(a, line) for a in args]
            b.mutate(obj.get("NAME", "?"), arg_refs, [arg_refs[k] for k in which],
                     rd.integer(obj, "TIME", line) * 1e-9)
        elif kind in ("COPY", "COPY_FROM"):
            dst = rd.name(obj, "DST", line)
            src = ref(rd.name(obj, "SRC", line), line)
            if kind == "COPY_FROM" and dst not in refs:
                raise rd.fail(f"COPY_FROM into unknown name '{dst}'", line)
            bind(dst, b.copy(src), line)
        elif kind == "RELEASE":
            n = rd.name(obj, "NAME", line)
            b.release(ref(n, line))
            del refs[n]
        else:  # a MEMORY or ALIAS out of place
            raise rd.fail(f"{kind} for '{obj.get('NAME')}' does not follow its CONSTANT or CALL", line)
    if not b._kind:
        raise SimulatorError("the log has no instructions after its last START", source=source)
    return b.build()
