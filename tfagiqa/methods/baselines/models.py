"""The baselines of IP-IQA's Tables 1–2 that can be run here: ResNet50 (random or ImageNet init, fine-tuned with
IP-IQA's protocol) and CLIPScore (zero-shot 2.5·max(cos(image, text), 0) with the same CLIP encoders)."""

from __future__ import annotations

import keras
from keras import ops

from tfagiqa.backbones.resnet50_torchvision import resnet50_torchvision
from tfagiqa.backbones.weights import ResolvedWeights, build_with_weights
from tfagiqa.layers.normalisation import CLIPNormalize, ImageNetNormalize

RESNET50_HINT = ("Run once online (Keras caches resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5 in "
                 "~/.keras/models) or pass the file's path with --weights.")


def resnet50_regressor(n_outputs: int, image_size: int, weights: str | None, tiny: bool = False) -> ResolvedWeights:
    """{"images" in [0, 255]} → [N, n_outputs]: ResNet50 → global average pool → a linear head.

    ``weights`` None: torchvision's layout, random (``tiny``: width 8, one block a stage); otherwise Keras'
    ResNet50 with ``weights`` resolved by :func:`build_with_weights` (imagenet / auto / a local .h5 file).
    """
    images = keras.Input((image_size, image_size, 3), name="images")

    def head(features, name):
        pooled = keras.layers.GlobalAveragePooling2D(name="gap")(features) if len(features.shape) == 4 else features
        return keras.Model({"images": images}, keras.layers.Dense(n_outputs, name="head_out")(pooled), name=name)

    if weights is None or str(weights) == "none":
        trunk = resnet50_torchvision(image_size, width=8 if tiny else 64, blocks=(1, 1, 1, 1) if tiny else (3, 4, 6, 3))
        return ResolvedWeights(head(trunk(ImageNetNormalize(name="imagenet_normalize")(images))[-1], "resnet50_random"),
                               "random")

    def build(keras_weights):
        trunk = keras.applications.ResNet50(include_top=False, pooling="avg", weights=keras_weights,
                                            input_shape=(image_size, image_size, 3))
        return head(trunk(ImageNetNormalize(caffe=True, name="caffe_preprocess")(images)), "resnet50_imagenet")

    return build_with_weights(build, weights, "ResNet50", RESNET50_HINT, kind="resnet50")


@keras.saving.register_keras_serializable(package="tfagiqa")
class CLIPScore(keras.layers.Layer):
    """(image embedding, text embedding) → w·max(cos, 0) (Hessel et al. 2021, w = 2.5), as [N, 1]."""

    def __init__(self, w: float = 2.5, **kwargs):
        super().__init__(**kwargs)
        self.w = float(w)

    def call(self, inputs):
        image, text = inputs
        cos = ops.sum(image * text, axis=-1, keepdims=True) / (
            ops.norm(image, axis=-1, keepdims=True) * ops.norm(text, axis=-1, keepdims=True) + 1e-12)
        return self.w * ops.maximum(cos, 0.0)

    def get_config(self):
        return {**super().get_config(), "w": self.w}


def clipscore_model(image_encoder: keras.Model, text_encoder: keras.Model) -> keras.Model:
    """{"images" [0, 255] at the encoder's resolution, "token_ids"} → CLIPScore [N, 1]."""
    size = image_encoder.input_shape[1]
    images = keras.Input((size, size, 3), name="images")
    ids = keras.Input(text_encoder.input_shape[1:], dtype="int32", name="token_ids")
    score = CLIPScore(name="clipscore")([image_encoder(CLIPNormalize()(images)), text_encoder(ids)])
    return keras.Model({"images": images, "token_ids": ids}, score, name="clipscore")
