"""Canonical columns that every dataset reader returns, so splits, pipelines and models are dataset-agnostic."""

from __future__ import annotations

# Always present.
IMAGE = "image"            # absolute path of the image file
NAME = "name"              # file name exactly as written in the label file
PROMPT = "prompt"          # text prompt ("" only where a dataset has none: PKU-I2IQA's missing ones, NR-IQA)
GENERATOR = "generator"    # harmonised text-to-image model name (see GENERATOR_ALIASES)
GROUP = "group"            # group key for grouped splits (prompt or object id); same group = same side
DATASET = "dataset"        # the registry name: agiqa1k, agiqa3k, aigciqa2023, aigiqa20k, pku_i2iqa, koniq10k, ...

# Label columns (each with a `<label>_std` companion where the dataset gives one).
QUALITY = "quality"
ALIGNMENT = "alignment"          # AIGCIQA2023 calls it correspondence
AUTHENTICITY = "authenticity"
OVERALL = "overall"              # single MOS mixing perception and alignment (AGIQA-1K, AIGIQA-20K)
LABELS = (QUALITY, ALIGNMENT, AUTHENTICITY, OVERALL)

# Paper subsets (NaN / None where they do not apply).
T2I_GROUP = "t2i_group"          # bad / medium / good (AGIQA-3K paper's generator groups)
PROMPT_LENGTH = "prompt_length"  # 0..3 = number of commas (AGIQA-3K)
STYLE_GROUP = "style_group"      # Abstract&Sci-fi / Anime&Realistic / Baroque / None

# Harmonised generator names, shared across datasets (DLSR §IV-A: glide = Glide, sd1.5 = stable-diffusion, DALLE2 = DALLE).
GENERATOR_ALIASES = {
    "attngan": "attngan",
    "glide": "glide",
    "sd1.5": "stable-diffusion",
    "stable-diffusion": "stable-diffusion",
    "dalle2": "dalle2",
    "dalle": "dalle2",
    "midjourney": "midjourney",
    "mj": "midjourney",
    "xl2.2": "sdxl",
    "sdxl": "sdxl",
    "controlnet": "controlnet",
    "lafite": "lafite",
    "unidiffuser": "unidiffuser",
    "deepai": "stable-diffusion-2",
    "dreamstudio": "stable-inpainting",
}

T2I_GROUPS = {
    "attngan": "bad", "glide": "bad",
    "dalle2": "medium", "stable-diffusion": "medium",
    "midjourney": "good", "sdxl": "good",
}


def harmonise_generator(raw: str) -> str:
    """Map a dataset's own generator spelling to the shared name (unknown names are lower-cased)."""
    key = raw.strip().lower()
    return GENERATOR_ALIASES.get(key, key)


def label_columns(df) -> list[str]:
    """The label columns a reader's DataFrame carries, in canonical order."""
    return [c for c in LABELS if c in df.columns]
