"""Model ``torch_mlp``: a deep ensemble of multi-layer perceptrons.

Each of ``ensemble`` members (default 5) is an MLP over the framework's
features with ``hidden`` layers (default three of 32, SiLU), one output per
cost, trained on the standardised log of each positive cost (``log_costs``)
with Adam(W), a cosine learning-rate schedule and early stopping on its own
validation part. A prediction is the members' mean on the scale they learned
(for log costs, their geometric mean: see _base.py); their standard deviation
is its uncertainty, and the members themselves are handed to explorations
(``Prediction.members``) for Thompson sampling. A feasibility classifier trained
on failed and successful samples gives ``Prediction.feasible``. With an
exchangeable repeated knob, every epoch shows each training point under a
random relabelling of the interchangeable values (``relabellings`` views), so
that the network learns the interchangeability instead of a naming.
A checkpoint holds the network's config (JSON) and its weights as float32
arrays (see _torch_model.py): loading runs nothing from the file.
"""
from __future__ import annotations

from typing import Any

from ._torch_model import TorchEnsemble


class TorchMLP(TorchEnsemble):
    plugin = "torch_mlp"
    views = True        # learns interchangeable devices from relabelled views (model.relabellings)

    def _net_config(self, n_in: int, n_out: int) -> dict:
        o = self.opts
        return {"kind": "mlp", "members": int(o["ensemble"]), "inputs": n_in, "hidden": list(o["hidden"]),
                "outputs": n_out, "activation": o["activation"], "dropout": float(o["dropout"])}


def GetObject(framework: Any) -> TorchMLP:
    return TorchMLP(framework)
