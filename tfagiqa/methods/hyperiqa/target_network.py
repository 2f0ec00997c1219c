"""HyperIQA's target network: fully connected layers whose weights differ per sample (given by the hyper network).

q = sigmoid(W1·x + b1) → sigmoid(W2·) → sigmoid(W3·) → sigmoid(W4·) → W5·q + b5 (SPEC §3.2; the official
commented-out dropout is not used). The official grouped 1×1 convolution is written as a batched einsum.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tfagiqa")
class TargetNetwork(keras.layers.Layer):
    """[x [B, f_in], W1, b1, …, Wn, bn] → scores [B, outputs]; sigmoid after every layer but the last."""

    def call(self, inputs):
        x, params = inputs[0], inputs[1:]
        pairs = list(zip(params[0::2], params[1::2]))
        for k, (weight, bias) in enumerate(pairs):
            x = keras.ops.einsum("bi,boi->bo", x, weight) + bias
            if k < len(pairs) - 1:
                x = keras.ops.sigmoid(x)
        return x

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], input_shapes[-1][-1])
