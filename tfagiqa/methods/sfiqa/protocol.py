"""SF-IQA's protocol: train the quality branch (SAMA views) and the similarity branch (CLIP views + prompts) once
per split, then derive every score-fusion row of Table 2 from those same two trained branches.

Choices the paper leaves open (SPEC §4.3, §6), fixed here and recorded in the result rows:

* losses: MSE on the MOS for both branches and for the fusion network (the paper names none);
* the fusion network is trained after the branches, on their (frozen) predictions for the training images
  (test-time SAMA views); ``mean`` averages Q and S, which share the MOS scale because both regress it;
* no validation set (as the paper): the last epoch is kept (``selection=last_epoch``);
* quality branch (both pre-training stages and AGIQA training): Adam with PyTorch's coupled weight decay 5e-4
  (``torch.optim.Adam(weight_decay=…)``, ``CoupledDecayAdam``), cosine-annealed rate;
* pre-training (§4.2): stage (i) on the NR-IQA datasets (each score min–max scaled to [0, 1] by its reader), then
  stage (ii) on the AIGC datasets of ``AIGC_PRETRAIN`` (each quality MOS scaled to [0, 1] by its nominal range,
  ``nominal01``), each stage from the previous one's weights; the target fine-tuning starts from the last stage;
* leakage rule: stage (ii) leaves out the target dataset whole when it is one of its four (AGIQA-3K for Table 1),
  so no test image of any split is pre-trained on, and one stage-(ii) model serves every split;
* target fine-tuning: the paper gives no recipe; the stage-(ii) recipe (Adam 2e-6, cosine, 20 epochs) is used;
* PickScore fine-tuning: AdamW, lr 1e-6 (PickScore's own rate), as many epochs as the quality branch;
* AGIQA-3K (Table 1): SF-IQA(quality) trains on ``quality``, SF-IQA(similarity) on ``alignment``, grouped 80/20
  splits by prompt; the fusion block there uses one label for both branches (``fusion_label``, default quality);
* AIGIQA-20K (Tables 2–4): the stratified 11,200 / 2,800 split of ``tfagiqa.methods.sfiqa.split``, label ``overall``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfagiqa import metrics, training
from tfagiqa.backbones.clip_text import HashTokenizer, tokenize
from tfagiqa.data import load_dataset, load_nriqa, registry, schema, splits
from tfagiqa.data.rescale import rescale
from tfagiqa.data.epochs import EpochClock
from tfagiqa.errors import DataError
from tfagiqa.methods.sfiqa.split import load_or_make, split_name
from tfagiqa.methods.sfiqa.sama import decode_image, sama_dataset
from tfagiqa.methods.sfiqa import model as sfiqa
from tfagiqa.presets import load_preset, resolve
from tfagiqa.profile import Profile

SPLIT_SEED = 42
FUSION_KINDS = ("code", "paper")
TABLE2_ROWS = ("fusion_code", "fusion_paper", "q_only", "s_only", "mean")
PICKSCORE_DIR = "PickScore_v1"


# learning_rate/epochs are the quality branch's target fine-tuning; the similarity branch, fusion and the two
# pre-training stages have their own: stage (i) pretrain_* (NR-IQA; pretrain_size images per dataset outside the
# paper profile), stage (ii) aigc_* (AIGC; aigc_size images per dataset, None = all; aigc_eager: train step run
# eagerly, see pretrain_aigc)
PROFILES = {
    "smoke": Profile("smoke", epochs=5, batch_size=16, image_size=sfiqa.TINY.swin.image_size, learning_rate=1e-3,
                     repeats=1, tiny=True,
                     options=dict(config=sfiqa.TINY, lr_similarity=5e-4, weight_decay=5e-4, fusion_epochs=300,
                                  lr_fusion=1e-2, pretrain_epochs=1, lr_pretrain=5e-4, pretrain_size=64,
                                  aigc_epochs=1, lr_aigc=2e-4, aigc_size=16, aigc_eager=True)),
    "paper": Profile("paper", epochs=20, batch_size=32, image_size=sfiqa.PAPER.swin.image_size, learning_rate=2e-6,
                     repeats=10,
                     options=dict(config=sfiqa.PAPER, lr_similarity=1e-6, weight_decay=5e-4, fusion_epochs=500,
                                  lr_fusion=1e-3, pretrain_epochs=70, lr_pretrain=2e-5, pretrain_size=256,
                                  aigc_epochs=20, lr_aigc=2e-6, aigc_size=None, aigc_eager=False)),
}


@dataclass
class Branches:
    """The encoders a run starts from: SwinV2 weights (or random) and a CLIP (PickScore or random) + tokenizer."""

    config: sfiqa.SFIQAConfig
    tokenizer: object
    clip_state: list | None
    logit_scale: float | None
    swin_weights: str | None
    label: str

    def new_clip(self):
        """A fresh CLIP backbone (the PickScore weights when loaded), so every trained model starts the same."""
        clip = sfiqa.clip_backbone(self.config.clip)
        if self.clip_state is not None:
            clip.set_weights(self.clip_state)
        return clip

    def new_swin(self):
        from tfagiqa.backbones.swinv2 import swinv2_backbone

        backbone = swinv2_backbone(self.config.swin)
        if self.swin_weights:
            backbone.load_weights(self.swin_weights)
        return backbone


def resolve_branches(profile: Profile, weights: str = "auto") -> Branches:
    """``weights``: ``none`` / ``auto`` (random: no default folder) or, through :func:`tfagiqa.presets.resolve`, a
    swinv2 preset (``tfagiqa convert swinv2``) holding ``PickScore_v1/`` (the Hugging Face folder) or not, or a
    PickScore folder (or one holding ``PickScore_v1/``) alone. Tiny profiles are random. Rows record the folder."""
    config = profile.config
    tokenizer = HashTokenizer(config.clip.vocab_size, config.clip.context_length)
    if profile.tiny or weights in (None, "none", "auto"):
        return Branches(config, tokenizer, None, None, None, "random")
    resolved = resolve(weights, kind=("swinv2", "pickscore"), what="SF-IQA")
    swin = resolved.preset if resolved.kind == "swinv2" else None
    pick = resolved.preset if resolved.kind == "pickscore" else None
    if swin is not None and (swin.folder / PICKSCORE_DIR).is_dir():
        pick = load_preset(swin.folder / PICKSCORE_DIR, kind="pickscore")
    clip_state, logit_scale = None, None
    if pick is not None:
        clip, tokenizer, logit_scale = sfiqa.load_pickscore(pick.folder)
        config = replace(config, clip=sfiqa.config_from_hf(dict(pick.architecture)))
        clip_state = clip.get_weights()
    swin_weights = str(swin.path("swinv2")) if swin is not None else None
    return Branches(config, tokenizer, clip_state, logit_scale, swin_weights, resolved.label)


# --- data ---------------------------------------------------------------------------------------------------------

def clip_view(image: tf.Tensor, size: int) -> tf.Tensor:
    """PickScore's processor geometry: short side → ``size`` (bicubic), centre crop ``size``×``size``."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    target = tf.cast(tf.round(shape * size / tf.reduce_min(shape)), tf.int32)
    resized = tf.clip_by_value(tf.image.resize(image, tf.maximum(target, size), method="bicubic"), 0.0, 255.0)
    return tf.image.resize_with_crop_or_pad(resized, size, size)


