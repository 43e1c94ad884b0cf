"""The benchmarks' caches notice the code and libraries that made them, the suite's GP is fitted on all its
training points, and the benchmarks' flags are checked in one line (exit 2) with nothing run.

Caches: the surrogate suite's results are keyed by a digest of the model code (every framework module the model
plugins import) and the libraries' versions; its data sets by the code that draws and costs the points (
bench/surrogate_problems.py, the simulator's source) and numpy's version. Each is checked on a copy of the
repository whose code is changed, never by measuring."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.append(str(REPO / "bench"))   # after the repository: bench/simulator.py must not shadow simulator/

import feasibility  # noqa: E402
import scenario_feasibility  # noqa: E402
import surrogate_problems as problems  # noqa: E402
import surrogate_suite as suite  # noqa: E402

PROBLEM = problems.PROBLEMS["lstm_memcap_4gpu"]


def _copy(tmp_path: Path, *names: str) -> Path:
    """A copy of these parts of the repository (bench/'s own modules always)."""
    for name in names:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, tmp_path / name)
    (tmp_path / "bench").mkdir(exist_ok=True)
    for f in (REPO / "bench").glob("*.py"):
        shutil.copy(f, tmp_path / "bench" / f.name)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found (the test follows the code)"
    path.write_text(text.replace(old, new, 1))


def _fake_versions(monkeypatch, name: str):
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda n: "0.0.fake" if n == name else real(n))


# ----------------------------------------------------------------------------- the suite's code digest
@pytest.fixture
def repo_copy(tmp_path, monkeypatch):
    root = _copy(tmp_path, "framework", "plugins")
    monkeypatch.setattr(problems, "REPO", root)
    return root


def test_the_suite_digest_changes_with_framework_training(repo_copy):
    before = suite._code_digest()
    # the tester's change: another loss default for every model (framework/training.py resolves the section)
    _edit(repo_copy / "framework" / "training.py", 'loss = opts["loss"] = ',
          'opts.setdefault("loss", "mae"); loss = opts["loss"] = ')
    assert suite._code_digest() != before


def _modules_the_plugins_import() -> list[str]:
    """Every file of framework/ and plugins/ml_model/ loaded once all the model plugins are imported."""
    code = ("import glob, importlib, json, os, sys\n"
            "for f in sorted(glob.glob('plugins/ml_model/*.py')):\n"
            "    importlib.import_module('plugins.ml_model.' + os.path.basename(f)[:-3])\n"
            "root = os.getcwd()\n"
            "print(json.dumps(sorted(os.path.relpath(m.__file__, root) for n, m in list(sys.modules.items())\n"
            "      if n.split('.')[0] in ('framework', 'plugins') and getattr(m, '__file__', None))))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_every_module_the_model_plugins_import_is_in_the_suite_digest(repo_copy):
    files = [f for f in _modules_the_plugins_import() if f.startswith(("framework/", "plugins/ml_model/"))]
    assert "framework/training.py" in files and "framework/checkpoint/payload.py" in files
    before = suite._code_digest()
    missed = []
    for name in files:
        path = repo_copy / name
        text = path.read_text()
        path.write_text(text + "\n# changed\n")
        if suite._code_digest() == before:
            missed.append(name)
        path.write_text(text)
    assert not missed, f"changes to these modules leave the suite's cached results valid: {missed}"


@pytest.mark.parametrize("library", ["numpy", "scikit-learn", "scipy", "torch"])
def test_the_suite_digest_changes_with_library_versions(library, monkeypatch):
    before = suite._code_digest()
    _fake_versions(monkeypatch, library)
    assert suite._code_digest() != before


# ----------------------------------------------------------------------------- the data-set digest
@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    root = _copy(tmp_path, "simulator", "framework/encoding.py")
    monkeypatch.setattr(problems, "REPO", root)
    return root


def test_the_data_digest_changes_with_how_points_are_drawn(data_copy):
    before = problems.digest(PROBLEM)
    # the tester's change: every placement drawn uniformly
    _edit(data_copy / "bench" / "surrogate_problems.py", "    half = n // 2\n", "    half = n\n")
    assert problems.digest(PROBLEM) != before


def test_the_data_digest_changes_with_the_simulators_source_at_the_same_version(data_copy):
    before = problems.digest(PROBLEM)
    source = sorted(f for f in (data_copy / "simulator").glob("*.py") if f.name != "__init__.py")[0]
    source.write_text(source.read_text() + "\n# a change of the costs without a new __version__\n")
    assert problems.digest(PROBLEM) != before


def test_the_data_digest_changes_with_numpys_version(monkeypatch):
    before = problems.digest(PROBLEM)
    _fake_versions(monkeypatch, "numpy")
    assert problems.digest(PROBLEM) != before


# ----------------------------------------------------------------------------- the GP's training points
class _FakeGP:
    """sklearn_gp's interface: Run reports the points it was fitted on."""

    def Initialize(self):
        pass

    def Run(self, data):
        self.n = len(data.costs)
        return {"gp_points": min(self.n, self.cap)}

    def Predict(self, codes):
        return SimpleNamespace(mean=np.ones((len(codes), 1)))


def test_the_suites_gp_is_fitted_on_all_the_training_points(tmp_path, monkeypatch):
    models = []

    def framework_for(problem, plugin, workdir, model=None, args=None, knobs=None):
        models.append(dict(model or {}))
        return SimpleNamespace(encoding=SimpleNamespace(transform=lambda c: c))

    def make_plugin(kind, plugin, fw, workdir, extra):
        gp = _FakeGP()
        gp.cap = models[-1].get("gp_max_points") or 300     # the plugin's default cap
        return gp

    monkeypatch.setattr(problems, "framework_for", framework_for)
    monkeypatch.setattr(suite, "make_plugin", make_plugin)
    codes = np.arange(2400).reshape(1200, 2)
    y = np.linspace(1.0, 2.0, 1200)
    fit = suite.fit_predict(PROBLEM, "sklearn_gp", codes, y, np.arange(1000), np.arange(1000, 1200), tmp_path)
    assert models[-1]["gp_max_points"] == 1000
    assert fit.points == 1000     # reported as the row's fitted_on


# ----------------------------------------------------------------------------- the feasibility benches' flags
class Ran(Exception):
    pass


def _never(*a, **k):
    raise Ran("a run started with counts that should have been refused")


@pytest.mark.parametrize("bench,args", [
    (feasibility, ["--budget", "0"]), (feasibility, ["--seeds", "-2"]), (feasibility, ["--seeds", "0"]),
    (feasibility, ["--jobs", "0"]), (scenario_feasibility, ["--seeds", "0"]),
    (scenario_feasibility, ["--budget", "0"]), (scenario_feasibility, ["--jobs", "-1"])])
def test_the_feasibility_benches_refuse_counts_below_one_in_one_line(bench, args, monkeypatch, capsys, tmp_path):
    for name in ("run", "random_fit_share", "problem"):
        if hasattr(bench, name):
            monkeypatch.setattr(bench, name, _never)
    monkeypatch.setattr(sys, "argv", [f"{bench.__name__}.py", "--workdir", str(tmp_path), *args])
    with pytest.raises(SystemExit) as e:
        bench.main()
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {args[0]} {args[1]}: ") and "; " in err[0], err
    assert not list(tmp_path.iterdir())      # nothing made
