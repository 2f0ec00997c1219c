"""HyperIQA's hyper network: from a feature map, the weights and biases of one target network per sample.

SPEC §3.2: three 1×1 convs (→ ``conv_channels`` → ``hyper_channels``, ReLU) give the hyper feature map
(B, s, s, C); a 3×3 conv per target layer generates ``f_in·f_out / s²`` channels that are read as the
(f_out, f_in) weight matrix **in NCHW memory order** (the official ``.view``), so the map is transposed to
channels-first before the reshape; biases and the last layer come from Dense layers on the pooled map.
Sub-layer names are the official module names (``conv1_0`` = ``conv1.0``, ``fc1w_conv``, ``fc1b_fc`` …).
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tfagiqa")
class HyperNetwork(keras.layers.Layer):
    """feature map [B, s, s, C_in] → [W1, b1, …, W5, b5], Wk [B, f_out, f_in], bk [B, f_out] (target net params).

    ``target_sizes`` = (input, f1, f2, f3, f4) of the target net (HyperIQA: 224, 112, 56, 28, 14);
    ``outputs`` = width of its last layer (1 score, or several for multi-output heads).
    """

    def __init__(self, feature_size: int = 7, hyper_channels: int = 112,
                 target_sizes: tuple[int, ...] = (224, 112, 56, 28, 14), outputs: int = 1,
                 conv_channels: tuple[int, ...] = (1024, 512), **kwargs):
        super().__init__(**kwargs)
        self.feature_size = int(feature_size)
        self.hyper_channels = int(hyper_channels)
        self.target_sizes = tuple(int(s) for s in target_sizes)
        self.outputs = int(outputs)
        self.conv_channels = tuple(int(c) for c in conv_channels)
        area = self.feature_size ** 2
        for f_in, f_out in zip(self.target_sizes[:-1], self.target_sizes[1:]):
            if (f_in * f_out) % area:
                raise ValueError(f"target layer {f_in}→{f_out}: f_in·f_out must be divisible by feature_size² = {area}")
        widths = (*self.conv_channels, self.hyper_channels)
        self.convs = [keras.layers.Conv2D(c, 1, activation="relu", name=f"conv1_{2 * i}") for i, c in enumerate(widths)]
        self.weight_convs, self.bias_fcs = [], []
        for k, (f_in, f_out) in enumerate(zip(self.target_sizes[:-1], self.target_sizes[1:]), start=1):
            self.weight_convs.append(keras.layers.Conv2D(f_in * f_out // area, 3, padding="same",
                                                         kernel_initializer="he_normal", name=f"fc{k}w_conv"))
            self.bias_fcs.append(keras.layers.Dense(f_out, kernel_initializer="he_normal", name=f"fc{k}b_fc"))
        last = len(self.target_sizes)
        self.last_weight = keras.layers.Dense(self.target_sizes[-1] * self.outputs, kernel_initializer="he_normal",
                                              name=f"fc{last}w_fc")
        self.last_bias = keras.layers.Dense(self.outputs, kernel_initializer="he_normal", name=f"fc{last}b_fc")

    def build(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.convs:
            conv.build(shape)
            shape = (*shape[:3], conv.filters)
        for conv, fc in zip(self.weight_convs, self.bias_fcs):
            conv.build(shape)
            fc.build((None, self.hyper_channels))
        self.last_weight.build((None, self.hyper_channels))
        self.last_bias.build((None, self.hyper_channels))

    def call(self, features):
        x = features
        for conv in self.convs:
            x = conv(x)
        pooled = keras.ops.mean(x, axis=(1, 2))
        params = []
        for (f_in, f_out), conv, fc in zip(zip(self.target_sizes[:-1], self.target_sizes[1:]),
                                           self.weight_convs, self.bias_fcs):
            nchw = keras.ops.transpose(conv(x), (0, 3, 1, 2))  # the official .view reads NCHW memory
            params += [keras.ops.reshape(nchw, (-1, f_out, f_in)), fc(pooled)]
        params += [keras.ops.reshape(self.last_weight(pooled), (-1, self.outputs, self.target_sizes[-1])),
                   self.last_bias(pooled)]
        return params

    def compute_output_shape(self, input_shape):
        batch = input_shape[0]
        shapes = []
        for f_in, f_out in zip(self.target_sizes[:-1], self.target_sizes[1:]):
            shapes += [(batch, f_out, f_in), (batch, f_out)]
        return [*shapes, (batch, self.outputs, self.target_sizes[-1]), (batch, self.outputs)]

    def get_config(self):
        return {**super().get_config(), "feature_size": self.feature_size, "hyper_channels": self.hyper_channels,
                "target_sizes": list(self.target_sizes), "outputs": self.outputs,
                "conv_channels": list(self.conv_channels)}
