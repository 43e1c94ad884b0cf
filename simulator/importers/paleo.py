"""Paleo's network JSON (as also used by Exprimo) -> `Network`.

    net = load_paleo_network("resnet50.json")    # a file here, else the bundled network of that name
    net = load_paleo_network("nets/my_net.json")

Format (facts from Paleo's `graph.py` and layer classes):
``{"name": ..., "layers": {NAME: {"type": ..., "parents": [...], ...}}}``,
tensors NHWC, the batch is the first dimension of the `Input` tensor and
becomes `Network.batch_size`.

| Paleo type | op | keys |
|---|---|---|
| Input | `input` (tensor[1:]) | tensor [N, ...] |
| Input with parents | `reshape` to tensor[1:] (Paleo starts a new tensor; here the edge is kept and the element count checked) | tensor |
| Convolution | `conv2d` with bias | filter [kh, kw, Cin or -1, Cout], strides [1, sh, sw, 1], padding SAME / VALID / [ph, pw] |
| Pooling / AvgPool | `pool2d` max / avg | ksize [1, kh, kw, 1], strides, padding |
| InnerProduct | `linear`, flattening its input | num_outputs |
| Concatenate | `concat` | dim, counted on NHWC with the batch (3 = channels) |
| Dropout | `dropout`, rate = 1 - keep | dropout_keep_prob |
| Elementwise | `add` of equal shapes | |
| Softmax | `softmax`, output (classes,) | num_classes (optional, must match) |
| Sigmoid | `sigmoid` (element-wise; Paleo's gives (N, 1)) | |
| Reshape | `reshape` | output_shape [N or -1, ...] (one -1 inferred) |
| Block | its sub-layers, named ``block/layer`` | layers, parents, endpoint |
| ModelParallel | its sub-layers once per split, ``block/layer@s``; a convolution's output channels divided among the splits (Paleo's `split_model`) | splits, layers, parents |

In a block, a sub-layer's parents name its siblings; empty parents mean the
block's parents; a parent naming a block means its `endpoint`. In a
ModelParallel block (Paleo's AlexNet on 2 to 8 GPUs), ``layer@self`` is the
same split's copy and ``layer@all`` every split's copy (a layer outside the
block names ``block/layer@all``); each split is a natural block of its own,
so that the splits can go to different devices. Output sizes
follow TensorFlow (VALID ceil((H-k+1)/s), SAME ceil(H/s)); explicit padding
floor((H+2p-k)/s)+1. `activation_fn` / `normalizer_fn` are ignored, as
Paleo ignores them. Exprimo's optional per-layer ``"device"`` is kept in
`Network.file_placement` (layers without one are on device 0, Exprimo's
default); `Network.file_placement_groups()` turns it into a placement.

Natural blocks (`Layer.block`) are the Paleo blocks, so the default grouping
is one group per top-level layer and per block when that gives at most 32
groups, otherwise 16 groups of consecutive layers (see `simulator.grouping`).

Bad input raises `SimulatorError` naming the file and the layer: invalid JSON
(with line and column), a missing required key, an unknown layer type or an
unknown key of a layer (with a suggestion: a misspelt ``"device"`` would put
the layer on device 0), a missing parent, a cycle, inconsistent shapes.
"""
from __future__ import annotations

import json
import os
from typing import Any

from simulator import data as bundled
from simulator.graph import Layer, Network, SimulatorError, did_you_mean
from simulator.ops import (Activation, Concat, Conv2d, Dropout, Elementwise, Input, Linear, Pool2d,
                           Reshape, Softmax)

LAYER_TYPES = ("Input", "Convolution", "Pooling", "AvgPool", "InnerProduct", "Concatenate",
               "Dropout", "Elementwise", "Softmax", "Sigmoid", "Reshape", "Block", "ModelParallel")
