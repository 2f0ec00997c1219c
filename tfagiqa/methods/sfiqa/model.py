"""SF-IQA (Yu et al., CVPRW 2024): a quality branch Q(I), a similarity branch S(I, T) and a score fusion network.

Quality branch (§3.2, official ``swin_forward``): a 256-px SAMA view → SwinV2-T → the four stage maps, each
L2-normalised over channels, L2-pooled, dropped out (0.1) and average-pooled to 8×8 → concatenated (2112 channels)
→ the 2-layer fusion transformer (no residual around attention, sine position embedding on Q and K) → global mean
→ Linear(2112→768); the local feature is the global mean of the last stage (768); Q = Linear(1536→1).

Similarity branch (§3.3): PickScore (a CLIP ViT-H/14, :func:`tfagiqa.backbones.clip_vit.clip_backbone`),
``S = exp(t)·cos(E_txt(T), E_img(I))``. Score fusion (§3.4): ``[Q, S]`` → MLP → P (the paper's one hidden layer,
or the official code's 2→10→10→1).

Ablations: Table 3's *detached* image semantic features (taken from the quality branch's own backbone instead of
an independent CLIP image encoder) and Table 4's cross-attention similarity (image embedding as query over the
text token features, then a linear layer).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
from keras import ops

from tfagiqa.backbones.clip_vit import TINY_CLIP, VIT_H14, CLIPConfig, clip_backbone
from tfagiqa.backbones.clip_vit_hf import config_from_hf, load_clip_state, read_hf_state
from tfagiqa.backbones.swinv2 import (SWINV2_TINY_W16_256, TINY_TEST, SwinV2Config, TorchViewTaps, stage_name,
                                      swinv2_backbone)
from tfagiqa.errors import WeightsError
from tfagiqa.layers.normalisation import CLIPNormalize, ImageNetNormalize
from tfagiqa.methods.sfiqa.fusion_transformer import FusionTransformerEncoder
from tfagiqa.methods.sfiqa.l2_pooling import L2Pooling
from tfagiqa.methods.sfiqa.score_fusion import FUSIONS, ScoreFusion
from tfagiqa.methods.sfiqa.similarity_score import CrossAttentionScore, ScaledCosineScore

PICKSCORE_HINT = ("Download the Hugging Face model yuvalkirstain/PickScore_v1 (config.json, model.safetensors or "
                  "pytorch_model.bin, vocab.json, merges.txt) into a folder and pass that folder as the PickScore weights.")
PICKSCORE = VIT_H14  # laion CLIP-ViT-H-14 as PickScore_v1 fine-tunes it (SPEC §3.4)


@dataclass(frozen=True)
class SFIQAConfig:
    """Everything that shapes an SF-IQA model; ``feature_layout="torch_view"`` reproduces the reference's
    ``.view(b, C, H, W)`` on tokens (only meaningful with weights trained by the reference code)."""

    swin: SwinV2Config = SWINV2_TINY_W16_256
    clip: CLIPConfig = PICKSCORE
    fusion_heads: int = 16
    fusion_layers: int = 2
    fusion_ff: int = 64
    fusion_dropout: float = 0.5
    tap_dropout: float = 0.1
    feature_layout: str = "permute"
    score_fusion: str = "code"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["swin"] = self.swin.to_dict()
        return d


PAPER = SFIQAConfig()
TINY = SFIQAConfig(swin=TINY_TEST, clip=TINY_CLIP)


# --- Quality branch Q(I) ------------------------------------------------------------------------------------------

def multilevel_features(stages: dict, config: SFIQAConfig):
    """The four stage maps → L2-normalise → L2 pooling → dropout → average-pool to the last stage's grid → concat."""
    side = config.swin.stage_sides()[-1]
    taps = []
    for i in range(len(config.swin.depths)):
        x = stages[stage_name(i)]
        if config.feature_layout == "torch_view":
            x = TorchViewTaps(name=f"view_{i + 1}")(x)
        x = keras.layers.UnitNormalization(axis=-1, name=f"l2norm_{i + 1}")(x)
        x = L2Pooling(name=f"l2pool_{i + 1}")(x)
        x = keras.layers.Dropout(config.tap_dropout, name=f"tap_dropout_{i + 1}")(x)
        factor = config.swin.stage_sides()[i] // side
        if factor > 1:
            x = keras.layers.AveragePooling2D(factor, name=f"avgpool_{i + 1}")(x)
        taps.append(x)
    return keras.layers.Concatenate(name="multilevel")(taps)


