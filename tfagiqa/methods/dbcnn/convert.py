"""A PyTorch DBCNN checkpoint → a ``dbcnn`` preset (:mod:`tfagiqa.presets`): ``DIR/config.json``, the complete
Keras scorer ``DIR/model.keras`` and its SavedModel ``DIR/savedmodel``.

Both public layouts use the reference's module names: ``features1`` (torchvision VGG-16 ``features`` without the
last pooling: convolutions at 0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28), ``features2`` (the S-CNN's nine
conv-BN-ReLU triples: convolution ``3k``, batch norm ``3k+1``) and ``fc``:

* zwx8981/DBCNN-PyTorch saves ``DataParallel(DBCNN).state_dict()`` (a ``module.`` prefix, dropped here);
* pyiqa (chaofengc/IQA-PyTorch, ``DBCNN_LIVEC-*.pth`` and the other ``DBCNN_*`` files) keeps them under ``params``.

Widths are read from the shapes. Both feed RGB normalised with the ImageNet mean and std to both streams (the
scorer takes [0, 255] pixels and normalises inside). Layouts: conv (out, in, kh, kw) → (kh, kw, in, out), linear
(out, in) → (in, out); the bilinear features are flattened in the same (c1, c2) order in both frameworks.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from tfagiqa.errors import TfagiqaError
from tfagiqa.torch_state import read_torch_state

HELP = "PyTorch DBCNN checkpoint (pyiqa DBCNN_LIVEC-*.pth or zwx8981/DBCNN-PyTorch) → DIR/model.keras + SavedModel"
SOURCE_HINT = ("pyiqa's DBCNN_LIVEC-*.pth (and DBCNN_KonIQ10k-*, DBCNN_LIVE-*, …) are release assets of "
               "github.com/chaofengc/IQA-PyTorch (v0.1-weights); zwx8981/DBCNN-PyTorch saves its trained networks "
               "with torch.save(net.state_dict())")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--torch", required=True, help="the checkpoint: a state dict saved with torch.save")
    parser.add_argument("--out", required=True, help="output preset folder (config.json, model.keras, savedmodel/)")
    parser.add_argument("--input-size", type=int, default=None, help="side of the square scorer input (default 512)")
    parser.add_argument("--no-savedmodel", action="store_true", help="write model.keras only")


def vgg_conv_indices() -> list[int]:
    """Positions of the 13 convolutions in torchvision's ``vgg16().features`` (conv, ReLU pairs; a pool per block)."""
    from tfagiqa.methods.dbcnn.model import VGG16_BLOCKS

    indices, position = [], 0
    for convs in VGG16_BLOCKS:
        for _ in range(convs):
            indices.append(position)
            position += 2
        position += 1
    return indices


def keras_vgg_names() -> list[str]:
    from tfagiqa.methods.dbcnn.model import VGG16_BLOCKS

    return [f"block{b}_conv{i}" for b, convs in enumerate(VGG16_BLOCKS, start=1) for i in range(1, convs + 1)]


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The checkpoint's tensors (``num_batches_tracked`` counters dropped) after checking it is a DBCNN."""
    state = read_torch_state(path, SOURCE_HINT)
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    if "fc.weight" not in state or "features1.0.weight" not in state or "features2.0.weight" not in state:
        raise TfagiqaError(f"{path} is not a DBCNN state dict (features1.*, features2.*, fc.* expected)")
    if "features2.1.running_mean" not in state:
        raise TfagiqaError(f"{path}: the S-CNN has no batch normalisation (features2.1.running_mean); only the "
                           "batch-normalised S-CNN of the reference (scnn.pkl) is supported")
    return state


def config_from_state(state: dict[str, np.ndarray]):
    """The DBCNNConfig whose widths match the checkpoint (torch input normalisation)."""
    from tfagiqa.methods.dbcnn.model import PAPER, SCNN_STRIDES, VGG16_BLOCKS

    convs = [state[f"features1.{i}.weight"].shape[0] for i in vgg_conv_indices()]
    starts = np.cumsum((0, *VGG16_BLOCKS[:-1]))
    vgg = tuple(int(convs[s]) for s in starts)
    if any(width != vgg[b] for b, (s, n) in enumerate(zip(starts, VGG16_BLOCKS)) for width in convs[s:s + n]):
        raise TfagiqaError(f"features1 is not VGG-16 shaped: convolution widths {convs}")
    scnn = tuple(int(state[f"features2.{3 * k}.weight"].shape[0]) for k in range(len(SCNN_STRIDES)))
    if state["fc.weight"].shape[1] != vgg[-1] * scnn[-1]:
        raise TfagiqaError(f"fc takes {state['fc.weight'].shape[1]} features; {vgg[-1]}×{scnn[-1]} bilinear "
                           f"features expected")
    return replace(PAPER, vgg_widths=vgg, scnn_widths=scnn, vgg_preprocessing="torch")


def assign(dbcnn: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copy every checkpoint tensor into a :func:`~tfagiqa.methods.dbcnn.model.dbcnn_model`; fail on leftovers."""
    from tfagiqa.methods.dbcnn.model import SCNN_STRIDES

    used: set[str] = set()

    def take(key):
        if key not in state:
            raise TfagiqaError(f"the checkpoint lacks {key}")
        used.add(key)
        return state[key]

    vgg, scnn = dbcnn.get_layer("vgg16"), dbcnn.get_layer("scnn")
    for index, name in zip(vgg_conv_indices(), keras_vgg_names()):
        vgg.get_layer(name).set_weights([np.transpose(take(f"features1.{index}.weight"), (2, 3, 1, 0)),
                                         take(f"features1.{index}.bias")])
    for k in range(len(SCNN_STRIDES)):
        conv, bn = f"features2.{3 * k}", f"features2.{3 * k + 1}"
        scnn.get_layer(f"scnn_conv{k}").set_weights([np.transpose(take(f"{conv}.weight"), (2, 3, 1, 0)),
                                                     take(f"{conv}.bias")])
        scnn.get_layer(f"scnn_bn{k}").set_weights([take(f"{bn}.{p}") for p in
                                                   ("weight", "bias", "running_mean", "running_var")])
    dbcnn.get_layer("fc").set_weights([take("fc.weight").T, take("fc.bias")])
    left = sorted(set(state) - used)
    if left:
        raise TfagiqaError(f"{len(left)} checkpoint tensor(s) have no Keras counterpart, e.g. {left[:5]}")


def convert(state: dict[str, np.ndarray], input_size: int | None = None) -> keras.Model:
    """The complete scorer {images [N, S, S, 3] in [0, 255]} → {quality [N]} with the checkpoint's weights."""
    from tfagiqa.methods.dbcnn.model import dbcnn_model, scoring_model
    from tfagiqa.methods.dbcnn.scorers import INPUT_SIZE

    dbcnn = dbcnn_model(config_from_state(state))
    assign(dbcnn, state)
    return scoring_model(dbcnn, input_size or INPUT_SIZE)


def run(args: argparse.Namespace) -> int:
    """Convert; write a dbcnn preset (model.keras and, unless --no-savedmodel, the scoring SavedModel)."""
    from dataclasses import asdict

    from tfagiqa.presets import save_converted_scorer

    state = load_state_dict(args.torch)
    save_converted_scorer(args, "dbcnn", convert(state, args.input_size), asdict(config_from_state(state)))
    return 0
