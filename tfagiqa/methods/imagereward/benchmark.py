"""ImageReward in the benchmark: fine-tuned on the split with its rank loss (``protocol.run_split``, the Hypernet
paper's Table IV "imgreward" columns as ``run_hypernet.py --variant imagereward`` runs them).

Pairs of training images of one prompt with different MOS, loss −log σ(r_better − r_worse), Adam with cosine decay,
``fix_rate`` 0.7 of the encoders frozen. ImageReward is a preference reward (how good an image looks and how well it
shows its prompt, judged together), so it is fine-tuned on whichever MOS is the target. The smoke profile fine-tunes
a tiny random ImageReward (its vocabulary: the prompts' words) for 6 epochs at lr 1e-3; the paper profile the
converted ImageReward for 10 epochs at lr 1e-5. Epoch: the last one (``selection=last_epoch``).

``weights``: None = tiny random in the smoke profile (the paper profile needs the converted model); a folder from
``tfagiqa convert imagereward``.
"""

from __future__ import annotations

import pathlib
from pathlib import Path

import pandas as pd

from tfagiqa.benchmark.frames import joined, result
from tfagiqa.errors import TfagiqaError, WeightsError
from tfagiqa.methods.hyperiqa.text_inputs import BLIP_HINT
from tfagiqa.methods.imagereward import protocol

NEEDS_PROMPT = True
TRAINED = True
TARGETS = ("quality", "alignment", "overall")


def skip_reason(target: str) -> str | None:
    """One reward, fine-tuned on whichever MOS is the target."""
    return None if target in TARGETS else f"ImageReward is fine-tuned on quality, alignment or overall MOS, not {target!r}"


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """Fine-tune ImageReward on ``train[label]``'s rank pairs and score ``test`` with the last epoch's model."""
    if profile not in ("smoke", "paper"):
        raise TfagiqaError(f"unknown profile {profile!r}; use smoke or paper")
    chosen = protocol.PROFILES[profile]
    folder = None if weights in (None, "none") else Path(weights)
    if folder is None and profile != "smoke":
        raise WeightsError(f"ImageReward's paper profile fine-tunes the converted model: {BLIP_HINT}; pass it as "
                           "--weights imagereward=DIR")
    df, side = joined(train, test)
    outcome = protocol.run_split(df, side, label, chosen, seed, folder)
    predictions = outcome.history[outcome.pick("last_epoch")]["test_scores"][:, 0]
    source = "tiny random ImageReward" if folder is None else f"ImageReward from {folder}"
    notes = (f"{source} fine-tuned on {label} rank pairs (same prompt, different MOS), {chosen.epochs} epochs, "
             f"{chosen.batch_size} pairs a batch, lr {chosen.learning_rate:g} cosine; last epoch")
    return result(predictions, "random" if folder is None else str(folder),
                  "blip_vit_tiny" if folder is None else "blip_vit_l16", notes, "last_epoch")
