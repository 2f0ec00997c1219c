"""The ``dbcnn`` scorer for the model catalogue: the image resized to 512×512 (the AGIQA sets' native size, which
the reference would score whole) → quality.

``build(weights)``: None = the paper's network (VGG-16 + S-CNN + bilinear pooling + linear layer), randomly
initialised, no I/O; a path = a complete scorer saved as ``.keras`` (``tfagiqa convert dbcnn`` or the benchmark
adapter's training run).
"""

from __future__ import annotations

from pathlib import Path

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError

INPUT_SIZE = 512
WEIGHTS_HELP = ("None (random initialisation, the paper's sizes, no I/O), or a .keras scorer written by "
                "tfagiqa convert dbcnn (DIR/model.keras) or by the dbcnn benchmark adapter")
CHECKPOINT_HINT = ("convert a PyTorch checkpoint first: tfagiqa convert dbcnn --torch FILE --out DIR (pyiqa's "
                   "DBCNN_LIVEC-*.pth from github.com/chaofengc/IQA-PyTorch/releases, or a zwx8981/DBCNN-PyTorch "
                   "state dict), then pass DIR/model.keras")


def load_scorer(path: str | Path):
    """A complete DBCNN scorer from a ``.keras`` file, or a WeightsError saying how to make one."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"dbcnn: no model file at {path}; {CHECKPOINT_HINT}")
    try:
        model = keras.saving.load_model(path)
    except Exception as exc:
        raise WeightsError(f"dbcnn: cannot load {path}: {exc}. {CHECKPOINT_HINT}") from exc
    if not isinstance(model.input, dict) or "images" not in model.input or "dbcnn" not in {
            layer.name for layer in model.layers}:
        raise WeightsError(f"dbcnn: {path} is not a DBCNN scorer. {CHECKPOINT_HINT}")
    return model


def build_dbcnn(weights: str | None = None):
    """The catalogue builder: the paper's network with random weights, or a saved scorer."""
    from tfagiqa.methods.dbcnn.model import PAPER, dbcnn_model, scoring_model

    if weights is None:
        return scoring_model(dbcnn_model(PAPER), INPUT_SIZE)
    return load_scorer(weights)


DBCNN = ModelEntry(
    name="dbcnn", paper="dbcnn", needs_prompt=False, outputs=("quality",), input_size=INPUT_SIZE,
    score_range=(0.0, 5.0), label_scale="the scale of the labels it was trained on (AGIQA MOS: 0–5)",
    build=build_dbcnn, weights_help=WEIGHTS_HELP,
    description="DBCNN (Zhang et al. 2018): VGG-16 conv5_3 and S-CNN features, bilinear pooling, linear layer; "
                "the image resized to 512×512",
)
ENTRIES = (DBCNN,)