def quality_head(stages: dict, config: SFIQAConfig):
    """Global (fusion transformer → mean → fc2) and local (last stage mean) features → Q."""
    fused = FusionTransformerEncoder(config.fusion_heads, config.fusion_layers, config.fusion_ff, config.fusion_dropout,
                                     name="fusion_transformer")(multilevel_features(stages, config))
    channels = config.swin.stage_channels()[-1]
    global_feature = keras.layers.Dense(channels, name="fc2")(keras.layers.GlobalAveragePooling2D(name="avg_global")(fused))
    local_feature = keras.layers.GlobalAveragePooling2D(name="avg_local")(stages[stage_name(len(config.swin.depths) - 1)])
    joint = keras.layers.Concatenate(name="global_local")([global_feature, local_feature])
    return keras.layers.Dense(1, name="quality")(joint), local_feature


def quality_model(config: SFIQAConfig = PAPER, backbone: keras.Model | None = None) -> keras.Model:
    """{"images": SAMA views [N, S, S, 3] in [0, 255]} → Q [N, 1]."""
    backbone = backbone or swinv2_backbone(config.swin)
    images = keras.Input((config.swin.image_size, config.swin.image_size, 3), name="images")
    normalised = ImageNetNormalize(name="imagenet_normalise")(images)
    q, _ = quality_head(backbone(normalised), config)
    return keras.Model({"images": images}, q, name="sfiqa_quality")


# --- Similarity branch S(I, T) ------------------------------------------------------------------------------------

def text_tokens(clip, token_ids):
    """Per-token text features in the joint space ([N, L, D]): the encoder's sequence through the text projection."""
    sequence = clip.text_encoder({"token_ids": token_ids})
    return clip.text_projection(sequence)


def similarity_model(config: SFIQAConfig = PAPER, clip=None, head: str = "inner_product",
                     logit_scale: float | None = None) -> keras.Model:
    """{"images": [N, s, s, 3] in [0, 255] (CLIP resolution), "token_ids": int32 [N, L]} → S [N, 1].

    ``head``: ``inner_product`` (eq. 2; ``logit_scale`` = PickScore's learned t when loaded) or ``cross_attention``.
    """
    clip = clip or clip_backbone(config.clip)
    size = config.clip.image_size
    images = keras.Input((size, size, 3), name="images")
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    image_embedding = clip.get_vision_embeddings(CLIPNormalize(name="clip_normalise")(images))
    if head == "inner_product":
        scorer = ScaledCosineScore(name="similarity")
        s = scorer(image_embedding, clip.get_text_embeddings(token_ids))
        if logit_scale is not None:
            scorer.logit_scale.assign(logit_scale)
    elif head == "cross_attention":
        mask = TokenMask(name="token_mask")(token_ids)
        s = CrossAttentionScore(name="similarity")(image_embedding, text_tokens(clip, token_ids), mask)
    else:
        raise ValueError(f"unknown similarity head {head!r}; use inner_product or cross_attention")
    return keras.Model({"images": images, "token_ids": token_ids}, s, name=f"sfiqa_similarity_{head}")


@keras.saving.register_keras_serializable(package="tfagiqa")
class TokenMask(keras.layers.Layer):
    """int token ids → boolean mask of real tokens (id ≠ 0)."""

    def call(self, token_ids):
        return ops.not_equal(token_ids, 0)


