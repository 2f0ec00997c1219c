"""CLIP's ModifiedResNet (openai/CLIP model.py) as Keras layers: 3-conv stem, anti-aliased bottlenecks, attention pool.

Differences from torchvision's ResNet: a stem of three 3×3 convolutions (the first strided) and a 2×2 average
pool instead of one 7×7 convolution and a max pool; strided bottlenecks downsample with a 2×2 average pool
after the 3×3 convolution (and before the 1×1 in the shortcut); the head is an AttentionPool2d. Layer names
follow the PyTorch parameter names (``layer1.0.conv1`` → ``layer1_0_conv1``) so checkpoints map one to one.
Inputs are NHWC images already normalised with CLIP's mean and std
(:class:`tfagiqa.layers.normalisation.CLIPNormalize`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras

from tfagiqa.layers.attention_pool import AttentionPool2d

BN_EPSILON = 1e-5  # PyTorch's BatchNorm2d default
BN_MOMENTUM = 0.9  # PyTorch momentum 0.1


@dataclass(frozen=True)
class CLIPResNetConfig:
    """Widths, depths and resolution; RN50 = layers (3, 4, 6, 3), width 64, output 1024, 224 px."""

    layers: tuple[int, ...] = (3, 4, 6, 3)
    width: int = 64
    output_dim: int = 1024
    image_size: int = 224
    heads: int | None = None  # default width·32/64, as in CLIP's build_model

    @property
    def feature_dim(self) -> int:
        """Channels of the last stage (2048 for RN50)."""
        return self.width * 32

    @property
    def num_heads(self) -> int:
        return self.heads or self.width * 32 // 64

    @property
    def grid(self) -> int:
        """Side of the final feature map (image_size / 32)."""
        return self.image_size // 32

    def to_dict(self) -> dict:
        return {**asdict(self), "layers": list(self.layers)}


RN50 = CLIPResNetConfig()


def tiny_config(image_size: int = 64, width: int = 8, layers=(1, 1, 1, 1), output_dim: int = 32) -> CLIPResNetConfig:
    """A few-thousand-parameter configuration with RN50's structure, for tests and smoke runs."""
    return CLIPResNetConfig(tuple(layers), width, output_dim, image_size)


def _conv_bn(x, filters: int, kernel: int, name: str, bn_name: str, relu: bool = True, zero_gamma: bool = False):
    """Conv (no bias, PyTorch padding k//2) → BatchNorm (→ ReLU); CLIP initialises each block's last BN scale to 0."""
    if kernel > 1:
        x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
    x = keras.layers.Conv2D(filters, kernel, use_bias=False, name=name)(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=bn_name,
                                        gamma_initializer="zeros" if zero_gamma else "ones")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x


def stem(x, width: int):
    """conv3×3(3→w/2, s2) → conv3×3(w/2→w/2) → conv3×3(w/2→w), each BN-ReLU, then a 2×2 average pool."""
    x = keras.layers.ZeroPadding2D(1, name="conv1_pad")(x)
    x = keras.layers.Conv2D(width // 2, 3, strides=2, use_bias=False, name="conv1")(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name="bn1")(x)
    x = keras.layers.ReLU(name="conv1_relu")(x)
    x = _conv_bn(x, width // 2, 3, "conv2", "bn2")
    x = _conv_bn(x, width, 3, "conv3", "bn3")
    return keras.layers.AveragePooling2D(2, name="avgpool")(x)


def bottleneck(x, planes: int, stride: int, name: str):
    """1×1 → 3×3 → [avgpool(stride)] → 1×1 (×4), plus the (avgpool → 1×1 → BN) shortcut when shapes change."""
    out = _conv_bn(x, planes, 1, f"{name}_conv1", f"{name}_bn1")
    out = _conv_bn(out, planes, 3, f"{name}_conv2", f"{name}_bn2")
    if stride > 1:
        out = keras.layers.AveragePooling2D(stride, name=f"{name}_avgpool")(out)
    out = _conv_bn(out, planes * 4, 1, f"{name}_conv3", f"{name}_bn3", relu=False, zero_gamma=True)
    identity = x
    if stride > 1 or x.shape[-1] != planes * 4:
        if stride > 1:
            identity = keras.layers.AveragePooling2D(stride, name=f"{name}_downsample_avgpool")(identity)
        identity = _conv_bn(identity, planes * 4, 1, f"{name}_downsample_0", f"{name}_downsample_1", relu=False)
    return keras.layers.ReLU(name=f"{name}_out")(keras.layers.Add(name=f"{name}_add")([out, identity]))


def clip_resnet_trunk(config: CLIPResNetConfig = RN50, image_size: int | None = None,
                      name: str = "clip_resnet_trunk") -> keras.Model:
    """Normalised images [N, S, S, 3] → the last stage's map [N, S/32, S/32, 32·width] (no attention pool)."""
    size = image_size or config.image_size
    images = keras.Input((size, size, 3), name="images")
    x = stem(images, config.width)
    for stage, (blocks, planes_mult) in enumerate(zip(config.layers, (1, 2, 4, 8)), start=1):
        for block in range(blocks):
            stride = 1 if stage == 1 or block > 0 else 2
            x = bottleneck(x, config.width * planes_mult, stride, f"layer{stage}_{block}")
    return keras.Model(images, x, name=name)


def clip_image_encoder(config: CLIPResNetConfig = RN50, image_size: int | None = None,
                       name: str = "clip_image_encoder") -> keras.Model:
    """Normalised images → the image embedding [N, output_dim], as CLIP's ``encode_image`` (``visual``)."""
    trunk = clip_resnet_trunk(config, image_size)
    pool = AttentionPool2d(config.grid, config.num_heads, config.output_dim, name="attnpool")
    return keras.Model(trunk.input, pool(trunk.output), name=name)
