"""IP-IQA's protocol (SPEC §4.2, §1.2): fine-tune end to end on 10 grouped 80/20 splits, pick an epoch, average.

* Splits: AGIQA-1K's per-group Bernoulli(0.8) draw, AGIQA-3K's permutation of the prompt ids (240 train), 10
  repeats from one seed (42), every repeat starting again from the same initial weights.
* Training: images resized to 512×512, horizontal flip, AdamW (β 0.9/0.999, weight decay 0) with a constant
  lr 1e-5 and 10× on the head, batch 32 (last partial batch dropped), 100 epochs, MSE on the raw MOS
  (AGIQA-3K: both outputs jointly).
* Selection ``best_test_sum`` (the official code): the epoch with the largest SRCC+PLCC+KRCC on the test split
  (AGIQA-3K: summed over quality and alignment). ``last_epoch``: the last epoch of the same run.
  ``best_val_sum`` (the clean variant, a separate run): 10 % of the training groups held out, the epoch chosen
  by the same sum on them, its test metrics reported.
Differences kept on purpose and recorded: images are resized bilinearly with antialiasing (the code: bicubic).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfagiqa import distribute, metrics, training
from tfagiqa.backbones import clip_resnet, clip_text, clip_vit
from tfagiqa.backbones.clip_resnet import CLIPResNetConfig
from tfagiqa.backbones.clip_text import CLIPTextConfig
from tfagiqa.backbones.clip_vit import CLIPViTConfig
from tfagiqa.backbones.clip_convert import load_converted, load_tokenizer
from tfagiqa.data import schema, splits
from tfagiqa.data.epochs import EpochClock
from tfagiqa.data.pipeline import augmentation, make_dataset
from tfagiqa.errors import WeightsError
from tfagiqa.presets import resolve
from tfagiqa.profile import Profile

SPLIT_SEED = 42
LABELS = {"agiqa1k": (schema.OVERALL,), "agiqa3k": (schema.QUALITY, schema.ALIGNMENT)}
SELECTIONS = ("best_test_sum", "last_epoch", "best_val_sum")
VAL_FRACTION = 0.1


PROFILES = {
    "paper": Profile("paper", epochs=100, batch_size=32, image_size=512, learning_rate=1e-5, repeats=10,
                     options=dict(head_multiplier=10.0)),
    # tiny random encoders learn nothing at 1e-5 within a few epochs: the smoke profile raises the rate
    "smoke": Profile("smoke", epochs=4, batch_size=16, image_size=64, learning_rate=1e-3, repeats=2, tiny=True,
                     options=dict(head_multiplier=10.0)),
}


@keras.saving.register_keras_serializable(package="tfagiqa")
class HeadScaledAdamW(keras.optimizers.AdamW):
    """AdamW whose step is ``head_multiplier`` × larger for variables whose path contains ``head_pattern``
    (the official ``head_scale``: every parameter named "*head*" gets lr × 10)."""

    def __init__(self, head_multiplier: float = 10.0, head_pattern: str = "head", **kwargs):
        super().__init__(**kwargs)
        self.head_multiplier, self.head_pattern = float(head_multiplier), head_pattern

    def build(self, variables):
        super().build(variables)
        self._is_head = [self.head_pattern in v.path for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        if self._is_head[self._get_variable_index(variable)]:
            learning_rate = learning_rate * self.head_multiplier
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "head_multiplier": self.head_multiplier, "head_pattern": self.head_pattern}


def optimizer(profile: Profile) -> HeadScaledAdamW:
    """AdamW, weight decay 0, constant lr, head × 10 (β and ε are PyTorch's defaults)."""
    return HeadScaledAdamW(head_multiplier=profile.head_multiplier, learning_rate=profile.learning_rate,
                           weight_decay=0.0, beta_1=0.9, beta_2=0.999, epsilon=1e-8)


def repeat_splits(df: pd.DataFrame, dataset: str, repeats: int) -> dict[str, pd.Series]:
    """The official IP-IQA splits, test set for test set (checked against the official code on the real label files).

    AGIQA-1K: a Bernoulli draw per object group from Python's ``random`` seeded once with 42, groups in file order
    (``splits.bernoulli_group_splits``). AGIQA-3K: ``np.random.permutation(300)`` of the prompt ids, the first 240
    train; the official code draws them from numpy's global stream after ``np.random.seed(42)``, which is the
    stream of ``RandomState(42)``, and the ids ``prompt000``…``prompt299`` sort into numeric order, so
    ``splits.grouped_random_splits`` gives the same ten splits. Repeat k continues the stream of repeat k − 1, as
    the official ``--num_cv 10`` does; a run of ``repeats`` < 10 gives the official first ``repeats`` splits.
    """
    if dataset == "agiqa1k":
        return splits.bernoulli_group_splits(df, 0.8, repeats, seed=SPLIT_SEED)
    return splits.grouped_random_splits(df, 0.8, repeats, seed=SPLIT_SEED)


def prompt_lookup(prompts, tokenize: Callable[[list[str]], np.ndarray]) -> Callable[[tf.Tensor], tf.Tensor]:
    """A graph function prompt strings → token ids, the tokenizer run once per distinct prompt beforehand."""
    unique = sorted({str(p) for p in prompts})
    ids = tf.constant(tokenize(unique), tf.int32)
    table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(tf.constant(unique),
                                                                          tf.range(len(unique), dtype=tf.int64)), -1)
    return lambda batch: tf.gather(ids, table.lookup(batch))


