"""SF-IQA's custom AIGIQA-20K split (§4.1, Fig. 3–4): the 14,000 labelled images → 11,200 train / 2,800 test,
stratified by generator and, within each generator, by MOS, so both sides keep the same MOS and generator
distributions.

The paper's own split is unpublished; this one is seeded and saved (``save_split``) so runs can share it. The test
side has exactly ``round(0.2·N)`` images (2,800 of 14,000); on a smaller stand-in the sizes scale proportionally.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfagiqa.data import schema, splits
from tfagiqa.errors import DataError

TRAIN_SIZE, TEST_SIZE = 11_200, 2_800
SEED = 2024


def split_name(seed: int = SEED) -> str:
    """Column name of the split, in the package's naming (ratio + seed)."""
    return f"sfiqa_stratified_ratio802_seed{seed}"


def _largest_remainder(sizes: dict[str, int], total: int, rng: np.random.RandomState) -> dict[str, int]:
    """Integer shares of ``total`` proportional to ``sizes`` (ties in the remainders broken at random)."""
    whole = sum(sizes.values())
    exact = {k: total * v / whole for k, v in sizes.items()}
    quota = {k: int(np.floor(v)) for k, v in exact.items()}
    order = sorted(sizes, key=lambda k: (-(exact[k] - quota[k]), rng.random_sample()))
    for k in order[:total - sum(quota.values())]:
        quota[k] += 1
    return quota


def stratified_split(df: pd.DataFrame, test_share: float = TEST_SIZE / (TRAIN_SIZE + TEST_SIZE),
                     seed: int = SEED, mos_column: str = schema.OVERALL) -> pd.Series:
    """A "train"/"test" Series over ``df`` (AIGIQA-20K's labelled rows), stratified by generator, then by MOS.

    Each generator gets its proportional share of the test images (largest remainder); inside a generator the
    images are sorted by MOS, cut into as many consecutive blocks as it sends to test, and one image per block is
    drawn, so the test MOS distribution follows the generator's own.
    """
    if mos_column not in df.columns or df[mos_column].isna().any():
        raise DataError(f"the stratified split needs a complete {mos_column!r} column (the labelled train rows)")
    rng = np.random.RandomState(seed)
    groups = {str(g): part for g, part in df.groupby(schema.GENERATOR, sort=True)}
    quota = _largest_remainder({g: len(p) for g, p in groups.items()}, int(round(test_share * len(df))), rng)
    side = pd.Series(splits.TRAIN, index=df.index)
    for generator, part in groups.items():
        if quota[generator] == 0:
            continue
        ranked = part.sort_values(mos_column, kind="mergesort").index.to_numpy()
        for block in np.array_split(ranked, quota[generator]):
            side.loc[block[rng.randint(len(block))]] = splits.TEST
    return side


def save_split(df: pd.DataFrame, side: pd.Series, path: str | Path, seed: int = SEED) -> Path:
    """Write the split (image name → train/test) as CSV, atomically."""
    return splits.save_splits(df, {split_name(seed): side}, path)


def load_or_make(df: pd.DataFrame, path: str | Path, seed: int = SEED) -> pd.Series:
    """The saved split when ``path`` exists and covers ``df``, else a new one saved there."""
    path = Path(path)
    if path.is_file():
        saved = splits.load_splits(df, path)
        if split_name(seed) in saved:
            return saved[split_name(seed)]
    side = stratified_split(df, seed=seed)
    save_split(df, side, path, seed)
    return side
