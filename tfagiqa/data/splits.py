"""Grouped train/val/test splits: every image of a group (prompt or object pair) lands on the same side.

A split is a pandas Series of "train" / "val" / "test" aligned with the dataset's rows, named after its
protocol, ratio, seed and index (``ratio802_seed42_split_01``, ``kfold3_seed42_fold_1``) so that the
name alone reproduces it. Randomness comes from ``numpy.random.RandomState``, whose stream is frozen
across numpy versions, so the same seed gives the same splits on any machine; the one exception is
``bernoulli_group_splits``, which draws from Python's ``random.Random`` as IP-IQA's official AGIQA-1K code does
(its ``random()`` sequence is guaranteed across Python versions too).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.data import schema
from tfagiqa.errors import DataError

TRAIN, VAL, TEST = "train", "val", "test"


def _groups(df: pd.DataFrame) -> np.ndarray:
    """Sorted unique group keys (sorting makes the permutation independent of row order)."""
    if schema.GROUP not in df.columns:
        raise DataError(f"the DataFrame has no {schema.GROUP!r} column; read it with a tfagiqa.data reader")
    return np.array(sorted(df[schema.GROUP].astype(str).unique()))


def _assign(df: pd.DataFrame, test_groups, val_groups=()) -> pd.Series:
    """A train/val/test Series from the group sets."""
    keys = df[schema.GROUP].astype(str)
    side = np.where(keys.isin(set(test_groups)), TEST, np.where(keys.isin(set(val_groups)), VAL, TRAIN))
    return pd.Series(side, index=df.index)


def _ratio_name(train: float, val: float, test: float) -> str:
    """pyiqa-style ratio tag in tenths: 0.8/0/0.2 → ratio802, 0.7/0.1/0.2 → ratio712."""
    return "ratio" + "".join(str(round(x * 10)) for x in (train, val, test))


def grouped_random_splits(
    df: pd.DataFrame, train_ratio: float = 0.8, repeats: int = 10, seed: int = 42, val_ratio: float = 0.0
) -> dict[str, pd.Series]:
    """N grouped random splits: permute the groups, first ``int(ratio·G)`` train (IP-IQA's AGIQA-3K protocol).

    With ``val_ratio`` > 0 that share of all groups is carved out of train as validation.
    """
    groups = _groups(df)
    rng = np.random.RandomState(seed)
    n_train = int(train_ratio * len(groups))
    n_val = int(round(val_ratio * len(groups)))
    tag = _ratio_name(train_ratio - val_ratio, val_ratio, 1 - train_ratio)
    splits = {}
    for index in range(1, repeats + 1):
        order = groups[rng.permutation(len(groups))]
        splits[f"{tag}_seed{seed}_split_{index:02d}"] = _assign(
            df, test_groups=order[n_train:], val_groups=order[n_train - n_val:n_train]
        )
    return splits


def grouped_kfold(df: pd.DataFrame, k: int = 3, seed: int = 42) -> dict[str, pd.Series]:
    """k grouped folds: the shuffled groups are cut into k near-equal parts; fold i tests on part i."""
    groups = _groups(df)
    if k < 2 or k > len(groups):
        raise ValueError(f"k must be between 2 and the number of groups ({len(groups)}), got {k}")
    parts = np.array_split(groups[np.random.RandomState(seed).permutation(len(groups))], k)
    return {f"kfold{k}_seed{seed}_fold_{i + 1}": _assign(df, test_groups=part) for i, part in enumerate(parts)}


def bernoulli_group_splits(
    df: pd.DataFrame, train_prob: float = 0.8, repeats: int = 10, seed: int = 42
) -> dict[str, pd.Series]:
    """IP-IQA's AGIQA-1K splits, draw for draw: each group goes to train when ``random.random() < train_prob``.

    The official ``train_agiqa1k.py`` (Coobiw/IP-IQA) seeds Python's ``random`` once with 42 and, for each of its
    ten splits, walks the label file's rows; a group (SPEC §1.2's object pair) not seen before in that split takes
    the next draw of the stream. Nothing else draws from that stream between splits (the training uses torch's
    generators), so split k uses draws 180·(k−1) … 180·k − 1 for AGIQA-1K's 180 groups. Here the draws come from
    ``random.Random(seed)`` (whose ``random()`` sequence Python guarantees across versions) and the groups in the
    order they first appear in ``df``, which the readers keep in file order. A Bernoulli draw, so not exactly 80/20.
    """
    if schema.GROUP not in df.columns:
        raise DataError(f"the DataFrame has no {schema.GROUP!r} column; read it with a tfagiqa.data reader")
    groups = list(dict.fromkeys(df[schema.GROUP].astype(str)))
    rng = random.Random(seed)
    tag = f"bernoulli{round(train_prob * 100):02d}"
    splits = {}
    for index in range(1, repeats + 1):
        test_groups = [group for group in groups if not rng.random() < train_prob]
        splits[f"{tag}_seed{seed}_split_{index:02d}"] = _assign(df, test_groups=test_groups)
    return splits


def carve_validation(df: pd.DataFrame, split: pd.Series, fraction: float = 0.1, seed: int = 0) -> pd.Series:
    """Move ``fraction`` of the training groups to validation (for validation-based epoch selection)."""
    train_groups = np.array(sorted(df.loc[split == TRAIN, schema.GROUP].astype(str).unique()))
    n_val = max(1, int(round(fraction * len(train_groups))))
    chosen = train_groups[np.random.RandomState(seed).permutation(len(train_groups))[:n_val]]
    out = split.copy()
    out[(split == TRAIN) & df[schema.GROUP].astype(str).isin(set(chosen))] = VAL
    return out


def save_splits(df: pd.DataFrame, splits: dict[str, pd.Series], path: str | Path) -> Path:
    """Write the image names and one column per split to CSV (atomically), so runs can share and publish them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame({schema.NAME: df[schema.NAME], **splits})
    tmp = path.with_suffix(path.suffix + ".tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def load_splits(df: pd.DataFrame, path: str | Path) -> dict[str, pd.Series]:
    """Read splits saved by ``save_splits`` and align them with ``df`` by image name."""
    table = pd.read_csv(path).set_index(schema.NAME)
    missing = set(df[schema.NAME]) - set(table.index)
    if missing:
        raise DataError(f"{path}: {len(missing)} image(s) of the dataset have no split, e.g. {sorted(missing)[:3]}")
    return {c: pd.Series(table.loc[df[schema.NAME], c].to_numpy(), index=df.index) for c in table.columns}
