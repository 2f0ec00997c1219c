"""tf.data input pipeline: decode with Pillow, resize or crop, batch, augment with Keras layers, preprocess.

Element structure (what ``model.fit`` / ``model.predict`` receive):

* ``images`` float32 ``[B, H, W, 3]`` in [0, 255] (or whatever ``preprocess`` maps them to);
  ``[B, N, H, W, 3]`` for ``crop="fixed_crops"`` (crop ``k`` of every image at ``[:, k]``; average the N scores);
* ``inputs`` is ``images``, or ``{"image": images, "prompt": prompts}`` (tf.string ``[B]``) with ``with_prompt``,
  plus ``"name"`` (the label file's image names, tf.string ``[B]``) with ``with_name``;
* each element is ``(inputs, labels)`` with float32 ``labels [B, len(label_columns)]``, or ``inputs`` alone
  when no label columns are asked for (inference, feature extraction).

Determinism: ``tf.data.Options.deterministic`` is set; without ``shuffle``, ``random_crop`` and ``augment``
the output is identical on every pass. The random parts are seeded: shuffling and random crops from ``seed``
(stateless, so parallel decoding cannot reorder them), Keras augmentation layers from their own seed, run
sequentially on batches so that their seed state advances in the same order on every run.

* Without a ``clock``, the k-th pass over a pipeline draws the k-th numbers of tf.data's and the layers'
  streams: a fresh pipeline with a fresh ``augmentation(seed=s)`` reproduces the first pass's pixels, and
  re-iterating one pipeline (the next epoch) draws new ones. A pipeline rebuilt after a restart therefore
  replays epoch 0, not the epoch the training resumes at.
* With a ``clock`` (:class:`tfagiqa.data.epochs.EpochClock`, told each epoch by ``model.fit`` or
  ``clock.start(epoch)``), a pass draws a pure function of (seed, epoch, row): the rows come in
  ``RandomState((seed, epoch))`` order, row i's crop seed is ``[seed, epoch·2**32 + i]``, and ``augment`` is
  reseeded for the epoch; the pass of epoch e is the same in a long-running pipeline and in a fresh one, so a
  resumed training sees exactly the batches of an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfagiqa.data import schema
from tfagiqa.data.epochs import EpochClock
from tfagiqa.data.images import load_image
from tfagiqa.data.labels import image_problem
from tfagiqa.data.tfrecord import in_shard_order, make_tfrecord_dataset
from tfagiqa.data.views import Size, batches, check_options, fixed_crop_offsets, size_pair, view_function
from tfagiqa.errors import DataError

__all__ = ["Size", "augmentation", "batches", "fixed_crop_offsets", "image_view", "make_dataset", "size_pair",
           "surface_data_errors"]
DATA_ERROR_IN_TF_MESSAGE = re.compile(r"DataError: ([^\n]+)")


def make_dataset(
    df: pd.DataFrame,
    label_columns: Sequence[str] = (),
    *,
    image_size: Size = 224,
    crop: str = "resize",
    n_crops: int = 1,
    resize_to: Size | None = None,
    augment: keras.Layer | None = None,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 0,
    with_prompt: bool = False,
    preprocess: Callable[[tf.Tensor], tf.Tensor] | None = None,
    drop_remainder: bool = False,
    with_name: bool = False,
    clock: EpochClock | None = None,
) -> tf.data.Dataset:
    """Batched dataset of ``df``'s images (and labels, prompts); see the module docstring for the structure.

    When the dataset has TFRecord shards (``df.attrs["tfrecords"]``, set by the readers when
    ``<dataset>/tfrecords/`` exists) and ``df``'s rows are in shard order, the pixels are read from the shards.

    crop: ``"resize"`` the whole image to ``image_size`` (aspect not kept); ``"random_crop"``,
    ``"center_crop"`` or ``"fixed_crops"`` (``n_crops`` crops at :func:`fixed_crop_offsets`) of ``image_size``
    after the optional ``resize_to`` (int: shorter side, aspect kept; pair: exact ``(height, width)``).
    An image smaller than the crop is first enlarged, aspect kept, just enough to hold it. All resizing is
    bilinear with antialiasing. ``augment`` (e.g. :func:`augmentation`) runs on batches before ``preprocess``.
    ``clock`` makes the order, crops and augmentation of each pass a function of its epoch (module docstring).
    """
    shards = df.attrs.get("tfrecords")
    if shards and Path(shards, "manifest.json").is_file():
        if in_shard_order(shards, df[schema.NAME].astype(str).tolist()):
            return make_tfrecord_dataset(
                shards, label_columns, names=df[schema.NAME].astype(str).tolist(), image_size=image_size, crop=crop,
                n_crops=n_crops, resize_to=resize_to, augment=augment, batch_size=batch_size, shuffle=shuffle,
                seed=seed, with_prompt=with_prompt, preprocess=preprocess, drop_remainder=drop_remainder,
                with_name=with_name, clock=clock)
    columns = {"path": _existing_paths(df), "labels": _labels(df, label_columns)}
    if with_prompt:
        columns["prompt"] = df[schema.PROMPT].astype(str).to_numpy()
    if with_name:
        columns["name"] = df[schema.NAME].astype(str).to_numpy()
    if clock is None:
        ds = tf.data.Dataset.from_tensor_slices(columns)
        if shuffle:
            ds = ds.shuffle(len(df), seed=seed, reshuffle_each_iteration=True)
    else:
        ds = clock.rows(columns, seed, shuffle)
    return batches(ds, lambda row: _decode(row["path"]), image_size=image_size, crop=crop, n_crops=n_crops,
                   resize_to=resize_to, augment=augment, batch_size=batch_size, seed=seed,
                   with_labels=bool(label_columns), with_prompt=with_prompt, preprocess=preprocess,
                   drop_remainder=drop_remainder, with_name=with_name, clock=clock)


def image_view(image_size: Size, crop: str = "resize", resize_to: Size | None = None) -> Callable[[tf.Tensor], tf.Tensor]:
    """The per-image part of :func:`make_dataset` for a deterministic view (``resize`` or ``center_crop``): a
    function path → float32 ``image_size`` view in [0, 255], usable inside ``tf.data.Dataset.map``."""
    if crop not in ("resize", "center_crop"):
        raise ValueError(f"image_view takes a deterministic crop ('resize' or 'center_crop'), got {crop!r}")
    check_options(crop, 1, resize_to)
    view = view_function(crop, size_pair(image_size), 1, resize_to)
    return lambda path: view(_decode(path), tf.zeros([2], tf.int64))


def augmentation(flip: bool = True, rotation: float = 0.0, translation: float = 0.0, seed: int = 0) -> keras.Sequential:
    """Seeded Keras augmentation for :func:`make_dataset`: horizontal flip, rotation (max degrees), translation.

    ``translation`` is the largest shift as a fraction of height and width; rotated and shifted borders are
    filled by reflection. Each layer gets its own seed derived from ``seed``, so flips and rotations are
    independent draws.
    """
    seeds = np.random.SeedSequence(seed).generate_state(3) % 2**31
    flip_seed, rotation_seed, translation_seed = (int(s) for s in seeds)
    layers: list[keras.Layer] = []
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=flip_seed))
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation / 360.0, fill_mode="reflect", seed=rotation_seed))
    if translation:
        layers.append(
            keras.layers.RandomTranslation(translation, translation, fill_mode="reflect", seed=translation_seed)
        )
    if not layers:
        raise ValueError("augmentation(): flip, rotation and translation are all off; pass augment=None instead")
    return keras.Sequential(layers, name=f"augmentation_seed{seed}")


@contextlib.contextmanager
def surface_data_errors() -> Iterator[None]:
    """Turn a tf.data failure raised by :func:`load_image` back into the DataError naming the file."""
    try:
        yield
    except tf.errors.OpError as exc:
        match = DATA_ERROR_IN_TF_MESSAGE.search(exc.message or "")
        if match is None:
            raise
        raise DataError(match.group(1)) from exc


def _existing_paths(df: pd.DataFrame) -> np.ndarray:
    """The image paths as strings, after checking that every one is a file (a DataError lists those that are
    missing, folders or broken links)."""
    if len(df) == 0:
        raise DataError("make_dataset: the DataFrame has no rows")
    paths = df[schema.IMAGE].astype(str).to_numpy()
    missing = [problem for p in paths if (problem := image_problem(p))]
    if missing:
        shown = "\n  ".join(missing[:5])
        more = f"\n  ... and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise DataError(f"{len(missing)} image file(s) not found:\n  {shown}{more}")
    return paths


def _labels(df: pd.DataFrame, label_columns: Sequence[str]) -> np.ndarray:
    """float32 [len(df), n_labels] label matrix; a DataError for absent columns, NaN or infinite labels."""
    absent = [c for c in label_columns if c not in df.columns]
    if absent:
        raise DataError(f"label column(s) {absent} not in this dataset; it has {schema.label_columns(df)}")
    values = df[list(label_columns)].to_numpy(dtype=np.float32).reshape(len(df), len(label_columns))
    bad_rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad_rows.size:
        images = df[schema.IMAGE].iloc[bad_rows[:3]].tolist()
        raise DataError(f"{bad_rows.size} row(s) have NaN labels or infinite labels in {list(label_columns)}, "
                        f"e.g. {images}")
    return values


def _decode(path: tf.Tensor) -> tf.Tensor:
    """float32 H×W×3 pixels in [0, 255] of one file, decoded by :func:`load_image` so every mode works."""
    image = tf.numpy_function(load_image, [path], tf.uint8, stateful=False)
    image.set_shape([None, None, 3])
    return tf.cast(image, tf.float32)


