"""DBCNN (Zhang, Ma, Yan, Deng and Wang, TCSVT 2018), top to bottom as the paper's Section III.

Two streams read the same image. The S-CNN, a small CNN pre-trained to classify the type and level of synthetic
distortions (:mod:`tfagiqa.methods.dbcnn.distortions`, :mod:`tfagiqa.methods.dbcnn.pretrain`), captures synthetic
distortions; VGG-16 pre-trained on ImageNet, up to its last convolution (conv5_3 after ReLU), captures authentic
ones. Their feature maps, brought to the same size, are pooled bilinearly: the outer product of the two feature
vectors at every location, averaged over locations, then a square root and L2 normalisation. A linear layer maps
the result to the quality score. The whole network is then fine-tuned on the target database.

Layer names follow the reference (zwx8981/DBCNN-PyTorch) so its checkpoints convert one to one: VGG layers are
Keras' ``blockB_convI``, S-CNN layers ``scnn_convK`` / ``scnn_bnK`` for ``features2.{3K}`` / ``features2.{3K+1}``.
Padding is torch's (one pixel on every side, also for the stride-2 S-CNN convolutions).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf
from keras import ops

from tfagiqa.layers.normalisation import ImageNetNormalize

VGG16_BLOCKS = (2, 2, 3, 3, 3)  # convolutions per block; max pooling after blocks 1-4 (the reference drops the 5th)
SCNN_STRIDES = (1, 2, 1, 2, 1, 2, 1, 1, 2)
BN_EPSILON = 1e-5  # torch.nn.BatchNorm2d defaults
BN_MOMENTUM = 0.9
SQRT_EPSILON = 1e-8  # the reference's sqrt(x + 1e-8)


@dataclass(frozen=True)
class DBCNNConfig:
    """Stream widths and the VGG input convention (the defaults are the paper's network)."""

    vgg_widths: tuple[int, ...] = (64, 128, 256, 512, 512)  # per block
    scnn_widths: tuple[int, ...] = (48, 48, 64, 64, 64, 64, 128, 128, 128)  # per convolution
    scnn_projection: int = 256  # width of the S-CNN's classification head (pre-training only)
    vgg_preprocessing: str = "torch"  # "torch": ImageNet mean/std on RGB; "caffe": BGR mean (Keras' VGG16 weights)

    def __post_init__(self):
        if len(self.vgg_widths) != len(VGG16_BLOCKS) or len(self.scnn_widths) != len(SCNN_STRIDES):
            raise ValueError(f"DBCNN needs {len(VGG16_BLOCKS)} VGG widths and {len(SCNN_STRIDES)} S-CNN widths")
        if self.vgg_preprocessing not in ("torch", "caffe"):
            raise ValueError(f"vgg_preprocessing must be 'torch' or 'caffe', got {self.vgg_preprocessing!r}")

    @property
    def bilinear_dim(self) -> int:
        return self.vgg_widths[-1] * self.scnn_widths[-1]


PAPER = DBCNNConfig()
TINY = DBCNNConfig(vgg_widths=(4, 8, 16, 32, 32), scnn_widths=(6, 6, 8, 8, 8, 8, 16, 16, 16), scnn_projection=32)


# --- The authentic-distortion stream: VGG-16 ------------------------------------------------------------------


def torchvision_init() -> keras.initializers.Initializer:
    """torchvision's VGG initialisation (Kaiming normal, fan-out), for a VGG-16 stream that starts random; a new
    instance per layer (a Keras initializer draws its seed when it is made)."""
    return keras.initializers.VarianceScaling(2.0, mode="fan_out", distribution="untruncated_normal")


def vgg16_features(widths: tuple[int, ...] = PAPER.vgg_widths, name: str = "vgg16") -> keras.Model:
    """normalised images [B, H, W, 3] → conv5_3 after ReLU [B, H/16, W/16, widths[-1]] (VGG-16 without its last
    pooling); Keras' layer names, so ``keras.applications.VGG16`` weights copy by name."""
    images = keras.Input((None, None, 3), name="normalised_images")
    x = images
    for block, (convs, width) in enumerate(zip(VGG16_BLOCKS, widths), start=1):
        for i in range(1, convs + 1):
            x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=f"block{block}_conv{i}",
                                    kernel_initializer=torchvision_init())(x)
        if block < len(VGG16_BLOCKS):
            x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    return keras.Model(images, x, name=name)


def copy_convolutions(source: keras.Model, target: keras.Model) -> None:
    """Copy the 13 convolutions of ``source`` (e.g. ``keras.applications.VGG16(include_top=False, weights=...)``,
    which loads "imagenet" or an .h5 file) into ``target`` (built by :func:`vgg16_features`, full widths)."""
    for layer in target.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layer.set_weights(source.get_layer(layer.name).get_weights())


# --- The synthetic-distortion stream: S-CNN -------------------------------------------------------------------


