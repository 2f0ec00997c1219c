"""EpochClock: with a clock every training pipeline's pass is a pure function of (seed, epoch), so a pipeline
rebuilt after a restart gives the resumed epoch's batches; without one the pipelines draw what they always drew."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from PIL import Image

from tfagiqa.data.epochs import DRAWS_PER_EPOCH, EpochClock
from tfagiqa.data.images import load_image
from tfagiqa.data.pipeline import augmentation, make_dataset
from tfagiqa.data.tfrecord import write_tfrecords
from tfagiqa.methods.sfiqa.protocol import clip_dataset, clip_view, nr_dataset, nr_view
from tfagiqa.methods.sfiqa.sama import sama, sama_dataset
from tfagiqa.training import as_dataset

N = 7
TOKENS = np.arange(N * 5, dtype="int32").reshape(N, 5)


@pytest.fixture(scope="module")
def df(tmp_path_factory) -> pd.DataFrame:
    """Seven noise PNGs of different sizes (at most 52 px) with labels, prompts and [0, 1] scores."""
    folder = tmp_path_factory.mktemp("epoch_images")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(N):
        path = folder / f"im{i}.png"
        Image.fromarray(rng.integers(0, 256, (40 + 2 * i, 52 - 2 * i, 3), dtype=np.uint8)).save(path)
        rows.append({"image": str(path), "name": path.name, "prompt": f"prompt {i}", "quality": float(i),
                     "quality01": i / N})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def sharded(df, tmp_path_factory) -> pd.DataFrame:
    """Rows 1.. of ``df`` read through TFRecord shards (make_dataset's TFRecord path, with a name filter)."""
    whole = df.copy()
    whole.attrs["dataset"] = "toy"
    shards = write_tfrecords(whole, tmp_path_factory.mktemp("epoch_shards") / "tfrecords", shard_size_mb=0.005)
    part = df.iloc[1:].reset_index(drop=True)
    part.attrs["tfrecords"] = str(shards)
    return part


def make(frame, clock, shuffle=True):
    return make_dataset(frame, ["quality"], image_size=24, crop="random_crop", augment=augmentation(seed=3),
                        shuffle=shuffle, seed=5, batch_size=3, with_prompt=True, clock=clock)


PIPELINES = {
    "make_dataset": lambda df, sharded, clock: make(df, clock),
    "make_dataset_tfrecord": lambda df, sharded, clock: make(sharded, clock),
    "sama_dataset": lambda df, sharded, clock: sama_dataset(df, ["quality"], size=32, grid=4, training=True, seed=1,
                                                            batch_size=3, shuffle=True, rotation=30.0,
                                                            inputs={"token_ids": TOKENS}, clock=clock),
    "clip_dataset": lambda df, sharded, clock: clip_dataset(df, TOKENS, df["quality"].to_numpy(), 24, 3, shuffle=True,
                                                            seed=2, clock=clock),
    "nr_dataset": lambda df, sharded, clock: nr_dataset(df, 24, 3, seed=4, clock=clock),
}


def epoch(ds: tf.data.Dataset, clock: EpochClock, e: int) -> list[list[np.ndarray]]:
    """One pass of epoch ``e``: each batch's tensors, flattened (labels last)."""
    clock.start(e)
    return [[t.numpy() for t in tf.nest.flatten(batch)] for batch in ds]


def same(a: list, b: list) -> bool:
    """Whether two passes (or two lists of arrays) are equal, shapes included."""
    flat_a, flat_b = tf.nest.flatten(a), tf.nest.flatten(b)
    return len(flat_a) == len(flat_b) and all(x.shape == y.shape and np.array_equal(x, y)
                                              for x, y in zip(flat_a, flat_b))


@pytest.mark.parametrize("name", PIPELINES)
def test_a_fresh_pipeline_at_epoch_2_gives_the_third_pass_of_a_running_one(name, df, sharded):
    build = PIPELINES[name]
    clock = EpochClock()
    running = build(df, sharded, clock)
    passes = [epoch(running, clock, e) for e in range(3)]
    fresh_clock = EpochClock()
    fresh = build(df, sharded, fresh_clock)
    assert same(epoch(fresh, fresh_clock, 2), passes[2])
    assert same(epoch(running, clock, 2), passes[2])  # the same (seed, epoch) twice
    orders = {tuple(np.concatenate([batch[-1].ravel() for batch in p])) for p in passes}
    assert len(orders) == 3  # each epoch its own row order


def test_random_crops_and_flips_follow_the_epoch_without_shuffling(df):
    clock = EpochClock()
    ds = make(df, clock, shuffle=False)
    first, second = epoch(ds, clock, 0), epoch(ds, clock, 1)
    assert same([b[-1] for b in first], [b[-1] for b in second])  # labels: the rows in their own order
    assert all(not np.array_equal(a[0], b[0]) for a, b in zip(first, second))  # pixels: new crops and flips
    assert same(epoch(ds, clock, 0), first)


class Recorder(keras.Model):
    """A model whose training step only records the batches ``fit`` feeds it."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def train_step(self, data):
        self.seen.append([t.numpy() for t in tf.nest.flatten(data)])
        return {"loss": tf.constant(0.0)}


def fed_by_fit(df, epochs: int, initial_epoch: int = 0) -> list:
    clock = EpochClock()
    model = Recorder()
    model.compile(run_eagerly=True)
    model.fit(make(df, clock), epochs=epochs, initial_epoch=initial_epoch, callbacks=[clock], verbose=0,
              shuffle=False)
    return model.seen


def test_model_fit_resumed_at_epoch_2_is_fed_the_batches_of_an_uninterrupted_fit(df):
    full, resumed = fed_by_fit(df, 3), fed_by_fit(df, 3, initial_epoch=2)
    per_epoch = len(full) // 3
    assert same(full[2 * per_epoch:], resumed)
    assert not same(full[:per_epoch], full[per_epoch:2 * per_epoch])


def test_the_clock_follows_model_fit_epochs_and_reseeds_registered_layers():
    clock = EpochClock()
    layer = clock.register(keras.layers.RandomFlip(seed=11))
    clock.on_epoch_begin(3)
    assert clock.epoch == 3
    np.testing.assert_array_equal(np.asarray(layer.generator.state), [11, 3 * DRAWS_PER_EPOCH])
    with pytest.raises(ValueError, match="no seed"):
        clock.register(keras.Sequential([keras.layers.RandomRotation(0.1)]))


def test_as_dataset_permutes_rows_by_seed_and_epoch():
    x = {"a": np.arange(10.0), "s": np.array([f"s{i}" for i in range(10)])}
    clock = EpochClock()
    ds = as_dataset(x, np.arange(10.0), batch_size=4, shuffle=True, seed=3, clock=clock)
    for e in (0, 2):
        clock.start(e)
        got = np.concatenate([y.numpy() for _, y in ds])
        np.testing.assert_array_equal(got, np.random.RandomState((3, e)).permutation(10))


# --- without a clock: the pre-change streams, rebuilt here element by element --------------------------------------

def old_order(n: int, seed: int, passes: int) -> list[np.ndarray]:
    """Row orders of ``passes`` passes of tf.data's reshuffling shuffle (the pipelines' pre-clock order)."""
    ds = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return [np.array([int(i) for i in ds]) for _ in range(passes)]


def old_seeds(seed: int, width: int, count: int) -> list[np.ndarray]:
    """The first pass's first ``count`` per-element seeds (``width`` int64 each) of the pre-clock stream."""
    stream = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(width)
    return [s.numpy() for s in stream.take(count)]