def clip_dataset(df: pd.DataFrame, token_ids: np.ndarray, labels: np.ndarray | None, size: int, batch_size: int,
                 shuffle: bool = False, seed: int = 0, clock: EpochClock | None = None) -> tf.data.Dataset:
    """Batches of ``({"images", "token_ids"}, labels)`` for the similarity branch.

    ``shuffle`` reorders the rows on every pass; with a ``clock`` (``tfagiqa.data.epochs``) in
    ``RandomState((seed, epoch))`` order, so that a resumed training sees the epoch's own order.
    """
    columns = {"path": df[schema.IMAGE].astype(str).to_numpy(), "token_ids": token_ids}
    if labels is not None:
        columns["labels"] = labels.astype("float32").reshape(-1, 1)
    if clock is None:
        ds = tf.data.Dataset.from_tensor_slices(columns)
        if shuffle:
            ds = ds.shuffle(len(df), seed=seed, reshuffle_each_iteration=True)
    else:
        ds = clock.rows(columns, seed, shuffle).map(lambda row, _: row)
    ds = ds.map(lambda r: {**r, "images": clip_view(decode_image(r["path"]), size)}, num_parallel_calls=tf.data.AUTOTUNE)

    def arrange(b):
        x = {"images": b["images"], "token_ids": b["token_ids"]}
        return (x, b["labels"]) if labels is not None else x

    return ds.batch(batch_size).map(arrange).prefetch(tf.data.AUTOTUNE)


