"""IP-IQA's Image2Prompt pre-training (§3.3): teach the image encoder to land on its prompt's CLIP text embedding.

Pairs (image, prompt) come from a CSV, a folder of images with same-named ``.txt`` prompts, or DiffusionDB's
layout (``metadata.parquet`` or ``part-NNNNNN/part-NNNNNN.json`` beside the images). Pairs whose CLIP image–text
cosine is below 0.35 are dropped (the paper keeps 560K of 2M). The text encoder is frozen, so each prompt's
embedding is computed once; the image encoder is trained with ``1 − cos(f(I), h(T))`` (PyTorch's
CosineEmbeddingLoss with target +1). Learning rate, epochs, batch and resolution are not given in the paper:
the defaults here (1e-5, 5 epochs, 32, the encoder's native 224 px) are assumptions and recorded as such.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import pandas as pd
from keras import ops
from PIL import Image, ImageDraw

from tfagiqa import training
from tfagiqa.layers.normalisation import CLIPNormalize
from tfagiqa.data import schema
from tfagiqa.data.epochs import EpochClock
from tfagiqa.data.pipeline import augmentation, make_dataset
from tfagiqa.errors import DataError

MIN_COSINE = 0.35
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
IMAGE_COLUMNS = ("image", "path", "image_path", "file_name", "image_name", "filepath")
PROMPT_COLUMNS = ("prompt", "text", "caption")
BACKUP_DIR, ENCODER_FILE, PAIRS_FILE = "backup", "image_encoder.keras", "pairs_kept.csv"


@dataclass(frozen=True)
class PretrainConfig:
    """Optimisation settings (UNSPECIFIED in the paper; these are this package's assumptions)."""

    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-5
    min_cosine: float = MIN_COSINE
    flip: bool = True


def _first(columns, candidates, what: str, source) -> str:
    for name in candidates:
        if name in columns:
            return name
    raise DataError(f"{source}: no {what} column (looked for {', '.join(candidates)}; has {', '.join(columns)})")


def read_pairs(source: str | Path) -> pd.DataFrame:
    """(image path, prompt) pairs from a CSV, a DiffusionDB folder, or images with sibling ``.txt`` prompts."""
    source = Path(source)
    if source.is_file():
        table = pd.read_csv(source)
        image, prompt = _first(table.columns, IMAGE_COLUMNS, "image", source), _first(table.columns, PROMPT_COLUMNS,
                                                                                         "prompt", source)
        paths = [p if Path(p).is_absolute() else str(source.parent / p) for p in table[image].astype(str)]
        pairs = pd.DataFrame({schema.IMAGE: paths, schema.PROMPT: table[prompt].astype(str)})
    elif (source / "metadata.parquet").is_file():
        meta = pd.read_parquet(source / "metadata.parquet", columns=["image_name", "prompt", "part_id"])
        paths = [str(source / f"part-{int(part):06d}" / name) for name, part in zip(meta["image_name"], meta["part_id"])]
        pairs = pd.DataFrame({schema.IMAGE: paths, schema.PROMPT: meta["prompt"].astype(str)})
        pairs = pairs[[Path(p).is_file() for p in pairs[schema.IMAGE]]]
    elif sorted(source.glob("part-*/part-*.json")):
        rows = []
        for index in sorted(source.glob("part-*/part-*.json")):
            for name, info in json.loads(index.read_text(encoding="utf-8")).items():
                rows.append((str(index.parent / name), str(info["p"])))
        pairs = pd.DataFrame(rows, columns=[schema.IMAGE, schema.PROMPT])
    elif source.is_dir():
        rows = [(str(p), p.with_suffix(".txt").read_text(encoding="utf-8").strip())
                for p in sorted(source.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES and p.with_suffix(".txt").is_file()]
        pairs = pd.DataFrame(rows, columns=[schema.IMAGE, schema.PROMPT])
    else:
        raise DataError(f"no pairs at {source}: give a CSV (image, prompt), a DiffusionDB folder or a folder of images "
                        "with same-named .txt prompts")
    pairs = pairs[pairs[schema.PROMPT].str.strip() != ""].reset_index(drop=True)
    if pairs.empty:
        raise DataError(f"{source}: no (image, prompt) pairs found")
    return pairs


COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 70, 220), "yellow": (230, 210, 40)}
SHAPES = ("circle", "square", "triangle")


