"""The benchmark's splits: one set of train/test sides per dataset, shared by every method and saved beside the
results, so that every method sees the same test images and a later run (or another machine) reuses them.

Protocols:

* ``benchmark`` (default): grouped random 80/20 splits (every image of a prompt or object group on one side),
  seed 42, ``ratio802_seed42_split_01`` …, for any dataset;
* ``ipiqa``: IP-IQA's ten grouped splits, split for split (AGIQA-1K: the official per-group Bernoulli draw;
  AGIQA-3K: the official permutation of the prompt ids), ``tfagiqa.methods.ipiqa.protocol.repeat_splits``;
* ``sfiqa``: SF-IQA's splits (AIGIQA-20K: the stratified 80/20 split of ``tfagiqa.methods.sfiqa.split``, one only;
  AGIQA-3K: grouped 80/20 by prompt, seed 42), so the papers' tables can read rows made under their protocol.

The file is ``<folder>/<dataset>_<protocol>.csv``: the image name and one column per split (``train``/``test``).
Splits already in it are read back rather than drawn again; missing ones are drawn and added.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tfagiqa.data import splits
from tfagiqa.errors import DataError, TfagiqaError

PROTOCOLS = ("benchmark", "ipiqa", "sfiqa")
SPLIT_SEED = 42
COVERS = {"ipiqa": ("agiqa1k", "agiqa3k"), "sfiqa": ("agiqa3k", "aigiqa20k")}


def draw(df: pd.DataFrame, dataset: str, protocol: str, repeats: int) -> dict[str, pd.Series]:
    """The protocol's splits of ``df`` (name → train/test Series), drawn afresh."""
    if protocol not in PROTOCOLS:
        raise TfagiqaError(f"unknown split protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if protocol in COVERS and dataset not in COVERS[protocol]:
        raise TfagiqaError(f"the {protocol} split protocol covers {' and '.join(COVERS[protocol])} only, not "
                           f"{dataset}; use --splits benchmark")
    if protocol == "ipiqa":
        from tfagiqa.methods.ipiqa.protocol import repeat_splits

        return repeat_splits(df, dataset, repeats)
    if protocol == "sfiqa" and dataset == "aigiqa20k":
        from tfagiqa.methods.sfiqa.split import split_name, stratified_split

        return {split_name(): stratified_split(df)}
    return splits.grouped_random_splits(df, 0.8, repeats, seed=SPLIT_SEED)


def split_file(folder: str | Path, dataset: str, protocol: str) -> Path:
    """Where a dataset's splits under a protocol are kept."""
    return Path(folder) / f"{dataset}_{protocol}.csv"


def read(df: pd.DataFrame, path: Path) -> dict[str, pd.Series]:
    """The splits saved at ``path``, aligned with ``df``; an error when they do not fit this dataset."""
    try:
        saved = splits.load_splits(df, path)
    except (DataError, KeyError, ValueError) as exc:
        raise DataError(f"{path} does not hold splits of this dataset ({exc}); delete it or choose another --out")
    for name, side in saved.items():
        odd = sorted(set(side.astype(str)) - {splits.TRAIN, splits.TEST})
        if odd:
            raise DataError(f"{path}: split {name} has side(s) {odd}; only train and test are allowed")
    return saved


def sides(df: pd.DataFrame, dataset: str, protocol: str, repeats: int, folder: str | Path) -> dict[str, pd.Series]:
    """The protocol's first ``repeats`` splits of ``df`` (one for SF-IQA's AIGIQA-20K split), read from the split
    file where it has them, drawn and saved there otherwise."""
    if repeats < 1:
        raise TfagiqaError(f"--repeats must be at least 1, got {repeats}")
    path = split_file(folder, dataset, protocol)
    drawn = draw(df, dataset, protocol, repeats)
    saved = read(df, path) if path.is_file() else {}
    if any(name not in saved for name in drawn):
        saved = {**saved, **{name: side for name, side in drawn.items() if name not in saved}}
        splits.save_splits(df, saved, path)
    return {name: saved[name] for name in drawn}


def tag(name: str) -> tuple[str, int]:
    """(split family, 1-based index) of a split name: ``ratio802_seed42_split_03`` → (``ratio802_seed42``, 3)."""
    family, sep, index = name.rpartition("_split_")
    return (family, int(index)) if sep and index.isdigit() else (name, 1)

