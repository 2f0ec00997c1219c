"""The ``dbcnn`` scorer for the model catalogue: the image resized to 512×512 (the AGIQA sets' native size, which
the reference would score whole) → quality.

``build(weights)``: None = the paper's network (VGG-16 + S-CNN + bilinear pooling + linear layer), randomly
initialised, no I/O; a path = a dbcnn preset, resolved by :func:`tfagiqa.presets.resolve`: written by ``tfagiqa
convert dbcnn`` or by the benchmark adapter's training run (its ``model.keras`` is the complete scorer), or a
``model.keras`` folder / file they wrote before presets.
"""

from __future__ import annotations

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError
from tfagiqa.preset_kinds import kind as kind_info
from tfagiqa.presets import Preset, resolve

INPUT_SIZE = 512
KINDS = ("dbcnn",)
WEIGHTS_HELP = ("None (random initialisation, the paper's sizes, no I/O), or the dbcnn preset DIR (or "
                "DIR/model.keras) written by tfagiqa convert dbcnn or by the dbcnn benchmark adapter")


def load_scorer(preset: Preset):
    """The complete DBCNN scorer a dbcnn preset holds (its network is the layer ``dbcnn``), or a WeightsError saying
    how to make one."""
    model = preset.load("model")
    if not isinstance(model.input, dict) or "images" not in model.input or "dbcnn" not in {
            layer.name for layer in model.layers}:
        raise WeightsError(f"dbcnn: {preset.path('model')} is not a DBCNN scorer. "
                           f"To make one: {kind_info('dbcnn').make}")
    return model


def build_dbcnn(weights: str | None = None):
    """The catalogue builder: the paper's network with random weights, or a dbcnn preset's scorer."""
    from tfagiqa.methods.dbcnn.model import PAPER, dbcnn_model, scoring_model

    resolved = resolve(weights, kind=KINDS, what="dbcnn")
    if resolved.random:
        return scoring_model(dbcnn_model(PAPER), INPUT_SIZE)
    return load_scorer(resolved.preset)


DBCNN = ModelEntry(
    name="dbcnn", paper="dbcnn", needs_prompt=False, outputs=("quality",), input_size=INPUT_SIZE,
    score_range=(0.0, 5.0), label_scale="the scale of the labels it was trained on (AGIQA MOS: 0–5)",
    build=build_dbcnn, weights_help=WEIGHTS_HELP, kinds=KINDS,
    description="DBCNN (Zhang et al. 2018): VGG-16 conv5_3 and S-CNN features, bilinear pooling, linear layer; "
                "the image resized to 512×512",
)
ENTRIES = (DBCNN,)
