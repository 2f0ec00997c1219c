"""DLSR-IQA's protocol: frozen-backbone features (cached per view), AGIQA-3K + AIGCIQA2023 rescaled by eq. 1,
3-fold cross-validation grouped by prompt, one head per fold, per subset and per setting.

Choices the report leaves open (SPEC §4.1), fixed here and recorded: folds are grouped by prompt within each
dataset (seed 42); the augmentation is horizontal flip + rotation ±36° + translation ±10 % producing
``aug_views`` extra feature views of every training image; heads train with batch 32 and early stopping on
a validation carve-out of 10 % of the training groups (``selection=best_val_loss``); the AIGCIQA2023 scale
is mapped with the nominal ranges ([0, 100] → [0, 5]) unless ``range_kind="empirical"``; StairReward (Table
VIII) runs on AGIQA-3K alone, the only dataset with morpheme fields, against an AGIQA-3K-only alignment
baseline on the same folds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfagiqa import metrics
from tfagiqa.backbones.resnet import resnet152v2_features
from tfagiqa.backbones.tiny import tiny_cnn_features
from tfagiqa.backbones.weights import ResolvedWeights
from tfagiqa.data import load_dataset, schema, splits
from tfagiqa.data.cache import FeatureCache
from tfagiqa.data.rescale import rescale_to
from tfagiqa.data.subsets import SUBSET_ORDER
from tfagiqa.distribute import global_batch_size
from tfagiqa.methods.dlsr.logistic import LogisticMapping
from tfagiqa.methods.dlsr import model as dlsr
from tfagiqa.profile import Profile
from tfagiqa.methods.dlsr.prompts import morphemes, prompt_vectorizer
from tfagiqa.training import fit, predict

AUGMENT = {"flip": True, "rotation": 36.0, "translation": 0.1}
SPLIT_SEED = 42
N_FOLDS = 3
TARGET = "target"  # the label on AGIQA-3K's scale that heads are trained on


PROFILES = {
    "smoke": Profile("smoke", epochs=60, batch_size=32, image_size=128,
                     options=dict(aug_views=2, patience=10, backbone="resnet152v2")),
    "paper": Profile("paper", epochs=100, batch_size=32, image_size=224,
                     options=dict(aug_views=4, patience=10, backbone="resnet152v2")),
    "test": Profile("smoke", epochs=40, batch_size=32, image_size=32, options=dict(aug_views=1, patience=8, backbone="tiny")),
}
BACKBONES: dict[str, Callable[..., ResolvedWeights]] = {
    "resnet152v2": lambda weights, size: resnet152v2_features(weights, size),
    "tiny": lambda weights, size: tiny_cnn_features(size),
}


def dlsr_data(data_root=None, synthetic: str = "auto", range_kind: str = "nominal",
              datasets: tuple[str, ...] = ("agiqa3k", "aigciqa2023")) -> pd.DataFrame:
    """The datasets' rows with quality and alignment mapped onto AGIQA-3K's scale (eq. 1), as ``target_<label>``.

    AIGCIQA2023's quality is mosz1 and its alignment is mosz3 (correspondence). Groups are prefixed with the
    dataset so prompts never collide across datasets.
    """
    frames = {name: load_dataset(name, data_root, synthetic=synthetic) for name in datasets}
    reference = frames.get("agiqa3k")
    if reference is None:
        reference = load_dataset("agiqa3k", data_root, synthetic=synthetic, require_images=False)
    parts = []
    for name, df in frames.items():
        df = df.copy()
        for label in (schema.QUALITY, schema.ALIGNMENT):
            df[f"{TARGET}_{label}"] = df[label] if name == "agiqa3k" else rescale_to(df, label, reference, label, range_kind)
        df[schema.GROUP] = name + ":" + df[schema.GROUP].astype(str)
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)
    out.attrs["data"] = "synthetic" if any(f.attrs["data"] == "synthetic" for f in frames.values()) else "real"
    out.attrs["dataset"] = "+".join(datasets)
    return out


def with_target(df: pd.DataFrame, label: str) -> pd.DataFrame:
    """A view of ``df`` whose ``target`` column is the given label (``quality`` or ``alignment``)."""
    out = df.assign(**{TARGET: df[f"{TARGET}_{label}"]})
    out.attrs.update(df.attrs)
    return out


@dataclass
class FeatureBank:
    """Backbone features of ``data``'s images for each view (``plain``, ``aug1``.., ``box50``, ``box75``).

    Features are computed for whole datasets through the on-disk cache, once per view, and looked up by image
    path, so folds, subsets and repeated runs never recompute them.
    """

    data: pd.DataFrame
    backbone: ResolvedWeights
    backbone_name: str
    cache: FeatureCache
    image_size: int
    batch_size: int = 32
    init_seed: int = 0
    memo: dict = field(default_factory=dict)

    def features(self, df: pd.DataFrame, view: str) -> np.ndarray:
        """[len(df), D] features of ``df``'s images (which must be among ``data``'s) for one view."""
        if view not in self.memo:
            self.memo[view] = self._compute(view)
        positions = pd.Index(self.data[schema.IMAGE]).get_indexer(df[schema.IMAGE])
        if (positions < 0).any():
            raise KeyError(f"{int((positions < 0).sum())} image(s) are not in this feature bank")
        return self.memo[view][positions]

    def _compute(self, view: str) -> np.ndarray:
        options: dict = {"image_size": self.image_size, "batch_size": self.batch_size}
        if view.startswith("box"):
            options.update(crop="center_crop", resize_to=int(round(self.image_size * 100 / int(view[3:]))))
        elif view.startswith("aug"):
            options.update(view=int(view[3:]), augment=AUGMENT)
        table = None
        for dataset, part in self.data.groupby(schema.DATASET, sort=False):
            key = {"dataset": dataset, "images_root": str(Path(part[schema.IMAGE].iloc[0]).parent),
                   "backbone": self.backbone_name, "weights": self.backbone.label, "init_seed": self.init_seed}
            values = self.cache.get_or_compute(
                key, part, lambda images: self.backbone.model(images, training=False), **options)
            if table is None:
                table = np.empty((len(self.data), values.shape[1]), dtype="float32")
            table[np.flatnonzero(self.data[schema.DATASET].to_numpy() == dataset)] = values
        return table


def model_inputs(df: pd.DataFrame, bank: FeatureBank, kind: str, view: str = "plain") -> dict:
    """The head's inputs for ``df``'s rows: image features of ``view``, and prompt / morphemes / T2I model."""
    x = {"image_features": bank.features(df, view)}
    if kind in ("alignment", "stair_reward"):
        x["prompt"] = df[schema.PROMPT].astype(str).to_numpy()[:, None]
        x["generator"] = df[schema.GENERATOR].astype(str).to_numpy()[:, None]
    if kind == "stair_reward":
        for box in dlsr.STAIR_BOXES[:-1]:
            x[dlsr.box_input_name(box)] = bank.features(df, f"box{round(box * 100)}")
        parts = np.array(morphemes(df), dtype=str)
        for k in range(parts.shape[1]):
            x[f"morpheme_{k + 1}"] = parts[:, k:k + 1]
    return x


def training_views(profile: Profile) -> list[str]:
    """The plain view plus the augmented ones; each training image appears once per view."""
    return ["plain"] + [f"aug{v}" for v in range(1, profile.aug_views + 1)]


def stack_views(df: pd.DataFrame, bank: FeatureBank, kind: str, views: list[str]) -> tuple[dict, np.ndarray]:
    """Training inputs and targets with every view of every row."""
    per_view = [model_inputs(df, bank, kind, v) for v in views]
    x = {k: np.concatenate([p[k] for p in per_view]) for k in per_view[0]}
    return x, np.tile(df[TARGET].to_numpy(dtype="float32"), len(views))


def feature_normalizer(features: np.ndarray) -> keras.layers.Normalization:
    """Standardisation by the training features' mean and std, the std floored at a tenth of its median so that
    near-constant dimensions (dead units of a random backbone) cannot blow up unseen features."""
    variance = features.var(axis=0)
    floor = (0.1 * np.median(np.sqrt(variance))) ** 2
    return keras.layers.Normalization(mean=features.mean(axis=0), variance=np.maximum(variance, floor),
                                      name="feature_standardise")


def build_head(kind: str, config: dlsr.HeadConfig, train: pd.DataFrame, features: np.ndarray) -> keras.Model:
    """A compiled head; feature statistics, prompt vocabulary and T2I model list come from the training rows only."""
    normalizer = feature_normalizer(features)
    if kind == "perception":
        model = dlsr.perception_model(config, features.shape[1], normalizer)
    else:
        texts = list(train[schema.PROMPT])
        if kind == "stair_reward":
            texts += [m for row in morphemes(train) for m in row]
        vectorizer = prompt_vectorizer(texts)
        generators = sorted(train[schema.GENERATOR].unique())
        builder = dlsr.alignment_model if kind == "alignment" else dlsr.stair_reward_model
        model = builder(vectorizer, generators, config, features.shape[1], normalizer)
    return dlsr.compile_model(model, config)


@dataclass
class FoldResult:
    """One trained head and its test-fold metrics."""

    model: keras.Model
    metrics: dict
    n_train: int
    n_test: int

    def alpha(self) -> str:
        """The learned logistic α (space-separated), or "" for heads without the mapping layer."""
        layers = [layer for layer in self.model.layers if isinstance(layer, LogisticMapping)]
        return " ".join(f"{a:.4f}" for a in keras.ops.convert_to_numpy(layers[0].alpha)) if layers else ""


def run_fold(df: pd.DataFrame, side: pd.Series, kind: str, config: dlsr.HeadConfig, bank: FeatureBank,
             profile: Profile, seed: int, desc: str, strategy: tf.distribute.Strategy | None = None,
             backup_dir=None) -> FoldResult:
    """Train one head on the fold's training groups (10 % of them held out for early stopping), test on the rest.

    Under a distribution strategy the head is built in its scope and the global batch is the profile's batch per
    replica; ``backup_dir`` makes an interrupted fold resume from its last epoch.
    """
    strategy = strategy or tf.distribute.get_strategy()
    with_val = splits.carve_validation(df, side, fraction=0.1, seed=seed)
    train, val, test = (df[with_val == s] for s in (splits.TRAIN, splits.VAL, splits.TEST))
    x_train, y_train = stack_views(train, bank, kind, training_views(profile))
    with strategy.scope():
        model = build_head(kind, config, train, x_train["image_features"])
    validation = (model_inputs(val, bank, kind), val[TARGET].to_numpy(dtype="float32"))
    fit(model, x_train, y_train, validation=validation, epochs=profile.epochs,
        batch_size=global_batch_size(profile.batch_size, strategy), patience=profile.patience, seed=seed, desc=desc,
        backup_dir=backup_dir)
    scores = predict(model, model_inputs(test, bank, kind))
    return FoldResult(model, metrics.evaluate(scores, test[TARGET].to_numpy()), len(train), len(test))


def folds(df: pd.DataFrame) -> dict[int, pd.Series]:
    """The 3 grouped folds, keyed 1..3."""
    made = splits.grouped_kfold(df, k=N_FOLDS, seed=SPLIT_SEED)
    return {i + 1: side for i, side in enumerate(made.values())}


def subset_frames(df: pd.DataFrame) -> dict[tuple[str, object], pd.DataFrame]:
    """DLSR §III-D subsets, one model each: T2I groups (both datasets where the generator is an AGIQA-3K one),
    prompt length (AGIQA-3K only) and style (AIGCIQA2023 as no style, except prompt 051 as Baroque)."""
    out = {}
    for column, values in SUBSET_ORDER.items():
        if column not in df.columns:
            continue
        for value in values:
            part = df[df[column] == value]
            if part[schema.GROUP].nunique() >= N_FOLDS * 2:
                out[(column, value)] = part.reset_index(drop=True)
    return out
