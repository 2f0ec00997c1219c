"""HyperIQA's local distortion aware (LDA) branch for one ResNet stage (SPEC §3.2).

stage map → [1×1 conv without bias] → AvgPool(k, stride k) → flatten in NCHW order → Dense. The flatten order
matters: the official code flattens channel-major (``.view(B, -1)`` on an NCHW tensor), so the map is transposed
to channels-first before flattening and an official ``ldaN_fc`` weight matrix applies unchanged.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tfagiqa")
class LocalDistortionAware(keras.layers.Layer):
    """One LDA head: ``channels`` = width of the 1×1 reduction (None: none, as after layer4), ``units`` out."""

    def __init__(self, units: int, channels: int | None = None, pool: int = 7, **kwargs):
        super().__init__(**kwargs)
        self.units, self.channels, self.pool = units, channels, pool
        self.conv = None if channels is None else keras.layers.Conv2D(
            channels, 1, use_bias=False, kernel_initializer="he_normal", name="conv")
        self.avg = keras.layers.AveragePooling2D(pool, strides=pool, name="avg")
        self.fc = keras.layers.Dense(units, kernel_initializer="he_normal", name="fc")

    def build(self, input_shape):
        shape = tuple(input_shape)
        if self.conv is not None:
            self.conv.build(shape)
            shape = (*shape[:3], self.channels)
        pooled = self.avg.compute_output_shape(shape)
        self.fc.build((None, pooled[1] * pooled[2] * pooled[3]))

    def call(self, x):
        if self.conv is not None:
            x = self.conv(x)
        x = keras.ops.transpose(self.avg(x), (0, 3, 1, 2))
        return self.fc(keras.ops.reshape(x, (keras.ops.shape(x)[0], -1)))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "channels": self.channels, "pool": self.pool}
