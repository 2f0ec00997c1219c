"""OpenAI CLIP ResNet checkpoint (``RN50.pt``: TorchScript archive or plain state dict) → Keras encoders.

    tfagiqa convert clip --torch RN50.pt [--bpe bpe_simple_vocab_16e6.txt.gz] --out DIR

writes a ``clip-rn50`` preset (:mod:`tfagiqa.presets`): ``DIR/image_encoder.keras`` (float32 NHWC images at the
checkpoint's resolution, normalised with CLIP's mean and std → ``encode_image``), ``DIR/text_encoder.keras`` (int32
ids [N, context_length] → ``encode_text``), with ``--bpe`` ``DIR/tokenizer/``, and ``DIR/config.json`` (both
configurations and ``logit_scale`` as its architecture; the command and the checkpoint's sha256 as its source).
The configuration is read from the tensor shapes, as CLIP's own ``build_model`` does.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

from tfagiqa.backbones.clip_resnet import CLIPResNetConfig, clip_image_encoder
from tfagiqa.backbones.clip_text import BPETokenizer, CLIPTextConfig, clip_text_encoder
from tfagiqa.layers.attention_pool import AttentionPool2d
from tfagiqa.torch_state import read_torch_state, require_torch, state_to_numpy
from tfagiqa.errors import WeightsError

HELP = "OpenAI CLIP ResNet checkpoint (RN50.pt) → image_encoder.keras + text_encoder.keras"
DOWNLOAD_HINT = ("Download RN50.pt from the URL in openai/CLIP clip/clip.py (_MODELS['RN50']) and pass it with "
                 "--torch; tests and smoke runs use random initialisation instead.")
IMAGE_FILE, TEXT_FILE = "image_encoder.keras", "text_encoder.keras"
TOKENIZER_DIR = "tokenizer"


def add_arguments(parser) -> None:
    parser.add_argument("--torch", required=True, help="RN50.pt (TorchScript archive) or a plain state dict (.pt/.pth)")
    parser.add_argument("--bpe", default=None, help="bpe_simple_vocab_16e6.txt.gz, to write the matching tokenizer")
    parser.add_argument("--out", required=True, help="output folder")


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of a TorchScript archive or a (possibly wrapped) state dict, as float32 numpy arrays."""
    torch = require_torch()
    try:
        return state_to_numpy(torch.jit.load(str(path), map_location="cpu").state_dict(), path)
    except (RuntimeError, ValueError):
        return read_torch_state(path, DOWNLOAD_HINT)


