"""Per-image views and batch assembly shared by the image-folder and the TFRecord pipelines.

``batches`` decodes, crops, batches, augments and arranges rows for both :func:`tfagiqa.data.pipeline.make_dataset`
and :func:`tfagiqa.data.tfrecord.make_tfrecord_dataset`, so the two give the same element structure; the crop
policies (``CROPS``) and their geometry (:func:`fixed_crop_offsets`) live here. It sits below both pipelines,
which therefore do not import each other's internals.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from tfagiqa.data.epochs import EpochClock

CROPS = ("resize", "random_crop", "center_crop", "fixed_crops")
Size = int | tuple[int, int]


def batches(rows: tf.data.Dataset, decode: Callable[[dict], tf.Tensor], *, image_size: Size, crop: str,
            n_crops: int, resize_to: Size | None, augment: keras.Layer | None, batch_size: int, seed: int,
            with_labels: bool, with_prompt: bool, preprocess: Callable | None,
            drop_remainder: bool, with_name: bool = False,
            clock: EpochClock | None = None) -> tf.data.Dataset:
    """Decode, crop, batch, augment and arrange ``rows`` (dicts with ``labels`` and optionally ``prompt``).

    Shared by the image-folder pipeline (``pipeline.make_dataset``) and the TFRecord one (``tfrecord``);
    ``decode(row)`` returns float32 H×W×3 pixels in [0, 255]. Without a ``clock`` the crop seeds are drawn
    from ``seed``; with one, ``rows`` are ``(row, element_seed)`` pairs (``EpochClock.rows`` / ``positions``)
    and ``augment`` is registered with the clock.
    """
    size = size_pair(image_size)
    check_options(crop, n_crops, resize_to)
    if clock is None:
        rows = tf.data.Dataset.zip(rows, tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2))
    elif augment is not None:
        clock.register(augment)
    view = view_function(crop, size, n_crops, resize_to)
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


def _spaced(slack, count: int) -> list:
    """``count`` offsets from 0 to ``slack`` in equal integer steps (one offset: the centre)."""
    if count == 1:
        return [slack // 2]
    return [k * slack // (count - 1) for k in range(count)]


def check_options(crop: str, n_crops: int, resize_to: Size | None) -> None:
    """Reject option combinations that would be silently ignored."""
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
    if n_crops < 1 or (n_crops != 1 and crop != "fixed_crops"):
        raise ValueError(f"n_crops={n_crops} needs crop='fixed_crops' (and n_crops >= 1)")
    if resize_to is not None and crop == "resize":
        raise ValueError("resize_to applies before a crop; with crop='resize' set image_size instead")


def view_function(crop: str, size: tuple[int, int], n_crops: int, resize_to: Size | None) -> Callable:
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