def tokens_of(df: pd.DataFrame, branches: Branches) -> np.ndarray:
    return tokenize(df[schema.PROMPT].astype(str).tolist(), branches.tokenizer).astype("int32")


# --- NR-IQA pre-training (§4.2 stage i) ------------------------------------------------------------------------------

def nr_view(image: tf.Tensor, size: int, seed: tf.Tensor) -> tf.Tensor:
    """Larger edge → 2·size (aspect kept, at least ``size`` on the short side), random ``size`` crop, h and v flips."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    target = tf.maximum(tf.cast(tf.round(shape * (2 * size) / tf.reduce_max(shape)), tf.int32), size)
    image = tf.image.resize(image, target, method="bilinear", antialias=True)
    image = tf.image.stateless_random_crop(image, [size, size, 3], seed=seed)
    image = tf.image.stateless_random_flip_left_right(image, seed=seed + 1)
    return tf.image.stateless_random_flip_up_down(image, seed=seed + 2)


def nr_dataset(df: pd.DataFrame, size: int, batch_size: int, seed: int,
               clock: EpochClock | None = None) -> tf.data.Dataset:
    """(images, quality01) batches of the pooled NR-IQA datasets, shuffled.

    With a ``clock`` (``tfagiqa.data.epochs``) each pass is a function of (``seed``, epoch): rows in
    ``RandomState((seed, epoch))`` order, row i's crop and flips seeded by ``[seed, epoch·2**32 + i]``.
    """
    columns = {"path": df[schema.IMAGE].astype(str).to_numpy(), "label": df["quality01"].to_numpy("float32")[:, None]}
    if clock is None:
        ds = tf.data.Dataset.from_tensor_slices(columns)
        ds = ds.shuffle(len(df), seed=seed, reshuffle_each_iteration=True)
        ds = tf.data.Dataset.zip(ds, tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2))
    else:
        ds = clock.rows(columns, seed)
    ds = ds.map(lambda r, s: ({"images": nr_view(decode_image(r["path"]), size, s)}, r["label"]),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def pretrain_quality(nr: pd.DataFrame, branches: Branches, profile: Profile, seed: int,
                     backup_dir: Path | None = None) -> keras.Model:
    """Stage (i): the quality branch on the pooled NR-IQA datasets, each dataset's score scaled to [0, 1]."""
    config = branches.config
    model = sfiqa.quality_model(config, branches.new_swin())
    clock = EpochClock()
    ds = nr_dataset(nr, config.swin.image_size, profile.batch_size, seed, clock=clock)
    steps = math.ceil(len(nr) / profile.batch_size)
    return _fit(model, ds, clock, profile.pretrain_epochs, steps, profile.lr_pretrain, profile, seed,
                backup_dir=backup_dir)


def nr_frames(data_root: str | Path | None, synthetic: str, profile: Profile, seed: int) -> pd.DataFrame:
    """The four NR-IQA datasets pooled (at most ``pretrain_size`` images each outside the paper profile; real when
    present; ``attrs["sources"]``: which are)."""
    parts = []
    for name in registry.names(registry.NRIQA):
        df = load_nriqa(name, data_root, synthetic=synthetic)
        parts.append(df.sample(min(len(df), profile.pretrain_size), random_state=seed) if profile.name != "paper" else df)
    return _pooled(parts, registry.names(registry.NRIQA))


def _pooled(parts: list[pd.DataFrame], names: Sequence[str]) -> pd.DataFrame:
    """Datasets' frames concatenated; ``attrs["sources"]`` = name → real/synthetic, ``attrs["data"]`` = synthetic
    when any of them is."""
    out = pd.concat(parts, ignore_index=True)
    out.attrs["sources"] = {name: part.attrs["data"] for name, part in zip(names, parts)}
    out.attrs["data"] = "synthetic" if "synthetic" in out.attrs["sources"].values() else "real"
    return out


