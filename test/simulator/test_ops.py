"""Each op's formulas on small hand-worked examples."""
from __future__ import annotations

import pytest

from simulator.graph import SimulatorError
from simulator.ops import (LSTM, RNN, Activation, GRUCell, RNNCell, AdaptiveAvgPool2d, AttentionContext, AttentionScores,
                           BatchNorm, Concat, Conv2d, Dropout, Elementwise, Embedding, Flatten,
                           GlobalAvgPool, Input, LayerNorm, Linear, LSTMCell, MatMul, Mean,
                           MultiHeadAttention, Parameter, Pool2d, PositionEmbedding, Repeat, Reshape, Unfold,
                           Select, Slice, Softmax, Transpose)


def run(op, *in_shapes):
    out = op.infer(in_shapes)
    return out, op.counts(in_shapes, out)


# ------------------------------------------------------------------ conv / pool
def test_conv_with_padding_and_stride_hand_worked():
    # 7x7x3 input, 4 filters 3x3, stride 2, pad 1: floor((7 + 2 - 3) / 2) + 1 = 4
    out, c = run(Conv2d(4, 3, 2, (1, 1)), (7, 7, 3))
    assert out == (4, 4, 4)
    macs = 3 * 3 * 3 * 4 * 4 * 4  # kh*kw*Cin*Cout*Ho*Wo = 1728
    assert c.params == 3 * 3 * 3 * 4 + 4 == 112
    assert c.fwd == 2 * macs + 64 == 3520  # + one bias add per output element
    assert c.dgrad == (2 * macs,)
    assert c.wgrad == 2 * macs + 64
    assert (c.read, c.write) == (147, 64)
    assert c.saved_inputs == (0,)


def test_conv_output_sizes_follow_tensorflow_and_pytorch():
    assert Conv2d(8, 3, 2, "SAME").infer([(7, 7, 1)]) == (4, 4, 8)   # ceil(7 / 2)
    assert Conv2d(8, 3, 2, "VALID").infer([(7, 7, 1)]) == (3, 3, 8)  # ceil((7 - 3 + 1) / 2)
    assert Conv2d(8, 11, 4, "VALID").infer([(224, 224, 3)]) == (54, 54, 8)
    assert Conv2d(8, 11, 4, 2).infer([(224, 224, 3)]) == (55, 55, 8)  # torchvision AlexNet
    assert Conv2d(8, (1, 7), 1, (0, 3)).infer([(17, 17, 4)]) == (17, 17, 8)
    assert Conv2d(8, 3, 1, (2, 2), dilation=2).infer([(10, 10, 1)]) == (10, 10, 8)


def test_conv_groups_and_no_bias():
    _, c = run(Conv2d(8, 3, 1, (1, 1), groups=4, bias=False), (5, 5, 8))
    assert c.params == 3 * 3 * 2 * 8  # each filter sees 8 / 4 input channels
    assert c.fwd == 2 * 3 * 3 * 2 * 8 * 25


def test_conv_errors_are_one_line():
    with pytest.raises(SimulatorError, match="5x5 window does not fit the 3x3 input"):
        Conv2d(4, 5, 1, "VALID").infer([(3, 3, 1)])
    with pytest.raises(SimulatorError, match="filter expects 3 input channels, the input has 4"):
        Conv2d(4, 3, in_channels=3).infer([(8, 8, 4)])
    with pytest.raises(SimulatorError, match="expects a 3-D input"):
        Conv2d(4, 3).infer([(8, 8)])
    with pytest.raises(SimulatorError, match="padding must be"):
        Conv2d(4, 3, padding="FULL")
    with pytest.raises(SimulatorError, match="takes 1 input"):
        Conv2d(4, 3).infer([(8, 8, 3), (8, 8, 3)])


