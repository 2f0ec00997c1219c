"""CLIP-IQA (Wang, Chan, Loy; AAAI 2023), §3: quality from CLIP without training.

1. Antonym prompts: the pair ("Good photo.", "Bad photo.") goes through CLIP's text encoder once, giving t₁, t₂.
2. The image goes through CLIP's image encoder (RN50 in the paper) with the attention pool's positional embedding
   removed, so that any resolution can be scored without resizing the learned 7×7 table (the official
   ``pos_embedding=False``); the image embedding is x.
3. With cosine similarities s_i = ⟨x/‖x‖, t_i/‖t_i‖⟩ and CLIP's logit scale (exp of the learned log-scale,
   100 for OpenAI's RN50), the score is softmax(100·s)₁ = e^{100 s₁} / (e^{100 s₁} + e^{100 s₂}), the
   probability of "Good photo.": a number in [0, 1].

Several pairs (the official attribute configs, pyiqa's prompt ensemble) give the mean of the pairs' probabilities.
CLIP-IQA+ (:mod:`tfagiqa.methods.clipiqa.learned_prompts`) changes step 1 only: the prompts' words are surrounded
by learned context token embeddings. Both text features are constants of a scorer: they are computed once, when it
is built, and stored in its :class:`AntonymPromptScore` layer.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from tfagiqa.backbones.clip_resnet import CLIPResNetConfig, clip_resnet_trunk
from tfagiqa.backbones.clip_text import tokenize
from tfagiqa.layers.attention_pool import AttentionPool2d
from tfagiqa.layers.normalisation import CLIPNormalize

PROMPT_PAIRS = (("Good photo.", "Bad photo."),)  # the paper's (and official test config's) antonym pair
LOGIT_SCALE = 100.0  # exp(CLIP's logit_scale) for OpenAI's RN50 (CLIP clamps it at 100)


@keras.saving.register_keras_serializable(package="tfagiqa")
class PositionFreeAttentionPool(AttentionPool2d):
    """CLIP's AttentionPool2d without the positional embedding (CLIP-IQA's ``pos_embedding=False``): the mean token
    attends over [mean; h·w tokens] of any grid. The learned table is kept as a weight (so CLIP's weights load as
    they are) but not used."""

    def positional_embedding_for(self, h: int, w: int):
        return ops.zeros((1 + h * w, self.positional_embedding.shape[-1]), dtype=self.positional_embedding.dtype)


@keras.saving.register_keras_serializable(package="tfagiqa")
class AntonymPromptScore(keras.layers.Layer):
    """Image embeddings [N, E] → mean over the prompt pairs of softmax(scale · cos(x, [t_good, t_bad]))_good, [N].

    ``text_features`` [2·pairs, E] (good, bad, good, bad, …) is a constant weight, set once by the builder."""

    def __init__(self, pairs: int, embed_dim: int, logit_scale: float = LOGIT_SCALE, **kwargs):
        super().__init__(**kwargs)
        self.pairs, self.embed_dim, self.logit_scale = int(pairs), int(embed_dim), float(logit_scale)

    def build(self, input_shape):
        self.text_features = self.add_weight(name="text_features", shape=(2 * self.pairs, self.embed_dim),
                                             initializer=keras.initializers.RandomNormal(stddev=1.0), trainable=False)

    def call(self, image_embeddings):
        image = image_embeddings / ops.norm(image_embeddings, axis=-1, keepdims=True)
        text = self.text_features / ops.norm(self.text_features, axis=-1, keepdims=True)
        logits = self.logit_scale * ops.matmul(image, ops.transpose(text))
        probabilities = ops.softmax(ops.reshape(logits, (-1, self.pairs, 2)), axis=-1)
        return ops.mean(probabilities[:, :, 0], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def get_config(self):
        return {**super().get_config(), "pairs": self.pairs, "embed_dim": self.embed_dim,
                "logit_scale": self.logit_scale}


def image_encoder(config: CLIPResNetConfig, image_size: int, name: str = "clipiqa_image_encoder") -> keras.Model:
    """CLIP-normalised images [N, S, S, 3] at any S (a multiple of 32) → CLIP image embeddings, no positions."""
    trunk = clip_resnet_trunk(config, image_size)
    pool = PositionFreeAttentionPool(config.grid, config.num_heads, config.output_dim, name="attnpool")
    return keras.Model(trunk.input, pool(trunk.output), name=name)


def copy_image_weights(source: keras.Model, target: keras.Model) -> None:
    """Every weight of a CLIP RN50 image encoder (``clip_image_encoder`` or :func:`image_encoder`, any resolution)
    into another: the layers share their names and shapes, the positional table included."""
    for layer in source.layers:
        if layer.weights:
            target.get_layer(layer.name).set_weights(layer.get_weights())


def prompt_texts(pairs=PROMPT_PAIRS) -> list[str]:
    """The prompts in the order :class:`AntonymPromptScore` reads them: good, bad of each pair."""
    return [text for pair in pairs for text in pair]


def prompt_features(text_encoder: keras.Model, tokenizer: keras.layers.Layer, pairs=PROMPT_PAIRS) -> np.ndarray:
    """CLIP text embeddings [2·pairs, E] of the antonym prompts (``encode_text`` of their token ids)."""
    ids = tokenize(prompt_texts(pairs), tokenizer)
    return np.asarray(text_encoder(ids), dtype="float32")


def clipiqa_scorer(encoder: keras.Model, text_features: np.ndarray, logit_scale: float = LOGIT_SCALE,
                   name: str = "clipiqa_scorer") -> keras.Model:
    """The catalogue's contract: {"images": [N, S, S, 3] in [0, 255]} → {"quality": P("Good photo.") [N]}."""
    size = encoder.input_shape[1]
    images = keras.Input((size, size, 3), name="images")
    embeddings = encoder(CLIPNormalize(name="clip_normalize")(images))
    features = np.asarray(text_features, "float32")
    score = AntonymPromptScore(features.shape[0] // 2, features.shape[1], logit_scale, name="antonym_prompts")
    quality = keras.layers.Identity(name="quality")(score(embeddings))
    score.text_features.assign(features)
    return keras.Model({"images": images}, {"quality": quality}, name=name)
