"""IP-IQA's cross-modality attention pool: the prompt's [QA] embedding queries the image's [mean; HW] tokens.

Same token layout as CLIP's AttentionPool2d but with its own positional embedding (init randn/√C) and a query
projected from the text feature (txt_dim → C); no mask (official code: TextAttentionPool2d, SPEC §4.2).
"""

from __future__ import annotations

import keras
from keras import ops

from tfagiqa.layers.attention_pool import (attention_weights, interpolate_positional_embedding,
                                           multi_head_attention, tokens_with_mean)


@keras.saving.register_keras_serializable(package="tfagiqa")
class CrossModalAttentionPool(keras.layers.Layer):
    """([N, h, w, C] image map, [N, D] text feature) → [N, output_dim]: a text-queried attention pool."""

    def __init__(self, spacial_dim: int, num_heads: int, output_dim: int | None = None, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.spacial_dim = int(spacial_dim)
        self.num_heads = int(num_heads)
        self.output_dim = output_dim
        self.seed = seed

    def build(self, input_shape):
        image_shape, text_shape = input_shape
        channels, text_dim = int(image_shape[-1]), int(text_shape[-1])
        if channels % self.num_heads:
            raise ValueError(f"{channels} channels do not split into {self.num_heads} heads")
        self.positional_embedding = self.add_weight(
            name="positional_embedding", shape=(self.spacial_dim ** 2 + 1, channels),
            initializer=keras.initializers.RandomNormal(stddev=channels ** -0.5, seed=self.seed))
        out = self.output_dim or channels
        # torch.nn.Linear's default initialisation, as in the official module
        for name, fan_in, size in (("q", text_dim, channels), ("k", channels, channels), ("v", channels, channels),
                                   ("out", channels, out)):
            bound = fan_in ** -0.5
            uniform = keras.initializers.RandomUniform(-bound, bound)
            setattr(self, f"{name}_kernel", self.add_weight(name=f"{name}_proj_kernel", shape=(fan_in, size),
                                                            initializer=uniform))
            setattr(self, f"{name}_bias", self.add_weight(name=f"{name}_proj_bias", shape=(size,), initializer=uniform))

    def _projections(self, image, text):
        """(q [N, 1, C] from the text, k and v [N, 1 + h·w, C] from [mean; HW tokens] + positions)."""
        table = interpolate_positional_embedding(self.positional_embedding, (self.spacial_dim,) * 2,
                                                 (image.shape[1], image.shape[2]))
        tokens = tokens_with_mean(image) + table
        q = ops.matmul(text[:, None, :], self.q_kernel) + self.q_bias
        k = ops.matmul(tokens, self.k_kernel) + self.k_bias
        v = ops.matmul(tokens, self.v_kernel) + self.v_bias
        return q, k, v

    def call(self, inputs):
        q, k, v = self._projections(*inputs)
        return ops.matmul(multi_head_attention(q, k, v, self.num_heads)[:, 0], self.out_kernel) + self.out_bias

    def attention(self, inputs):
        """([N, h, w, C], [N, D]) → [N, heads, 1 + h·w]: each head's attention of the text query over the mean token
        (first) and the h×w tokens in row-major order; every row sums to 1 (what IP-IQA's Fig. 3 shows)."""
        q, k, _ = self._projections(*inputs)
        return attention_weights(q, k, self.num_heads)[:, :, 0]

    def compute_output_shape(self, input_shape):
        image_shape = input_shape[0]
        return (image_shape[0], self.output_dim or image_shape[-1])

    def get_config(self):
        return {**super().get_config(), "spacial_dim": self.spacial_dim, "num_heads": self.num_heads,
                "output_dim": self.output_dim, "seed": self.seed}
