"""One place for tf.distribute: pick a strategy, scale the batch, shard input, back up for preemption.

Every run script takes ``--strategy {default,mirrored,multiworker,tpu}`` and calls :func:`make_strategy`;
models and optimisers are built inside ``strategy.scope()``; the global batch is the per-replica batch times
the number of replicas (learning rates are left as configured: see README, *Scaling out*); result rows record
``strategy`` and ``replicas``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from tfagiqa.errors import TfagiqaError

STRATEGIES = ("default", "mirrored", "multiworker", "tpu")
SHARD_POLICIES = {
    "files": tf.data.experimental.AutoShardPolicy.FILE,   # TFRecord shards: each worker reads its own files
    "data": tf.data.experimental.AutoShardPolicy.DATA,    # in-memory or path lists: each worker keeps every n-th element
    "off": tf.data.experimental.AutoShardPolicy.OFF,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The run scripts' ``--strategy`` and ``--tpu`` options (read by :func:`make_strategy`)."""
    parser.add_argument("--strategy", default="default", choices=STRATEGIES,
                        help="tf.distribute strategy (multiworker reads TF_CONFIG); the batch is per replica")
    parser.add_argument("--tpu", default=None, help="TPU name or address for --strategy tpu")


def make_strategy(name: str = "default", *, tpu: str | None = None) -> tf.distribute.Strategy:
    """The named strategy. ``mirrored`` uses every GPU, or every logical CPU when there is no GPU;
    ``multiworker`` reads the cluster from ``TF_CONFIG``; ``tpu`` connects to ``tpu`` (name or grpc address)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise TfagiqaError("--strategy multiworker needs TF_CONFIG describing the cluster and this worker "
                               "(see README, Scaling out)")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as exc:
            raise TfagiqaError(f"TF_CONFIG is not valid JSON: {exc}") from exc
        _patch_keras_multiworker()
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise TfagiqaError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")


def describe(strategy: tf.distribute.Strategy) -> dict:
    """What result rows record: the strategy's kind and its number of replicas."""
    kinds = {"_DefaultDistributionStrategy": "default", "MirroredStrategy": "mirrored",
             "MultiWorkerMirroredStrategy": "multiworker", "CollectiveAllReduceStrategy": "multiworker",
             "TPUStrategy": "tpu"}
    kind = kinds.get(type(strategy).__name__, type(strategy).__name__)
    return {"strategy": kind, "replicas": int(strategy.num_replicas_in_sync)}


def global_batch_size(per_replica: int, strategy: tf.distribute.Strategy) -> int:
    """Per-replica batch × replicas: each replica sees the configured batch, as on one device."""
    return per_replica * strategy.num_replicas_in_sync


