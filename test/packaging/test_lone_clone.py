"""A clone with nothing beside it works: nothing reads outside it, and the examples' runs stay out of git."""
import fnmatch
import re
from pathlib import Path

import commentjson

ROOT = Path(__file__).resolve().parents[2]
TEXT = {".py", ".md", ".json", ".txt", ".toml", ".sh", ".cfg", ".source", ".yml", ".yaml", ""}
# spelled in pieces, so that this file does not find itself
OUTSIDE = re.compile("|".join(["shared" + "/reference", "DEFFE_" + "REFERENCE", "/work" + "/", r"\.\./" + "shared"]))


def repository_files():
    skip = {".git", "__pycache__", ".pytest_cache", ".hypothesis", "build", "dist", ".bin"}   # .bin: setup.source
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if path.is_file() and not skip & set(rel.parts) and not rel.parts[0].startswith("explore") \
                and (path.suffix in TEXT or path.name in ("Dockerfile", "Makefile.docker", "run")):
            yield rel, path


def test_nothing_in_the_repository_points_outside_the_clone():
    found = []
    for rel, path in repository_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def ignored(relative_dir: str) -> bool:
    """Whether a directory (relative to the repository) is ignored by .gitignore (the patterns used there)."""
    for pattern in (ROOT / ".gitignore").read_text().splitlines():
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#") or not pattern.endswith("/"):
            continue
        body = pattern.rstrip("/")
        if body.startswith("/"):
            if fnmatch.fnmatch(relative_dir, body[1:]):
                return True
        elif any(fnmatch.fnmatch(part, body) for part in Path(relative_dir).parts):
            return True
    return False


def test_the_run_directories_of_the_readme_commands_are_ignored():
    # the README and the pages of docs/ it sends the reader to (the matmul example is in docs/plugins.md)
    readme = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    runs = []
    for config in ("example/config.json", "example/matmul/config.json"):
        assert f"-config {config}" in readme, config          # run from the checkout, as the docs do
        data = commentjson.loads((ROOT / config).read_text())
        name = data.get("framework", {}).get("run_directory", "explore")
        runs += [name, f"{name}.1"]                              # -fresh moves the old one aside
    runs += ["test/explore", "test/explore.1"]                 # cd test && ... -config config.json
    assert [r for r in runs if not ignored(r)] == []
    assert not ignored("example") and not ignored("simulator/data")
