"""Finding and checking plugins (Deffe's ``GetObject`` convention).

A plugin is named in its config section by ``plugin``:

1. a path (``my_eval.py``, ``tools/sampler.py``): relative to the config file,
   then to each ``python_path`` directory;
2. a module name (``my_sampler``): a ``<name>.py`` or package in a
   ``python_path`` directory (so a user module can stand in for a built-in,
   as in Deffe; a warning names both, `make_plugin`);
3. a built-in of the block: ``plugins/<block>/<name>.py``;
4. a dotted module (``mypackage.sampler``) inside a ``python_path`` directory.

A block's default plugin (one the config does not name: the exploration's
``surrogate``, the sampler's ``random``) is always the built-in: a user's
``surrogate.py`` written as a model, or a ``random.py`` helper, in a
``python_path`` directory does not take over a block that never asked for it.

Code is loaded only from the built-ins, the config's own directory and the
``python_path`` directories: a config from elsewhere cannot make the driver
import a module from anywhere else on the machine (a path leading out of
those folders is refused, and a dotted name is looked for in them only).

The framework never imports ``plugins`` by itself: built-ins are found by
name, like any other plugin. They are always the project's: the user's
``python_path`` directories go on the import path after the project, and a
user's folder or module named like one of the project's packages (a
``plugins/`` folder next to the config, a ``simulator.py``) never stands in
for it (``plugins.my_eval`` in such a folder is loaded from its file).

A user's module is loaded from its file under a name of its own, again once the
file changed; `user_source` says which files a plugin name leads to (their
text is part of a run's fingerprint, `guard.fingerprints`), and
`user_modules_forgotten` puts the import path and the modules back after a
call of the Python API.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any, Iterator

from .errors import DeffeError, did_you_mean, join_hints
from .protocols import BLOCKS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PLUGIN_ROOT = PROJECT_ROOT / "plugins"
# the project's own top-level packages: a user's module or package of one of these names (a plugins/ folder
# of their own next to the config, a simulator.py) never stands in for them
PROJECT_PACKAGES = ("framework", "plugins", "simulator")


def builtin_names(block: str) -> list[str]:
    folder = PLUGIN_ROOT / block
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def _add_python_paths(dirs: list[Path]) -> None:
    """The user's directories go on the import path right after the entry that holds this project's checkout
    (like PYTHONPATH, before the installed packages), so that the project's own packages are found before a
    user's module of the same name. Installed (`pip install .`), the project's entry is the installed packages'
    folder: the user's directories go first, still before the installed packages (a helper module of the
    user's is not hidden by a package of the same name), and `_project_package` keeps the built-ins ours."""
    at = next((i + 1 for i, entry in enumerate(sys.path) if _holds_project(entry)), 0)
    if not (PROJECT_ROOT / "pyproject.toml").is_file():   # installed: the folder of the installed packages
        at = 0
    for d in reversed(dirs):
        s = str(d)
        if s not in sys.path:
            sys.path.insert(at, s)


def _holds_project(entry: str) -> bool:
    try:
        return Path(entry or os.curdir).resolve() == PROJECT_ROOT
    except (OSError, RuntimeError):
        return False


def _places(module: Any) -> list[str]:
    """Where a module's file (a package's folders) is; nothing for one without (a built-in module, or an odd
    object a library put in sys.modules, such as torch's _classes)."""
    try:
        places = [getattr(module, "__file__", None)]
        path = getattr(module, "__path__", None)
        if isinstance(path, (list, tuple)) or type(path).__name__ == "_NamespacePath":
            places += list(path)
        return [p for p in places if isinstance(p, str) and p]
    except Exception:
        return []


def _ours(module: ModuleType | None) -> bool:
    """Whether a module is one of this project's (not a user's of the same name)."""
    return any(Path(p).resolve().is_relative_to(PROJECT_ROOT) for p in _places(module))


def _project_package(name: str) -> None:
    """Make ``import <name>`` (plugins, simulator) give this project's package, whatever the import path
    holds before it (a user's plugins/ folder in the working directory, a simulator.py next to a config)."""
    module = sys.modules.get(name)
    if module is not None:
        if _ours(module):
            return
    else:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and any(p and Path(p).resolve().is_relative_to(PROJECT_ROOT)
                                    for p in [spec.origin, *(spec.submodule_search_locations or [])]):
            return
    folder = PROJECT_ROOT / name
    if not (folder / "__init__.py").is_file():
        return
    for key in [k for k in sys.modules if k.startswith(name + ".") and not _ours(sys.modules[k])]:
        del sys.modules[key]   # a user's sub-modules of that name
    _exec_file(name, folder / "__init__.py", folder)


