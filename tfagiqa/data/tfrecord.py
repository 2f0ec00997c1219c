"""TFRecord shards of a dataset: encoded image bytes, prompt, labels, group and generator per example.

``write_tfrecords`` turns any reader's DataFrame into ``<out>/<dataset>-NNNNN-of-MMMMM.tfrecord`` shards plus
``manifest.json``; ``tfrecord_frame`` gives back the rows (without pixels) for splitting, and
``make_tfrecord_dataset`` is the TFRecord twin of ``pipeline.make_dataset`` (same crops, augmentation and
batch structure), reading only the shards' bytes: faster input, and shardable by file across workers.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from tqdm.auto import tqdm

from tfagiqa.data import schema
from tfagiqa.data.epochs import EpochClock
from tfagiqa.data.images import decode_image_bytes
from tfagiqa.data.views import Size, batches
from tfagiqa.errors import DataError

MANIFEST = "manifest.json"
TEXT_COLUMNS = (schema.NAME, schema.PROMPT, schema.GENERATOR, schema.GROUP, schema.DATASET)


def write_tfrecords(df: pd.DataFrame, out_dir: str | Path, shard_size_mb: float = 100.0) -> Path:
    """Write ``df``'s images and metadata as TFRecord shards of about ``shard_size_mb`` each (atomically)."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise DataError(f"{out_dir} already exists; remove it or choose another --out")
    labels = [c for c in df.columns if c in schema.LABELS or c.endswith("_std") and c[:-4] in schema.LABELS]
    sizes = np.array([Path(p).stat().st_size for p in df[schema.IMAGE]])
    n_shards = max(1, int(np.ceil(sizes.sum() / (shard_size_mb * 2**20))))
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    dataset = df.attrs.get("dataset", "dataset")
    names = [f"{dataset}-{i:05d}-of-{n_shards:05d}.tfrecord" for i in range(n_shards)]
    bounds = np.searchsorted(np.cumsum(sizes), np.arange(1, n_shards) * sizes.sum() / n_shards)
    parts = np.split(np.arange(len(df)), bounds)
    with tqdm(total=len(df), desc=f"writing {dataset} TFRecords", unit="img") as bar:
        for name, rows in zip(names, parts):
            with tf.io.TFRecordWriter(str(tmp / name)) as writer:
                for row in rows:
                    writer.write(_example(df.iloc[row], labels).SerializeToString())
                    bar.update(1)
    manifest = {"dataset": dataset, "data": df.attrs.get("data", "real"), "count": len(df), "labels": labels,
                "shards": names, "rows_per_shard": [len(p) for p in parts],
                "names": df[schema.NAME].astype(str).tolist()}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    tmp.rename(out_dir)
    return out_dir


def _example(row: pd.Series, labels: list[str]) -> tf.train.Example:
    """One row as a tf.train.Example: the file's bytes unchanged, text fields, float labels (NaN kept)."""
    feature = {"image": _bytes(Path(row[schema.IMAGE]).read_bytes())}
    feature.update({c: _bytes(str(row.get(c, "")).encode()) for c in TEXT_COLUMNS})
    feature.update({f"label/{c}": tf.train.Feature(float_list=tf.train.FloatList(value=[float(row[c])]))
                    for c in labels})
    return tf.train.Example(features=tf.train.Features(feature=feature))