BLOCKS = ("Block", "ModelParallel")
SPLIT = "__splits__"   # set on a convolution of a ModelParallel block: its share of the output channels
# known to Paleo, not to this importer
UNSUPPORTED = ("Deconvolution", "UpSampling2D", "Generic")
MAX_INT = 2 ** 31 - 1   # a size, count or index above this is no network's (and overflows numpy's int64)
# the keys a layer of each type may have (Paleo's graph.py and its network files; "device" is Exprimo's;
# activation_fn, normalizer_fn and a convolution's bias are in Paleo's files and ignored, as Paleo does)
COMMON_KEYS = ("type", "parents", "device", "activation_fn", "normalizer_fn")
LAYER_KEYS: dict[str, tuple[str, ...]] = {
    "Input": ("tensor",), "Convolution": ("filter", "strides", "padding", "bias", "splits"),
    "Pooling": ("ksize", "strides", "padding"), "AvgPool": ("ksize", "strides", "padding"),
    "InnerProduct": ("num_outputs", "bias"), "Concatenate": ("dim",), "Dropout": ("dropout_keep_prob",),
    "Elementwise": (), "Softmax": ("num_classes",), "Sigmoid": (), "Reshape": ("output_shape",),
    "Block": ("layers", "endpoint"), "ModelParallel": ("layers", "splits", "endpoint")}


def _integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _short(v: Any) -> str:
    """A value for a message: at most 60 characters of its repr."""
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def load_paleo_network(path: str | os.PathLike) -> Network:
    """Read a Paleo network file (a bare name that names no file: the bundled network of that name)."""
    source = bundled.locate(path, bundled.NETWORKS)
    try:
        with open(source, encoding="utf-8-sig") as f:   # a BOM (Windows editors) is not content
            text = f.read()
    except OSError as err:
        raise SimulatorError(f"cannot read the file: {err.strerror}", source=source) from None
    except UnicodeDecodeError:
        raise SimulatorError("the file is not UTF-8 text", source=source) from None
    default_name = os.path.splitext(os.path.basename(source))[0]
    return parse_paleo_network(text, source=source, default_name=default_name)


