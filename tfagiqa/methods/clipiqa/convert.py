"""CLIP-IQA+'s published learned prompts (pyiqa's ``CLIP-IQA+_learned_prompts-603f3273.pth``) → a complete scorer.

    tfagiqa convert clipiqa+ --torch CLIP-IQA+_learned_prompts-603f3273.pth --clip CLIP_DIR --out DIR

The .pth holds the 16 learned context token embeddings of the official CoOp ``PromptLearner`` (a [16, 512] tensor
saved with ``torch.save``; a state dict holding ``…prompt_learner.ctx`` is read too). With the CLIP RN50 of
``CLIP_DIR`` (``tfagiqa convert clip --bpe …``) the two learned prompts are encoded once
(:mod:`tfagiqa.methods.clipiqa.learned_prompts`). ``DIR`` is a ``clipiqa+`` preset (:mod:`tfagiqa.presets`):
``DIR/model.keras`` is the scorer ({"images" [N, S, S, 3] in [0, 255]} → {"quality"}, S = ``--image-size``, default
512), ``DIR/config.json`` records what it was made from.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tfagiqa.errors import WeightsError
from tfagiqa.torch_state import require_torch

HELP = "CLIP-IQA+ learned prompts (.pth) + a converted CLIP RN50 folder → DIR/model.keras (a complete scorer)"
PTH_HINT = ("The published context is CLIP-IQA+_learned_prompts-603f3273.pth from the v0.1-weights release of "
            "github.com/chaofengc/IQA-PyTorch.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--torch", required=True, help="the learned context: a tensor (or a state dict) saved by torch")
    parser.add_argument("--clip", required=True, help="a folder written by tfagiqa convert clip --bpe …")
    parser.add_argument("--out", required=True, help="output folder (a clipiqa+ preset: model.keras, config.json)")
    parser.add_argument("--image-size", type=int, default=None, help="the scorer's input size (default 512)")


def read_context(path: str | Path) -> np.ndarray:
    """The learned context as float32 numpy: a saved tensor, or the ``*ctx`` entry of a (nested) state dict."""
    torch = require_torch()
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no learned prompt file at {path}. {PTH_HINT}")
    try:
        value = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"cannot read {path} with torch.load ({type(exc).__name__}). {PTH_HINT}") from exc
    while isinstance(value, dict):
        found = [k for k in value if str(k).endswith("ctx")] or [k for k in ("params", "state_dict") if k in value]
        if not found:
            raise WeightsError(f"{path} holds a dict without a learned context (no key ending in 'ctx'). {PTH_HINT}")
        value = value[found[0]]
    if not hasattr(value, "detach"):
        raise WeightsError(f"{path} holds a {type(value).__name__}, not a tensor of context embeddings. {PTH_HINT}")
    return value.detach().float().cpu().numpy()


def convert(ctx: np.ndarray, clip_folder: str | Path, image_size: int | None = None):
    """The CLIP-IQA+ scorer and a JSON-ready record of it."""
    from tfagiqa.methods.clipiqa import learned_prompts, model
    from tfagiqa.methods.clipiqa.scorers import IMAGE_SIZE, load_clip

    source, vision, text_encoder, tokenizer, logit_scale = load_clip(clip_folder)
    features = learned_prompts.learned_prompt_features(text_encoder, tokenizer, ctx)
    encoder = model.image_encoder(vision, image_size or IMAGE_SIZE)
    model.copy_image_weights(source, encoder)
    scorer = model.clipiqa_scorer(encoder, features, logit_scale, name="clipiqa_plus_scorer")
    record = {"variant": "clipiqa+", "context_shape": list(ctx.shape), "logit_scale": logit_scale,
              "class_names": list(learned_prompts.CLASS_NAMES), "image_size": encoder.input_shape[1]}
    return scorer, record


def run(args: argparse.Namespace) -> int:
    """Read the context, encode the prompts, write a clipiqa+ preset (model.keras); say what was written."""
    from tfagiqa.methods.clipiqa.scorers import MODEL_FILE
    from tfagiqa.presets import conversion_source, save_preset

    scorer, record = convert(read_context(args.torch), args.clip, args.image_size)
    out = Path(args.out)
    save_preset(out, kind="clipiqa+", files={"model": scorer}, architecture=record,
                source=conversion_source("clipiqa+", args, torch=args.torch, clip=args.clip))
    print(f"wrote {out / MODEL_FILE} (CLIP-IQA+ scorer, {record['image_size']} px, context {record['context_shape']}; "
          f"clipiqa+ preset {out})")
    return 0
