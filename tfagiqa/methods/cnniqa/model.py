"""CNNIQA (Kang, Ye, Li and Doermann, CVPR 2014), top to bottom as the paper's Section 3.

An image is turned to grey, cut into 32×32 patches (non-overlapping at test, sampled at training), each patch is
locally normalised, Î = (I − μ) / (σ + C) with μ, σ over a small window, and scored by one network: a 7×7
convolution layer of 50 linear kernels, max and min pooling of every feature map, two fully connected ReLU
layers of 800 units with dropout, one linear output. The image score is the mean of its patch scores; training
regresses every patch onto its image's score with the L1 loss.

Where the paper is silent the package follows the reference implementation (lidq92/CNNIQA): grey levels in
[0, 1], a 3×3 window with mirrored borders and C = 1, normalisation per patch, dropout after the first FC layer.
pyiqa's variant (chaofengc/IQA-PyTorch, the ``CNNIQA_koniq10k-*.pth`` checkpoints) feeds RGB in [0, 1] without
normalisation and scores the whole image as one patch: ``PYIQA_RGB`` below.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import keras
import tensorflow as tf
from keras import ops

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, the weights of PIL's convert("L") used by the reference


@dataclass(frozen=True)
class CNNIQAConfig:
    """Sizes and preprocessing of one CNNIQA network (the defaults are the paper's)."""

    patch_size: int | None = 32  # None: the whole image is the one patch (pyiqa's variant)
    colour: str = "grey"  # "grey": luma in [0, 1]; "rgb": the three channels in [0, 1]
    local_norm: bool = True
    norm_window: int = 3
    norm_constant: float = 1.0
    kernels: int = 50
    kernel_size: int = 7
    hidden: tuple[int, int] = (800, 800)
    dropout: float = 0.5
    train_patches: int = 32  # patches sampled per image and training step

    def __post_init__(self):
        if self.colour not in ("grey", "rgb"):
            raise ValueError(f"colour must be 'grey' or 'rgb', got {self.colour!r}")
        if self.norm_window % 2 != 1:
            raise ValueError(f"the normalisation window must be odd, got {self.norm_window}")
        if self.patch_size is not None and self.patch_size <= self.kernel_size:
            raise ValueError(f"{self.patch_size} px patches cannot hold a {self.kernel_size} px kernel")

    @property
    def channels(self) -> int:
        return 1 if self.colour == "grey" else 3

    def to_dict(self) -> dict:
        return {**asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, values: dict) -> "CNNIQAConfig":
        return cls(**{**values, "hidden": tuple(values["hidden"])})


PAPER = CNNIQAConfig()
PYIQA_RGB = CNNIQAConfig(patch_size=None, colour="rgb", local_norm=False)
TINY = replace(PAPER, kernels=8, hidden=(16, 16), train_patches=4)


# --- 1. Grey image --------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="tfagiqa")
class PatchColour(keras.layers.Layer):
    """[0, 255] RGB → the network's input channels in [0, 1]: grey (BT.601 luma, unrounded) or RGB."""

    def __init__(self, colour: str = "grey", **kwargs):
        super().__init__(**kwargs)
        self.colour = colour

    def call(self, images):
        x = ops.cast(images, "float32") / 255.0
        if self.colour == "grey":
            x = ops.sum(x * ops.convert_to_tensor(LUMA, dtype=x.dtype), axis=-1, keepdims=True)
        return x

    def get_config(self):
        return {**super().get_config(), "colour": self.colour}


# --- 2. Patches -----------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="tfagiqa")
class PatchSampler(keras.layers.Layer):
    """[B, H, W, C] → [B, n, P, P, C]. Inference: the non-overlapping P×P grid, row-major from the top-left
    corner (a border narrower than P is left out). Training: ``train_patches`` patches at uniformly random
    positions. ``patch_size=None``: the whole image is the single patch in both modes."""

    def __init__(self, patch_size: int | None = 32, train_patches: int = 32, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = patch_size
        self.train_patches = int(train_patches)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if self.patch_size is None:
            return ops.expand_dims(images, 1)
        return self._random(images) if training else self._grid(images)

    def _grid(self, images):
        size, channels = self.patch_size, images.shape[-1]
        shape = ops.shape(images)
        rows, cols = shape[1] // size, shape[2] // size
        x = images[:, : rows * size, : cols * size, :]
        x = ops.reshape(x, (-1, rows, size, cols, size, channels))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, rows * cols, size, size, channels))

    def _random(self, images):
        size = self.patch_size
        shape = ops.shape(images)
        corners = keras.random.uniform((shape[0], self.train_patches, 2), seed=self.seed_generator)
        room = ops.cast(ops.stack([shape[1], shape[2]]) - size + 1, "float32")
        corners = ops.cast(ops.floor(corners * room), "int32")
        steps = ops.arange(size, dtype="int32")
        rows = corners[..., 0:1] + steps  # [B, k, P]
        cols = corners[..., 1:2] + steps
        strips = tf.gather(images, rows, axis=1, batch_dims=1)  # [B, k, P, W, C]
        return tf.gather(strips, cols, axis=3, batch_dims=2)  # [B, k, P, P, C]

    def compute_output_shape(self, input_shape):
        if self.patch_size is None:
            return (input_shape[0], 1, *input_shape[1:])
        return (input_shape[0], None, self.patch_size, self.patch_size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "patch_size": self.patch_size, "train_patches": self.train_patches,
                "seed": self.seed}


