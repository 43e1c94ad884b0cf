"""The torch plugins' shared part: a deep ensemble trained by `_trainer.py`, transfer learning, weights I/O.

Where a step's training starts:
* when the step added fewer successful samples than ``retrain_growth`` (10%) of
  those of the last full training, from the current model, for a tenth of the
  epochs at a tenth of the learning rate ("continued");
* with ``transfer_learning`` (Deffe's -tl-samples), from the previous step's model;
* otherwise, with ``initial_checkpoint`` (-icp), from that checkpoint, its first
  ``freeze_layers`` weight layers kept fixed (at every step);
* otherwise from a fresh seeded initialisation.
The architecture of a checkpoint it starts from wins over the config's (a warning names the settings the
config gives otherwise); so does the scale of its targets (`Targets.carried`).

A checkpoint holds the network's config (JSON, checked key by key) and its
weights, the ``state_dict`` tensors as float32 arrays; loading builds the
network from the config, checks each array's name and shape against it (on
torch's meta device: nothing allocated for a config the arrays do not match)
and copies the weights in, so the predictions are the same bit for bit.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from framework.checkpoint import CheckpointMeta, PayloadError, State, quoted
from framework.errors import DeffeError

from ._base import SurrogateModel

NET_BATCH = 4096     # rows per forward pass: the activations stay in the CPU's cache (several times faster)


class TorchEnsemble(SurrogateModel):
    net_batch = NET_BATCH
    default_batch: int | None = None   # train_batch_size when the config leaves it null (None: batch_size_for's rule)
    # validation_split when the config leaves it null (None: validation_split_for's rule)
    default_validation: float | None = None

    def __init__(self, framework: Any):
        super().__init__(framework)
        self.net = None
        self.start_state: dict | None = None   # weights of the -icp checkpoint
        self.start_config: dict | None = None
        self.full_samples = 0                    # successful samples of the last full training

    def _continues(self, samples: int) -> bool:
        # a step that adds few samples (below `retrain_growth` of those of the last full training) goes on
        # from the current model with a short schedule: exploration steps of a few points each would
        # otherwise pay a full training per point
        growth = float(self.opts.get("retrain_growth") or 0)
        return (growth > 0 and self.net is not None and self.runs > 0 and self.full_samples > 0
                and not self.opts.get("transfer_learning")
                and samples - self.full_samples < growth * self.full_samples)

    def _source(self) -> str:
        """Where this training starts (see the module's docstring)."""
        return "continued" if self.continuing else self._anew_from()

    def _anew_from(self) -> str:
        """Where a training that does not continue the current model starts."""
        if self.opts.get("transfer_learning") and self.net is not None and self.runs > 0:
            return "previous step"
        return "checkpoint" if self.start_state is not None else "scratch"

    def _start_scale(self):
        # (asked for a training that does not continue) the previous step's weights learned the current
        # targets' scale, the checkpoint's its own
        return {"previous step": self.targets, "checkpoint": self.initial_targets}.get(self._anew_from())

    # subclasses: the architecture from the options
    def _net_config(self, n_in: int, n_out: int, samples: int = 0) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ training
    def _validation_setting(self) -> float | None:
        configured = self.opts.get("validation_split")
        return self.default_validation if configured is None else configured

    def _fit(self, X: np.ndarray, Z: np.ndarray, monitor) -> dict:
        import torch
        from ._losses import make_loss
        from ._nets import build
        from ._trainer import FitSettings, batch_size_for, fit_ensemble, validation_split_for

        o = self.opts
        init_state, config, freeze = None, None, 0
        epochs, lr = int(o["epochs"]), float(o["learning_rate"])
        source = self._source()
        if source == "continued":
            config, init_state = self.net.config, self._weights()
            freeze = int(o["freeze_layers"]) if self.start_state is not None else 0
            epochs, lr = max(20, epochs // 10), lr / 10
        elif source == "previous step":
            config, init_state = self.net.config, self._weights()
            freeze = int(o["freeze_layers"]) if self.start_state is not None else 0
        elif source == "checkpoint":
            config, init_state = self.start_config, self.start_state
            freeze = int(o["freeze_layers"])
        if config is None:
            config = self._net_config(X.shape[-1], Z.shape[1], X.shape[-2])
        self._check_freeze(config, freeze)
        seed = self.seed + 7919 * self.runs        # each step draws afresh, repeatably
        net = build(config, seed)
        if init_state is not None:
            net.load_state_dict({k: torch.as_tensor(v) for k, v in init_state.items()})
        loss_fn = make_loss(o["loss"], torch.as_tensor(self.targets.log),
                            torch.as_tensor(self.targets.mean, dtype=torch.float32),
                            torch.as_tensor(self.targets.std, dtype=torch.float32))
        batch = batch_size_for(X.shape[-2], o.get("train_batch_size") or self.default_batch)
        settings = FitSettings(epochs=epochs, batch_size=batch, learning_rate=lr, schedule=o["lr_schedule"],
                               weight_decay=float(o["weight_decay"]), patience=int(o["patience"]),
                               validation_split=validation_split_for(X.shape[-2], self._validation_setting()),
                               seed=seed, freeze=freeze)
        history, summary = fit_ensemble(net, X, Z, settings, loss_fn, monitor)
        self.net = net
        if not self.continuing:
            self.full_samples = X.shape[-2]
        summary.update(members=config["members"], start=source, frozen_layers=freeze, batch=batch,
                       history_list=history)
        return summary

    # ------------------------------------------------------------------ prediction
    def _members(self, X: np.ndarray) -> np.ndarray:
        import torch
        X = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32))
        step = self.net_batch
        if getattr(self.net, "pool", None) is not None:   # a wide repeated knob: smaller passes
            step = min(step, self.net.pool.rows_per_pass())
        with torch.inference_mode():
            parts = [self.net(X[lo:lo + step]) for lo in range(0, len(X), step)]
        return torch.cat(parts, dim=1).numpy().astype(np.float64)

    def _member_count(self) -> int:
        return self.net.members if self.net is not None else 1

    def _predict_context(self):
        from ._trainer import torch_settings
        return torch_settings(1, deterministic=False)   # parallel chunks, not parallel ops (see _base.Predict)

    # ------------------------------------------------------------------ weights
    def _weights(self) -> dict:
        return {k: v.detach().cpu().numpy().copy() for k, v in self.net.state_dict().items()}

    def _state(self) -> Any:
        return {"config": dict(self.net.config), "weights": self._weights()}

    def _restore(self, state: State, meta: CheckpointMeta) -> None:
        import torch
        from ._nets import build
        config = self._checked_config(state.sub("config"))
        weights = state.sub("weights")
        try:
            with torch.device("meta"):   # shapes only: nothing allocated for a config the arrays do not match
                shapes = {k: tuple(v.shape) for k, v in build(config, 0).state_dict().items()}
        except RuntimeError as e:
            raise PayloadError(f"'{state.path}/config' describes a network that cannot be built "
                               f"({' '.join(str(e).split())[:100]})") from None
        extra = [k for k in weights.keys() if k not in shapes]
        if extra:
            raise PayloadError(f"{quoted(weights.path + '/' + extra[0])} is no weight of the network its config "
                               "describes")
        arrays = {k: np.asarray(weights.array(k, "f", shape), dtype=np.float32) for k, shape in shapes.items()}
        net = build(config, self.seed)
        net.load_state_dict({k: torch.as_tensor(v) for k, v in arrays.items()})
        net.eval()
        self.net = net
        self.start_config = dict(config)
        self.start_state = arrays

    def _checked_config(self, st: State) -> dict:
        """The network's config from a checkpoint: each key of the plugin's architecture, of its type, and
        inputs / outputs that fit this model (PayloadError otherwise)."""
        from ._nets import ACTIVATIONS
        kind = st.value("kind", str, "'mlp' or 'cnn'")
        want = self._net_config(1, 1)["kind"]
        if kind != want:
            raise PayloadError(f"'{st.path}/kind' is {quoted(kind)}, a {self.plugin} network is '{want}'")
        keys = {"mlp": ("kind", "members", "inputs", "hidden", "outputs", "activation", "dropout", "pooling"),
                "cnn": ("kind", "members", "inputs", "convs", "hidden", "outputs", "dropout")}[kind]
        for k in st.keys():
            if k not in keys:
                raise PayloadError(f"'{st.path}' has the key {quoted(k)}, which is not one of {', '.join(keys)}")
        config: dict = {"kind": kind}
        for k in ("members", "inputs", "outputs") + (("convs",) if kind == "cnn" else ()):
            config[k] = st.value(k, int, "an integer")
            if config[k] < (0 if k == "convs" else 1):
                raise PayloadError(f"'{st.path}/{k}' is {config[k]}, expected a positive integer")
        hidden = st.value("hidden", list, "a list of layer widths")
        if not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in hidden):
            raise PayloadError(f"'{st.path}/hidden' is {str(hidden)[:60]}, expected a list of positive integers")
        config["hidden"] = list(hidden)
        if kind == "mlp":
            config["activation"] = st.value("activation", str, "an activation")
            if config["activation"] not in ACTIVATIONS:
                raise PayloadError(f"'{st.path}/activation' is {quoted(config['activation'])}, expected one of "
                                   f"{', '.join(ACTIVATIONS)}")
        config["dropout"] = st.value("dropout", float, "a number") if st.has("dropout") else 0.0
        if not 0 <= config["dropout"] < 1:
            raise PayloadError(f"'{st.path}/dropout' is {config['dropout']}, expected a fraction below 1")
        if config["inputs"] != self._input_width():
            raise PayloadError(f"the network reads {config['inputs']} inputs, this model gives it "
                               f"{self._input_width()}")
        if config["outputs"] != len(self.cost_names):
            raise PayloadError(f"the network has {config['outputs']} outputs, for {len(self.cost_names)} costs")
        if st.has("pooling"):
            config["pooling"] = _checked_pooling(st.sub("pooling"), config["inputs"])
        return config

    def Initialize(self) -> None:
        super().Initialize()
        # the checkpoint's network is known now, before the run starts (-fresh moves nothing on this error)
        if self.start_config is not None:
            self._check_freeze(self.start_config, int(self.opts.get("freeze_layers") or 0))
            self._note_architecture()

    def _note_architecture(self) -> None:
        """One warning naming the architecture settings the config gives that the -icp checkpoint's network,
        which is fine-tuned as it is, does not have (they were ignored without a word). Only settings the user
        wrote, or that differ from their default (an option string's -ensemble): a default is no request."""
        if self.start_config is None:
            return
        from framework.config.schema import SECTIONS
        config = self.framework.config
        origins = getattr(config, "origins", None) or {}
        given = config.section("model") if hasattr(config, "section") else {}
        ours = self._net_config(self.start_config["inputs"], self.start_config["outputs"])
        differ = []
        for key, net_key in (("ensemble", "members"), ("hidden", "hidden"), ("activation", "activation"),
                             ("convs", "convs"), ("dropout", "dropout")):
            if net_key not in ours or net_key not in self.start_config or key not in given:
                continue
            default = SECTIONS["model"][key].default if key in SECTIONS["model"] else None
            if f"model.{key}" not in origins and given[key] == default:
                continue
            if ours[net_key] != self.start_config[net_key]:
                differ.append((key, self.start_config[net_key], ours[net_key]))
        if differ:
            shown = self.opts.get("initial_checkpoint") or str(self.initial)
            self.framework.log.warning(
                f"warning: {shown}: the checkpoint's network is fine-tuned as it is: its "
                + ", ".join(f"{k} {v}" for k, v, _ in differ) + ", not the config's "
                + ", ".join(f"{k} {w}" for k, _, w in differ))

    def _check_freeze(self, config: dict, freeze: int) -> None:
        from ._nets import weight_layer_count
        n_layers = weight_layer_count(config)
        if freeze >= n_layers:
            raise DeffeError(f"freeze_layers {freeze} would freeze every layer of the network ({n_layers} weight "
                             f"layers)", file=self.file, where="model.freeze_layers",
                             hint=f"freeze at most {n_layers - 1}")

    def Load(self, path, shown=None) -> CheckpointMeta:
        meta = super().Load(path, shown)
        if self.initial is None and not self.opts.get("initial_checkpoint"):
            # loaded for inference only: not a starting point for training
            self.start_state = self.start_config = None
        return meta

    def _info(self) -> dict:
        return {"network": dict(self.net.config)} if self.net is not None else {}