def test_max_and_avg_pool_hand_worked():
    out, c = run(Pool2d("max", 3, 2), (7, 7, 2))  # VALID: ceil((7 - 3 + 1) / 2) = 3
    assert out == (3, 3, 2)
    assert c.fwd == 9 * 18 and c.dgrad == (18,)
    assert c.saved_inputs == (0,) and c.saved_private == 18  # input and argmax indices
    out, c = run(Pool2d("avg", 3, 1, 1), (5, 5, 4))
    assert out == (5, 5, 4)
    assert c.fwd == 9 * 100 and c.dgrad == (900,) and c.saved_inputs == ()
    # PyTorch ceil_mode: 8x8, k3 s2 -> ceil(5/2) + 1 = 4
    assert Pool2d("max", 3, 2, 0, ceil_mode=True).infer([(8, 8, 1)]) == (4, 4, 1)
    assert Pool2d("max", 3, 2, 0).infer([(8, 8, 1)]) == (3, 3, 1)
    # rounding up, a window larger than the input still gives one output, which reads the input alone (Hugging
    # Face's EfficientNet pools its last map with a window of 1280); without it, PyTorch refuses
    out, c = run(Pool2d("avg", 1280, None, 0, ceil_mode=True), (2, 2, 8))
    assert out == (1, 1, 8) and c.fwd == 4 * 8
    with pytest.raises(SimulatorError, match="does not fit"):
        Pool2d("avg", 1280, None, 0).infer([(2, 2, 8)])


def test_global_and_adaptive_pool():
    out, c = run(GlobalAvgPool(), (7, 7, 16))
    assert out == (1, 1, 16) and c.fwd == 7 * 7 * 16
    assert GlobalAvgPool(keepdims=False).infer([(7, 7, 16)]) == (16,)
    # adaptive 5 -> 3: windows [0,2) [1,4) [3,5) of lengths 2, 3, 2
    out, c = run(AdaptiveAvgPool2d((3, 3)), (5, 5, 1))
    assert out == (3, 3, 1) and c.fwd == 7 * 7


# ----------------------------------------------------------------------- dense
def test_linear_on_rows_and_flattened():
    out, c = run(Linear(3), (5, 8))
    assert out == (5, 3)
    assert c.params == 8 * 3 + 3
    assert c.fwd == 2 * 5 * 8 * 3 + 5 * 3 and c.dgrad == (240,) and c.wgrad == 255
    out, c = run(Linear(4, flatten=True), (2, 2, 3))  # Paleo's InnerProduct flattens
    assert out == (4,) and c.params == 12 * 4 + 4
    assert run(Linear(4, bias=False), (6,))[1].params == 24


def test_matmul_shapes_and_counts():
    out, c = run(MatMul(), (2, 3, 4), (2, 4, 5))
    assert out == (2, 3, 5)
    assert c.fwd == 2 * 2 * 3 * 4 * 5 and c.dgrad == (240, 240) and c.params == 0
    assert MatMul(transpose_b=True).infer([(3, 4), (6, 4)]) == (3, 6)
    assert MatMul().infer([(4,), (4, 7)]) == (7,)  # a batch of vectors times a matrix
    with pytest.raises(SimulatorError, match="inner sizes differ"):
        MatMul().infer([(3, 4), (5, 6)])


def test_attention_parts_hand_worked():
    t, d, h = 4, 8, 2
    out, s = run(AttentionScores(h), (t, 3 * d))
    assert out == (h, t, t)
    assert s.fwd == 2 * t * t * d + h * t * t == 288  # QK^T per head + the scaling
    assert run(AttentionScores(h, causal=True), (t, 3 * d))[1].fwd == 288 + h * t * t
    assert s.dgrad == (4 * t * t * d + h * t * t,)
    out, ctx = run(AttentionContext(h), (h, t, t), (t, 3 * d))
    assert out == (t, d) and ctx.fwd == 2 * t * t * d == 256
    with pytest.raises(SimulatorError, match="not divisible by 3 heads"):
        AttentionScores(3).infer([(4, 24)])


def test_fused_attention_is_the_sum_of_its_parts():
    t, d, h = 4, 8, 2
    out, c = run(MultiHeadAttention(h), (t, d))
    assert out == (t, d)
    assert c.params == 4 * d * d + 4 * d == 288  # nn.MultiheadAttention's count
    qkv = 2 * t * d * 3 * d + t * 3 * d
    proj = 2 * t * d * d + t * d
    assert c.fwd == qkv + 288 + 5 * h * t * t + 256 + proj == 2880
    assert run(MultiHeadAttention(h, bias=False), (t, d))[1].params == 4 * d * d


def test_embeddings():
    out, c = run(Embedding(100, 16), (10,))
    assert out == (10, 16) and c.params == 1600 and c.fwd == 0 and c.wgrad == 160
    out, c = run(PositionEmbedding(12, 16), (10, 16))
    assert out == (10, 16) and c.params == 192 and c.fwd == 160
    with pytest.raises(SimulatorError, match="longer than the 12 learned positions"):
        PositionEmbedding(12, 16).infer([(13, 16)])


