"""Synthetic stand-ins for the NR-IQA datasets in their real file layouts (see ``tfagiqa.data.nriqa``).

Reference scenes are rendered with :mod:`tfagiqa.data.synthetic`'s scene renderer and degraded by its blur /
noise / colour-cast / JPEG model at a latent quality; simulated raters score them on each dataset's scale.
Deterministic for a seed; written atomically and marked ``SYNTHETIC.json`` so it is never taken for real data.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io

from tfagiqa.data import synthetic as scenes
from tfagiqa.errors import DataError

VERSION = 1
DISTORTIONS_PER_REFERENCE = 4
IMAGE_SIZE = 96
# (centre, spread, low, high) of the published score; LIVE's is a DMOS (higher = worse)
SCALES = {"koniq10k": (3.0, 0.6, 1.0, 5.0), "livec": (50.0, 19.0, 0.0, 100.0), "live": (45.0, 20.0, 0.0, 100.0),
          "kadid10k": (3.0, 0.9, 1.0, 5.0)}


def _images(n: int, seed: int, name: str) -> tuple[list, np.ndarray, list[int]]:
    """``n`` degraded renders of ``n / 4`` reference scenes: (PIL images, latent quality, reference index)."""
    rng = np.random.default_rng([seed, sorted(SCALES).index(name)])
    refs = max(1, n // DISTORTIONS_PER_REFERENCE)
    specs = [scenes.Spec(scenes._sample_things(rng, int(rng.choice([1, 2])))) for _ in range(refs)]
    images, latent, ref_ids = [], [], []
    for i in range(n):
        ref = i % refs
        quality = float(rng.uniform(0.05, 1.0))
        clean = scenes._render(specs[ref], IMAGE_SIZE, np.random.default_rng([seed, ref]))
        image, _ = scenes._distort(clean, quality, rng)
        images.append(image)
        latent.append(quality)
        ref_ids.append(ref)
    return images, np.array(latent), ref_ids


def _scores(latent: np.ndarray, name: str, seed: int) -> np.ndarray:
    centre, spread, low, high = SCALES[name]
    noise = np.random.default_rng([seed, 99]).normal(0, 0.08, latent.size)
    z = (latent + noise - latent.mean()) / (latent.std() or 1.0)
    score = np.clip(centre + spread * z, low, high)
    return np.clip(centre - spread * z, low, high) if name == "live" else score


def _cells(strings: list[str]) -> np.ndarray:
    out = np.empty((1, len(strings)), dtype=object)
    for i, s in enumerate(strings):
        out[0, i] = np.array([s])
    return out


def _write(name: str, folder: Path, n: int, seed: int) -> None:
    images, latent, refs = _images(n, seed, name)
    scores = _scores(latent, name, seed)
    if name == "koniq10k":
        names = [f"{1000000 + i}.jpg" for i in range(n)]
        (folder / "1024x768").mkdir()
        for image, file in zip(images, names):
            image.save(folder / "1024x768" / file, quality=90)
        pd.DataFrame({"image_name": names, "c1": 0, "c2": 0, "c3": 0, "c4": 0, "c5": 0, "c_total": 0, "MOS": scores,
                      "SD": 0.5, "MOS_zscore": 50.0}).to_csv(folder / "koniq10k_scores_and_distributions.csv", index=False)
    elif name == "livec":
        names = [f"t{i}.bmp" for i in range(7)] + [f"{10 + i}.JPG" for i in range(n)]
        scores = np.concatenate([np.full(7, 50.0), scores])
        (folder / "Images").mkdir()
        (folder / "Data").mkdir()
        for image, file in zip([images[0]] * 7 + images, names):
            image.save(folder / "Images" / file, format="JPEG" if file.endswith(".JPG") else "BMP")
        scipy.io.savemat(folder / "Data" / "AllImages_release.mat", {"AllImages_release": _cells(names).T})
        scipy.io.savemat(folder / "Data" / "AllMOS_release.mat", {"AllMOS_release": scores[None, :]})
    elif name == "live":
        from tfagiqa.data.nriqa import LIVE_FOLDERS

        total = sum(c for _, c in LIVE_FOLDERS)
        picks = np.arange(total) % n
        dmos = scores[picks]
        orgs = np.zeros(total)
        orgs[np.arange(total) % 29 == 28] = 1  # a few reference copies, as the real file has
        refnames = [f"ref{refs[p]}.bmp" for p in picks]
        k = 0
        for sub, count in LIVE_FOLDERS:
            (folder / sub).mkdir()
            for i in range(1, count + 1):
                images[picks[k]].save(folder / sub / f"img{i}.bmp")
                k += 1
        scipy.io.savemat(folder / "dmos_realigned.mat", {"dmos_new": dmos[None, :], "orgs": orgs[None, :]})
        scipy.io.savemat(folder / "refnames_all.mat", {"refnames_all": _cells(refnames)})
    else:
        # KADID's I<ref>_<distortion 01-25>_<level 01-05>.png; unique for n <= 125
        names = [f"I{refs[i] + 1:02d}_{i % 25 + 1:02d}_{i // 25 % 5 + 1:02d}.png" for i in range(n)]
        (folder / "images").mkdir()
        for image, file in zip(images, names):
            image.save(folder / "images" / file)
        pd.DataFrame({"dist_img": names, "ref_img": [f"I{r + 1:02d}.png" for r in refs], "dmos": scores,
                      "var": 0.5}).to_csv(folder / "dmos.csv", index=False)


def ensure_standin(name: str, folder: str | Path, n: int = 48, seed: int = 0) -> Path:
    """The stand-in at ``folder``, written (atomically) unless an identical one is already there."""
    folder = Path(folder)
    if not 4 <= n <= 125:
        raise DataError(f"NR-IQA stand-ins hold 4 to 125 images, got {n}")
    params = {"layout": name, "n": int(n), "seed": int(seed), "version": VERSION, "note": scenes.NOTE}
    marker = folder / "SYNTHETIC.json"
    if marker.is_file() and json.loads(marker.read_text()) == params:
        return folder
    if folder.exists() and not marker.is_file():
        raise DataError(f"{folder} exists and is not a synthetic stand-in; refusing to write over it")
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    try:
        _write(name, partial, int(n), int(seed))
        (partial / "SYNTHETIC.json").write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        partial.rename(folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return folder
