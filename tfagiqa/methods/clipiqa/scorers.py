"""``clipiqa`` and ``clipiqa+`` in the catalogue: {"images": [N, 512, 512, 3] in [0, 255]} → {"quality": [N]}, the
probability of "Good photo." in [0, 1].

The official code scores every image at its own resolution (the positional embedding is removed for that); a
SavedModel needs one input size, so the catalogue resizes the whole image to 512×512 (AGIQA images are 512 px or
larger; the view policy's bilinear antialiased resize).

``weights`` (nothing is ever downloaded):

* ``clipiqa``: None = random RN50 and text tower, prompts hash-tokenized (code-path checks only); or the folder
  written by ``tfagiqa convert clip --torch RN50.pt --bpe bpe_simple_vocab_16e6.txt.gz --out DIR``;
* ``clipiqa+``: None = random, with a random 16-token context; or the folder written by ``tfagiqa convert clipiqa+``
  (its ``model.keras`` is the complete scorer).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError

IMAGE_SIZE = 512
VARIANTS = ("clipiqa", "clipiqa+")
MODEL_FILE, CONFIG_FILE = "model.keras", "clipiqa.json"
CLIP_HINT = ("convert OpenAI's RN50 first: tfagiqa convert clip --torch RN50.pt --bpe bpe_simple_vocab_16e6.txt.gz "
             "--out DIR (RN50.pt from the URL in openai/CLIP clip/clip.py, the BPE file from the same repository), "
             "then pass DIR")
PLUS_HINT = ("convert the learned prompts first: tfagiqa convert clipiqa+ --torch CLIP-IQA+_learned_prompts-603f3273.pth "
             "--clip CLIP_DIR --out DIR (the .pth from the v0.1-weights release of chaofengc/IQA-PyTorch; CLIP_DIR "
             "from tfagiqa convert clip with --bpe), then pass DIR")
SCALE = "probability of 'Good photo.' against 'Bad photo.', [0, 1] (zero-shot: not on any MOS scale)"


def load_clip(folder: str | Path):
    """(image encoder, its CLIPResNetConfig, text encoder, BPE tokenizer, logit scale) of a ``tfagiqa convert clip``
    folder."""
    from tfagiqa.backbones.clip_convert import TOKENIZER_DIR, load_converted
    from tfagiqa.backbones.clip_resnet import CLIPResNetConfig
    from tfagiqa.backbones.clip_text import BPETokenizer
    from tfagiqa.errors import TfagiqaError

    folder = Path(folder)
    try:
        image_encoder, text_encoder, config = load_converted(folder)
    except TfagiqaError as exc:
        raise WeightsError(f"CLIP-IQA: {exc}") from exc
    if not (folder / TOKENIZER_DIR).is_dir():
        raise WeightsError(f"{folder} has no tokenizer/: convert again with --bpe bpe_simple_vocab_16e6.txt.gz "
                           "(CLIP's weights need CLIP's BPE ids)")
    tokenizer = BPETokenizer.load(folder / TOKENIZER_DIR, config["text"]["context_length"])
    vision = CLIPResNetConfig(**{**config["vision"], "layers": tuple(config["vision"]["layers"])})
    return image_encoder, vision, text_encoder, tokenizer, math.exp(config["logit_scale"])


def random_scorer(variant: str = "clipiqa", image_size: int | None = None, vision=None, text=None, seed: int = 0):
    """A randomly initialised ``variant`` scorer (RN50 and its text tower unless ``vision`` / ``text`` say
    otherwise), prompts tokenized by the hash tokenizer; for code-path checks, no I/O."""
    import keras
    import numpy as np

    from tfagiqa.backbones import clip_resnet, clip_text
    from tfagiqa.methods.clipiqa import learned_prompts, model

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    vision, text = vision or clip_resnet.RN50, text or clip_text.RN50_TEXT
    keras.utils.set_random_seed(seed)
    encoder = model.image_encoder(vision, image_size or IMAGE_SIZE)
    text_encoder = clip_text.clip_text_encoder(text)
    hasher = clip_text.HashTokenizer(text.vocab_size, text.context_length)
    if variant == "clipiqa":
        features = model.prompt_features(text_encoder, hasher)
    else:
        ctx = np.random.default_rng(seed).normal(0.0, 0.02, (learned_prompts.N_CTX, text.width))  # CoOp's init
        features = learned_prompts.learned_prompt_features(text_encoder, hasher, ctx)
    return model.clipiqa_scorer(encoder, features, name=f"{variant.replace('+', '_plus')}_scorer")


def clip_scorer(folder: str | Path, image_size: int | None = None):
    """CLIP-IQA from a converted CLIP RN50 folder: its image encoder without positions at ``image_size``, the
    antonym prompts' features from its text tower and BPE, its logit scale."""
    from tfagiqa.methods.clipiqa import model

    source, vision, text_encoder, tokenizer, logit_scale = load_clip(folder)
    encoder = model.image_encoder(vision, image_size or IMAGE_SIZE)
    model.copy_image_weights(source, encoder)
    return model.clipiqa_scorer(encoder, model.prompt_features(text_encoder, tokenizer), logit_scale)


