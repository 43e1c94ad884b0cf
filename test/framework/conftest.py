"""Fixtures of the framework tests (the CLI helpers are in test/cli_helpers.py)."""
import shutil

import pytest

from cli_helpers import ROOT


@pytest.fixture
def minimal(tmp_path):
    """A copy of test/ (the bare-minimal Deffe case) in a temporary directory."""
    for name in ("config.json", "evaluate.sh"):
        shutil.copy(ROOT / "test" / name, tmp_path / name)
    return tmp_path
