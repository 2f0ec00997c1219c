"""The ``imagereward`` scorer for the model catalogue: an image and its prompt → ImageReward's normalised reward.

ImageReward resizes the shorter side to 224 (bicubic) and centre-crops 224; the catalogue's view policy does the
same (bilinear, antialiased: the package's one resize), then the model normalises with CLIP's mean and std.

``build(weights)``: None = the official sizes (ViT-L/16 + BERT-base, ~450M parameters), randomly initialised, no I/O,
with a placeholder vocabulary (BERT's special tokens and ``[unusedN]`` fillers: every real word is [UNK]); a path =
the imagereward preset written by ``tfagiqa convert imagereward`` (or a folder it wrote before presets, or its
``model.keras``).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError
from tfagiqa.presets import load_preset, resolve

IMAGE_SIZE = 224
VIEWS = {"crop": "fixed_crops", "n_crops": 1, "resize_to": IMAGE_SIZE}
CHECKPOINT_HINT = ("convert the official checkpoint first: tfagiqa convert imagereward --torch ImageReward.pt --vocab "
                   "vocab.txt --out DIR (ImageReward.pt from huggingface.co/THUDM/ImageReward, vocab.txt from "
                   "huggingface.co/bert-base-uncased), then pass DIR")
WEIGHTS_HELP = ("None (random initialisation, official sizes, placeholder vocabulary, no I/O), or the imagereward "
                "preset (or its model.keras) written by tfagiqa convert imagereward")


def placeholder_vocabulary(size: int) -> list[str]:
    """BERT's special tokens, BLIP's [DEC]/[ENC] last, ``[unusedN]`` between: a vocabulary without real words."""
    from tfagiqa.backbones.blip_text import BLIP_TOKENS, SPECIAL_TOKENS

    fillers = [f"[unused{i}]" for i in range(size - len(SPECIAL_TOKENS) - len(BLIP_TOKENS))]
    return [*SPECIAL_TOKENS, *fillers, *BLIP_TOKENS]


def model_file(path: str | Path) -> Path:
    """The converted ``model.keras`` of an imagereward preset (``path``: the preset, an older converted folder or its
    model.keras); a WeightsError saying how to make one."""
    try:
        return load_preset(path, kind="imagereward").path("model")
    except WeightsError as exc:
        raise WeightsError(f"imagereward: {exc}") from exc


def image_size_of(path: str | Path) -> int:
    """The image size a converted ImageReward takes, read from its saved config without building the network."""
    try:
        with zipfile.ZipFile(model_file(path)) as archive:
            config = json.loads(archive.read("config.json"))
        return next(layer["config"]["batch_shape"][1] for layer in config["config"]["layers"]
                    if layer["class_name"] == "InputLayer" and layer["config"]["name"] == "image")
    except (OSError, KeyError, StopIteration, ValueError, zipfile.BadZipFile) as exc:
        raise WeightsError(f"imagereward: {path} is not an ImageReward model.keras ({exc}). {CHECKPOINT_HINT}") from exc


def load_imagereward(path: str | Path):
    """The converted ImageReward network (``path``: its model.keras or the folder), or a WeightsError saying why."""
    import keras

    file = model_file(path)
    try:
        model = keras.saving.load_model(file)
    except Exception as exc:
        raise WeightsError(f"imagereward: cannot load {file}: {exc}. {CHECKPOINT_HINT}") from exc
    if not isinstance(model.output, dict) or "embedding" not in model.output:
        raise WeightsError(f"imagereward: {file} is not an ImageReward model (no embedding output). {CHECKPOINT_HINT}")
    return model


def scoring_model(model):
    """{images [N, 224, 224, 3] in [0, 255], prompt [N]} → {reward [N]} from an :func:`imagereward_model`."""
    import keras

    size = model.input["image"].shape[1]
    images = keras.Input((size, size, 3), name="images")
    prompt = keras.Input((), dtype="string", name="prompt")
    reward = model({"image": images, "prompt": prompt}, training=False)["reward"]
    return keras.Model({"images": images, "prompt": prompt}, {"reward": reward}, name="imagereward_scorer")


def build_imagereward(weights: str | None = None):
    """The catalogue builder: official-size random network, or a converted checkpoint's preset
    (:func:`tfagiqa.presets.resolve`)."""
    from tfagiqa.methods.imagereward import model as imagereward

    resolved = resolve(weights, kind="imagereward", what="imagereward")
    if resolved.random:
        vocabulary = placeholder_vocabulary(imagereward.IMAGEREWARD.text.vocab_size)
        return scoring_model(imagereward.imagereward_model(imagereward.IMAGEREWARD, vocabulary))
    return scoring_model(load_imagereward(resolved.preset.path("model")))


IMAGEREWARD = ModelEntry(
    name="imagereward", paper="hypernet", needs_prompt=True, outputs=("reward",), input_size=IMAGE_SIZE,
    score_range=(-3.0, 3.0), label_scale="ImageReward's normalised reward (about zero mean, unit s.d. on its data)",
    build=build_imagereward, weights_help=WEIGHTS_HELP, views=dict(VIEWS), kinds=("imagereward",),
    description="ImageReward (Xu et al. 2023): BLIP ViT-L/16 + BERT cross-attending to the image, [CLS] feature → "
                "reward MLP; shorter side resized to 224, centre crop",
)
ENTRIES = (IMAGEREWARD,)
