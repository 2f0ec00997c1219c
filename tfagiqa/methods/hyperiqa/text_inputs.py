"""Frozen text embedders for the Hypernet paper's text inputs, computed once and looked up by the model (SPEC §4.4).

The paper feeds two text inputs from two models: the target network reads ImageReward's BLIP embedding
(image-aware: the text encoder cross-attends to the image; Tables III–VIII), and the text-based hypernet's hyper
network reads the prompt through KPEval's phrase encoder (Table V; Wu, Yin, Chang 2023, released as
``uclanlp/keyphrase-mpnet-v1``, an MPNet sentence-transformer fine-tuned from ``all-mpnet-base-v2``, 768-d). Each
input has its own embedder (:func:`resolve_embedder`: ``auto`` takes the paper's reading when its weights are in
the data root's ``weights/`` folder, TF-IDF otherwise), recorded in every result row. The embedders:

* ``tfidf`` (baseline, always available): TF-IDF over a word vocabulary adapted on the given prompts
  (``keras.layers.TextVectorization``); it does not see the image.
* ``keras-hub:PRESET_DIR``: a local keras-hub text backbone (BERT-style presets), frozen, mean of its sequence
  output over the non-padding tokens (sentence-transformers' pooling). keras-hub has no MPNet, so KPEval's encoder
  is stood in for by ``all_minilm_l12_v2_en``, the sentence-transformers MiniLM of the same "all-*" training
  (384-d), looked for at ``<data-root>/weights/keras-hub/all_minilm_l12_v2_en``.
* ``blip:DIR``: the paper's choice, ImageReward's BLIP [CLS] feature (768-d) of each (image, prompt) pair, from the
  ``DIR/model.keras`` that ``tfagiqa convert imagereward`` writes. Image-aware, so there is one vector per image
  (keyed by the image's name) instead of one per prompt; the image is resized to 224 (shorter side) and
  centre-cropped, as ImageReward does. Vectors are cached under ``cache_dir`` (BLIP ViT-L is slow on a CPU).
  Looked for at ``<data-root>/weights/imagereward`` (its ``model.keras``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.data import schema
from tfagiqa.errors import DataError, TfagiqaError, WeightsError
from tfagiqa.presets import resolve

BLIP_HINT = ("the ImageReward BLIP embedder reads a converted ImageReward: run tfagiqa convert imagereward --torch "
             "ImageReward.pt --vocab vocab.txt --out DIR (ImageReward.pt from huggingface.co/THUDM/ImageReward, vocab.txt "
             "from huggingface.co/bert-base-uncased), then pass --target-text-embedder blip:DIR")
KPEVAL_STAND_IN = "all_minilm_l12_v2_en"  # keras-hub preset standing in for KPEval's phrase encoder (no MPNet there)
STAND_IN_HINT = (f"save keras-hub's {KPEVAL_STAND_IN} once where there is internet (keras_hub.models.Backbone and "
                 f"keras_hub.models.TextClassifierPreprocessor .from_preset('{KPEVAL_STAND_IN}').save_to_preset(DIR)) "
                 "and pass --hyper-text-embedder keras-hub:DIR")
ROLES = ("hyper", "target")  # the text hypernet's hyper network input; the target network's input
DEFAULT_DIRS = {"hyper": Path("weights") / "keras-hub" / KPEVAL_STAND_IN, "target": Path("weights") / "imagereward"}


@dataclass(frozen=True)
class EmbedderChoice:
    """The embedder one text input uses (an ``embed_texts`` spec) and, when ``auto`` could not take the paper's,
    why not (one line for the run's banner)."""

    spec: str
    fallback: str = ""


def resolve_embedder(spec: str, role: str, data_root: str | Path) -> EmbedderChoice:
    """``spec`` itself, or for ``auto`` the paper's reading of the input ``role`` when its weights are under
    ``data_root`` (``hyper``: the keras-hub phrase-encoder stand-in; ``target``: ImageReward's BLIP), else TF-IDF
    with the reason."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if spec != "auto":
        return EmbedderChoice(spec)
    folder = Path(data_root) / DEFAULT_DIRS[role]
    if role == "hyper":
        if (folder / "config.json").is_file():
            return EmbedderChoice(f"keras-hub:{folder}")
        return EmbedderChoice("tfidf", f"TF-IDF feeds the text hypernet, not a phrase encoder (the paper: KPEval's; "
                                       f"none at {folder}): {STAND_IN_HINT}")
    if (folder / "model.keras").is_file():
        return EmbedderChoice(f"blip:{folder}")
    return EmbedderChoice("tfidf", f"TF-IDF feeds the target network, not BLIP: it does NOT SEE THE IMAGE (the paper: "
                                   f"ImageReward's BLIP; none at {folder}): {BLIP_HINT}")


def embedder_label(hyper: str, target: str) -> str:
    """The ``text_embedder`` of a result row: ``hyper:<h>+target:<t>`` when the hyper network reads text too,
    otherwise the target input's embedder alone (the only text input of those variants)."""
    return f"hyper:{hyper}+target:{target}" if hyper else target


@dataclass(frozen=True)
class TextTable:
    """Frozen embeddings (row i belongs to ``keys[i]``) and what the keys are: ``prompt`` or the image ``name``."""

    keys: list[str]
    vectors: np.ndarray
    label: str  # recorded in the results: tfidf, keras-hub:<dir>, blip:<dir>
    key: str = schema.PROMPT

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


def embed_texts(df: pd.DataFrame, spec: str = "tfidf", max_tokens: int = 2048,
                cache_dir: str | Path | None = None) -> TextTable:
    """The ``spec`` embedder's table for ``df``: one row per distinct prompt, or per image for ``blip:DIR``.

    ``blip:DIR`` (an imagereward preset, or a folder ``tfagiqa convert imagereward`` wrote before presets) and
    ``keras-hub:DIR`` are resolved by :func:`tfagiqa.presets.resolve`; the table's label is ``spec`` as given."""
    if spec == "blip" or spec.startswith("blip:"):
        if spec == "blip":
            raise WeightsError(BLIP_HINT)
        resolved = resolve(spec.split(":", 1)[1], kind="imagereward", label="blip:{spec}", what="the BLIP embedder")
        names = df[schema.NAME].astype(str)
        if names.duplicated().any():
            raise DataError(f"the BLIP embedder keys its vectors by image name; {names[names.duplicated()].iloc[0]!r} "
                            "is not unique in this dataset")
        return TextTable(names.tolist(), blip_embeddings(df, resolved.preset.path("model"), cache_dir),
                         resolved.label, schema.NAME)
    prompts = sorted(df[schema.PROMPT].astype(str).unique())
    if spec == "tfidf":
        return TextTable(prompts, tfidf_embeddings(prompts, max_tokens), "tfidf")
    if spec.startswith("keras-hub:"):
        resolved = resolve(spec, kind="keras-hub-text", what="the keras-hub text embedder")
        return TextTable(prompts, keras_hub_embeddings(prompts, resolved.preset.source["keras_hub"]), resolved.label)
    raise TfagiqaError(f"unknown text embedder {spec!r}: use tfidf, keras-hub:PRESET_DIR or blip:DIR")


def tfidf_embeddings(prompts: list[str], max_tokens: int = 2048) -> np.ndarray:
    """TF-IDF vectors of the prompts over their own word vocabulary (L2-normalised rows)."""
    import keras

    layer = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode="tf_idf")
    layer.adapt(list(prompts))
    vectors = np.asarray(layer(np.array(prompts, dtype=object)), dtype="float32")
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6)


