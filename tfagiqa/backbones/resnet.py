"""Keras ResNet152V2 as DLSR's frozen feature extractor: average-pooled 2048-d features, its own preprocessing."""

from __future__ import annotations

import keras

from tfagiqa.backbones.weights import ResolvedWeights, build_with_weights

RESNET152V2_HINT = (
    "Run once on a machine with internet (Keras caches the file in ~/.keras/models/), or download "
    "resnet152v2_weights_tf_dim_ordering_tf_kernels_notop.h5 from the keras-applications release and pass its path."
)


def resnet152v2_features(weights: str | None = "auto", image_size: int = 224) -> ResolvedWeights:
    """ResNet152V2(include_top=False, pooling='avg') taking float images in [0, 255] (preprocessing inside)."""

    def build(keras_weights):
        backbone = keras.applications.ResNet152V2(
            include_top=False, pooling="avg", weights=keras_weights, input_shape=(image_size, image_size, 3)
        )
        images = keras.Input((image_size, image_size, 3), name="images")
        scaled = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="resnet_v2_preprocess")(images)
        return keras.Model(images, backbone(scaled), name="resnet152v2_features")

    return build_with_weights(build, weights, "ResNet152V2", RESNET152V2_HINT, kind="resnet152v2")
