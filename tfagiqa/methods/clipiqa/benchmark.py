"""CLIP-IQA in the benchmark: zero-shot, so the train split is not used and the test split is scored as it is.

``weights``: None = a converted CLIP RN50 from ``$TFAGIQA_CLIP_DIR`` or ``./weights/clip_rn50`` (the folders IP-IQA
looks in), else random encoders (tiny at 64 px in the smoke profile; RN50 at 512 px in the paper profile), said
loudly; ``"none"`` = random without looking; a ``tfagiqa convert clip`` folder = CLIP-IQA with those weights; a
``tfagiqa convert clipiqa+`` folder = CLIP-IQA+. With weights, the smoke profile scores at 224 px, the paper
profile at 512 px (the catalogue's size; the official code scores each image at its own size).
"""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pandas as pd

from tfagiqa.errors import TfagiqaError

NEEDS_PROMPT = False
TRAINED = False
IMAGE_SIZES = {"smoke": 224, "paper": 512}
TINY_SIZE = 64


def skip_reason(target: str) -> str | None:
    """Quality and the single overall MOS (AGIQA-1K's, as IP-IQA's Table 1 scores it); never alignment."""
    if target in ("quality", "overall"):
        return None
    if target == "alignment":
        return "CLIP-IQA never reads the prompt: it has no alignment reading"
    return f"CLIP-IQA gives one quality score; there is no {target} reading"


def resolve(weights: str | None, profile: str, seed: int):
    """(scorer, weights label, backbone label) for the benchmark's ``weights`` and ``profile``; ``weights`` None
    looks where ``auto`` does (:func:`tfagiqa.presets.resolve`: ``$TFAGIQA_CLIP_DIR``, then ``./weights/clip_rn50``),
    else random, loudly."""
    from tfagiqa.backbones import clip_resnet, clip_text
    from tfagiqa.methods.clipiqa import scorers
    from tfagiqa.presets import resolve as resolve_weights

    if profile not in IMAGE_SIZES:
        raise TfagiqaError(f"unknown profile {profile!r}; use one of {sorted(IMAGE_SIZES)}")
    resolved = resolve_weights("auto" if weights is None else weights, kind=("clip-rn50", "clipiqa+"),
                               what="CLIP-IQA")
    if resolved.random:
        if profile == "smoke":
            model = scorers.random_scorer("clipiqa", TINY_SIZE, clip_resnet.tiny_config(TINY_SIZE),
                                          clip_text.tiny_text_config(), seed=seed)
            return model, "random", "clip_rn50_tiny"
        return scorers.random_scorer("clipiqa", IMAGE_SIZES[profile], seed=seed), "random", "clip_rn50"
    if resolved.kind == "clipiqa+":
        model = resolved.preset.load("model")
        if model.input["images"].shape[1] != IMAGE_SIZES[profile]:
            warnings.warn(f"CLIP-IQA+ from {resolved.label} scores at {model.input['images'].shape[1]} px (its "
                          "converted size)", RuntimeWarning, stacklevel=3)
        return model, resolved.label, "clip_rn50+learned_prompts"
    return scorers.clip_scorer(resolved.preset.folder, IMAGE_SIZES[profile]), resolved.label, "clip_rn50"


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """Score ``test`` with CLIP-IQA (``train`` is not used: zero-shot); the score is P("Good photo.")."""
    from tfagiqa.methods.zero_shot import score_frame

    model, weights_label, backbone = resolve(weights, profile, seed)
    predictions = score_frame(model, test, "quality")
    variant = "CLIP-IQA+ (learned prompt context)" if backbone.endswith("learned_prompts") else "CLIP-IQA"
    notes = (f"zero-shot {variant}: P('Good photo.') vs 'Bad photo.', whole image resized to "
             f"{model.input['images'].shape[1]} px; nothing fitted on the {len(train)} training rows")
    return {"predictions": np.asarray(predictions, dtype=np.float64), "weights": weights_label, "backbone": backbone,
            "notes": notes}
