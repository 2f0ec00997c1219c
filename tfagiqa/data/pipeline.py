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
from tfagiqa.errors import DataError

CROPS = ("resize", "random_crop", "center_crop", "fixed_crops")
DATA_ERROR_IN_TF_MESSAGE = re.compile(r"DataError: ([^\n]+)")
Size = int | tuple[int, int]


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
        from tfagiqa.data.tfrecord import in_shard_order, make_tfrecord_dataset

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
    _check_options(crop, 1, resize_to)
    view = _view_fn(crop, size_pair(image_size), 1, resize_to)
    return lambda path: view(_decode(path), tf.zeros([2], tf.int64))


def batches(rows: tf.data.Dataset, decode: Callable[[dict], tf.Tensor], *, image_size: Size, crop: str,
            n_crops: int, resize_to: Size | None, augment: keras.Layer | None, batch_size: int, seed: int,
            with_labels: bool, with_prompt: bool, preprocess: Callable | None,
            drop_remainder: bool, with_name: bool = False,
            clock: EpochClock | None = None) -> tf.data.Dataset:
    """Decode, crop, batch, augment and arrange ``rows`` (dicts with ``labels`` and optionally ``prompt``).

    Shared by the image-folder pipeline (:func:`make_dataset`) and the TFRecord one (``tfagiqa.data.tfrecord``);
    ``decode(row)`` returns float32 H×W×3 pixels in [0, 255]. Without a ``clock`` the crop seeds are drawn
    from ``seed``; with one, ``rows`` are ``(row, element_seed)`` pairs (``EpochClock.rows`` / ``positions``)
    and ``augment`` is registered with the clock.
    """
    size = size_pair(image_size)
    _check_options(crop, n_crops, resize_to)
    if clock is None:
        rows = tf.data.Dataset.zip(rows, tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2))
    elif augment is not None:
        clock.register(augment)
    view = _view_fn(crop, size, n_crops, resize_to)
    ds = rows.map(
        lambda row, crop_seed: {**row, "image": view(decode(row), crop_seed)},
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(lambda batch: {**batch, "image": _finish(batch["image"], augment, preprocess)})
    ds = ds.map(lambda batch: _structure(batch, with_labels, with_prompt, with_name))
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


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


def fixed_crop_offsets(height: int, width: int, image_size: Size, n_crops: int) -> list[tuple[int, int]]:
    """(top, left) of the ``n_crops`` fixed crops, row-major on a rows × cols grid spanning the image.

    rows is the largest divisor of ``n_crops`` not above its square root, cols = n_crops // rows (1 → centre,
    4 → 2×2 corners, 6 → 2×3, 25 → 5×5). Along each axis the k-th of m offsets is
    ``k·(extent − crop) // (m − 1)``, so the first and last crops touch the image borders; a single offset is
    the centre ``(extent − crop) // 2``.
    Works on Python ints and on scalar int tensors alike.
    """
    crop_height, crop_width = size_pair(image_size)
    rows = max(d for d in range(1, int(n_crops**0.5) + 1) if n_crops % d == 0)
    tops = _spaced(height - crop_height, rows)
    lefts = _spaced(width - crop_width, n_crops // rows)
    return [(top, left) for top in tops for left in lefts]


def size_pair(size: Size) -> tuple[int, int]:
    """An image size as (height, width): ``224`` → ``(224, 224)``; ``(h, w)`` unchanged."""
    if isinstance(size, int):
        return size, size
    height, width = size
    return int(height), int(width)


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


def _spaced(slack, count: int) -> list:
    """``count`` offsets from 0 to ``slack`` in equal integer steps (one offset: the centre)."""
    if count == 1:
        return [slack // 2]
    return [k * slack // (count - 1) for k in range(count)]


def _check_options(crop: str, n_crops: int, resize_to: Size | None) -> None:
    """Reject option combinations that would be silently ignored."""
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
    if n_crops < 1 or (n_crops != 1 and crop != "fixed_crops"):
        raise ValueError(f"n_crops={n_crops} needs crop='fixed_crops' (and n_crops >= 1)")
    if resize_to is not None and crop == "resize":
        raise ValueError("resize_to applies before a crop; with crop='resize' set image_size instead")


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


def _view_fn(crop: str, size: tuple[int, int], n_crops: int, resize_to: Size | None) -> Callable:
    """The per-image ``(image, seed) -> view`` function of one crop policy."""
    if crop == "resize":
        return lambda image, seed: _resize(image, size)

    def view(image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        image = _cover(_resize_to(image, resize_to), size)
        if crop == "random_crop":
            return tf.image.stateless_random_crop(image, [*size, 3], seed=seed)
        height, width = tf.shape(image)[0], tf.shape(image)[1]
        offsets = fixed_crop_offsets(height, width, size, n_crops)
        crops = [tf.image.crop_to_bounding_box(image, top, left, *size) for top, left in offsets]
        return crops[0] if crop == "center_crop" else tf.stack(crops)

    return view


def _resize(image: tf.Tensor, size) -> tf.Tensor:
    """Bilinear, antialiased resize to ``size`` = (height, width)."""
    return tf.image.resize(image, size, method="bilinear", antialias=True)


def _resize_to(image: tf.Tensor, resize_to: Size | None) -> tf.Tensor:
    """Apply ``resize_to``: None keeps the image, an int sets the shorter side (aspect kept), a pair the size."""
    if resize_to is None:
        return image
    if not isinstance(resize_to, int):
        return _resize(image, size_pair(resize_to))
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = resize_to / tf.reduce_min(shape)
    return _resize(image, tf.cast(tf.round(shape * scale), tf.int32))


def _cover(image: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Enlarge ``image`` (aspect kept) only if it is smaller than ``size`` in either dimension."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.reduce_max(tf.constant(size, tf.float32) / shape)
    target = tf.maximum(tf.cast(tf.math.ceil(shape * scale), tf.int32), size)
    return tf.cond(scale > 1.0, lambda: _resize(image, target), lambda: image)


def _finish(images: tf.Tensor, augment: keras.Layer | None, preprocess: Callable | None) -> tf.Tensor:
    """Augment then preprocess a batch; [B, N, H, W, 3] crops are processed as B·N images."""
    if augment is None and preprocess is None:
        return images
    shape = tf.shape(images)
    flat = tf.reshape(images, tf.concat([[-1], shape[-3:]], axis=0))
    if augment is not None:
        flat = augment(flat, training=True)
    if preprocess is not None:
        flat = preprocess(flat)
    return tf.ensure_shape(tf.reshape(flat, shape), images.shape)


def _structure(batch: dict, with_labels: bool, with_prompt: bool, with_name: bool):
    """Arrange a batch as ``(inputs, labels)`` or ``inputs``, inputs being images or {"image", "prompt", "name"}."""
    strings = [k for k, wanted in (("prompt", with_prompt), ("name", with_name)) if wanted]
    inputs = {"image": batch["image"], **{k: batch[k] for k in strings}} if strings else batch["image"]
    return (inputs, batch["labels"]) if with_labels else inputs
