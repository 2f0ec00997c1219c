"""Swin Transformer V2 (Liu et al., 2022) as Keras layers, laid out as timm 0.6.13's ``swinv2_tiny_window16_256``.

What makes it V2 rather than keras-hub's Swin v1: scaled cosine attention with a learned per-head logit scale
(clamped at log 100), a continuous relative position bias produced by a small MLP from log-spaced coordinates
(``16·sigmoid``), and residual post-norm (``x + norm(attn(x))``). As in timm 0.6.13 (SPEC §3.6), each stage's
patch merging comes at the END of the stage (reduction then norm), so the stage outputs of SwinV2-T at 256 px are
192@32², 384@16², 768@8² and 768@8²; SF-IQA taps those four. A window larger than a stage's grid shrinks to the
grid and the shift is dropped, as timm does.

Layers take and return tokens ``[B, L, C]`` (row-major over the H×W grid); :func:`swinv2_backbone` returns the
four stage outputs as NHWC maps.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import keras
import numpy as np
from keras import ops

LN_EPS = 1e-5  # torch.nn.LayerNorm's default, which timm uses


@dataclass(frozen=True)
class SwinV2Config:
    """Architecture of a SwinV2 (defaults: SwinV2-T, window 16, 256 px)."""

    image_size: int = 256
    patch_size: int = 4
    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (3, 6, 12, 24)
    window_size: int = 16
    mlp_ratio: float = 4.0
    cpb_hidden: int = 512

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "SwinV2Config":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def resolutions(self) -> list[int]:
        """Token grid side of each stage's blocks (stage i runs at image/patch/2^i)."""
        return [self.image_size // self.patch_size // 2**i for i in range(len(self.depths))]

    def stage_channels(self) -> list[int]:
        """Channels of each stage's OUTPUT (after its patch merging; the last stage has none)."""
        n = len(self.depths)
        return [self.embed_dim * 2 ** min(i + 1, n - 1) for i in range(n)]

    def stage_sides(self) -> list[int]:
        """Grid side of each stage's OUTPUT."""
        res = self.resolutions()
        return [res[i] // 2 if i < len(res) - 1 else res[i] for i in range(len(res))]


SWINV2_TINY_W16_256 = SwinV2Config()
TINY_TEST = SwinV2Config(image_size=64, embed_dim=16, depths=(2, 2, 2, 2), num_heads=(2, 2, 4, 4), window_size=8,
                         cpb_hidden=32)


def window_and_shift(resolution: int, window: int, shift: int) -> tuple[int, int]:
    """timm's rule: a window at least as large as the grid becomes the grid, without shift."""
    return (resolution, 0) if resolution <= window else (window, shift)


def relative_coords_table(window: int, pretrained_window: int = 0) -> np.ndarray:
    """[(2W−1)², 2] log-spaced relative coordinates: scaled to ±8, then sign·log2(1+|x|)/log2(8)."""
    span = np.arange(-(window - 1), window, dtype=np.float32)
    table = np.stack(np.meshgrid(span, span, indexing="ij"), axis=-1)
    table /= float((pretrained_window if pretrained_window > 0 else window) - 1)
    table *= 8.0
    table = np.sign(table) * np.log2(np.abs(table) + 1.0) / math.log2(8)
    return table.reshape(-1, 2).astype(np.float32)


def relative_position_index(window: int) -> np.ndarray:
    """[W², W²] index into the coordinate table for every (query, key) pair of a window."""
    coords = np.stack(np.meshgrid(np.arange(window), np.arange(window), indexing="ij")).reshape(2, -1)
    rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0) + (window - 1)
    return (rel[..., 0] * (2 * window - 1) + rel[..., 1]).astype(np.int32)


def shift_mask(resolution: int, window: int, shift: int) -> np.ndarray | None:
    """[nW, W², W²] additive mask (0 / −100) keeping shifted windows from mixing regions, or None without shift."""
    if shift == 0:
        return None
    img = np.zeros((resolution, resolution), dtype=np.float32)
    count = 0
    bounds = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    for hs in bounds:
        for ws in bounds:
            img[hs, ws] = count
            count += 1
    n = resolution // window
    windows = img.reshape(n, window, n, window).transpose(0, 2, 1, 3).reshape(n * n, window * window)
    diff = windows[:, None, :] - windows[:, :, None]
    return np.where(diff != 0, -100.0, 0.0).astype(np.float32)


def _dense_init():
    return keras.initializers.TruncatedNormal(stddev=0.02)


@keras.saving.register_keras_serializable(package="tfagiqa")
class WindowAttentionV2(keras.layers.Layer):
    """Scaled cosine self-attention inside windows with a CPB-MLP relative position bias.

    ``attn = cos(q, k) · exp(min(τ, log 100)) + 16·sigmoid(CPB(Δ)) (+ shift mask)``, softmax, ``@ v``, projection.
    Input ``[B·nW, W², C]`` (and the optional ``[nW, W², W²]`` mask); q and v have biases, k has none.
    """

    def __init__(self, dim: int, num_heads: int, window_size: int, pretrained_window_size: int = 0,
                 cpb_hidden: int = 512, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.num_heads, self.window_size = int(dim), int(num_heads), int(window_size)
        self.pretrained_window_size, self.cpb_hidden = int(pretrained_window_size), int(cpb_hidden)
        self.table = relative_coords_table(self.window_size, self.pretrained_window_size)
        self.index = relative_position_index(self.window_size).reshape(-1)

    def build(self, input_shape):
        d, h = self.dim, self.num_heads
        self.qkv_kernel = self.add_weight(name="qkv_kernel", shape=(d, 3 * d), initializer=_dense_init())
        self.q_bias = self.add_weight(name="q_bias", shape=(d,), initializer="zeros")
        self.v_bias = self.add_weight(name="v_bias", shape=(d,), initializer="zeros")
        self.logit_scale = self.add_weight(name="logit_scale", shape=(h,),
                                           initializer=keras.initializers.Constant(math.log(10.0)))
        self.cpb_kernel1 = self.add_weight(name="cpb_kernel1", shape=(2, self.cpb_hidden), initializer=_dense_init())
        self.cpb_bias1 = self.add_weight(name="cpb_bias1", shape=(self.cpb_hidden,), initializer="zeros")
        self.cpb_kernel2 = self.add_weight(name="cpb_kernel2", shape=(self.cpb_hidden, h), initializer=_dense_init())
        self.proj_kernel = self.add_weight(name="proj_kernel", shape=(d, d), initializer=_dense_init())
        self.proj_bias = self.add_weight(name="proj_bias", shape=(d,), initializer="zeros")

    def position_bias(self):
        """[heads, W², W²] bias: the CPB MLP on the log-spaced table, gathered per pair, 16·sigmoid."""
        hidden = ops.relu(ops.matmul(ops.convert_to_tensor(self.table), self.cpb_kernel1) + self.cpb_bias1)
        per_offset = ops.matmul(hidden, self.cpb_kernel2)
        n = self.window_size**2
        bias = ops.reshape(ops.take(per_offset, self.index, axis=0), (n, n, self.num_heads))
        return 16.0 * ops.sigmoid(ops.transpose(bias, (2, 0, 1)))

    def call(self, x, window_mask=None):
        n, d, h = self.window_size**2, self.dim, self.num_heads
        bias = ops.concatenate([self.q_bias, ops.zeros_like(self.v_bias), self.v_bias])
        qkv = ops.reshape(ops.matmul(x, self.qkv_kernel) + bias, (-1, n, 3, h, d // h))
        qkv = ops.transpose(qkv, (2, 0, 3, 1, 4))
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q / ops.maximum(ops.norm(q, axis=-1, keepdims=True), 1e-12)
        k = k / ops.maximum(ops.norm(k, axis=-1, keepdims=True), 1e-12)
        scale = ops.exp(ops.minimum(self.logit_scale, math.log(100.0)))
        attn = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * ops.reshape(scale, (1, h, 1, 1))
        attn = attn + self.position_bias()[None]
        if window_mask is not None:
            windows = ops.shape(window_mask)[0]
            attn = ops.reshape(attn, (-1, windows, h, n, n)) + window_mask[None, :, None]
            attn = ops.reshape(attn, (-1, h, n, n))
        out = ops.matmul(ops.softmax(attn, axis=-1), v)
        out = ops.reshape(ops.transpose(out, (0, 2, 1, 3)), (-1, n, d))
        return ops.matmul(out, self.proj_kernel) + self.proj_bias

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "num_heads": self.num_heads, "window_size": self.window_size,
                "pretrained_window_size": self.pretrained_window_size, "cpb_hidden": self.cpb_hidden}


@keras.saving.register_keras_serializable(package="tfagiqa")
class SwinV2Block(keras.layers.Layer):
    """One block on ``[B, H·W, C]`` tokens: (shifted) window attention and an MLP, each with residual post-norm.

    ``x = x + norm1(attn(x)); x = x + norm2(mlp(x))``; the norms start at zero (timm's ``_init_respostnorm``), so
    a fresh block is the identity.
    """

    def __init__(self, dim: int, resolution: int, num_heads: int, window_size: int, shift_size: int,
                 mlp_ratio: float = 4.0, cpb_hidden: int = 512, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.resolution, self.num_heads = int(dim), int(resolution), int(num_heads)
        self.requested_window, self.requested_shift = int(window_size), int(shift_size)
        self.window, self.shift = window_and_shift(self.resolution, self.requested_window, self.requested_shift)
        self.mlp_ratio, self.cpb_hidden = float(mlp_ratio), int(cpb_hidden)
        self.mask = shift_mask(self.resolution, self.window, self.shift)
        self.attn = WindowAttentionV2(self.dim, self.num_heads, self.window, cpb_hidden=self.cpb_hidden, name="attn")
        self.norm1 = keras.layers.LayerNormalization(epsilon=LN_EPS, gamma_initializer="zeros", name="norm1")
        hidden = int(self.dim * self.mlp_ratio)
        self.fc1 = keras.layers.Dense(hidden, kernel_initializer=_dense_init(), name="fc1")
        self.fc2 = keras.layers.Dense(self.dim, kernel_initializer=_dense_init(), name="fc2")
        self.norm2 = keras.layers.LayerNormalization(epsilon=LN_EPS, gamma_initializer="zeros", name="norm2")

    def build(self, input_shape):
        tokens = (None, self.window**2, self.dim)
        self.attn.build(tokens)
        self.norm1.build(input_shape)
        self.fc1.build(input_shape)
        self.fc2.build((*input_shape[:-1], int(self.dim * self.mlp_ratio)))
        self.norm2.build(input_shape)

    def _windows(self, grid):
        """[B, R, R, C] → [B·nW, W², C] (row-major windows, row-major inside each)."""
        r, w, c = self.resolution, self.window, self.dim
        x = ops.reshape(grid, (-1, r // w, w, r // w, w, c))
        return ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, w * w, c))

    def _grid(self, windows):
        """Inverse of :meth:`_windows`."""
        r, w, c = self.resolution, self.window, self.dim
        x = ops.reshape(windows, (-1, r // w, r // w, w, w, c))
        return ops.reshape(ops.transpose(x, (0, 1, 3, 2, 4, 5)), (-1, r, r, c))

    def attention(self, x):
        grid = ops.reshape(x, (-1, self.resolution, self.resolution, self.dim))
        if self.shift:
            grid = ops.roll(grid, shift=(-self.shift, -self.shift), axis=(1, 2))
        mask = None if self.mask is None else ops.convert_to_tensor(self.mask)
        grid = self._grid(self.attn(self._windows(grid), window_mask=mask))
        if self.shift:
            grid = ops.roll(grid, shift=(self.shift, self.shift), axis=(1, 2))
        return ops.reshape(grid, (-1, self.resolution**2, self.dim))

    def call(self, x):
        x = x + self.norm1(self.attention(x))
        mlp = self.fc2(keras.activations.gelu(self.fc1(x), approximate=False))
        return x + self.norm2(mlp)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "resolution": self.resolution, "num_heads": self.num_heads,
                "window_size": self.requested_window, "shift_size": self.requested_shift,
                "mlp_ratio": self.mlp_ratio, "cpb_hidden": self.cpb_hidden}


@keras.saving.register_keras_serializable(package="tfagiqa")
class SwinV2PatchMerging(keras.layers.Layer):
    """2×2 neighbourhoods concatenated as [x00, x10, x01, x11] → Linear(4C→2C, no bias) → LayerNorm (V2 order)."""

    def __init__(self, dim: int, resolution: int, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.resolution = int(dim), int(resolution)
        self.reduction = keras.layers.Dense(2 * self.dim, use_bias=False, kernel_initializer=_dense_init(),
                                            name="reduction")
        self.norm = keras.layers.LayerNormalization(epsilon=LN_EPS, name="norm")

    def build(self, input_shape):
        self.reduction.build((None, 4 * self.dim))
        self.norm.build((None, 2 * self.dim))

    def call(self, x):
        r, c = self.resolution, self.dim
        grid = ops.reshape(x, (-1, r, r, c))
        parts = [grid[:, 0::2, 0::2], grid[:, 1::2, 0::2], grid[:, 0::2, 1::2], grid[:, 1::2, 1::2]]
        merged = ops.reshape(ops.concatenate(parts, axis=-1), (-1, (r // 2) ** 2, 4 * c))
        return self.norm(self.reduction(merged))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], (self.resolution // 2) ** 2, 2 * self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "resolution": self.resolution}


@keras.saving.register_keras_serializable(package="tfagiqa")
class TorchViewTaps(keras.layers.Layer):
    """SF-IQA's ``x.view(b, C, H, W)`` on ``[B, L, C]`` tokens, expressed on an NHWC map: the tokens' memory is
    reinterpreted as channels-first (no permute), then brought back to NHWC. Only for their trained weights."""

    def call(self, x):
        shape = ops.shape(x)
        channels_first = ops.reshape(x, (-1, shape[3], shape[1], shape[2]))
        return ops.transpose(channels_first, (0, 2, 3, 1))


def stage_name(i: int) -> str:
    """Output name of stage ``i`` (0-based): stage1 .. stage4."""
    return f"stage{i + 1}"


def swinv2_backbone(config: SwinV2Config = SWINV2_TINY_W16_256, name: str = "swinv2") -> keras.Model:
    """ImageNet-normalised NHWC images → {"stage1".."stage4": NHWC maps} (stage outputs after their merging).

    Layer names follow timm's module paths with ``.`` → ``_`` (``layers_0_blocks_1``, ``layers_0_downsample``),
    which is what ``tfagiqa convert swinv2`` relies on.
    """
    images = keras.Input((config.image_size, config.image_size, 3), name="images")
    x = keras.layers.Conv2D(config.embed_dim, config.patch_size, strides=config.patch_size,
                            name="patch_embed_proj")(images)
    x = keras.layers.Reshape((-1, config.embed_dim))(x)
    x = keras.layers.LayerNormalization(epsilon=LN_EPS, name="patch_embed_norm")(x)
    outputs = {}
    dim = config.embed_dim
    for i, (depth, heads, res) in enumerate(zip(config.depths, config.num_heads, config.resolutions())):
        for j in range(depth):
            shift = 0 if j % 2 == 0 else config.window_size // 2
            x = SwinV2Block(dim, res, heads, config.window_size, shift, config.mlp_ratio, config.cpb_hidden,
                            name=f"layers_{i}_blocks_{j}")(x)
        if i < len(config.depths) - 1:
            x = SwinV2PatchMerging(dim, res, name=f"layers_{i}_downsample")(x)
            dim, res = 2 * dim, res // 2
        outputs[stage_name(i)] = keras.layers.Reshape((res, res, dim), name=stage_name(i))(x)
    return keras.Model(images, outputs, name=name)
