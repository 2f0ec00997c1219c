"""Readers for the natural-image NR-IQA datasets SF-IQA pre-trains its quality branch on (§4.2).

Their folders, label files and scores are in their registry records (:mod:`tfagiqa.data.registry`,
docs/datasets.md). Every reader returns canonical columns (``image``, ``name``, ``group`` = the reference scene,
``dataset``) plus ``quality`` (the published score, higher = better; LIVE's DMOS is negated) and ``quality01``
(min–max scaled to [0, 1] within the dataset, so several datasets can train one model together). LIVE
Challenge's first 7 images (its training examples) are dropped, as HyperIQA does; LIVE's reference images
(``orgs == 1``) too.
``tfagiqa.data.load_nriqa`` finds the folder (or writes the synthetic stand-in) and calls these readers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.data import labels, schema
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


def _frame(dataset: str, folder: Path, source: Path, names: list[str], images: list[str], groups: list,
           quality: np.ndarray, rows: list[int], cells: pd.Series) -> pd.DataFrame:
    """Canonical rows, after checking every one (a DataError lists the bad rows: these readers have no skip mode)."""
    quality = np.asarray(quality, dtype=float)
    if len(names) == 0:
        raise DataError(f"{source} lists no images. Get {HINTS[dataset]}.")
    problems = {i: "no image name" for i, name in enumerate(names) if not name}
    for i in np.flatnonzero(~np.isfinite(quality)):
        problems.setdefault(int(i), labels.label_problem(schema.QUALITY, str(cells.name), cells.iat[i], quality[i]))
    for i, image in enumerate(images):
        if i not in problems and (problem := labels.image_problem(folder / image)):
            problems[i] = problem
    if problems:
        listed = "\n".join(f"  row {rows[i]} ({names[i] or '?'}): {m}" for i, m in sorted(problems.items())[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise DataError(f"{source}: {len(problems)} bad row(s):\n{listed}{more}\nFix the file, or get {HINTS[dataset]}.")
    df = pd.DataFrame({schema.IMAGE: [str(folder / p) for p in images], schema.NAME: list(names),
                       schema.PROMPT: "", schema.GENERATOR: "natural", schema.GROUP: [str(g) for g in groups],
                       schema.DATASET: dataset, schema.QUALITY: quality})
    span = quality.max() - quality.min()
    df["quality01"] = (quality - quality.min()) / (span if span > 0 else 1.0)
    df.attrs["data"] = "synthetic" if (folder / labels.SYNTHETIC_MARKER).is_file() else "real"
    df.attrs["dataset"] = dataset
    return df


def _table(folder: Path, dataset: str, columns: list[str]) -> pd.DataFrame:
    """The dataset's CSV label file with the columns it needs (DataError when absent, malformed or empty)."""
    source = folder / LABEL_FILES[dataset]
    table = labels.read_csv(labels.require_file(source, dataset, f"Get {HINTS[dataset]}."))
    labels.require_columns(table, columns, source)
    labels.require_rows(table, source)
    return table


def _strings(path: Path, key: str) -> list[str]:
    """A MATLAB cell array of strings as Python strings (a DataError names an element that is not text)."""
    values, cells = labels.mat_column(labels.require_file(path, "NR-IQA", "the dataset's .mat files"), key)
    for i, cell in enumerate(cells):
        if not isinstance(cell, str) or not cell.strip():
            raise DataError(f"{path}: element {i} of {key} is {cell!r}, not a file name")
    return [c.strip() for c in cells]


def _mat(path: Path, key: str) -> tuple[np.ndarray, pd.Series]:
    """One numeric variable of a .mat file with its cells (a DataError when the file or variable is missing)."""
    return labels.mat_column(labels.require_file(path, "NR-IQA", "the dataset's .mat files"), key)


def read_koniq10k(folder: Path) -> pd.DataFrame:
    """KonIQ-10k: the CSV's image_name and MOS (1–5); every image is its own group (no reference scenes)."""
    table = _table(folder, "koniq10k", ["image_name", "MOS"])
    names, _ = labels.text_cells(table["image_name"], "image name")
    return _frame("koniq10k", folder, folder / LABEL_FILES["koniq10k"], names, ["1024x768/" + n for n in names],
                  names, labels.numbers(table["MOS"]).to_numpy(), table.attrs["rows"], table["MOS"])


def read_livec(folder: Path) -> pd.DataFrame:
    """LIVE Challenge: names and MOS (0–100) from the two .mat files, without the first 7 (training examples)."""
    names = _strings(folder / "Data" / "AllImages_release.mat", "AllImages_release")
    mos, cells = _mat(folder / "Data" / "AllMOS_release.mat", "AllMOS_release")
    if len(names) != len(mos):
        raise DataError(f"{folder}: {len(names)} image names but {len(mos)} MOS values")
    names, mos, cells = names[LIVEC_TRAIN_EXAMPLES:], mos[LIVEC_TRAIN_EXAMPLES:], cells[LIVEC_TRAIN_EXAMPLES:]
    rows = list(range(LIVEC_TRAIN_EXAMPLES, LIVEC_TRAIN_EXAMPLES + len(names)))
    return _frame("livec", folder, folder / LABEL_FILES["livec"], names, ["Images/" + n for n in names], names, mos,
                  rows, cells)


def read_live(folder: Path) -> pd.DataFrame:
    """LIVE release 2: the distorted images (``orgs == 0``) with their DMOS negated; groups are reference images."""
    dmos, cells = _mat(folder / "dmos_realigned.mat", "dmos_new")
    orgs, _ = _mat(folder / "dmos_realigned.mat", "orgs")
    refs = _strings(folder / "refnames_all.mat", "refnames_all")
    paths = [f"{sub}/img{i}.bmp" for sub, count in LIVE_FOLDERS for i in range(1, count + 1)]
    if not len(paths) == len(dmos) == len(orgs) == len(refs):
        raise DataError(f"{folder}: expected {len(paths)} entries in dmos_new, orgs and refnames_all; found "
                        f"{len(dmos)}, {len(orgs)} and {len(refs)}")
    keep = np.flatnonzero(orgs == 0)
    return _frame("live", folder, folder / LABEL_FILES["live"], [paths[k] for k in keep], [paths[k] for k in keep],
                  [refs[k] for k in keep], -dmos[keep], keep.tolist(), cells.iloc[keep])


def read_kadid10k(folder: Path) -> pd.DataFrame:
    """KADID-10k: dist_img and its score (column ``dmos``, 1–5, higher is better); groups are reference images."""
    table = _table(folder, "kadid10k", ["dist_img", "ref_img", "dmos"])
    names, _ = labels.text_cells(table["dist_img"], "image name")
    return _frame("kadid10k", folder, folder / LABEL_FILES["kadid10k"], names, ["images/" + n for n in names],
                  table["ref_img"].fillna(""), labels.numbers(table["dmos"]).to_numpy(), table.attrs["rows"],
                  table["dmos"])

