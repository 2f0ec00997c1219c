"""PickScore in the benchmark: zero-shot and prompt-conditioned; the train side is not used.

PickScore is a preference score learned from people's choices between images of one prompt (a judgement mixing
how good an image looks with how well it shows the prompt); SF-IQA's Table 1 lists it beside the alignment
metrics. The same score therefore serves alignment, quality and overall; the rows say which MOS it was compared
with.

``weights``: None = a PickScore_v1 folder from ``$TFAGIQA_PICKSCORE_DIR`` or ``./weights/PickScore_v1`` when present,
else random encoders (SF-IQA's tiny CLIP in the smoke profile; the ViT-H/14 shape in the paper profile), said
loudly; ``none`` = random without looking; a folder = that PickScore_v1.
"""

from __future__ import annotations

import os
import pathlib
import warnings
from dataclasses import replace
from pathlib import Path

import pandas as pd

from tfagiqa.benchmark.frames import result
from tfagiqa.errors import TfagiqaError

NEEDS_PROMPT = True
TRAINED = False
TARGETS = ("quality", "alignment", "overall")
PICKSCORE_DIR_ENV = "TFAGIQA_PICKSCORE_DIR"
DEFAULT_PICKSCORE_DIR = "weights/PickScore_v1"
PROFILES = ("smoke", "paper")
SMOKE_SIZE = 64  # the tiny CLIP's view in the smoke profile (SF-IQA's TINY_CLIP reads 32 px; 64 keeps more pixels)


def skip_reason(target: str) -> str | None:
    """One preference score, compared with any MOS (see the module docstring)."""
    return None if target in TARGETS else f"PickScore gives one preference score; there is no {target!r} reading"


def _default_folder() -> Path | None:
    for candidate in (os.environ.get(PICKSCORE_DIR_ENV), DEFAULT_PICKSCORE_DIR):
        if candidate and (Path(candidate) / "config.json").is_file():
            return Path(candidate)
    return None


def resolve(weights: str | None, profile: str, seed: int):
    """(scorer, weights label, backbone label) for the benchmark's ``weights`` and ``profile``."""
    from tfagiqa.methods.pickscore import scorers
    from tfagiqa.methods.sfiqa.model import PICKSCORE_HINT, TINY_CLIP

    if profile not in PROFILES:
        raise TfagiqaError(f"unknown profile {profile!r}; use one of {PROFILES}")
    folder = None if weights in (None, "none") else Path(weights)
    if weights is None:
        folder = _default_folder()
        if folder is None:
            warnings.warn(f"\n{'!' * 78}\nPickScore: no PickScore_v1 folder found; scoring with RANDOM encoders "
                          f"(recorded as weights=random).\n{PICKSCORE_HINT} (or set ${PICKSCORE_DIR_ENV})\n{'!' * 78}",
                          RuntimeWarning, stacklevel=3)
    if folder is None:
        if profile == "smoke":
            tiny = replace(TINY_CLIP, image_size=SMOKE_SIZE)
            return scorers.random_scorer(tiny, seed=seed), "random", "clip_vit_h14_pickscore_tiny"
        return scorers.random_scorer(seed=seed), "random", "clip_vit_h14_pickscore"
    return scorers.converted_scorer(folder), str(folder), "clip_vit_h14_pickscore"


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """Score ``test`` (image, prompt) with PickScore = exp(t)·cos; ``train`` is not used (zero-shot)."""
    from tfagiqa.methods.pickscore.scorers import VIEWS
    from tfagiqa.methods.zero_shot import score_frame

    model, weights_label, backbone = resolve(weights, profile, seed)
    size = model.input["images"].shape[1]
    predictions = score_frame(model, test, "pickscore", {**VIEWS, "resize_to": size})
    notes = (f"zero-shot PickScore (exp(t)·cos of image and prompt embeddings, {size} px, shorter side resized and "
             f"centre-cropped) compared with the {label} MOS; nothing fitted on the {len(train)} training rows")
    return result(predictions, weights_label, backbone, notes, "zero_shot")
