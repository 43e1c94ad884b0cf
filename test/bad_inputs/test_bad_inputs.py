"""Every bad input of the corpus (cases.py) through the real command line, in a directory holding a finished
run: exit status 2, one line ``error: <file>:<place>: <what>; <hint>`` naming the file and the place, no
traceback, and every file of the run directory byte for byte as it was."""
from __future__ import annotations

from pathlib import Path

import pytest

from cases import CASES
from runner import FOLDER, HERE, prepare, try_case


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """The small run of base/, finished once, and the corpus beside it: every case runs here in turn, and each
    must leave the run directory as it found it."""
    return prepare(tmp_path_factory.mktemp("finished"))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_one_line_and_nothing_is_lost(case, workdir):
    problem = try_case(case, workdir)
    assert problem is None, problem


def test_the_corpus_has_a_file_for_every_case_and_a_case_for_every_file():
    named = {f"{FOLDER[c.kind]}/{c.file}" for c in CASES}
    missing = [n for n in named if not (HERE / n).exists() and "no_such_file" not in n]
    assert not missing
    helpers = {"configs/inc", "configs/plugins", "csv/a_directory.csv", "simulator/net_good.json",
               "simulator/dev_good.json"}
    files = {str(p.relative_to(HERE)) for folder in set(FOLDER.values()) for p in (HERE / folder).iterdir()}
    assert not files - named - helpers
