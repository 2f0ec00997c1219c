"""Frozen prompt embedders for the Hypernet paper's text inputs, computed once per prompt (SPEC §4.4).

The paper uses ImageReward's BLIP embedding (image-aware: the text encoder cross-attends to the image) as the
target-net input and a KPEval phrase encoder as the text hypernet's input. Neither's weights are here, so the
embedder is pluggable and recorded in every result row:

* ``tfidf`` (baseline, always available): TF-IDF over a word vocabulary adapted on the given prompts
  (``keras.layers.TextVectorization``); it does not see the image.
* ``keras-hub:PRESET_DIR``: a local keras-hub text backbone (BERT-style presets), frozen, mean of its sequence
  output over the non-padding tokens.
* ``blip``: ImageReward's BLIP; refused with a message (its port is not part of this package).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfagiqa.errors import TfagiqaError, WeightsError

BLIP_HINT = ("the ImageReward BLIP embedder needs ImageReward.pt (huggingface.co/THUDM/ImageReward) and a BLIP port, "
             "which this package does not have; use --text-embedder tfidf or keras-hub:PRESET_DIR")


def embed_prompts(prompts: list[str], spec: str = "tfidf", max_tokens: int = 2048) -> tuple[np.ndarray, str]:
    """[len(prompts), D] float32 embeddings and the label to record (``tfidf``, ``keras-hub:<dir>``)."""
    if spec == "tfidf":
        return tfidf_embeddings(prompts, max_tokens), "tfidf"
    if spec.startswith("keras-hub:"):
        return keras_hub_embeddings(prompts, spec.split(":", 1)[1]), spec
    if spec == "blip":
        raise WeightsError(BLIP_HINT)
    raise TfagiqaError(f"unknown text embedder {spec!r}: use tfidf, keras-hub:PRESET_DIR or blip")


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
