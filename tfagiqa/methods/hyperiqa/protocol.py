"""HyperIQA's training protocol as the official code runs it (SPEC §3.2), for the Hypernet paper's settings.

* Every training image appears ``train_crops`` times an epoch (official 25), each copy a fresh random crop
  with a random horizontal flip; test images are scored on ``test_crops`` fixed crops (the 5×5 grid for 25,
  where the official code draws random ones) and the score is the mean over them.
* L1 loss; Adam with two parameter groups, ``res`` (ResNet + LDA heads) at lr 2e-5 and the rest at lr × 10,
  with weight decay 5e-4 added to the gradients as ``torch.optim.Adam(weight_decay=…)`` does (L2, not AdamW).
* After every epoch t the optimiser is re-created (Adam state reset): hyper lr = 2e-5 / 10^(t // 6) × ratio,
  ratio = 1 once t > 8; the backbone lr stays 2e-5.
* ``schedule="official"`` reproduces the reference bug (SSL92/hyperIQA #32): the hyper group is a spent
  iterator after the first optimiser, so from epoch 2 on only ``res`` trains. ``"fixed"`` trains both groups
  with the schedule above, as intended.
* Selection: the epoch with the best test SRCC (``best_test_srcc``, the official choice, median over the
  grouped 80/20 splits), the last epoch (``last_epoch``), and a separate run on the training groups minus a
  10 % validation carve-out whose epoch is chosen by validation SRCC (``best_val_srcc``). With several outputs
  an epoch is chosen by the mean SRCC over them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfagiqa import distribute, metrics
from tfagiqa.data import schema, splits
from tfagiqa.data.epochs import EpochClock
from tfagiqa.data.pipeline import augmentation, make_dataset
from tfagiqa.errors import DataError, WeightsError
from tfagiqa.methods.hyperiqa import model as hypernet
from tfagiqa.methods.hyperiqa.text_inputs import TextTable
from tfagiqa.presets import resolve
from tfagiqa.profile import Profile

LR = 2e-5
LR_RATIO = 10
WEIGHT_DECAY = 5e-4
ADAM_EPSILON = 1e-8  # torch.optim.Adam's default (Keras' is 1e-7)
SCHEDULES = ("official", "fixed")
SPLIT_SEED = 42
VAL_FRACTION = 0.1
SMOKE_LR = 1e-3  # a few hundred steps instead of thousands: the smoke runs' base lr (hyper lr ×10 as usual)


PROFILES = {
    "paper": Profile("paper", epochs=16, batch_size=96, image_size=224, learning_rate=LR, repeats=10,
                     options=dict(resize_to=(512, 512), train_crops=25, test_crops=25)),
    "smoke": Profile("smoke", epochs=5, batch_size=32, image_size=64, learning_rate=SMOKE_LR, repeats=2, tiny=True,
                     options=dict(resize_to=(96, 96), train_crops=4, test_crops=4)),
    "test": Profile("smoke", epochs=4, batch_size=32, image_size=32, learning_rate=SMOKE_LR, repeats=1, tiny=True,
                    options=dict(resize_to=(48, 48), train_crops=2, test_crops=4)),
}


def network_config(profile: Profile, **changes) -> hypernet.HypernetConfig:
    """The network of a profile: official sizes, or ``hypernet.tiny`` for smoke runs (crops of the profile's size)."""
    base = replace(hypernet.HYPERIQA, image_size=profile.image_size)
    return hypernet.tiny(base, **changes) if profile.tiny else replace(base, **changes)


def describe(profile: Profile) -> str:
    """One banner line: network, crops and schedule of a profile."""
    net = "width-reduced ResNet (width 8, 1 block a stage), small target net" if profile.tiny else "ResNet-50, official sizes"
    resize = "no resize" if profile.resize_to is None else f"resize {profile.resize_to[0]}×{profile.resize_to[1]}"
    return (f"profile {profile.name}: {net}; {resize}, {profile.image_size}² crops, {profile.train_crops} train / "
            f"{profile.test_crops} fixed test crops per image, {profile.epochs} epochs, batch {profile.batch_size}, "
            f"base lr {profile.learning_rate:g}, {profile.repeats} split(s)")


def learning_rates(epoch: int, schedule: str, lr: float = LR, ratio: float = LR_RATIO) -> tuple[float, float | None]:
    """(backbone lr, hyper lr or None = hyper group not trained) for 0-based ``epoch``."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if epoch == 0:
        return lr, lr * ratio
    if schedule == "official":
        return lr, None
    t = epoch - 1  # the optimiser for this epoch was made at the end of epoch t
    return lr, lr / 10 ** (t // 6) * (1 if t > 8 else ratio)


class Trainer:
    """Two Adam optimisers (backbone group, hyper group) with coupled weight decay and per-epoch reset.

    Under a tf.distribute strategy (the model built in its scope) each replica takes its share of the global
    batch; its loss and weight-decay term are divided by the number of replicas, so the gradients summed
    across replicas equal one device's gradient on the whole batch.
    """

    def __init__(self, model: keras.Model, loss: str = "l1", weight_decay: float = WEIGHT_DECAY, lr: float = LR,
                 strategy: tf.distribute.Strategy | None = None):
        self.model, self.loss, self.weight_decay = model, loss, weight_decay
        self.strategy = strategy or tf.distribute.get_strategy()
        self.backbone_vars, self.hyper_vars = hypernet.parameter_groups(model)
        with self.strategy.scope():
            self.optimizers = (keras.optimizers.Adam(lr, epsilon=ADAM_EPSILON),
                               keras.optimizers.Adam(lr * LR_RATIO, epsilon=ADAM_EPSILON))
            self.optimizers[0].build(self.backbone_vars)
            self.optimizers[1].build(self.hyper_vars)
        self._steps = {True: tf.function(lambda x, y: self._step(x, y, True)),
                       False: tf.function(lambda x, y: self._step(x, y, False))}

    def start_epoch(self, backbone_lr: float, hyper_lr: float | None) -> None:
        """A fresh optimiser for the epoch, as the official code makes one: zeroed Adam state, new lrs."""
        for optimizer, lr in zip(self.optimizers, (backbone_lr, hyper_lr or 0.0)):
            for variable in optimizer.variables:
                variable.assign(tf.zeros_like(variable))
            optimizer.learning_rate.assign(lr)
        self.train_hyper = hyper_lr is not None

    def _step(self, x, y, train_hyper: bool):
        return self.strategy.reduce("SUM", self.strategy.run(self._replica_step, args=(x, y, train_hyper)), axis=None)

    def _replica_step(self, x, y, train_hyper: bool):
        replicas = self.strategy.num_replicas_in_sync
        variables = self.backbone_vars + (self.hyper_vars if train_hyper else [])
        with tf.GradientTape() as tape:
            loss = hypernet.total_loss(self.loss, y, self.model(x, training=True)) / replicas
        grads = tape.gradient(loss, variables)
        grads = [g + self.weight_decay / replicas * v for g, v in zip(grads, variables)]
        n = len(self.backbone_vars)
        self.optimizers[0].apply(grads[:n], self.backbone_vars)
        if train_hyper:
            self.optimizers[1].apply(grads[n:], self.hyper_vars)
        return loss

    def train_epoch(self, dataset: tf.data.Dataset) -> float:
        """One pass; the mean training loss."""
        distributed = self.strategy.experimental_distribute_dataset(dataset)
        losses = [float(self._steps[self.train_hyper](x, y)) for x, y in distributed]
        return float(np.mean(losses))


@dataclass(frozen=True)
class Setting:
    """What one training run predicts and from which inputs."""

    experiment: hypernet.Experiment
    labels: tuple[str, ...]  # label columns of the dataset, one per output
    config: hypernet.HypernetConfig


def text_key_option(setting: Setting) -> dict:
    """The pipeline options that yield the model's text-table keys (``with_prompt`` and/or ``with_name``)."""
    return {f"with_{key}": True for key in setting.config.text_keys}


def train_data(df: pd.DataFrame, setting: Setting, profile: Profile, seed: int,
               clock: EpochClock | None = None) -> tf.data.Dataset:
    """Each row ``train_crops`` times, shuffled, random crop + flip (new draws every epoch, keyed to the
    ``clock``'s epoch so a resumed run draws what an uninterrupted one would)."""
    repeated = pd.concat([df] * profile.train_crops, ignore_index=True)
    return make_dataset(repeated, setting.labels, image_size=profile.image_size, crop="random_crop",
                        resize_to=profile.resize_to, augment=augmentation(flip=True, seed=seed),
                        batch_size=profile.batch_size, shuffle=True, seed=seed, clock=clock,
                        **text_key_option(setting))


def test_data(df: pd.DataFrame, setting: Setting, profile: Profile) -> tf.data.Dataset:
    """Each row's ``test_crops`` fixed crops ([B, k, S, S, 3])."""
    return make_dataset(df, setting.labels, image_size=profile.image_size, crop="fixed_crops", n_crops=profile.test_crops,
                        resize_to=profile.resize_to, batch_size=max(1, 64 // profile.test_crops),
                        **text_key_option(setting))


def predict_mean(model: keras.Model, dataset: tf.data.Dataset, crops: int, needs_text: bool,
                 infer=None) -> np.ndarray:
    """[N, outputs] scores: the mean over each image's fixed crops (``infer``: a compiled ``model`` call)."""
    infer = infer or (lambda x: model(x, training=False))
    out = []
    for inputs, _ in dataset:
        images = inputs["image"] if needs_text else inputs
        x = {"image": tf.reshape(images, (-1, *images.shape[2:]))}
        if needs_text:
            x.update({k: tf.repeat(v, crops) for k, v in inputs.items() if k != "image"})
        scores = infer(model_inputs(model, x))
        out.append(tf.reduce_mean(tf.reshape(scores, (-1, crops, scores.shape[-1])), axis=1).numpy())
    return np.concatenate(out)


def model_inputs(model: keras.Model, x: dict) -> dict:
    """Only the inputs the model has (the text hypernet has no image input)."""
    return {k: v for k, v in x.items() if k in model.input}


def _train_inputs(model: keras.Model, dataset: tf.data.Dataset, needs_text: bool) -> tf.data.Dataset:
    """The pipeline's (inputs, labels) arranged as the model's input dict."""
    def arrange(inputs, labels):
        x = inputs if needs_text else {"image": inputs}
        return model_inputs(model, x), labels
    return dataset.map(arrange)


TORCHVISION_RESNET50 = "resnet50-19c8e357.pth"


def resolve_weights(spec: str, profile: Profile, data_root: Path) -> tuple[Path | None, str]:
    """(torchvision ResNet-50 file or None, label for the result rows) from ``--weights``, through
    :func:`tfagiqa.presets.resolve` (kind ``torchvision-resnet50``).

    auto: the file if found in ``$TORCH_HOME/hub/checkpoints`` or ``<data-root>/weights`` (label ``imagenet``; else
    random, with a warning); imagenet: the file or an error naming it and the folders; none: random; a path: that
    file (label: the path). The width-reduced smoke network cannot take ImageNet weights: auto gives random there.
    """
    if spec == "none" or (spec == "auto" and profile.tiny):
        return None, "random"
    if profile.tiny:
        raise WeightsError("the smoke profile's width-reduced ResNet cannot load ImageNet weights; use --profile paper")
    resolved = resolve(spec, kind="torchvision-resnet50", search=(Path(data_root) / "weights",), what="HyperIQA")
    return (None if resolved.random else resolved.preset.path("weights")), resolved.label


def build_model(setting: Setting, text: TextTable | None, seed: int,
                backbone_weights: Path | None = None, hyper_text: TextTable | None = None) -> keras.Model:
    """A fresh network (seeded), ImageNet backbone when given, each text table loaded when the setting reads it:
    ``text`` the target network's input, ``hyper_text`` the text hypernet's."""
    config = setting.config
    keras.utils.set_random_seed(seed)
    model = hypernet.hypernet_model(config, text_keys=text.keys if config.needs_target_text else (),
                                    hyper_text_keys=hyper_text.keys if config.needs_hyper_text else ())
    if backbone_weights is not None and config.needs_image:
        from tfagiqa.methods.hyperiqa.convert import load_torchvision_resnet50

        load_torchvision_resnet50(model, backbone_weights)
    if config.needs_target_text:
        hypernet.set_text_table(model, text.vectors)
    if config.needs_hyper_text:
        hypernet.set_text_table(model, hyper_text.vectors, "hyper")
    return model


def srcc_per_output(scores: np.ndarray, df: pd.DataFrame, labels: tuple[str, ...]) -> list[float]:
    """SRCC of each output column (NaN for constant predictions)."""
    out = []
    for i, label in enumerate(labels):
        mos = df[label].to_numpy(dtype="float64")
        out.append(metrics.srcc(scores[:, i], mos) if np.ptp(scores[:, i]) > 0 else float("nan"))
    return out


@dataclass
class RunResult:
    """One training run: per epoch the test (and val) predictions and SRCCs; the frames they belong to."""

    history: list[dict]
    model: keras.Model
    test: pd.DataFrame
    labels: tuple[str, ...]
    n_train: int

    def mean_srcc(self, epoch: int, part: str) -> float:
        values = self.history[epoch][f"{part}_srcc"]
        return float(np.nanmean(values)) if not np.all(np.isnan(values)) else float("nan")

    def test_metrics(self, epoch: int) -> list[dict]:
        """metrics.evaluate (SRCC, PLCC raw and logistic, KRCC, RMSE) of each output at ``epoch``."""
        scores = self.history[epoch]["test_scores"]
        with warnings.catch_warnings():  # a failed logistic fit is recorded in plcc_logistic*_converged
            warnings.simplefilter("ignore", metrics.MetricWarning)
            return [metrics.evaluate(scores[:, i], self.test[label].to_numpy(dtype="float64"))
                    for i, label in enumerate(self.labels)]

    def pick(self, selection: str) -> int:
        """The 0-based epoch a selection rule picks."""
        if selection == "last_epoch":
            return len(self.history) - 1
        part = {"best_test_srcc": "test", "best_val_srcc": "val"}[selection]
        values = np.array([self.mean_srcc(e, part) for e in range(len(self.history))])
        return int(np.nanargmax(values)) if not np.all(np.isnan(values)) else len(values) - 1


def run_split(df: pd.DataFrame, side: pd.Series, setting: Setting, profile: Profile, schedule: str, seed: int,
              text: TextTable | None, validation: bool = False, loss: str = "l1",
              backbone_weights: Path | None = None, log=print,
              strategy: tf.distribute.Strategy | None = None, backup_dir: Path | None = None,
              hyper_text: TextTable | None = None) -> RunResult:
    """Train on one split's training groups (minus a validation carve-out when ``validation``) and evaluate the
    test groups (and validation groups) after every epoch; with ``backup_dir`` an interrupted run resumes after
    its last completed epoch (weights and per-epoch history; the optimisers restart every epoch anyway).
    ``text`` / ``hyper_text``: the target network's and the text hypernet's text tables."""
    if validation:
        side = splits.carve_validation(df, side, fraction=VAL_FRACTION, seed=seed)
    train, val, test = (df[side == s] for s in (splits.TRAIN, splits.VAL, splits.TEST))
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = build_model(setting, text, seed, backbone_weights, hyper_text)
    trainer = Trainer(model, loss, lr=profile.learning_rate, strategy=strategy)
    needs_text = setting.config.needs_text
    global_profile = profile.but(batch_size=distribute.global_batch_size(profile.batch_size, strategy))
    clock = EpochClock()
    train_ds = _train_inputs(model, train_data(train, setting, global_profile, seed, clock), needs_text)
    evals = {"test": (test, test_data(test, setting, profile))}
    if validation:
        evals["val"] = (val, test_data(val, setting, profile))
    infer = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def one_epoch(epoch: int) -> dict:
        clock.start(epoch)
        trainer.start_epoch(*learning_rates(epoch, schedule, profile.learning_rate))
        train_loss = trainer.train_epoch(train_ds)
        record = {"train_loss": train_loss}
        for part, (frame, ds) in evals.items():
            record[f"{part}_scores"] = predict_mean(model, ds, profile.test_crops, needs_text, infer)
            record[f"{part}_srcc"] = srcc_per_output(record[f"{part}_scores"], frame, setting.labels)
        log(f"    epoch {epoch + 1}/{profile.epochs}  loss {train_loss:.4f}  " + "  ".join(
            f"{part} SRCC " + "/".join(f"{v:.4f}" for v in record[f"{part}_srcc"]) for part in evals))
        return record

    history = distribute.run_epochs(model, profile.epochs, one_epoch, backup_dir, strategy, log)
    return RunResult(history, model, test, setting.labels, len(train))


def grouped_splits(df: pd.DataFrame, repeats: int) -> dict[int, pd.Series]:
    """The grouped 80/20 splits (seed 42), keyed 1..repeats."""
    made = splits.grouped_random_splits(df, 0.8, repeats=repeats, seed=SPLIT_SEED)
    return {i + 1: side for i, side in enumerate(made.values())}


def split_name(repeats: int) -> str:
    return f"ratio802_seed{SPLIT_SEED}_x{repeats}"


def label_for(df: pd.DataFrame, output: str) -> str:
    """The dataset column of an output: AGIQA-1K and AIGIQA-20K have one overall MOS for quality."""
    if output in df.columns:
        return output
    if output == schema.QUALITY and schema.OVERALL in df.columns:
        return schema.OVERALL
    raise DataError(f"{df.attrs.get('dataset', 'this dataset')} has no {output!r} label "
                    f"(it has {schema.label_columns(df)})")