# --- AIGC pre-training (§4.2 stage ii) -------------------------------------------------------------------------------

AIGC_PRETRAIN = {"agiqa1k": schema.OVERALL, "agiqa3k": schema.QUALITY, "aigciqa2023": schema.QUALITY,
                 "pku_i2iqa": schema.QUALITY}
"""Stage (ii)'s datasets and the quality MOS each gives: AGIQA-1K's single MOS, AGIQA-3K's ``mos_quality``,
AIGCIQA2023's quality (``mosz1``), PKU-I2IQA's ``MOS_q``."""


def nominal01(scores: pd.Series, dataset: str, column: str) -> pd.Series:
    """``scores`` (``dataset``'s label ``column``) mapped onto [0, 1] by the label's nominal range in the registry.

    Why: the four datasets score on different scales (0–5, AIGCIQA2023's 0–100); the nominal range keeps each
    score's place on its own scale (2.5 of 5 and 50 of 100 both become 0.5) and does not depend on which images a
    reduced profile samples, as a min–max of the observed scores would. A score outside the nominal range is a
    DataError: the registry's scale would then be wrong for that file (AIGCIQA2023's is not verified, SPEC §2.3),
    and its labels would not share the others' scale.
    """
    label = next((lab for lab in registry.get(dataset).labels if lab.column == column), None)
    if label is None:
        raise DataError(f"{dataset} has no {column!r} label in the registry")
    outside = scores[(scores < label.low) | (scores > label.high)]
    if len(outside):
        raise DataError(f"{dataset} {column}: {len(outside)} score(s) outside its nominal range [{label.low:g}, "
                        f"{label.high:g}] (e.g. {outside.iloc[0]:g}); fix the range in tfagiqa/data/registry.py")
    return pd.Series(rescale(scores, (label.low, label.high), (0.0, 1.0)), index=scores.index)


def aigc_frames(data_root: str | Path | None, synthetic: str, profile: Profile, seed: int, *,
                target: str) -> pd.DataFrame:
    """Stage (ii)'s images: the datasets of ``AIGC_PRETRAIN`` pooled (real when present), ``quality01`` their MOS
    on [0, 1] (``nominal01``), at most ``aigc_size`` images each (None = all).

    Leakage rule: ``target`` (the dataset the run fine-tunes and tests on) is left out whole when it is one of
    them, so none of its test images, in any split, is trained on before the test.
    """
    registry.get(target)  # an unknown target is a DataError, not a silently kept dataset
    names = [name for name in AIGC_PRETRAIN if name != target]
    parts = [_aigc_part(name, data_root, synthetic, profile.aigc_size, seed) for name in names]
    return _pooled(parts, names)


def _aigc_part(name: str, data_root: str | Path | None, synthetic: str, size: int | None, seed: int) -> pd.DataFrame:
    """One stage-(ii) dataset in the pooled columns (image, name, group, dataset, mos, quality01); ``group`` is the
    dataset's own group key prefixed with its name (``agiqa3k/prompt012``), so that groups of different datasets
    never merge (AGIQA-3K and AIGCIQA2023 both key theirs ``promptNNN``)."""
    df = load_dataset(name, data_root, synthetic=synthetic)
    if size is not None:
        df = df.sample(min(len(df), size), random_state=seed)
    column = AIGC_PRETRAIN[name]
    out = pd.DataFrame({schema.IMAGE: df[schema.IMAGE].astype(str), schema.NAME: df[schema.NAME],
                        schema.GROUP: name + "/" + df[schema.GROUP].astype(str), schema.DATASET: name,
                        "mos": df[column],
                        "quality01": nominal01(df[column], name, column)}).reset_index(drop=True)
    out.attrs["data"] = df.attrs["data"]
    return out


