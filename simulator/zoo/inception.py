"""Inception-V3 (Szegedy et al. 2016) as torchvision defines it, 299x299.

Every convolution is torchvision's BasicConv2d: convolution without bias,
batch norm, ReLU. With the auxiliary classifier (`aux_logits=True`, the
torchvision default, a side branch on Mixed_6e used in training) the model has
torchvision's published 27,161,264 parameters; without it 23,834,568.
Published multiply-adds: 5.71 G (torchvision). Natural blocks: the stem, each
Mixed_* block, AuxLogits, the head.
"""
from __future__ import annotations

from simulator.graph import Network
from simulator.ops import (AdaptiveAvgPool2d, Concat, Dropout, Flatten, Input, Linear, Pool2d)
from simulator.zoo._builder import NetBuilder


def _conv(b: NetBuilder, name: str, x: str, out: int, kernel, stride=1, padding=0) -> str:
    return b.conv_bn_relu(name, x, out, kernel, stride, padding)


def _inception_a(b: NetBuilder, x: str, pool_features: int) -> str:
    b1 = _conv(b, "branch1x1", x, 64, 1)
    b5 = _conv(b, "branch5x5_1", x, 48, 1)
    b5 = _conv(b, "branch5x5_2", b5, 64, 5, padding=2)
    b3 = _conv(b, "branch3x3dbl_1", x, 64, 1)
    b3 = _conv(b, "branch3x3dbl_2", b3, 96, 3, padding=1)
    b3 = _conv(b, "branch3x3dbl_3", b3, 96, 3, padding=1)
    bp = b.add("branch_pool_avg", Pool2d("avg", 3, 1, 1), x)
    bp = _conv(b, "branch_pool", bp, pool_features, 1)
    return b.add("concat", Concat(), b1, b5, b3, bp)


def _inception_b(b: NetBuilder, x: str) -> str:
    b3 = _conv(b, "branch3x3", x, 384, 3, stride=2)
    bd = _conv(b, "branch3x3dbl_1", x, 64, 1)
    bd = _conv(b, "branch3x3dbl_2", bd, 96, 3, padding=1)
    bd = _conv(b, "branch3x3dbl_3", bd, 96, 3, stride=2)
    bp = b.add("branch_pool", Pool2d("max", 3, 2), x)
    return b.add("concat", Concat(), b3, bd, bp)


def _inception_c(b: NetBuilder, x: str, c7: int) -> str:
    b1 = _conv(b, "branch1x1", x, 192, 1)
    b7 = _conv(b, "branch7x7_1", x, c7, 1)
    b7 = _conv(b, "branch7x7_2", b7, c7, (1, 7), padding=(0, 3))
    b7 = _conv(b, "branch7x7_3", b7, 192, (7, 1), padding=(3, 0))
    bd = _conv(b, "branch7x7dbl_1", x, c7, 1)
    bd = _conv(b, "branch7x7dbl_2", bd, c7, (7, 1), padding=(3, 0))
    bd = _conv(b, "branch7x7dbl_3", bd, c7, (1, 7), padding=(0, 3))
    bd = _conv(b, "branch7x7dbl_4", bd, c7, (7, 1), padding=(3, 0))
    bd = _conv(b, "branch7x7dbl_5", bd, 192, (1, 7), padding=(0, 3))
    bp = b.add("branch_pool_avg", Pool2d("avg", 3, 1, 1), x)
    bp = _conv(b, "branch_pool", bp, 192, 1)
    return b.add("concat", Concat(), b1, b7, bd, bp)


def _inception_d(b: NetBuilder, x: str) -> str:
    b3 = _conv(b, "branch3x3_1", x, 192, 1)
    b3 = _conv(b, "branch3x3_2", b3, 320, 3, stride=2)
    b7 = _conv(b, "branch7x7x3_1", x, 192, 1)
    b7 = _conv(b, "branch7x7x3_2", b7, 192, (1, 7), padding=(0, 3))
    b7 = _conv(b, "branch7x7x3_3", b7, 192, (7, 1), padding=(3, 0))
    b7 = _conv(b, "branch7x7x3_4", b7, 192, 3, stride=2)
    bp = b.add("branch_pool", Pool2d("max", 3, 2), x)
    return b.add("concat", Concat(), b3, b7, bp)