# ----------------------------------------------------------------- elementwise
def test_activations_and_arithmetic():
    assert run(Activation("relu"), (4, 5))[1].fwd == 20
    assert run(Activation("gelu"), (4, 5))[1].saved_inputs == (0,)
    assert Activation("tanh").kind == "tanh"
    with pytest.raises(SimulatorError, match="did you mean 'gelu'"):
        Activation("gleu")
    out, c = run(Elementwise("add"), (3, 4), (3, 4))
    assert out == (3, 4) and c.fwd == 12 and c.dgrad == (0, 0)
    out, c = run(Elementwise("add"), (3, 4), (4,))  # broadcast bias: its gradient is a sum
    assert out == (3, 4) and c.dgrad == (0, 12)
    with pytest.raises(SimulatorError, match="different shapes"):
        Elementwise("add", same_shape=True).infer([(3, 4), (4,)])
    with pytest.raises(SimulatorError, match="different shapes"):
        Elementwise("mul").infer([(3, 4), (3, 5)])


def test_dropout_softmax_norms():
    out, c = run(Dropout(0.1), (6,))
    assert c.fwd == 12 and c.saved_private == 6
    with pytest.raises(SimulatorError, match="dropout rate"):
        Dropout(1.5)
    out, c = run(Softmax(), (2, 5))
    assert out == (2, 5) and c.fwd == 50 and c.saves_output
    assert Softmax(flatten=True).infer([(1, 1, 10)]) == (10,)
    out, c = run(BatchNorm(), (4, 4, 8))
    assert c.params == 16 and c.fwd == 7 * 128 and c.saved_private == 16
    out, c = run(LayerNorm(), (5, 8))
    assert c.params == 16 and c.saved_private == 10  # mean and 1/std per row


def test_shape_ops():
    assert Input((3, 4)).infer([]) == (3, 4)
    assert run(Parameter((3, 4)))[1].params == 12
    assert run(Parameter((3, 4), trainable=False))[1].params == 0
    assert Concat().infer([(4, 4, 3), (4, 4, 5)]) == (4, 4, 8)
    assert Concat(axis=0).infer([(2, 6), (3, 6)]) == (5, 6)
    with pytest.raises(SimulatorError, match="other axes differ"):
        Concat().infer([(4, 4, 3), (5, 5, 3)])
    assert Reshape((-1, 4)).infer([(2, 3, 4)]) == (6, 4)
    with pytest.raises(SimulatorError, match="cannot reshape"):
        Reshape((5, -1)).infer([(2, 3, 4)])
    out, c = run(Flatten(), (2, 3, 4))
    assert out == (24,) and c.view and c.read == 0
    assert Transpose((1, 0, 2)).infer([(2, 3, 4)]) == (3, 2, 4)
    assert Select(axis=0, index=0).infer([(7, 16)]) == (16,)
    out, c = run(Slice(axis=-1, start=32, stop=64), (16, 96))
    assert out == (16, 32) and c.view
    with pytest.raises(SimulatorError, match="slice 90:100 is out of range"):
        Slice(axis=-1, start=90, stop=100).infer([(16, 96)])
    assert Mean((0, 1)).infer([(5, 5, 8)]) == (8,)
    # 2 key heads repeated for 8 query heads: a copy of 8 x 64 x 16 elements, whose gradient sums the copies
    out, c = run(Repeat((2, 4, 64, 16)), (2, 1, 64, 16))
    assert out == (2, 4, 64, 16) and (c.read, c.write, c.fwd, c.dgrad) == (2048, 8192, 0, (8192.0,))
    with pytest.raises(SimulatorError, match=r"repeat of \(2, 3\) to \(4, 4\): each axis must be repeated a whole"):
        Repeat((4, 4)).infer([(2, 3)])
    # im2col of a 5 x 6 x 4 image by 3 x 3 windows, stride 2: 2 x 3 windows of 36 values; fold sums them back
    out, c = run(Unfold(kernel=(3, 3), stride=(2, 2)), (5, 6, 4))
    assert out == (36, 4) and (c.read, c.write, c.fwd, c.dgrad) == (120, 144, 0, (144.0,))
    out, f = run(Unfold(kernel=(3, 3), stride=(2, 2), fold=True, size=(5, 6, 4)), (36, 4))
    assert out == (5, 6, 4) and f.fwd == 144
    with pytest.raises(SimulatorError, match=r"fold of \(36, 5\) to an image \(5, 6, 4\): expected columns \(36, 4\)"):
        Unfold(kernel=(3, 3), stride=(2, 2), fold=True, size=(5, 6, 4)).infer([(36, 5)])


