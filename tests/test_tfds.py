"""tfds.load works on a synthetic stand-in placed as the manual download."""

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

import tfagiqa.data.tfds_builders  # noqa: E402,F401  (registers the builders)
from tfagiqa.data import read_agiqa3k  # noqa: E402
from tfagiqa.data.images import load_image  # noqa: E402
from tfagiqa.data.synthetic import write_synthetic  # noqa: E402


def test_tfds_load_agiqa3k_from_manual_dir(tmp_path):
    manual = write_synthetic("agiqa3k", tmp_path / "AGIQA-3K", n=48)
    df = read_agiqa3k(manual).set_index("name")
    ds = tfds.load("agiqa3k", split="train", data_dir=str(tmp_path / "tfds"), download_and_prepare_kwargs={
        "download_config": tfds.download.DownloadConfig(manual_dir=str(manual))})
    seen = 0
    for example in tfds.as_numpy(ds):
        name = example["name"].decode()
        assert example["prompt"].decode() == df.at[name, "prompt"]
        assert np.isclose(example["quality"], df.at[name, "quality"])
        np.testing.assert_array_equal(example["image"], load_image(df.at[name, "image"]))
        seen += 1
    assert seen == len(df)


def test_missing_manual_dir_is_explained(tmp_path):
    with pytest.raises(Exception, match="manual"):
        tfds.load("aigciqa2023", split="train", data_dir=str(tmp_path / "tfds"))


def test_every_record_with_a_tfds_name_has_its_builder():
    from tfagiqa.data import registry

    named = [r for r in registry.records() if r.tfds_name]
    assert {r.name for r in named} == set(registry.names(registry.AIGC))
    for record in named:
        assert tfds.builder_cls(record.tfds_name).DATASET == record.name


def test_tfds_load_pku_i2iqa_with_its_three_labels(tmp_path):
    from tfagiqa.data.pku_i2iqa import read_pku_i2iqa

    manual = write_synthetic("pku_i2iqa", tmp_path / "PKU-I2IQA", n=16, image_size=32)
    df = read_pku_i2iqa(manual).set_index("name")
    ds = tfds.load("pku_i2iqa", split="train", data_dir=str(tmp_path / "tfds"), download_and_prepare_kwargs={
        "download_config": tfds.download.DownloadConfig(manual_dir=str(manual))})
    examples = {e["name"].decode(): e for e in tfds.as_numpy(ds)}
    assert set(examples) == set(df.index)
    for name, example in examples.items():
        for label in ("quality", "authenticity", "alignment"):
            assert np.isclose(example[label], df.at[name, label])
        assert example["group"].decode() == df.at[name, "group"]
