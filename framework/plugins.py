"""Finding and checking plugins (Deffe's ``GetObject`` convention).

A plugin is named in its config section by ``plugin``:

1. a path (``my_eval.py``, ``tools/sampler.py``): relative to the config file,
   then to each ``python_path`` directory;
2. a module name (``my_sampler``): a ``<name>.py`` or package in a
   ``python_path`` directory (so a user module can stand in for a built-in);
3. a built-in of the block: ``plugins/<block>/<name>.py``;
4. a dotted module (``mypackage.sampler``) inside a ``python_path`` directory.

Code is loaded only from the built-ins, the config's own directory and the
``python_path`` directories: a config from elsewhere cannot make the driver
import a module from anywhere else on the machine (a path leading out of
those folders is refused, and a dotted name is looked for in them only).

The framework never imports ``plugins`` by itself: built-ins are found by
name, like any other plugin.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import DeffeError, did_you_mean, join_hints
from .protocols import BLOCKS

PLUGIN_ROOT = Path(__file__).resolve().parents[1] / "plugins"


def builtin_names(block: str) -> list[str]:
    folder = PLUGIN_ROOT / block
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def _add_python_paths(dirs: list[Path]) -> None:
    for d in reversed(dirs):
        s = str(d)
        if s not in sys.path:
            sys.path.insert(0, s)


def _load_file(path: Path, block: str) -> ModuleType:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    mod_name = f"deffe_user_{block}_{path.stem}_{digest}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    target = path / "__init__.py" if path.is_dir() else path
    spec = importlib.util.spec_from_file_location(mod_name, target,
                                                  submodule_search_locations=[str(path)] if path.is_dir() else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[mod_name]
        raise
    return module


def _inside(path: Path, roots: list[Path]) -> bool:
    path = path.resolve()
    return any(path.is_relative_to(r.resolve()) for r in roots)


def find_module(block: str, name: str, config_dir: Path, python_paths: list[Path],
                file: str | None, where: str) -> ModuleType:
    """The module a plugin name stands for; DeffeError if none."""
    _add_python_paths(python_paths)
    roots = [config_dir, *python_paths]
    looked: list[str] = []
    try:
        if name.endswith(".py") or "/" in name or "\\" in name:
            for base in roots:
                candidate = (base / name) if not Path(name).is_absolute() else Path(name)
                looked.append(str(candidate))
                if candidate.is_file():
                    if not _inside(candidate, roots):
                        raise DeffeError(f"plugin file '{name}' for {block} is outside the config's directory "
                                         "and python_path", file=file, where=where,
                                         hint=f"add its directory to python_path to trust it ({candidate.parent})")
                    return _load_file(candidate, block)
            raise DeffeError(f"plugin file '{name}' for {block} not found", file=file, where=where,
                             hint=f"looked at {', '.join(looked)}")
        for base in python_paths:
            for candidate in (base / f"{name}.py", base / name):
                if candidate.is_file() or (candidate.is_dir() and (candidate / "__init__.py").is_file()):
                    return _load_file(candidate, block)
        if (PLUGIN_ROOT / block / f"{name}.py").is_file():
            return importlib.import_module(f"plugins.{block}.{name}")
        if "." in name:
            parts = name.split(".")
            for base in python_paths:   # a dotted module, looked for in the python_path directories only
                stem = base.joinpath(*parts)
                if stem.with_suffix(".py").is_file() or (stem / "__init__.py").is_file():
                    return importlib.import_module(name)
    except DeffeError:
        raise
    except (Exception, SystemExit) as e:  # the user's module failed (or called exit) while importing
        raise DeffeError(f"plugin '{name}' for {block} failed to import: {type(e).__name__}: {e}",
                         file=file, where=where, hint="run with -debug for the traceback") from e
    builtins = builtin_names(block)
    raise DeffeError(f"plugin '{name}' for {block} not found", file=file, where=where,
                     hint=join_hints(did_you_mean(name, builtins),
                                     f"built-in: {', '.join(builtins) or 'none'}; or put {name}.py in a "
                                     f"python_path directory"))


def make_plugin(block: str, name: str, framework: Any, config_dir: Path, python_paths: list[Path],
                file: str | None = None) -> Any:
    """Load the plugin module, call its GetObject(framework), check the object's methods."""
    section, _proto, methods = BLOCKS[block]
    where = f"{section}.plugin"
    config = getattr(framework, "config", None)
    if callable(getattr(config, "file_of", None)) and file == config.data.get("__origin__"):
        file = config.file_of(where)   # an included file's name for a plugin it names
    module = find_module(block, name, config_dir, python_paths, file, where)
    factory = getattr(module, "GetObject", None)
    if not callable(factory):
        raise DeffeError(f"plugin '{name}' for {block} has no GetObject(framework) function", file=file,
                         where=where, hint="a plugin module defines GetObject(framework) returning its object")
    try:
        obj = factory(framework)
    except DeffeError:
        raise
    except Exception as e:
        raise DeffeError(f"plugin '{name}' for {block}: GetObject failed: {type(e).__name__}: {e}",
                         file=file, where=where, hint="run with -debug for the traceback") from e
    missing = [m for m in methods if not callable(getattr(obj, m, None))]
    if missing:
        raise DeffeError(f"plugin '{name}' for {block}: its object has no {', '.join(m + '()' for m in missing)}",
                         file=file, where=where,
                         hint=f"{'an' if block[0] in 'aeiou' else 'a'} {block} plugin's object needs "
                              f"{', '.join(m + '()' for m in methods)}")
    return obj