def dataset(df: pd.DataFrame, labels: tuple[str, ...], profile: Profile, lookup, *, train: bool,
            seed: int, replicas: int = 1, clock: EpochClock | None = None) -> tf.data.Dataset:
    """Batches of ({"images", "token_ids"}, labels) (no ids when ``lookup`` is None): resized, flipped when
    training (last partial batch dropped; order and flips keyed to the ``clock``'s epoch); the batch is
    ``profile.batch_size`` per replica."""
    ds = make_dataset(df, labels, image_size=profile.image_size, crop="resize",
                      batch_size=profile.batch_size * replicas,
                      augment=augmentation(flip=True, seed=seed) if train else None, shuffle=train, seed=seed,
                      with_prompt=True, drop_remainder=train and len(df) >= profile.batch_size, clock=clock)
    if lookup is None:
        return ds.map(lambda x, y: ({"images": x["image"]}, y))
    return ds.map(lambda x, y: ({"images": x["image"], "token_ids": lookup(x["prompt"])}, y))


def evaluate_outputs(predictions: np.ndarray, df: pd.DataFrame, labels: tuple[str, ...]) -> dict[str, dict]:
    """Metrics per output column (SRCC, raw PLCC, KRCC, RMSE, logistic PLCCs; a failed logistic fit is flagged in
    ``plcc_logistic*_converged`` instead of warned about every epoch)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metrics.MetricWarning)
        return {label: metrics.evaluate(predictions[:, i], df[label].to_numpy()) for i, label in enumerate(labels)}


def selection_sum(scores: dict[str, dict]) -> float:
    """SRCC + PLCC + KRCC summed over the outputs (NaN counts as −inf so a degenerate epoch is never picked)."""
    total = sum(s["srcc"] + s["plcc"] + s["krcc"] for s in scores.values())
    return float(total) if np.isfinite(total) else -np.inf


@dataclass
class RepeatOutcome:
    """Per-epoch test (and validation) metrics of one training run, and the chosen epochs."""

    history: list[dict]
    n_train: int
    n_test: int
    model: keras.Model | None = None

    def pick(self, selection: str) -> tuple[int, dict[str, dict]]:
        """(epoch, test metrics per output) under a selection rule."""
        if selection == "last_epoch":
            epoch = len(self.history) - 1
        else:
            key = "test" if selection == "best_test_sum" else "val"
            epoch = int(np.argmax([selection_sum(h[key]) for h in self.history]))
        return epoch + 1, self.history[epoch]["test"]


def train_repeat(build: Callable[[], keras.Model], df: pd.DataFrame, side: pd.Series, labels: tuple[str, ...],
                 profile: Profile, lookup, seed: int, with_validation: bool, desc: str = "",
                 strategy: tf.distribute.Strategy | None = None, backup_dir: Path | None = None) -> RepeatOutcome:
    """Train a fresh model on one split, evaluating every epoch on test (and on the carved validation groups);
    under a distribution strategy the model and optimiser are built in its scope. With ``backup_dir`` an
    interrupted run resumes after its last completed epoch (weights, AdamW moments and per-epoch metrics)."""
    strategy = strategy or tf.distribute.get_strategy()
    if with_validation:
        side = splits.carve_validation(df, side, fraction=VAL_FRACTION, seed=seed)
    train, test = df[side == splits.TRAIN], df[side == splits.TEST]
    val = df[side == splits.VAL] if with_validation else None
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        model = build()
        model.compile(optimizer=optimizer(profile), loss="mean_squared_error")
    clock = EpochClock()
    train_ds = distribute.shard(dataset(train, labels, profile, lookup, train=True, seed=seed,
                                        replicas=strategy.num_replicas_in_sync, clock=clock), "data")
    evals = {"test": (test, dataset(test, labels, profile, lookup, train=False, seed=seed))}
    if val is not None:
        evals["val"] = (val, dataset(val, labels, profile, lookup, train=False, seed=seed))

    def evaluate(epoch: int, logs: dict) -> dict:
        entry = {name: evaluate_outputs(predict_scores(model, ds), part, labels) for name, (part, ds) in evals.items()}
        line = "  ".join(f"{name} {selection_sum(scores):+.3f}" for name, scores in entry.items())
        print(f"    {desc} epoch {epoch + 1}/{profile.epochs}: SRCC+PLCC+KRCC {line}", flush=True)
        return entry

    history = training.fit(model, train_ds, epochs=profile.epochs, evaluate=evaluate, seed=None, desc=desc,
                           backup_dir=backup_dir, clock=clock)
    return RepeatOutcome(history, len(train), len(test), model)


def predict_scores(model: keras.Model, ds: tf.data.Dataset) -> np.ndarray:
    """[N, outputs] predictions over a labelled dataset (labels dropped)."""
    out = model.predict(ds.map(lambda x, y: x), verbose=0)
    return np.asarray(out).reshape(-1, np.asarray(out).shape[-1])


def score_test_split(model: keras.Model, df: pd.DataFrame, side: pd.Series, labels: tuple[str, ...],
                     profile: Profile, lookup) -> tuple[dict[str, dict], int]:
    """Metrics of a training-free scorer (CLIPScore: one score for every output) on one split's test side."""
    test = df[side == splits.TEST]
    predictions = predict_scores(model, dataset(test, labels, profile, lookup, train=False, seed=0))
    return evaluate_outputs(np.repeat(predictions[:, :1], len(labels), axis=1), test, labels), len(test)


