"""AlexNet and VGG-16 as torchvision defines them (Krizhevsky 2014 "one weird
trick" AlexNet; Simonyan & Zisserman 2014 configuration D).

Published figures (torchvision, 224x224, 1000 classes): AlexNet 61,100,840
parameters, 0.71 G multiply-adds; VGG-16 138,357,544 parameters, 15.47 G.
Natural blocks: one per convolution (with its ReLU and following pooling) and
one per fully connected layer (with its ReLU and dropout).
"""
from __future__ import annotations

from simulator.graph import Network
from simulator.ops import (AdaptiveAvgPool2d, Conv2d, Dropout, Flatten, Input, Linear, Pool2d,
                           relu)
from simulator.zoo._builder import NetBuilder


def alexnet(batch_size: int, image_size: int = 224, num_classes: int = 1000) -> Network:
    b = NetBuilder("alexnet")
    x = b.add("data", Input((image_size, image_size, 3)))
    convs = [  # name, out channels, kernel, stride, padding, max pool after
        ("conv1", 64, 11, 4, 2, True),
        ("conv2", 192, 5, 1, 2, True),
        ("conv3", 384, 3, 1, 1, False),
        ("conv4", 256, 3, 1, 1, False),
        ("conv5", 256, 3, 1, 1, True),
    ]
    for name, out, k, s, p, pool in convs:
        with b.block(name, prefix=False):
            x = b.add(name, Conv2d(out, k, s, p), x)
            x = b.add(name + "_relu", relu(), x)
            if pool:
                x = b.add(name + "_pool", Pool2d("max", 3, 2), x)
    with b.block("fc6", prefix=False):
        x = b.add("avgpool", AdaptiveAvgPool2d((6, 6)), x)
        x = b.add("flatten", Flatten(), x)
        x = b.add("fc6_dropout", Dropout(0.5), x)
        x = b.add("fc6", Linear(4096), x)
        x = b.add("fc6_relu", relu(), x)
    with b.block("fc7", prefix=False):
        x = b.add("fc7_dropout", Dropout(0.5), x)
        x = b.add("fc7", Linear(4096), x)
        x = b.add("fc7_relu", relu(), x)
    with b.block("fc8", prefix=False):
        b.add("fc8", Linear(num_classes), x)
    return b.build(batch_size, published_params=61_100_840, published_macs=0.71e9)


VGG16_CONFIG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                512, 512, 512, "M"]


def vgg16(batch_size: int, image_size: int = 224, num_classes: int = 1000) -> Network:
    b = NetBuilder("vgg16")
    x = b.add("data", Input((image_size, image_size, 3)))
    stage, index = 1, 1
    for i, item in enumerate(VGG16_CONFIG):
        if item == "M":
            continue
        name = f"conv{stage}_{index}"
        with b.block(name, prefix=False):
            x = b.add(name, Conv2d(item, 3, 1, 1), x)
            x = b.add(name + "_relu", relu(), x)
            if i + 1 < len(VGG16_CONFIG) and VGG16_CONFIG[i + 1] == "M":
                x = b.add(f"pool{stage}", Pool2d("max", 2, 2), x)
                stage, index = stage + 1, 1
            else:
                index += 1
    with b.block("fc6", prefix=False):
        x = b.add("avgpool", AdaptiveAvgPool2d((7, 7)), x)
        x = b.add("flatten", Flatten(), x)
        x = b.add("fc6", Linear(4096), x)
        x = b.add("fc6_relu", relu(), x)
        x = b.add("fc6_dropout", Dropout(0.5), x)
    with b.block("fc7", prefix=False):
        x = b.add("fc7", Linear(4096), x)
        x = b.add("fc7_relu", relu(), x)
        x = b.add("fc7_dropout", Dropout(0.5), x)
    with b.block("fc8", prefix=False):
        b.add("fc8", Linear(num_classes), x)
    return b.build(batch_size, published_params=138_357_544, published_macs=15.47e9)
