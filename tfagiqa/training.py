"""Training helpers shared by the methods: seeded fitting with validation-based early stopping and one progress bar."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm


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


def as_dataset(x, y=None, batch_size: int = 32, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
    """In-memory arrays (dicts allowed, strings included) as a batched tf.data pipeline."""
    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, np.asarray(y, dtype="float32")))
    if shuffle:
        ds = ds.shuffle(n_rows(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def fit(model: keras.Model, x, y: np.ndarray, *, validation: tuple | None, epochs: int, batch_size: int,
        patience: int, seed: int, desc: str = "training") -> keras.callbacks.History:
    """Fit with shuffling seeded by ``seed``; with ``validation`` = (x, y), stop early and keep the best-val weights."""
    callbacks = [EpochProgress(epochs, desc)]
    val = None
    if validation is not None:
        val = as_dataset(*validation, batch_size=batch_size)
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True))
    keras.utils.set_random_seed(seed)
    train = as_dataset(x, y, batch_size=batch_size, shuffle=True, seed=seed)
    return model.fit(train, validation_data=val, epochs=epochs, callbacks=callbacks, verbose=0, shuffle=False)


def predict(model: keras.Model, x, batch_size: int = 256) -> np.ndarray:
    """Scores as a flat float array (first output column)."""
    scores = model.predict(as_dataset(x, batch_size=batch_size), verbose=0)
    return np.asarray(scores).reshape(n_rows(x), -1)[:, 0]