def _inception_e(b: NetBuilder, x: str) -> str:
    b1 = _conv(b, "branch1x1", x, 320, 1)
    b3 = _conv(b, "branch3x3_1", x, 384, 1)
    b3a = _conv(b, "branch3x3_2a", b3, 384, (1, 3), padding=(0, 1))
    b3b = _conv(b, "branch3x3_2b", b3, 384, (3, 1), padding=(1, 0))
    b3 = b.add("branch3x3_concat", Concat(), b3a, b3b)
    bd = _conv(b, "branch3x3dbl_1", x, 448, 1)
    bd = _conv(b, "branch3x3dbl_2", bd, 384, 3, padding=1)
    bda = _conv(b, "branch3x3dbl_3a", bd, 384, (1, 3), padding=(0, 1))
    bdb = _conv(b, "branch3x3dbl_3b", bd, 384, (3, 1), padding=(1, 0))
    bd = b.add("branch3x3dbl_concat", Concat(), bda, bdb)
    bp = b.add("branch_pool_avg", Pool2d("avg", 3, 1, 1), x)
    bp = _conv(b, "branch_pool", bp, 192, 1)
    return b.add("concat", Concat(), b1, b3, bd, bp)


def inception_v3(batch_size: int, image_size: int = 299, num_classes: int = 1000,
                 aux_logits: bool = True) -> Network:
    b = NetBuilder("inception_v3")
    x = b.add("data", Input((image_size, image_size, 3)))
    with b.block("stem", prefix=False):
        x = _conv(b, "Conv2d_1a_3x3", x, 32, 3, stride=2)
        x = _conv(b, "Conv2d_2a_3x3", x, 32, 3)
        x = _conv(b, "Conv2d_2b_3x3", x, 64, 3, padding=1)
        x = b.add("maxpool1", Pool2d("max", 3, 2), x)
        x = _conv(b, "Conv2d_3b_1x1", x, 80, 1)
        x = _conv(b, "Conv2d_4a_3x3", x, 192, 3)
        x = b.add("maxpool2", Pool2d("max", 3, 2), x)
    for name, make in [
        ("Mixed_5b", lambda x: _inception_a(b, x, 32)),
        ("Mixed_5c", lambda x: _inception_a(b, x, 64)),
        ("Mixed_5d", lambda x: _inception_a(b, x, 64)),
        ("Mixed_6a", lambda x: _inception_b(b, x)),
        ("Mixed_6b", lambda x: _inception_c(b, x, 128)),
        ("Mixed_6c", lambda x: _inception_c(b, x, 160)),
        ("Mixed_6d", lambda x: _inception_c(b, x, 160)),
        ("Mixed_6e", lambda x: _inception_c(b, x, 192)),
        ("Mixed_7a", lambda x: _inception_d(b, x)),
        ("Mixed_7b", lambda x: _inception_e(b, x)),
        ("Mixed_7c", lambda x: _inception_e(b, x)),
    ]:
        with b.block(name):
            x = make(x)
        if name == "Mixed_6e" and aux_logits:
            with b.block("AuxLogits"):
                a = b.add("avgpool", Pool2d("avg", 5, 3), x)
                a = _conv(b, "conv0", a, 128, 1)
                a = _conv(b, "conv1", a, 768, 5)
                a = b.add("adaptive_pool", AdaptiveAvgPool2d((1, 1)), a)
                a = b.add("flatten", Flatten(), a)
                b.add("fc", Linear(num_classes), a)
    with b.block("head", prefix=False):
        x = b.add("avgpool", AdaptiveAvgPool2d((1, 1)), x)
        x = b.add("dropout", Dropout(0.5), x)
        x = b.add("flatten", Flatten(), x)
        b.add("fc", Linear(num_classes), x)
    return b.build(batch_size, published_params=27_161_264 if aux_logits else 23_834_568,
                   published_macs=5.71e9)
