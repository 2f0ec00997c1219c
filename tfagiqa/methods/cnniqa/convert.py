"""A PyTorch CNNIQA checkpoint → a ``cnniqa`` preset (:mod:`tfagiqa.presets`): ``DIR/config.json``, the complete
Keras scorer ``DIR/model.keras`` and its SavedModel ``DIR/savedmodel``.

Two public layouts share the parameter names ``conv1``, ``fc1``, ``fc2``, ``fc3``:

* lidq92/CNNIQA (the paper's network): ``conv1`` takes 1 channel, grey locally normalised 32×32 patches;
* pyiqa (chaofengc/IQA-PyTorch, ``CNNIQA_koniq10k-*.pth``, tensors under ``params``): ``conv1`` takes 3
  channels, RGB in [0, 1] without normalisation, the whole image scored as one patch.

The layout is read from ``conv1``'s input channels and the sizes from the shapes. Layouts: conv (out, in, kh, kw)
→ (kh, kw, in, out), linear (out, in) → (in, out); the pooled features are [max…, min…] in both frameworks.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from tfagiqa.errors import TfagiqaError
from tfagiqa.torch_state import read_torch_state

HELP = "PyTorch CNNIQA checkpoint (pyiqa CNNIQA_koniq10k-*.pth or lidq92/CNNIQA) → DIR/model.keras + SavedModel"
SOURCE_HINT = ("pyiqa's CNNIQA_koniq10k-*.pth is a release asset of github.com/chaofengc/IQA-PyTorch (v0.1-weights); "
               "lidq92/CNNIQA checkpoints are state dicts saved by its main.py")
KEYS = ("conv1.weight", "conv1.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--torch", required=True, help="the checkpoint: a state dict saved with torch.save")
    parser.add_argument("--out", required=True, help="output preset folder (config.json, model.keras, savedmodel/)")
    parser.add_argument("--input-size", type=int, default=None,
                        help="side of the square scorer input (default: 512 for grey patches, 384 for pyiqa RGB)")
    parser.add_argument("--no-savedmodel", action="store_true", help="write model.keras only")


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The checkpoint's eight tensors as float32 numpy arrays (anything else is an error)."""
    state = read_torch_state(path, SOURCE_HINT)
    missing = [k for k in KEYS if k not in state]
    if missing:
        raise TfagiqaError(f"{path} is not a CNNIQA state dict (missing {', '.join(missing)})")
    extra = sorted(set(state) - set(KEYS))
    if extra:
        raise TfagiqaError(f"{path} has tensors CNNIQA does not use, e.g. {extra[:5]}")
    return state


def config_from_state(state: dict[str, np.ndarray]):
    """The CNNIQAConfig whose layout (grey patches or pyiqa RGB) and sizes match the checkpoint."""
    from tfagiqa.methods.cnniqa.model import PAPER, PYIQA_RGB

    kernels, channels, kernel_size, _ = state["conv1.weight"].shape
    if state["fc1.weight"].shape[1] != 2 * kernels:
        raise TfagiqaError(f"fc1 takes {state['fc1.weight'].shape[1]} features; max/min pooling of {kernels} "
                           f"kernels gives {2 * kernels}")
    if channels not in (1, 3):
        raise TfagiqaError(f"conv1 takes {channels} channels; CNNIQA checkpoints take 1 (grey) or 3 (pyiqa RGB)")
    base = PAPER if channels == 1 else PYIQA_RGB
    return replace(base, kernels=kernels, kernel_size=kernel_size,
                   hidden=(state["fc1.weight"].shape[0], state["fc2.weight"].shape[0]))


def assign(network: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copy the checkpoint's tensors into a :func:`~tfagiqa.methods.cnniqa.model.patch_network`."""
    network.get_layer("conv1").set_weights([np.transpose(state["conv1.weight"], (2, 3, 1, 0)), state["conv1.bias"]])
    for name in ("fc1", "fc2", "fc3"):
        network.get_layer(name).set_weights([state[f"{name}.weight"].T, state[f"{name}.bias"]])


def convert(state: dict[str, np.ndarray], input_size: int | None = None) -> keras.Model:
    """The complete scorer {images [N, S, S, 3] in [0, 255]} → {quality [N]} with the checkpoint's weights."""
    from tfagiqa.methods.cnniqa.model import patch_score_model, scoring_model

    config = config_from_state(state)
    size = input_size or (512 if config.patch_size else 384)
    patches = patch_score_model(config, size)
    assign(patches.get_layer("patch_network"), state)
    return scoring_model(patches)


def run(args: argparse.Namespace) -> int:
    """Convert; write a cnniqa preset (model.keras and, unless --no-savedmodel, the scoring SavedModel)."""
    from dataclasses import asdict

    from tfagiqa.presets import save_converted_scorer

    state = load_state_dict(args.torch)
    save_converted_scorer(args, "cnniqa", convert(state, args.input_size), asdict(config_from_state(state)))
    return 0
