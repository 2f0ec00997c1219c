"""NIQE (Mittal, Soundararajan & Bovik, "Making a 'completely blind' image quality analyzer", SPL 2013).

§II-A: the grey image is locally normalised into MSCN coefficients (7×7 Gaussian window, σ = 7/6, C = 1).
§II-B: it is cut into 96×96 patches. Each patch gives 18 features: an asymmetric generalised Gaussian fitted to
its MSCN coefficients (shape, mean of the two scales β_l, β_r) and to each of its 4 neighbour products (shape,
mean η, β_l, β_r); the same is done on the image resized to half size (48×48 patches) → 36 features a patch.
§II-C: the pristine model is a multivariate Gaussian (μ, Σ) fitted to the patches of pristine natural images
whose sharpness (mean local σ) exceeds 0.75 × the image's sharpest patch (:func:`fit_pristine_model`).
§II-D: the test image's patches (all of them) give (μ₂, Σ₂), and
    NIQE = √((μ - μ₂)ᵀ ((Σ + Σ₂) / 2)⁺ (μ - μ₂)),
lower is better. Patches whose fit is undefined (NaN) are left out as MATLAB's nanmean / nancov do.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfagiqa.errors import DataError, WeightsError
from tfagiqa.layers import nss

PATCH = 96
N_FEATURES = 36
SHARPNESS_THRESHOLD = 0.75
PINV_RCOND = N_FEATURES * np.finfo(np.float64).eps  # MATLAB pinv's tolerance: max(size) · eps · ‖A‖


def patch_features(images: tf.Tensor, convention: nss.Convention, patch: int = PATCH) -> tuple[tf.Tensor, tf.Tensor]:
    """[N, H, W, 3] in [0, 255] → (float64 [N, P, 36] patch features, [N, P] patch sharpness).

    The image is cropped to whole patches (top-left kept), P = ⌊H/96⌋·⌊W/96⌋ patches in row-major order.
    """
    grey = nss.grey_levels(images, convention)
    rows, cols = tf.shape(grey)[1] // patch, tf.shape(grey)[2] // patch
    tf.debugging.assert_positive(rows * cols, message=f"NIQE needs images of at least {patch}×{patch} pixels")
    x = grey[:, :rows * patch, :cols * patch]
    features = []
    for scale in (1, 2):
        size = patch // scale
        coefficients, sigma = nss.mscn(x, convention.padding)
        if scale == 1:
            sharpness = tf.reduce_mean(_blocks(sigma, size, rows, cols), axis=[-2, -1])
        features.append(patch_statistics(_blocks(coefficients, size, rows, cols), convention))
        x = nss.half_size(x, convention.resize)
    return tf.concat(features, axis=-1), sharpness


def patch_statistics(blocks: tf.Tensor, convention: nss.Convention) -> tf.Tensor:
    """[N, P, s, s] MSCN patches → [N, P, 18]: (α, (β_l + β_r)/2) of the patch, (α, η, β_l, β_r) per product."""
    flat = tf.reshape(blocks, tf.concat([tf.shape(blocks)[:2], [-1]], 0))
    alpha, left, right = nss.aggd_fit(flat, convention.right_includes_zero)
    ratio = nss.aggd_scale_ratio(alpha)
    products = nss.neighbour_products(blocks, convention.pairs)  # [N, P, 4, s, s]
    products = tf.reshape(products, tf.concat([tf.shape(products)[:3], [-1]], 0))
    p_alpha, p_left, p_right = nss.aggd_fit(products, convention.right_includes_zero)
    p_ratio = nss.aggd_scale_ratio(p_alpha)
    beta_left, beta_right = p_left * p_ratio, p_right * p_ratio
    if convention.repeat_left_diagonals:  # scikit-video writes β_l twice for both diagonal products
        beta_right = tf.concat([beta_right[..., :2], beta_left[..., 2:]], axis=-1)
    pairs = tf.stack([p_alpha, nss.aggd_mean(p_alpha, p_left, p_right), beta_left, beta_right], axis=-1)
    own = tf.stack([alpha, (left + right) * ratio / 2], axis=-1)
    return tf.concat([own, tf.reshape(pairs, tf.concat([tf.shape(pairs)[:2], [16]], 0))], axis=-1)


def _blocks(x: tf.Tensor, size: int, rows: tf.Tensor, cols: tf.Tensor) -> tf.Tensor:
    """[N, rows·size, cols·size] → [N, rows·cols, size, size] (row-major patches)."""
    x = tf.reshape(x, [tf.shape(x)[0], rows, size, cols, size])
    return tf.reshape(tf.transpose(x, [0, 1, 3, 2, 4]), [tf.shape(x)[0], rows * cols, size, size])


def mvg_fit(features: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """[N, P, F] → (μ [N, F], Σ [N, F, F]) as MATLAB's nanmean (per column, over finite values) and nancov
    (over the rows that are entirely finite, divided by n - 1; zeros when fewer than 2 such rows)."""
    features = tf.cast(features, tf.float64)
    finite = tf.math.is_finite(features)
    zeros = tf.zeros_like(features)
    counts = tf.reduce_sum(tf.cast(finite, tf.float64), axis=1)
    mean = tf.reduce_sum(tf.where(finite, features, zeros), axis=1) / counts
    complete = tf.cast(tf.reduce_all(finite, axis=-1), tf.float64)[..., None]  # [N, P, 1]
    n = tf.reduce_sum(complete, axis=1)  # [N, 1]
    centre = tf.reduce_sum(tf.where(complete > 0, features, zeros), axis=1) / tf.maximum(n, 1.0)
    centred = tf.where(complete > 0, features - centre[:, None], zeros)
    scatter = tf.einsum("npi,npj->nij", centred, centred)
    return mean, scatter / tf.maximum(n - 1.0, 1.0)[..., None]


def niqe_distance(pristine_mean: tf.Tensor, pristine_cov: tf.Tensor, mean: tf.Tensor, cov: tf.Tensor) -> tf.Tensor:
    """√((μ - μ₂)ᵀ ((Σ + Σ₂)/2)⁺ (μ - μ₂)) for a batch: μ₂ [N, F], Σ₂ [N, F, F] → [N]."""
    difference = tf.cast(pristine_mean, tf.float64)[None] - mean
    inverse = tf.linalg.pinv((tf.cast(pristine_cov, tf.float64)[None] + cov) / 2, rcond=PINV_RCOND)
    return tf.sqrt(tf.einsum("ni,nij,nj->n", difference, inverse, difference))


def niqe(images: tf.Tensor, pristine_mean: tf.Tensor, pristine_cov: tf.Tensor, convention: nss.Convention,
         patch: int = PATCH) -> tf.Tensor:
    """[N, H, W, 3] in [0, 255] → NIQE [N]: patch features, their MVG fit, the distance to the pristine MVG."""
    features, _ = patch_features(images, convention, patch)
    mean, cov = mvg_fit(features)
    return niqe_distance(pristine_mean, pristine_cov, mean, cov)


@functools.cache
def niqe_graph(convention: str, patch: int = PATCH) -> tf.types.experimental.GenericFunction:
    """:func:`niqe` under one convention as a TensorFlow function of (float64 images [N, H, W, 3], μ [36], Σ [36, 36]),
    traced once and shared by every caller (Keras predict, each SavedModel signature, the benchmark)."""
    rule = nss.get_convention(convention)
    return tf.function(lambda images, mean, cov: niqe(images, mean, cov, rule, patch), autograph=False,
                       input_signature=[tf.TensorSpec([None, None, None, 3], tf.float64),
                                        tf.TensorSpec([N_FEATURES], tf.float64),
                                        tf.TensorSpec([N_FEATURES, N_FEATURES], tf.float64)])


@dataclass(frozen=True)
class PristineModel:
    """NIQE's pristine multivariate Gaussian and the feature convention it was fitted with."""

    mean: np.ndarray  # [36]
    cov: np.ndarray   # [36, 36]
    convention: str
    source: str
    patch: int = PATCH

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` that ``create_scorer("niqe", path)`` loads."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, mean=self.mean, cov=self.cov, convention=self.convention, source=self.source, patch=self.patch)
        return path

    def score(self, images: tf.Tensor) -> tf.Tensor:
        """NIQE [N] of [N, H, W, 3] images in [0, 255] against this model."""
        return niqe_graph(self.convention, self.patch)(tf.cast(images, tf.float64), self.mean, self.cov)

    @classmethod
    def load(cls, path: str | Path) -> "PristineModel":
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(np.asarray(data["mean"], np.float64), np.asarray(data["cov"], np.float64),
                           nss.get_convention(str(data["convention"])).name, str(data["source"]), int(data["patch"]))
        except Exception as exc:
            raise WeightsError(f"cannot read a NIQE pristine model from {path}: {exc}") from exc


def fit_pristine_model(images: Iterable[np.ndarray], convention: str = "niqe-matlab",
                       threshold: float = SHARPNESS_THRESHOLD, patch: int = PATCH,
                       source: str = "fitted") -> PristineModel:
    """NIQE's pristine model from pristine images (H×W×3 in [0, 255]): the patches of each image sharper than
    ``threshold`` × its sharpest patch, pooled, then nanmean / nancov (LIVE's estimatemodelparam.m)."""
    rule = nss.get_convention(convention)
    selected = []
    for image in images:
        features, sharpness = patch_features(tf.constant(np.asarray(image, np.float32)[None]), rule, patch)
        sharpness = sharpness[0].numpy()
        selected.append(features[0].numpy()[sharpness > threshold * sharpness.max()])
    if not selected:
        raise DataError("fit_pristine_model needs at least one image")
    pooled = tf.constant(np.concatenate(selected)[None])
    mean, cov = mvg_fit(pooled)
    return PristineModel(mean[0].numpy(), cov[0].numpy(), rule.name, source, patch)


@keras.saving.register_keras_serializable(package="tfagiqa")
class Niqe(keras.layers.Layer):
    """{images [N, S, S, 3] in [0, 255]} → NIQE [N] against the pristine model held in its (frozen) weights."""

    def __init__(self, convention: str = "niqe-matlab", patch: int = PATCH, **kwargs):
        kwargs.setdefault("dtype", "float64")
        super().__init__(**kwargs)
        self.convention = nss.get_convention(convention).name
        self.patch = int(patch)

    def build(self, input_shape):
        self.pristine_mean = self.add_weight(name="pristine_mean", shape=(N_FEATURES,), initializer="zeros",
                                             trainable=False)
        self.pristine_cov = self.add_weight(name="pristine_cov", shape=(N_FEATURES, N_FEATURES),
                                            initializer="identity", trainable=False)

    def call(self, images):
        graph = niqe_graph(self.convention, self.patch)
        return graph(tf.cast(images, tf.float64), tf.convert_to_tensor(self.pristine_mean),
                     tf.convert_to_tensor(self.pristine_cov))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def get_config(self):
        return {**super().get_config(), "convention": self.convention, "patch": self.patch}


def niqe_scorer(pristine: PristineModel, input_size: int = 512, name: str = "niqe") -> keras.Model:
    """{images [N, S, S, 3] in [0, 255]} → {"quality": NIQE [N]} (lower is better)."""
    if input_size < pristine.patch:
        raise ValueError(f"NIQE needs inputs of at least {pristine.patch} pixels, got {input_size}")
    images = keras.Input((input_size, input_size, 3), name="images")
    layer = Niqe(pristine.convention, pristine.patch, name="niqe")
    score = layer(images)
    layer.set_weights([pristine.mean, pristine.cov])
    quality = keras.layers.Activation("linear", dtype="float32", name="quality")(score)
    return keras.Model({"images": images}, {"quality": quality}, name=name)
