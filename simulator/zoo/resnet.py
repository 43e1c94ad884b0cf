"""ResNets (He et al. 2016) as torchvision defines them: stride on the 3x3
convolution of a bottleneck ("v1.5"), convolutions without bias, batch norm,
a 1x1 projection (with batch norm) on the first block of each stage.

Published figures (torchvision, 224x224, 1000 classes): parameters
ResNet-18 11,689,512; ResNet-34 21,797,672; ResNet-50 25,557,032;
ResNet-101 44,549,160; ResNet-152 60,192,808. Multiply-adds: 1.81 G, 3.66 G,
4.09 G, 7.80 G, 11.51 G. Natural blocks: the stem (conv1, bn, relu, max
pool), every residual block (``layer{stage}.{i}``), the head (pool, fc).
"""
from __future__ import annotations

from simulator.graph import Network
from simulator.ops import AdaptiveAvgPool2d, Flatten, Input, Linear, Pool2d, add, relu
from simulator.zoo._builder import NetBuilder

# depth: (residual blocks per stage, bottleneck?)
DEPTHS = {
    18: ([2, 2, 2, 2], False),
    34: ([3, 4, 6, 3], False),
    50: ([3, 4, 6, 3], True),
    101: ([3, 4, 23, 3], True),
    152: ([3, 8, 36, 3], True),
}
PUBLISHED = {  # parameters, multiply-adds at 224x224
    18: (11_689_512, 1.81e9),
    34: (21_797_672, 3.66e9),
    50: (25_557_032, 4.09e9),
    101: (44_549_160, 7.80e9),
    152: (60_192_808, 11.51e9),
}


def resnet(batch_size: int, depth: int = 50, image_size: int = 224,
           num_classes: int = 1000) -> Network:
    from simulator.graph import SimulatorError
    if depth not in DEPTHS:
        raise SimulatorError(f"resnet depth must be one of {sorted(DEPTHS)}, not {depth!r}")
    blocks, bottleneck = DEPTHS[depth]
    expansion = 4 if bottleneck else 1
    b = NetBuilder(f"resnet{depth}")
    x = b.add("data", Input((image_size, image_size, 3)))
    with b.block("stem", prefix=False):
        x = b.conv_bn_relu("conv1", x, 64, 7, 2, 3)
        x = b.add("maxpool", Pool2d("max", 3, 2, 1), x)
    channels = 64
    for stage, (count, width) in enumerate(zip(blocks, [64, 128, 256, 512]), start=1):
        for i in range(count):
            stride = 2 if stage > 1 and i == 0 else 1
            with b.block(f"layer{stage}.{i}"):
                if bottleneck:
                    y = b.conv_bn_relu("conv1", x, width, 1)
                    y = b.conv_bn_relu("conv2", y, width, 3, stride, 1)
                    y = b.conv_bn_relu("conv3", y, width * expansion, 1, relu_after=False)
                else:
                    y = b.conv_bn_relu("conv1", x, width, 3, stride, 1)
                    y = b.conv_bn_relu("conv2", y, width, 3, 1, 1, relu_after=False)
                if stride != 1 or channels != width * expansion:
                    x = b.conv_bn_relu("downsample", x, width * expansion, 1, stride,
                                       relu_after=False)
                y = b.add("add", add(same_shape=True), x, y)
                x = b.add("relu", relu(), y)
            channels = width * expansion
    with b.block("head", prefix=False):
        x = b.add("avgpool", AdaptiveAvgPool2d((1, 1)), x)
        x = b.add("flatten", Flatten(), x)
        b.add("fc", Linear(num_classes), x)
    params, macs = PUBLISHED[depth]
    return b.build(batch_size, published_params=params, published_macs=macs)
