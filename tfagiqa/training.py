"""Training helpers shared by the methods: seeded fitting with validation-based early stopping and one progress bar."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from tfagiqa.data.epochs import EpochClock
from tfagiqa.distribute import backup_callback, shard


class EpochProgress(keras.callbacks.Callback):
    """One tqdm bar over epochs showing the latest losses (Keras' own bar prints a line per epoch)."""

    def __init__(self, epochs: int, desc: str):
        super().__init__()
        self.bar = tqdm(total=epochs, desc=desc, unit="epoch", leave=False)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in (logs or {}).items()})
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()


def n_rows(x) -> int:
    """Number of examples in an array or a dict of arrays."""
    return len(next(iter(x.values())) if isinstance(x, dict) else x)


def as_dataset(x, y=None, batch_size: int = 32, shuffle: bool = False, seed: int = 0,
               clock: EpochClock | None = None) -> tf.data.Dataset:
    """In-memory arrays (dicts allowed, strings included) as a batched tf.data pipeline.

    With ``shuffle`` the rows are permuted by ``numpy.random.RandomState((seed, epoch))``, the epoch coming from
    ``clock`` (epoch 0 without one); tf.data's own shuffle is avoided because distribution strategies re-derive its
    seed. Each epoch's order is thus the same on 1 or N replicas, on every worker, and after a BackupAndRestore resume.
    """
    data = x if y is None else (x, np.asarray(y, dtype="float32"))
    if not shuffle:
        ds = tf.data.Dataset.from_tensor_slices(data)
    else:
        clock = clock if clock is not None else EpochClock()
        ds = clock.rows(data, seed).map(lambda row, _: row)
    return shard(ds.batch(batch_size).prefetch(tf.data.AUTOTUNE), "data")


def fit(model: keras.Model, x, y: np.ndarray, *, validation: tuple | None, epochs: int, batch_size: int,
        patience: int, seed: int, desc: str = "training", backup_dir=None,
        callbacks: list | None = None) -> keras.callbacks.History:
    """Fit with shuffling seeded by ``seed``; with ``validation`` = (x, y), stop early and keep the best-val weights.

    ``batch_size`` is the global batch (see ``tfagiqa.distribute.global_batch_size``); with ``backup_dir`` a
    BackupAndRestore checkpoint lets an interrupted run resume from its last completed epoch; ``callbacks`` are
    added to the progress bar, early stopping and backup.
    """
    clock = EpochClock()
    callbacks = [clock, EpochProgress(epochs, desc), *(callbacks or [])]
    if backup_dir is not None:
        callbacks.append(backup_callback(backup_dir, model.distribute_strategy))
    val = None
    if validation is not None:
        val = as_dataset(*validation, batch_size=batch_size)
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True))
    keras.utils.set_random_seed(seed)
    train = as_dataset(x, y, batch_size=batch_size, shuffle=True, seed=seed, clock=clock)
    return model.fit(train, validation_data=val, epochs=epochs, callbacks=callbacks, verbose=0, shuffle=False)


def predict(model: keras.Model, x, batch_size: int = 256) -> np.ndarray:
    """Scores as a flat float array (first output column)."""
    scores = model.predict(as_dataset(x, batch_size=batch_size), verbose=0)
    return np.asarray(scores).reshape(n_rows(x), -1)[:, 0]
