"""The one way every method trains a Keras model: ``model.fit`` with a progress bar, seeded epoch-keyed shuffling,
optional early stopping and per-epoch evaluation, and preemption backups.

A backup holds everything the run needs to end where an uninterrupted one would: the weights with the compiled
optimiser's moments, the epoch, the early-stopping state (best loss, best weights, patience count) and the
per-epoch records that epoch selection reads. Only HyperIQA keeps a loop of its own (two optimisers re-created
every epoch, see :mod:`tfagiqa.methods.hyperiqa.protocol`); it backs up through the same
:class:`tfagiqa.distribute.EpochBackup`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from tfagiqa.data.epochs import EpochClock
from tfagiqa.distribute import EpochBackup, shard


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


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' early stopping on ``val_loss`` with the best weights restored at the end, whose state goes into the
    backup so that a resumed training stops and restores as the uninterrupted one would."""

    state_key = "early_stopping"
    STATE = ("wait", "best", "best_epoch", "best_weights", "stopped_epoch")

    def __init__(self, patience: int):
        super().__init__(monitor="val_loss", patience=patience, restore_best_weights=True)

    def get_state(self) -> dict:
        return {name: getattr(self, name) for name in self.STATE}

    def set_state(self, state: dict) -> None:
        for name, value in state.items():
            setattr(self, name, value)

    @property
    def finished(self) -> bool:
        """Whether it had stopped the training (nothing is left to run after a resume)."""
        return self.stopped_epoch > 0


class EpochRecords(keras.callbacks.Callback):
    """One record per epoch: the epoch's logs (loss, val_loss) and what ``evaluate(epoch, logs)`` returns (test
    metrics, predictions): what the epoch-selection rules read. Kept in the backup."""

    state_key = "records"

    def __init__(self, evaluate: Callable[[int, dict], dict] | None = None):
        super().__init__()
        self.evaluate = evaluate
        self.records: list[dict] = []

    def on_train_begin(self, logs=None):
        self.records = []

    def on_epoch_end(self, epoch, logs=None):
        record = {k: float(v) for k, v in (logs or {}).items()}
        self.records.append({**record, **(self.evaluate(epoch, record) if self.evaluate else {})})

    def get_state(self) -> list[dict]:
        return list(self.records)

    def set_state(self, state: list[dict]) -> None:
        self.records = list(state)


class TrainingBackup(keras.callbacks.Callback):
    """Backs a training up after every epoch (the chief), restores it when the same training starts again (every
    worker), and deletes the backup when it ends.

    It saves the model's weights with its compiled optimiser's moments (:class:`tfagiqa.distribute.EpochBackup`)
    together with the epoch and the state of the ``stateful`` callbacks (``state_key``, ``get_state``,
    ``set_state``). It must come after them in the callback list, so that it saves their end-of-epoch state and
    restores theirs after they reset at the start of training.
    """

    def __init__(self, directory: str | Path, stateful: list, strategy: tf.distribute.Strategy | None = None,
                 desc: str = "", log: Callable[[str], None] = print):
        super().__init__()
        self.backup = EpochBackup(directory, strategy)
        self.stateful, self.desc, self.log = stateful, desc, log

    def on_train_begin(self, logs=None):
        saved = self.backup.restore(self.model)
        if saved is None:
            return
        epoch, states = saved
        for callback in self.stateful:
            callback.set_state(states[callback.state_key])
        finished = any(getattr(callback, "finished", False) for callback in self.stateful)
        self.model._initial_epoch = self.params["epochs"] if finished else epoch
        self.log(f"    {self.desc + ' ' if self.desc else ''}resumed from {self.backup.directory} after epoch {epoch}")

    def on_epoch_end(self, epoch, logs=None):
        states = {callback.state_key: callback.get_state() for callback in self.stateful}
        self.backup.save(self.model, (epoch + 1, states), epoch + 1)

    def on_train_end(self, logs=None):
        self.backup.delete()
        self.model._initial_epoch = None


def fit(model: keras.Model, x, y: np.ndarray | None = None, *, epochs: int, batch_size: int = 32,
        validation: tuple | tf.data.Dataset | None = None, patience: int | None = None,
        evaluate: Callable[[int, dict], dict] | None = None, seed: int | None = 0, desc: str = "training",
        backup_dir: str | Path | None = None, callbacks: list | None = None,
        clock: EpochClock | None = None, log: Callable[[str], None] = print) -> list[dict]:
    """Train a compiled ``model`` for ``epochs``; returns one record per epoch (``loss``, ``val_loss`` and what
    ``evaluate(epoch, logs)`` returns after each epoch).

    ``x``/``y``: in-memory arrays (dicts allowed), shuffled by ``RandomState((seed, epoch))`` in batches of
    ``batch_size`` (the global batch, see ``tfagiqa.distribute.global_batch_size``); or ``x`` a ``tf.data.Dataset``
    of batches that does its own shuffling (``y`` None). ``validation`` = (x, y) or a dataset, with ``patience``:
    stop early on ``val_loss`` and keep the best epoch's weights. ``backup_dir``: back up every epoch; a training
    interrupted and started again resumes after its last completed epoch and ends as the uninterrupted one would.
    ``callbacks`` run after the epoch's records and backup. ``seed`` also reseeds Keras' global generators
    (dropout, augmentation) before training; None leaves them be. ``clock``: the
    :class:`tfagiqa.data.epochs.EpochClock` a dataset ``x`` was built with, so its order and random views are
    keyed to the epoch too. ``log`` prints a resume.
    """
    clock = clock if clock is not None else EpochClock()
    records = EpochRecords(evaluate)
    stateful: list = [records]
    own = [clock, EpochProgress(epochs, desc), records]
    val = None
    if validation is not None:
        val = validation if isinstance(validation, tf.data.Dataset) else as_dataset(*validation, batch_size=batch_size)
        if patience is not None:
            stateful.append(ResumableEarlyStopping(patience))
            own.append(stateful[-1])
    if backup_dir is not None:
        own.append(TrainingBackup(backup_dir, stateful, model.distribute_strategy, desc, log))
    if seed is not None:
        keras.utils.set_random_seed(seed)
    train = x if isinstance(x, tf.data.Dataset) else as_dataset(x, y, batch_size=batch_size, shuffle=True,
                                                              seed=seed or 0, clock=clock)
    model.fit(train, validation_data=val, epochs=epochs, callbacks=[*own, *(callbacks or [])], verbose=0,
              shuffle=False)
    return records.records


def predict(model: keras.Model, x, batch_size: int = 256) -> np.ndarray:
    """Scores as a flat float array (first output column)."""
    scores = model.predict(as_dataset(x, batch_size=batch_size), verbose=0)
    return np.asarray(scores).reshape(n_rows(x), -1)[:, 0]
