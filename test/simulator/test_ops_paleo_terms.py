"""Paleo's per-layer work items, checked against hand-worked Paleo arithmetic."""
from __future__ import annotations

import pytest

from simulator.graph import Layer, Network, SimulatorError
from simulator.ops import Concat, Conv2d, Dropout, Input, Linear, Pool2d, relu
from simulator.paleo_terms import PaleoWork, paleo_work


def conv_net(padding="SAME", first_after_input: bool = False) -> Network:
    layers = [Layer("data", Input((8, 8, 2)))]
    parent = "data"
    if not first_after_input:
        layers.append(Layer("pre", relu(), ("data",)))
        parent = "pre"
    layers.append(Layer("conv", Conv2d(4, 3, 2, padding), (parent,)))
    return Network.build("t", layers)


def test_conv_forward_gemm_with_paleo_padding():
    conv = conv_net().layer("conv")
    # SAME 3x3 stride 2 on 8x8 -> 4x4; Paleo pad = ((4-1)*2 + 3 - 8) // 2 = 0
    [work] = paleo_work(conv, 2, "forward")
    assert work.flops == 2 * 3 * 3 * 2 * 4 * 4 * 4 * 2 == 4608
    assert work.mem_bytes == (2 * 8 * 8 * 2 * 4, 3 * 3 * 2 * 4 * 4, 2 * 4 * 4 * 4 * 4)


def test_conv_data_gradient_over_the_dilated_output_gradient():
    conv = conv_net().layer("conv")
    # expanded (4-1)*2+1 = 7; pads before 2, after 1 differ by one -> 8; pad min = 1;
    # holes = (64 - 16) / 64 = 0.75; dummy conv: [2,8,8,4] * [3,3,4,2], pad 1 -> [2,8,8,2]
    [work] = paleo_work(conv, 2, "data_grad")
    assert work.flops == 2 * 3 * 3 * 4 * 8 * 8 * 2 * 2 + 2 * (2 * 8 * 8 * 4) * 0.25 == 18688
    assert work.mem_bytes == (2 * 10 * 10 * 4 * 4, 3 * 3 * 4 * 2 * 4, 2 * 8 * 8 * 2 * 4)


def test_conv_weight_gradient():
    conv = conv_net().layer("conv")
    # dummy: input [Cin=2, 8, 8, N=2], filter [8, 8, 2, 4] with holes 0.75, pad 1 -> 3x3
    [work] = paleo_work(conv, 2, "weight_grad")
    assert work.flops == 2 * 8 * 8 * 2 * 3 * 3 * 4 * 2 * 0.25 == 4608
    assert work.mem_bytes == (2 * 10 * 10 * 2 * 4, 8 * 8 * 2 * 4 * 0.25 * 4, 2 * 3 * 3 * 4 * 4)


def test_conv_after_the_input_has_no_data_gradient():
    conv = conv_net(first_after_input=True).layer("conv")
    assert paleo_work(conv, 2, "data_grad") == []
    assert len(paleo_work(conv, 2, "weight_grad")) == 1


def test_valid_conv_filter_gradient_is_valid():
    conv = conv_net("VALID").layer("conv")  # 8x8 -> ceil(6/2) = 3
    [fwd] = paleo_work(conv, 1, "forward")
    assert fwd.mem_bytes[0] == 8 * 8 * 2 * 4  # VALID: no padding
    # expanded (3-1)*2+1 = 5; before 2, after 8+2-5-2 = 3 -> 6; holes (36-9)/36
    [wg] = paleo_work(conv, 1, "weight_grad")
    assert wg.flops == pytest.approx(2 * 6 * 6 * 1 * 3 * 3 * 4 * 2 * (1 - 27 / 36))


def test_inner_product_three_gemms():
    net = Network.build("t", [Layer("data", Input((2, 2, 3))),
                              Layer("fc", Linear(5, flatten=True), ("data",))])
    fc = net.layer("fc")
    x, w, y = 4 * 12 * 4, 12 * 5 * 4, 4 * 5 * 4  # bytes of [N, D], [D, K], [N, K]
    assert paleo_work(fc, 4, "forward") == [PaleoWork(480.0, (x, w, y))]
    assert paleo_work(fc, 4, "data_grad") == [PaleoWork(480.0, (y, w, x))]
    assert paleo_work(fc, 4, "weight_grad") == [PaleoWork(480.0, (x, y, w))]


