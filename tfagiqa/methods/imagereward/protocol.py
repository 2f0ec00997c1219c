"""ImageReward fine-tuned on a split: the "imgreward" columns of the Hypernet paper's Table IV (SPEC §3.3, §4.4).

The paper does not say how its ImageReward numbers were made ("presumably fine-tuned on each dataset"); this
fine-tunes the converted ImageReward as its official trainer (THUDM/ImageReward ``train/src``) does:

* pairs (better, worse) of training images with the same prompt and different MOS (ties skipped), each pair once;
* loss −log σ(r_better − r_worse) (the official cross-entropy over [r_better, r_worse] with target 0);
* Adam (β 0.9/0.999, ε 1e-8), lr 1e-5 with cosine decay to 0 over all steps, no warm-up; 64 pairs a batch (4 GPUs ×
  4 × 4 accumulation), 10 epochs, dropout on;
* ``fix_rate`` 0.7 freezes the text embeddings and BERT layers 0–7, the ViT's patch/class/position embeddings and
  blocks 0–15 — and, as the official loop's ``break`` does, the first parameter of BERT layer 8 (its self-attention
  query kernel) and of ViT block 16 (its first LayerNorm scale).

Images are the scorer's view (shorter side → 224, centre crop). Test images are scored after every epoch; the epoch
is chosen by the same rules as the hypernet rows (best test SRCC; best validation SRCC on a 10 % carve-out, where
ImageReward keeps the best validation loss), so the two sit in one table. Without a converted ImageReward (the
synthetic smoke runs) a tiny random one with a vocabulary of the dataset's prompt words is fine-tuned instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfagiqa import distribute, training
from tfagiqa.backbones.blip_text import BLIP_TOKENS, SPECIAL_TOKENS
from tfagiqa.data import schema, splits
from tfagiqa.data.epochs import EpochClock
from tfagiqa.data.pipeline import image_view, make_dataset
from tfagiqa.errors import DataError
from tfagiqa.methods.imagereward import model as imagereward
from tfagiqa.methods.hyperiqa.protocol import VAL_FRACTION, RunResult, srcc_per_output
from tfagiqa.profile import Profile

FIX_RATE = 0.7
ADAM_EPSILON = 1e-8


PROFILES = {  # batches of pairs; the image size is the model's
    "paper": Profile("paper", epochs=10, batch_size=64, learning_rate=1e-5),
    "smoke": Profile("smoke", epochs=6, batch_size=16, learning_rate=1e-3),
    "test": Profile("smoke", epochs=3, batch_size=16, learning_rate=1e-3),
}


def freeze_like_official(model: keras.Model, fix_rate: float = FIX_RATE) -> None:
    """ImageReward's ``fix_rate``: the first ⌊12·r⌋ BERT layers and ⌊24·r⌋ ViT blocks (of the full sizes, scaled to
    this model's depths) and everything before them frozen, plus the first parameter of the next one."""
    vit, text = model.get_layer("visual_encoder"), model.get_layer("text_encoder")
    blocks = vit.get_layer("vit_encoder").encoder_layers
    layers = [layer for layer in text.layers if layer.name.startswith("layer_")]
    n_blocks, n_layers = int(len(blocks) * fix_rate), int(len(layers) * fix_rate)
    vit.get_layer("vit_patching_and_embedding").trainable = False
    for block in blocks[:n_blocks]:
        block.trainable = False
    text.get_layer("embeddings").trainable = False
    text.get_layer("embeddings_layer_norm").trainable = False
    for layer in layers[:n_layers]:
        layer.trainable = False
    if n_blocks < len(blocks):
        blocks[n_blocks].layer_norm_1.gamma.trainable = False
    if n_layers < len(layers):
        layers[n_layers]._self_attention_layer._query_dense.kernel.trainable = False


def prompt_vocabulary(prompts) -> list[str]:
    """BERT's special tokens, every lower-cased word and punctuation mark of ``prompts``, BLIP's two tokens."""
    words = sorted({w for p in prompts for w in re.findall(r"\w+|[^\w\s]", str(p).lower())})
    return [*SPECIAL_TOKENS, *words, *BLIP_TOKENS]


def base_model(weights: str | Path | None, prompts, seed: int) -> keras.Model:
    """A fresh ImageReward: the converted one (``DIR`` of ``tfagiqa convert imagereward``) or a tiny random one."""
    from tfagiqa.methods.imagereward.scorers import load_imagereward

    keras.utils.set_random_seed(seed)
    if weights is not None:
        return load_imagereward(weights)
    vocabulary = prompt_vocabulary(prompts)
    return imagereward.imagereward_model(imagereward.tiny(len(vocabulary)), vocabulary)


