"""The torch.fx importer's module nodes (``call_module``): the supported torch.nn layers (see torch_fx.py for the
list), each mapped to its op with its parameter count checked against torch's; the composites
(encoder, decoder, nn.Transformer) go to torch_blocks.py. A mixin of the converter: it relies on its
``tensor``, ``add``, ``axis``, ``per_sample``, ``stack_of``, ``fail``, ``owner`` and ``shapes``."""
from __future__ import annotations

import functools

from simulator.ops import (GRU, LSTM, RNN, Activation, AdaptiveAvgPool2d, BatchNorm, Conv1d, Conv2d, Conv3d,
                           ConvTranspose2d, Dropout, Elementwise, Embedding, GroupNorm, GRUCell, LayerNorm, Linear,
                           LSTMCell, MultiHeadAttention, OpBase, Parameter, Pool2d, RMSNorm, RNNCell,
                           Softmax)
from simulator.ops.recurrent import final_state

from .torch_nodes import NCHW, PLAIN, SHARED, _Merged, _Multi, _pair, _State, _Tensor, torch_padding


@functools.lru_cache(maxsize=1)
def _supported_modules() -> dict:
    import torch.nn as nn
    return {
        nn.Conv2d: "conv2d", nn.ConvTranspose2d: "conv_transpose2d", nn.Conv1d: "conv1d", nn.Linear: "linear",
        nn.BatchNorm1d: "batch_norm1d",
        nn.BatchNorm2d: "batch_norm2d", nn.LayerNorm: "layer_norm", nn.ReLU: "relu",
        nn.GELU: "gelu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.SiLU: "silu", nn.Softmax: "softmax",
        nn.MaxPool2d: "max_pool", nn.AvgPool2d: "avg_pool",
        nn.AdaptiveAvgPool2d: "adaptive_avg_pool", nn.MaxPool1d: "max_pool1d", nn.AvgPool1d: "avg_pool1d",
        nn.AdaptiveAvgPool1d: "adaptive_avg_pool1d", nn.Conv3d: "conv3d", nn.BatchNorm3d: "batch_norm3d",
        nn.MaxPool3d: "max_pool3d", nn.AvgPool3d: "avg_pool3d", nn.AdaptiveAvgPool3d: "adaptive_avg_pool3d",
        nn.Dropout3d: "dropout", nn.Dropout: "dropout", nn.Dropout1d: "dropout",
        nn.Dropout2d: "dropout", nn.LogSoftmax: "softmax", nn.Softmax2d: "softmax2d",
        nn.Embedding: "embedding", nn.Flatten: "flatten", nn.Identity: "identity",
        nn.LSTM: "lstm", nn.GRU: "gru", nn.LSTMCell: "lstm_cell", nn.GRUCell: "gru_cell",
        nn.RNN: "rnn", nn.RNNCell: "rnn_cell", nn.MultiheadAttention: "mha",
        nn.TransformerEncoderLayer: "encoder_layer", nn.TransformerEncoder: "encoder",
        nn.TransformerDecoderLayer: "decoder_layer", nn.TransformerDecoder: "decoder", nn.Transformer: "transformer",
        nn.GroupNorm: "group_norm",
        nn.InstanceNorm2d: "instance_norm2d",
        **({nn.RMSNorm: "rms_norm"} if hasattr(nn, "RMSNorm") else {}),
    }


def _kind(m) -> str | None:
    """The importer's name for a supported module: its class, or a subclass that keeps the class's forward
    (torchvision's Conv3DSimple is an nn.Conv3d with another constructor)."""
    supported = _supported_modules()
    kind = supported.get(type(m))
    if kind is not None:
        return kind
    for base in type(m).__mro__[1:]:
        if base in supported:
            return supported[base] if type(m).forward is base.forward else None
    from .torch_experts import experts_layout
    return "experts" if experts_layout(m) is not None else None


