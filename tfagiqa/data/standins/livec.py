"""LIVE In the Wild Challenge stand-in: ``Data/AllImages_release.mat`` (file names, a cell array),
``Data/AllMOS_release.mat`` (MOS 0–100, a row) and ``Images/``. As in the real release, the first 7 entries are
the training examples the reader drops (here copies of the first image, in BMP)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfagiqa.data import nriqa as reader
from tfagiqa.data.standins import files, natural, raters

STREAM = 3
SCALE = raters.Scale(50.0, 19.0, 0.0, 100.0)


def write(folder: Path, n: int, seed: int, image_size: int) -> None:
    """The whole stand-in but its marker."""
    images, latent, _ = natural.images(n, seed, STREAM, image_size)
    skipped = reader.LIVEC_TRAIN_EXAMPLES
    names = [f"t{i}.bmp" for i in range(skipped)] + [f"{10 + i}.JPG" for i in range(n)]
    scores = np.concatenate([np.full(skipped, 50.0), raters.noisy_scores(latent, SCALE, seed)])
    (folder / "Images").mkdir()
    (folder / "Data").mkdir()
    for image, file in zip([images[0]] * skipped + images, names):
        image.save(folder / "Images" / file, format="JPEG" if file.endswith(".JPG") else "BMP")
    files.write_mat(folder / "Data" / "AllImages_release.mat", {"AllImages_release": natural.cells(names).T})
    files.write_mat(folder / "Data" / "AllMOS_release.mat", {"AllMOS_release": scores[None, :]})


STANDIN = natural.standin(write)
