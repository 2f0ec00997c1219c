"""HPS checkpoints (OpenAI / open_clip CLIP state dicts) → keras-hub ``CLIPBackbone`` weights + CLIP's BPE.

    tfagiqa convert hps --torch hpc.pt --version v1 --bpe bpe_simple_vocab_16e6.txt.gz --out DIR
    tfagiqa convert hps --torch HPS_v2_compressed.pt --version v2 --bpe bpe_simple_vocab_16e6.txt.gz --out DIR

Writes an ``hps`` preset (:mod:`tfagiqa.presets`): ``DIR/clip.weights.h5`` (the backbone's weights),
``DIR/tokenizer/`` (vocab.json, merges.txt) and ``DIR/config.json`` (version and the CLIP configuration read from the
tensor shapes as its architecture, the command and the checkpoint's sha256 as its source). Both layouts are OpenAI's parameter
names (open_clip keeps them for ViT CLIPs): ``visual.conv1`` (patch embedding, no bias), ``visual.class_embedding``,
``visual.positional_embedding``, ``visual.ln_pre``, ``visual.transformer.resblocks.N.{ln_1, attn.in_proj_*,
attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}``, ``visual.ln_post``, ``visual.proj`` [W, E]; ``token_embedding``,
``positional_embedding``, ``transformer.resblocks.N.*``, ``ln_final``, ``text_projection`` [W, E]. They are renamed
to Hugging Face's ``CLIPModel`` names (the fused q/k/v projection split in three, the projections transposed) and
loaded by :func:`tfagiqa.backbones.clip_vit_hf.load_clip_state`, as SF-IQA's PickScore is.

Sizes come from the shapes; attention heads are not in the shapes: OpenAI's rule (width / 64) for v1 and the text
towers, open_clip's configured head width for v2's vision tower (80 for ViT-H/14's 1280 channels).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np

from tfagiqa.errors import WeightsError

HELP = "HPS v1 (hpc.pt) or v2 (HPS_v2*_compressed.pt) checkpoint → keras-hub CLIP weights + BPE tokenizer"
WEIGHTS_FILE, TOKENIZER_DIR = "clip.weights.h5", "tokenizer"
HINTS = {
    "v1": "HPS v1's checkpoint hpc.pt is linked from the README of github.com/tgxs002/align_sd (OneDrive).",
    "v2": "HPS v2's checkpoints HPS_v2_compressed.pt and HPS_v2.1_compressed.pt are on huggingface.co/xswu/HPSv2.",
}
BPE_HINT = "bpe_simple_vocab_16e6.txt.gz is in github.com/openai/CLIP (clip/) and in open_clip's package."
OPEN_CLIP_HEAD_WIDTH = {1280: 80, 1408: 88, 1664: 104}  # open_clip's ViT-H, ViT-g, ViT-bigG configs
IGNORED = ("logit_scale", "attn_mask", "input_resolution", "context_length", "vocab_size")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--torch", required=True, help="the HPS checkpoint (a dict with state_dict, or a state dict)")
    parser.add_argument("--version", required=True, choices=("v1", "v2"), help="v1 = hpc.pt, v2 = HPS_v2*.pt")
    parser.add_argument("--bpe", required=True, help="bpe_simple_vocab_16e6.txt.gz (CLIP's BPE merges)")
    parser.add_argument("--out", required=True, help="output folder")


def _count(state: dict, prefix: str) -> int:
    return len({m.group(1) for k in state for m in [re.match(rf"{re.escape(prefix)}(\d+)\.", k)] if m})


def config_from_state(state: dict[str, np.ndarray], version: str):
    """The :class:`~tfagiqa.backbones.clip_vit.CLIPConfig` of an OpenAI-layout ViT CLIP state dict."""
    from tfagiqa.backbones.clip_vit import CLIPConfig

    needed = ("visual.conv1.weight", "visual.positional_embedding", "visual.proj", "token_embedding.weight",
              "positional_embedding", "ln_final.weight", "text_projection")
    missing = [k for k in needed if k not in state]
    if missing:
        raise WeightsError(f"not an OpenAI/open_clip ViT CLIP state dict (no {', '.join(missing)}). "
                           f"{HINTS.get(version, '')}")
    patch_weight = state["visual.conv1.weight"]
    width, patch = patch_weight.shape[0], patch_weight.shape[-1]
    grid = round((state["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    text_width = state["ln_final.weight"].shape[0]
    vision_head_width = OPEN_CLIP_HEAD_WIDTH.get(width, 64) if version == "v2" else 64
    return CLIPConfig(
        patch_size=patch, vision_hidden=width, vision_layers=_count(state, "visual.transformer.resblocks."),
        vision_heads=max(1, width // vision_head_width),
        vision_intermediate=state["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0], image_size=patch * grid,
        vocab_size=state["token_embedding.weight"].shape[0], text_hidden=text_width,
        text_layers=_count(state, "transformer.resblocks."), text_heads=max(1, text_width // 64),
        text_intermediate=state["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
        context_length=state["positional_embedding"].shape[0], projection_dim=state["text_projection"].shape[1],
        activation="quick_gelu" if version == "v1" else "gelu")


def _block(state: dict, source: str, target: str, used: set) -> dict:
    """One residual attention block, OpenAI names → Hugging Face ``CLIPEncoderLayer`` names."""
    def take(key):
        used.add(f"{source}.{key}")
        return state[f"{source}.{key}"]

    out = {}
    for kind in ("weight", "bias"):
        for name, part in zip(("q_proj", "k_proj", "v_proj"), np.split(take(f"attn.in_proj_{kind}"), 3, axis=0)):
            out[f"{target}.self_attn.{name}.{kind}"] = part
        for theirs, ours in (("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"),
                             ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
            out[f"{target}.{ours}.{kind}"] = take(f"{theirs}.{kind}")
    return out


def to_hf_layout(state: dict[str, np.ndarray], config) -> dict[str, np.ndarray]:
    """The OpenAI-layout tensors under Hugging Face ``CLIPModel`` names; a WeightsError for a missing or an
    unexpected tensor (so that no weight is silently left out)."""
    used: set[str] = set()

    def take(key):
        if key not in state:
            raise WeightsError(f"the checkpoint lacks {key}")
        used.add(key)
        return state[key]

    try:
        hf = {"vision_model.embeddings.patch_embedding.weight": take("visual.conv1.weight"),
              "vision_model.embeddings.class_embedding": take("visual.class_embedding"),
              "vision_model.embeddings.position_embedding.weight": take("visual.positional_embedding"),
              "visual_projection.weight": take("visual.proj").T,
              "text_model.embeddings.token_embedding.weight": take("token_embedding.weight"),
              "text_model.embeddings.position_embedding.weight": take("positional_embedding"),
              "text_projection.weight": take("text_projection").T}
        for ours, theirs in (("vision_model.pre_layrnorm", "visual.ln_pre"), ("vision_model.post_layernorm",
                                                                                "visual.ln_post"),
                             ("text_model.final_layer_norm", "ln_final")):
            hf[f"{ours}.weight"], hf[f"{ours}.bias"] = take(f"{theirs}.weight"), take(f"{theirs}.bias")
        for i in range(config.vision_layers):
            hf.update(_block(state, f"visual.transformer.resblocks.{i}", f"vision_model.encoder.layers.{i}", used))
        for i in range(config.text_layers):
            hf.update(_block(state, f"transformer.resblocks.{i}", f"text_model.encoder.layers.{i}", used))
    except KeyError as exc:
        raise WeightsError(f"the checkpoint lacks {exc.args[0]}") from exc
    left = sorted(k for k in set(state) - used if k.split(".")[-1] not in IGNORED)
    if left:
        raise WeightsError(f"{len(left)} checkpoint tensor(s) have no place in CLIP, e.g. {left[:5]}")
    return hf


def convert(state: dict[str, np.ndarray], version: str):
    """(keras-hub CLIPBackbone with the checkpoint's weights, its CLIPConfig)."""
    from tfagiqa.backbones.clip_vit import clip_backbone
    from tfagiqa.backbones.clip_vit_hf import load_clip_state

    config = config_from_state(state, version)
    clip = clip_backbone(config)
    try:
        load_clip_state(clip, to_hf_layout(state, config))
    except (KeyError, ValueError) as exc:
        raise WeightsError(f"the checkpoint does not fit a CLIP of its own shapes: {exc}") from exc
    return clip, config


def run(args: argparse.Namespace) -> int:
    """Convert; write an hps preset (the CLIP's weights, the tokenizer, version and configuration); say what was
    written."""
    from tfagiqa.backbones.clip_text import BPETokenizer
    from tfagiqa.presets import Weights, conversion_source, save_preset
    from tfagiqa.torch_state import read_torch_state

    state = read_torch_state(args.torch, HINTS[args.version])
    clip, config = convert(state, args.version)
    tokenizer = BPETokenizer.from_bpe(args.bpe, config.context_length)
    if len(tokenizer.vocabulary) > config.vocab_size:
        raise WeightsError(f"{args.bpe} has {len(tokenizer.vocabulary)} tokens, the checkpoint {config.vocab_size}: "
                           f"not the BPE this CLIP was trained with. {BPE_HINT}")
    out = Path(args.out)
    architecture = {"version": args.version, "config": asdict(config)}
    save_preset(out, kind="hps", files={"clip": Weights(clip)}, assets={TOKENIZER_DIR: tokenizer},
                architecture=architecture, source=conversion_source("hps", args, torch=args.torch, bpe=args.bpe))
    print(f"wrote {out / WEIGHTS_FILE} and {out / TOKENIZER_DIR}/ (HPS {args.version}, "
          f"{config.image_size} px, {config.vision_layers}-layer ViT, patch {config.patch_size}; hps preset {out})")
    return 0


def load_converted(folder: str | Path):
    """(CLIPBackbone with the HPS weights, BPETokenizer, version) from an hps preset (or a folder ``tfagiqa convert
    hps`` wrote before presets)."""
    from tfagiqa.backbones.clip_text import BPETokenizer
    from tfagiqa.backbones.clip_vit import CLIPConfig, clip_backbone
    from tfagiqa.presets import load_preset

    preset = load_preset(folder, kind="hps")
    config = CLIPConfig(**preset.architecture["config"])
    clip = clip_backbone(config)
    weights = preset.path("clip")
    try:
        clip.load_weights(weights)
    except Exception as exc:
        raise WeightsError(f"cannot load {weights} into a CLIP of the preset's configuration: {exc}") from exc
    return clip, BPETokenizer.load(preset.path(TOKENIZER_DIR), config.context_length), preset.architecture["version"]
