"""bench/surrogate.py's caches and arguments: the code digest holds the benchmark's own module, part 1's key its
protocol, and an empty --problems is refused in one line (it used to start the whole suite, about 30 minutes)."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.append(str(REPO / "bench"))   # after the repository: bench/simulator.py must not shadow simulator/

import surrogate as S  # noqa: E402
import surrogate_problems as problems  # noqa: E402
import surrogate_suite as suite  # noqa: E402


class Stop(Exception):
    pass


def test_the_code_digest_holds_bench_surrogate_py(tmp_path, monkeypatch):
    (tmp_path / "bench").mkdir()
    for name in ("surrogate.py", "surrogate_suite.py", "surrogate_problems.py"):
        shutil.copy(REPO / "bench" / name, tmp_path / "bench" / name)
    monkeypatch.setattr(problems, "REPO", tmp_path)
    before = suite._code_digest()
    path = tmp_path / "bench" / "surrogate.py"
    path.write_text(path.read_text().replace("\nHEADLINE = 0.05", "\nHEADLINE = 0.10"))
    assert suite._code_digest() != before


def test_part1_is_keyed_by_its_protocol(monkeypatch):
    keys = []

    def cached(kind, key, resume, fresh):
        keys.append(key)
        raise Stop
    monkeypatch.setattr(suite, "cached", cached)
    args = argparse.Namespace(quick=False, resume=False, fresh=False)
    for name, value in (("HEADLINE", S.HEADLINE), ("HEADLINE", 0.10), ("SPLIT_SEED", 8)):
        monkeypatch.setattr(S, name, value)
        with pytest.raises(Stop):
            S.cached_legacy(args)
    assert keys[0] != keys[1] != keys[2] != keys[0]


@pytest.mark.parametrize("value", ["", " ", "real_matmul,", "real_matmul,,real_kmeans"])
def test_an_empty_selection_is_refused(monkeypatch, capsys, value):
    def work(*a, **k):
        raise Stop("the benchmark started")
    monkeypatch.setattr(S, "cached_legacy", work)
    monkeypatch.setattr(suite, "run_problem", work)
    monkeypatch.setattr(sys, "argv", ["surrogate.py", "--problems", value])
    with pytest.raises(SystemExit) as e:
        S.main()
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --problems"), err
