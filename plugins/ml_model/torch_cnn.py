"""Model ``torch_cnn``: Deffe's 1-D convolutional network over the knob vector, as a deep ensemble.

As in Deffe, the network reads the knobs as a one-channel sequence, one number
per knob (`Encoding.knob_values`: the scaled value, a categorical knob's
position in its list, an exchangeable family's labels renamed by first
appearance): ``convs`` convolutions of width 3 (32, then 64 channels, tanh,
'same' padding so that any number of knobs works, where Deffe's needed five),
flattened, then dense layers of widths ``hidden`` (tanh, the last relu, as in
Deffe's keras_cnn.py) and one linear output per cost.
Training, uncertainty, feasibility and transfer learning are those of
``torch_mlp``; ``freeze_layers`` counts the convolutions first, as Deffe's
transfer between kernels froze its two convolution layers. A checkpoint holds
the network's config (JSON) and its weights as float32 arrays, as torch_mlp's.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from framework.protocols import TrainingData

from ._torch_model import TorchEnsemble


class TorchCNN(TorchEnsemble):
    plugin = "torch_cnn"
    net_batch = 2048          # a convolution's activations are (rows, members * 64, knobs): keep them small
    default_batch = 256       # Deffe's mini-batch (the automatic rule was measured on torch_mlp only)
    # Early stopping on a fifth, as Deffe trains its CNN: without a validation part the CNN's last weights
    # predicted ResNet-50 placements (1,000 points, bench/surrogate.py part 1) with MAPE 11.5% against 3.8%.
    default_validation = 0.2

    def _inputs(self, data: TrainingData) -> np.ndarray:
        return self.encoding.knob_values(data.codes)

    def _encode(self, codes: np.ndarray) -> np.ndarray:
        return self.encoding.knob_values(codes)

    def _input_width(self) -> int:
        return len(self.encoding.knob_names)

    def _net_config(self, n_in: int, n_out: int, samples: int = 0) -> dict:
        o = self.opts
        return {"kind": "cnn", "members": int(o["ensemble"]), "inputs": n_in, "convs": int(o["convs"]),
                "hidden": list(o["hidden"]), "outputs": n_out, "dropout": float(o["dropout"])}


def GetObject(framework: Any) -> TorchCNN:
    return TorchCNN(framework)