def detached_model(config: SFIQAConfig = PAPER, clip=None) -> keras.Model:
    """Table 3's detached ISFE: one SwinV2 serves both branches; the image semantic feature is a projection of the
    quality branch's local feature, scored against PickScore's text embedding; Q and S are fused inside.

    Inputs {"images": SAMA views in [0, 255], "token_ids"} → fused P [N, 1] (trained end to end on the MOS).
    """
    clip = clip or clip_backbone(config.clip)
    images = keras.Input((config.swin.image_size, config.swin.image_size, 3), name="images")
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    stages = swinv2_backbone(config.swin)(ImageNetNormalize(name="imagenet_normalise")(images))
    q, local_feature = quality_head(stages, config)
    semantic = keras.layers.Dense(config.clip.projection_dim, name="semantic_projection")(local_feature)
    s = ScaledCosineScore(name="similarity")(semantic, clip.get_text_embeddings(token_ids))
    pair = keras.layers.Concatenate(name="q_s")([q, s])
    fused = ScoreFusion(FUSIONS[config.score_fusion], name="score_fusion")(pair)
    return keras.Model({"images": images, "token_ids": token_ids}, fused, name="sfiqa_detached_isfe")


# --- Score fusion -------------------------------------------------------------------------------------------------

def fusion_model(kind: str = "code") -> keras.Model:
    """[N, 2] = (Q, S) → P [N, 1]: ``paper`` (one hidden layer) or ``code`` (2→10→10→1)."""
    if kind not in FUSIONS:
        raise ValueError(f"unknown fusion {kind!r}; choose from {sorted(FUSIONS)}")
    scores = keras.Input((2,), name="scores")
    return keras.Model(scores, ScoreFusion(FUSIONS[kind], name="score_fusion")(scores), name=f"sfiqa_fusion_{kind}")


def checkpoint_average(models: list[keras.Model], name: str = "sfiqa_average") -> keras.Model:
    """The official inference's ensemble: the same inputs through several checkpoints, predictions averaged."""
    if not models:
        raise ValueError("checkpoint_average needs at least one model")
    spec = models[0].input
    if isinstance(spec, dict):
        inputs = {k: keras.Input(v.shape[1:], dtype=v.dtype, name=k) for k, v in spec.items()}
    else:
        inputs = keras.Input(spec.shape[1:], dtype=spec.dtype, name="inputs")
    for i, model in enumerate(models):
        model.name = f"checkpoint_{i + 1}"  # checkpoints of one architecture share a name; a graph needs distinct ones
    outputs = [m(inputs, training=False) for m in models]  # an inference ensemble: never dropout
    out = outputs[0] if len(outputs) == 1 else keras.layers.Average(name="average")(outputs)
    return keras.Model(inputs, out, name=name)


# --- PickScore from a local Hugging Face folder --------------------------------------------------------------------

def load_pickscore(folder: str | Path):
    """(CLIPBackbone with PickScore's weights, BPETokenizer, logit scale t) from a local HF folder, or WeightsError."""
    from tfagiqa.backbones.clip_text import BPETokenizer

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise WeightsError(f"no PickScore checkpoint at {folder} (config.json missing). {PICKSCORE_HINT}")
    config = config_from_hf(json.loads((folder / "config.json").read_text()))
    state = read_hf_state(folder, PICKSCORE_HINT)
    clip = clip_backbone(config)
    try:
        load_clip_state(clip, state)
    except (KeyError, ValueError) as exc:
        raise WeightsError(f"{folder} does not match a CLIPModel of its config.json: {exc}") from exc
    try:
        vocabulary = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        merges = [m for m in (folder / "merges.txt").read_text(encoding="utf-8").splitlines()
                  if m and not m.startswith("#version")]
    except OSError as exc:
        raise WeightsError(f"{folder}: the tokenizer files vocab.json and merges.txt are needed. {PICKSCORE_HINT}") from exc
    tokenizer = BPETokenizer(vocabulary, merges, context_length=config.context_length)
    return clip, tokenizer, float(state["logit_scale"].reshape(()))