def rank_pairs(df: pd.DataFrame, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (better, worse) of every pair of images sharing a prompt with different ``label`` values."""
    better, worse = [], []
    mos = df[label].to_numpy(dtype="float64")
    if np.isnan(mos).any():  # a NaN compares false with everything: its image would silently drop out of the pairs
        raise DataError(f"{int(np.isnan(mos).sum())} row(s) have NaN {label} labels, e.g. "
                        f"{df[schema.IMAGE].iloc[np.flatnonzero(np.isnan(mos))[:3]].tolist()}")
    for rows in df.groupby(schema.PROMPT, sort=False).indices.values():
        for i in rows:
            for j in rows:
                if mos[i] > mos[j]:
                    better.append(i)
                    worse.append(j)
    return np.asarray(better, dtype=int), np.asarray(worse, dtype=int)


def pair_model(model: keras.Model) -> keras.Model:
    """{better, worse [N, S, S, 3], prompt [N]} → margin r_better − r_worse [N, 1] (one shared ImageReward)."""
    size = model.input["image"].shape[1]
    better, worse = (keras.Input((size, size, 3), name=n) for n in ("better", "worse"))
    prompt = keras.Input((), dtype="string", name="prompt")
    r_better = model({"image": better, "prompt": prompt})["reward"]
    r_worse = model({"image": worse, "prompt": prompt})["reward"]
    margin = keras.layers.Subtract(name="margin")([r_better, r_worse])
    return keras.Model({"better": better, "worse": worse, "prompt": prompt},
                       keras.layers.Reshape((1,), name="margin_column")(margin), name="imagereward_pairs")


def pairwise_rank_loss(_, margin):
    """−log σ(r_better − r_worse), ImageReward's loss on each pair."""
    return tf.reduce_mean(tf.nn.softplus(-margin))


def pair_data(df: pd.DataFrame, better: np.ndarray, worse: np.ndarray, size: int, batch_size: int, seed: int,
              clock: EpochClock) -> tf.data.Dataset:
    """(pair inputs, dummy target) batches of the pairs (``better[i]``, ``worse[i]``) (row positions of ``df``), in an
    order drawn anew each epoch from (``seed``, the ``clock``'s epoch): the same after a resume."""
    paths = tf.constant(df[schema.IMAGE].astype(str).to_numpy())
    prompts = tf.constant(df[schema.PROMPT].astype(str).to_numpy())
    first, second = tf.constant(better, tf.int64), tf.constant(worse, tf.int64)
    view = image_view(size, crop="center_crop", resize_to=size)
    ds = clock.positions(len(better), seed).map(
        lambda i, _: {"better": view(paths[first[i]]), "worse": view(paths[second[i]]), "prompt": prompts[first[i]]},
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size).map(lambda x: (x, tf.zeros([tf.shape(x["prompt"])[0], 1]))).prefetch(tf.data.AUTOTUNE)


def rewards(model: keras.Model, df: pd.DataFrame, infer=None) -> np.ndarray:
    """[N, 1] rewards of ``df``'s images with their prompts (scorer view, dropout off; ``infer``: a compiled call)."""
    infer = infer or (lambda x: model(x, training=False))
    size = model.input["image"].shape[1]
    ds = make_dataset(df, image_size=size, crop="center_crop", resize_to=size, batch_size=32, with_prompt=True)
    return np.concatenate([np.asarray(infer(x)["reward"])[:, None] for x in ds])


def run_split(df: pd.DataFrame, side: pd.Series, label: str, profile: Profile, seed: int,
              weights: str | Path | None = None, validation: bool = False, log=print,
              strategy: tf.distribute.Strategy | None = None, backup_dir: Path | None = None) -> RunResult:
    """Fine-tune a fresh ImageReward on one split's training groups (minus a validation carve-out when
    ``validation``) and score the test (and validation) images after every epoch; with ``backup_dir`` an
    interrupted run resumes after its last completed epoch (weights, Adam moments, history)."""
    if validation:
        side = splits.carve_validation(df, side, fraction=VAL_FRACTION, seed=seed)
    train, val, test = (df[side == s] for s in (splits.TRAIN, splits.VAL, splits.TEST))
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = base_model(weights, df[schema.PROMPT], seed)
        freeze_like_official(model)
        pairs = pair_model(model)
        better, worse = rank_pairs(train, label)
        if not len(better):
            raise DataError(f"no training pair: no prompt has two training images with different {label}")
        batch = distribute.global_batch_size(profile.batch_size, strategy)
        steps = profile.epochs * -(-len(better) // batch)
        schedule = keras.optimizers.schedules.CosineDecay(profile.learning_rate, decay_steps=steps)
        pairs.compile(optimizer=keras.optimizers.Adam(schedule, epsilon=ADAM_EPSILON), loss=pairwise_rank_loss)
    evals = {"test": test, **({"val": val} if validation else {})}
    size = model.input["image"].shape[1]
    infer = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    clock = EpochClock()
    data = distribute.shard(pair_data(train, better, worse, size, batch, seed, clock), "data")

    def evaluate(epoch: int, logs: dict) -> dict:
        record = {}
        for part, frame in evals.items():
            record[f"{part}_scores"] = rewards(model, frame, infer)
            record[f"{part}_srcc"] = srcc_per_output(record[f"{part}_scores"], frame, (label,))
        log(f"    epoch {epoch + 1}/{profile.epochs}  rank loss {logs['loss']:.4f}  " + "  ".join(
            f"{part} SRCC {record[f'{part}_srcc'][0]:.4f}" for part in evals))
        return record

    history = training.fit(pairs, data, epochs=profile.epochs, evaluate=evaluate, seed=None, desc="imagereward",
                           backup_dir=backup_dir, clock=clock, log=log)
    return RunResult(history, model, test, (label,), len(train))
