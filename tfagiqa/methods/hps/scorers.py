"""``hps-v1`` and ``hps-v2`` in the catalogue: {"images": [N, 224, 224, 3] in [0, 255], "prompt": [N]} →
{"hps": 100·cos(image, prompt) [N]}.

Views: v1 as ``clip.load``'s preprocessing (shorter side to 224, centre crop); v2 the whole image to 224×224
(HPSv2 resizes the longer side to 224 and pads with black: the same for square images, AGIQA's usual case).

``weights`` (nothing is ever downloaded): None = the official architecture (v1: ViT-L/14, v2: ViT-H/14, ~1B
parameters), randomly initialised, prompts hash-tokenized (code-path checks only); or the hps preset written by
``tfagiqa convert hps --version v1|v2`` (or a folder it wrote before presets; its version must be the entry's).
"""

from __future__ import annotations

from pathlib import Path

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError
from tfagiqa.presets import resolve

SCALE = "100 × cosine similarity of CLIP image and prompt embeddings (HPS; higher = preferred; about 15–35 in use)"
HELP = ("None (official architecture, random initialisation, hash-tokenized prompts, no I/O), or the hps preset of "
        "tfagiqa convert hps --version {version}")


def views(version: str, size: int = 224) -> dict:
    """The fixed test-time views of ``version`` for a ``size``-pixel model (export.ViewPolicy fields)."""
    return {"crop": "fixed_crops", "n_crops": 1, "resize_to": size} if version == "v1" else {"crop": "resize"}


def random_scorer(version: str, config=None, seed: int = 0):
    """A randomly initialised HPS scorer (the official architecture unless ``config`` says otherwise), prompts
    tokenized by the hash tokenizer; for code-path checks, no I/O."""
    import keras

    from tfagiqa.backbones.clip_text import HashTokenizer
    from tfagiqa.methods.hps import model
    from tfagiqa.backbones.clip_vit import clip_backbone

    config = config or model.CONFIGS[version]
    keras.utils.set_random_seed(seed)
    tokenizer = HashTokenizer(config.vocab_size, config.context_length, name="tokenizer")
    return model.hps_scorer(clip_backbone(config), tokenizer, name=f"hps_{version}_scorer")


def converted_scorer(folder: str | Path, version: str | None = None):
    """The scorer of a ``tfagiqa convert hps`` folder (refused when it holds the other ``version``)."""
    from tfagiqa.methods.hps import model
    from tfagiqa.methods.hps.convert import load_converted

    clip, tokenizer, found = load_converted(folder)
    if version is not None and found != version:
        raise WeightsError(f"{folder} holds HPS {found}; score it with hps-{found}, not hps-{version}")
    return model.hps_scorer(clip, tokenizer, name=f"hps_{found}_scorer")


def _resolve(weights: str | None, version: str):
    """``weights`` for hps-``version`` (:func:`tfagiqa.presets.resolve`; ``auto``: ``$TFAGIQA_HPS_DIR``, then
    ``./weights/hps_<version>``)."""
    return resolve(weights, kind="hps", search=(f"weights/hps_{version}",), what=f"hps-{version}")


def _builder(version: str):
    def build(weights: str | None = None):
        """The catalogue builder: random official architecture, or an hps preset of this version."""
        resolved = _resolve(weights, version)
        if resolved.random:
            return random_scorer(version)
        return converted_scorer(resolved.preset.folder, version)

    return build


def _provenance(version: str):
    def provenance(weights: str | None) -> dict:
        """The label of the weights ``build`` uses."""
        return {"weights": _resolve(weights, version).label}

    return provenance


HPS_V1 = ModelEntry(
    name="hps-v1", paper="hps", needs_prompt=True, outputs=("hps",), input_size=224, score_range=(-100.0, 100.0),
    label_scale=SCALE, build=_builder("v1"), weights_help=HELP.format(version="v1"), views=views("v1"), kinds=("hps",),
    provenance=_provenance("v1"),
    description="HPS v1 (Wu et al. 2023): OpenAI CLIP ViT-L/14 fine-tuned on human choices (hpc.pt), "
                "100·cos(image, prompt); shorter side resized to 224, centre crop",
)
HPS_V2 = ModelEntry(
    name="hps-v2", paper="hps", needs_prompt=True, outputs=("hps",), input_size=224, score_range=(-100.0, 100.0),
    label_scale=SCALE, build=_builder("v2"), weights_help=HELP.format(version="v2"), views=views("v2"), kinds=("hps",),
    provenance=_provenance("v2"),
    description="HPS v2 / v2.1 (Wu et al. 2023): open_clip ViT-H/14 fine-tuned on HPD v2, 100·cos(image, prompt); "
                "whole image resized to 224",
)
ENTRIES = (HPS_V1, HPS_V2)
