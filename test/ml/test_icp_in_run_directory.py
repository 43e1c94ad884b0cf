"""A checkpoint to start from that lies where the run saves its own (<run>/checkpoints/<entry>.ckpt) is refused
before anything runs: the run's save replaced it without a word (as -fresh, -output and -model-stats-output
already refuse to touch it)."""
import hashlib
import json

import pytest

from cli_helpers import assert_user_error, run_deffe
from ml_helpers import FAST, KNOBS

FUNCS = "def evaluate(p):\n    return {'f': p['a'] * p['c'], 'g': p['a'] + 10 * p['c']}\n"


def project(directory, samples, model=None, explore=None):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "funcs.py").write_text(FUNCS)
    cfg = {"knobs": KNOBS, "costs": ["f", "g"], "sampling": {"plugin": "random"},
           "evaluate": {"plugin": "python", "function": "funcs:evaluate"},
           "exploration": {"plugin": "sampling", "samples_per_step": 20, "max_samples": samples,
                           **({"explore": explore} if explore else {})},
           "model": {"plugin": "sklearn_rf", **FAST, **(model or {})}}
    (directory / "config.json").write_text(json.dumps(cfg))
    return directory


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = project(tmp_path_factory.mktemp("icp_in_run"), 20)
    r = run_deffe("-config", "config.json", "-quiet", cwd=d)
    assert r.returncode == 0, r.stderr
    (ckpt,) = (d / "explore" / "checkpoints").glob("*.ckpt")
    return d, ckpt.relative_to(d)


def test_an_icp_checkpoint_the_run_would_save_over_is_refused(trained):
    d, ckpt = trained
    before = md5(d / ckpt)
    project(d, 40)   # more samples: the run goes on, trains and saves again
    r = run_deffe("-config", "config.json", "-quiet", "-icp", str(ckpt), cwd=d)
    line = assert_user_error(r, "error: -icp:", str(ckpt), "the checkpoint this run saves",
                             "would overwrite it", "copy it out of the run directory first",
                             "another run directory")
    assert md5(d / ckpt) == before, line


def test_the_same_checkpoint_in_the_config_names_the_key_and_the_file(trained):
    d, ckpt = trained
    before = md5(d / ckpt)
    project(d, 40, model={"initial_checkpoint": str(ckpt)})
    r = run_deffe("-config", "config.json", "-quiet", cwd=d)
    assert_user_error(r, "config.json:model.initial_checkpoint:", "the checkpoint this run saves")
    assert md5(d / ckpt) == before


def test_a_copy_outside_the_checkpoints_is_run_from(trained):
    d, ckpt = trained
    (d / "start.ckpt").write_bytes((d / ckpt).read_bytes())
    project(d, 40)
    r = run_deffe("-config", "config.json", "-quiet", "-icp", "start.ckpt", cwd=d)
    assert r.returncode == 0, r.stderr


def test_no_checkpoints_saved_nothing_refused(trained):
    d, ckpt = trained
    project(d, 60, model={"checkpoints": False})
    r = run_deffe("-config", "config.json", "-quiet", "-icp", str(ckpt), cwd=d)
    assert r.returncode == 0, r.stderr


def test_every_entry_s_checkpoint_is_among_what_the_run_writes(tmp_path):
    from framework.config import load_config
    from framework.outputs import run_writes
    project(tmp_path, 20, explore=[{"name": "small"}, {"name": "big"}])
    config = load_config(tmp_path / "config.json")
    written = {w.path for w in run_writes(config, tmp_path / "run")}
    assert {tmp_path / "run" / "checkpoints" / f"{n}.ckpt" for n in ("small", "big")} <= written
