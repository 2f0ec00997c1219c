"""A tiny random-initialised CNN feature extractor: the stand-in backbone for tests and minute-long smoke runs."""

from __future__ import annotations

import keras

from tfagiqa.backbones.weights import ResolvedWeights


def tiny_cnn_features(image_size: int = 64, width: int = 16, seed: int = 0) -> ResolvedWeights:
    """Three strided 3×3 convolutions with average and max pooling; same input contract as the real backbones."""
    images = keras.Input((image_size, image_size, 3), name="images")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0)(images)
    for i, filters in enumerate((width, 2 * width, 4 * width)):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu",
                                kernel_initializer=keras.initializers.HeNormal(seed=seed + i))(x)
    pooled = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling2D()(x), keras.layers.GlobalMaxPooling2D()(x)])
    return ResolvedWeights(keras.Model(images, pooled, name="tiny_cnn_features"), "random")
