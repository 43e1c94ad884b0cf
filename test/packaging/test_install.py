"""`pip install .` gives the run_deffe command and the three packages, usable from any directory.

The wheel is built from a copy of the sources (building in the checkout would leave build/ there) and
installed with --no-deps into a folder of its own; the dependencies are the test environment's.
"""
import json
import os
import shutil
import subprocess
import sys

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_the_installed_command_and_packages_work_outside_the_checkout(tmp_path):
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("framework", "plugins", "simulator"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(tmp_path / "wheel"), str(src)], check=True,
                   capture_output=True)
    site = tmp_path / "site"
    wheel = next((tmp_path / "wheel").glob("*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True,
                   capture_output=True)
    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DEFFE_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    env["NUMBA_DISABLE_JIT"] = "1"   # the kernel in plain Python: a copy elsewhere would compile anew (20 s)

    def run(*argv):
        return subprocess.run(list(argv), cwd=away, env=env, capture_output=True, text=True)

    r = run(str(site / "bin" / "run_deffe"), "-h")
    assert r.returncode == 0 and "usage: run_deffe" in r.stdout, r
    r = run(sys.executable, "-c", "import framework, plugins.evaluate.placement, simulator; "
                                  "print(framework.__file__, simulator.__file__)")
    assert r.returncode == 0 and str(ROOT) not in r.stdout and str(site) in r.stdout, r
    r = run(sys.executable, "-m", "simulator", "--network", "mnist.json", "--devices", "malvik.json",
            "--placement", "1", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["step_time"] > 0, r
    (away / "ev.py").write_text("def evaluate(p):\n    return {'t': p['a'] ** 2}\n")
    (away / "config.json").write_text(json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [1, 2, 3]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None}}))
    r = run(str(site / "bin" / "run_deffe"), "-config", "config.json")
    assert r.returncode == 0 and "3 evaluated now" in r.stdout, r
    # a plugins/ folder of the user's own beside the config (python_path ".") hides no built-in, installed too
    (away / "plugins").mkdir()
    (away / "plugins" / "__init__.py").write_text("")
    (away / "plugins" / "my_eval.py").write_text("x = 1\n")
    r = run(str(site / "bin" / "run_deffe"), "-config", "config.json", "-fresh")
    assert r.returncode == 0 and "3 evaluated now" in r.stdout, r
    # Deffe's "$DEFFE_DIR/templates/..." includes: $DEFFE_DIR is the folder of the installed packages, which has
    # no templates/; the templates are the installed framework's package data
    (away / "deffe.json").write_text(json.dumps({
        "include": ["$DEFFE_DIR/templates/deffe_framework.json", "$DEFFE_DIR/templates/slurm.json"],
        "python_path": ["."], "knobs": [{"name": "a", "values": [1, 2, 3]}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}}))
    r = run(str(site / "bin" / "run_deffe"), "-config", "deffe.json", "-no-run")
    assert r.returncode == 0 and "would evaluate:" in r.stdout, r
    assert (site / "framework" / "templates" / "deffe_framework.json").is_file()