def scnn_features(widths: tuple[int, ...] = PAPER.scnn_widths, name: str = "scnn") -> keras.Model:
    """normalised images [B, H, W, 3] → [B, ⌈H/16⌉, ⌈W/16⌉, widths[-1]]: nine 3×3 conv-BN-ReLU layers, four with
    stride 2 (the S-CNN's ``features``)."""
    images = keras.Input((None, None, 3), name="normalised_images")
    x = images
    for k, (width, stride) in enumerate(zip(widths, SCNN_STRIDES)):
        x = keras.layers.ZeroPadding2D(1, name=f"scnn_pad{k}")(x)
        x = keras.layers.Conv2D(width, 3, strides=stride, kernel_initializer="he_normal", name=f"scnn_conv{k}")(x)
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"scnn_bn{k}")(x)
        x = keras.layers.ReLU(name=f"scnn_relu{k}")(x)
    return keras.Model(images, x, name=name)


def scnn_classifier(features: keras.Model, classes: int, projection: int = PAPER.scnn_projection,
                    name: str = "scnn_classifier") -> keras.Model:
    """{images in [0, 255]} → distortion logits [B, classes]: the S-CNN's pre-training network (features, global
    average pooling, two 1×1 conv-BN-ReLU projections written as dense layers, a linear classifier)."""
    images = keras.Input((None, None, 3), name="images")
    x = keras.layers.GlobalAveragePooling2D(name="scnn_pool")(features(ImageNetNormalize(name="normalise")(images)))
    for k in (1, 2):
        x = keras.layers.Dense(projection, kernel_initializer="he_normal", name=f"scnn_projection{k}")(x)
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM,
                                            name=f"scnn_projection_bn{k}")(x)
        x = keras.layers.ReLU(name=f"scnn_projection_relu{k}")(x)
    logits = keras.layers.Dense(classes, kernel_initializer="he_normal", name="scnn_logits")(x)
    return keras.Model({"images": images}, logits, name=name)


# --- Bilinear pooling and the quality regressor ---------------------------------------------------------------


@keras.saving.register_keras_serializable(package="tfagiqa")
class BilinearPooling(keras.layers.Layer):
    """(a [B, h, w, C1], b [B, h', w', C2]) → [B, C1·C2]: b resized to h×w (bilinear, corners aligned, as the
    reference's ``upsample_bilinear``) when the sizes differ, Σ_locations a ⊗ b / (h·w) flattened row-major
    (index c1·C2 + c2), signed square root sign(x)·√(|x| + 1e-8) (the reference's √(x + 1e-8) for the
    non-negative ReLU features), L2 normalisation."""

    def call(self, inputs):
        a, b = inputs
        size = tf.shape(a)[1:3]
        same = tf.reduce_all(tf.equal(size, tf.shape(b)[1:3]))
        b = tf.cond(same, lambda: b, lambda: tf.raw_ops.ResizeBilinear(images=b, size=size, align_corners=True))
        pooled = ops.einsum("bhwc,bhwd->bcd", a, b) / ops.cast(size[0] * size[1], a.dtype)
        pooled = ops.reshape(pooled, (-1, a.shape[-1] * b.shape[-1]))
        sign = ops.where(pooled >= 0, 1.0, -1.0)
        pooled = sign * ops.sqrt(ops.abs(pooled) + SQRT_EPSILON)
        norm = ops.sqrt(ops.sum(ops.square(pooled), axis=-1, keepdims=True))
        return pooled / ops.maximum(norm, 1e-12)

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], input_shapes[0][-1] * input_shapes[1][-1])


def dbcnn_model(config: DBCNNConfig = PAPER, vgg: keras.Model | None = None, scnn: keras.Model | None = None,
                name: str = "dbcnn") -> keras.Model:
    """{images [B, H, W, 3] in [0, 255]} → quality [B], any H, W (the reference trains on crops and tests on whole
    images). ``vgg`` / ``scnn``: already built (e.g. pre-trained) streams; new random ones otherwise."""
    vgg = vgg or vgg16_features(config.vgg_widths)
    scnn = scnn or scnn_features(config.scnn_widths)
    images = keras.Input((None, None, 3), name="images")
    vgg_input = ImageNetNormalize(caffe=config.vgg_preprocessing == "caffe", name="vgg_normalise")(images)
    scnn_input = ImageNetNormalize(name="scnn_normalise")(images)
    pooled = BilinearPooling(name="bilinear_pool")([vgg(vgg_input), scnn(scnn_input)])
    score = keras.layers.Dense(1, kernel_initializer="he_normal", name="fc")(pooled)
    return keras.Model({"images": images}, keras.layers.Reshape((), name="score")(score), name=name)


def scoring_model(dbcnn: keras.Model, image_size: int, output: str = "quality") -> keras.Model:
    """The catalogue scorer: {images [N, S, S, 3] in [0, 255]} → {output: [N]} around a :func:`dbcnn_model`."""
    images = keras.Input((image_size, image_size, 3), name="images")
    score = dbcnn({"images": images})
    return keras.Model({"images": images}, {output: keras.layers.Identity(name=output)(score)}, name="dbcnn_scorer")
