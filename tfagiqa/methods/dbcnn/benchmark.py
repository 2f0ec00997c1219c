"""Benchmark adapter: DBCNN fitted on the split (S-CNN pre-training on distorted training images, then the two
fine-tuning phases of :mod:`tfagiqa.methods.dbcnn.protocol`), scoring the test images.

``weights``: None is the profile's default: the smoke profile builds width-reduced streams without any I/O
(``backbone`` "vgg16-tiny-random"); the paper profile resolves ``auto`` (Keras' ImageNet VGG-16 when its file is
cached, else random with a loud warning). ``auto`` / ``imagenet`` / ``none`` / an .h5 file choose the full VGG-16's
weights explicitly (a ``vgg16`` preset kind); a ``dbcnn`` preset (``tfagiqa convert dbcnn``, an earlier run's
``workdir/dbcnn/``, or a ``model.keras`` they wrote before presets) starts from that whole network and skips the
S-CNN pre-training. Labels are standardised with the training split's moments and mapped back.

DBCNN reads no prompt, but any of the three targets can be fitted: trained on alignment labels it learns whatever
of alignment is visible in the image alone (the papers report it on quality only).
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, replace

import keras
import pandas as pd

from tfagiqa.data.label_scaling import LabelScaler
from tfagiqa.data.pipeline import make_dataset
from tfagiqa.errors import TfagiqaError
from tfagiqa.methods.dbcnn.model import PAPER, TINY, dbcnn_model, scoring_model
from tfagiqa.methods.dbcnn.pretrain import PretrainSettings, pretrain_scnn
from tfagiqa.methods.dbcnn.protocol import FineTuneSettings, fine_tune, vgg16_stream
from tfagiqa.methods.dbcnn.scorers import load_scorer
from tfagiqa.presets import resolve, save_preset

NEEDS_PROMPT = False
TRAINED = True
TARGETS = ("quality", "alignment", "overall")


@dataclass(frozen=True)
class Profile:
    tiny: bool  # width-reduced streams when no weights are asked for
    default_weights: str  # what weights=None resolves to for the full VGG-16
    pretrain: PretrainSettings
    fine_tune: FineTuneSettings


PROFILES = {
    "smoke": Profile(
        tiny=True, default_weights="none",
        pretrain=PretrainSettings(crop_size=48, resize_to=96, max_images=400, batch_size=32, steps_per_epoch=8,
                                  epochs=2, learning_rates=(0.1, 0.01)),
        fine_tune=FineTuneSettings(image_size=64, train_crop=None, batch_size=16, fc_steps=16, all_steps=320,
                                   fc_learning_rate=0.05, all_learning_rate=1e-3)),
    # the reference's settings: S-CNN on 224 crops, 30 epochs, learning rate 1e-1 → 1e-4; DBCNN on 448 crops of
    # the 512² images (AGIQA's size), pyiqa's 6000 + 6000 iterations of batch 8
    "paper": Profile(
        tiny=False, default_weights="auto",
        pretrain=PretrainSettings(crop_size=224, resize_to=256, max_images=2000, batch_size=128, steps_per_epoch=250,
                                  epochs=30, learning_rates=(1e-1, 1e-4), workers=8),
        fine_tune=FineTuneSettings(image_size=512, train_crop=448, batch_size=8, fc_steps=6000, all_steps=6000,
                                   fc_learning_rate=1e-3, all_learning_rate=1e-5)),
}


def skip_reason(target: str) -> str | None:
    """DBCNN is trained on whatever label it is given; only unknown targets are refused."""
    return None if target in TARGETS else f"unknown target {target!r} (DBCNN serves {', '.join(TARGETS)})"


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """Pre-train the S-CNN, fine-tune DBCNN on ``train[label]``, score ``test``; the trained scorer is saved as the
    dbcnn preset ``workdir/dbcnn/`` (``create_scorer("dbcnn", weights=...)`` loads it)."""
    if profile not in PROFILES:
        raise TfagiqaError(f"unknown profile {profile!r}; profiles: {', '.join(PROFILES)}")
    settings = PROFILES[profile]
    scaler = LabelScaler.fit(train, label)
    keras.utils.set_random_seed(seed)
    dbcnn, weights_label, backbone, start = _initial_network(train, weights, settings, seed)
    fine_tune(dbcnn, scaler.transform(train), label, settings.fine_tune, seed)
    size = settings.fine_tune.image_size
    scorer = scoring_model(dbcnn, size)
    test_data = make_dataset(test, image_size=size, batch_size=16).map(lambda images: {"images": images})
    predictions = scaler.inverse(scorer.predict(test_data, verbose=0)["quality"])
    tune = settings.fine_tune
    crop = f"{tune.train_crop}² crops of " if tune.train_crop else ""
    run = {"weights": weights_label, "backbone": backbone,
           "notes": (f"{start}; fine-tuned on {crop}images resized to {size}²: fc alone ({tune.fc_steps} steps, "
                     f"SGD {tune.fc_learning_rate:g}), then all layers ({tune.all_steps} steps, Adam "
                     f"{tune.all_learning_rate:g}), MSE, batch {tune.batch_size}")}
    save_preset(pathlib.Path(workdir) / "dbcnn", kind="dbcnn", files={"model": scorer},
                architecture={"input_size": size},
                source={**run, "profile": profile, "target": label, "seed": seed, "train_images": len(train)})
    return {"predictions": predictions, **run}


def _initial_network(train: pd.DataFrame, weights: str | None, settings: Profile, seed: int):
    """(network, weights label, backbone label, how it started) before fine-tuning: a dbcnn preset's network, or new
    streams whose VGG-16 weights ``weights`` (or the profile's default) names."""
    resolved = resolve(weights, kind=("dbcnn", "vgg16"), what="DBCNN")
    if resolved.kind == "dbcnn":
        return (load_scorer(resolved.preset).get_layer("dbcnn"), resolved.label, "dbcnn",
                f"started from {resolved.label}")
    tiny = settings.tiny and weights in (None, "none")
    vgg = vgg16_stream(weights or settings.default_weights, tiny)
    config = TINY if tiny else replace(PAPER, vgg_preprocessing="caffe" if vgg.pretrained else "torch")
    scnn, accuracy = pretrain_scnn(train["image"].astype(str).tolist(), config, settings.pretrain, seed)
    name = "vgg16-tiny" if tiny else "vgg16"
    backbone = f"{name}-{'imagenet' if vgg.label == 'imagenet' else 'random' if vgg.label == 'random' else 'file'}"
    pretrain = settings.pretrain
    start = (f"S-CNN{' (width-reduced)' if tiny else ''} pre-trained to classify 45 distortion classes of "
             f"{pretrain.crop_size}² crops of the training images ({pretrain.epochs} × {pretrain.steps_per_epoch} "
             f"steps of {pretrain.batch_size}; accuracy {accuracy:.2f} on fresh crops)")
    return dbcnn_model(config, vgg.model, scnn), vgg.label, backbone, start
