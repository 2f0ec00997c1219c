"""A tiny training job for the distribution tests, run as a separate process (strategies need a fresh TF runtime).

    python distributed_worker.py MODE OUT [--epochs N] [--backup DIR] [--kill-at-epoch K]

MODE: single (1 device), mirrored (2 logical CPUs, MirroredStrategy), multiworker (TF_CONFIG from the
environment). Writes the final weights to OUT (.npz, chief only) and one line per epoch run to OUT.epochs.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

if sys.argv[1] == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from tfagiqa import distribute, training  # noqa: E402

PER_REPLICA_BATCH = {"single": 8, "mirrored": 4, "multiworker": 4}  # the same global batch of 8 everywhere


class EpochLog(keras.callbacks.Callback):
    """Appends the epoch index to a file and optionally kills this process at an epoch's end (a preemption)."""

    def __init__(self, path, kill_at):
        super().__init__()
        self.path, self.kill_at = path, kill_at

    def on_epoch_end(self, epoch, logs=None):
        with open(self.path, "a") as f:
            f.write(f"{epoch}\n")
        if self.kill_at is not None and epoch == self.kill_at:
            os._exit(3)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=sorted(PER_REPLICA_BATCH))
    p.add_argument("out")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--backup", default=None)
    p.add_argument("--kill-at-epoch", type=int, default=None)
    args = p.parse_args()
    strategy = distribute.make_strategy("default" if args.mode == "single" else args.mode)
    rng = np.random.RandomState(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x @ np.array([0.5, -1.0, 2.0, 0.1], dtype="float32") + 0.3).astype("float32")
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    log = EpochLog(f"{args.out}.epochs", args.kill_at_epoch)
    training.fit(model, x, y, validation=None, epochs=args.epochs, patience=0, seed=0,
                 batch_size=distribute.global_batch_size(PER_REPLICA_BATCH[args.mode], strategy),
                 backup_dir=args.backup, callbacks=[log])
    if distribute.is_chief(strategy):
        np.savez(args.out, *model.get_weights(), replicas=strategy.num_replicas_in_sync)
    leave_together(strategy, args.out)


def leave_together(strategy, out):
    """Exit only once every worker has finished: a worker leaving first can cut its peer's last collective."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return
    folder = os.path.dirname(os.path.abspath(out))
    open(os.path.join(folder, f"done.{resolver.task_id}"), "w").close()
    deadline = time.time() + 60
    while time.time() < deadline and not all(
            os.path.exists(os.path.join(folder, f"done.{i}")) for i in range(strategy.num_replicas_in_sync)):
        time.sleep(0.2)
    time.sleep(1.0)


if __name__ == "__main__":
    main()
