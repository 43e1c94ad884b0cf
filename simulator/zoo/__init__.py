"""Published networks, built from their papers and reference implementations.

    from simulator import zoo
    net = zoo.load("resnet50", batch_size=64)
    net = zoo.load("gpt2", size="medium", seq_len=512)
    zoo.names()

Every model's parameter count equals its published count (the tests assert
it); the module docstring of each model says which publication. The default
batch size (`Network.batch_size`) is the model's typical training batch
(`DEFAULT_BATCH`). `net.meta` holds the configuration and the published
figures (for the default configuration).
"""
from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np

from simulator.graph import Network, SimulatorError, did_you_mean
from simulator.zoo import cnn, inception, resnet, seq2seq, transformers


@dataclass(frozen=True)
class ZooEntry:
    build: Callable[..., Network]
    default_batch: int
    fixed: dict  # configuration the name implies (e.g. depth=50)
    summary: str


_MODELS: dict[str, ZooEntry] = {
    "alexnet": ZooEntry(cnn.alexnet, 128, {}, "AlexNet (torchvision), 224x224"),
    "vgg16": ZooEntry(cnn.vgg16, 128, {}, "VGG-16 (torchvision), 224x224"),
    "resnet18": ZooEntry(resnet.resnet, 128, {"depth": 18}, "ResNet-18 (torchvision), 224x224"),
    "resnet34": ZooEntry(resnet.resnet, 128, {"depth": 34}, "ResNet-34 (torchvision), 224x224"),
    "resnet50": ZooEntry(resnet.resnet, 128, {"depth": 50}, "ResNet-50 v1.5 (torchvision), 224x224"),
    "resnet101": ZooEntry(resnet.resnet, 128, {"depth": 101}, "ResNet-101 (torchvision), 224x224"),
    "resnet152": ZooEntry(resnet.resnet, 128, {"depth": 152}, "ResNet-152 (torchvision), 224x224"),
    "inception_v3": ZooEntry(inception.inception_v3, 128, {},
                             "Inception-V3 (torchvision, with aux logits), 299x299"),
    "gpt2": ZooEntry(transformers.gpt2, 8, {}, "GPT-2 small/medium/large/xl, 1024 tokens"),
    "bert_base": ZooEntry(transformers.bert, 8, {"size": "base"}, "BERT-base with pooler, 512 tokens"),
    "bert_large": ZooEntry(transformers.bert, 8, {"size": "large"},
                           "BERT-large with pooler, 512 tokens"),
    "lstm_seq2seq": ZooEntry(seq2seq.lstm_seq2seq, 128, {},
                             "Sutskever et al. 2014 LSTM encoder-decoder, 4x1000"),
}


# options that change the input size, not the architecture (nor its parameters)
SIZE_ONLY = {"seq_len", "src_len", "tgt_len", "image_size", "dropout"}
# options whose every value has its own published figures (set by the builder)
PUBLISHED_VARIANTS = {"size", "aux_logits"}


def names() -> list[str]:
    """The model names `load` accepts."""
    return list(_MODELS)


def describe() -> dict[str, str]:
    """{name: one-line description}."""
    return {name: entry.summary for name, entry in _MODELS.items()}


def config_options(name: str) -> dict[str, object]:
    """The configuration keys of model `name` and their defaults."""
    entry = _entry(name)
    sig = inspect.signature(entry.build)
    return {k: p.default for k, p in sig.parameters.items()
            if k != "batch_size" and k not in entry.fixed}


def load(name: str, batch_size: int | None = None, **config) -> Network:
    """Build zoo model `name`; `batch_size` sets `Network.batch_size`."""
    entry = _entry(name)
    options = config_options(name)
    for key in config:
        if key not in options:
            listed = ", ".join(options) or "none"
            raise SimulatorError(f"zoo model '{name}' has no option '{key}' (options: {listed})"
                                 + did_you_mean(key, options))
    config = {key: _checked(name, key, value, options[key]) for key, value in config.items()}
    batch = entry.default_batch if batch_size is None else batch_size
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise SimulatorError(f"batch size must be a positive integer, not {batch!r}")
    try:
        net = entry.build(batch, **entry.fixed, **config)
    except SimulatorError as err:
        raise SimulatorError(err.message, source=f"zoo '{name}'", where=err.where) from None
    net.meta["config"] = {**options, **config}
    changed = {k for k in config if config[k] != options[k]}
    if changed - SIZE_ONLY - PUBLISHED_VARIANTS:  # published figures: default architecture only
        for key in [k for k in net.meta if k.startswith("published")]:
            del net.meta[key]
    elif changed & SIZE_ONLY:  # same parameters, other input size: the published FLOPs no longer apply
        net.meta.pop("published_macs", None)
    return net


def _checked(name: str, key: str, value: object, default: object) -> object:
    """An option's value, of its default's type: a positive integer for a size or count (layers=0 built no
    LSTM at all), True or False for a switch (aux_logits="false" was true), a string for a choice."""
    def bad(what: str) -> SimulatorError:
        return SimulatorError(f"{key} must be {what}, not {value!r}", source=f"zoo '{name}'")
    if isinstance(default, bool):
        if not isinstance(value, (bool, np.bool_)):
            raise bad("true or false (a boolean)")
        return bool(value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise bad("a positive integer")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise bad("a number")
        return float(value)
    if isinstance(default, str) and not isinstance(value, str):
        raise bad("a string")
    return value


def _entry(name: str) -> ZooEntry:
    if name not in _MODELS:
        raise SimulatorError(f"unknown zoo model '{name}'" + did_you_mean(name, _MODELS)
                             + f"; known: {', '.join(_MODELS)}")
    return _MODELS[name]


__all__ = ["load", "names", "describe", "config_options"]
