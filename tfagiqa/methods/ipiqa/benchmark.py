"""IP-IQA in the benchmark: IP-IQA's training protocol (``protocol.train_repeat``, what ``run_ipiqa.py`` runs) on
the benchmark's split, one output for the target.

* Model: the CLIP RN50 dual encoder with the [QA] token and both pools, the MLP head of the official code; the
  smoke profile has tiny random encoders at 64 px (4 epochs, lr 1e-3), the paper profile RN50 at 512 px (100
  epochs, lr 1e-5, head × 10).
* One output per training (the paper trains AGIQA-3K's quality and alignment jointly): the benchmark asks for one
  target at a time.
* Labels are mapped onto AGIQA-3K's scale by their nominal ranges (``tfagiqa.data.rescale``, as DLSR's adapter
  does), the scale IP-IQA's head was made for, and predictions mapped back (a linear map: SRCC and PLCC are
  unchanged). On AIGCIQA2023's 0–100 MOS the smoke profile's 4 epochs otherwise end in a constant prediction.
* Epoch: the last one (``selection=last_epoch``), on the whole train side; the test side is never used to choose.
  (The protocol still prints each epoch's test metrics as its log; nothing reads them.)

``weights``: None = ``auto`` (a converted CLIP RN50 from ``$TFAGIQA_CLIP_DIR`` or ``./weights/clip_rn50``, else
random, said loudly); ``none``; a ``tfagiqa convert clip`` folder; ``keras-hub:PRESET`` is refused here (RN50 only).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import keras
import numpy as np
import pandas as pd

from tfagiqa.benchmark.frames import joined, result
from tfagiqa.data import schema, splits
from tfagiqa.data.rescale import NOMINAL_RANGES, rescale
from tfagiqa.errors import TfagiqaError
from tfagiqa.methods.ipiqa import model as ipiqa
from tfagiqa.methods.ipiqa import protocol
from tfagiqa.profile import Profile

NEEDS_PROMPT = True
TRAINED = True
TARGETS = ("quality", "alignment", "overall")
SCALE = NOMINAL_RANGES["agiqa3k"]


def skip_reason(target: str) -> str | None:
    """IP-IQA regresses whichever MOS it is trained on: quality, alignment or the overall MOS."""
    return None if target in TARGETS else f"IP-IQA is trained on quality, alignment or overall MOS, not {target!r}"


def settings(profile: str) -> Profile:
    """IP-IQA's profile of that name (smoke or paper)."""
    if profile not in protocol.PROFILES:
        raise TfagiqaError(f"unknown profile {profile!r}; use one of {sorted(protocol.PROFILES)}")
    return protocol.PROFILES[profile]


def encoder_tag(vision) -> str:
    """clip_rn50 for RN50's layout, else the widths and depths of the (tiny) ResNet."""
    if (tuple(vision.layers), vision.width) == ((3, 4, 6, 3), 64):
        return "clip_rn50"
    return f"clip_rn_w{vision.width}_l{''.join(map(str, vision.layers))}"


def train_last_epoch(build: Callable[[], keras.Model], train: pd.DataFrame, test: pd.DataFrame, label: str,
                     profile: Profile, lookup, seed: int, desc: str) -> np.ndarray:
    """IP-IQA's protocol on the split: a fresh model from ``build`` trained on ``train[label]`` for the profile's
    epochs; the last epoch's predictions for ``test`` (in its row order)."""
    df, side = joined(train, test)
    outcome = protocol.train_repeat(build, df, side, (label,), profile, lookup, seed, with_validation=False,
                                    desc=desc)
    test_ds = protocol.dataset(df[side == splits.TEST], (label,), profile, lookup, train=False, seed=seed)
    return protocol.predict_scores(outcome.model, test_ds)[:, 0]


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """Fine-tune IP-IQA on ``train[label]`` and score ``test`` with the last epoch's model."""
    chosen = settings(profile)
    start = protocol.resolve_clip(weights or "auto", chosen)
    if not hasattr(start.vision, "layers"):
        raise TfagiqaError("the benchmark runs IP-IQA on CLIP RN50; a keras-hub ViT start is run_ipiqa.py's --backbone vit")
    config = ipiqa.IPIQAConfig(outputs=(label,), image_size=chosen.image_size, vision=start.vision, text=start.text)

    def build() -> keras.Model:
        model = ipiqa.build_ipiqa(config)
        ipiqa.load_clip(model, start.image_encoder, start.text_encoder)
        return model

    lookup = protocol.prompt_lookup(pd.concat([train, test])[schema.PROMPT], start.tokenize)
    own = NOMINAL_RANGES.get(str(train[schema.DATASET].iloc[0]), SCALE)  # identity on AGIQA-1K/3K
    train, test = (side.assign(**{label: rescale(side[label], own, SCALE)}) for side in (train, test))
    predictions = rescale(train_last_epoch(build, train, test, label, chosen, lookup, seed, f"ipiqa {label}"),
                          SCALE, own)
    notes = (f"IP-IQA (MLP head, learned [QA] token) at {chosen.image_size} px, {chosen.epochs} epochs, lr "
             f"{chosen.learning_rate:g} (head ×{chosen.head_multiplier:g}), one output; last epoch, chosen without "
             "the test side; labels on AGIQA-3K's scale")
    return result(predictions, start.label, encoder_tag(start.vision), notes, "last_epoch")
