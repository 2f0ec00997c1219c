"""Hypernet-based AGI assessment (Huang; SPEC §4.4) built on HyperIQA (Su et al. 2020; SPEC §3.2).

HyperIQA: a ResNet-50 reads a 224 crop; its last stage feeds the *hyper network*, which generates the weights
and biases of a small *target network* for this very image; the target network maps a feature vector to the
score. In HyperIQA that vector is the *local distortion aware* (LDA) vector, 16 + 16 + 16 + 176 = 224 values
from the four stages. The paper's variants change what goes in and out:

* quality / authenticity: HyperIQA as is, on one MOS (§III);
* both: one target net with 2 outputs (quality, authenticity) on AIGCIQA2023 (§III-B, Table II);
* image-based hypernet for alignment: the target input is a prompt embedding projected to 224 (§IV-A);
* text-based hypernet: the hyper input is a prompt embedding of its own text model (the paper: KPEval's phrase
  encoder; an MLP to a small map replaces the ResNet), the target input the BLIP embedding as above (§IV-B);
* Appendix A: the target input is [ResNet semantic features (pooled layer4), prompt embedding], projected;
* Appendix B (hybrid): the Appendix A input with 2 or 3 outputs.

Losses: L1 (HyperIQA), ImageReward's pairwise rank loss, and the bounded form of Appendix C's score loss.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import keras
import numpy as np
import tensorflow as tf

from tfagiqa.backbones.resnet50_torchvision import RESNET50_BLOCKS, resnet50_torchvision
from tfagiqa.layers.normalisation import ImageNetNormalize
from tfagiqa.methods.hyperiqa.hyper_network import HyperNetwork
from tfagiqa.methods.hyperiqa.lda import LocalDistortionAware
from tfagiqa.methods.hyperiqa.target_network import TargetNetwork

HYPER_INPUTS = ("image", "text")
TARGET_INPUTS = ("lda", "text", "semantics_text")
TEXT_MAP_CHANNELS = 256  # channels of the map the text hypernet's MLP produces (UNSPECIFIED in the paper)


@dataclass(frozen=True)
class HypernetConfig:
    """Sizes and wiring. The defaults are the official ``HyperNet(16, 112, 224, 112, 56, 28, 14, 7)``."""

    image_size: int = 224  # the crop; the hyper feature map is image_size / 32 wide (7)
    width: int = 64  # ResNet stem width (64 = ResNet-50)
    blocks: tuple[int, ...] = RESNET50_BLOCKS
    lda_channels: int = 16  # LDA output of layers 1–3
    hyper_channels: int = 112
    target_sizes: tuple[int, ...] = (224, 112, 56, 28, 14)
    conv_channels: tuple[int, ...] = (1024, 512)
    outputs: tuple[str, ...] = ("quality",)
    hyper_input: str = "image"  # image | text
    target_input: str = "lda"  # lda | text | semantics_text
    text_dim: int = 0  # the target input's text embedding width (target_input text or semantics_text)
    text_key: str = "prompt"  # what its frozen text table is keyed by: prompt, or the image's name (BLIP)
    hyper_text_dim: int = 0  # the hyper input's text embedding width (hyper_input text)
    hyper_text_key: str = "prompt"  # what the hyper input's table is keyed by

    @property
    def feature_size(self) -> int:
        return self.image_size // 32

    @property
    def needs_text(self) -> bool:
        return self.needs_hyper_text or self.needs_target_text

    @property
    def needs_hyper_text(self) -> bool:
        return self.hyper_input == "text"

    @property
    def needs_target_text(self) -> bool:
        return self.target_input != "lda"

    @property
    def text_keys(self) -> tuple[str, ...]:
        """The string inputs the model takes (prompt and/or name), one per table key."""
        keys = ([self.hyper_text_key] if self.needs_hyper_text else []) + (
            [self.text_key] if self.needs_target_text else [])
        return tuple(dict.fromkeys(keys))

    @property
    def needs_image(self) -> bool:
        return self.hyper_input == "image" or self.target_input in ("lda", "semantics_text")


HYPERIQA = HypernetConfig()


def tiny(config: HypernetConfig = HYPERIQA, **changes) -> HypernetConfig:
    """A width-reduced ResNet (1 block a stage, width 8) and small target net: for tests and smoke runs."""
    small = dict(width=8, blocks=(1, 1, 1, 1), lda_channels=4, hyper_channels=16, target_sizes=(32, 16, 8, 4, 2),
                 conv_channels=(64, 32))
    return replace(config, **{**small, **changes})


def lda_vector(taps, config: HypernetConfig):
    """The LDA target-net input: one head per ResNet stage, 3 × lda_channels + the rest from layer4 (224)."""
    heads = []
    rest = config.target_sizes[0] - 3 * config.lda_channels
    for stage, tap in enumerate(taps, start=1):
        channels = None if stage == 4 else config.width * 2 ** (stage + 1) // 16  # 256→16, 512→32, 1024→64
        units = rest if stage == 4 else config.lda_channels
        heads.append(LocalDistortionAware(units, channels, pool=config.feature_size, name=f"res_lda{stage}")(tap))
    return keras.layers.Concatenate(name="target_in_vec")(heads)


TABLES = {"target": "prompt", "hyper": "hyper_prompt"}  # layer-name stem of each input's text table


def text_embedding(key, keys: list[str], dim: int, role: str = "target"):
    """key string [B] → frozen embedding [B, dim] by table lookup (the table is set by ``set_text_table``)."""
    ids = keras.layers.StringLookup(vocabulary=list(keys), name=f"{TABLES[role]}_ids")(key)
    return keras.layers.Embedding(len(keys) + 1, dim, trainable=False, name=f"{TABLES[role]}_table")(ids)


def set_text_table(model: keras.Model, vectors: np.ndarray, role: str = "target") -> None:
    """Load one input's text embeddings (row i = key i of its vocabulary; unknown keys get zeros); ``role``:
    ``target`` (the target network's text input) or ``hyper`` (the text hypernet's)."""
    layer = model.get_layer(f"{TABLES[role]}_table")
    layer.set_weights([np.concatenate([np.zeros((1, vectors.shape[1]), "float32"), vectors.astype("float32")])])


def text_hyper_map(text, config: HypernetConfig):
    """The text hypernet's input map: prompt embedding → Dense (ReLU) → s × s × 256, in place of the ResNet."""
    size = config.feature_size
    x = keras.layers.Dense(size * size * TEXT_MAP_CHANNELS, activation="relu", name="text_hyper_fc")(text)
    return keras.layers.Reshape((size, size, TEXT_MAP_CHANNELS), name="text_hyper_map")(x)


