"""LIVE IQA release 2 stand-in: ``dmos_realigned.mat`` (dmos_new, orgs), ``refnames_all.mat`` and the five
distortion folders with the real image counts (jp2k 227, jpeg 233, wn, gblur, fastfading 174 each, ``img{k}.bmp``).

The n distinct renders are repeated over the 982 entries; every 29th entry is flagged as a reference copy
(``orgs == 1``), which the reader drops, as the real file has such copies. The score is a DMOS (0–100, lower is
better)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfagiqa.data import nriqa as reader
from tfagiqa.data.standins import files, natural, raters

STREAM = 2
SCALE = raters.Scale(45.0, 20.0, 0.0, 100.0)


def write(folder: Path, n: int, seed: int, image_size: int) -> None:
    """The whole stand-in but its marker."""
    images, latent, refs = natural.images(n, seed, STREAM, image_size)
    scores = raters.noisy_scores(latent, SCALE, seed, lower_is_better=True)
    total = sum(count for _, count in reader.LIVE_FOLDERS)
    picks = np.arange(total) % n
    orgs = np.zeros(total)
    orgs[np.arange(total) % 29 == 28] = 1
    k = 0
    for sub, count in reader.LIVE_FOLDERS:
        (folder / sub).mkdir()
        for i in range(1, count + 1):
            images[picks[k]].save(folder / sub / f"img{i}.bmp")
            k += 1
    files.write_mat(folder / "dmos_realigned.mat", {"dmos_new": scores[picks][None, :], "orgs": orgs[None, :]})
    files.write_mat(folder / "refnames_all.mat", {"refnames_all": natural.cells([f"ref{refs[p]}.bmp" for p in picks])})


STANDIN = natural.standin(write)
