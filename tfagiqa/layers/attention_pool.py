"""CLIP's AttentionPool2d: the mean token queries [mean; HW tokens] + a learned positional embedding.

The positional embedding is learned on an S×S grid; on another grid it is resized with PyTorch's bicubic
kernel (a = −0.75, align_corners=False, borders clamped), the mean-token row kept, so that the layer takes
any input resolution and reproduces IP-IQA's 7×7 → 16×16 interpolation (SPEC §4.2) exactly.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

CUBIC_A = -0.75  # PyTorch's bicubic coefficient (OpenCV's too); TensorFlow's "bicubic" uses −0.5


def _cubic_weights(t: np.ndarray) -> np.ndarray:
    """The four cubic-convolution weights for fractional offsets ``t`` (PyTorch's upsample_bicubic2d)."""
    a = CUBIC_A

    def near(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=-1)


def bicubic_matrix(in_size: int, out_size: int) -> np.ndarray:
    """[out, in] matrix M with M @ v = torch's 1-D bicubic resize of v (align_corners=False, no antialias)."""
    if in_size == out_size:
        return np.eye(in_size)
    dst = np.arange(out_size, dtype=np.float64)
    src = (dst + 0.5) * (in_size / out_size) - 0.5
    base = np.floor(src)
    weights = _cubic_weights(src - base)
    matrix = np.zeros((out_size, in_size))
    for k in range(4):
        index = np.clip(base.astype(int) - 1 + k, 0, in_size - 1)
        np.add.at(matrix, (np.arange(out_size), index), weights[:, k])
    return matrix


def interpolate_positional_embedding(table, grid: tuple[int, int], new_grid: tuple[int, int]):
    """Resize a [1 + h·w, C] positional embedding (mean-token row first) to ``new_grid``, bicubically."""
    (h, w), (nh, nw) = grid, new_grid
    if (h, w) == (nh, nw):
        return table
    channels = ops.shape(table)[-1]
    spatial = ops.reshape(table[1:], (h, w, channels))
    rows = ops.convert_to_tensor(bicubic_matrix(h, nh), dtype=table.dtype)
    cols = ops.convert_to_tensor(bicubic_matrix(w, nw), dtype=table.dtype)
    resized = ops.einsum("ph,hwc,qw->pqc", rows, spatial, cols)
    return ops.concatenate([table[:1], ops.reshape(resized, (nh * nw, channels))], axis=0)


def _split_heads(x, num_heads: int):
    """[N, L, C] → [N, heads, L, C / heads], heads made of contiguous channel blocks (PyTorch's layout)."""
    return ops.transpose(ops.reshape(x, (ops.shape(x)[0], ops.shape(x)[1], num_heads, x.shape[-1] // num_heads)),
                         (0, 2, 1, 3))


def attention_weights(q, k, num_heads: int, mask=None):
    """Softmax of the scaled dot products: q [N, Lq, C], k [N, Lk, C] (projected) → [N, heads, Lq, Lk], each row
    summing to 1; ``mask`` [Lq, Lk] of additive logits."""
    head_dim = q.shape[-1] // num_heads
    logits = ops.matmul(_split_heads(q, num_heads) * (head_dim ** -0.5),
                        ops.transpose(_split_heads(k, num_heads), (0, 1, 3, 2)))
    if mask is not None:
        logits = logits + mask
    return ops.softmax(logits, axis=-1)


def multi_head_attention(q, k, v, num_heads: int, mask=None):
    """Scaled dot-product attention over heads made of contiguous channel blocks (PyTorch's layout).

    q [N, Lq, C], k and v [N, Lk, C] (already projected); ``mask`` [Lq, Lk] of additive logits. → [N, Lq, C].
    """
    context = ops.matmul(attention_weights(q, k, num_heads, mask), _split_heads(v, num_heads))
    context = ops.transpose(context, (0, 2, 1, 3))
    return ops.reshape(context, (ops.shape(context)[0], ops.shape(context)[1], q.shape[-1]))


def tokens_with_mean(x):
    """[N, h, w, C] → [N, 1 + h·w, C]: the spatial mean first, then the tokens in row-major order."""
    h, w, channels = x.shape[1], x.shape[2], x.shape[3]
    if h is None or w is None:
        raise ValueError("attention pooling needs a static spatial size (build the model with a fixed image size)")
    tokens = ops.reshape(x, (-1, h * w, channels))
    return ops.concatenate([ops.mean(tokens, axis=1, keepdims=True), tokens], axis=1)


def _normal(stddev: float, seed=None):
    return keras.initializers.RandomNormal(stddev=stddev, seed=seed)


@keras.saving.register_keras_serializable(package="tfagiqa")
class AttentionPool2d(keras.layers.Layer):
    """[N, h, w, C] → [N, output_dim]: one attention step whose query is the mean token (CLIP model.py)."""

    def __init__(self, spacial_dim: int, num_heads: int, output_dim: int | None = None, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.spacial_dim = int(spacial_dim)
        self.num_heads = int(num_heads)
        self.output_dim = output_dim
        self.seed = seed

    def build(self, input_shape):
        channels = int(input_shape[-1])
        if channels % self.num_heads:
            raise ValueError(f"{channels} channels do not split into {self.num_heads} heads")
        std = channels ** -0.5
        self.positional_embedding = self.add_weight(
            name="positional_embedding", shape=(self.spacial_dim ** 2 + 1, channels), initializer=_normal(std, self.seed))
        out = self.output_dim or channels
        for i, (name, size) in enumerate((("q", channels), ("k", channels), ("v", channels), ("c", out))):
            seed = None if self.seed is None else self.seed + i + 1
            setattr(self, f"{name}_kernel", self.add_weight(name=f"{name}_proj_kernel", shape=(channels, size),
                                                            initializer=_normal(std, seed)))
            setattr(self, f"{name}_bias", self.add_weight(name=f"{name}_proj_bias", shape=(size,), initializer="zeros"))

    def positional_embedding_for(self, h: int, w: int):
        """The learned table on an h×w grid (interpolated when the grid differs from the learned one)."""
        return interpolate_positional_embedding(self.positional_embedding, (self.spacial_dim,) * 2, (h, w))

    def call(self, x):
        tokens = tokens_with_mean(x) + self.positional_embedding_for(x.shape[1], x.shape[2])
        q = ops.matmul(tokens[:, :1], self.q_kernel) + self.q_bias
        k = ops.matmul(tokens, self.k_kernel) + self.k_bias
        v = ops.matmul(tokens, self.v_kernel) + self.v_bias
        pooled = multi_head_attention(q, k, v, self.num_heads)[:, 0]
        return ops.matmul(pooled, self.c_kernel) + self.c_bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim or input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "spacial_dim": self.spacial_dim, "num_heads": self.num_heads,
                "output_dim": self.output_dim, "seed": self.seed}