def _checked_pooling(st: State, inputs: int) -> dict:
    """The pooling block's settings from a checkpoint: feature columns within the network's inputs."""
    for k in st.keys():
        if k not in ("families", "other", "direct", "channels", "width", "own"):
            raise PayloadError(f"'{st.path}' has the key {quoted(k)}, which is not one of families, other, "
                               "direct, channels, width, own")
    out: dict = {}
    for k in ("channels", "width"):
        out[k] = st.value(k, int, "a positive integer")
        if not 1 <= out[k] <= 4096:
            raise PayloadError(f"'{st.path}/{k}' is {out[k]}, expected a positive integer up to 4096")
    other = st.value("other", list, "a list of feature columns")
    if not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c < inputs for c in other):
        raise PayloadError(f"'{st.path}/other' holds something other than feature columns 0..{inputs - 1}")
    if st.has("direct"):   # absent in checkpoints before 2026-12-03: the network read every column
        direct = st.value("direct", list, "a list of feature columns")
        if not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c < inputs for c in direct):
            raise PayloadError(f"'{st.path}/direct' holds something other than feature columns 0..{inputs - 1}")
        out["direct"] = direct
    families = st.value("families", list, "a list of slot tables")
    for i, slots in enumerate(families):
        rows = slots if isinstance(slots, list) and slots else [None]
        width = len(rows[0]) if isinstance(rows[0], list) else 0
        if not (width >= 1 and all(isinstance(r, list) and len(r) == width and all(
                isinstance(c, int) and not isinstance(c, bool) and -2 <= c < inputs for c in r) for r in rows)):
            raise PayloadError(f"'{st.path}/families' entry {i} is not a table of feature columns "
                               f"(-2..{inputs - 1}) of equal rows")
    if st.has("own"):   # absent in checkpoints before 2026-12-04: phi read no value's identity
        own = st.value("own", list, "a list of value tables")
        if len(own) != len(families) or not all(
                isinstance(o, list) and len(o) == len(f[0]) and all(
                    isinstance(v, int) and not isinstance(v, bool) and -1 <= v < len(o) for v in o)
                for o, f in zip(own, families)):
            raise PayloadError(f"'{st.path}/own' is not one list per family of each value's own index "
                               "(-1 for an interchangeable label)")
        out["own"] = own
    out.update(families=families, other=other)
    return out
