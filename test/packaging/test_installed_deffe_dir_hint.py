"""Installed (no checkout), with the original Deffe's $DEFFE_DIR set (<deffe>/src/deffe, no templates/): a
"$DEFFE_DIR/templates/..." include not found says what to do, as it does in a checkout: unset DEFFE_DIR
to use the installed package's template."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_include_error_says_to_unset_deffe_dir_for_the_installed_template(tmp_path):
    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "templates")
    for name in ("framework", "plugins", "simulator"):
        shutil.copytree(ROOT / name, site / name, ignore=ignore)
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for pattern in data["framework"]:
        for f in glob.glob(pattern, root_dir=ROOT / "framework"):
            (site / "framework" / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / "framework" / f, site / "framework" / f)
    old = tmp_path / "olddeffe" / "src" / "deffe"
    old.mkdir(parents=True)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "ev.py").write_text("def f(p):\n    return {'t': p['a']}\n")
    (proj / "inc.json").write_text(json.dumps({
        "include": "$DEFFE_DIR/templates/deffe_framework.json",
        "python_path": ["."], "knobs": [{"name": "a", "values": [1, 2, 3]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:f"}}))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(site), DEFFE_DIR=str(old))
    r = subprocess.run([sys.executable, "-c", "import sys; from framework.cli import main; "
                        "sys.argv = ['run_deffe', '-config', 'inc.json', '-no-run']; sys.exit(main())"],
                       cwd=proj, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    line = r.stderr.strip()
    assert line.startswith("error: inc.json:include: included file '$DEFFE_DIR/templates/deffe_framework.json'")
    assert f"unset DEFFE_DIR to use the installed package's template " \
           f"({site / 'framework' / 'templates' / 'deffe_framework.json'})" in line, line
    assert "checkout" not in line, line
