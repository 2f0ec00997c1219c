"""Readers for the natural-image NR-IQA datasets SF-IQA pre-trains its quality branch on (§4.2), and synthetic
stand-ins written in each one's real file layout.

| name | folder | label file | score |
|---|---|---|---|
| koniq10k | KonIQ-10k | ``koniq10k_scores_and_distributions.csv`` (image_name, ..., MOS) + ``1024x768/`` | MOS 1–5 |
| livec | ChallengeDB_release | ``Data/AllImages_release.mat``, ``Data/AllMOS_release.mat`` + ``Images/`` | MOS 0–100 |
| live | databaserelease2 | ``dmos_realigned.mat`` (dmos_new, orgs), ``refnames_all.mat`` + jp2k/ jpeg/ wn/ gblur/ fastfading/ | DMOS (lower is better) |
| kadid10k | kadid10k | ``dmos.csv`` (dist_img, ref_img, dmos, var) + ``images/`` | MOS 1–5 |

Every reader returns canonical columns (``image``, ``name``, ``group`` = the reference scene, ``dataset``) plus
``quality`` (the published score, higher = better; LIVE's DMOS is negated) and ``quality01`` (min–max scaled to
[0, 1] within the dataset, so several datasets can train one model together). LIVE Challenge's first 7 images
(its training examples) are dropped, as HyperIQA does; LIVE's reference images (``orgs == 1``) too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io

from tfagiqa.data import default_data_root, schema
from tfagiqa.errors import DataError

DIRS = {"koniq10k": "KonIQ-10k", "livec": "ChallengeDB_release", "live": "databaserelease2", "kadid10k": "kadid10k"}
LABEL_FILES = {"koniq10k": "koniq10k_scores_and_distributions.csv", "livec": "Data/AllMOS_release.mat",
               "live": "dmos_realigned.mat", "kadid10k": "dmos.csv"}
HINTS = {
    "koniq10k": "KonIQ-10k from database.mmsp-kn.de/koniq-10k-database.html: the CSV and the 1024x768/ folder",
    "livec": "LIVE In the Wild Challenge (ChallengeDB_release) from live.ece.utexas.edu: Data/*.mat and Images/",
    "live": "LIVE IQA release 2 (databaserelease2) from live.ece.utexas.edu: the .mat files and the 5 distortion folders",
    "kadid10k": "KADID-10k from database.mmsp-kn.de/kadid-10k-database.html: dmos.csv and images/",
}
LIVE_FOLDERS = (("jp2k", 227), ("jpeg", 233), ("wn", 174), ("gblur", 174), ("fastfading", 174))
LIVEC_TRAIN_EXAMPLES = 7


def _frame(dataset: str, folder: Path, names, images, groups, quality) -> pd.DataFrame:
    quality = np.asarray(quality, dtype=float)
    df = pd.DataFrame({schema.IMAGE: [str(folder / p) for p in images], schema.NAME: list(names),
                       schema.PROMPT: "", schema.GENERATOR: "natural", schema.GROUP: [str(g) for g in groups],
                       schema.DATASET: dataset, schema.QUALITY: quality})
    span = quality.max() - quality.min()
    df["quality01"] = (quality - quality.min()) / (span if span > 0 else 1.0)
    missing = [p for p in df[schema.IMAGE] if not Path(p).is_file()]
    if missing:
        raise DataError(f"{dataset}: {len(missing)} image(s) listed in the labels are missing, e.g. {missing[:3]}. "
                        f"Get {HINTS[dataset]}.")
    df.attrs["data"] = "synthetic" if (folder / "SYNTHETIC.json").is_file() else "real"
    df.attrs["dataset"] = dataset
    return df


def _mat(path: Path, key: str) -> np.ndarray:
    try:
        return scipy.io.loadmat(path)[key]
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"cannot read {key!r} from {path}: {exc}") from exc


def _strings(cells: np.ndarray) -> list[str]:
    """A MATLAB cell array of strings as Python strings."""
    return [str(np.asarray(c).reshape(-1)[0]) for c in np.asarray(cells).reshape(-1)]


def read_koniq10k(folder: Path) -> pd.DataFrame:
    table = pd.read_csv(folder / LABEL_FILES["koniq10k"])
    if not {"image_name", "MOS"} <= set(table.columns):
        raise DataError(f"{folder / LABEL_FILES['koniq10k']}: needs columns image_name and MOS")
    names = table["image_name"].astype(str)
    return _frame("koniq10k", folder, names, ["1024x768/" + n for n in names], names, table["MOS"])


def read_livec(folder: Path) -> pd.DataFrame:
    names = _strings(_mat(folder / "Data" / "AllImages_release.mat", "AllImages_release"))
    mos = np.asarray(_mat(folder / "Data" / "AllMOS_release.mat", "AllMOS_release"), dtype=float).reshape(-1)
    if len(names) != len(mos):
        raise DataError(f"{folder}: {len(names)} image names but {len(mos)} MOS values")
    names, mos = names[LIVEC_TRAIN_EXAMPLES:], mos[LIVEC_TRAIN_EXAMPLES:]
    return _frame("livec", folder, names, ["Images/" + n for n in names], names, mos)


def read_live(folder: Path) -> pd.DataFrame:
    dmos = np.asarray(_mat(folder / "dmos_realigned.mat", "dmos_new"), dtype=float).reshape(-1)
    orgs = np.asarray(_mat(folder / "dmos_realigned.mat", "orgs")).reshape(-1)
    refs = _strings(_mat(folder / "refnames_all.mat", "refnames_all"))
    paths = [f"{sub}/img{i}.bmp" for sub, count in LIVE_FOLDERS for i in range(1, count + 1)]
    if not len(paths) == len(dmos) == len(orgs) == len(refs):
        raise DataError(f"{folder}: expected {len(paths)} entries in dmos_new, orgs and refnames_all")
    keep = orgs == 0
    paths = [p for p, k in zip(paths, keep) if k]
    groups = [r for r, k in zip(refs, keep) if k]
    return _frame("live", folder, paths, paths, groups, -dmos[keep])


def read_kadid10k(folder: Path) -> pd.DataFrame:
    table = pd.read_csv(folder / LABEL_FILES["kadid10k"])
    if not {"dist_img", "ref_img", "dmos"} <= set(table.columns):
        raise DataError(f"{folder / LABEL_FILES['kadid10k']}: needs columns dist_img, ref_img and dmos")
    names = table["dist_img"].astype(str)
    return _frame("kadid10k", folder, names, ["images/" + n for n in names], table["ref_img"], table["dmos"])


READERS = {"koniq10k": read_koniq10k, "livec": read_livec, "live": read_live, "kadid10k": read_kadid10k}


def load_nriqa(name: str, data_root=None, synthetic: str = "auto", n: int = 48, seed: int = 0) -> pd.DataFrame:
    """One NR-IQA dataset: the real one under ``<data_root>/<folder>`` when its label file is there, else the
    synthetic stand-in (``synthetic="auto"``), written on first use to ``<data_root>/synthetic/<folder>``."""
    if name not in READERS:
        raise DataError(f"unknown NR-IQA dataset {name!r}; choose from {sorted(READERS)}")
    root = Path(data_root or default_data_root())
    real = root / DIRS[name]
    if synthetic != "always" and (real / LABEL_FILES[name]).is_file():
        return READERS[name](real)
    if synthetic == "never":
        raise DataError(f"{name}: no {LABEL_FILES[name]} under {real}. Get {HINTS[name]}.")
    from tfagiqa.data.nriqa_synthetic import ensure_standin

    return READERS[name](ensure_standin(name, root / "synthetic" / DIRS[name], n=n, seed=seed))
