"""Readers, subsets and splits on the official AGIQA-1K / AGIQA-3K label files (counts from SPEC §1.2, §2)."""

import shutil

import numpy as np
import pandas as pd
import pytest

from tfagiqa.data import read_agiqa1k, read_agiqa3k, schema, splits
from tfagiqa.errors import DataError


@pytest.fixture(scope="module")
def agiqa3k(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("AGIQA-3K")
    shutil.copy(shared_data / "agiqa3k_data.csv", folder / "data.csv")
    return read_agiqa3k(folder, require_images=False)


@pytest.fixture(scope="module")
def agiqa1k(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("AGIQA-1K")
    shutil.copy(shared_data / "agiqa1k_AIGC_MOS_Zscore.xlsx", folder / "AIGC_MOS_Zscore.xlsx")
    return read_agiqa1k(folder, require_images=False)


def test_agiqa3k_counts(agiqa3k):
    assert len(agiqa3k) == 2982
    assert agiqa3k[schema.GROUP].nunique() == 300
    assert agiqa3k[schema.PROMPT_LENGTH].value_counts().sort_index().tolist() == [594, 1194, 795, 399]
    assert agiqa3k[schema.T2I_GROUP].value_counts().to_dict() == {"medium": 1490, "good": 892, "bad": 600}
    assert agiqa3k.attrs["data"] == "real"


def test_agiqa3k_prompt_length_is_comma_count(agiqa3k):
    assert (agiqa3k[schema.PROMPT].str.count(",") == agiqa3k[schema.PROMPT_LENGTH]).all()


def test_agiqa3k_labels_and_groups(agiqa3k):
    assert agiqa3k[schema.QUALITY].between(0, 4.49).all()
    assert agiqa3k[schema.ALIGNMENT].between(0.02, 4.29).all()
    # one prompt per group: the prompt id is the prompt
    assert (agiqa3k.groupby(schema.GROUP)[schema.PROMPT].nunique() == 1).all()
    assert set(agiqa3k[schema.GENERATOR]) == {"attngan", "glide", "stable-diffusion", "sdxl", "dalle2", "midjourney"}
    assert agiqa3k[schema.STYLE_GROUP].value_counts().to_dict() == {
        "None": 1587, "Abstract&Sci-fi": 558, "Anime&Realistic": 557, "Baroque": 280}


def test_agiqa1k_counts(agiqa1k):
    assert len(agiqa1k) == 1080
    assert agiqa1k[schema.GROUP].nunique() == 180
    assert agiqa1k[schema.OVERALL].between(0, 5).all()
    assert agiqa1k[schema.GENERATOR].value_counts().to_dict() == {"stable-diffusion-2": 720, "stable-inpainting": 360}
    # each object group is one (main, second) pair of the prompt
    pair = agiqa1k[schema.PROMPT].str.split(", ").str[:2].str.join(", ")
    assert (pair.groupby(agiqa1k[schema.GROUP]).nunique() == 1).all()


def test_grouped_random_splits_are_grouped_and_reproducible(agiqa3k):
    first = splits.grouped_random_splits(agiqa3k, repeats=3, seed=42)
    again = splits.grouped_random_splits(agiqa3k, repeats=3, seed=42)
    assert list(first) == ["ratio802_seed42_split_01", "ratio802_seed42_split_02", "ratio802_seed42_split_03"]
    for name, side in first.items():
        pd.testing.assert_series_equal(side, again[name])
        test_groups = set(agiqa3k.loc[side == "test", schema.GROUP])
        train_groups = set(agiqa3k.loc[side == "train", schema.GROUP])
        assert not test_groups & train_groups
        assert (len(train_groups), len(test_groups)) == (240, 60)
    assert not first["ratio802_seed42_split_01"].equals(first["ratio802_seed42_split_02"])


def test_kfold_covers_every_group_once(agiqa3k):
    folds = splits.grouped_kfold(agiqa3k, k=3, seed=1)
    tested = np.stack([side.eq("test").to_numpy() for side in folds.values()])
    assert (tested.sum(axis=0) == 1).all()
    assert sorted(agiqa3k.loc[tested[i], schema.GROUP].nunique() for i in range(3)) == [100, 100, 100]


def test_bernoulli_split_and_validation_carve_out(agiqa1k):
    side = splits.bernoulli_group_splits(agiqa1k, repeats=1, seed=42)["bernoulli80_seed42_split_01"]
    share = agiqa1k.loc[side == "train", schema.GROUP].nunique() / 180
    assert 0.65 < share < 0.95
    with_val = splits.carve_validation(agiqa1k, side, fraction=0.1, seed=0)
    assert (with_val[side == "test"] == "test").all()
    val_groups = set(agiqa1k.loc[with_val == "val", schema.GROUP])
    assert val_groups and not val_groups & set(agiqa1k.loc[with_val == "train", schema.GROUP])


def test_saved_splits_round_trip(agiqa3k, tmp_path):
    made = splits.grouped_kfold(agiqa3k, k=3, seed=7)
    loaded = splits.load_splits(agiqa3k, splits.save_splits(agiqa3k, made, tmp_path / "s.csv"))
    for name in made:
        assert (loaded[name].to_numpy() == made[name].to_numpy()).all()


def test_renamed_column_names_file_and_column(shared_data, tmp_path):
    raw = pd.read_csv(shared_data / "agiqa3k_data.csv").rename(columns={"mos_align": "alignment"})
    raw.to_csv(tmp_path / "data.csv", index=False)
    with pytest.raises(DataError, match=r"data.csv: missing column\(s\) \['mos_align'\]"):
        read_agiqa3k(tmp_path, require_images=False)


def test_nan_label_and_duplicate_name_name_their_rows(shared_data, tmp_path):
    raw = pd.read_csv(shared_data / "agiqa3k_data.csv")
    raw.loc[4, "mos_quality"] = np.nan
    raw.loc[10, "name"] = raw.loc[9, "name"]
    raw.to_csv(tmp_path / "data.csv", index=False)
    with pytest.raises(DataError) as info:
        read_agiqa3k(tmp_path, require_images=False)
    assert "row 6 (AttnGAN_normal_004.jpg): NaN quality label" in str(info.value)
    assert "row 12 (AttnGAN_normal_009.jpg): duplicate image name" in str(info.value)
    kept = read_agiqa3k(tmp_path, require_images=False, on_error="skip")
    assert len(kept) == 2980
    assert [s["row"] for s in kept.attrs["skipped"]] == [6, 12]


def test_missing_label_file_says_where_to_get_it(tmp_path):
    with pytest.raises(DataError, match="lcysyzxdxc/AGIQA-3k-Database"):
        read_agiqa3k(tmp_path)


def test_missing_image_folder_is_explained(shared_data, tmp_path):
    shutil.copy(shared_data / "agiqa3k_data.csv", tmp_path / "data.csv")
    with pytest.raises(DataError, match="no image folder found"):
        read_agiqa3k(tmp_path)


def test_agiqa1k_official_duplicate_is_kept_and_reported(agiqa1k):
    assert agiqa1k.attrs["notes"] == [
        "row 1081: dreamStudio_8_9_1_1.jpg repeats an earlier row in the official file; kept"]
