"""BRISQUE (Mittal, Moorthy & Bovik, "No-reference image quality assessment in the spatial domain", TIP 2012).

§III: the luminance is locally normalised into MSCN coefficients (x - μ) / (σ + 1), μ and σ Gaussian-weighted
(7×7, σ = 7/6). A generalised Gaussian fitted to them gives 2 features (shape, variance); an asymmetric one
fitted to each of the 4 neighbour products (horizontal, vertical, two diagonals) gives 4 more each (shape, mean,
left and right variance): 18 features, computed again on the image resized to half size → 36.
§IV: an ε-SVR with an RBF kernel maps the features (scaled to [-1, 1]) to quality. LIVE's released regressor
predicts DMOS on LIVE's 0–100 scale: lower is better.

The features run in TensorFlow ops (:mod:`tfagiqa.layers.nss`), so a scorer exports as a SavedModel.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfagiqa.errors import WeightsError
from tfagiqa.layers import nss
from tfagiqa.methods.brisque.svr import FeatureRange, RbfSvr

N_FEATURES = 36
PAIR_NAMES = ("horizontal", "vertical", "main_diagonal", "secondary_diagonal")
FEATURE_NAMES = tuple(
    f"scale{s}_{name}" for s in (1, 2) for name in (
        "mscn_shape", "mscn_variance",
        *(f"{pair}_{stat}" for pair in PAIR_NAMES for stat in ("shape", "mean", "left_variance", "right_variance"))))
PAPER_CONVENTION = "brisque-matlab"


def brisque_features(images: tf.Tensor, convention: nss.Convention) -> tf.Tensor:
    """[N, H, W, 3] RGB in [0, 255] → float64 [N, 36] (order of :data:`FEATURE_NAMES`)."""
    grey = nss.grey_levels(images, convention)
    scales = [scale_features(grey, convention), scale_features(nss.half_size(grey, convention.resize), convention)]
    return tf.concat(scales, axis=-1)


@functools.cache
def feature_graph(convention: str) -> tf.types.experimental.GenericFunction:
    """:func:`brisque_features` under one convention as a TensorFlow function of float64 [N, H, W, 3], traced once
    and shared by every caller (Keras predict, each SavedModel signature, the benchmark)."""
    rule = nss.get_convention(convention)
    return tf.function(lambda images: brisque_features(images, rule), autograph=False,
                       input_signature=[tf.TensorSpec([None, None, None, 3], tf.float64)])


def scale_features(grey: tf.Tensor, convention: nss.Convention) -> tf.Tensor:
    """The 18 features of one scale: MSCN (shape, variance), then (shape, mean, σ_l², σ_r²) per neighbour product."""
    coefficients, _ = nss.mscn(grey, convention.padding)
    flat = tf.reshape(coefficients, [tf.shape(coefficients)[0], -1])
    if convention.mscn_fit == "ggd":
        shape, variance = nss.ggd_fit(flat)
    else:
        shape, left, right = nss.aggd_fit(flat, convention.right_includes_zero)
        variance = (left**2 + right**2) / 2
    products = nss.neighbour_products(coefficients, convention.pairs)
    products = tf.reshape(products, [tf.shape(products)[0], 4, -1])
    alpha, left, right = nss.aggd_fit(products, convention.right_includes_zero)
    pairs = tf.stack([alpha, nss.aggd_mean(alpha, left, right), left**2, right**2], axis=-1)  # [N, 4, 4]
    return tf.concat([tf.stack([shape, variance], -1), tf.reshape(pairs, [-1, 16])], axis=-1)


@keras.saving.register_keras_serializable(package="tfagiqa")
class BrisqueFeatures(keras.layers.Layer):
    """{images [N, S, S, 3] in [0, 255]} → float64 [N, 36] BRISQUE features under a named NSS convention."""

    def __init__(self, convention: str = PAPER_CONVENTION, **kwargs):
        kwargs.setdefault("dtype", "float64")
        super().__init__(**kwargs)
        self.convention = nss.get_convention(convention).name

    def call(self, images):
        return feature_graph(self.convention)(tf.cast(images, tf.float64))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], N_FEATURES)

    def get_config(self):
        return {**super().get_config(), "convention": self.convention}


@keras.saving.register_keras_serializable(package="tfagiqa")
class SvrHead(keras.layers.Layer):
    """[N, F] features → [N]: svm-scale's map to [lower, upper], then the RBF ε-SVR Σ c_i exp(-γ‖x - sv_i‖²) - ρ."""

    def __init__(self, n_support: int, n_features: int = N_FEATURES, gamma: float = 0.05, lower: float = -1.0,
                 upper: float = 1.0, **kwargs):
        kwargs.setdefault("dtype", "float64")
        super().__init__(**kwargs)
        self.n_support, self.n_features = int(n_support), int(n_features)
        self.gamma, self.lower, self.upper = float(gamma), float(lower), float(upper)

    def build(self, input_shape):
        def weight(name, shape):
            return self.add_weight(name=name, shape=shape, initializer="zeros", trainable=False)

        self.feature_min = weight("feature_min", (self.n_features,))
        self.feature_max = weight("feature_max", (self.n_features,))
        self.support_vectors = weight("support_vectors", (self.n_support, self.n_features))
        self.coefficients = weight("coefficients", (self.n_support,))
        self.rho = weight("rho", ())

    def call(self, features):
        features = tf.cast(features, tf.float64)
        span = self.feature_max - self.feature_min
        scaled = self.lower + (self.upper - self.lower) * (features - self.feature_min) / tf.where(span > 0, span, 1.0)
        scaled = tf.where(span > 0, scaled, tf.zeros_like(scaled))
        squared = tf.reduce_sum(tf.square(scaled[:, None, :] - self.support_vectors[None]), axis=-1)
        return tf.linalg.matvec(tf.exp(-self.gamma * squared), self.coefficients) - self.rho

    def set_regressor(self, feature_range: FeatureRange, svr: RbfSvr) -> None:
        """Load a fitted range and regressor (sizes must match the layer's)."""
        self.set_weights([feature_range.minimum, feature_range.maximum, svr.support_vectors, svr.coefficients,
                          np.float64(svr.rho)])

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def get_config(self):
        return {**super().get_config(), "n_support": self.n_support, "n_features": self.n_features,
                "gamma": self.gamma, "lower": self.lower, "upper": self.upper}