def _bytes(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def read_manifest(directory: str | Path) -> dict:
    """The shard folder's manifest, or a DataError saying how to make one."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise DataError(f"{directory}: no {MANIFEST}; write shards with `tfagiqa datasets to-tfrecord`")
    return json.loads(path.read_text())


def _spec(labels: Sequence[str]) -> dict:
    spec = {c: tf.io.FixedLenFeature([], tf.string) for c in ("image", *TEXT_COLUMNS)}
    spec.update({f"label/{c}": tf.io.FixedLenFeature([], tf.float32) for c in labels})
    return spec


def examples(directory: str | Path) -> tf.data.Dataset:
    """Parsed examples (dicts of tensors) of every shard, in order."""
    manifest = read_manifest(directory)
    files = [str(Path(directory) / s) for s in manifest["shards"]]
    spec = _spec(manifest["labels"])
    return tf.data.TFRecordDataset(files).map(lambda r: tf.io.parse_single_example(r, spec))


def tfrecord_frame(directory: str | Path) -> pd.DataFrame:
    """The shards' rows without pixels (names, prompts, labels, groups), for splitting and checking."""
    manifest = read_manifest(directory)
    rows = [{k: (v.numpy().decode() if v.dtype == tf.string else float(v.numpy())) for k, v in ex.items()
             if k != "image"} for ex in examples(directory)]
    df = pd.DataFrame(rows).rename(columns=lambda c: c.removeprefix("label/"))
    df.attrs.update(dataset=manifest["dataset"], data=manifest["data"])
    return df


def in_shard_order(directory: str | Path, names: Sequence[str]) -> bool:
    """Whether ``names`` appear in the shards in this order (then a filtered read keeps the rows aligned)."""
    position = {n: i for i, n in enumerate(read_manifest(directory)["names"])}
    order = [position.get(n, -1) for n in names]
    return min(order, default=0) >= 0 and all(a < b for a, b in zip(order, order[1:]))


def make_tfrecord_dataset(directory: str | Path, label_columns: Sequence[str] = (), *, names=None,
                          image_size: Size = 224, crop: str = "resize", n_crops: int = 1,
                          resize_to: Size | None = None, augment: keras.Layer | None = None, batch_size: int = 32,
                          shuffle: bool = False, seed: int = 0, with_prompt: bool = False,
                          preprocess: Callable | None = None, drop_remainder: bool = False,
                          with_name: bool = False, clock: EpochClock | None = None) -> tf.data.Dataset:
    """Batches from TFRecord shards with ``pipeline.make_dataset``'s structure; ``names`` keeps only those images
    (e.g. one split), in shard order. With a ``clock``, rows, crops and augmentation follow the epoch as in
    ``make_dataset``: shuffling then holds the rows' bytes in memory for each pass, as the shuffle buffer does."""
    manifest = read_manifest(directory)
    missing = [c for c in label_columns if c not in manifest["labels"]]
    if missing:
        raise DataError(f"{directory}: no label(s) {missing} in the shards; they have {manifest['labels']}")
    files = tf.data.Dataset.from_tensor_slices([str(Path(directory) / s) for s in manifest["shards"]])
    spec = _spec(manifest["labels"])
    rows = files.interleave(tf.data.TFRecordDataset, cycle_length=1).map(
        lambda r: tf.io.parse_single_example(r, spec), num_parallel_calls=tf.data.AUTOTUNE)
    if names is not None:
        keep = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(names), tf.string), tf.ones(len(names), tf.int32)), default_value=0)
        rows = rows.filter(lambda ex: keep.lookup(ex[schema.NAME]) > 0)
    rows = rows.map(lambda ex: {"bytes": ex["image"], "name": ex[schema.NAME], "prompt": ex[schema.PROMPT],
                                "labels": tf.stack([ex[f"label/{c}"] for c in label_columns]) if label_columns
                                else tf.zeros([0])})
    if clock is not None:
        wanted = set(manifest["names"] if names is None else names)
        count = sum(name in wanted for name in manifest["names"])
        rows = _clocked(rows, count, seed, shuffle, clock)
    elif shuffle:
        rows = rows.shuffle(manifest["count"], seed=seed, reshuffle_each_iteration=True)
    return batches(rows, _decode, image_size=image_size, crop=crop, n_crops=n_crops, resize_to=resize_to,
                   augment=augment, batch_size=batch_size, seed=seed, with_labels=bool(label_columns),
                   with_prompt=with_prompt, preprocess=preprocess, drop_remainder=drop_remainder, with_name=with_name,
                   clock=clock)


def _clocked(rows: tf.data.Dataset, count: int, seed: int, shuffle: bool, clock: EpochClock) -> tf.data.Dataset:
    """The ``count`` shard rows as ``(row, element_seed)`` pairs of the clock's epoch: in shard order, or, with
    ``shuffle``, read whole once a pass and taken in ``RandomState((seed, epoch))`` order (a stream has no random
    access)."""
    positions = clock.positions(count, seed, shuffle)
    if not shuffle:
        return tf.data.Dataset.zip(rows, positions).map(lambda row, position: (row, position[1]))
    return rows.batch(count).flat_map(lambda table: positions.map(
        lambda i, element_seed: ({k: tf.gather(column, i) for k, column in table.items()}, element_seed)))


def _decode(row: dict) -> tf.Tensor:
    image = tf.numpy_function(lambda data, name: decode_image_bytes(data, name.decode()),
                              [row["bytes"], row["name"]], tf.uint8, stateful=False)
    image.set_shape([None, None, 3])
    return tf.cast(image, tf.float32)
