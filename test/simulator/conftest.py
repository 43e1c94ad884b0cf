"""Shared fixtures for the simulator tests: the repo root on sys.path and the
data bundled with the simulator (`simulator/data/`: `paleo-nets/`,
`exprimo-device-graphs/`), read in place."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from simulator.data import DATA, DEVICE_GRAPHS, NETWORKS  # noqa: E402

REFERENCE = DATA  # the folder names are those of the shared reference data they were copied from


@pytest.fixture(scope="session")
def reference() -> Path:
    return REFERENCE


@pytest.fixture(scope="session")
def paleo_nets(reference) -> Path:
    return reference / NETWORKS


@pytest.fixture(scope="session")
def device_graphs(reference) -> Path:
    return reference / DEVICE_GRAPHS
