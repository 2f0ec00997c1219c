"""The latent truth behind a synthetic stand-in's MOS: what its images were made to be (``synthetic_truth.csv``).

The stand-in draws each image's latent quality and prompt alignment, renders and degrades the image from them, and
lets simulated raters score it; the MOS is those noisy ratings. A method that learns what the images show should
correlate with the latent truth as well as (or better than) with the MOS. The latent behind a target is the
same-named column; behind AGIQA-1K's and AIGIQA-20K's single ``overall`` MOS it is the stand-in's own mix of
quality and alignment (``standins.raters.overall``, read from the generator itself so the two never drift apart).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.data import schema, synthetic
from tfagiqa.data.standins import raters
from tfagiqa.errors import DataError


def latent(df: pd.DataFrame, target: str) -> np.ndarray | None:
    """The latent truth of ``target`` for ``df``'s rows (a reader's frame), or None on real data."""
    if df.attrs.get("data") != "synthetic":
        return None
    root = Path(df.attrs["root"])
    path = root / synthetic.TRUTH_FILE
    if not path.is_file():
        raise DataError(f"{root} is a synthetic stand-in without {synthetic.TRUTH_FILE}; write it again")
    truth = pd.read_csv(path)
    values = raters.overall(truth) if target == schema.OVERALL else truth[target].to_numpy(dtype=np.float64)
    by_image = pd.Series(values, index=[os.path.normpath(root / p) for p in truth["path"]])
    images = [os.path.normpath(p) for p in df[schema.IMAGE]]
    missing = [p for p in images if p not in by_image.index]
    if missing:
        raise DataError(f"{path} has no latent truth for {len(missing)} image(s), e.g. {missing[0]}")
    return by_image.loc[images].to_numpy(dtype=np.float64)
