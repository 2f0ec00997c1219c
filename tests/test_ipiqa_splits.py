"""IP-IQA's ten grouped splits equal the official ones, test set for test set, on the real label files.

The official test sets are in tests/data/ipiqa_official_test_sets.csv (tests/data/README.md says how they were made).
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tfagiqa.data import schema
from tfagiqa.data.agiqa1k import read_agiqa1k
from tfagiqa.data.agiqa3k import read_agiqa3k
from tfagiqa.methods.ipiqa.protocol import repeat_splits

OFFICIAL = Path(__file__).parent / "data" / "ipiqa_official_test_sets.csv"
READERS = {"agiqa1k": (read_agiqa1k, "agiqa1k_AIGC_MOS_Zscore.xlsx", "AIGC_MOS_Zscore.xlsx"),
           "agiqa3k": (read_agiqa3k, "agiqa3k_data.csv", "data.csv")}


def labels(dataset: str, shared_data: Path, folder: Path) -> pd.DataFrame:
    """The real label file of one dataset read by the package's reader (no images needed for splits)."""
    reader, source, name = READERS[dataset]
    folder.mkdir()
    shutil.copy(shared_data / source, folder / name)
    return reader(folder, require_images=False)


@pytest.mark.parametrize("dataset,tag", [("agiqa1k", "bernoulli80_seed42"), ("agiqa3k", "ratio802_seed42")])
def test_repeat_splits_are_the_official_test_sets(dataset, tag, shared_data, tmp_path):
    df = labels(dataset, shared_data, tmp_path / dataset)
    official = pd.read_csv(OFFICIAL)
    official = official[official["dataset"] == dataset]
    made = repeat_splits(df, dataset, 10)
    assert list(made) == [f"{tag}_split_{k:02d}" for k in range(1, 11)]
    for k, side in enumerate(made.values(), start=1):
        expected = official.loc[official["split"] == k, "image"].tolist()
        assert df.loc[side == "test", schema.NAME].tolist() == expected, f"{dataset} split {k}"
        assert set(side) == {"train", "test"}


def test_fewer_repeats_are_the_first_official_splits(shared_data, tmp_path):
    df = labels("agiqa1k", shared_data, tmp_path / "agiqa1k")
    ten, three = repeat_splits(df, "agiqa1k", 10), repeat_splits(df, "agiqa1k", 3)
    for name, side in three.items():
        pd.testing.assert_series_equal(side, ten[name])
