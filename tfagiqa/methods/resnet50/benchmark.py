"""The ResNet-50 regressor in the benchmark: IP-IQA's training protocol (as ``run_ipiqa.py --baseline resnet50``)
on the benchmark's split, images only.

The smoke profile trains a width-reduced random ResNet (width 8, one block a stage) at 64 px for IP-IQA's smoke
epochs; the paper profile ResNet-50 at 512 px for 100 epochs. It learns whatever label it is given from the pixels
alone, alignment included (IP-IQA's Table 2 lists it for both of AGIQA-3K's MOS); the last epoch is kept.

``weights``: None = random in the smoke profile, ``auto`` in the paper profile (ImageNet from Keras' cache when
present, else random, said loudly); ``none`` = random; ``imagenet`` or a ``.h5`` path = Keras' ResNet50 with them.
"""

from __future__ import annotations

import pathlib

import keras
import pandas as pd

from tfagiqa.benchmark.frames import result
from tfagiqa.methods.baselines.models import resnet50_regressor
from tfagiqa.methods.ipiqa.benchmark import settings, train_last_epoch

NEEDS_PROMPT = False
TRAINED = True
TARGETS = ("quality", "alignment", "overall")


def skip_reason(target: str) -> str | None:
    """A regressor of any MOS it is trained on (from the pixels alone)."""
    return None if target in TARGETS else f"the ResNet-50 regressor is trained on quality, alignment or overall MOS, not {target!r}"


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """Fine-tune the regressor on ``train[label]`` and score ``test`` with the last epoch's model."""
    chosen = settings(profile)
    spec = weights if weights is not None else ("none" if chosen.tiny else "auto")
    tiny = chosen.tiny and spec == "none"
    labels: list[str] = []

    def build() -> keras.Model:
        resolved = resnet50_regressor(1, chosen.image_size, spec, tiny=tiny)
        labels.append(resolved.label)
        return resolved.model

    predictions = train_last_epoch(build, train, test, label, chosen, None, seed, f"resnet50 {label}")
    backbone = "resnet50_tiny" if tiny else "resnet50"
    notes = (f"{'width-reduced ' if tiny else ''}ResNet-50 → GAP → linear at {chosen.image_size} px, IP-IQA's "
             f"protocol ({chosen.epochs} epochs, lr {chosen.learning_rate:g}, head ×{chosen.head_multiplier:g}); "
             "images only; last epoch")
    return result(predictions, labels[-1], backbone, notes, "last_epoch")
