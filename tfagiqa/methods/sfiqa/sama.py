"""SAMA (Liu et al., 2023) as SF-IQA uses it (``stype="sama"``): a size×size image made of a grid×grid
checkerboard of fragments taken at two scales, in TensorFlow ops usable inside ``tf.data``.

Scale 0 is the image at native resolution (after upscaling so the short side is at least ``size``), scale 1 the
image resized so its short side is ``size``. The image is cut into grid×grid cells; fragment (i, j) is the
``size/grid`` square at cell (i, j)'s corner plus an offset ``⌊u·(cell − fragment)⌋`` with u uniform per fragment
in training (one draw shared by both scales, as in the reference) and 0.5 at test time. Windows where i + j is even
come from scale 0, the others from scale 1.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfagiqa.data import schema
from tfagiqa.data.epochs import EpochClock
from tfagiqa.data.images import load_image
from tfagiqa.errors import DataError

SIZE, GRID = 256, 8


def _bilinear(image: tf.Tensor, height, width) -> tf.Tensor:
    """torch ``interpolate(mode="bilinear", align_corners=False)`` (no antialiasing)."""
    return tf.image.resize(image, tf.stack([height, width]), method="bilinear", antialias=False)


def _fragments(image: tf.Tensor, u: tf.Tensor, grid: int, fragment: int) -> tf.Tensor:
    """[grid, grid, f, f, 3] fragments of one scale; ``u`` [grid, grid, 2] are the offset fractions."""
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    starts = []
    for extent, axis in ((h, 0), (w, 1)):
        cell = extent // grid
        corner = tf.minimum(cell * tf.range(grid), extent - fragment)
        offset = tf.maximum(tf.cast(u[..., axis] * tf.cast(cell - fragment, tf.float32), tf.int32), 0)
        corner = corner[:, None] if axis == 0 else corner[None, :]
        starts.append(tf.minimum(corner + offset, extent - fragment))
    steps = tf.range(fragment)
    rows = starts[0][:, :, None, None] + steps[None, None, :, None] + 0 * steps[None, None, None, :]
    cols = starts[1][:, :, None, None] + 0 * steps[None, None, :, None] + steps[None, None, None, :]
    return tf.gather_nd(image, tf.stack([rows, cols], axis=-1))


def sama(image: tf.Tensor, size: int = SIZE, grid: int = GRID, seed: tf.Tensor | None = None) -> tf.Tensor:
    """One H×W×3 float image → size×size×3 SAMA view; ``seed`` (int [2], stateless) = training offsets, None = centred."""
    if size % grid:
        raise ValueError(f"size {size} must be a multiple of grid {grid}")
    fragment = size // grid
    image = tf.convert_to_tensor(image, tf.float32)
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    ratio = tf.reduce_min(shape / size)
    image = tf.cond(ratio < 1.0, lambda: _bilinear(image, *tf.unstack(tf.cast(tf.round(shape / ratio), tf.int32))),
                    lambda: image)
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    ratio = tf.reduce_min(shape / size)
    small = tf.cast(tf.round(shape / ratio), tf.int32)
    rescaled = _bilinear(image, small[0], small[1])
    if seed is None:
        u = tf.fill([grid, grid, 2], 0.5)
    else:
        u = tf.random.stateless_uniform([grid, grid, 2], seed=seed)
    native, scaled = _fragments(image, u, grid, fragment), _fragments(rescaled, u, grid, fragment)
    even = tf.constant((np.add.outer(np.arange(grid), np.arange(grid)) % 2 == 0)[:, :, None, None, None])
    chosen = tf.where(even, native, scaled)
    return tf.reshape(tf.transpose(chosen, (0, 2, 1, 3, 4)), (size, size, 3))


def checkerboard(size: int = SIZE, grid: int = GRID) -> np.ndarray:
    """[size, size] booleans: True where SAMA takes the native-scale fragment."""
    cells = np.add.outer(np.arange(grid), np.arange(grid)) % 2 == 0
    return np.kron(cells, np.ones((size // grid, size // grid), dtype=bool))


def decode_image(path: tf.Tensor) -> tf.Tensor:
    """float32 H×W×3 pixels in [0, 255] of one file (any mode, via ``load_image``)."""
    image = tf.numpy_function(load_image, [path], tf.uint8, stateful=False)
    image.set_shape([None, None, 3])
    return tf.cast(image, tf.float32)


def sama_dataset(df: pd.DataFrame, label_columns=(), *, size: int = SIZE, grid: int = GRID, training: bool = False,
                 seed: int = 0, batch_size: int = 32, inputs: dict[str, np.ndarray] | None = None,
                 shuffle: bool = False, rotation: float = 45.0, clock: EpochClock | None = None) -> tf.data.Dataset:
    """Batches of ``({"images": SAMA views in [0, 255], **inputs}, labels)`` (no labels when none are asked).

    ``inputs`` are extra per-row model inputs (e.g. ``token_ids``) aligned with ``df``'s rows.

    Training adds the reference's augmentation before SAMA: horizontal flip (p = 0.5) and a random rotation up
    to ``rotation`` degrees (black corners, as torchvision's), with random fragment offsets; test views are centred.

    Without a ``clock`` the order, flips, rotations and offsets come from streams seeded by ``seed`` that move on
    with every pass. With one (``tfagiqa.data.epochs``) each pass is a function of (``seed``, epoch): rows in
    ``RandomState((seed, epoch))`` order, row i's flip seed s = ``[seed, epoch·2**32 + i]`` and offset seed s + 1,
    and the rotation layer reseeded for the epoch.
    """
    if len(df) == 0:
        raise DataError("sama_dataset: the DataFrame has no rows")
    columns = {"path": df[schema.IMAGE].astype(str).to_numpy(),
               "labels": df[list(label_columns)].to_numpy("float32").reshape(len(df), len(label_columns))}
    extra = dict(inputs or {})
    columns.update(extra)
    if clock is None:
        ds = tf.data.Dataset.from_tensor_slices(columns)
        if shuffle:
            ds = ds.shuffle(len(df), seed=seed, reshuffle_each_iteration=True)
        ds = tf.data.Dataset.zip(ds, tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(4))
    else:
        ds = clock.rows(columns, seed, shuffle).map(lambda row, s: (row, tf.concat([s, s + 1], axis=0)))
    rotate = keras.layers.RandomRotation(rotation / 360.0, fill_mode="constant", fill_value=0.0, seed=seed) \
        if training and rotation else None
    if rotate is not None and clock is not None:
        clock.register(rotate)

    def view(row, s):
        image = decode_image(row["path"])
        if not training:
            return {**row, "image": sama(image, size, grid)}
        image = tf.image.stateless_random_flip_left_right(image, seed=s[:2])
        if rotate is not None:
            image = rotate(image, training=True)
        return {**row, "image": sama(image, size, grid, seed=s[2:])}

    ds = ds.map(view, num_parallel_calls=1 if rotate is not None else tf.data.AUTOTUNE)
    ds = ds.batch(batch_size)

    def arrange(batch):
        model_inputs = {"images": batch["image"], **{k: batch[k] for k in extra}}
        return (model_inputs, batch["labels"]) if len(label_columns) else model_inputs

    options = tf.data.Options()
    options.deterministic = True
    return ds.map(arrange).with_options(options).prefetch(tf.data.AUTOTUNE)