def pretrain_aigc(aigc: pd.DataFrame, branches: Branches, profile: Profile, seed: int,
                  start: keras.Model | None = None, backup_dir: Path | None = None) -> keras.Model:
    """Stage (ii): the quality branch on SAMA training views of the pooled AIGC datasets (``quality01``), from
    ``start``'s weights (stage (i)) when given, with the stage's own rate and epochs (``lr_aigc``, ``aigc_epochs``)
    on the branches' optimiser (Adam, coupled decay, cosine-annealed).

    ``aigc_eager`` (the smoke profile) runs the train step eagerly: tracing the SwinV2 train step costs ~40 s of
    CPU, eager steps of a one-epoch tiny stage ~6 s, and the step is the target fine-tuning's (same model, loss and
    optimiser), which every run traces anyway, so no graph-mode path goes untested.
    """
    model = _quality_from(branches, start)
    return _fit_sama(model, aigc, "quality01", branches, profile, seed, profile.aigc_epochs, profile.lr_aigc,
                     backup_dir, eager=profile.aigc_eager)


# --- training -----------------------------------------------------------------------------------------------------

@keras.saving.register_keras_serializable(package="tfagiqa")
class CoupledDecayAdam(keras.optimizers.Adam):
    """Adam with PyTorch's coupled weight decay, as ``torch.optim.Adam(weight_decay=l2)``.

    ``l2 · w`` is added to every gradient before Adam's moments see it (L2 regularisation, scaled per parameter by
    Adam's denominator). Keras' ``Adam(weight_decay=…)`` is the other kind: it shrinks the weights directly by
    ``lr · wd · w``, outside the moments (decoupled, AdamW-style). The decay reaches every trainable variable, as a
    single torch parameter group does. Keras' own ``weight_decay`` is not accepted, so the two never stack.
    One difference from torch stays: Keras adds ε to √v, torch to √v̂ = √v / √(1 − β₂ᵗ), so Keras' effective ε is
    ε / √(1 − β₂ᵗ) (≈ 32 ε at the first step, → ε later); with ε = 1e-8 it matters only for gradients near 1e-7.
    """

    def __init__(self, l2: float = 0.0, **kwargs):
        if kwargs.get("weight_decay"):
            raise ValueError("CoupledDecayAdam takes its decay as l2=; weight_decay= is Keras' decoupled decay")
        super().__init__(**kwargs)
        self.l2 = float(l2)

    def update_step(self, gradient, variable, learning_rate):
        if self.l2:
            gradient = keras.ops.add(gradient, keras.ops.multiply(keras.ops.cast(self.l2, variable.dtype), variable))
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}


def _optimizer(lr: float, weight_decay: float, steps: int, decoupled: bool = False) -> keras.optimizers.Optimizer:
    """The branches' optimiser with a cosine-annealed rate (paper §4.2), β and ε PyTorch's defaults.

    The paper: "an Adam optimizer with a learning rate of … and a weight decay of 0.0005" (§4.2). SF-IQA is a
    PyTorch method (its official inference code), where that is ``torch.optim.Adam(weight_decay=5e-4)``: coupled
    L2, which ``CoupledDecayAdam`` reproduces. PickScore fine-tuning (``decoupled``) keeps AdamW, PickScore's own
    optimiser (decoupled decay; the paper gives no optimiser for the similarity branch).
    """
    schedule = keras.optimizers.schedules.CosineDecay(lr, max(1, steps))
    if decoupled:
        return keras.optimizers.AdamW(schedule, weight_decay=weight_decay)
    return CoupledDecayAdam(l2=weight_decay, learning_rate=schedule, beta_1=0.9, beta_2=0.999, epsilon=1e-8)


def _fit(model, train_ds, clock: EpochClock, epochs: int, steps: int, lr: float, profile: Profile, seed: int,
         decoupled=False, backup_dir: Path | None = None, eager: bool = False):
    """Compile and train on a pipeline built with ``clock`` (its order and views keyed to the epoch); with
    ``backup_dir`` an interrupted training resumes after its last completed epoch and ends as an uninterrupted one;
    ``eager`` runs the train step without tracing it."""
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=_optimizer(lr, profile.weight_decay, epochs * steps, decoupled), loss="mse",
                  run_eagerly=eager)
    training.fit(model, train_ds, epochs=epochs, seed=seed, desc=model.name, backup_dir=backup_dir, clock=clock)
    return model