@keras.saving.register_keras_serializable(package="tfagiqa")
class FoldPatches(keras.layers.Layer):
    """[B, n, P, P, C] → [B·n, P, P, C], so that one network scores every patch of every image."""

    def call(self, patches):
        shape = ops.shape(patches)
        return ops.reshape(patches, (-1, shape[2], shape[3], patches.shape[-1]))

    def compute_output_shape(self, input_shape):
        return (None, *input_shape[2:])


@keras.saving.register_keras_serializable(package="tfagiqa")
class UnfoldScores(keras.layers.Layer):
    """(scores [B·n], patches [B, n, …]) → scores [B, n]."""

    def call(self, inputs):
        scores, patches = inputs
        return ops.reshape(scores, (ops.shape(patches)[0], -1))

    def compute_output_shape(self, input_shapes):
        return (input_shapes[1][0], input_shapes[1][1])


# --- 3. Local normalisation -----------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="tfagiqa")
class LocalContrastNormalization(keras.layers.Layer):
    """Î = (I − μ) / (σ + C) per pixel and channel; μ and σ over the ``window``×``window`` neighbourhood,
    borders mirrored with the edge pixel repeated (scipy's ``boundary='symm'``, as the reference computes it)."""

    def __init__(self, window: int = 3, constant: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.window = int(window)
        self.constant = float(constant)

    def call(self, x):
        r = self.window // 2
        padded = tf.pad(x, [[0, 0], [r, r], [r, r], [0, 0]], mode="SYMMETRIC")
        mean = ops.average_pool(padded, self.window, strides=1, padding="valid")
        mean_square = ops.average_pool(ops.square(padded), self.window, strides=1, padding="valid")
        std = ops.sqrt(ops.maximum(mean_square - ops.square(mean), 0.0))
        return (x - mean) / (std + self.constant)

    def get_config(self):
        return {**super().get_config(), "window": self.window, "constant": self.constant}


# --- 4. The patch network -------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="tfagiqa")
class MaxMinPooling(keras.layers.Layer):
    """[B, h, w, K] → [B, 2K]: every feature map's maximum, then every map's minimum (the reference's order)."""

    def call(self, x):
        return ops.concatenate([ops.max(x, axis=(1, 2)), ops.min(x, axis=(1, 2))], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * input_shape[-1])


def patch_network(config: CNNIQAConfig = PAPER, name: str = "patch_network") -> keras.Model:
    """normalised patch [B, P, P, C] → score [B]: conv (linear), max/min pooling, FC-ReLU, dropout, FC-ReLU, FC."""
    patch = keras.Input((config.patch_size, config.patch_size, config.channels), name="patch")
    x = keras.layers.Conv2D(config.kernels, config.kernel_size, name="conv1")(patch)
    x = MaxMinPooling(name="max_min_pool")(x)
    x = keras.layers.Dense(config.hidden[0], activation="relu", name="fc1")(x)
    x = keras.layers.Dropout(config.dropout, name="dropout")(x)
    x = keras.layers.Dense(config.hidden[1], activation="relu", name="fc2")(x)
    score = keras.layers.Dense(1, name="fc3")(x)
    return keras.Model(patch, keras.layers.Reshape((), name="score")(score), name=name)


# --- 5. Image scores ------------------------------------------------------------------------------------------


def patch_score_model(config: CNNIQAConfig = PAPER, image_size: int | None = None, seed: int | None = None,
                      name: str = "cnniqa_patches") -> keras.Model:
    """{images [B, S, S, 3] in [0, 255]} → patch scores [B, n] (grid patches; ``training=True``: random ones).

    What is trained: the L1 loss between every patch score and its image's label is the paper's objective.
    """
    if config.patch_size is not None and image_size is not None and image_size < config.patch_size:
        raise ValueError(f"images of {image_size} px hold no {config.patch_size}×{config.patch_size} patch")
    images = keras.Input((image_size, image_size, 3), name="images")
    patches = PatchSampler(config.patch_size, config.train_patches, seed, name="patches")(
        PatchColour(config.colour, name="colour")(images))
    folded = FoldPatches(name="fold")(patches)
    if config.local_norm:
        folded = LocalContrastNormalization(config.norm_window, config.norm_constant, name="local_norm")(folded)
    scores = patch_network(config)(folded)
    return keras.Model({"images": images}, UnfoldScores(name="unfold")([scores, patches]), name=name)


@keras.saving.register_keras_serializable(package="tfagiqa")
class MeanOverPatches(keras.layers.Layer):
    """Patch scores [B, n] → image score [B] (the paper's average pooling of patch scores)."""

    def call(self, scores):
        return ops.mean(scores, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)


def scoring_model(patch_model: keras.Model, output: str = "quality") -> keras.Model:
    """The catalogue scorer: {images [N, S, S, 3] in [0, 255]} → {output: mean patch score [N]}."""
    images = keras.Input(patch_model.input["images"].shape[1:], name="images")
    scores = patch_model({"images": images})
    return keras.Model({"images": images}, {output: MeanOverPatches(name=output)(scores)}, name="cnniqa_scorer")
