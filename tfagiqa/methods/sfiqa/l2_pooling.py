"""L2 pooling (Hénaff & Simoncelli), as TReS and SF-IQA apply it to each normalised stage map before fusion."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def hanning_kernel(size: int = 5) -> np.ndarray:
    """The ``hanning(size)[1:-1]`` outer product, normalised to sum 1 (3×3 for size 5)."""
    a = np.hanning(size)[1:-1]
    g = a[:, None] * a[None, :]
    return (g / g.sum()).astype(np.float32)


@keras.saving.register_keras_serializable(package="tfagiqa")
class L2Pooling(keras.layers.Layer):
    """``sqrt(depthwise_conv(x², hanning) + 1e-12)``, stride 1, zero padding keeping the size (NHWC)."""

    def __init__(self, filter_size: int = 5, **kwargs):
        super().__init__(**kwargs)
        self.filter_size = int(filter_size)
        self.kernel_2d = hanning_kernel(self.filter_size)

    def call(self, x):
        channels = x.shape[-1]
        kernel = ops.convert_to_tensor(np.tile(self.kernel_2d[:, :, None, None], (1, 1, channels, 1)))
        pad = (self.filter_size - 2) // 2
        squared = ops.pad(ops.square(x), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        out = ops.depthwise_conv(squared, kernel, strides=1, padding="valid")
        return ops.sqrt(out + 1e-12)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "filter_size": self.filter_size}