def _predict(model, ds) -> np.ndarray:
    return np.asarray(model.predict(ds, verbose=0)).reshape(-1)


def _quality_from(branches: Branches, start: keras.Model | None) -> keras.Model:
    """A fresh quality branch (on the loaded SwinV2 weights), holding ``start``'s weights when given (a previous
    stage's model), so that no stage trains its predecessor's model object in place."""
    model = sfiqa.quality_model(branches.config, branches.new_swin())
    if start is not None:
        model.set_weights(start.get_weights())
    return model


def _fit_sama(model: keras.Model, df: pd.DataFrame, label: str, branches: Branches, profile: Profile, seed: int,
              epochs: int, lr: float, backup_dir: Path | None, eager: bool = False) -> keras.Model:
    """Train the quality branch ``model`` on SAMA training views of ``df`` (flip + rotation + random fragment
    offsets) regressing ``df[label]``, for ``epochs`` at rate ``lr`` (cosine-annealed over all of them)."""
    clock = EpochClock()
    ds = sama_dataset(df, [label], size=branches.config.swin.image_size, training=True, seed=seed,
                      batch_size=profile.batch_size, shuffle=True, clock=clock)
    steps = math.ceil(len(df) / profile.batch_size)
    return _fit(model, ds, clock, epochs, steps, lr, profile, seed, backup_dir=backup_dir, eager=eager)


def train_quality(train: pd.DataFrame, label: str, branches: Branches, profile: Profile, seed: int,
                  start: keras.Model | None = None, backup_dir: Path | None = None) -> keras.Model:
    """The quality branch on SAMA views of ``train`` (flip + rotation + random fragment offsets), starting from
    ``start``'s weights (the last pre-training stage's branch) when given."""
    model = _quality_from(branches, start)
    head = model.get_layer("quality")  # the head starts at the training MOS mean: the pre-training scale is [0, 1]
    head.kernel.assign(np.zeros(head.kernel.shape, "float32"))
    head.bias.assign([float(train[label].mean())])
    return _fit_sama(model, train, label, branches, profile, seed, profile.epochs, profile.learning_rate, backup_dir)


def predict_quality(model: keras.Model, df: pd.DataFrame, branches: Branches, batch_size: int = 32) -> np.ndarray:
    """Q for ``df``'s images on centred SAMA views (the reference's test-time views)."""
    return _predict(model, sama_dataset(df, size=branches.config.swin.image_size, batch_size=batch_size))


def train_similarity(train: pd.DataFrame, label: str, branches: Branches, profile: Profile, seed: int,
                     head: str = "inner_product", backup_dir: Path | None = None) -> keras.Model:
    """PickScore fine-tuned to regress the MOS with S (or the cross-attention head of Table 4)."""
    config = branches.config
    model = sfiqa.similarity_model(config, branches.new_clip(), head=head, logit_scale=branches.logit_scale)
    clock = EpochClock()
    ds = clip_dataset(train, tokens_of(train, branches), train[label].to_numpy(), config.clip.image_size,
                      profile.batch_size, shuffle=True, seed=seed, clock=clock)
    steps = math.ceil(len(train) / profile.batch_size)
    return _fit(model, ds, clock, profile.epochs, steps, profile.lr_similarity, profile, seed, decoupled=True,
                backup_dir=backup_dir)


def predict_similarity(model: keras.Model, df: pd.DataFrame, branches: Branches, batch_size: int = 32) -> np.ndarray:
    return _predict(model, clip_dataset(df, tokens_of(df, branches), None, branches.config.clip.image_size, batch_size))


def train_detached(train: pd.DataFrame, label: str, branches: Branches, profile: Profile, seed: int,
                   backup_dir: Path | None = None) -> keras.Model:
    """Table 3's detached-ISFE model, trained end to end on the MOS (SAMA views + prompts)."""
    model = sfiqa.detached_model(branches.config, branches.new_clip())
    clock = EpochClock()
    ds = sama_dataset(train, [label], size=branches.config.swin.image_size, training=True, seed=seed,
                      batch_size=profile.batch_size, shuffle=True, inputs={"token_ids": tokens_of(train, branches)},
                      clock=clock)
    steps = math.ceil(len(train) / profile.batch_size)
    return _fit(model, ds, clock, profile.epochs, steps, profile.learning_rate, profile, seed, backup_dir=backup_dir)