def _builtin(block: str, name: str) -> ModuleType:
    for package in ("plugins", "simulator"):
        _project_package(package)
    return importlib.import_module(f"plugins.{block}.{name}")


def _load_file(path: Path, block: str, package: str | None = None) -> ModuleType:
    """The module of a file (a package: a folder), loaded under a name of its own (the user's file never
    takes the name of another module), in ``package`` if given. Loaded again once its file changed (a
    notebook's second run)."""
    target = path / "__init__.py" if path.is_dir() else path
    digest = hashlib.sha1(f"{path.resolve()}:{_stamp(path)}".encode()).hexdigest()[:8]
    mod_name = f"{package + '.' if package else USER_PREFIX}{block}_{path.stem}_{digest}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    return _exec_file(mod_name, target, path if path.is_dir() else None)


def _load_in_folder(path: Path, block: str) -> ModuleType:
    """A user's module a dotted name leads to whose first name is not the user's to import (``plugins.my_eval``
    in a plugins/ folder of their own: ``plugins`` is the project's), loaded from its file as a module of a
    package of a private name whose folder is the file's: its ``from . import helper`` finds the helper.py
    beside it, and its ``import helper`` too, as a script's would (its folder is on the import path while it
    loads). ``from plugins import helper`` still means the project's plugins, which it never shadows."""
    folder = path.parent
    package = f"{USER_PREFIX}{block}_in_{hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:8]}"
    if package not in sys.modules:
        if (folder / "__init__.py").is_file():
            _exec_file(package, folder / "__init__.py", folder)
        else:   # a folder without __init__.py: a package with nothing to run, as Python's namespace packages
            spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
            spec.submodule_search_locations = [str(folder)]
            sys.modules[package] = importlib.util.module_from_spec(spec)
    added = str(folder) not in sys.path
    if added:
        _add_python_paths([folder])
    try:
        return _load_file(path, block, package)
    finally:
        if added and str(folder) in sys.path:
            sys.path.remove(str(folder))


