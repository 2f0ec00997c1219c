"""The ``cnniqa`` scorer for the model catalogue: an image in [0, 255] → mean score of its 32×32 grey patches.

The scorer takes the image resized to 512×512 (the AGIQA sets' native size): 16×16 non-overlapping patches.
``build(weights)``: None = the paper's sizes, randomly initialised, no I/O; a path = a complete scorer saved as
``.keras`` (written by ``tfagiqa convert cnniqa`` or by the benchmark adapter's training run).
"""

from __future__ import annotations

from pathlib import Path

from tfagiqa.catalogue import ModelEntry
from tfagiqa.errors import WeightsError

INPUT_SIZE = 512
WEIGHTS_HELP = ("None (random initialisation, the paper's sizes, no I/O), or a .keras scorer written by "
                "tfagiqa convert cnniqa (DIR/model.keras) or by the cnniqa benchmark adapter")
CHECKPOINT_HINT = ("convert a PyTorch checkpoint first: tfagiqa convert cnniqa --torch FILE --out DIR (pyiqa's "
                   "CNNIQA_koniq10k-*.pth from github.com/chaofengc/IQA-PyTorch/releases, or a lidq92/CNNIQA "
                   "state dict), then pass DIR/model.keras")


def load_scorer(path: str | Path):
    """A complete CNNIQA scorer from a ``.keras`` file, or a WeightsError saying how to make one."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"cnniqa: no model file at {path}; {CHECKPOINT_HINT}")
    try:
        model = keras.saving.load_model(path)
    except Exception as exc:
        raise WeightsError(f"cnniqa: cannot load {path}: {exc}. {CHECKPOINT_HINT}") from exc
    if not isinstance(model.input, dict) or "images" not in model.input:
        raise WeightsError(f"cnniqa: {path} is not a scorer (its input is not {{'images': ...}}). {CHECKPOINT_HINT}")
    return model


def build_cnniqa(weights: str | None = None):
    """The catalogue builder: the paper's network with random weights, or a saved scorer."""
    from tfagiqa.methods.cnniqa.model import PAPER, patch_score_model, scoring_model

    if weights is None:
        return scoring_model(patch_score_model(PAPER, INPUT_SIZE))
    return load_scorer(weights)


CNNIQA = ModelEntry(
    name="cnniqa", paper="cnniqa", needs_prompt=False, outputs=("quality",), input_size=INPUT_SIZE,
    score_range=(0.0, 5.0), label_scale="the scale of the labels it was trained on (AGIQA MOS: 0–5)",
    build=build_cnniqa, weights_help=WEIGHTS_HELP,
    description="CNNIQA (Kang et al. 2014): mean score of the 32×32 locally normalised grey patches of the image "
                "resized to 512×512",
)
ENTRIES = (CNNIQA,)
