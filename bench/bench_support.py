"""Helpers the benchmarks share.

Cache keys: files' bytes, the repository's modules some code imports, and the versions of the libraries that
compute the figures (bench/surrogate_problems.py's data sets, bench/surrogate_suite.py's measurements); a cache
keyed by less is reused, silently, after a change of the code that made it.

Flags: a count a user gives wrong is one error line and exit status 2, before anything runs
(bench/exploration.py, bench/feasibility.py, bench/scenario_feasibility.py)."""
from __future__ import annotations

import argparse
import ast
import hashlib
import sys
from importlib import metadata
from pathlib import Path

# the libraries whose versions move the figures (the samplers, the fits, the linear algebra)
LIBRARIES = ("numpy", "scipy", "scikit-learn", "torch")


def update(h, repo: Path, files) -> None:
    """Hash each existing file's path (relative to ``repo``) and bytes, in a fixed order."""
    for f in sorted(set(files)):
        if f.is_file():
            h.update(str(f.relative_to(repo)).encode())
            h.update(f.read_bytes())


def library_versions(names=LIBRARIES) -> str:
    """'name=version' of each library ('absent' when not installed: a fallback then computes the figures)."""
    out = []
    for name in names:
        try:
            out.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name}=absent")
    return ";".join(out)


def _module_file(repo: Path, name: str) -> Path | None:
    p = repo.joinpath(*name.split("."))
    for c in (p.with_suffix(".py"), p / "__init__.py"):
        if c.is_file():
            return c
    return None


_PARSED: dict[tuple[str, str], set[str]] = {}   # (file, its text's hash): its imports (parsing all takes ~1 s)


def _imports(repo: Path, f: Path) -> set[str]:
    """Every module name ``f`` imports, function-level imports too (the plugins import lazily); for ``from m
    import x`` both m and m.x (x may be a module)."""
    text = f.read_text()
    key = (str(f), hashlib.sha256(text.encode()).hexdigest())
    if key not in _PARSED:
        _PARSED[key] = _parse_imports(list(f.relative_to(repo).parts[:-1]), text)
    return _PARSED[key]


def _parse_imports(package: list[str], text: str) -> set[str]:
    """(package: the module's package, or an __init__'s own)"""
    out: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return out


def imported_files(repo: Path, roots, packages: tuple[str, ...], opaque: tuple[str, ...] = ()) -> set[Path]:
    """The roots and the files of ``repo``'s ``packages`` (dotted prefixes) they import, transitively, with the
    packages' __init__.py on the way. The imports of the files in ``opaque`` are not followed (framework's
    __init__ re-exports the user API lazily; the models never reach it through there)."""
    seen: set[Path] = set()
    resolved: set[str] = set()   # module names already looked up (each file imports the same few)
    todo = [Path(r) for r in roots if Path(r).is_file()]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        if str(f.relative_to(repo)) in opaque:
            continue
        for name in _imports(repo, f):
            if not any(name == p or name.startswith(p + ".") for p in packages):
                continue
            bits = name.split(".")
            for i in range(1, len(bits) + 1):
                prefix = ".".join(bits[:i])
                if prefix in resolved:
                    continue
                resolved.add(prefix)
                m = _module_file(repo, prefix)
                if m is not None and m not in seen:
                    todo.append(m)
    return seen


# ----------------------------------------------------------------------------- flags
def fail(what: str) -> None:
    """One line, exit status 2 (as argparse's errors)."""
    print(f"error: {what}", file=sys.stderr)
    sys.exit(2)


def check_counts(args: argparse.Namespace, names) -> None:
    """Each of these counts (seeds, budgets, jobs) at least 1: a run of none would end in a traceback or
    print an empty table that reads as a result."""
    for name in names:
        v = getattr(args, name)
        if v < 1:
            fail(f"--{name.replace('_', '-')} {v}: it must be at least 1; give a positive number "
                 f"(or leave it out for its default)")
