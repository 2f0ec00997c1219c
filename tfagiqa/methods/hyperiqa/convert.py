"""Official HyperIQA PyTorch checkpoint (``model_hyper.state_dict()``, SSL92/hyperIQA) → Keras.

Writes a ``hyperiqa`` preset (:mod:`tfagiqa.presets`): ``DIR/preset.json``, ``DIR/model.keras``: float32 NHWC
crops normalised with the ImageNet mean and std → that crop's score [B], computed as the official
``TargetNet(HyperNet(img))(target_in_vec)`` does; and ``DIR/savedmodel``: the catalogue's scorer exported by
``tfagiqa.export`` (image bytes or pixels in, shorter side resized to 512, mean score of 25 fixed 224 crops). Sizes
are read from the checkpoint's shapes, so the official ``HyperNet(16, 112, 224, 112, 56, 28, 14, 7)`` and smaller
ones convert. Layouts: conv (out, in, kh, kw) → (kh, kw, in, out), linear (out, in) → (in, out); the NCHW-memory
``.view``s and flattens are reproduced inside the Keras layers (transposes), so no weight needs permuting.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import keras
import numpy as np

from tfagiqa.torch_state import read_torch_state
from tfagiqa.errors import TfagiqaError

HELP = "official HyperIQA checkpoint (koniq_pretrained.pkl) → DIR/model.keras + scoring SavedModel"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--torch", required=True, help="the official checkpoint: a state dict saved with torch.save")
    parser.add_argument("--out", required=True, help="output folder (model.keras, savedmodel/)")
    parser.add_argument("--no-savedmodel", action="store_true", help="write model.keras only")


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The checkpoint's tensors as float32 numpy arrays (a ``module.`` DataParallel prefix is dropped)."""
    state = read_torch_state(path, "The official one is koniq_pretrained.pkl, linked from github.com/SSL92/hyperIQA.")
    if "fc5b_fc.weight" not in state:
        raise TfagiqaError(f"{path} is not a HyperIQA HyperNet state dict (no fc5b_fc.weight)")
    return {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}


def config_from_state(state: dict[str, np.ndarray]):
    """The HypernetConfig whose shapes match the checkpoint."""
    from tfagiqa.methods.hyperiqa.model import HypernetConfig

    blocks = []
    for stage in range(1, 5):
        ids = {int(m.group(1)) for k in state for m in [re.match(rf"res\.layer{stage}\.(\d+)\.", k)] if m}
        blocks.append(len(ids))
    lda = state["res.lda1_fc.weight"].shape[0]
    sizes = [3 * lda + state["res.lda4_fc.weight"].shape[0]] + [state[f"fc{k}b_fc.weight"].shape[0] for k in range(1, 5)]
    area = sizes[0] * sizes[1] // state["fc1w_conv.weight"].shape[0]
    feature_size = int(round(area ** 0.5))
    outputs = state["fc5b_fc.weight"].shape[0]
    return HypernetConfig(
        image_size=32 * feature_size, width=state["res.conv1.weight"].shape[0], blocks=tuple(blocks),
        lda_channels=lda, hyper_channels=state["conv1.4.weight"].shape[0], target_sizes=tuple(sizes),
        conv_channels=(state["conv1.0.weight"].shape[0], state["conv1.2.weight"].shape[0]),
        outputs=("quality",) if outputs == 1 else tuple(f"output_{i}" for i in range(outputs)))


def _conv(w: np.ndarray) -> np.ndarray:
    return np.transpose(w, (2, 3, 1, 0))


def _weights_for(layer: keras.Layer, prefix: str, state: dict[str, np.ndarray], used: set) -> list[np.ndarray]:
    """The Keras weight list of one conv / dense / batch-norm layer from the torch tensors under ``prefix``."""
    def take(name):
        key = f"{prefix}.{name}"
        if key not in state:
            raise TfagiqaError(f"the checkpoint lacks {key}")
        used.add(key)
        return state[key]

    if isinstance(layer, keras.layers.BatchNormalization):
        return [take("weight"), take("bias"), take("running_mean"), take("running_var")]
    kernel = take("weight")
    kernel = _conv(kernel) if isinstance(layer, keras.layers.Conv2D) else kernel.T
    return [kernel, take("bias")] if layer.use_bias else [kernel]


def _torch_name(keras_name: str) -> str:
    """``layer1_0_downsample_1`` → ``layer1.0.downsample.1`` (the backbone's layer naming rule)."""
    return re.sub(r"_(\d+)_", r".\1.", keras_name).replace("downsample_", "downsample.")


