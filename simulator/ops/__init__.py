"""The op catalogue: one small frozen dataclass per kind of layer.

Each op has its attributes as fields and two methods:

- ``infer(in_shapes) -> out_shape``: per-sample shapes, channels-last images
  (H, W, C), sequences (T, D); a clear one-line `SimulatorError` on
  inconsistent inputs;
- ``counts(in_shapes, out_shape) -> Counts``: parameters, forward FLOPs, data-
  gradient FLOPs (one entry per input), weight-gradient FLOPs, activation
  elements read and written by the forward, and what the backward keeps.

A multiply-add is 2 FLOPs. Each module's docstring is the table of its
formulas:

- `simulator.ops.conv`: conv1d, conv2d, conv_transpose2d, pool1d and pool2d (max/avg), global_avg_pool,
  adaptive_avg_pool, adaptive_avg_pool1d, upsample
- `simulator.ops.conv3d`: conv3d, pool3d (max/avg), adaptive_avg_pool3d over (C, D, H, W) volumes
- `simulator.ops.dense`: linear, matmul, attention_scores, attention_context,
  multi_head_attention, embedding, position_embedding
- `simulator.ops.elementwise`: relu / gelu / tanh / sigmoid / silu (and leaky_relu, hardtanh,
  hardsigmoid, hardswish, elu, softplus, mish), add / sub / mul / div,
  dropout, softmax
- `simulator.ops.norm`: batch_norm, layer_norm, group_norm, rms_norm
- `simulator.ops.shape`: input, parameter, concat, reshape, flatten, transpose,
  select, slice, mean, pad, pixel_shuffle, repeat, gather, unfold
- `simulator.ops.recurrent`: lstm_cell, gru_cell, rnn_cell, lstm, gru, rnn, rnn_state
- `simulator.ops.spectral`: fft

Paleo's own per-layer work for these ops is in `simulator.paleo_terms`.
"""
from simulator.ops.base import Counts, OpBase
from simulator.ops.conv import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, Conv1d, Conv2d, ConvTranspose2d, GlobalAvgPool,
                                Pool1d, Pool2d, Upsample)
from simulator.ops.conv3d import AdaptiveAvgPool3d, Conv3d, Pool3d
from simulator.ops.dense import (AttentionContext, AttentionScores, Embedding, Linear, MatMul,
                                 MultiHeadAttention, PositionEmbedding, TriangularSolve)
from simulator.ops.elementwise import ACTIVATIONS, Activation, Dropout, Elementwise, Softmax
from simulator.ops.norm import BatchNorm, GroupNorm, LayerNorm, RMSNorm
from simulator.ops.recurrent import GRU, LSTM, RNN, FinalState, GRUCell, LSTMCell, RNNCell
from simulator.ops.shape import (Concat, Flatten, Gather, Input, Mean, Pad, Parameter, PixelShuffle, Repeat, Reshape,
                                 Select, Slice, Transpose, Unfold)
from simulator.ops.spectral import FFT


def relu() -> Activation:
    return Activation("relu")


def gelu() -> Activation:
    return Activation("gelu")


def tanh() -> Activation:
    return Activation("tanh")


def sigmoid() -> Activation:
    return Activation("sigmoid")


def silu() -> Activation:
    return Activation("silu")


def add(same_shape: bool = False) -> Elementwise:
    return Elementwise("add", same_shape=same_shape)


__all__ = [
    "Counts", "OpBase",
    "Conv1d", "Conv2d", "ConvTranspose2d", "Pool1d", "Pool2d", "GlobalAvgPool", "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d", "Upsample", "Conv3d", "Pool3d", "AdaptiveAvgPool3d",
    "Linear", "MatMul", "TriangularSolve", "AttentionScores", "AttentionContext", "MultiHeadAttention",
    "Embedding", "PositionEmbedding",
    "ACTIVATIONS", "Activation", "Elementwise", "Dropout", "Softmax",
    "BatchNorm", "GroupNorm", "LayerNorm", "RMSNorm",
    "LSTM", "LSTMCell", "GRU", "GRUCell", "RNN", "RNNCell", "FinalState",
    "Input", "Parameter", "Concat", "Reshape", "Flatten", "Transpose", "Select", "Slice", "Mean", "Pad", "PixelShuffle", "Repeat", "Unfold",
    "Gather", "FFT",
    "relu", "gelu", "tanh", "sigmoid", "silu", "add",
]