def hypernet_model(config: HypernetConfig = HYPERIQA, text_keys: list[str] = (), normalise: bool = True,
                   name: str = "hypernet", hyper_text_keys: list[str] = ()) -> keras.Model:
    """{image [B, S, S, 3] (+ prompt and/or name [B])} → scores [B, len(outputs)] for one crop per row.

    Each text input is a string key of its own frozen table: the target network's (``text_keys``,
    ``config.text_key``) and the text hypernet's (``hyper_text_keys``, ``config.hyper_text_key``); a key is the
    prompt, or with an image-aware embedder (BLIP) the image's name. With ``normalise`` the image is in [0, 255]
    and normalised inside; without it the input is already ImageNet-normalised, the official network's input
    (the converter's).
    """
    if config.needs_target_text and not (text_keys and config.text_dim):
        raise ValueError("the target network's text input needs its table's keys and text_dim")
    if config.needs_hyper_text and not (hyper_text_keys and config.hyper_text_dim):
        raise ValueError("the text hypernet's input needs its table's keys and hyper_text_dim")
    inputs, taps, text = {}, None, None
    if config.needs_image:
        image = keras.Input((config.image_size, config.image_size, 3), name="image")
        inputs["image"] = image
        x = ImageNetNormalize(name="imagenet_normalisation")(image) if normalise else image
        taps = resnet50_torchvision(config.image_size, config.width, config.blocks, name="res")(x)
    for key in config.text_keys:
        inputs[key] = keras.Input((), dtype="string", name=key)
    if config.needs_target_text:
        text = text_embedding(inputs[config.text_key], text_keys, config.text_dim)
    if config.needs_hyper_text:
        hyper_text = text_embedding(inputs[config.hyper_text_key], hyper_text_keys, config.hyper_text_dim, "hyper")
        hyper_in = text_hyper_map(hyper_text, config)
    else:
        hyper_in = taps[3]
    params = HyperNetwork(config.feature_size, config.hyper_channels, config.target_sizes, len(config.outputs),
                          config.conv_channels, name="hyper")(hyper_in)

    if config.target_input == "lda":
        target_in = lda_vector(taps, config)
    else:
        parts = [text] if config.target_input == "text" else [
            keras.layers.GlobalAveragePooling2D(name="semantics")(taps[3]), text]
        joined = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="semantics_text")(parts)
        target_in = keras.layers.Dense(config.target_sizes[0], name="target_in_projection")(joined)
    scores = TargetNetwork(name="target")([target_in, *params])
    return keras.Model(inputs, scores, name=name)