def configs_from_state(state: dict[str, np.ndarray]) -> tuple[CLIPResNetConfig, CLIPTextConfig]:
    """Vision and text configurations read from the tensor shapes (CLIP's ``build_model``)."""
    if "visual.layer1.0.conv1.weight" not in state:
        raise WeightsError("not a CLIP ResNet checkpoint (no visual.layer1.0.conv1.weight); ViT CLIP checkpoints are "
                           "served by keras-hub's CLIP models")
    width = state["visual.layer1.0.conv1.weight"].shape[0]
    layers = tuple(len({k.split(".")[2] for k in state if k.startswith(f"visual.layer{b}.")}) for b in (1, 2, 3, 4))
    grid = round(math.sqrt(state["visual.attnpool.positional_embedding"].shape[0] - 1))
    embed_dim = state["text_projection"].shape[1]
    vision = CLIPResNetConfig(layers, width, state["visual.attnpool.c_proj.weight"].shape[0], grid * 32)
    text_width = state["ln_final.weight"].shape[0]
    text = CLIPTextConfig(
        vocab_size=state["token_embedding.weight"].shape[0], context_length=state["positional_embedding"].shape[0],
        width=text_width, heads=max(1, text_width // 64),
        layers=len({k.split(".")[2] for k in state if k.startswith("transformer.resblocks.")}), embed_dim=embed_dim)
    return vision, text


def _torch_prefix(layer_name: str) -> str:
    """Keras layer name → PyTorch module path: ``layer1_0_downsample_0`` → ``layer1.0.downsample.0``."""
    return layer_name.replace("_", ".")


def take(state: dict, key: str) -> np.ndarray:
    """``state[key]``, or a WeightsError naming the missing tensor."""
    if key not in state:
        raise WeightsError(f"the checkpoint lacks {key}")
    return state[key]


def load_image_weights(encoder: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Assign ``visual.*`` tensors to an encoder built by ``clip_image_encoder`` or ``clip_resnet_trunk`` (conv
    kernels OIHW → HWIO)."""
    for layer in encoder.layers:
        if isinstance(layer, keras.layers.Conv2D):
            layer.set_weights([take(state, f"visual.{_torch_prefix(layer.name)}.weight").transpose(2, 3, 1, 0)])
        elif isinstance(layer, keras.layers.BatchNormalization):
            p = f"visual.{_torch_prefix(layer.name)}"
            layer.set_weights([take(state, f"{p}.{n}") for n in ("weight", "bias", "running_mean", "running_var")])
        elif layer.name == "attnpool":
            load_attention_pool(layer, state, "visual.attnpool")


def load_attention_pool(layer: AttentionPool2d, state: dict[str, np.ndarray], prefix: str) -> None:
    """Assign an ``AttentionPool2d``'s tensors (``{prefix}.positional_embedding``, ``q/k/v/c_proj``; Linear
    weights transposed) to ``layer``."""
    layer.positional_embedding.assign(take(state, f"{prefix}.positional_embedding"))
    for short, torch_name in (("q", "q_proj"), ("k", "k_proj"), ("v", "v_proj"), ("c", "c_proj")):
        getattr(layer, f"{short}_kernel").assign(take(state, f"{prefix}.{torch_name}.weight").T)
        getattr(layer, f"{short}_bias").assign(take(state, f"{prefix}.{torch_name}.bias"))


def load_text_weights(encoder: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Assign the text tower's tensors (token/positional embedding, resblocks, ln_final, text_projection)."""
    embedding = encoder.get_layer("embedding")
    embedding.token_embedding.assign(take(state, "token_embedding.weight"))
    embedding.positional_embedding.assign(take(state, "positional_embedding"))
    for layer in encoder.layers:
        if layer.name.startswith("resblocks_"):
            p = f"transformer.resblocks.{layer.name.split('_')[1]}"
            pairs = (("ln_1", "ln_1"), ("in_proj", "attn.in_proj"), ("out_proj", "attn.out_proj"), ("ln_2", "ln_2"),
                     ("c_fc", "mlp.c_fc"), ("c_proj", "mlp.c_proj"))
            for keras_name, torch_name in pairs:
                sub = getattr(layer, keras_name)
                if keras_name == "in_proj":
                    weight, bias = take(state, f"{p}.attn.in_proj_weight"), take(state, f"{p}.attn.in_proj_bias")
                else:
                    weight, bias = take(state, f"{p}.{torch_name}.weight"), take(state, f"{p}.{torch_name}.bias")
                sub.set_weights([weight if keras_name.startswith("ln") else weight.T, bias])
    encoder.get_layer("ln_final").set_weights([take(state, "ln_final.weight"), take(state, "ln_final.bias")])
    encoder.get_layer("text_projection").text_projection.assign(take(state, "text_projection"))
    if embedding.qa_token:
        embedding.reset_qa_token()


def convert_state(state: dict[str, np.ndarray]) -> tuple[keras.Model, keras.Model, dict]:
    """(image encoder, text encoder, config dict) with the checkpoint's weights."""
    vision, text = configs_from_state(state)
    image_encoder = clip_image_encoder(vision)
    load_image_weights(image_encoder, state)
    text_encoder = clip_text_encoder(text)
    load_text_weights(text_encoder, state)
    logit_scale = float(np.asarray(state.get("logit_scale", np.log(1 / 0.07))).reshape(-1)[0])
    config = {"vision": vision.to_dict(), "text": text.to_dict(), "logit_scale": logit_scale}
    return image_encoder, text_encoder, config


def run(args) -> int:
    """Convert; write a clip-rn50 preset: both encoders, the configuration and (with --bpe) the tokenizer."""
    from tfagiqa.presets import conversion_source, save_preset

    out = Path(args.out)
    image_encoder, text_encoder, config = convert_state(read_state_dict(args.torch))
    tokenizer = BPETokenizer.from_bpe(args.bpe, config["text"]["context_length"]) if args.bpe else None
    save_preset(out, kind="clip-rn50", files={"image_encoder": image_encoder, "text_encoder": text_encoder},
                assets={TOKENIZER_DIR: tokenizer} if tokenizer else {}, architecture=config,
                source=conversion_source("clip", args, torch=args.torch, bpe=args.bpe))
    print(f"wrote {out / IMAGE_FILE} ({config['vision']['image_size']} px) and {out / TEXT_FILE}"
          + (f" and {out / TOKENIZER_DIR}/" if args.bpe else "") + f" (clip-rn50 preset {out})")
    return 0


def load_converted(folder: str | Path) -> tuple[keras.Model, keras.Model, dict]:
    """(image encoder, text encoder, config) of a clip-rn50 preset (or a folder ``tfagiqa convert clip`` wrote
    before presets)."""
    from tfagiqa.presets import load_preset

    preset = load_preset(folder, kind="clip-rn50")
    return preset.load("image_encoder"), preset.load("text_encoder"), dict(preset.architecture)


def load_tokenizer(folder: str | Path) -> BPETokenizer:
    """The BPE tokenizer of a clip-rn50 preset; a WeightsError when it was converted without ``--bpe``."""
    from tfagiqa.presets import load_preset

    preset = load_preset(folder, kind="clip-rn50")
    if TOKENIZER_DIR not in preset.assets:
        raise WeightsError(f"{preset.folder} has no tokenizer/: convert again with --bpe bpe_simple_vocab_16e6.txt.gz "
                           "(CLIP's weights need CLIP's BPE ids)")
    return BPETokenizer.load(preset.path(TOKENIZER_DIR), preset.architecture["text"]["context_length"])
