"""SF-IQA's similarity heads: PickScore's scaled inner product (eq. 2) and the cross-attention alternative of Table 4."""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfagiqa")
class ScaledCosineScore(keras.layers.Layer):
    """``S = exp(t) · ⟨i/‖i‖, t/‖t‖⟩`` for image and text embeddings ``[N, D]`` → ``[N, 1]``; t starts at log(1/0.07)."""

    def build(self, image_shape, text_shape=None):
        self.logit_scale = self.add_weight(name="logit_scale", shape=(),
                                           initializer=keras.initializers.Constant(math.log(1 / 0.07)))

    def call(self, image, text):
        image = image / ops.norm(image, axis=-1, keepdims=True)
        text = text / ops.norm(text, axis=-1, keepdims=True)
        return ops.exp(self.logit_scale) * ops.sum(image * text, axis=-1, keepdims=True)

    def compute_output_shape(self, image_shape, text_shape=None):
        return (image_shape[0], 1)


@keras.saving.register_keras_serializable(package="tfagiqa")
class CrossAttentionScore(keras.layers.Layer):
    """The image embedding ``[N, D]`` as query over the text token features ``[N, L, D]`` (key and value), then a
    linear layer to one score (SF-IQA Table 4's alternative). Padding tokens (id 0) are masked out."""

    def __init__(self, num_heads: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)

    def build(self, image_shape, tokens_shape=None, token_mask_shape=None):
        dim = image_shape[-1]
        heads = self.num_heads if dim % self.num_heads == 0 else 1
        self.attention = keras.layers.MultiHeadAttention(heads, dim // heads, name="attention")
        self.attention.build((None, 1, dim), (None, None, dim))
        self.score = keras.layers.Dense(1, name="score")
        self.score.build((None, dim))

    def call(self, image, tokens, token_mask):
        query = ops.expand_dims(image, 1)
        attended = self.attention(query, tokens, attention_mask=ops.expand_dims(token_mask, 1))
        return self.score(ops.squeeze(attended, 1))

    def compute_output_shape(self, image_shape, tokens_shape=None, token_mask_shape=None):
        return (image_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads}
