"""CLIPScore in the benchmark: zero-shot, as ``run_ipiqa.py --baseline clipscore`` scores a split's test side.

2.5·max(cos(image, prompt), 0) with IP-IQA's CLIP start: a converted CLIP RN50, or random encoders (tiny at 64 px
in the smoke profile, RN50 at 512 px in the paper profile). One similarity serves every target: IP-IQA's Table 2
compares it with both of AGIQA-3K's MOS; the rows say which MOS it was compared with. The train side is not used.

``weights``: as IP-IQA's (None = ``auto``: ``$TFAGIQA_CLIP_DIR`` or ``./weights/clip_rn50`` when present, else
random, said loudly; ``none``; a ``tfagiqa convert clip`` folder).
"""

from __future__ import annotations

import pathlib

import keras
import pandas as pd

from tfagiqa.backbones.clip_resnet import clip_image_encoder
from tfagiqa.backbones.clip_text import clip_text_encoder
from tfagiqa.benchmark.frames import result
from tfagiqa.data import schema
from tfagiqa.errors import TfagiqaError
from tfagiqa.methods.baselines.models import clipscore_model
from tfagiqa.methods.ipiqa import protocol
from tfagiqa.methods.ipiqa.benchmark import encoder_tag, settings

NEEDS_PROMPT = True
TRAINED = False
TARGETS = ("quality", "alignment", "overall")


def skip_reason(target: str) -> str | None:
    """One text-image similarity, compared with any MOS (see the module docstring)."""
    return None if target in TARGETS else f"CLIPScore gives one similarity; there is no {target!r} reading"


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """CLIPScore of every test image with its prompt; nothing is fitted."""
    chosen = settings(profile)
    start = protocol.resolve_clip(weights or "auto", chosen)
    if not hasattr(start.vision, "layers"):
        raise TfagiqaError("the benchmark runs CLIPScore on CLIP RN50 encoders")
    keras.utils.set_random_seed(seed)
    image_encoder = start.image_encoder or clip_image_encoder(start.vision)
    text_encoder = start.text_encoder or clip_text_encoder(start.text)
    model = clipscore_model(image_encoder, text_encoder)
    view = chosen.but(image_size=image_encoder.input_shape[1])
    lookup = protocol.prompt_lookup(test[schema.PROMPT], start.tokenize)
    scores = protocol.predict_scores(model, protocol.dataset(test, (label,), view, lookup, train=False, seed=seed))
    notes = (f"zero-shot 2.5·max(cos, 0) at {view.image_size} px compared with the {label} MOS; nothing fitted on "
             f"the {len(train)} training rows")
    return result(scores[:, 0], start.label, encoder_tag(start.vision), notes, "zero_shot")