def assign_backbone(model: keras.Model, state: dict[str, np.ndarray], prefix: str = "res.") -> set[str]:
    """Copy the ResNet tensors (``conv1``, ``bn1``, ``layerN.*``) into the model's ``res``; the keys used."""
    used: set[str] = set()
    for layer in model.get_layer("res").layers:
        if layer.weights:
            weights = _weights_for(layer, prefix + _torch_name(layer.name), state, used)
            layer.set_weights([np.asarray(w, "float32") for w in weights])
    return used


def load_torchvision_resnet50(model: keras.Model, path: str | Path) -> None:
    """ImageNet weights for ``res`` from torchvision's ``resnet50-19c8e357.pth`` (what the official code loads)."""
    state = read_torch_state(path, "torchvision's resnet50-19c8e357.pth (download.pytorch.org/models/).")
    assign_backbone(model, state, prefix="")


def assign(model: keras.Model, state: dict[str, np.ndarray]) -> None:
    """Copy every checkpoint tensor into ``model`` (built by ``hypernet_model``); fail on any left over."""
    used = assign_backbone(model, state)
    pairs = []
    for stage in range(1, 5):
        lda = model.get_layer(f"res_lda{stage}")
        if lda.conv is not None:
            pairs.append((lda.conv, f"res.lda{stage}_pool.0"))
        pairs.append((lda.fc, f"res.lda{stage}_fc"))
    hyper = model.get_layer("hyper")
    for i, conv in enumerate(hyper.convs):
        pairs.append((conv, f"conv1.{2 * i}"))
    for layer in [*hyper.weight_convs, *hyper.bias_fcs, hyper.last_weight, hyper.last_bias]:
        pairs.append((layer, layer.name))
    for layer, prefix in pairs:
        layer.set_weights([np.asarray(w, "float32") for w in _weights_for(layer, prefix, state, used)])
    left = sorted(set(state) - used)
    if left:
        raise TfagiqaError(f"{len(left)} checkpoint tensor(s) have no Keras counterpart, e.g. {left[:5]}")


def convert(state: dict[str, np.ndarray]) -> keras.Model:
    """normalised crop [B, S, S, 3] → score [B] (or [B, n] for a multi-output checkpoint), official weights."""
    from tfagiqa.methods.hyperiqa.model import hypernet_model

    config = config_from_state(state)
    net = hypernet_model(config, normalise=False, name="hyperiqa_net")
    assign(net, state)
    crop = keras.Input((config.image_size, config.image_size, 3), name="image")
    scores = net({"image": crop})
    if len(config.outputs) == 1:
        scores = keras.layers.Reshape((), name="score")(scores)
    return keras.Model(crop, scores, name="hyperiqa")


def run(args: argparse.Namespace) -> int:
    """Convert; write a hyperiqa preset (model.keras and, unless --no-savedmodel, the scoring SavedModel); print
    what was written."""
    from dataclasses import asdict

    from tfagiqa.export import ViewPolicy, export_savedmodel
    from tfagiqa.methods.hyperiqa.scorers import CROP, VIEWS, scoring_model
    from tfagiqa.presets import conversion_source, save_preset

    state = load_state_dict(args.torch)
    model = convert(state)
    out = Path(args.out)
    crop = model.input_shape[1]
    views = {**VIEWS, "resize_to": VIEWS["resize_to"] * crop // CROP}
    outputs = ("quality",) if len(model.output_shape) == 1 else \
        tuple(f"output_{i}" for i in range(model.output_shape[1]))

    def savedmodel(path: Path) -> None:
        export_savedmodel(scoring_model(model, outputs), path, {"paper": "hypernet", "model": "hyperiqa",
                                                                "source": str(args.torch)}, ViewPolicy(**views))

    save_preset(out, kind="hyperiqa", files={"model": model},
                architecture={"network": asdict(config_from_state(state)), "crop": crop, "outputs": outputs,
                              "views": views},
                source=conversion_source("hyperiqa", args, torch=args.torch),
                extra={} if args.no_savedmodel else {"savedmodel": savedmodel})
    print(f"wrote {out / 'model.keras'} (input: normalised NHWC {crop}² crops → score; hyperiqa preset {out})")
    if not args.no_savedmodel:
        print(f"wrote {out / 'savedmodel'} (shorter side → {views['resize_to']}, mean over {views['n_crops']} fixed "
              f"{crop}² crops)")
    return 0
