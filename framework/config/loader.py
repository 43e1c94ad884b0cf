"""Reading config files: comments, includes, $VARS, and the merge rules.

* ``include`` names one file or a list, resolved relative to the including
  file after ``$VARS`` are expanded (``$DEFFE_DIR`` is the checkout).
* The including file wins. Objects merge key by key; lists of objects merge by
  ``name`` (an entry of the including file updates the included entry of the
  same name, new entries come after the included ones); other lists and
  values are replaced, except ``python_path``, which keeps the included
  directories after the including file's.
* A cycle of includes and a missing include are errors.

Each object entry of a list remembers the file it came from (``ORIGIN`` key),
so errors found after merging still name the right file.
"""
from __future__ import annotations

import contextlib
import contextvars
import copy
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

import commentjson

from ..errors import DeffeError
from ..values import format_value, json_kind, parse_values
from .schema import SECTIONS

ORIGIN = "__origin__"
KEYS = "__keys__"   # in an object whose keys are checked: key -> the file that wrote it
POSITION = "__position__"   # in an entry of a list: its index in the file that wrote it (errors name that one)
LISTS = ("knobs", "scenarios", "costs")


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def templates_dir() -> Path:
    """The templates of Deffe's convention (``$DEFFE_DIR/templates/deffe_framework.json``): package data of
    ``framework``, so that an installed run_deffe has them too (the checkout's templates/ links here)."""
    return Path(__file__).resolve().parents[1] / "templates"


def _packaged_template(path: Path) -> Path | None:
    """``$DEFFE_DIR/templates/<name>`` not found where the default $DEFFE_DIR points (an installed package:
    the folder holding the packages has no templates/): the packaged template of that name, if any."""
    try:
        rest = path.absolute().relative_to(repo_root() / "templates")
    except ValueError:
        return None
    packaged = templates_dir() / rest
    return packaged if rest.parts and packaged.is_file() else None


def ensure_deffe_dir() -> None:
    """``$DEFFE_DIR`` defaults to this checkout, as in Deffe."""
    os.environ.setdefault("DEFFE_DIR", str(repo_root()))


# the included files' texts: recorded while a config loads (a run keeps them in its manifest), or given back
# (a run's config rebuilt from its manifest reads them there, not from the disk, where they may have changed)
_INCLUDED: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("included", default=None)


