"""S-CNN pre-training (the paper's Section III-A): classify the distortion type and level of image crops.

The reference (zwx8981/DBCNN-PyTorch, ``SCNN.py``) trains on about 850,000 distorted Waterloo Exploration and
PASCAL VOC images: shorter side resized to 256, random 224 crops and flips, ImageNet normalisation, cross-entropy,
SGD with momentum 0.9 and weight decay 5e-4, the learning rate log-spaced from 1e-1 to 1e-4 over 30 epochs,
batches of 128. Here every sample is a random crop of a training-split image (shorter side resized first), flipped
at random and distorted by one of the 45 classes of :mod:`tfagiqa.methods.dbcnn.distortions` drawn uniformly.
The epochs are one Keras epoch of epochs × steps batches with the log-spaced rates as a step schedule, so that
every batch is a pure function of its index (worker threads cannot reorder anything).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import keras
import numpy as np
from PIL import Image

from tfagiqa.data.images import load_image
from tfagiqa.methods.dbcnn import distortions
from tfagiqa.methods.dbcnn.model import DBCNNConfig, scnn_classifier, scnn_features

HELD_OUT_BATCHES = 4


@dataclass(frozen=True)
class PretrainSettings:
    """How many distorted crops the S-CNN sees, and the optimiser's schedule."""

    crop_size: int
    resize_to: int  # shorter side of every source image before cropping
    max_images: int  # source images (the first ones of a seeded shuffle of the training split)
    batch_size: int
    steps_per_epoch: int
    epochs: int
    learning_rates: tuple[float, float]  # first and last epoch; log-spaced in between
    weight_decay: float = 5e-4
    workers: int = 1  # threads making batches (Pillow and NumPy release the GIL for most of the work)


class DistortedCrops(keras.utils.PyDataset):
    """All the run's batches ({"images": crops in [0, 255]}, class labels), epochs × steps of them, fitted as one
    Keras epoch; batch ``i`` depends only on (seed, i), so a run is reproducible with any number of workers."""

    def __init__(self, images: Sequence[np.ndarray], settings: PretrainSettings, seed: int):
        super().__init__(workers=settings.workers)
        self.images, self.settings, self.seed = list(images), settings, int(seed)
        self.classes = distortions.classes()

    def __len__(self) -> int:
        return self.settings.steps_per_epoch * self.settings.epochs

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, index])
        size = self.settings.crop_size
        crops, labels = [], []
        for _ in range(self.settings.batch_size):
            image = self.images[rng.integers(len(self.images))]
            top, left = rng.integers(image.shape[0] - size + 1), rng.integers(image.shape[1] - size + 1)
            crop = image[top:top + size, left:left + size]
            crop = np.ascontiguousarray(crop[:, ::-1] if rng.random() < 0.5 else crop)
            label = int(rng.integers(len(self.classes)))
            crops.append(distortions.distort(crop, *self.classes[label], rng))
            labels.append(label)
        return {"images": np.stack(crops).astype(np.float32)}, np.array(labels, dtype=np.int32)


def source_images(paths: Sequence[str], settings: PretrainSettings, seed: int) -> list[np.ndarray]:
    """Up to ``max_images`` of ``paths`` (seeded choice), decoded, shorter side resized to ``resize_to``."""
    order = np.random.default_rng(seed).permutation(len(paths))[: settings.max_images]
    images = []
    for i in order:
        image = Image.fromarray(load_image(paths[i]))
        scale = max(settings.resize_to, settings.crop_size) / min(image.size)
        size = [max(settings.crop_size, round(side * scale)) for side in image.size]
        images.append(np.asarray(image.resize(size, Image.Resampling.BILINEAR)))
    return images


def pretrain_scnn(paths: Sequence[str], config: DBCNNConfig, settings: PretrainSettings, seed: int
                  ) -> tuple[keras.Model, float]:
    """A new S-CNN (``scnn_features``) trained to classify the distortions of crops of ``paths``; also returns
    its accuracy on ``HELD_OUT_BATCHES`` batches of fresh crops (the batches after the last one trained on)."""
    features = scnn_features(config.scnn_widths)
    classifier = scnn_classifier(features, len(distortions.classes()), config.scnn_projection)
    first, last = settings.learning_rates
    rates = [float(r) for r in np.logspace(np.log10(first), np.log10(last), settings.epochs)]
    boundaries = [settings.steps_per_epoch * epoch for epoch in range(1, settings.epochs)]
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, rates) if boundaries else rates[0]
    classifier.compile(optimizer=keras.optimizers.SGD(schedule, momentum=0.9, weight_decay=settings.weight_decay),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    data = DistortedCrops(source_images(paths, settings, seed), settings, seed)
    classifier.fit(data, epochs=1, verbose=0, shuffle=False)
    return features, _accuracy(classifier, data, range(len(data), len(data) + HELD_OUT_BATCHES))


def _accuracy(classifier: keras.Model, data: DistortedCrops, batches) -> float:
    """Share of the crops of ``batches`` whose distortion class the classifier names (inference mode)."""
    hits = total = 0
    for index in batches:
        inputs, labels = data[index]
        logits = np.asarray(classifier(inputs, training=False))
        hits += int((logits.argmax(axis=-1) == labels).sum())
        total += len(labels)
    return hits / max(total, 1)
