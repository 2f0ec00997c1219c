"""Benchmark adapter: CNNIQA trained from scratch on the split, then scoring the test images.

Training follows the reference (lidq92/CNNIQA): every sampled 32×32 patch regresses its image's label with the
L1 loss, Adam (the reference's optimiser; the paper used SGD with momentum), no weight decay; the test score is
the mean over the non-overlapping patches. Labels are standardised with the training split's mean and std for
fitting and mapped back for the predictions. Images are resized to a square (``PROFILES``).

CNNIQA reads no prompt, but any of the three targets can be fitted: trained on alignment labels it learns
whatever of alignment is visible in the image alone (the papers report it on quality only).
"""

from __future__ import annotations

import pathlib
from dataclasses import asdict, dataclass, replace

import keras
import pandas as pd

from tfagiqa import training
from tfagiqa.data.epochs import EpochClock
from tfagiqa.data.label_scaling import LabelScaler
from tfagiqa.data.pipeline import make_dataset
from tfagiqa.errors import TfagiqaError, WeightsError
from tfagiqa.methods.cnniqa.model import PAPER, patch_score_model, scoring_model
from tfagiqa.presets import save_preset

NEEDS_PROMPT = False
TRAINED = True
TARGETS = ("quality", "alignment", "overall")
# the paper's objective: labels [B, 1] against patch scores [B, k] give the mean |label − patch score|
PATCH_LOSS = keras.losses.MeanAbsoluteError()


@dataclass(frozen=True)
class Profile:
    """Training budget of one profile."""

    image_size: int  # images resized to image_size² (the AGIQA sets' native 512 in the paper profile)
    epochs: int
    batch_size: int  # images per step; each gives ``train_patches`` patches
    train_patches: int
    learning_rate: float


PROFILES = {
    "smoke": Profile(image_size=96, epochs=8, batch_size=16, train_patches=16, learning_rate=1e-3),
    # 8 images × 16 patches = the reference's 128 patches a step, its Adam learning rate; 200 epochs of 16 of the
    # 256 patches per image ≈ 12 passes over every patch
    "paper": Profile(image_size=512, epochs=200, batch_size=8, train_patches=16, learning_rate=1e-4),
}


def skip_reason(target: str) -> str | None:
    """CNNIQA is trained on whatever label it is given; only unknown targets are refused."""
    return None if target in TARGETS else f"unknown target {target!r} (CNNIQA serves {', '.join(TARGETS)})"


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """Train CNNIQA on ``train[label]`` from scratch, score ``test``; the trained scorer is saved as the cnniqa
    preset ``workdir/cnniqa/`` (``create_scorer("cnniqa", weights=...)`` loads it)."""
    if weights not in (None, "none", "random", "auto"):
        raise WeightsError(f"cnniqa trains from scratch (no pretrained backbone); weights={weights!r} is not used. "
                           "Pass None")
    settings = _profile(profile)
    scaler = LabelScaler.fit(train, label)
    keras.utils.set_random_seed(seed)
    config = replace(PAPER, train_patches=settings.train_patches)
    patches = patch_score_model(config, settings.image_size, seed=seed)
    patches.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss=PATCH_LOSS)
    clock = EpochClock()  # each epoch's order is a function of (seed, epoch)
    data = make_dataset(scaler.transform(train), [label], image_size=settings.image_size,
                        batch_size=settings.batch_size, shuffle=True, seed=seed, clock=clock)
    data = data.map(lambda images, labels: ({"images": images}, labels))
    training.fit(patches, data, epochs=settings.epochs, seed=None, desc="cnniqa", clock=clock)
    scorer = scoring_model(patches)
    test_data = make_dataset(test, image_size=settings.image_size, batch_size=32).map(lambda images: {"images": images})
    predictions = scaler.inverse(scorer.predict(test_data, verbose=0)["quality"])
    run = {"weights": "random", "backbone": "cnniqa" if profile == "paper" else f"cnniqa-{profile}",
           "notes": (f"trained from scratch: L1 on {settings.train_patches} random 32×32 grey patches per image, "
                     f"Adam {settings.learning_rate:g}, {settings.epochs} epochs, images resized to "
                     f"{settings.image_size}²; test score = mean of the non-overlapping patches")}
    save_preset(pathlib.Path(workdir) / "cnniqa", kind="cnniqa", files={"model": scorer},
                architecture={"network": asdict(config), "input_size": settings.image_size},
                source={**run, "profile": profile, "target": label, "seed": seed, "train_images": len(train)})
    return {"predictions": predictions, **run}


def _profile(name: str) -> Profile:
    if name not in PROFILES:
        raise TfagiqaError(f"unknown profile {name!r}; profiles: {', '.join(PROFILES)}")
    return PROFILES[name]

