"""ResNet-50 v1.5 laid out as torchvision builds it (stride on the 3×3 conv), returning the four stage outputs.

HyperIQA (SPEC §3.2) taps layer1..layer4 of this network; layer names follow torchvision's parameter names with
dots replaced by underscores (``layer1.0.conv1`` → ``layer1_0_conv1``), so an official PyTorch state dict maps
one to one. ``width`` and ``blocks`` shrink it for tests and smoke runs (64 and (3, 4, 6, 3) are ResNet-50).
Input: float32 NHWC images already normalised with the ImageNet mean and std.
"""

from __future__ import annotations

import keras

BN_EPSILON = 1e-5  # torch.nn.BatchNorm2d default
BN_MOMENTUM = 0.9  # torch momentum 0.1
RESNET50_BLOCKS = (3, 4, 6, 3)
EXPANSION = 4


def _conv(x, filters: int, kernel: int, stride: int, name: str):
    """Conv without bias, padded as torch pads (kernel // 2 on every side)."""
    if kernel > 1:
        x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
    return keras.layers.Conv2D(filters, kernel, strides=stride, use_bias=False, name=name,
                               kernel_initializer="he_normal")(x)


def _bn(x, name: str):
    return keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)(x)


def bottleneck(x, planes: int, stride: int, downsample: bool, name: str):
    """torchvision Bottleneck: 1×1 → 3×3 (stride here: v1.5) → 1×1 ×4, plus the (projected) shortcut."""
    shortcut = x
    y = keras.layers.ReLU(name=f"{name}_relu1")(_bn(_conv(x, planes, 1, 1, f"{name}_conv1"), f"{name}_bn1"))
    y = keras.layers.ReLU(name=f"{name}_relu2")(_bn(_conv(y, planes, 3, stride, f"{name}_conv2"), f"{name}_bn2"))
    y = _bn(_conv(y, planes * EXPANSION, 1, 1, f"{name}_conv3"), f"{name}_bn3")
    if downsample:
        shortcut = _bn(_conv(x, planes * EXPANSION, 1, stride, f"{name}_downsample_0"), f"{name}_downsample_1")
    return keras.layers.ReLU(name=f"{name}_out")(keras.layers.Add(name=f"{name}_add")([y, shortcut]))


def resnet50_torchvision(image_size: int = 224, width: int = 64, blocks: tuple[int, ...] = RESNET50_BLOCKS,
                         name: str = "res") -> keras.Model:
    """normalised images [B, S, S, 3] → [layer1, layer2, layer3, layer4] feature maps (S/4 … S/32)."""
    images = keras.Input((image_size, image_size, 3), name="normalised_images")
    x = keras.layers.ReLU(name="relu")(_bn(_conv(images, width, 7, 2, "conv1"), "bn1"))
    x = keras.layers.ZeroPadding2D(1, name="maxpool_pad")(x)  # after a ReLU, zero padding equals torch's −inf
    x = keras.layers.MaxPooling2D(3, strides=2, name="maxpool")(x)
    taps = []
    channels = width
    for stage, (count, stride) in enumerate(zip(blocks, (1, 2, 2, 2)), start=1):
        planes = width * 2 ** (stage - 1)
        for i in range(count):
            first = i == 0
            downsample = first and (stride != 1 or channels != planes * EXPANSION)
            x = bottleneck(x, planes, stride if first else 1, downsample, f"layer{stage}_{i}")
            channels = planes * EXPANSION
        taps.append(x)
    return keras.Model(images, taps, name=name)