def build_clipiqa(weights: str | None = None):
    """The catalogue builder of ``clipiqa``: random RN50, or a ``tfagiqa convert clip`` folder."""
    if weights is None:
        return random_scorer("clipiqa")
    if not Path(weights).is_dir():
        raise WeightsError(f"clipiqa: weights must be None or a folder; {weights} is not one. {CLIP_HINT}")
    return clip_scorer(weights)


def load_plus(folder: str | Path):
    """The complete CLIP-IQA+ scorer a ``tfagiqa convert clipiqa+`` folder holds."""
    import keras

    folder = Path(folder)
    file = folder / MODEL_FILE if folder.is_dir() else folder
    if not file.is_file():
        raise WeightsError(f"clipiqa+: no {MODEL_FILE} at {folder}; {PLUS_HINT}")
    try:
        return keras.saving.load_model(file)
    except Exception as exc:
        raise WeightsError(f"clipiqa+: cannot load {file}: {exc}. {PLUS_HINT}") from exc


def build_clipiqa_plus(weights: str | None = None):
    """The catalogue builder of ``clipiqa+``: random (context too), or a ``tfagiqa convert clipiqa+`` folder."""
    return random_scorer("clipiqa+") if weights is None else load_plus(weights)


def provenance(weights: str | None) -> dict:
    """Where the weights come from; for a converted CLIP-IQA+ folder, the files it was made from."""
    if weights is None:
        return {"weights": "random"}
    record = Path(weights) / CONFIG_FILE
    return {"weights": str(weights), **(json.loads(record.read_text()) if record.is_file() else {})}


CLIPIQA = ModelEntry(
    name="clipiqa", paper="clipiqa", needs_prompt=False, outputs=("quality",), input_size=IMAGE_SIZE,
    score_range=(0.0, 1.0), label_scale=SCALE, build=build_clipiqa, provenance=provenance,
    weights_help="None (random RN50, no I/O), or the folder of tfagiqa convert clip (with --bpe)",
    description="CLIP-IQA (Wang et al. 2023): CLIP RN50 without the attention pool's positional embedding, "
                "softmax(100·cos) over 'Good photo.' / 'Bad photo.'; whole image resized to 512",
)
CLIPIQA_PLUS = ModelEntry(
    name="clipiqa+", paper="clipiqa", needs_prompt=False, outputs=("quality",), input_size=IMAGE_SIZE,
    score_range=(0.0, 1.0), label_scale=SCALE, build=build_clipiqa_plus, provenance=provenance,
    weights_help="None (random, random context, no I/O), or the folder of tfagiqa convert clipiqa+",
    description="CLIP-IQA+ (Wang et al. 2023): CLIP-IQA with a learned 16-token CoOp context around the antonym "
                "words (pyiqa's published context); whole image resized to 512",
)
ENTRIES = (CLIPIQA, CLIPIQA_PLUS)
