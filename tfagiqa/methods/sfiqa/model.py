"""SF-IQA (Yu et al., CVPRW 2024): a quality branch Q(I), a similarity branch S(I, T) and a score fusion network.

Quality branch (§3.2, official ``swin_forward``): a 256-px SAMA view → SwinV2-T → the four stage maps, each
L2-normalised over channels, L2-pooled, dropped out (0.1) and average-pooled to 8×8 → concatenated (2112 channels)
→ the 2-layer fusion transformer (no residual around attention, sine position embedding on Q and K) → global mean
→ Linear(2112→768); the local feature is the global mean of the last stage (768); Q = Linear(1536→1).

Similarity branch (§3.3): PickScore (a CLIP ViT-H/14 built with keras-hub's ``CLIPBackbone``),
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
import numpy as np
from keras import ops

from tfagiqa.backbones.clip_vit import reset_position_ids
from tfagiqa.backbones.swinv2 import (SWINV2_TINY_W16_256, TINY_TEST, SwinV2Config, TorchViewTaps, imagenet_normalise,
                                      stage_name, swinv2_backbone)
from tfagiqa.errors import WeightsError
from tfagiqa.methods.sfiqa.fusion_transformer import FusionTransformerEncoder
from tfagiqa.methods.sfiqa.l2_pooling import L2Pooling
from tfagiqa.methods.sfiqa.score_fusion import FUSIONS, ScoreFusion
from tfagiqa.methods.sfiqa.similarity_score import CrossAttentionScore, ScaledCosineScore

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
PICKSCORE_HINT = ("Download the Hugging Face model yuvalkirstain/PickScore_v1 (config.json, model.safetensors or "
                  "pytorch_model.bin, vocab.json, merges.txt) into a folder and pass that folder as the PickScore weights.")


@dataclass(frozen=True)
class CLIPConfig:
    """A CLIP ViT (keras-hub ``CLIPVisionEncoder`` + ``CLIPTextEncoder``) and its projection."""

    patch_size: int = 14
    vision_hidden: int = 1280
    vision_layers: int = 32
    vision_heads: int = 16
    vision_intermediate: int = 5120
    image_size: int = 224
    vocab_size: int = 49408
    text_hidden: int = 1024
    text_layers: int = 24
    text_heads: int = 16
    text_intermediate: int = 4096
    context_length: int = 77
    projection_dim: int = 1024
    activation: str = "gelu"


PICKSCORE = CLIPConfig()  # laion CLIP-ViT-H-14 as PickScore_v1 fine-tunes it (SPEC §3.4)
TINY_CLIP = CLIPConfig(patch_size=8, vision_hidden=32, vision_layers=2, vision_heads=2, vision_intermediate=64,
                       image_size=32, vocab_size=512, text_hidden=32, text_layers=2, text_heads=2, text_intermediate=64,
                       context_length=16, projection_dim=32)


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
    normalised = ImageNetNormalise(name="imagenet_normalise")(images)
    q, _ = quality_head(backbone(normalised), config)
    return keras.Model({"images": images}, q, name="sfiqa_quality")


@keras.saving.register_keras_serializable(package="tfagiqa")
class ImageNetNormalise(keras.layers.Layer):
    """[0, 255] pixels → ImageNet mean/std (timm preprocessing)."""

    def call(self, x):
        return imagenet_normalise(x)


@keras.saving.register_keras_serializable(package="tfagiqa")
class CLIPNormalise(keras.layers.Layer):
    """[0, 255] pixels → CLIP mean/std (the PickScore processor after its resize and centre crop)."""

    def call(self, x):
        mean = ops.convert_to_tensor(np.array(CLIP_MEAN, "float32") * 255.0)
        std = ops.convert_to_tensor(np.array(CLIP_STD, "float32") * 255.0)
        return (x - mean) / std


# --- Similarity branch S(I, T) ------------------------------------------------------------------------------------

def clip_backbone(config: CLIPConfig = PICKSCORE):
    """A keras-hub ``CLIPBackbone`` in ``config``'s shape, randomly initialised."""
    import keras_hub

    vision = keras_hub.models.CLIPVisionEncoder(
        patch_size=config.patch_size, hidden_dim=config.vision_hidden, num_layers=config.vision_layers,
        num_heads=config.vision_heads, intermediate_dim=config.vision_intermediate,
        intermediate_activation=config.activation, image_shape=(config.image_size, config.image_size, 3))
    reset_position_ids(vision)  # keras-hub initialises them to 0: every patch would read position 0's embedding
    text = keras_hub.models.CLIPTextEncoder(
        vocabulary_size=config.vocab_size, embedding_dim=config.text_hidden, hidden_dim=config.text_hidden,
        num_layers=config.text_layers, num_heads=config.text_heads, intermediate_dim=config.text_intermediate,
        intermediate_activation=config.activation, max_sequence_length=config.context_length)
    return keras_hub.models.CLIPBackbone(vision_encoder=vision, text_encoder=text, projection_dim=config.projection_dim)


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
    image_embedding = clip.get_vision_embeddings(CLIPNormalise(name="clip_normalise")(images))
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
    stages = swinv2_backbone(config.swin)(ImageNetNormalise(name="imagenet_normalise")(images))
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

