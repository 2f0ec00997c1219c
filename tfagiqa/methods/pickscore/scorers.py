"""``pickscore`` in the catalogue: {"images": [N, 224, 224, 3] in [0, 255], "prompt": [N]} →
{"pickscore": exp(t)·cos(image, prompt) [N]}.

The view is PickScore's processor: shorter side to 224 (bicubic), centre crop. ``weights`` (nothing is ever
downloaded): None = PickScore's architecture (CLIP ViT-H/14, about a billion parameters), randomly initialised,
t = log(1/0.07), prompts hash-tokenized (code-path checks only); or the Hugging Face folder
``yuvalkirstain/PickScore_v1`` (config.json, model.safetensors or pytorch_model.bin, vocab.json, merges.txt), whose
learned t (about log 100) and CLIP BPE are used.
"""

from __future__ import annotations

from pathlib import Path

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError

SCALE = "exp(t) × cosine similarity of PickScore's image and prompt embeddings (t learned, exp(t) ≈ 100; higher = preferred)"
VIEWS = {"crop": "fixed_crops", "n_crops": 1, "resize_to": 224}


def pickscore_scorer(clip, tokenizer, logit_scale: float | None = None, name: str = "pickscore_scorer"):
    """The catalogue's contract around SF-IQA's similarity model (``S = exp(t)·cos``, eq. 2): prompt strings are
    tokenized inside the graph; ``logit_scale`` None keeps the layer's initial t = log(1/0.07)."""
    from dataclasses import replace

    import keras

    from tfagiqa.methods.sfiqa import model as sfiqa

    size = clip.vision_encoder.image_shape[0]
    config = sfiqa.SFIQAConfig(clip=replace(sfiqa.PICKSCORE, image_size=size))  # only the view size is read
    similarity = sfiqa.similarity_model(config, clip, logit_scale=logit_scale)
    images = keras.Input((size, size, 3), name="images")
    prompt = keras.Input((), dtype="string", name="prompt")
    score = similarity({"images": images, "token_ids": tokenizer(prompt)})
    return keras.Model({"images": images, "prompt": prompt},
                       {"pickscore": keras.layers.Reshape((), name="pickscore")(score)}, name=name)


def random_scorer(config=None, seed: int = 0):
    """A randomly initialised PickScore scorer (PickScore's architecture unless ``config`` says otherwise), prompts
    tokenized by the hash tokenizer; for code-path checks, no I/O."""
    import keras

    from tfagiqa.backbones.clip_text import HashTokenizer
    from tfagiqa.methods.sfiqa.model import PICKSCORE, clip_backbone

    config = config or PICKSCORE
    keras.utils.set_random_seed(seed)
    tokenizer = HashTokenizer(config.vocab_size, config.context_length, name="tokenizer")
    return pickscore_scorer(clip_backbone(config), tokenizer)


def converted_scorer(folder: str | Path):
    """The scorer of a local ``PickScore_v1`` Hugging Face folder (its weights, BPE tokenizer and learned t)."""
    from tfagiqa.methods.sfiqa.model import load_pickscore

    clip, tokenizer, logit_scale = load_pickscore(folder)
    return pickscore_scorer(clip, tokenizer, logit_scale)


def build(weights: str | None = None):
    """The catalogue builder: random PickScore architecture, or a local PickScore_v1 folder."""
    if weights is None:
        return random_scorer()
    if not Path(weights).is_dir():
        raise WeightsError(f"pickscore: weights must be None or a PickScore_v1 folder; {weights} is not a folder")
    return converted_scorer(weights)


PICKSCORE = ModelEntry(
    name="pickscore", paper="pickscore", needs_prompt=True, outputs=("pickscore",), input_size=224,
    score_range=(-100.0, 100.0), label_scale=SCALE, build=build, views=VIEWS,
    weights_help="None (PickScore's architecture, random initialisation, hash-tokenized prompts, no I/O), or a local "
                 "folder of the Hugging Face model yuvalkirstain/PickScore_v1",
    description="PickScore (Kirstain et al. 2023): CLIP ViT-H/14 fine-tuned on Pick-a-Pic choices, exp(t)·cos(image, "
                "prompt); shorter side resized to 224, centre crop",
)
ENTRIES = (PICKSCORE,)