def write_synthetic_pairs(folder: str | Path, n: int = 48, size: int = 64, seed: int = 0) -> Path:
    """SYNTHETIC pairs in DiffusionDB's per-part JSON layout: a coloured shape and the prompt naming it."""
    folder = Path(folder)
    part = folder / "part-000001"
    part.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    index = {}
    for i in range(n):
        colour, shape = list(COLOURS)[rng.integers(len(COLOURS))], SHAPES[rng.integers(len(SHAPES))]
        image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 60, 3)))
        draw = ImageDraw.Draw(image)
        r, cx, cy = size * rng.uniform(0.2, 0.35), size * rng.uniform(0.35, 0.65), size * rng.uniform(0.35, 0.65)
        box = (cx - r, cy - r, cx + r, cy + r)
        if shape == "circle":
            draw.ellipse(box, fill=COLOURS[colour])
        elif shape == "square":
            draw.rectangle(box, fill=COLOURS[colour])
        else:
            draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=COLOURS[colour])
        name = f"{i:06d}.png"
        image.save(part / name)
        index[name] = {"p": f"a {colour} {shape}", "se": int(i), "c": 7.0, "st": 50, "sa": "k_lms"}
    (part / "part-000001.json").write_text(json.dumps(index), encoding="utf-8")
    return folder


def cosine_loss(text_embedding, image_embedding):
    """1 − cos(image, text) per example (CosineEmbeddingLoss, target +1)."""
    a = image_embedding / (ops.norm(image_embedding, axis=-1, keepdims=True) + 1e-12)
    b = text_embedding / (ops.norm(text_embedding, axis=-1, keepdims=True) + 1e-12)
    return 1.0 - ops.sum(a * b, axis=-1)


def text_embeddings(text_encoder: keras.Model, prompts, tokenize: Callable[[list[str]], np.ndarray],
                    batch_size: int = 64) -> np.ndarray:
    """[N, E] embeddings of the prompts by the frozen text encoder."""
    return np.asarray(text_encoder.predict(tokenize(list(prompts)), batch_size=batch_size, verbose=0))


def _with_targets(pairs: pd.DataFrame, targets: np.ndarray) -> tuple[pd.DataFrame, list[str]]:
    """The pairs with one column per embedding dimension, so the shared image pipeline carries them as labels."""
    columns = [f"target_{i}" for i in range(targets.shape[1])]
    return pd.concat([pairs.reset_index(drop=True), pd.DataFrame(targets, columns=columns)], axis=1), columns


def embedding_model(image_encoder: keras.Model) -> keras.Model:
    """[0, 255] images → the image encoder's embedding (CLIP normalisation inside)."""
    size = image_encoder.input_shape[1]
    images = keras.Input((size, size, 3), name="images")
    return keras.Model(images, image_encoder(CLIPNormalize()(images)), name="image2prompt")


def image_dataset(pairs: pd.DataFrame, targets: np.ndarray, size: int, batch_size: int, *, train: bool,
                  flip: bool = True, seed: int = 0, clock: EpochClock | None = None):
    """(images [0, 255], text embedding) batches (in training, order and flips keyed to the ``clock``'s epoch)."""
    table, columns = _with_targets(pairs, targets)
    return make_dataset(table, columns, image_size=size, batch_size=batch_size, shuffle=train, seed=seed,
                        augment=augmentation(flip=True, seed=seed) if train and flip else None, clock=clock)


def pair_cosines(image_encoder: keras.Model, pairs: pd.DataFrame, targets: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """CLIP image–text cosine of every pair (1 − the loss)."""
    model = embedding_model(image_encoder)
    size = image_encoder.input_shape[1]
    images = np.asarray(model.predict(image_dataset(pairs, targets, size, batch_size, train=False).map(lambda x, y: x),
                                      verbose=0))
    return 1.0 - np.asarray(cosine_loss(targets, images))


def filter_pairs(pairs: pd.DataFrame, cosines: np.ndarray, min_cosine: float = MIN_COSINE) -> pd.Series:
    """Boolean mask of the pairs kept (cosine ≥ ``min_cosine``)."""
    return pd.Series(np.asarray(cosines) >= min_cosine, index=pairs.index)


def pretrain(image_encoder: keras.Model, pairs: pd.DataFrame, targets: np.ndarray, config: PretrainConfig,
             out_dir: str | Path, seed: int = 0, callbacks: list | None = None) -> list[dict]:
    """Train ``image_encoder`` in place on (image, text embedding) pairs; resumable from ``out_dir/backup``.

    A run interrupted after some epochs continues from the last completed one when called again with the same
    ``out_dir``; the finished encoder is written to ``out_dir/image_encoder.keras``. ``callbacks`` run after the
    epoch's backup. Returns one record (``loss``) per epoch.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    model = embedding_model(image_encoder)
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=config.learning_rate, weight_decay=0.0),
                  loss=cosine_loss)
    clock = EpochClock()
    data = image_dataset(pairs, targets, image_encoder.input_shape[1], config.batch_size, train=True,
                         flip=config.flip, seed=seed, clock=clock)
    history = training.fit(model, data, epochs=config.epochs, seed=None, desc="image2prompt",
                           backup_dir=out_dir / BACKUP_DIR, callbacks=callbacks, clock=clock)
    image_encoder.save(out_dir / ENCODER_FILE)
    return history


def mean_loss(image_encoder: keras.Model, pairs: pd.DataFrame, targets: np.ndarray) -> float:
    """The mean cosine loss over the pairs (evaluation mode, no augmentation)."""
    return float(np.mean(1.0 - pair_cosines(image_encoder, pairs, targets)))