def predict_detached(model: keras.Model, df: pd.DataFrame, branches: Branches, batch_size: int = 32) -> np.ndarray:
    ds = sama_dataset(df, size=branches.config.swin.image_size, batch_size=batch_size,
                      inputs={"token_ids": tokens_of(df, branches)})
    return _predict(model, ds)


def train_fusion(kind: str, q: np.ndarray, s: np.ndarray, mos: np.ndarray, profile: Profile, seed: int) -> keras.Model:
    """The score fusion MLP on the frozen branches' training predictions: ``fusion_epochs`` full-batch Adam steps,
    run as one Keras epoch of that many steps in one compiled call (the same updates as that many one-step epochs,
    without Keras' per-epoch overhead, which made the smoke profile's 300 epochs cost ~10 s a model)."""
    keras.utils.set_random_seed(seed)
    model = sfiqa.fusion_model(kind)
    model.compile(optimizer=keras.optimizers.Adam(profile.lr_fusion), loss="mse",
                  steps_per_execution=profile.fusion_epochs)
    batch = (np.stack([q, s], 1).astype("float32"), mos.astype("float32"))
    model.fit(tf.data.Dataset.from_tensors(batch).repeat(profile.fusion_epochs), epochs=1, shuffle=False, verbose=0)
    return model


@dataclass
class FusionOutcome:
    """Test predictions of every Table 2 row, all made from the same two trained branches."""

    predictions: dict[str, np.ndarray]
    branch_train: dict[str, np.ndarray]
    fusion_models: dict[str, keras.Model]


def fusion_rows(q_model, s_model, train: pd.DataFrame, test: pd.DataFrame, label: str, branches: Branches,
                profile: Profile, seed: int) -> FusionOutcome:
    """Q only, S only, their mean, and the two fusion networks, from one pair of trained branches."""
    q_train, s_train = predict_quality(q_model, train, branches), predict_similarity(s_model, train, branches)
    q_test, s_test = predict_quality(q_model, test, branches), predict_similarity(s_model, test, branches)
    predictions = {"q_only": q_test, "s_only": s_test, "mean": (q_test + s_test) / 2}
    models = {}
    for kind in FUSION_KINDS:
        models[kind] = train_fusion(kind, q_train, s_train, train[label].to_numpy(), profile, seed)
        predictions[f"fusion_{kind}"] = _predict(models[kind], np.stack([q_test, s_test], 1).astype("float32"))
    return FusionOutcome(predictions, {"q": q_train, "s": s_train}, models)


# --- splits and scoring -------------------------------------------------------------------------------------------

def split_sides(df: pd.DataFrame, dataset: str, profile: Profile, split_dir: Path) -> dict[str, pd.Series]:
    """Name → train/test Series: grouped 80/20 by prompt (AGIQA-3K), or the stratified custom split (AIGIQA-20K)."""
    if dataset == "aigiqa20k":
        return {split_name(): load_or_make(df, split_dir / "aigiqa20k_sfiqa_split.csv")}
    return splits.grouped_random_splits(df, 0.8, profile.repeats, seed=SPLIT_SEED)


def scored(pred: np.ndarray, test: pd.DataFrame, label: str) -> dict[str, dict]:
    """Metrics on the whole test side and on each AGIQA-3K T2I group present (subset → metrics)."""
    out = {"all": metrics.evaluate(pred, test[label].to_numpy())}
    if schema.T2I_GROUP in test.columns:
        for group in ("bad", "medium", "good"):
            mask = (test[schema.T2I_GROUP] == group).to_numpy()
            if mask.sum() >= 3:
                out[f"t2i_group={group}"] = metrics.evaluate(pred[mask], test[label].to_numpy()[mask])
    return out


def load(dataset: str, data_root=None, synthetic: str = "auto") -> pd.DataFrame:
    """The dataset's labelled rows (AIGIQA-20K: the 14,000 official train images)."""
    return load_dataset(dataset, data_root, synthetic=synthetic).reset_index(drop=True)
