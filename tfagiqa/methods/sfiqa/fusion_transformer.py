"""SF-IQA's multi-level fusion transformer (inherited from TReS): a post-norm encoder over the 8×8 grid whose
attention sublayer has NO residual connection, with a 2-D sine position embedding added to queries and keys only.

Per layer: ``s = norm1(dropout(MHA(q=s+pos, k=s+pos, v=s)))``; ``s = norm2(s + dropout(W2·dropout(relu(W1·s))))``.
Weights with more than one dimension start Xavier-uniform, as the reference ``_reset_parameters`` does.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops


def sine_position_embedding(height: int, width: int, channels: int, temperature: float = 1e4) -> np.ndarray:
    """[H·W, channels] DETR sine embedding (normalize=True, scale 2π): y-half then x-half, sin/cos interleaved."""
    feats = channels // 2
    eps = 1e-6
    y = (np.arange(1, height + 1, dtype=np.float32) / (height + eps) * 2 * math.pi)[:, None].repeat(width, 1)
    x = (np.arange(1, width + 1, dtype=np.float32) / (width + eps) * 2 * math.pi)[None, :].repeat(height, 0)
    dim_t = temperature ** (2 * (np.arange(feats) // 2) / feats)

    def encode(values):
        pos = values[..., None] / dim_t
        return np.stack([np.sin(pos[..., 0::2]), np.cos(pos[..., 1::2])], axis=-1).reshape(height, width, feats)

    return np.concatenate([encode(y), encode(x)], axis=-1).reshape(height * width, channels).astype(np.float32)


@keras.saving.register_keras_serializable(package="tfagiqa")
class FusionTransformerEncoder(keras.layers.Layer):
    """``[B, H, W, C]`` map → ``[B, H, W, C]`` after ``num_layers`` encoder layers (see the module docstring)."""

    def __init__(self, num_heads: int = 16, num_layers: int = 2, ff_dim: int = 64, dropout: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.num_layers, self.ff_dim, self.dropout = int(num_heads), int(num_layers), int(ff_dim), float(dropout)
        self.drop = keras.layers.Dropout(self.dropout)

    def build(self, input_shape):
        _, h, w, c = input_shape
        if c % self.num_heads or c % 4:
            raise ValueError(f"channels {c} must divide by num_heads {self.num_heads} and by 4 (sine embedding)")
        self.pos = sine_position_embedding(h, w, c)
        xavier, zeros = keras.initializers.GlorotUniform(), "zeros"
        self.params = []
        for i in range(self.num_layers):
            add = lambda n, shape, init: self.add_weight(name=f"layer{i}_{n}", shape=shape, initializer=init)  # noqa: E731
            self.params.append({
                "in_kernel": add("in_proj_kernel", (c, 3 * c), xavier), "in_bias": add("in_proj_bias", (3 * c,), zeros),
                "out_kernel": add("out_proj_kernel", (c, c), xavier), "out_bias": add("out_proj_bias", (c,), zeros),
                "ff1_kernel": add("linear1_kernel", (c, self.ff_dim), xavier), "ff1_bias": add("linear1_bias", (self.ff_dim,), zeros),
                "ff2_kernel": add("linear2_kernel", (self.ff_dim, c), xavier), "ff2_bias": add("linear2_bias", (c,), zeros),
                "norm1_gamma": add("norm1_gamma", (c,), "ones"), "norm1_beta": add("norm1_beta", (c,), zeros),
                "norm2_gamma": add("norm2_gamma", (c,), "ones"), "norm2_beta": add("norm2_beta", (c,), zeros),
            })

    @staticmethod
    def _norm(x, gamma, beta):
        mean = ops.mean(x, axis=-1, keepdims=True)
        var = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
        return (x - mean) / ops.sqrt(var + 1e-5) * gamma + beta

    def _attention(self, src, p, training):
        c = src.shape[-1]
        heads, dh = self.num_heads, c // self.num_heads
        wq, wk, wv = (p["in_kernel"][:, i * c:(i + 1) * c] for i in range(3))
        bq, bk, bv = (p["in_bias"][i * c:(i + 1) * c] for i in range(3))
        qk_in = src + ops.convert_to_tensor(self.pos)[None]

        def split(t):
            return ops.transpose(ops.reshape(t, (-1, t.shape[1], heads, dh)), (0, 2, 1, 3))

        q, k, v = split(ops.matmul(qk_in, wq) + bq), split(ops.matmul(qk_in, wk) + bk), split(ops.matmul(src, wv) + bv)
        weights = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(dh), axis=-1)
        out = ops.matmul(self.drop(weights, training=training), v)
        out = ops.reshape(ops.transpose(out, (0, 2, 1, 3)), (-1, src.shape[1], c))
        return ops.matmul(out, p["out_kernel"]) + p["out_bias"]

    def call(self, x, training=None):
        _, h, w, c = x.shape
        src = ops.reshape(x, (-1, h * w, c))
        for p in self.params:
            src = self._norm(self.drop(self._attention(src, p, training), training=training), p["norm1_gamma"], p["norm1_beta"])
            ff = ops.matmul(self.drop(ops.relu(ops.matmul(src, p["ff1_kernel"]) + p["ff1_bias"]), training=training),
                            p["ff2_kernel"]) + p["ff2_bias"]
            src = self._norm(src + self.drop(ff, training=training), p["norm2_gamma"], p["norm2_beta"])
        return ops.reshape(src, (-1, h, w, c))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "num_layers": self.num_layers,
                "ff_dim": self.ff_dim, "dropout": self.dropout}