@dataclass(frozen=True)
class BrisqueRegressor:
    """A complete BRISQUE predictor: the feature convention it was trained with, the feature range and the SVR.

    ``higher_is_better``: False for LIVE's DMOS-trained model, True for one trained on MOS; ``source`` says where
    it comes from (recorded beside every export).
    """

    convention: str
    feature_range: FeatureRange
    svr: RbfSvr
    higher_is_better: bool
    source: str
    label_scale: str

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` that ``create_scorer("brisque", path)`` loads."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, convention=self.convention, feature_min=self.feature_range.minimum,
                 feature_max=self.feature_range.maximum, lower=self.feature_range.lower,
                 upper=self.feature_range.upper, support_vectors=self.svr.support_vectors,
                 coefficients=self.svr.coefficients, rho=self.svr.rho, gamma=self.svr.gamma,
                 higher_is_better=self.higher_is_better, source=self.source, label_scale=self.label_scale)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "BrisqueRegressor":
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    convention=nss.get_convention(str(data["convention"])).name,
                    feature_range=FeatureRange(data["feature_min"], data["feature_max"], float(data["lower"]),
                                               float(data["upper"])),
                    svr=RbfSvr(data["support_vectors"], data["coefficients"], float(data["rho"]), float(data["gamma"])),
                    higher_is_better=bool(data["higher_is_better"]), source=str(data["source"]),
                    label_scale=str(data["label_scale"]))
        except Exception as exc:
            raise WeightsError(f"cannot read a BRISQUE regressor from {path}: {exc}") from exc

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """[N, 36] features (of this regressor's convention) → [N] predictions, in numpy."""
        return self.svr.predict(self.feature_range.scale(features))


def brisque_scorer(regressor: BrisqueRegressor, input_size: int = 512, name: str = "brisque") -> keras.Model:
    """{images [N, S, S, 3] in [0, 255]} → {"quality": [N]}: BRISQUE features, then the regressor."""
    images = keras.Input((input_size, input_size, 3), name="images")
    features = BrisqueFeatures(regressor.convention, name="brisque_features")(images)
    head = SvrHead(len(regressor.svr.coefficients), features.shape[-1], regressor.svr.gamma,
                   regressor.feature_range.lower, regressor.feature_range.upper, name="svr")
    score = head(features)
    head.set_regressor(regressor.feature_range, regressor.svr)
    quality = keras.layers.Activation("linear", dtype="float32", name="quality")(score)
    return keras.Model({"images": images}, {"quality": quality}, name=name)
