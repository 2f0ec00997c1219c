"""KonIQ-10k stand-in: ``koniq10k_scores_and_distributions.csv`` (image_name, vote counts, MOS, SD, MOS_zscore)
and ``1024x768/{image_name}`` JPEGs; MOS on the real 1–5 scale (the vote columns are zeros)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tfagiqa.data import nriqa as reader
from tfagiqa.data.standins import natural, raters

STREAM = 1
SCALE = raters.Scale(3.0, 0.6, 1.0, 5.0)


def write(folder: Path, n: int, seed: int, image_size: int) -> None:
    """The whole stand-in but its marker."""
    images, latent, _ = natural.images(n, seed, STREAM, image_size)
    scores = raters.noisy_scores(latent, SCALE, seed)
    names = [f"{1000000 + i}.jpg" for i in range(n)]
    (folder / "1024x768").mkdir()
    for image, file in zip(images, names):
        image.save(folder / "1024x768" / file, quality=90)
    pd.DataFrame({"image_name": names, "c1": 0, "c2": 0, "c3": 0, "c4": 0, "c5": 0, "c_total": 0, "MOS": scores,
                  "SD": 0.5, "MOS_zscore": 50.0}).to_csv(folder / reader.LABEL_FILES["koniq10k"], index=False)


STANDIN = natural.standin(write)