def _pool_call(m, kind: str, x):
    """A 1-D or 3-D pooling module on input `x` as the function call it makes, (function, (x,), keyword
    settings), for the converter's function-form pooling."""
    import torch.nn.functional as F
    rank = kind[-2:]   # "1d" | "3d"
    mode = kind.split("_pool")[0]   # "max" | "avg" | "adaptive_avg"
    fn = getattr(F, f"{mode}_pool{rank}")
    if mode == "adaptive_avg":
        return fn, (x,), {"output_size": m.output_size}
    settings = {"kernel_size": m.kernel_size, "stride": m.stride, "padding": m.padding, "ceil_mode": m.ceil_mode}
    if mode == "max":
        settings.update(dilation=m.dilation, return_indices=m.return_indices)
    else:
        settings.update(count_include_pad=m.count_include_pad)
    return fn, (x,), settings


class ModuleNodes:
    """The converter's handling of call_module nodes."""

    def call_module(self, node, meta):
        m = self.modules[node.target]
        kind = _kind(m)
        if kind is None:  # only leaves are call_module nodes; defensive
            raise self.fail(node, f"unsupported module {type(m).__name__}")
        args = node.args
        shares = self.owner.get(("module", id(m)))
        name = node.target if shares is None else node.name
        expect = tuple(meta.shape) if hasattr(meta, "shape") else None
        tied = self.tied(m) if shares is None else {}
        if tied and set(tied) == {n for n, _ in m.named_parameters(recurse=False)} and len(set(tied.values())) == 1:
            shares = next(iter(tied.values()))   # every weight is another layer's (a language model's tied head)

        def done(op, parents, layout, out_shape=expect):
            t = self.add(node, name, op, parents, layout, out_shape, shares=shares)
            self.owner.setdefault(("module", id(m)), t.layer)
            for p in m.parameters():
                self.owner.setdefault(("param", id(p)), t.layer)
                if shares is None:
                    self.module_params.add(id(p))
            self.check_params(node, m, op, parents, shares)
            extra = _reparametrized(m) if shares is None else 0
            if extra:   # weight norm's magnitudes: a parameter layer of their own, updated as the weight is
                self.add(node, f"{name}.weight_g", Parameter((extra,)), [], SHARED, None)
            return t

        if kind in ("encoder_layer", "encoder"):   # composite: written out in torch_blocks.py
            from . import torch_blocks
            x = self.tensor(node, args[0], PLAIN)
            build = torch_blocks.encoder_layer if kind == "encoder_layer" else torch_blocks.encoder
            stack = self.stack_of(node)
            stack = stack if stack and stack[-1] == node.target else stack + [node.target]
            out = build(self, node, m, x, node.target if shares is None else node.name,
                        torch_blocks.masked(self, node, args), stack)
            if expect is not None and self.shapes[out.layer] != self.per_sample(node, expect, PLAIN):
                raise self.fail(node, f"the simulator's output shape {self.shapes[out.layer]} differs from "
                                      f"PyTorch's {expect}")
            return _Tensor(out.layer, PLAIN, expect)
        if kind in ("decoder_layer", "decoder", "transformer"):   # composites of two inputs: torch_blocks.py
            from . import torch_blocks
            stack = self.stack_of(node)
            stack = stack if stack and stack[-1] == node.target else stack + [node.target]
            out = torch_blocks.decoder_call(self, node, kind, m, args, node.target if shares is None else node.name,
                                            stack)
            if expect is not None and self.shapes[out.layer] != self.per_sample(node, expect, PLAIN):
                raise self.fail(node, f"the simulator's output shape {self.shapes[out.layer]} differs from "
                                      f"PyTorch's {expect}")
            return _Tensor(out.layer, PLAIN, expect)
        if kind == "experts":   # a mixture of experts' bank (torch_experts.py)
            from .torch_experts import experts_layout
            return self.experts(node, m, experts_layout(m), args, node.kwargs, expect)
        if len(args) != 1 and kind not in ("mha", "lstm", "gru", "rnn", "lstm_cell", "gru_cell", "rnn_cell"):
            raise self.fail(node, f"{type(m).__name__} called with {len(args)} inputs")
        if kind == "identity":
            return self.tensor(node, args[0])
        if kind == "conv2d":
            x = self.tensor(node, args[0], NCHW)
            if isinstance(m.padding, str):
                padding = "SAME" if m.padding == "same" else (0, 0)
            else:
                padding = tuple(m.padding)
            op = Conv2d(m.out_channels, tuple(m.kernel_size), tuple(m.stride), padding,
                        tuple(m.dilation), m.groups, m.bias is not None, m.in_channels)
            return done(op, [x], NCHW)
        if kind == "conv1d":
            x = self.tensor(node, args[0], PLAIN)
            if len(x.torch_shape) != 3:
                raise self.fail(node, f"Conv1d of a tensor of shape {tuple(x.torch_shape)}: only (N, C, L) is "
                                      "supported")
            padding = m.padding if isinstance(m.padding, str) else m.padding[0]
            op = Conv1d(m.out_channels, m.kernel_size[0], m.stride[0], 0 if padding == "valid" else padding,
                        m.dilation[0], m.groups, m.bias is not None, m.in_channels)
            return done(op, [x], PLAIN)
        if kind == "conv3d":
            x = self.tensor(node, args[0], PLAIN)
            if len(x.torch_shape) != 5:
                raise self.fail(node, f"Conv3d of a tensor of shape {tuple(x.torch_shape)}: only (N, C, D, H, W) is "
                                      "supported")
            padding = torch_padding(m.padding, m.kernel_size, m.dilation)
            op = Conv3d(m.out_channels, tuple(m.kernel_size), tuple(m.stride), padding, tuple(m.dilation),
                        m.groups, m.bias is not None, m.in_channels)
            return done(op, [x], PLAIN)
        if kind == "batch_norm3d":
            x = self.tensor(node, args[0], PLAIN)
            return done(BatchNorm(axis=0, affine=m.affine), [x], PLAIN)
        if kind in ("max_pool3d", "avg_pool3d", "adaptive_avg_pool3d"):
            return self.pool3d(node, *_pool_call(m, kind, args[0]), done)
        if kind == "conv_transpose2d":
            x = self.tensor(node, args[0], NCHW)
            if len(args) > 1 or node.kwargs.get("output_size") is not None:
                raise self.fail(node, "ConvTranspose2d with an output_size is not supported")
            op = ConvTranspose2d(m.out_channels, tuple(m.kernel_size), tuple(m.stride), tuple(m.padding),
                                 tuple(m.output_padding), tuple(m.dilation), m.groups, m.bias is not None,
                                 m.in_channels)
            return done(op, [x], NCHW)
        if kind == "linear":
            x = self.tensor(node, args[0], PLAIN)
            if shares is None and "weight" in tied:   # the weight tied to another layer's, the bias its own
                return self.tied_linear(node, m, x, tied["weight"], name, expect)
            return done(Linear(m.out_features, bias=m.bias is not None), [x], PLAIN)
        if kind == "batch_norm2d":
            x = self.tensor(node, args[0], NCHW)
            return done(BatchNorm(axis=-1, affine=m.affine), [x], NCHW)
        if kind == "group_norm" and len(getattr(self.env.get(args[0]), "torch_shape", ())) == 3:
            # a sequence (N, C, L), its channels first: wav2vec 2.0's first convolution
            x = self.tensor(node, args[0], PLAIN)
            return done(GroupNorm(m.num_groups, affine=m.affine, axis=0), [x], PLAIN)
        if kind in ("group_norm", "instance_norm2d"):
            x = self.tensor(node, args[0], NCHW)
            if len(x.torch_shape) != 4:
                raise self.fail(node, f"{type(m).__name__} of a tensor of shape {tuple(x.torch_shape)}: only "
                                      "images (N, C, H, W) are supported")
            if kind == "group_norm":
                return done(GroupNorm(m.num_groups, affine=m.affine), [x], NCHW)
            if m.track_running_stats:
                raise self.fail(node, "InstanceNorm2d(track_running_stats=True) is not supported")
            return done(GroupNorm(m.num_features, affine=m.affine), [x], NCHW)
        if kind == "batch_norm1d":
            rows = isinstance(self.env.get(args[0]), _Merged)   # (rows, C): the features are the last axis
            x = self.tensor(node, args[0], PLAIN)
            axis = -1 if len(x.torch_shape) == 2 or rows else 0
            return done(BatchNorm(axis=axis, affine=m.affine), [x], PLAIN)
        if kind == "layer_norm":
            x = self.tensor(node, args[0], PLAIN)
            op = LayerNorm(len(m.normalized_shape), scale=m.weight is not None,
                           bias=m.bias is not None)
            return done(op, [x], PLAIN)
        if kind == "rms_norm":
            x = self.tensor(node, args[0], PLAIN)
            return done(RMSNorm(len(m.normalized_shape), scale=m.weight is not None), [x], PLAIN)
        if kind in ("relu", "gelu", "tanh", "sigmoid", "silu"):
            x = self.tensor(node, args[0])
            return done(Activation(kind), [x], x.layout)
        if kind == "softmax2d":   # over the channels of an image: our (H, W, C)'s last axis
            x = self.tensor(node, args[0], NCHW)
            return done(Softmax(), [x], NCHW)
        if kind == "softmax":
            x = self.tensor(node, args[0])
            return self.softmax(node, x, m.dim if m.dim is not None else -1, name, done)
        if kind in ("max_pool", "avg_pool"):
            x = self.tensor(node, args[0], NCHW)
            if kind == "max_pool" and (m.return_indices or _pair(m.dilation) != (1, 1)):
                raise self.fail(node, "MaxPool2d with return_indices or dilation is not supported")
            stride = m.stride if m.stride else m.kernel_size
            op = Pool2d("max" if kind == "max_pool" else "avg", _pair(m.kernel_size),
                        _pair(stride), _pair(m.padding), ceil_mode=bool(m.ceil_mode))
            return done(op, [x], NCHW)
        if kind in ("max_pool1d", "avg_pool1d", "adaptive_avg_pool1d"):
            return self.pool1d(node, *_pool_call(m, kind, args[0]), done)
        if kind == "adaptive_avg_pool":
            x = self.tensor(node, args[0], NCHW)
            size = _pair(m.output_size) if not isinstance(m.output_size, tuple) else m.output_size
            _, _, h, w = x.torch_shape
            size = (size[0] or h, size[1] or w)
            return done(AdaptiveAvgPool2d(size), [x], NCHW)
        if kind == "dropout":
            x = self.tensor(node, args[0])
            return done(Dropout(float(m.p)), [x], x.layout)
        if kind == "embedding":
            x = self.tensor(node, args[0], PLAIN)
            return done(Embedding(m.num_embeddings, m.embedding_dim), [x], PLAIN)
        if kind == "flatten":
            x = self.tensor(node, args[0])
            return self.flatten(node, x, m.start_dim, m.end_dim, name, done)
        if kind in ("lstm", "gru", "rnn"):
            what = type(m).__name__
            if len(args) > 2 or node.kwargs:
                raise self.fail(node, f"{what} arguments beyond the input and the initial state are not supported")
            if getattr(m, "proj_size", 0):
                raise self.fail(node, f"{what}(proj_size=...) is not supported")
            self.layout_check(node, what, m.batch_first)
            x = self.tensor(node, args[0], PLAIN)
            op = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[kind](m.hidden_size, m.num_layers, m.bidirectional,
                                                           2 if m.bias else 0)
            parents = [x] + self.initial_state(node, args[1] if len(args) > 1 else None, m)
            out = tuple(meta[0].shape)
            dirs = 2 if m.bidirectional else 1
            return _Multi(done(op, parents, PLAIN, out), what, (kind, m.num_layers, dirs, m.hidden_size))
        if kind in ("lstm_cell", "gru_cell", "rnn_cell"):
            return self.cell_step(node, m, kind, args, meta, done)
        if kind == "mha":
            return self.mha(node, m, args, meta, name, done)
        raise self.fail(node, f"unsupported module {type(m).__name__}")  # pragma: no cover

    def tied(self, m) -> dict:
        """The module's own parameters that are already another layer's weights (tied: the same tensor, as a
        masked language model's decoder holds the word embeddings), by name -> that layer."""
        found = {}
        for n, p in m.named_parameters(recurse=False):
            layer = self.owner.get(("param", id(p)))
            if layer is not None:
                found[n] = layer
        return found

    def tied_linear(self, node, m, x, owner: str, name: str, expect):
        """A linear layer whose weight is `owner`'s and whose bias is its own: the product sharing the weight,
        then the bias, a parameter layer of its own, added."""
        t = self.add(node, name, Linear(m.out_features, bias=False), [x], PLAIN, None, shares=owner)
        self.owner.setdefault(("module", id(m)), t.layer)
        bias = self.add(node, f"{name}.bias", Parameter((m.out_features,)), [], SHARED, None)
        self.owner.setdefault(("param", id(m.bias)), bias.layer)
        return self.add(node, f"{name}:bias", Elementwise("add"), [t, bias], PLAIN, expect)

    def cell_step(self, node, m, kind: str, args, meta, done):
        """One step of an nn.LSTMCell / nn.GRUCell / nn.RNNCell (a decoder's loop over time, unrolled by the trace; the module
        called again shares its weights). Its state is a parent when the network computed it (the previous
        step, or an initial state made from the encoder); zeros made in forward are not. An LSTM cell's c is
        its step's layer too (the op keeps it inside)."""
        what = type(m).__name__
        state = args[1] if len(args) > 1 else node.kwargs.get("hx")
        if len(args) > 2 or any(k != "hx" for k in node.kwargs):
            raise self.fail(node, f"{what} arguments beyond the input and the state are not supported")
        x = self.tensor(node, args[0], PLAIN)
        if len(x.torch_shape) != 2:
            raise self.fail(node, f"{what} of a tensor of shape {tuple(x.torch_shape)}: only (N, features) is "
                                  "supported")
        parents = [x]
        for s in (state if isinstance(state, (tuple, list)) else (state,)):
            value = self.env.get(s) if hasattr(s, "op") else None
            if isinstance(value, _Multi):
                value = value.first
            if isinstance(value, _Tensor) and value.layout != SHARED and value.layer not in \
                    [p.layer for p in parents[1:]]:
                parents.append(value)
        op = {"lstm_cell": LSTMCell, "gru_cell": GRUCell, "rnn_cell": RNNCell}[kind](m.hidden_size, 2 if m.bias else 0)
        out = tuple(meta.shape) if hasattr(meta, "shape") else tuple(meta[0].shape)
        step = done(op, parents, PLAIN, out)
        return _Multi(step, what) if kind == "lstm_cell" else step

    def initial_state(self, node, state, m) -> list[_Tensor]:
        """The parent an RNN's initial state adds: the RNN whose final state it is (an encoder's, for a
        decoder), when it is as wide as this one's; a state made otherwise (zeros, a learned one) is read once
        and not counted."""
        if isinstance(state, (tuple, list)):
            state = state[0] if state else None
        value = self.env.get(state) if hasattr(state, "op") else None
        if isinstance(value, _State) and value.part in ("h", "hc"):
            source = value.source.first
            width = m.hidden_size * (2 if m.bidirectional else 1)
            if self.shapes[source.layer][-1] == width:
                return [self.final_state_of(node, source)]
        return []

    def final_state_of(self, node, source: _Tensor) -> _Tensor:
        """The layer of recurrent layer `source`'s final state (h_n, c_n), what a decoder started from it reads
        (its output sequence would be sent to another device in its place); one per recurrent layer, right
        after it and in its module, so that it goes where the encoder goes."""
        if source.layer not in self.final_states:
            op = next(l.op for l in self.layers if l.name == source.layer)
            state = self.add(node, f"{source.layer}_state", final_state(op), [source], PLAIN, None,
                             stack=self.stacks.get(source.layer))
            layer = self.layers.pop()
            self.layers.insert(next(i for i, l in enumerate(self.layers) if l.name == source.layer) + 1, layer)
            self.final_states[source.layer] = state
        return self.final_states[source.layer]

    def mha(self, node, m, args, meta, name, done):
        kwargs = dict(node.kwargs)
        q, k, v = (list(args) + [kwargs.pop(n, None) for n in ("query", "key", "value")])[:3]
        if q is None or k is not v:
            raise self.fail(node, "only attention whose key and value are the same tensor is supported")
        causal = bool(kwargs.pop("is_causal", False))
        for flag in ("need_weights", "average_attn_weights"):
            kwargs.pop(flag, None)
        # a mask (attn_mask, with is_causal or not; key_padding_mask) is one addition per score, what the op's
        # causal flag counts: the scores are computed in full either way
        masks = [kwargs.pop(k, None) for k in ("attn_mask", "key_padding_mask")]
        causal = causal or any(m is not None for m in masks)
        if kwargs or len(args) > 3:
            raise self.fail(node, f"MultiheadAttention arguments {', '.join(kwargs) or 'beyond query, key and value'} "
                                  "are not supported")
        if not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn:
            raise self.fail(node, "only MultiheadAttention with equal q/k/v widths and no bias_k/add_zero_attn "
                                  "is supported")
        self.layout_check(node, "MultiheadAttention", m.batch_first)
        x = self.tensor(node, q, PLAIN)
        if q is not k:   # cross-attention (a decoder reading an encoder, DETR's queries): written out
            from . import torch_blocks
            stack = self.stack_of(node)
            stack = stack if stack and stack[-1] == node.target else stack + [node.target]
            out = torch_blocks.cross_attention(self, node, m, x, self.tensor(node, k, PLAIN), name, causal, stack)
            return _Multi(_Tensor(out.layer, PLAIN, tuple(meta[0].shape)), "MultiheadAttention")
        op = MultiHeadAttention(m.num_heads, causal=causal, bias=m.in_proj_bias is not None)
        return _Multi(done(op, [x], PLAIN, tuple(meta[0].shape)), "MultiheadAttention")

    def check_params(self, node, m, op: OpBase, parents, shares) -> None:
        if shares is not None:
            return
        ours = op.counts([self.shapes[p.layer] for p in parents],
                         self.shapes[self.layers[-1].name]).params
        theirs = sum(p.numel() for p in m.parameters()) - _reparametrized(m)
        if ours != theirs:
            raise self.fail(node, f"the simulator counts {ours} parameters for "
                                  f"{type(m).__name__}, PyTorch has {theirs}")


def _reparametrized(m) -> int:
    """Parameters a module's weight parametrization holds beyond the weight's size: weight norm keeps the weight
    as a direction v of its size and magnitudes g, one per output (torch.nn.utils.parametrizations.weight_norm,
    or the older weight_norm's weight_g / weight_v: wav2vec 2.0's positional convolution)."""
    extra = 0
    for attr, originals in (getattr(m, "parametrizations", None) or {}).items():
        extra += sum(p.numel() for p in originals.parameters()) - getattr(m, attr).numel()
    if hasattr(m, "weight_g") and hasattr(m, "weight_v") and "weight_g" in dict(m.named_parameters(recurse=False)):
        extra += m.weight_g.numel()
    return extra
