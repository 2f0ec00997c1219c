"""The ``brisque`` scorer for the model catalogue: images resized to 512×512 → BRISQUE features → SVR.

``build(weights)``: None = a random placeholder regressor (no I/O); ``"imquality"`` = LIVE's model shipped by the
image-quality package (lower is better, LIVE DMOS scale); a folder with LIVE's MATLAB ``allmodel`` + ``allrange``;
or a ``.npz`` written by :meth:`BrisqueRegressor.save` (a re-trained SVR, e.g. by the benchmark: higher is better).
The score's direction and scale follow the weights and are recorded in the export's metadata.
"""

from __future__ import annotations

from tfagiqa.catalogue import ModelEntry

INPUT_SIZE = 512


def build_brisque(weights: str | None = None):
    from tfagiqa.methods.brisque.model import brisque_scorer
    from tfagiqa.methods.brisque.weights import resolve

    return brisque_scorer(resolve(weights), INPUT_SIZE)


def provenance(weights: str | None) -> dict:
    """Where the regressor comes from, which way its scores point and the feature convention it needs."""
    from tfagiqa.methods.brisque.weights import resolve

    regressor = resolve(weights)
    return {"weights": regressor.source, "higher_is_better": regressor.higher_is_better,
            "label_scale": regressor.label_scale, "nss_convention": regressor.convention}


BRISQUE = ModelEntry(
    name="brisque", paper="brisque", needs_prompt=False, outputs=("quality",), input_size=INPUT_SIZE,
    score_range=(0.0, 100.0), label_scale="LIVE DMOS, about 0 (best) to 100 (worst), with LIVE's model",
    build=build_brisque, higher_is_better=False, provenance=provenance,
    weights_help="None (random placeholder), 'imquality', a folder with LIVE's allmodel + allrange, or a .npz",
    description="BRISQUE (Mittal et al. 2012): 36 spatial NSS features of the image resized to 512×512, RBF ε-SVR",
)
ENTRIES = (BRISQUE,)
