"""DBCNN's training protocol: the VGG-16 stream's weights, then the reference's two fine-tuning phases.

The reference (zwx8981/DBCNN-PyTorch, ``DBCNN.py``) first trains the linear layer alone with both streams frozen
(SGD, learning rate 1e-3, momentum 0.9, weight decay 5e-4), then the whole network (Adam, 1e-5, weight decay
5e-4), both with the MSE loss on batches of 8 random crops (448 for LIVE Challenge) with horizontal flips, and
tests on whole images. Differences here: Keras' weight decay is decoupled (AdamW-style for Adam); frozen
batch-normalisation layers run in inference mode during the first phase (torch keeps updating their statistics);
the last epoch is kept (the reference keeps the epoch with the best test SRCC, which peeks at the test set).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import pandas as pd

from tfagiqa import training
from tfagiqa.backbones.weights import ResolvedWeights, build_with_weights
from tfagiqa.data.epochs import EpochClock
from tfagiqa.data.pipeline import augmentation, make_dataset
from tfagiqa.methods.dbcnn.model import PAPER, TINY, copy_convolutions, vgg16_features
from tfagiqa.preset_kinds import kind as kind_info


@dataclass(frozen=True)
class FineTuneSettings:
    """The two phases' budgets (in steps, turned into whole epochs of the training split) and optimisers."""

    image_size: int  # every image is resized to image_size² (aspect not kept); the test scores whole images
    train_crop: int | None  # random crop side in training (None: the whole resized image)
    batch_size: int
    fc_steps: int
    all_steps: int
    fc_learning_rate: float
    all_learning_rate: float
    weight_decay: float = 5e-4


def vgg16_stream(weights: str | None, tiny: bool) -> ResolvedWeights:
    """The VGG-16 feature stream: width-reduced and random (``tiny``, nothing read), or full with ``weights``
    resolved as a ``vgg16`` kind by :func:`~tfagiqa.backbones.weights.build_with_weights` (auto / imagenet / none /
    an .h5 file); a missing ImageNet file is reported with the kind's instructions (where Keras caches it, the URL)."""
    if tiny:
        return ResolvedWeights(vgg16_features(TINY.vgg_widths), "random")

    def build(keras_weights):
        vgg = vgg16_features(PAPER.vgg_widths)
        if keras_weights is not None:
            source = keras.applications.VGG16(include_top=False, weights=keras_weights, input_shape=(None, None, 3))
            copy_convolutions(source, vgg)
        return vgg

    return build_with_weights(build, weights, "DBCNN VGG-16", kind_info("vgg16").make, kind="vgg16")


def epochs_for(steps: int, batch_size: int, n_images: int) -> int:
    """Whole epochs closest to ``steps`` batches of ``batch_size`` over ``n_images`` (at least one)."""
    return max(1, round(steps * batch_size / max(n_images, 1)))


def fine_tune(dbcnn: keras.Model, train: pd.DataFrame, label: str, settings: FineTuneSettings, seed: int) -> None:
    """Phase 1: the linear layer alone (streams frozen); phase 2: everything. MSE on ``train[label]``.

    Each phase reads its own pipeline keyed to its epochs (an :class:`~tfagiqa.data.epochs.EpochClock`, seed
    ``seed + phase``), so its order, crops and flips are a function of (seed, phase, epoch), not of what ran before.
    """
    streams = [dbcnn.get_layer("vgg16"), dbcnn.get_layer("scnn")]
    phases = ((False, keras.optimizers.SGD(settings.fc_learning_rate, momentum=0.9,
                                           weight_decay=settings.weight_decay), settings.fc_steps),
              (True, keras.optimizers.Adam(settings.all_learning_rate, weight_decay=settings.weight_decay),
               settings.all_steps))
    for phase, (trainable, optimizer, steps) in enumerate(phases):
        for stream in streams:
            stream.trainable = trainable
        clock = EpochClock()
        dbcnn.compile(optimizer=optimizer, loss=keras.losses.MeanSquaredError())
        training.fit(dbcnn, _pipeline(train, label, settings, seed + phase, clock),
                     epochs=epochs_for(steps, settings.batch_size, len(train)), seed=None,
                     desc=f"dbcnn {'all layers' if trainable else 'fc'}", clock=clock)


def _pipeline(train: pd.DataFrame, label: str, settings: FineTuneSettings, seed: int, clock: EpochClock):
    """Shuffled batches ({"images": random crops or resized images, flipped at random}, labels)."""
    side = settings.image_size
    crop = {"crop": "random_crop", "image_size": settings.train_crop, "resize_to": (side, side)} \
        if settings.train_crop else {"crop": "resize", "image_size": side}
    data = make_dataset(train, [label], **crop, augment=augmentation(flip=True, seed=seed),
                        batch_size=settings.batch_size, shuffle=True, seed=seed, clock=clock)
    return data.map(lambda images, labels: ({"images": images}, labels))