def parse_paleo_network(text: str, source: str = "<string>", default_name: str = "network") -> Network:
    """Parse a Paleo network from JSON text (`source` names it in errors)."""
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as err:
        raise SimulatorError(f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}",
                             source=source) from None
    except _DuplicateKey as dup:
        raise SimulatorError(f"duplicate key '{dup.key}' in a JSON object", source=source) from None
    except (ValueError, RecursionError) as err:   # an integer of thousands of digits, nesting too deep
        raise SimulatorError(f"invalid JSON: {str(err).split(';')[0]}", source=source) from None
    return _Importer(source).network(doc, default_name)


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _Importer:
    def __init__(self, source: str):
        self.source = source
        self.batch: int | None = None

    def error(self, message: str, layer: str | None = None) -> SimulatorError:
        return SimulatorError(message, source=self.source,
                              where=f"layer '{layer}'" if layer is not None else None)

    # ----------------------------------------------------------- structure
    def network(self, doc: Any, default_name: str) -> Network:
        if not isinstance(doc, dict):
            raise self.error("the top level must be a JSON object with a 'layers' object")
        if "layers" not in doc:
            raise self.error("missing required key 'layers'")
        specs = doc["layers"]
        if not isinstance(specs, dict) or not specs:
            raise self.error("'layers' must be a non-empty object of layers")
        name = doc.get("name", default_name)
        if not isinstance(name, str):
            raise self.error("'name' must be a string")

        endpoints = self.block_endpoints(specs)
        splits = self.split_counts(specs)
        flat: list[tuple[str, dict, tuple[str, ...], str]] = []  # name, spec, parents, block
        for lname, spec in specs.items():
            spec = self.spec(lname, spec)
            if spec["type"] in BLOCKS:
                kind = spec["type"]
                block_parents = self.expand(self.parents(lname, spec), endpoints, splits, lname)
                subs = spec.get("layers")
                if not isinstance(subs, dict) or not subs:
                    raise self.error(f"a {kind} needs a non-empty 'layers' object", lname)
                copies = splits[f"{lname}/{next(iter(subs))}"] if kind == "ModelParallel" else None
                for s in range(copies or 1):
                    for sub_name, sub in subs.items():
                        full = f"{lname}/{sub_name}" + (f"@{s}" if copies else "")
                        sub = self.spec(full, sub)
                        if sub["type"] in BLOCKS:
                            raise self.error("nested blocks are not supported", full)
                        own = self.parents(full, sub)
                        parents = (self.expand([f"{lname}/{p}" for p in own], endpoints, splits, full,
                                               s if copies else None) if own else block_parents)
                        if copies and sub["type"] == "Convolution":
                            sub = dict(sub, **{SPLIT: copies})
                        flat.append((full, sub, parents, f"{lname}@{s}" if copies else lname))
            else:
                parents = self.expand(self.parents(lname, spec), endpoints, splits, lname)
                flat.append((lname, spec, parents, ""))

        # the batch comes from the first parentless Input
        for lname, spec, parents, _ in flat:
            if spec["type"] == "Input" and not parents:
                tensor = self.int_list(lname, spec, "tensor", min_len=1)
                self.batch = tensor[0]
                break
        if self.batch is None:
            raise self.error("the network has no Input layer without parents")

        layers = [Layer(lname, self.op(lname, spec, parents), parents, block=block)
                  for lname, spec, parents, block in flat]
        devices = self.devices(flat)
        net = Network.build(name, layers, source=self.source, batch_size=self.batch,
                            file_placement=devices, meta={"format": "paleo"})
        self.check_after_build(net, {n: s for n, s, _, _ in flat})
        return net

    def block_endpoints(self, specs: dict) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for lname, spec in specs.items():
            if isinstance(spec, dict) and spec.get("type") == "Block":
                endpoint = spec.get("endpoint")
                if endpoint is None:
                    out[lname] = None
                    continue
                if not isinstance(endpoint, str):
                    raise self.error("'endpoint' must be a layer name", lname)
                subs = spec.get("layers")
                if isinstance(subs, dict) and endpoint not in subs:
                    raise self.error(f"endpoint '{endpoint}' is not a layer of the block"
                                     + did_you_mean(endpoint, subs), lname)
                out[lname] = f"{lname}/{endpoint}"
        return out

    def split_counts(self, specs: dict) -> dict[str, int]:
        """``block/layer`` -> its number of copies, for the layers of ModelParallel blocks."""
        out: dict[str, int] = {}
        for lname, spec in specs.items():
            if isinstance(spec, dict) and spec.get("type") == "ModelParallel":
                count = spec.get("splits", 1)
                if not _integer(count) or not 0 < count <= 1024:
                    raise self.error(f"'splits' must be a positive integer (at most 1024), got {_short(count)}",
                                     lname)
                if "endpoint" in spec:
                    raise self.error("a ModelParallel block has no single endpoint: name "
                                     "'<block>/<layer>@all' as the parent", lname)
                if isinstance(spec.get("layers"), dict):
                    out.update({f"{lname}/{sub}": count for sub in spec["layers"]})
        return out

    def expand(self, parents: list[str], endpoints: dict[str, str | None], splits: dict[str, int], layer: str,
               split: int | None = None) -> tuple[str, ...]:
        """Parent names as layers: a block's endpoint; ``x@all`` every copy of a split layer, ``x@self`` the
        copy of the split being built (Paleo's graph.py)."""
        out: list[str] = []
        for p in parents:
            base, _, which = p.rpartition("@") if p.endswith(("@all", "@self")) else (p, "", "")
            if which and base not in splits:
                raise self.error(f"parent '{p}': '{base}' is not a layer of a ModelParallel block", layer)
            if which == "all":
                out.extend(f"{base}@{i}" for i in range(splits[base]))
            elif which == "self":
                if split is None:
                    raise self.error(f"parent '{p}': '@self' is only meaningful inside its ModelParallel block; "
                                     f"name '{base}@all'", layer)
                out.append(f"{base}@{split}")
            elif p in splits:
                raise self.error(f"parent '{p}' is split by a ModelParallel block: name '{p}@all' "
                                 "(every split) or, inside the block, '@self'", layer)
            else:
                out.append(self.resolve(p, endpoints, layer))
        return tuple(out)

    def resolve(self, parent: str, endpoints: dict[str, str | None], layer: str) -> str:
        if parent in endpoints:
            if endpoints[parent] is None:
                raise self.error(f"parent '{parent}' is a block without an 'endpoint'", layer)
            return endpoints[parent]  # type: ignore[return-value]
        return parent

    def spec(self, lname: str, spec: Any) -> dict:
        if not isinstance(spec, dict):
            raise self.error("a layer must be a JSON object", lname)
        if "type" not in spec:
            raise self.error("missing required key 'type'", lname)
        kind = spec["type"]
        if not isinstance(kind, str):
            raise self.error(f"'type' must be a string, not {kind!r}", lname)
        if kind in UNSUPPORTED:
            raise self.error(f"layer type '{kind}' is not supported by this importer", lname)
        if kind not in LAYER_TYPES:
            raise self.error(f"unknown layer type '{kind}'" + did_you_mean(kind, LAYER_TYPES), lname)
        known = COMMON_KEYS + LAYER_KEYS[kind]
        for key in spec:
            if key not in known:
                article = "an" if kind[0] in "AEIOU" else "a"
                raise self.error(f"unknown key {key!r} for {article} {kind} layer" + did_you_mean(str(key), known)
                                 + f"; its keys are {', '.join(known)}", lname)
        return spec

    def parents(self, lname: str, spec: dict) -> list[str]:
        if "parents" not in spec:
            raise self.error("missing required key 'parents'", lname)
        parents = spec["parents"]
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            raise self.error("'parents' must be a list of layer names", lname)
        return parents

    def devices(self, flat) -> dict[str, int] | None:
        found = {}
        for lname, spec, _, _ in flat:
            if "device" in spec:
                device = spec["device"]
                if not _integer(device) or not 0 <= device <= MAX_INT:
                    raise self.error(f"'device' must be a device index, not {_short(device)}", lname)
                found[lname] = device
        if not found:
            return None
        return {lname: found.get(lname, 0) for lname, _, _, _ in flat}

    # ------------------------------------------------------------- values
    def require(self, lname: str, spec: dict, key: str) -> Any:
        if key not in spec:
            raise self.error(f"missing required key '{key}' for a {spec['type']} layer", lname)
        return spec[key]

    def int_list(self, lname: str, spec: dict, key: str, length: int | None = None,
                 min_len: int = 0, allow_minus_one: bool = False) -> list[int]:
        value = self.require(lname, spec, key)
        ok = isinstance(value, list) and all(
            _integer(v) and (v > 0 or (allow_minus_one and v == -1))
            for v in value)
        if ok and length is not None:
            ok = len(value) == length
        if ok:
            ok = len(value) >= min_len
        if not ok:
            size = f"{length} " if length is not None else ""
            raise self.error(f"'{key}' must be a list of {size}positive integers"
                             + (" (or -1)" if allow_minus_one else "") + f", got {_short(value)}", lname)
        if any(v > MAX_INT for v in value):
            raise self.error(f"'{key}' holds a size above {MAX_INT}: {_short(value)}", lname)
        return value

    def nhwc_pair(self, lname: str, spec: dict, key: str) -> tuple[int, int]:
        value = self.int_list(lname, spec, key, length=4)
        if value[0] != 1 or value[3] != 1:
            raise self.error(f"'{key}' must be [1, h, w, 1], got {value}", lname)
        return value[1], value[2]

    def padding(self, lname: str, spec: dict):
        value = self.require(lname, spec, "padding")
        if value in ("SAME", "VALID"):
            return value
        if (isinstance(value, list) and len(value) == 2
                and all(_integer(v) and 0 <= v <= MAX_INT for v in value)):
            return (value[0], value[1])
        raise self.error(f"'padding' must be \"SAME\", \"VALID\" or [ph, pw], got {value!r}", lname)

    def one_parent(self, lname: str, kind: str, parents: tuple[str, ...]) -> None:
        if len(parents) != 1:
            raise self.error(f"a {kind} layer takes one parent, got {len(parents)}", lname)

    # ---------------------------------------------------------------- ops
    def op(self, lname: str, spec: dict, parents: tuple[str, ...]):
        kind = spec["type"]
        try:
            return self._op(lname, kind, spec, parents)
        except SimulatorError as err:
            if err.source:
                raise
            raise self.error(err.message, lname) from None

    def _op(self, lname: str, kind: str, spec: dict, parents: tuple[str, ...]):
        if kind == "Input":
            tensor = self.int_list(lname, spec, "tensor", min_len=2)
            if tensor[0] != self.batch:
                raise self.error(f"input batch {tensor[0]} differs from the network's batch "
                                 f"{self.batch}", lname)
            if parents:
                self.one_parent(lname, "Input", parents)
                return Reshape(tuple(tensor[1:]))
            return Input(tuple(tensor[1:]))
        if kind == "Convolution":
            self.one_parent(lname, kind, parents)
            kh, kw, cin, cout = self.int_list(lname, spec, "filter", length=4, allow_minus_one=True)
            if -1 in (kh, kw, cout):
                raise self.error(f"only the input channels of 'filter' may be -1, got "
                                 f"{spec['filter']}", lname)
            if spec.get(SPLIT):   # a model-parallel copy computes its share of the channels (Paleo floors it)
                if cout < spec[SPLIT]:
                    raise self.error(f"{cout} output channels cannot be split {spec[SPLIT]} ways", lname)
                cout //= spec[SPLIT]
            return Conv2d(cout, (kh, kw), self.nhwc_pair(lname, spec, "strides"),
                          self.padding(lname, spec), bias=True, in_channels=None if cin == -1 else cin)
        if kind in ("Pooling", "AvgPool"):
            self.one_parent(lname, kind, parents)
            return Pool2d("max" if kind == "Pooling" else "avg", self.nhwc_pair(lname, spec, "ksize"),
                          self.nhwc_pair(lname, spec, "strides"), self.padding(lname, spec))
        if kind == "InnerProduct":
            self.one_parent(lname, kind, parents)
            outputs = self.require(lname, spec, "num_outputs")
            if not _integer(outputs) or not 0 < outputs <= MAX_INT:
                raise self.error(f"'num_outputs' must be a positive integer (at most {MAX_INT}), got "
                                 f"{_short(outputs)}", lname)
            return Linear(outputs, bias=True, flatten=True)
        if kind == "Concatenate":
            if not parents:
                raise self.error("a Concatenate layer needs parents", lname)
            dim = self.require(lname, spec, "dim")
            if not _integer(dim) or abs(dim) > MAX_INT:
                raise self.error(f"'dim' must be an integer, got {_short(dim)}", lname)
            if dim == 0:
                raise self.error("cannot concatenate along the batch dimension (dim 0)", lname)
            return Concat(axis=dim - 1 if dim > 0 else dim, batch_counted=True)
        if kind == "Dropout":
            self.one_parent(lname, kind, parents)
            keep = self.require(lname, spec, "dropout_keep_prob")
            if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0 < keep <= 1:
                raise self.error(f"'dropout_keep_prob' must be in (0, 1], got {keep!r}", lname)
            return Dropout(1.0 - keep)
        if kind == "Elementwise":
            if len(parents) < 2:
                raise self.error(f"an Elementwise layer needs at least two parents, got "
                                 f"{len(parents)}", lname)
            return Elementwise("add", same_shape=True)
        if kind == "Softmax":
            self.one_parent(lname, kind, parents)
            classes = spec.get("num_classes")
            if classes is not None and (not _integer(classes) or not 0 < classes <= MAX_INT):
                raise self.error(f"'num_classes' must be a positive integer, got {_short(classes)}", lname)
            return Softmax(flatten=True)
        if kind == "Sigmoid":
            self.one_parent(lname, kind, parents)
            return Activation("sigmoid")
        if kind == "Reshape":
            self.one_parent(lname, kind, parents)
            shape = self.int_list(lname, spec, "output_shape", min_len=2, allow_minus_one=True)
            if shape[0] not in (-1, self.batch):
                raise self.error(f"Reshape must keep the batch dimension first, got {shape}", lname)
            return Reshape(tuple(shape[1:]))
        raise self.error(f"layer type '{kind}' is not supported by this importer", lname)

    def check_after_build(self, net: Network, specs: dict[str, dict]) -> None:
        for layer in net.layers:
            spec = specs[layer.name]
            if spec["type"] == "Softmax" and spec.get("num_classes") is not None:
                if spec["num_classes"] != layer.out_shape[0]:
                    raise self.error(f"num_classes {spec['num_classes']} does not match the "
                                     f"{layer.out_shape[0]} values of its input {layer.in_shapes[0]}",
                                     layer.name)