def keras_hub_embeddings(prompts: list[str], preset: str, batch_size: int = 32, sequence_length: int = 64) -> np.ndarray:
    """Mean-pooled sequence output of a local keras-hub text backbone (weights never downloaded)."""
    if not Path(preset).is_dir():
        raise WeightsError(f"keras-hub text embedder: {preset!r} is not a local preset folder "
                           "(download one with keras_hub on a machine with internet and pass its folder)")
    import keras_hub

    try:
        backbone = keras_hub.models.Backbone.from_preset(preset)
        length = min(sequence_length, getattr(backbone, "max_sequence_length", sequence_length))
        preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(preset, sequence_length=length)
    except Exception as exc:
        raise WeightsError(f"keras-hub text embedder: cannot load the preset at {preset}: {exc}") from exc
    out = []
    for start in range(0, len(prompts), batch_size):
        features = preprocessor(np.array(prompts[start:start + batch_size], dtype=object))
        sequence = np.asarray(backbone(features)["sequence_output"], dtype="float32")
        mask = np.asarray(features["padding_mask"], dtype="float32")[..., None]
        out.append((sequence * mask).sum(1) / np.maximum(mask.sum(1), 1.0))
    return np.concatenate(out)


def blip_embeddings(df: pd.DataFrame, folder: str | Path, cache_dir: str | Path | None = None,
                    batch_size: int = 16) -> np.ndarray:
    """[len(df), 768] ImageReward BLIP [CLS] features of each row's image and prompt (frozen, ``training=False``).

    The network is loaded only when something is to be computed: a cache hit reads the vectors alone."""
    import tensorflow as tf

    from tfagiqa.data.cache import FeatureCache
    from tfagiqa.methods.imagereward.scorers import image_size_of, load_imagereward, model_file

    file = model_file(folder)
    size = image_size_of(file)
    key = {"embedder": "imagereward-blip", "model": str(file.resolve()), "modified": file.stat().st_mtime_ns,
           "dataset": df.attrs.get("dataset", "")}
    infer = None

    def embed(inputs):
        nonlocal infer
        if infer is None:
            model = load_imagereward(file)
            infer = tf.function(lambda x: model(x, training=False)["embedding"])
        return infer(inputs)

    with tempfile.TemporaryDirectory() as scratch:  # no cache_dir: computed every time
        return FeatureCache(cache_dir or scratch).get_or_compute(
            key, df, embed, image_size=size, crop="center_crop", resize_to=size, batch_size=batch_size,
            with_prompt=True)