def test_lstm_cell_and_layer():
    din, h = 10, 20
    out, c = run(LSTMCell(h, bias_vectors=2), (din,))
    assert out == (h,)
    assert c.params == 4 * h * (din + h) + 8 * h  # PyTorch: b_ih and b_hh
    assert c.fwd == 2 * 4 * h * (din + h) + 8 * h + 18 * h
    # a GRU step (nn.GRUCell): three gate blocks, no cell state
    out, g = run(GRUCell(h), (din,), (h,))
    assert out == (h,) and g.params == 3 * h * (din + h) + 6 * h and g.fwd == 2 * 3 * h * (din + h) + 6 * h + 15 * h
    assert g.dgrad == (2 * 3 * h * din + 30 * h, 2 * 3 * h * h) and g.read == din + h
    with pytest.raises(SimulatorError, match=r"GRU cell state must have shape \(20,\)"):
        GRUCell(h).infer([(din,), (h + 1,)])
    # a plain RNN (nn.RNN, nn.RNNCell): one gate block, the activation at one FLOP, nothing private kept
    out, r = run(RNNCell(h), (din,))
    assert out == (h,) and r.params == h * (din + h) + 2 * h and r.fwd == 2 * h * (din + h) + 2 * h + h
    assert r.saved_private == 0
    out, seq = run(RNN(h, num_layers=2), (7, din))
    assert out == (7, h) and seq.params == r.params + h * (2 * h) + 2 * h
    t = 7
    out, layer = run(LSTM(h, num_layers=2, bidirectional=True), (t, din))
    assert out == (t, 2 * h)
    per_dir_1 = 4 * h * (din + h) + 8 * h
    per_dir_2 = 4 * h * (2 * h + h) + 8 * h
    assert layer.params == 2 * (per_dir_1 + per_dir_2)
    step1 = 2 * 4 * h * (din + h) + 8 * h + 18 * h
    step2 = 2 * 4 * h * (2 * h + h) + 8 * h + 18 * h
    assert layer.fwd == t * 2 * (step1 + step2)
    with pytest.raises(SimulatorError, match="sequence"):
        LSTM(h).infer([(din,)])
    # a decoder's initial state is its encoder's final state (h_n and c_n per layer and direction), a view: an
    # encoder's output sequence given in its place (what was sent to the decoder's device) is refused
    from simulator.ops.recurrent import final_state
    state = final_state(LSTM(h, num_layers=2, bidirectional=True))
    assert state.infer([(t, 2 * h)]) == (4, 2, h) and state.counts([(t, 2 * h)], (4, 2, h)).view
    assert final_state(RNN(h)).infer([(t, h)]) == (1, 1, h)
    assert LSTM(h, num_layers=2, bidirectional=True).infer([(t, din), (4, 2, h)]) == (t, 2 * h)
    with pytest.raises(SimulatorError, match=r"must be a final state \(layers, states, 20\), got \(7, 20\); give"):
        LSTM(h).infer([(t, din), (t, h)])


def test_fourier_transform_hand_worked():
    from simulator.ops import FFT
    op = FFT((0, 1))   # FNet's mixing of 16 tokens of 64 features
    assert op.infer([(16, 64)]) == (16, 64)
    c = op.counts([(16, 64)], (16, 64))
    assert c.fwd == 5 * 1024 * 10 and c.dgrad == (5 * 1024 * 10,)   # 5 N log2(16 * 64)
    assert (c.read, c.write, c.params, c.saved_inputs, c.saves_output) == (1024, 1024, 0, (), False)
    assert FFT((-1,)).counts([(16, 64)], (16, 64)).fwd == 5 * 1024 * 6
    with pytest.raises(SimulatorError, match="fft axis 2 is out of range"):
        FFT((2,)).infer([(16, 64)])


def test_gather_hand_worked():
    from simulator.ops import Gather
    op = Gather((4, 6))   # 6 picks per row of 4 from a (4, 10) tensor
    assert op.infer([(4, 10)]) == (4, 6)
    c = op.counts([(4, 10)], (4, 6))
    assert (c.fwd, c.dgrad, c.read, c.write, c.params) == (0.0, (24.0,), 24, 24, 0)
    with pytest.raises(SimulatorError, match="the index must have the input's rank"):
        Gather((4,)).infer([(4, 10)])
