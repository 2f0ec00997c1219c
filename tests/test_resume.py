"""A training killed after any epoch and started again ends exactly where the uninterrupted one ends: the same
weights, the same early-stopping decision and the same per-epoch records (tfagiqa.training.fit's backups)."""

import keras
import numpy as np
import pandas as pd
import pytest

from tfagiqa import training
from tfagiqa.data.epochs import EpochClock
from experiment_scripts import load_script

EPOCHS, PATIENCE = 12, 2


class Preempted(Exception):
    """Stands in for the process being killed right after an epoch's backup."""


def data():
    rng = np.random.RandomState(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = (x @ np.array([0.5, -1.0, 2.0, 0.1], "float32") + rng.normal(scale=0.5, size=48)).astype("float32")
    return x[:40], y[:40], (x[40:], y[40:])


def model():
    keras.utils.set_random_seed(3)
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Dropout(0.3),
                            keras.layers.Dense(1)])
    net.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    return net


def train(backup_dir=None, kill_after=None):
    """One training with early stopping and per-epoch evaluation; with ``kill_after`` it dies after that epoch."""
    x, y, validation = data()
    net = model()

    class Kill(keras.callbacks.Callback):  # runs after the epoch's backup
        def on_epoch_end(self, epoch, logs=None):
            if epoch == kill_after:
                raise Preempted

    def evaluate(epoch, logs):
        return {"val_pred": np.asarray(net(validation[0], training=False)).ravel().tolist()}

    records = training.fit(net, x, y, epochs=EPOCHS, batch_size=8, validation=validation, patience=PATIENCE,
                           evaluate=evaluate, seed=5, backup_dir=backup_dir, callbacks=[Kill()])
    return net.get_weights(), records


@pytest.fixture(scope="module")
def uninterrupted():
    weights, records = train()
    assert len(records) < EPOCHS  # early stopping did stop it: the resume must carry its state
    return weights, records


@pytest.mark.parametrize("kill_after", [0, 2, "stop-1", "stop"])
def test_killed_training_resumes_to_the_uninterrupted_end(uninterrupted, tmp_path, kill_after):
    """Killed after the first epoch, a middle one, the epoch before early stopping fires and the one it fires at."""
    weights, records = uninterrupted
    last = len(records) - 1
    epoch = {"stop-1": last - 1, "stop": last}.get(kill_after, kill_after)
    with pytest.raises(Preempted):
        train(tmp_path / "backup", kill_after=epoch)
    assert (tmp_path / "backup").is_dir()
    resumed_weights, resumed_records = train(tmp_path / "backup")
    for got, want in zip(resumed_weights, weights):
        np.testing.assert_array_equal(got, want)
    assert [r["val_loss"] for r in resumed_records] == [r["val_loss"] for r in records]
    assert [r["val_pred"] for r in resumed_records] == [r["val_pred"] for r in records]
    assert not (tmp_path / "backup").exists()  # deleted once the training it protects has finished


def test_dataset_with_epoch_keyed_order_resumes_exactly(tmp_path):
    """A tf.data input whose order is drawn from (seed, epoch) through the training's EpochClock (ImageReward's pairs)."""
    x, y, _ = data()

    def run(backup_dir=None, kill_after=None):
        net, clock = model(), EpochClock()
        ds = clock.rows((x, y), seed=7).map(lambda row, _: row).batch(8)

        class Kill(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == kill_after:
                    raise Preempted

        records = training.fit(net, ds, epochs=5, seed=5, backup_dir=backup_dir, clock=clock, callbacks=[Kill()])
        return net.get_weights(), [r["loss"] for r in records]

    weights, losses = run()
    with pytest.raises(Preempted):
        run(tmp_path / "b", kill_after=2)
    resumed, resumed_losses = run(tmp_path / "b")
    assert resumed_losses == losses
    for got, want in zip(resumed, weights):
        np.testing.assert_array_equal(got, want)


def test_run_dlsr_killed_mid_training_reports_what_an_uninterrupted_run_reports(tmp_path, monkeypatch):
    """run_dlsr.py --strategy mirrored (backups on) killed after epoch 3 of perception_before's early-stopped
    training, then run again: the same rows as an uninterrupted run (the issue's 0.5693 vs 0.6180)."""
    script = load_script("run_dlsr")
    common = ["--data-root", str(tmp_path / "data"), "--profile", "test", "--fold", "1", "--task", "perception",
              "--strategy", "mirrored", "--no-export"]
    assert script.main([*common, "--out", str(tmp_path / "whole")]) == 0
    save = training.TrainingBackup.on_epoch_end
    state = {"killed": False}

    def dies_once(self, epoch, logs=None):
        save(self, epoch, logs)
        if epoch == 3 and not state["killed"]:
            state["killed"] = True
            raise Preempted

    monkeypatch.setattr(training.TrainingBackup, "on_epoch_end", dies_once)
    with pytest.raises(Preempted):
        script.main([*common, "--out", str(tmp_path / "killed")])
    assert (tmp_path / "killed" / "backup").is_dir()
    assert script.main([*common, "--out", str(tmp_path / "killed")]) == 0
    whole = pd.read_csv(tmp_path / "whole" / "results.csv")
    resumed = pd.read_csv(tmp_path / "killed" / "results.csv")
    columns = ["experiment", "srcc", "plcc", "alpha"]
    pd.testing.assert_frame_equal(resumed[columns], whole[columns])


@pytest.mark.slow  # the same training.fit resume path as test_resume.py's run_dlsr kill test; minutes on 2 cores
@pytest.mark.parametrize("stage", ["fine-tuning", "aigc pre-training"])
def test_sfiqa_quality_branch_killed_after_an_epoch_resumes_to_the_same_weights(stage, tmp_path, monkeypatch):
    """SF-IQA's quality branch (SAMA views: shuffled, flipped, rotated, random fragment offsets, dropout) killed
    after epoch 1 of 3 and trained again from its backup ends with the uninterrupted training's weights: the
    target fine-tuning and stage (ii), the AIGC pre-training (its own epochs and rate, labels ``quality01``)."""
    from tfagiqa.data import load_dataset
    from tfagiqa.methods.sfiqa import protocol

    train = load_dataset("agiqa3k", tmp_path / "data").head(24).reset_index(drop=True)
    train["quality01"] = protocol.nominal01(train["quality"], "agiqa3k", "quality")
    profile = protocol.PROFILES["smoke"].but(epochs=3, aigc_epochs=3, batch_size=8)
    branches = protocol.resolve_branches(profile, "none")

    def train_quality(**backup):
        keras.utils.set_random_seed(4)  # each process of a run starts from the same seeded initialisation
        if stage == "fine-tuning":
            return protocol.train_quality(train, "quality", branches, profile, seed=4, **backup)
        return protocol.pretrain_aigc(train, branches, profile, seed=4, **backup)

    whole = train_quality().get_weights()
    save = training.TrainingBackup.on_epoch_end

    def dies_after_epoch_one(self, epoch, logs=None):
        save(self, epoch, logs)
        if epoch == 1:
            raise Preempted

    monkeypatch.setattr(training.TrainingBackup, "on_epoch_end", dies_after_epoch_one)
    with pytest.raises(Preempted):
        train_quality(backup_dir=tmp_path / "backup")
    monkeypatch.setattr(training.TrainingBackup, "on_epoch_end", save)
    resumed = train_quality(backup_dir=tmp_path / "backup")
    for got, want in zip(resumed.get_weights(), whole):
        np.testing.assert_array_equal(got, want)