def pixels(df: pd.DataFrame, row: int) -> tf.Tensor:
    return tf.cast(load_image(df["image"][row]), tf.float32)


def test_without_a_clock_the_pipelines_draw_what_they_drew_before(df):
    order = old_order(N, 5, 1)[0]
    augment = augmentation(seed=3)
    crops = [tf.image.stateless_random_crop(pixels(df, r), [24, 24, 3], seed=s)
             for r, s in zip(order, old_seeds(5, 2, N))]
    expected = np.concatenate([augment(tf.stack(crops[k:k + 3]), training=True) for k in range(0, N, 3)])
    got = np.concatenate([x["image"].numpy() for x, _ in make(df, None)])
    np.testing.assert_array_equal(got, expected)

    order = old_order(N, 1, 1)[0]
    rotate = keras.layers.RandomRotation(30 / 360, fill_mode="constant", fill_value=0.0, seed=1)
    views = [sama(rotate(tf.image.stateless_random_flip_left_right(pixels(df, r), seed=s[:2]), training=True),
                  32, 4, seed=s[2:]) for r, s in zip(order, old_seeds(1, 4, N))]
    got = np.concatenate([x["images"].numpy() for x, _ in PIPELINES["sama_dataset"](df, None, None)])
    np.testing.assert_array_equal(got, np.stack(views))

    order = old_order(N, 4, 1)[0]
    views = [nr_view(pixels(df, r), 24, s) for r, s in zip(order, old_seeds(4, 2, N))]
    got = np.concatenate([x["images"].numpy() for x, _ in nr_dataset(df, 24, 3, seed=4)])
    np.testing.assert_array_equal(got, np.stack(views))

    orders = old_order(N, 2, 2)
    ds = clip_dataset(df, TOKENS, df["quality"].to_numpy(), 24, 3, shuffle=True, seed=2)
    for expected_order in orders:  # labels are row numbers: two passes, two tf.data shuffles
        batches = list(ds)
        np.testing.assert_array_equal(np.concatenate([y.numpy().ravel() for _, y in batches]), expected_order)
    np.testing.assert_array_equal(np.concatenate([x["images"].numpy() for x, _ in batches]),
                                  np.stack([clip_view(pixels(df, r), 24) for r in orders[-1]]))
