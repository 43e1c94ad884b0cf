"""Shared fixtures for the simulator tests: the repo root on sys.path and the
reference data folder (read in place, never copied)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

def _find_reference() -> Path:
    """The shared reference data: $DEFFE_REFERENCE, else ../shared/reference next to the checkout."""
    import os
    candidates = [os.environ.get("DEFFE_REFERENCE"), REPO.parent / "shared" / "reference",
                  Path("/work/shared/reference")]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return REPO.parent / "shared" / "reference"


REFERENCE = _find_reference()


@pytest.fixture(scope="session")
def reference() -> Path:
    if not REFERENCE.is_dir():
        pytest.fail(f"reference data not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def paleo_nets(reference) -> Path:
    return reference / "paleo-nets"