def test_pool_dropout_and_free_layers():
    net = Network.build("t", [
        Layer("data", Input((8, 8, 3))),
        Layer("pool", Pool2d("max", 2), ("data",)),
        Layer("drop", Dropout(0.5), ("pool",)),
        Layer("cat", Concat(), ("drop", "drop")),
        Layer("act", relu(), ("cat",)),
    ])
    [p] = paleo_work(net.layer("pool"), 2, "forward")
    assert p == PaleoWork(2 * 2 * 2 * 3 * 4 * 4 * 2, (2 * 8 * 8 * 3 * 4, 2 * 4 * 4 * 3 * 4))
    assert paleo_work(net.layer("pool"), 2, "data_grad") == [p]  # Paleo: the same again
    assert paleo_work(net.layer("pool"), 2, "weight_grad") == []
    [d] = paleo_work(net.layer("drop"), 2, "forward")
    assert d.flops == 2 * 48
    for name in ("data", "cat", "act"):
        for phase in ("forward", "data_grad", "weight_grad"):
            assert paleo_work(net.layer(name), 2, phase) == []


def test_bad_phase_and_batch():
    conv = conv_net().layer("conv")
    with pytest.raises(SimulatorError, match="unknown phase 'backward'"):
        paleo_work(conv, 2, "backward")
    with pytest.raises(SimulatorError, match="batch size"):
        paleo_work(conv, 0, "forward")


def test_volumes_are_gemms_and_poolings_of_their_windows():
    from simulator.ops import AdaptiveAvgPool3d, Conv3d, Pool3d
    net = Network.build("t", [
        Layer("data", Input((2, 4, 6, 6))),
        Layer("conv", Conv3d(4, 3, 1, 1), ("data",)),
        Layer("pool", Pool3d("max", (1, 2, 2)), ("conv",)),
        Layer("head", AdaptiveAvgPool3d(1), ("pool",)),
    ])
    conv = net.layer("conv")
    assert conv.out_shape == (4, 4, 6, 6) and conv.params == 3 * 3 * 3 * 2 * 4 + 4
    [work] = paleo_work(conv, 2, "forward")
    macs = 27 * 2 * 4 * 4 * 6 * 6
    assert work.flops == 2 * macs * 2 and conv.fwd_flops == 2 * macs + 4 * 4 * 6 * 6
    assert work.mem_bytes == (2 * 2 * 4 * 6 * 6 * 4, 27 * 2 * 4 * 4, 2 * 4 * 4 * 6 * 6 * 4)
    [pool] = paleo_work(net.layer("pool"), 2, "forward")
    assert net.layer("pool").out_shape == (4, 4, 3, 3) and pool.flops == 2 * 4 * 4 * 4 * 3 * 3 * 2
    assert net.layer("head").out_shape == (4, 1, 1, 1) and net.layer("head").fwd_flops == 4 * 4 * 3 * 3
    assert paleo_work(net.layer("head"), 2, "weight_grad") == []


def test_a_triangular_solve_is_half_the_product_it_stands_for():
    from simulator.ops import MatMul, TriangularSolve
    layers = [Layer("a", Input((3, 4, 4))), Layer("b", Input((3, 4, 5)))]
    solve = Network.build("t", layers + [Layer("solve", TriangularSolve(), ("a", "b"))]).layer("solve")
    product = Network.build("t", layers + [Layer("product", MatMul(), ("a", "b"))]).layer("product")
    for phase in ("forward", "data_grad"):
        ours, gemm = paleo_work(solve, 2, phase), paleo_work(product, 2, phase)
        assert [w.flops for w in ours] == [w.flops / 2 for w in gemm] and \
            [w.mem_bytes for w in ours] == [w.mem_bytes for w in gemm]
    assert paleo_work(solve, 2, "forward")[0].flops == 2 * 3 * 4 * 4 * 5 == solve.fwd_flops * 2
