"""The ``cnniqa`` scorer for the model catalogue: an image in [0, 255] → mean score of its 32×32 grey patches.

The scorer takes the image resized to 512×512 (the AGIQA sets' native size): 16×16 non-overlapping patches.
``build(weights)``: None = the paper's sizes, randomly initialised, no I/O; a path = a cnniqa preset, resolved by
:func:`tfagiqa.presets.resolve`: written by ``tfagiqa convert cnniqa`` or by the benchmark adapter's training run
(its ``model.keras`` is the complete scorer), or a ``model.keras`` folder / file they wrote before presets.
"""

from __future__ import annotations

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError
from tfagiqa.preset_kinds import kind as kind_info
from tfagiqa.presets import Preset, resolve

INPUT_SIZE = 512
KINDS = ("cnniqa",)
WEIGHTS_HELP = ("None (random initialisation, the paper's sizes, no I/O), or the cnniqa preset DIR (or "
                "DIR/model.keras) written by tfagiqa convert cnniqa or by the cnniqa benchmark adapter")


def load_scorer(preset: Preset):
    """The complete CNNIQA scorer a cnniqa preset holds, or a WeightsError saying how to make one."""
    model = preset.load("model")
    if not isinstance(model.input, dict) or "images" not in model.input:
        raise WeightsError(f"cnniqa: {preset.path('model')} is not a scorer (its input is not {{'images': ...}}). "
                           f"To make one: {kind_info('cnniqa').make}")
    return model


def build_cnniqa(weights: str | None = None):
    """The catalogue builder: the paper's network with random weights, or a cnniqa preset's scorer."""
    from tfagiqa.methods.cnniqa.model import PAPER, patch_score_model, scoring_model

    resolved = resolve(weights, kind=KINDS, what="cnniqa")
    if resolved.random:
        return scoring_model(patch_score_model(PAPER, INPUT_SIZE))
    return load_scorer(resolved.preset)


CNNIQA = ModelEntry(
    name="cnniqa", paper="cnniqa", needs_prompt=False, outputs=("quality",), input_size=INPUT_SIZE,
    score_range=(0.0, 5.0), label_scale="the scale of the labels it was trained on (AGIQA MOS: 0–5)",
    build=build_cnniqa, weights_help=WEIGHTS_HELP, kinds=KINDS,
    description="CNNIQA (Kang et al. 2014): mean score of the 32×32 locally normalised grey patches of the image "
                "resized to 512×512",
)
ENTRIES = (CNNIQA,)
