"""``clipiqa`` and ``clipiqa+`` in the catalogue: {"images": [N, 512, 512, 3] in [0, 255]} → {"quality": [N]}, the
probability of "Good photo." in [0, 1].

The official code scores every image at its own resolution (the positional embedding is removed for that); a
SavedModel needs one input size, so the catalogue resizes the whole image to 512×512 (AGIQA images are 512 px or
larger; the view policy's bilinear antialiased resize).

``weights`` (nothing is ever downloaded):

* ``clipiqa``: None = random RN50 and text tower, prompts hash-tokenized (code-path checks only); or the clip-rn50
  preset written by ``tfagiqa convert clip --torch RN50.pt --bpe bpe_simple_vocab_16e6.txt.gz --out DIR``;
* ``clipiqa+``: None = random, with a random 16-token context; or the clipiqa+ preset written by ``tfagiqa convert
  clipiqa+`` (its ``model.keras`` is the complete scorer).

Both resolve ``weights`` with :func:`tfagiqa.presets.resolve` (folders the converters wrote before presets too).
"""

from __future__ import annotations

import math
from pathlib import Path

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError
from tfagiqa.presets import resolve

IMAGE_SIZE = 512
VARIANTS = ("clipiqa", "clipiqa+")
MODEL_FILE = "model.keras"
CLIP_HINT = ("convert OpenAI's RN50 first: tfagiqa convert clip --torch RN50.pt --bpe bpe_simple_vocab_16e6.txt.gz "
             "--out DIR (RN50.pt from the URL in openai/CLIP clip/clip.py, the BPE file from the same repository), "
             "then pass DIR")
SCALE = "probability of 'Good photo.' against 'Bad photo.', [0, 1] (zero-shot: not on any MOS scale)"


def load_clip(folder: str | Path):
    """(image encoder, its CLIPResNetConfig, text encoder, BPE tokenizer, logit scale) of a clip-rn50 preset
    (``tfagiqa convert clip --bpe``, or a folder it wrote before presets)."""
    from tfagiqa.backbones.clip_convert import load_converted, load_tokenizer
    from tfagiqa.backbones.clip_resnet import CLIPResNetConfig

    try:
        tokenizer = load_tokenizer(folder)
        image_encoder, text_encoder, config = load_converted(folder)
    except WeightsError as exc:
        raise WeightsError(f"CLIP-IQA: {exc}") from exc
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
    """The catalogue builder of ``clipiqa``: random RN50, or a clip-rn50 preset (:func:`tfagiqa.presets.resolve`;
    ``auto``: ``$TFAGIQA_CLIP_DIR``, then ``./weights/clip_rn50``)."""
    resolved = resolve(weights, kind="clip-rn50", what="clipiqa")
    return random_scorer("clipiqa") if resolved.random else clip_scorer(resolved.preset.folder)


def build_clipiqa_plus(weights: str | None = None):
    """The catalogue builder of ``clipiqa+``: random (context too), or a clipiqa+ preset."""
    resolved = resolve(weights, kind="clipiqa+", what="clipiqa+")
    return random_scorer("clipiqa+") if resolved.random else resolved.preset.load("model")


def provenance(weights: str | None) -> dict:
    """Where the weights come from; for a CLIP-IQA+ preset, what it was made from (its architecture and source)."""
    resolved = resolve(weights, kind=("clipiqa+", "clip-rn50"), what="CLIP-IQA")
    if resolved.kind != "clipiqa+":
        return {"weights": resolved.label}
    return {"weights": resolved.label, **resolved.preset.architecture, **resolved.preset.source}


CLIPIQA = ModelEntry(
    name="clipiqa", paper="clipiqa", needs_prompt=False, outputs=("quality",), input_size=IMAGE_SIZE,
    score_range=(0.0, 1.0), label_scale=SCALE, build=build_clipiqa, provenance=provenance,
    weights_help="None (random RN50, no I/O), or the clip-rn50 preset of tfagiqa convert clip (with --bpe)",
    kinds=("clip-rn50",),
    description="CLIP-IQA (Wang et al. 2023): CLIP RN50 without the attention pool's positional embedding, "
                "softmax(100·cos) over 'Good photo.' / 'Bad photo.'; whole image resized to 512",
)
CLIPIQA_PLUS = ModelEntry(
    name="clipiqa+", paper="clipiqa", needs_prompt=False, outputs=("quality",), input_size=IMAGE_SIZE,
    score_range=(0.0, 1.0), label_scale=SCALE, build=build_clipiqa_plus, provenance=provenance,
    weights_help="None (random, random context, no I/O), or the clipiqa+ preset of tfagiqa convert clipiqa+",
    kinds=("clipiqa+",),
    description="CLIP-IQA+ (Wang et al. 2023): CLIP-IQA with a learned 16-token CoOp context around the antonym "
                "words (pyiqa's published context); whole image resized to 512",
)
ENTRIES = (CLIPIQA, CLIPIQA_PLUS)