@dataclass
class ClipStart:
    """Where IP-IQA starts from: encoder configurations, their weights (None = random) and the tokenizer. With a
    ViT, ``image_encoder`` is the preset's ``encode_image`` (:func:`tfagiqa.backbones.clip_vit.clip_vit_image_encoder`).
    """

    vision: CLIPResNetConfig | CLIPViTConfig
    text: CLIPTextConfig
    image_encoder: keras.Model | None
    text_encoder: keras.Model | None
    tokenize: Callable[[list[str]], np.ndarray]
    label: str
    tokenizer: keras.layers.Layer | None = None  # the in-graph tokenizer layer (None: the hash tokenizer)

    @property
    def pretrained(self) -> bool:
        return self.image_encoder is not None


BACKBONES = ("rn50", "vit")
KERAS_HUB = "keras-hub:"


def resolve_clip(weights: str, profile: Profile, backbone: str = "rn50") -> ClipStart:
    """``none``: random encoders (tiny in the smoke profile); a clip-rn50 preset (``tfagiqa convert clip``): its
    weights and BPE tokenizer; ``auto``: ``$TFAGIQA_CLIP_DIR`` or ``./weights/clip_rn50`` when present, else random,
    loudly (:func:`tfagiqa.presets.resolve`). Rows record ``clip:DIR``.

    ``backbone="vit"``: keras-hub's CLIP ViT (:mod:`tfagiqa.backbones.clip_vit`), from ``keras-hub:PRESET_OR_DIR``
    (the preset's ViT, text tower and BPE tokenizer) or random (``none``; ``auto`` says so loudly)."""
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}")
    if backbone == "vit" or weights.startswith(KERAS_HUB):
        return resolve_vit(weights, profile, backbone)
    resolved = resolve(weights, kind="clip-rn50", label="clip:{path}", what="IP-IQA")
    if resolved.random:
        vision = clip_resnet.tiny_config(profile.image_size) if profile.tiny else clip_resnet.RN50
        text = clip_text.tiny_text_config() if profile.tiny else clip_text.RN50_TEXT
        hasher = clip_text.HashTokenizer(text.vocab_size, text.context_length)
        return ClipStart(vision, text, None, None, lambda p: clip_text.tokenize(p, hasher), "random", hasher)
    folder = resolved.preset.folder
    bpe = load_tokenizer(folder)
    image_encoder, text_encoder, config = load_converted(folder)
    vision = clip_resnet.CLIPResNetConfig(**{**config["vision"], "layers": tuple(config["vision"]["layers"])})
    text = clip_text.CLIPTextConfig(**config["text"])
    return ClipStart(vision, text, image_encoder, text_encoder, lambda p: clip_text.tokenize(p, bpe), resolved.label,
                     bpe)


def resolve_vit(weights: str, profile: Profile, backbone: str) -> ClipStart:
    """:func:`resolve_clip` for keras-hub's CLIP ViT: a ``keras-hub:`` preset, or random encoders (tiny in smoke)."""
    if backbone != "vit":
        raise WeightsError(f"{weights} is a keras-hub CLIP ViT: pass --backbone vit (backbone='vit')")
    resolved = resolve(weights, kind="clip-vit", what="IP-IQA ViT")
    if not resolved.random:
        return keras_hub_start(resolved.preset.source["keras_hub"])
    vision = clip_vit.tiny_vit_config() if profile.tiny else clip_vit.VIT_B16
    text = clip_text.tiny_text_config() if profile.tiny else clip_vit.VIT_B16_TEXT
    hasher = clip_text.HashTokenizer(text.vocab_size, text.context_length)
    return ClipStart(vision, text, None, None, lambda p: clip_text.tokenize(p, hasher), "random", hasher)


def keras_hub_start(preset: str) -> ClipStart:
    """A keras-hub CLIP preset (folder or cached name): its ViT, its text tower mapped to OpenAI's layout, its BPE."""
    backbone = clip_vit.load_backbone(preset)
    text = clip_vit.text_config_of(backbone)
    bpe = clip_vit.load_tokenizer(preset, text.context_length)
    return ClipStart(clip_vit.vit_config_of(backbone), text, clip_vit.clip_vit_image_encoder(backbone),
                     clip_vit.text_encoder_from_keras_hub(backbone), lambda p: clip_text.tokenize(p, bpe),
                     f"keras-hub:{preset}", bpe)