def shard(dataset: tf.data.Dataset, policy: str) -> tf.data.Dataset:
    """Set the auto-shard policy for multi-worker input (``files`` for TFRecord shards, ``data`` otherwise)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = SHARD_POLICIES[policy]
    return dataset.with_options(options)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes results and models (worker 0 of a multi-worker cluster, or the only process)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0)


def backup_dir(out: str | os.PathLike, name: str, strategy: tf.distribute.Strategy) -> Path | None:
    """Where a distributed run backs up one training (``out/backup/name``); None on the default strategy, where
    a single-device run is cheaper to restart than to checkpoint every epoch."""
    return None if describe(strategy)["strategy"] == "default" else Path(out) / "backup" / name


def output_dir(out: str | os.PathLike, strategy: tf.distribute.Strategy) -> Path:
    """``out`` for the chief; a throwaway ``out/.workers/<type>_<id>`` for other workers, which run the same
    program but must not write the same results and models (TensorFlow's multi-worker saving pattern)."""
    if is_chief(strategy):
        return Path(out)
    resolver = strategy.cluster_resolver
    return Path(out) / ".workers" / f"{resolver.task_type}_{resolver.task_id}"


class EpochBackup:
    """A training's backup after each epoch: the model's weights, its compiled optimiser's state, its random seed
    generators' states and a picklable state (epoch, early stopping, per-epoch records) — for ``training.fit``'s
    backups and for loops that run their own epochs.

    Every worker restores the chief's backup; only the chief writes it. The state file, replaced atomically,
    names the weights file saved with it, so a run killed while saving resumes from the previous epoch.
    """

    STATE = "state.pkl"

    def __init__(self, directory: str | os.PathLike, strategy: tf.distribute.Strategy | None = None):
        self.directory = Path(directory)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.chief = is_chief(self.strategy)

    def restore(self, model: keras.Model):
        """The state saved with the last completed epoch (weights and optimiser state put back), or None."""
        if not (self.directory / self.STATE).is_file():
            return None
        with open(self.directory / self.STATE, "rb") as f:
            weights, state, seeds = pickle.load(f)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not optimizer.built:  # Keras skips the saved moments of an unbuilt optimiser
            with self.strategy.scope():
                optimizer.build(model.trainable_variables)
        model.load_weights(self.directory / weights)
        for variable, value in zip(seed_states(model), seeds):
            variable.assign(value)
        return state

    def save(self, model: keras.Model, state, step: int) -> None:
        """Back up ``model`` and ``state`` after ``step`` (the chief only), then drop the older weights."""
        if not self.chief:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        weights = f"step{step}.weights.h5"
        model.save_weights(self.directory / weights)  # a compiled model's optimiser state goes in with them
        partial = self.directory / f"{self.STATE}.partial"
        with open(partial, "wb") as f:
            pickle.dump((weights, state, [keras.ops.convert_to_numpy(v) for v in seed_states(model)]), f)
        os.replace(partial, self.directory / self.STATE)
        for old in self.directory.glob("step*.weights.h5"):
            if old.name != weights:
                old.unlink()

    def delete(self) -> None:
        """Remove the backup once the training it protects has finished (the chief only)."""
        if self.chief:
            shutil.rmtree(self.directory, ignore_errors=True)


def seed_states(model: keras.Model) -> list:
    """The states of the model's random seed generators (dropout masks and other random layers draw from them).
    Keras does not save them with the weights; a backup keeps them so a resumed training draws what an
    uninterrupted one would have drawn."""
    return [v for v in model.non_trainable_variables if v.name == "seed_generator_state"]


def run_epochs(model: keras.Model, epochs: int, one_epoch: Callable[[int], Any], backup_dir: Path | None = None,
               strategy: tf.distribute.Strategy | None = None, log: Callable[[str], None] = print,
               desc: str = "") -> list:
    """The records ``one_epoch(epoch)`` returns for epochs 0…epochs−1, for a loop that runs its own epochs.

    With ``backup_dir`` every completed epoch is backed up by :class:`EpochBackup` (``model``'s weights, its compiled
    optimiser's state, the records so far), an interrupted run resumes after its last completed epoch, and the
    backup is removed once all epochs are done.
    """
    backup = EpochBackup(backup_dir, strategy) if backup_dir is not None else None
    history = (backup.restore(model) if backup else None) or []
    if history:
        log(f"    {desc + ' ' if desc else ''}resumed from {backup_dir} after epoch {len(history)}")
    for epoch in range(len(history), epochs):
        history.append(one_epoch(epoch))
        if backup:
            backup.save(model, history, epoch + 1)
    if backup:
        backup.delete()
    return history


def _patch_keras_multiworker() -> None:
    """Work around two Keras 3.15 TF-trainer bugs under MultiWorkerMirroredStrategy (idempotent).

    1. Before the first step ``fit`` builds the model from one batch obtained with ``strategy.reduce("MEAN",
       batch)`` on the nested (x, y) structure, which the collective strategy cannot reduce; the build needs
       only shapes, so the batch's local values are used.
    2. Per-step logs (scalar losses) are reduced with ``axis=0``, which a scalar does not have; they are
       averaged across replicas with ``axis=None``, which is what "mean" means for a scalar.
    """
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer, "_tfagiqa_patched", False):
        return
    original_build = trainer.TensorFlowTrainer._maybe_symbolic_build
    original_reduce = trainer.reduce_per_replica

    def is_multiworker(strategy) -> bool:
        return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)

    def build(self, iterator=None, data_batch=None):
        if iterator is None or not is_multiworker(self._distribute_strategy):
            return original_build(self, iterator=iterator, data_batch=data_batch)
        strategy = self._distribute_strategy
        for _, _, it in iterator:
            batch = tf.nest.map_structure(
                lambda v: strategy.experimental_local_results(v)[0]
                if isinstance(v, tf.distribute.DistributedValues) else v, next(it))
            break
        with strategy.scope():
            self._symbolic_build(data_batch=batch)

    def reduce_per_replica(values, strategy, reduction):
        if is_multiworker(strategy) and reduction in ("auto", "mean"):
            return tf.nest.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None if v.shape.rank == 0 else 0), values)
        return original_reduce(values, strategy, reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = build
    trainer.reduce_per_replica = reduce_per_replica
    trainer._tfagiqa_patched = True
