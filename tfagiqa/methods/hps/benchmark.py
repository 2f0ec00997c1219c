"""HPS in the benchmark: zero-shot and prompt-conditioned; the train split is not used.

HPS is a human-preference score: it was trained on which of several images of one prompt people preferred, a
judgement that mixes how good an image looks with how well it shows the prompt. IP-IQA's Table 2 and SF-IQA's
Table 1 use it as an alignment (text-image similarity) metric; its own papers use it as an overall preference. The
same score is therefore served for alignment, quality and overall: the rows say which MOS it was compared with.

``weights``: None = a converted checkpoint from ``$TFAGIQA_HPS_DIR`` or ``./weights/hps_v1`` (HPS v1 is the
version the IP-IQA and SF-IQA papers cite), else random encoders (tiny in the smoke profile; ViT-L/14 in the paper
profile), said loudly; ``"none"`` = random without looking; a ``tfagiqa convert hps`` folder = that version.
"""

from __future__ import annotations

import pathlib
from dataclasses import replace

import numpy as np
import pandas as pd

from tfagiqa.errors import TfagiqaError

NEEDS_PROMPT = True
TRAINED = False
DEFAULT_HPS_DIR = "weights/hps_v1"
PROFILES = ("smoke", "paper")
BACKBONES = {"v1": "clip_vit_l14_hps_v1", "v2": "clip_vit_h14_hps_v2"}


def skip_reason(target: str) -> str | None:
    """HPS serves quality, alignment and overall alike (one preference score; see the module docstring)."""
    if target in ("quality", "alignment", "overall"):
        return None
    return f"HPS gives one preference score; there is no {target} reading"


def resolve(weights: str | None, profile: str, seed: int):
    """(scorer, its view policy, weights label, backbone label); ``weights`` None looks where ``auto`` does
    (:func:`tfagiqa.presets.resolve`: ``$TFAGIQA_HPS_DIR``, then ``./weights/hps_v1``), else random, loudly."""
    from tfagiqa.methods.hps import scorers
    from tfagiqa.backbones.clip_vit import TINY_CLIP
    from tfagiqa.presets import resolve as resolve_weights

    if profile not in PROFILES:
        raise TfagiqaError(f"unknown profile {profile!r}; use one of {PROFILES}")
    resolved = resolve_weights("auto" if weights is None else weights, kind="hps", search=(DEFAULT_HPS_DIR,),
                               what="HPS")
    if resolved.random:
        config = replace(TINY_CLIP, activation="quick_gelu") if profile == "smoke" else None
        model = scorers.random_scorer("v1", config, seed=seed)
        size = model.input["images"].shape[1]
        return model, scorers.views("v1", size), "random", BACKBONES["v1"] + ("_tiny" if config else "")
    model = scorers.converted_scorer(resolved.preset.folder)
    version = resolved.preset.architecture["version"]
    return model, scorers.views(version, model.input["images"].shape[1]), resolved.label, BACKBONES[version]


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """Score ``test`` (image, prompt) with HPS = 100·cos; ``train`` is not used (zero-shot)."""
    from tfagiqa.methods.zero_shot import score_frame

    model, views, weights_label, backbone = resolve(weights, profile, seed)
    predictions = score_frame(model, test, "hps", views)
    notes = (f"zero-shot HPS (100·cos of image and prompt embeddings) compared with the {label} MOS; "
             f"nothing fitted on the {len(train)} training rows")
    return {"predictions": np.asarray(predictions, dtype=np.float64), "weights": weights_label, "backbone": backbone,
            "notes": notes}