def parameter_groups(model: keras.Model) -> tuple[list, list]:
    """(backbone, hyper) trainable variables as the official optimiser groups them: ``res`` = ResNet + LDA heads
    (backbone lr), everything else (hyper network, projections) = hyper lr."""
    backbone, hyper = [], []
    for layer in model.layers:
        group = backbone if layer.name == "res" or layer.name.startswith("res_lda") else hyper
        group.extend(layer.trainable_variables)
    return backbone, hyper


# === Losses ===

def l1_loss(y_true, y_pred):
    """HyperIQA's ``nn.L1Loss`` on the raw MOS scale, averaged over samples and outputs."""
    return tf.reduce_mean(tf.abs(y_true - y_pred))


def rank_loss(y_true, y_pred, groups=None):
    """ImageReward's pairwise loss −log σ(f(better) − f(worse)) over the pairs of a batch with the same group
    (prompt) and different MOS, first output column; 0 when the batch has no such pair."""
    mos, score = y_true[:, 0], y_pred[:, 0]
    better = mos[:, None] > mos[None, :]
    if groups is not None:
        better &= tf.equal(groups[:, None], groups[None, :])
    margin = tf.boolean_mask(score[:, None] - score[None, :], better)
    return tf.math.divide_no_nan(tf.reduce_sum(tf.nn.softplus(-margin)), tf.cast(tf.size(margin), tf.float32))


def score_loss(y_true, y_pred):
    """Appendix C's score term made bounded: −log σ(f − s) − log σ(s − f) − 2 log 2.

    The literal −log σ(f − s) decreases without limit as f → ∞ (no minimum; SPEC §3.3). Adding its mirror term
    gives a smooth, convex loss with its minimum 0 exactly at f = s, growing like |f − s| far away (a soft L1).
    """
    diff = y_pred - y_true
    return tf.reduce_mean(tf.nn.softplus(diff) + tf.nn.softplus(-diff) - 2.0 * np.log(2.0))


LOSSES = ("l1", "rank", "rank+score")


def total_loss(kind: str, y_true, y_pred, groups=None):
    """The training loss by name: ``l1``, ``rank`` (ImageReward) or ``rank+score`` (ImageReward + Appendix C)."""
    if kind == "l1":
        return l1_loss(y_true, y_pred)
    if kind == "rank":
        return rank_loss(y_true, y_pred, groups)
    if kind == "rank+score":
        return rank_loss(y_true, y_pred, groups) + score_loss(y_true, y_pred)
    raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")


@dataclass(frozen=True)
class Experiment:
    """One of the paper's settings: what is predicted (outputs) and from which inputs."""

    name: str
    outputs: tuple[str, ...]
    hyper_input: str = "image"
    target_input: str = "lda"


def experiment(target: str, variant: str, dataset: str) -> Experiment:
    """The paper's setting for ``--target`` × ``--variant`` on a dataset (labels named as tfagiqa.data.schema)."""
    if target in ("quality", "authenticity"):
        return Experiment(target, (target,))
    if target == "both":
        return Experiment("both", ("quality", "authenticity"))
    if target == "alignment":
        hyper, tin = {"image": ("image", "text"), "text": ("text", "text"),
                      "semantics": ("image", "semantics_text")}[variant]
        return Experiment(f"alignment_{variant}", ("alignment",), hyper, tin)
    if target == "hybrid":
        outputs = ("alignment", "quality") if dataset == "agiqa3k" else ("quality", "authenticity", "alignment")
        return Experiment("hybrid", outputs, "image", "semantics_text")
    raise ValueError(f"unknown target {target!r}")
