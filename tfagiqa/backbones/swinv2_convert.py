"""timm SwinV2 checkpoint (``swinv2_tiny_patch4_window16_256.pth``, timm 0.6.13 layout) → Keras SwinV2 backbone.

    tfagiqa convert swinv2 --torch swinv2_tiny_patch4_window16_256.pth --out DIR

writes a ``swinv2`` preset (:mod:`tfagiqa.presets`): ``DIR/swinv2.weights.h5`` (weights of
:func:`tfagiqa.backbones.swinv2.swinv2_backbone`) and ``DIR/config.json`` (the configuration as its architecture);
``experiments/run_sfiqa.py --weights DIR`` picks them up.
The architecture is read from the tensor shapes; the classifier head and the final norm are not used by SF-IQA and
are skipped. Only ``pretrained_window_size=0`` models are supported: a checkpoint that keeps its
``relative_coords_table`` (the release files do) is checked for that; one saved by timm's ``state_dict()``, which
drops the table, cannot be.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from tfagiqa.backbones.swinv2 import SwinV2Config, relative_coords_table, swinv2_backbone
from tfagiqa.torch_state import read_torch_state
from tfagiqa.errors import WeightsError

HELP = "timm SwinV2 checkpoint (swinv2_tiny_patch4_window16_256.pth) → swinv2.weights.h5 for SF-IQA"
DOWNLOAD_HINT = ("Download swinv2_tiny_patch4_window16_256.pth (timm / microsoft Swin-Transformer release, linked "
                 "from the Travois/SF-IQA README) and pass it with --torch.")
WEIGHTS_FILE = "swinv2.weights.h5"


def add_arguments(parser) -> None:
    parser.add_argument("--torch", required=True, help="the timm SwinV2 checkpoint (.pth state dict)")
    parser.add_argument("--image-size", type=int, default=256, help="input resolution the model was trained at")
    parser.add_argument("--window-size", type=int, default=None,
                        help="attention window; only needed when the checkpoint holds no position index or mask")
    parser.add_argument("--out", required=True, help="output folder")


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The checkpoint's tensors as float32 numpy arrays (unwrapping ``model`` / ``state_dict`` containers)."""
    return read_torch_state(path, DOWNLOAD_HINT)


def window_from_state(state: dict[str, np.ndarray], window_size: int | None = None) -> int:
    """The attention window: from the relative position index ([w⁴]) where the checkpoint keeps it (Microsoft's
    release files), else from a shifted block's attention mask ([windows, w², w²]; timm 0.6.13's ``state_dict()``
    keeps no index), else ``window_size``. A given ``window_size`` that disagrees with the checkpoint is refused."""
    index = state.get("layers.0.blocks.0.attn.relative_position_index")
    masks = [v for k, v in state.items() if k.endswith(".attn_mask") and v.ndim == 3]
    found = int(math.isqrt(index.shape[0])) if index is not None else (
        int(math.isqrt(masks[0].shape[-1])) if masks else None)
    if found is None and window_size is None:
        raise WeightsError("the checkpoint keeps no relative_position_index and no attn_mask to read the window "
                           "size from: pass --window-size (e.g. 16 for swinv2_tiny_window16_256)")
    if found is not None and window_size is not None and found != window_size:
        raise WeightsError(f"--window-size {window_size} disagrees with the checkpoint's window {found}")
    return found or window_size


def config_from_state(state: dict[str, np.ndarray], image_size: int = 256,
                      window_size: int | None = None) -> SwinV2Config:
    """SwinV2Config from tensor shapes: embed dim and patch from the stem, depths by counting blocks, heads from
    the logit scales, window from :func:`window_from_state`, CPB width from its first layer."""
    if "patch_embed.proj.weight" not in state or "layers.0.blocks.0.attn.logit_scale" not in state:
        raise WeightsError("not a timm SwinV2 checkpoint (no patch_embed.proj.weight / attn.logit_scale)")
    stages = sorted({int(k.split(".")[1]) for k in state if k.startswith("layers.")})
    depths = tuple(len({k.split(".")[3] for k in state if k.startswith(f"layers.{i}.blocks.")}) for i in stages)
    heads = tuple(state[f"layers.{i}.blocks.0.attn.logit_scale"].shape[0] for i in stages)
    proj = state["patch_embed.proj.weight"]
    return SwinV2Config(image_size=image_size, patch_size=proj.shape[-1], embed_dim=proj.shape[0], depths=depths,
                        num_heads=heads, window_size=window_from_state(state, window_size),
                        mlp_ratio=state["layers.0.blocks.0.mlp.fc1.weight"].shape[0] / proj.shape[0],
                        cpb_hidden=state["layers.0.blocks.0.attn.cpb_mlp.0.weight"].shape[0])


def _set(variable, value: np.ndarray, key: str) -> None:
    if tuple(variable.shape) != tuple(value.shape):
        raise WeightsError(f"{key}: checkpoint shape {value.shape} does not fit {tuple(variable.shape)}")
    variable.assign(value.astype(np.float32))


