"""Epoch-indexed randomness for the training pipelines: every draw of a pass is a pure function of
(seed, epoch, position).

Why: a training killed and resumed from its backup (Keras BackupAndRestore, ``EpochBackup``) continues at epoch k
with a fresh input pipeline. tf.data's stateful streams (``shuffle(reshuffle_each_iteration=True)``,
``Dataset.random(rerandomize_each_iteration=True)``) and Keras layers' ``SeedGenerator`` would then draw what the
first pass drew, not what the k-th pass of the uninterrupted run drew, and the two trainings would part ways.
With an :class:`EpochClock` told which epoch is starting, a pipeline draws:

* its row order: ``numpy.random.RandomState((seed, epoch)).permutation(n)`` (rows 0..n-1 without shuffling),
  computed by a generator when a pass starts (its first element is requested);
* per-element random seeds (crops, flips, fragment offsets): row i's is the int64 pair
  ``[seed, epoch·2**32 + i]``, fed to TensorFlow's stateless random ops;
* Keras random layers registered with the clock: at each start their seed generators are set to
  ``[layer_seed, epoch·2**20]``. Keras' ``SeedGenerator`` draws its current state and then adds 1 to the second
  word, so the k-th draw of epoch e uses ``[layer_seed, e·2**20 + k]``, the same whatever ran before. The
  TensorFlow backend folds seeds into int32 (mod 2**31 − 2), so draws stay distinct for epochs below 2048 with
  fewer than 2**20 draws an epoch (one draw per layer per batch, or per element for element-wise layers).

``model.fit`` calls :meth:`EpochClock.on_epoch_begin`, including at the restored epoch of a resumed fit; custom
loops call :meth:`EpochClock.start` before iterating each epoch. Registered layers must be called sequentially
(a sequential ``map``), so that their draws come in element order.
"""

from __future__ import annotations

from typing import TypeVar

import keras
import numpy as np
import tensorflow as tf

DRAWS_PER_EPOCH = 2**20
LayerT = TypeVar("LayerT", bound=keras.Layer)


class EpochClock(keras.callbacks.Callback):
    """The epoch a training pass belongs to, read by the pipelines built with it (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch = 0
        self._generators: list[tuple[int, keras.random.SeedGenerator]] = []

    def register(self, layer: LayerT) -> LayerT:
        """Reseed ``layer``'s random (sub)layers for the current epoch now and at every :meth:`start`.

        Each seed generator must have an explicit seed: an unseeded one draws a new seed in every process, which
        a resumed training could not reproduce. Returns ``layer``.
        """
        for sublayer in layer._flatten_layers():  # Keras 3 tracks every layer's SeedGenerators here
            for generator in sublayer._seed_generators:
                seed = generator.get_config()["seed"]
                if seed is None:
                    raise ValueError(f"EpochClock.register: layer {sublayer.name!r} has no seed; give it one so a "
                                     "resumed training draws what the uninterrupted one did")
                if all(generator is not known for _, known in self._generators):
                    self._generators.append((seed, generator))
                    self._reseed(seed, generator)
        return layer

    def start(self, epoch: int) -> None:
        """Epoch ``epoch`` begins: passes started from now on draw its order and seeds; registered layers restart."""
        self.epoch = int(epoch)
        for seed, generator in self._generators:
            self._reseed(seed, generator)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.start(epoch)

    def positions(self, n: int, seed: int, shuffle: bool = True) -> tf.data.Dataset:
        """One pass's ``(position, element_seed)`` pairs for ``n`` rows: int64 positions (``RandomState((seed,
        epoch))`` order with ``shuffle``, else 0..n-1) and their int64 [2] seeds ``[seed, epoch·2**32 + position]``."""

        def generate():
            epoch = self.epoch
            order = np.random.RandomState((seed, epoch)).permutation(n) if shuffle else np.arange(n)
            seeds = np.stack([np.full(n, seed), (epoch << 32) + order], axis=1)
            yield order.astype(np.int64), seeds.astype(np.int64)

        signature = (tf.TensorSpec([n], tf.int64), tf.TensorSpec([n, 2], tf.int64))
        ds = tf.data.Dataset.from_generator(generate, output_signature=signature).unbatch()
        return ds.apply(tf.data.experimental.assert_cardinality(n))

    def rows(self, data: np.ndarray | dict | tuple, seed: int, shuffle: bool = True) -> tf.data.Dataset:
        """``(row, element_seed)`` pairs of in-memory ``data`` (an array or a nest of arrays, rows on the first
        axis) in :meth:`positions` order."""
        tensors = tf.nest.map_structure(tf.constant, data)
        n = len(tf.nest.flatten(data)[0])
        return self.positions(n, seed, shuffle).map(
            lambda i, element_seed: (tf.nest.map_structure(lambda t: tf.gather(t, i), tensors), element_seed))

    def _reseed(self, seed: int, generator: keras.random.SeedGenerator) -> None:
        generator.state.assign(np.array([seed, self.epoch * DRAWS_PER_EPOCH], dtype=generator.state.dtype))
