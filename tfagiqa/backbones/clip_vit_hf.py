"""Hugging Face ``CLIPModel`` checkpoints (``config.json`` + ``model.safetensors`` or ``pytorch_model.bin``) read into
the package's CLIP ViT (:func:`tfagiqa.backbones.clip_vit.clip_backbone`, a keras-hub ``CLIPBackbone``).

PickScore is published in this layout; HPS's OpenAI/open_clip checkpoints are renamed into it by
:mod:`tfagiqa.methods.hps.convert` and loaded by :func:`load_clip_state` too.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tfagiqa.backbones.clip_vit import CLIPConfig, reset_position_ids
from tfagiqa.errors import WeightsError

SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8"}


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
        chunk = np.frombuffer(body[start:end], dtype=SAFETENSORS_DTYPES[info["dtype"]])
        if info["dtype"] == "BF16":
            chunk = (chunk.astype(np.uint32) << 16).view(np.float32)
        out[key] = chunk.astype(np.float32).reshape(info["shape"])
    return out


def read_hf_state(folder: Path, hint: str) -> dict[str, np.ndarray]:
    """The tensors of a Hugging Face model folder (safetensors first, else ``pytorch_model.bin``), or a
    :class:`WeightsError` saying ``hint`` (where the files come from)."""
    if (folder / "model.safetensors").is_file():
        return read_safetensors(folder / "model.safetensors")
    if (folder / "pytorch_model.bin").is_file():
        from tfagiqa.torch_state import require_torch

        torch = require_torch()
        state = torch.load(str(folder / "pytorch_model.bin"), map_location="cpu", weights_only=True)
        return {k: v.float().numpy() for k, v in state.items()}
    raise WeightsError(f"{folder} has no model.safetensors or pytorch_model.bin. {hint}")


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