def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file as float32 numpy (F32/F16/BF16), without the safetensors package."""
    raw = Path(path).read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    body = memoryview(raw)[8 + size:]
    out = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        start, end = info["data_offsets"]
        chunk = np.frombuffer(body[start:end], dtype={"F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8"}[info["dtype"]])
        if info["dtype"] == "BF16":
            chunk = (chunk.astype(np.uint32) << 16).view(np.float32)
        out[key] = chunk.astype(np.float32).reshape(info["shape"])
    return out


def _hf_state(folder: Path) -> dict[str, np.ndarray]:
    if (folder / "model.safetensors").is_file():
        return read_safetensors(folder / "model.safetensors")
    if (folder / "pytorch_model.bin").is_file():
        from tfagiqa.torch_state import require_torch

        torch = require_torch()
        state = torch.load(str(folder / "pytorch_model.bin"), map_location="cpu", weights_only=True)
        return {k: v.float().numpy() for k, v in state.items()}
    raise WeightsError(f"{folder} has no model.safetensors or pytorch_model.bin. {PICKSCORE_HINT}")


def config_from_hf(hf: dict) -> CLIPConfig:
    """A CLIPConfig from a Hugging Face ``CLIPModel`` config.json."""
    v, t = hf["vision_config"], hf["text_config"]
    act = v.get("hidden_act", "quick_gelu")
    return CLIPConfig(patch_size=v["patch_size"], vision_hidden=v["hidden_size"], vision_layers=v["num_hidden_layers"],
                      vision_heads=v["num_attention_heads"], vision_intermediate=v["intermediate_size"],
                      image_size=v.get("image_size", 224), vocab_size=t.get("vocab_size", 49408),
                      text_hidden=t["hidden_size"], text_layers=t["num_hidden_layers"],
                      text_heads=t["num_attention_heads"], text_intermediate=t["intermediate_size"],
                      context_length=t.get("max_position_embeddings", 77), projection_dim=hf.get("projection_dim", 512),
                      activation="gelu" if act == "gelu" else "quick_gelu")


def _port_encoder_layer(layer, state: dict, prefix: str) -> None:
    """One HF ``CLIPEncoderLayer`` into keras-hub's (q/k/v/out per head, LayerNorms, MLP)."""
    heads, hidden = layer.num_heads, layer.hidden_dim
    attn = layer.attention
    for ours, theirs in (("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj")):
        dense = getattr(attn, f"_{ours}_dense")
        dense.kernel.assign(state[f"{prefix}.self_attn.{theirs}.weight"].T.reshape(hidden, heads, hidden // heads))
        dense.bias.assign(state[f"{prefix}.self_attn.{theirs}.bias"].reshape(heads, hidden // heads))
    attn._output_dense.kernel.assign(state[f"{prefix}.self_attn.out_proj.weight"].T.reshape(heads, hidden // heads, hidden))
    attn._output_dense.bias.assign(state[f"{prefix}.self_attn.out_proj.bias"])
    for ours, theirs in (("layer_norm_1", "layer_norm1"), ("layer_norm_2", "layer_norm2")):
        getattr(layer, ours).gamma.assign(state[f"{prefix}.{theirs}.weight"])
        getattr(layer, ours).beta.assign(state[f"{prefix}.{theirs}.bias"])
    for ours, theirs in (("dense_1", "fc1"), ("dense_2", "fc2")):
        getattr(layer, ours).kernel.assign(state[f"{prefix}.mlp.{theirs}.weight"].T)
        getattr(layer, ours).bias.assign(state[f"{prefix}.mlp.{theirs}.bias"])


def load_clip_state(clip, state: dict[str, np.ndarray]) -> None:
    """Copy a Hugging Face ``CLIPModel`` state dict into a keras-hub ``CLIPBackbone`` of the same shape."""
    v = clip.vision_encoder
    v.embedding.patch_embedding.kernel.assign(state["vision_model.embeddings.patch_embedding.weight"].transpose(2, 3, 1, 0))
    v.embedding.position_embedding.embeddings.assign(state["vision_model.embeddings.position_embedding.weight"])
    reset_position_ids(v)  # 0..n: a backbone not built by clip_backbone may still hold keras-hub's zeros
    v.embedding.class_embedding.assign(state["vision_model.embeddings.class_embedding"])
    for ours, theirs in ((v.pre_layer_norm, "pre_layrnorm"), (v.layer_norm, "post_layernorm")):
        ours.gamma.assign(state[f"vision_model.{theirs}.weight"])
        ours.beta.assign(state[f"vision_model.{theirs}.bias"])
    for i, layer in enumerate(v.encoder_layers):
        _port_encoder_layer(layer, state, f"vision_model.encoder.layers.{i}")
    t = clip.text_encoder
    t.embedding.token_embedding.embeddings.assign(state["text_model.embeddings.token_embedding.weight"])
    t.embedding.position_embedding.position_embeddings.assign(state["text_model.embeddings.position_embedding.weight"])
    for i, layer in enumerate(t.encoder_layers):
        _port_encoder_layer(layer, state, f"text_model.encoder.layers.{i}")
    t.layer_norm.gamma.assign(state["text_model.final_layer_norm.weight"])
    t.layer_norm.beta.assign(state["text_model.final_layer_norm.bias"])
    clip.vision_projection.kernel.assign(state["visual_projection.weight"].T)
    clip.text_projection.kernel.assign(state["text_projection.weight"].T)


def load_pickscore(folder: str | Path):
    """(CLIPBackbone with PickScore's weights, BPETokenizer, logit scale t) from a local HF folder, or WeightsError."""
    from tfagiqa.backbones.clip_text import BPETokenizer

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise WeightsError(f"no PickScore checkpoint at {folder} (config.json missing). {PICKSCORE_HINT}")
    config = config_from_hf(json.loads((folder / "config.json").read_text()))
    state = _hf_state(folder)
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
