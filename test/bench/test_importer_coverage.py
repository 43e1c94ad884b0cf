"""The networks written by hand the way users write them (bench/reference/user_models.py, what
bench/importer.py reports on) import, each with torch's parameter count: a regression here is a user's model
that stopped importing."""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "reference"))
import user_models  # noqa: E402

from simulator.importers.torch_fx import from_torch  # noqa: E402


@pytest.mark.parametrize("name", user_models.MODELS)
def test_a_hand_written_network_imports_with_torchs_parameters(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, sample, *batch_dim = getattr(user_models, name)()
        net = from_torch(model, sample, name=name, batch_dim=batch_dim[0] if batch_dim else 0)
    assert net.params == sum(p.numel() for p in model.parameters())
    assert 2 <= len(net.groups) <= 32
