"""KADID-10k stand-in: ``dmos.csv`` (dist_img, ref_img, dmos, var) and ``images/``, named
``I{ref}_{distortion 01-25}_{level 01-05}.png`` as the real files (unique for n <= 125); the score is on the real
1–5 scale, higher is better despite the column's name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tfagiqa.data import nriqa as reader
from tfagiqa.data.standins import natural, raters

STREAM = 0
SCALE = raters.Scale(3.0, 0.9, 1.0, 5.0)


def write(folder: Path, n: int, seed: int, image_size: int) -> None:
    """The whole stand-in but its marker."""
    images, latent, refs = natural.images(n, seed, STREAM, image_size)
    scores = raters.noisy_scores(latent, SCALE, seed)
    names = [f"I{refs[i] + 1:02d}_{i % 25 + 1:02d}_{i // 25 % 5 + 1:02d}.png" for i in range(n)]
    (folder / "images").mkdir()
    for image, file in zip(images, names):
        image.save(folder / "images" / file)
    pd.DataFrame({"dist_img": names, "ref_img": [f"I{r + 1:02d}.png" for r in refs], "dmos": scores,
                  "var": 0.5}).to_csv(folder / reader.LABEL_FILES["kadid10k"], index=False)


STANDIN = natural.standin(write)