def _exec_file(name: str, target: Path, package: Path | None) -> ModuleType:
    """Run the module file `target` as sys.modules[name] (a package's ``__init__.py`` with its folder); a
    module that fails while it runs is not left half-made in sys.modules."""
    spec = importlib.util.spec_from_file_location(name, target,
                                                  submodule_search_locations=[str(package)] if package else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


USER_PREFIX = "deffe_user_"


def _stamp(path: Path) -> str:
    """When a plugin's file (a package's files) last changed, and their sizes."""
    try:
        return ",".join(f"{s.st_mtime_ns}-{s.st_size}" for s in (f.stat() for f in source_files(path)))
    except OSError:
        return ""


def source_files(path: Path) -> list[Path]:
    """The source of a user's plugin module: its file, or a package's .py files."""
    if path.is_dir():
        return sorted(f for f in path.rglob("*.py") if "__pycache__" not in f.parts)
    return [path]


def _inside(path: Path, roots: list[Path]) -> bool:
    path = path.resolve()
    return any(path.is_relative_to(r.resolve()) for r in roots)


def named_by_config(config: Any, block: str, name: Any) -> bool:
    """Whether the config asked for this plugin by name (wrote the block's ``plugin``, or a plugin other than
    the block's default): only then may a user's module of a built-in's name stand in for it."""
    from .config.schema import SECTIONS
    section = BLOCKS[block][0] if block in BLOCKS else block
    try:
        default = SECTIONS[section]["plugin"].default
    except KeyError:
        return True
    origins = getattr(config, "origins", None)
    return name != default or not isinstance(origins, dict) or f"{section}.plugin" in origins


def locate(block: str, name: str, config_dir: Path, python_paths: list[Path], file: str | None,
           where: str, named: bool = True) -> tuple[str, Any]:
    """Where a plugin name leads, nothing imported: ("file", path) for a user's file or package, ("builtin",
    name), ("dotted", (name, path)) for a dotted module in a python_path directory; DeffeError if nowhere.
    ``named``: the config asked for it by name (else a built-in of that name is taken first)."""
    roots = [config_dir, *python_paths]
    if not named and (PLUGIN_ROOT / block / f"{name}.py").is_file():
        return "builtin", name
    looked: list[str] = []
    if name.endswith(".py") or "/" in name or "\\" in name:
        for base in roots:
            candidate = (base / name) if not Path(name).is_absolute() else Path(name)
            looked.append(str(candidate))
            if candidate.is_file():
                if not _inside(candidate, roots):
                    raise DeffeError(f"plugin file '{name}' for {block} is outside the config's directory "
                                     "and python_path", file=file, where=where,
                                     hint=f"add its directory to python_path to trust it ({candidate.parent})")
                return "file", candidate
        raise DeffeError(f"plugin file '{name}' for {block} not found", file=file, where=where,
                         hint=f"looked at {', '.join(dict.fromkeys(looked))}")
    for base in python_paths:
        for candidate in (base / f"{name}.py", base / name):
            if candidate.is_file() or (candidate.is_dir() and (candidate / "__init__.py").is_file()):
                return "file", candidate
    if (PLUGIN_ROOT / block / f"{name}.py").is_file():
        return "builtin", name
    if "." in name:
        parts = name.split(".")
        for base in python_paths:   # a dotted module, looked for in the python_path directories only
            stem = base.joinpath(*parts)
            for candidate in (stem.with_suffix(".py"), stem):
                if candidate.is_file() or (candidate / "__init__.py").is_file():
                    return "dotted", (name, candidate)
    builtins = builtin_names(block)
    beside = next((c for c in (config_dir / f"{name}.py", config_dir / name)
                   if c.is_file() or (c / "__init__.py").is_file()), None) if "." not in name else None
    if beside is not None:   # where a newcomer puts it: only python_path directories are looked in
        raise DeffeError(f"plugin '{name}' for {block} not found on python_path", file=file, where=where,
                         hint=f"{beside} is next to the config: add \".\" to python_path (as Deffe's configs "
                              "do), or name the file (\"plugin\": \"" + beside.name + "\")")
    # a python_path directory that is not there (moved aside with a run directory by -fresh, say): where the
    # module most likely was; the config's warning saying so comes only once the plugins are made
    gone = [str(d) for d in python_paths if not d.is_dir()]
    raise DeffeError(f"plugin '{name}' for {block} not found", file=file, where=where,
                     hint=join_hints(f"the python_path director{'ies' if len(gone) > 1 else 'y'} "
                                     f"{', '.join(gone)} {'are' if len(gone) > 1 else 'is'} not there" if gone
                                     else None,
                                     did_you_mean(name, builtins),
                                     f"built-in: {', '.join(builtins) or 'none'}; or put {name}.py in a "
                                     f"python_path directory"))


def shadowed_builtin(block: str, name: Any, config_dir: Path, python_paths: list[Path]) -> Path | None:
    """The user's file a plugin name the config wrote leads to, where a built-in of the block has that name
    too (the user's file is used, as Deffe searched python_path; a warning names both)."""
    if not isinstance(name, str) or not name or not (PLUGIN_ROOT / block / f"{name}.py").is_file():
        return None
    try:
        kind, found = locate(block, name, config_dir, python_paths, None, "")
    except DeffeError:
        return None
    return found if kind == "file" else None


def user_source(block: str, name: Any, config_dir: Path, python_paths: list[Path],
                named: bool = True) -> list[Path]:
    """The files of the user's module a plugin name leads to (none for a built-in, or a name that leads
    nowhere): what the costs of a user's evaluate or extract plugin depend on besides the config."""
    if not isinstance(name, str) or not name:
        return []
    try:
        kind, found = locate(block, name, config_dir, python_paths, None, "", named)
    except DeffeError:
        return []
    if kind == "file":
        return source_files(found)
    if kind == "dotted":
        return source_files(found[1])
    return []


def find_module(block: str, name: str, config_dir: Path, python_paths: list[Path],
                file: str | None, where: str, named: bool = True) -> ModuleType:
    """The module a plugin name stands for; DeffeError if none."""
    _add_python_paths(python_paths)
    kind, found = locate(block, name, config_dir, python_paths, file, where, named)
    try:
        if kind == "file":
            return _load_file(found, block)
        if kind == "builtin":
            return _builtin(block, found)
        dotted, path = found
        top = sys.modules.get(dotted.split(".")[0])
        if dotted.split(".")[0] in PROJECT_PACKAGES or (top is not None and not _inside_any(top, python_paths)):
            # its first name is one of the project's packages (a user's plugins/ folder), or a module
            # imported from elsewhere: the user's file, loaded by its path, its folder a package of its own
            return _load_in_folder(path, block)
        return importlib.import_module(dotted)
    except DeffeError:
        raise
    except (Exception, SystemExit) as e:  # the user's module failed (or called exit) while importing
        top = name.split(".")[0]
        # `from plugins import helper` in a plugins/ folder of the user's: that name is the project's package
        ours = f"'{top}' is this project's package: import a module beside the plugin with `from . import " \
            "helper` or `import helper`" if kind == "dotted" and top in PROJECT_PACKAGES and \
            isinstance(e, ImportError) and e.name == top else None
        raise DeffeError(f"plugin '{name}' for {block} failed to import: {type(e).__name__}: {e}",
                         file=file, where=where, hint=join_hints(ours, "run with -debug for the traceback")) from e


def _inside_any(module: ModuleType, roots: list[Path]) -> bool:
    return any(_inside(Path(p), roots) for p in _places(module))


@contextlib.contextmanager
def user_modules_forgotten(dirs: list[Path]) -> Iterator[None]:
    """Within: the import path and the modules as they were before: afterwards, the directories a run put on
    the import path are taken off, and the user's modules it loaded (its plugins, and what they imported from
    ``dirs``, the config's and python_path directories) forgotten, so that a next run in the same process (the
    Python API) loads them afresh, edited or not."""
    path = list(sys.path)
    before = set(sys.modules)
    try:
        yield
    finally:
        sys.path[:] = path
        roots = [Path(d) for d in dirs]
        for key in [k for k in sys.modules if k not in before]:
            module = sys.modules[key]
            if key.startswith(USER_PREFIX) or (module is not None and not _ours(module) and
                                               _inside_any(module, roots) and not _installed(module)):
                del sys.modules[key]


def _installed(module: ModuleType) -> bool:
    """A module of Python's own or of an installed package (never forgotten: a user's directory may hold
    them, python_path "/")."""
    places = _places(module)
    if not places:
        return True
    f = places[0]
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    path = Path(f).resolve()
    return "site-packages" in path.parts or "dist-packages" in path.parts or \
        any(path.is_relative_to(p) for p in prefixes)


_SHADOW_WARNED: set[tuple[int, str, str]] = set()

DEFFE_SECTION = "see docs/plugins.md 'From the original Deffe'"
# the original Deffe's methods of a block's object -> what this framework calls instead
DEFFE_ERA_METHODS = {
    "sampling": ("GetBatch", "GetNewBatch", "IsCompleted", "SetStepInfo"),
    "ml_model": ("Train", "PreLoadData", "InitializeModel", "Inference", "EvaluateModel"),
    "exploration": ("Explore", "RunExploration"),
    "evaluate": ("GetBatch", "RunEvaluation"),
    "extract": ("GetBatch", "RunExtraction"),
}
EXPECTED_RUN = {"sampling": "Run(count) returning codes of up to count new points (None when done)",
                "evaluate": "Run(sample) returning the costs", "extract": "Run(sample, output) returning the costs",
                "ml_model": "Run(data) training on the evaluated points and Predict(codes)",
                "exploration": "Run() returning a Proposal, and Tell(codes, results)"}


def deffe_hint_of_error(e: BaseException) -> str | None:
    """What to do instead, for an error a plugin written for the original Deffe gets from this framework's
    objects (``framework.config.GetSampling()``: the config has no Get* methods here)."""
    import re
    if isinstance(e, AttributeError) and re.search(r"has no attribute 'Get[A-Z]\w*'", str(e)):
        return ("this framework's framework.config has no Get*() methods of the original Deffe: read a block's "
                f"settings as a dict with framework.config.section('sampling'); {DEFFE_SECTION}")
    return None


def deffe_hint_of_call(obj: Any, method: str, args: tuple, e: BaseException) -> str | None:
    """For a TypeError calling a plugin's method that wants more arguments than this framework gives (Deffe's
    Initialize(parameters, n_samples, ...)): how this framework calls it."""
    import inspect
    if not isinstance(e, TypeError):
        return None
    try:
        sig = inspect.signature(getattr(obj, method))
    except (TypeError, ValueError, AttributeError):
        return None
    required = [p for p in sig.parameters.values() if p.default is p.empty and
                p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(required) <= len(args):
        return None
    given = "no arguments" if not args else f"{len(args)} argument{'s' if len(args) > 1 else ''}"
    if method == "Initialize":
        return (f"this framework calls Initialize() with {given}: read settings from framework.config.section(...) "
                f"and the space from framework.space; {DEFFE_SECTION}")
    return f"this framework calls {method}() with {given}; {DEFFE_SECTION}"


def _has(obj: Any, attr: str) -> bool:
    try:
        return callable(getattr(obj, attr, None))
    except Exception:
        return False


def make_plugin(block: str, name: str, framework: Any, config_dir: Path, python_paths: list[Path],
                file: str | None = None) -> Any:
    """Load the plugin module, call its GetObject(framework), check the object's methods."""
    section, _proto, methods = BLOCKS[block]
    where = f"{section}.plugin"
    config = getattr(framework, "config", None)
    if callable(getattr(config, "file_of", None)) and file == config.data.get("__origin__"):
        file = config.file_of(where)   # an included file's name for a plugin it names
    named = named_by_config(config, block, name)
    module = find_module(block, name, config_dir, python_paths, file, where, named)
    shadowing = shadowed_builtin(block, name, config_dir, python_paths) if named else None
    # what the errors below add: the user's file of a built-in's name is what was loaded
    instead = f" (this is {shadowing}, not the built-in '{name}')" if shadowing else ""
    log = getattr(framework, "log", None)
    if shadowing and (id(config), block, str(shadowing)) not in _SHADOW_WARNED and hasattr(log, "warning"):
        _SHADOW_WARNED.add((id(config), block, str(shadowing)))   # once a run, not once an exploration
        log.warning(f"warning: {file}:{where}: '{name}' is the user's {shadowing} (found on python_path), not the "
                    f"built-in {block} plugin '{name}'; rename the file to use the built-in")
    factory = getattr(module, "GetObject", None)
    if not callable(factory):
        raise DeffeError(f"plugin '{name}' for {block}{instead} has no GetObject(framework) function", file=file,
                         where=where, hint="a plugin module defines GetObject(framework) returning its object")
    try:
        obj = factory(framework)
    except DeffeError:
        raise
    except (Exception, SystemExit) as e:   # sys.exit() in GetObject too: a crash like any other, not the run's end
        # under -debug the traceback is shown (the command line raises this error again, its cause with it)
        debug = getattr(getattr(framework, "args", None), "debug", False)
        raise DeffeError(f"plugin '{name}' for {block}: GetObject failed: {type(e).__name__}: {e}",
                         file=file, where=where,
                         hint=join_hints(deffe_hint_of_error(e),
                                         None if debug else "run with -debug for the traceback")) from e
    if isinstance(obj, type) and any(isinstance(inspect.getattr_static(obj, m, None), FunctionType) for m in methods):
        # `return MySampler` for `return MySampler(framework)`: the class has the methods, so the slip would
        # surface later as Initialize() missing 'self', whose hint points elsewhere (a class of static methods
        # is an object that works: left alone)
        raise DeffeError(f"plugin '{name}' for {block}{instead}: GetObject returned the class {obj.__name__}, not "
                         "an object of it", file=file, where=where,
                         hint=f"return {obj.__name__}(framework)")
    try:
        missing = [m for m in methods if not callable(getattr(obj, m, None))]
    except (Exception, SystemExit) as e:   # its __getattr__ (a proxy's) raising other than AttributeError
        raise DeffeError(f"plugin '{name}' for {block}{instead}: reading its object's methods failed: "
                         f"{type(e).__name__}: {e}", file=file, where=where,
                         hint="a missing attribute raises AttributeError (so getattr(obj, name, None) works)") from e
    if missing:
        deffe = [m for m in DEFFE_ERA_METHODS.get(block, ()) if _has(obj, m)]
        raise DeffeError(f"plugin '{name}' for {block}{instead}: its object has no "
                         f"{', '.join(m + '()' for m in missing)}",
                         file=file, where=where,
                         hint=f"{'an' if block[0] in 'aeiou' else 'a'} {block} plugin's object needs "
                              f"{', '.join(m + '()' for m in methods)}" +
                              (f"; the original Deffe's {', '.join(m + '()' for m in deffe)} are "
                               f"{EXPECTED_RUN[block]} here; {DEFFE_SECTION}" if deffe else ""))
    return obj