def load_timm_state(model, state: dict[str, np.ndarray]) -> None:
    """Copy a timm SwinV2 state dict into a backbone built by ``swinv2_backbone`` (PyTorch Linear → kernel.T)."""
    conv = model.get_layer("patch_embed_proj")
    _set(conv.kernel, state["patch_embed.proj.weight"].transpose(2, 3, 1, 0), "patch_embed.proj.weight")
    _set(conv.bias, state["patch_embed.proj.bias"], "patch_embed.proj.bias")
    norm = model.get_layer("patch_embed_norm")
    _set(norm.gamma, state["patch_embed.norm.weight"], "patch_embed.norm.weight")
    _set(norm.beta, state["patch_embed.norm.bias"], "patch_embed.norm.bias")
    for layer in model.layers:
        prefix = layer.name.replace("_blocks_", ".blocks.").replace("_downsample", ".downsample").replace("layers_", "layers.")
        if layer.name.startswith("layers_") and "_blocks_" in layer.name:
            _load_block(layer, state, prefix)
        elif layer.name.endswith("_downsample"):
            _set(layer.reduction.kernel, state[f"{prefix}.reduction.weight"].T, f"{prefix}.reduction.weight")
            _set(layer.norm.gamma, state[f"{prefix}.norm.weight"], f"{prefix}.norm.weight")
            _set(layer.norm.beta, state[f"{prefix}.norm.bias"], f"{prefix}.norm.bias")


def _load_block(block, state: dict[str, np.ndarray], prefix: str) -> None:
    a, p = block.attn, f"{prefix}.attn"
    table = state.get(f"{p}.relative_coords_table")
    if table is not None and not np.allclose(table.reshape(-1, 2), relative_coords_table(a.window_size), atol=1e-5):
        raise WeightsError(f"{p}: the checkpoint's position table was built with a pretrained window size; "
                           "only pretrained_window_size=0 models (swinv2_*_window*_256) are supported")
    _set(a.qkv_kernel, state[f"{p}.qkv.weight"].T, f"{p}.qkv.weight")
    _set(a.q_bias, state[f"{p}.q_bias"], f"{p}.q_bias")
    _set(a.v_bias, state[f"{p}.v_bias"], f"{p}.v_bias")
    _set(a.logit_scale, state[f"{p}.logit_scale"].reshape(-1), f"{p}.logit_scale")
    _set(a.cpb_kernel1, state[f"{p}.cpb_mlp.0.weight"].T, f"{p}.cpb_mlp.0.weight")
    _set(a.cpb_bias1, state[f"{p}.cpb_mlp.0.bias"], f"{p}.cpb_mlp.0.bias")
    _set(a.cpb_kernel2, state[f"{p}.cpb_mlp.2.weight"].T, f"{p}.cpb_mlp.2.weight")
    _set(a.proj_kernel, state[f"{p}.proj.weight"].T, f"{p}.proj.weight")
    _set(a.proj_bias, state[f"{p}.proj.bias"], f"{p}.proj.bias")
    for ours, theirs in (("norm1", "norm1"), ("norm2", "norm2")):
        _set(getattr(block, ours).gamma, state[f"{prefix}.{theirs}.weight"], f"{prefix}.{theirs}.weight")
        _set(getattr(block, ours).beta, state[f"{prefix}.{theirs}.bias"], f"{prefix}.{theirs}.bias")
    for ours in ("fc1", "fc2"):
        _set(getattr(block, ours).kernel, state[f"{prefix}.mlp.{ours}.weight"].T, f"{prefix}.mlp.{ours}.weight")
        _set(getattr(block, ours).bias, state[f"{prefix}.mlp.{ours}.bias"], f"{prefix}.mlp.{ours}.bias")


def convert(state: dict[str, np.ndarray], image_size: int = 256, window_size: int | None = None):
    """(Keras backbone with the checkpoint's weights, its config)."""
    config = config_from_state(state, image_size, window_size)
    model = swinv2_backbone(config)
    try:
        load_timm_state(model, state)
    except KeyError as exc:
        raise WeightsError(f"the checkpoint lacks {exc}; is it a timm 0.6.13-layout SwinV2?") from exc
    return model, config


def run(args) -> int:
    """Convert; write a swinv2 preset (the backbone's weights, its configuration as the architecture)."""
    from tfagiqa.presets import Weights, conversion_source, save_preset

    model, config = convert(read_state_dict(args.torch), args.image_size, args.window_size)
    out = Path(args.out)
    save_preset(out, kind="swinv2", files={"swinv2": Weights(model)}, architecture=config.to_dict(),
                source=conversion_source("swinv2", args, torch=args.torch))
    print(f"wrote {out / WEIGHTS_FILE} (embed {config.embed_dim}, depths {config.depths}, "
          f"window {config.window_size}, {config.image_size} px; swinv2 preset {out})")
    return 0