@contextlib.contextmanager
def included_texts(texts: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """Within: every included file read is recorded in the dict yielded by its resolved path; with
    ``texts``, a file of those is read from there rather than from the disk."""
    record = dict(texts or {})
    token = _INCLUDED.set(record)
    try:
        yield record
    finally:
        _INCLUDED.reset(token)


def read_json(path: Path, shown: str) -> Any:
    texts = _INCLUDED.get()
    key = str(path.resolve())
    if texts is not None and key in texts:
        return read_json_text(texts[key], shown)
    try:
        text = path.read_text(encoding="utf-8-sig")   # a byte-order mark (Windows editors) is not JSON
    except FileNotFoundError:
        raise DeffeError("file not found", file=shown, hint="check the name and the directory it is given from") \
            from None
    except UnicodeDecodeError as e:
        before = e.object[:e.start]
        line, column = before.count(b"\n") + 1, e.start - before.rfind(b"\n")
        raise DeffeError(f"not UTF-8 text (byte {e.object[e.start:e.start + 1]!r})", file=shown,
                         where=f"{line}:{column}", hint="save the config as UTF-8") from None
    except (OSError, ValueError) as e:   # a directory, no permission, a name the system refuses
        raise DeffeError(f"cannot read the file ({getattr(e, 'strerror', None) or e})", file=shown) from None
    if texts is not None:
        texts[key] = text
    return read_json_text(text, shown)


def read_json_text(text: str, shown: str, once: bool = True) -> Any:
    """A config's text (JSON with comments) as data; ``shown`` names it in errors. ``once``: a key written
    twice in one object is an error (JSON parsers keep the last silently: the first is lost unseen)."""
    if not text.strip():
        raise DeffeError("the file is empty", file=shown, hint="a config is a JSON object")
    data = _fast_json(text, shown, once)
    if data is not _NOT_PLAIN:
        return data
    try:
        return commentjson.loads(text)
    except Exception as e:  # lark's errors carry line and column
        line = getattr(e, "line", None)
        col = getattr(e, "column", None)
        where = f"{line}:{col}" if line is not None else None
        if where is None:
            where = _guess_line(e)
        raise DeffeError("not valid JSON (comments with // or # are allowed)", file=shown,
                         where=where, hint="check the brackets, commas and quotes there") from None


_NOT_PLAIN = object()
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|(?://|#)[^\n]*')
_STRING_OR_TRAILING_COMMA = re.compile(r'"(?:[^"\\\n]|\\.)*"|,(?=\s*[\]}])')


def _blank(match: re.Match) -> str:
    """A comment or a trailing comma as spaces (strings kept): lines and columns stay where they were."""
    text = match.group(0)
    return text if text.startswith('"') else " " * len(text)


def _refuse_constant(name: str):
    raise ValueError(name)


class _Repeated(Exception):
    pass


def _unique_keys(pairs: list) -> dict:
    data = dict(pairs)
    if len(data) < len(pairs):
        raise _Repeated()
    return data


def _repeated_key(plain: str) -> tuple[str, str, str]:
    """The first key written twice in one object of a valid JSON text: (key, where, where first)."""
    objects: list[dict | None] = []   # per open bracket: an object's keys and their positions; None: a list
    for m in re.finditer(r'"(?:[^"\\\n]|\\.)*"(\s*:)?|[{}\[\]]', plain):   # strings whole: "[" in one is text
        token = m.group(0)
        if token in "{[":
            objects.append({} if token == "{" else None)
        elif token in "}]":
            objects.pop()
        elif m.group(1) and objects and objects[-1] is not None:
            key = json.loads(token[:token.rindex(":")])
            line = plain.count("\n", 0, m.start()) + 1
            where = f"{line}:{m.start() - plain.rfind(chr(10), 0, m.start())}"
            if key in objects[-1]:
                return key, where, objects[-1][key]
            objects[-1][key] = where
    raise AssertionError("no repeated key")   # the parser saw one: unreachable


def _fast_json(text: str, shown: str, once: bool = True) -> Any:
    """The config read by the standard library's parser once comments and trailing commas (what commentjson
    accepts beyond JSON) are blanked out. commentjson's own parser takes time and memory that grow with the
    square of a list's length (a list of 40,000 values: 12 GB; 100,000: killed): it is kept only for the
    errors of a text this parser refuses, whose line and column it reports."""
    plain = _STRING_OR_TRAILING_COMMA.sub(_blank, _STRING_OR_COMMENT.sub(_blank, text))
    try:
        return json.loads(plain, parse_constant=_refuse_constant,   # NaN / Infinity: not JSON
                          object_pairs_hook=_unique_keys if once else None)
    except _Repeated:
        key, where, first = _repeated_key(plain)
        raise DeffeError(f"the key '{key}' is written twice in one object (first at {first}); JSON keeps only "
                         "the last, silently", file=shown, where=where,
                         hint="remove one of them, or merge them into one") from None
    except (ValueError, RecursionError) as e:
        if len(text) > 200_000:   # too long for commentjson: the standard parser's position
            where = f"{e.lineno}:{e.colno}" if isinstance(e, json.JSONDecodeError) else None
            raise DeffeError("not valid JSON (comments with // or # are allowed)", file=shown, where=where,
                             hint="check the brackets, commas and quotes there") from None
        return _NOT_PLAIN


def _guess_line(err: Exception) -> str | None:
    cause = err.__context__
    for e in (err, cause):
        if e is not None and getattr(e, "line", None) is not None:
            return f"{e.line}:{getattr(e, 'column', '?')}"
    return None


def load_tree(path: str | os.PathLike, _stack: tuple[Path, ...] = (), _shown: str | None = None,
              data: dict | None = None) -> dict:
    """The merged data of a config file and everything it includes. With ``data`` (a config given as a
    Python dict, `framework.explore`), ``path`` is only where it stands: relative names resolve there."""
    ensure_deffe_dir()
    p = Path(os.path.expandvars(str(path)))
    shown = _shown or str(path)
    real = p.resolve()
    data = read_json(p, shown) if data is None else copy.deepcopy(data)   # the caller's dict stays as it was
    if not isinstance(data, dict):
        raise DeffeError(f"a config must be a JSON object, not {json_kind(data).replace('a list', 'a JSON array')}",
                         file=shown, hint="write the config as { \"knobs\": [...], \"costs\": [...], ... }")
    _mark_origin(data, shown)
    _anchor_python_path(data, p.parent, shown)
    includes = data.get("include")
    if includes is None:
        return data
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise DeffeError(f"'include' must be a file name or a list of file names, not {json_kind(includes)}",
                         file=shown, where="include", hint="write \"include\": \"base.json\" or "
                                                           "[\"a.json\", \"b.json\"]")
    merged: dict = {}
    for i, inc in enumerate(includes):
        expanded = os.path.expandvars(inc)
        inc_path = Path(expanded)
        if not inc_path.is_absolute():
            inc_path = p.parent / inc_path
        where = "include" if isinstance(data.get("include"), str) else f"include[{i}]"
        if not inc.strip():   # (it would name the config's own directory)
            raise DeffeError("the include is empty text", file=shown, where=where,
                             hint="name the file to include, or remove the include")
        if not inc_path.exists() and _packaged_template(inc_path) is not None:
            inc_path = _packaged_template(inc_path)
        replayed = str(inc_path.resolve()) in (_INCLUDED.get() or {})   # a run's config rebuilt: kept text
        if not inc_path.exists() and not replayed:
            raise _include_not_found(inc, inc_path, shown, where)
        if inc_path.is_dir() and not replayed:
            raise DeffeError(f"included file '{inc}' is a directory", file=shown, where=where,
                             hint="name a config file in it")
        if inc_path.resolve() in _stack + (real,):
            chain = " -> ".join(s.name for s in _stack + (real, inc_path.resolve()))
            raise DeffeError(f"include cycle: {chain}", file=shown, where=where,
                             hint="remove one of these includes")
        sub = load_tree(inc_path, _stack + (real,), os.path.normpath(inc_path))   # shown without a/../
        merged = merge(sub, merged) if merged else sub
    body = {k: v for k, v in data.items() if k != "include"}
    return merge(body, merged)


_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def variables_of(texts: Iterable[str | None]) -> dict[str, str | None]:
    """The environment variables the config's texts name (``$X``, ``${X}``) and their values now (None: unset):
    what a run records, so that its config is read back later with the values it was read with."""
    names = sorted({a or b for text in texts if text for a, b in _VARIABLE.findall(text)})
    return {n: os.environ.get(n) for n in names}


@contextlib.contextmanager
def variables_set(values: dict[str, str | None] | None) -> Iterator[None]:
    """Within: the environment variables as ``values`` has them (None: unset); put back after."""
    values = dict(values or {})
    before = {n: os.environ.get(n) for n in values}
    try:
        for n, v in values.items():
            _set_variable(n, v)
        yield
    finally:
        for n, v in before.items():
            _set_variable(n, v)


def _set_variable(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _include_not_found(inc: str, inc_path: Path, shown: str, where: str) -> DeffeError:
    """The error of an included file not found: with the path looked for when variables were expanded, and for
    the original Deffe's $DEFFE_DIR (its setup.source sets it to <deffe>/src/deffe, which has no templates/)
    what to do."""
    names = [a or b for a, b in _VARIABLE.findall(inc)]
    unset = [n for n in names if n not in os.environ]
    if unset:
        return DeffeError(f"included file '{inc}' not found (is ${unset[0]} set?)", file=shown, where=where,
                          hint=f"set {unset[0]}, or name the file without it")
    if not names:
        return DeffeError(f"included file '{inc}' not found", file=shown, where=where,
                          hint="check the name: it is relative to the including file's directory")
    hint = None
    if "DEFFE_DIR" in names and Path(os.environ["DEFFE_DIR"]).resolve() != repo_root().resolve():
        ours = Path(_VARIABLE.sub(lambda m: str(repo_root()) if (m.group(1) or m.group(2)) == "DEFFE_DIR"
                                  else m.group(0), inc))
        ours = Path(os.path.expandvars(str(ours)))
        installed = not ours.exists() and _packaged_template(ours) is not None   # no checkout: package data
        if installed:
            ours = _packaged_template(ours)
        has = f"which has no {_first_missing(inc_path, Path(os.environ['DEFFE_DIR']))}" if \
            _inside(inc_path, Path(os.environ["DEFFE_DIR"])) else \
            ("not the installed package's folder" if installed else "not this checkout")
        use = (f"unset DEFFE_DIR to use the installed package's template ({ours})" if installed else
               f"unset DEFFE_DIR to use this checkout's ({ours}), or source this checkout's setup.source")
        hint = (f"DEFFE_DIR is {os.environ['DEFFE_DIR']} ({has}; the original Deffe's setup.source sets it so): "
                f"{use}" if ours.exists() else f"DEFFE_DIR is {os.environ['DEFFE_DIR']}")
    return DeffeError(f"included file '{inc}' not found (looked for {inc_path})", file=shown, where=where,
                      hint=hint)


def _first_missing(path: Path, folder: Path) -> str:
    """The first part of ``path`` (inside ``folder``) that does not exist: 'templates/', 'templates/x.json'."""
    parts = path.relative_to(folder).parts
    for i in range(1, len(parts) + 1):
        if not (folder.joinpath(*parts[:i])).exists():
            return "/".join(parts[:i]) + ("/" if i < len(parts) else "")
    return "/".join(parts)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def _anchor_python_path(data: dict, base: Path, shown: str) -> None:
    """python_path entries are relative to the file that writes them (an included template's own): they
    become absolute paths, without ``a/../`` (a config in a sub-directory may include ``../base.json``).
    An entry that is no directory, or one holding a module named like one of Python's own, is a warning
    (`path_notes`)."""
    pp = data.get("python_path")
    single = isinstance(pp, str)
    if single:
        pp = [pp]
    if isinstance(pp, list) and all(isinstance(x, str) for x in pp):
        data["python_path"] = [os.path.abspath(base / os.path.expandvars(x)) for x in pp]
        notes = _NOTES.get()
        if notes is not None:
            for i, (written, folder) in enumerate(zip(pp, data["python_path"])):
                notes.extend(_python_path_notes(written, Path(folder),
                                                f"{shown}:python_path" + ("" if single else f"[{i}]")))


# Python's own modules a user's module may hide without harm (the test suite, jokes)
_HARMLESS = {"test", "this", "antigravity", "idlelib", "turtledemo"}


def _python_path_notes(written: str, folder: Path, where: str) -> list[str]:
    """Warnings on a python_path directory: not there, a file; a module in it named like one of Python's own
    (on the import path before Python's, it is imported in its place, by the framework too)."""
    if not folder.exists():
        return [f"{where}: '{written}' not found (looked for {folder}); no plugin is looked for there"]
    if not folder.is_dir():
        return [f"{where}: '{written}' is a file, not a directory; python_path lists the directories that hold "
                f"plugin modules: write '{os.path.dirname(written) or '.'}'"]
    import sys
    out = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        name = entry.stem if entry.suffix == ".py" else entry.name
        if not ((entry.suffix == ".py" and entry.is_file()) or (entry.is_dir() and (entry / "__init__.py").is_file())):
            continue
        if name in sys.stdlib_module_names and name not in _HARMLESS:
            out.append(f"{where}: {entry} has the name of Python's own module '{name}', which it hides from the "
                       f"whole run (the framework's reports use Python's modules too); rename it")
        elif name in _PROJECT_MODULES:
            # the project's package always wins (framework/plugins.py): the user's own `import simulator` would
            # get the project's, and their code fail far from here
            out.append(f"{where}: {entry} has the name of this project's package '{name}', which is imported in "
                       f"its place (an 'import {name}' of your code gets the project's); rename it")
        elif name.isidentifier() and name != "plugins":   # (a plugins/ folder of the user's is read by its path)
            other = _installed_module(name, folder)
            if other:
                out.append(f"{where}: {entry} has the name of the installed package '{name}' ({other}): one hides "
                           f"the other from the whole run (the framework and its models import {name} too, or "
                           f"your code gets the installed one); rename it")
    return out


_PROJECT_MODULES = ("framework", "simulator")


def _installed_module(name: str, folder: Path) -> str | None:
    """Where an installed module or package of this name is (not the user's folder, not the project), or None."""
    import importlib.machinery
    import sys
    project = Path(__file__).resolve().parents[2]
    here = folder.resolve()
    paths = []
    for p in sys.path:
        try:
            resolved = Path(p or os.curdir).resolve()
        except (OSError, RuntimeError):
            continue
        if resolved not in (here, project) and ("site-packages" in resolved.parts or "dist-packages" in resolved.parts):
            paths.append(p)
    try:
        spec = importlib.machinery.PathFinder.find_spec(name, paths)
    except (ImportError, ValueError, OSError):
        return None
    if spec is None:
        return None
    return spec.origin if spec.origin not in (None, "namespace") else \
        next(iter(spec.submodule_search_locations or []), None)


# the warnings of the python_path entries of the files a config loads (`path_notes`)
_NOTES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("python_path_notes", default=None)


@contextlib.contextmanager
def path_notes() -> Iterator[list[str]]:
    """Within: the warnings on python_path entries of the files loaded go to the list yielded."""
    notes: list[str] = []
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def _costs_list(data: dict, shown: str) -> None:
    """Deffe read "costs" with its value syntax: "cpu_cycles, power" is two costs (as "groups" and "values")."""
    costs = data.get("costs")
    if isinstance(costs, str):
        try:
            data["costs"] = [format_value(v) for v in parse_values(costs, "costs")]
        except DeffeError as e:
            raise e.located(file=shown) from None
    elif costs is not None and not isinstance(costs, list):
        raise DeffeError(f"expected a list of costs, got {json_kind(costs)}", file=shown, where="costs",
                         hint='write "costs": ["exec_time", "power"] (or Deffe\'s "exec_time, power")')


def _mark_origin(data: dict, shown: str) -> None:
    _costs_list(data, shown)
    for key in LISTS:
        items = data.get(key)
        if isinstance(items, list):
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    item.setdefault(ORIGIN, shown)
                    item.setdefault(POSITION, i)
                elif key != "costs" or not isinstance(item, str):
                    # said here, where its index is this file's (the merged list counts the included entries)
                    raise DeffeError(f"expected an object with 'name' and 'values', got {json_kind(item)}" if
                                     key != "costs" else f"a cost is a name or an object with 'name', got "
                                     f"{json_kind(item)}", file=shown, where=f"{key}[{i}]")
    explo = data.get("exploration")
    if isinstance(explo, dict) and isinstance(explo.get("explore"), list):
        for i, item in enumerate(explo["explore"]):
            if isinstance(item, dict):
                item.setdefault(ORIGIN, shown)
                item.setdefault(POSITION, i)
            else:
                raise DeffeError(f"expected an object, got {json_kind(item)}", file=shown,
                                 where=f"exploration.explore[{i}]")
    data.setdefault(ORIGIN, shown)
    # every key of the top level, of the sections and of evaluate.simulator remembers its file, so that an
    # error in an included file names that file
    objects = [data] + [data[s] for s in SECTIONS if isinstance(data.get(s), dict)]
    if isinstance(data.get("evaluate"), dict) and isinstance(data["evaluate"].get("simulator"), dict):
        objects.append(data["evaluate"]["simulator"])
    for obj in objects:
        obj[KEYS] = {k: shown for k in obj if k not in (ORIGIN, KEYS, POSITION)}


def origin_of(obj: Any, key: str, default: str) -> str:
    """The file that wrote ``obj[key]`` (``obj`` an object of the merged config)."""
    if isinstance(obj, dict):
        return obj.get(KEYS, {}).get(key) or default
    return default


# the keys where null is a value of its own, not "not given" (schema: Key.nullable)
NULL_MEANS_NONE = {(section, name) for section, keys in SECTIONS.items() for name, k in keys.items()
                   if k.nullable}


def merge(top: Any, base: Any, key: str | None = None, parent: str | None = None) -> Any:
    """``top`` (the including file) merged over ``base`` (what it includes)."""
    if top is None and base is not None and (parent, key) not in NULL_MEANS_NONE:
        return base   # null is "not given" (config.md): what the included file gives stands
    if isinstance(top, dict) and isinstance(base, dict):
        out = dict(base)
        for k, v in top.items():
            if k == ORIGIN:
                out.setdefault(ORIGIN, v)
                continue
            out[k] = merge(v, base[k], k, key) if k in base else v
        if ORIGIN in top:
            out[ORIGIN] = top[ORIGIN]
        return out
    if isinstance(top, list) and isinstance(base, list):
        if any(isinstance(x, dict) for x in top + base):
            return _merge_named(top, base, key in ("knobs", "scenarios"))
        if key == "python_path":
            return list(top) + [x for x in base if x not in top]
    return top


# a knob's two ways of giving its values: the including file's way replaces the included one's
RANGE_KEYS = ("min", "max", "step")


def _given(item: dict, keys: tuple) -> bool:
    return any(item.get(k) is not None for k in keys)


def _other_way_dropped(top: dict, base: dict) -> dict:
    """``base`` (an included knob) without its values when ``top`` (the including file's knob of that name)
    gives a range, or without its range when ``top`` gives values: overriding a knob, a user replaces how its
    values are given (else the included list and the new range are both there, an error)."""
    if _given(top, RANGE_KEYS) and not _given(top, ("values",)) and _given(base, ("values",)):
        return {k: v for k, v in base.items() if k != "values"}
    if _given(top, ("values",)) and not _given(top, RANGE_KEYS) and _given(base, RANGE_KEYS):
        return {k: v for k, v in base.items() if k not in RANGE_KEYS}
    return base


def _merge_named(top: list, base: list, knobs: bool = False) -> list:
    out = list(base)
    positions: dict[Any, list[int]] = {}
    for i, item in enumerate(out):
        if isinstance(item, dict) and "name" in item:
            positions.setdefault(_hashable(item["name"]), []).append(i)
    written: dict[Any, int] = {}
    for item in top:
        if isinstance(item, dict) and "name" in item:
            written[_hashable(item["name"])] = written.get(_hashable(item["name"]), 0) + 1
    for item in top:
        name = _hashable(item.get("name")) if isinstance(item, dict) else None
        hits = positions.get(name, []) if name is not None else []
        if len(hits) == 1 and written[name] == 1:
            out[hits[0]] = merge(item, _other_way_dropped(item, out[hits[0]]) if knobs else out[hits[0]])
        else:
            # a new entry, or a name used several times below (Deffe allows the same
            # scenario name in different groups): keep them all, the including file last
            out.append(item)
    return out


def _hashable(x: Any) -> Any:
    try:
        hash(x)
        return x
    except TypeError:
        return repr(x)
