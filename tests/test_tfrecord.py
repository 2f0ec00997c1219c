"""TFRecord shards round-trip a synthetic dataset exactly, and the pipeline reads them when present."""

import numpy as np
import pandas as pd
import pytest

from tfagiqa.cli import main
from tfagiqa.data import read_agiqa3k, schema
from tfagiqa.data.images import load_image
from tfagiqa.data.pipeline import make_dataset
from tfagiqa.data.synthetic import write_synthetic
from tfagiqa.data.tfrecord import examples, make_tfrecord_dataset, tfrecord_frame
from tfagiqa.errors import DataError


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    folder = write_synthetic("agiqa3k", tmp_path_factory.mktemp("tf") / "AGIQA-3K", n=48)
    assert main(["datasets", "to-tfrecord", "--dataset", "agiqa3k", "--data-root", str(folder),
                 "--shard-size", "0.05"]) == 0
    return folder


def test_round_trip_rows_and_pixels(sharded):
    df = read_agiqa3k(sharded)
    assert df.attrs["tfrecords"] == str(sharded / "tfrecords")
    assert len(list((sharded / "tfrecords").glob("*.tfrecord"))) > 1
    back = tfrecord_frame(sharded / "tfrecords")
    assert back["name"].tolist() == df["name"].tolist()
    assert back["prompt"].tolist() == df["prompt"].tolist()
    np.testing.assert_array_equal(back["quality"].to_numpy(np.float32), df["quality"].to_numpy(np.float32))
    assert back["group"].tolist() == df["group"].tolist() and back.attrs["data"] == "synthetic"
    from tfagiqa.data.images import decode_image_bytes

    for example, path in zip(examples(sharded / "tfrecords").take(5), df[schema.IMAGE]):
        np.testing.assert_array_equal(decode_image_bytes(example["image"].numpy()), load_image(path))


def test_pipeline_reads_shards_with_the_same_output(sharded):
    df = read_agiqa3k(sharded)
    subset = df.iloc[::3]
    from_shards = list(make_dataset(subset, ["quality"], image_size=32, batch_size=8))
    plain = subset.copy()
    plain.attrs = {}
    from_files = list(make_dataset(plain, ["quality"], image_size=32, batch_size=8))
    assert len(from_shards) == len(from_files)
    for (xs, ys), (xf, yf) in zip(from_shards, from_files):
        np.testing.assert_array_equal(xs.numpy(), xf.numpy())
        np.testing.assert_array_equal(ys.numpy(), yf.numpy())


def test_out_of_order_rows_fall_back_to_files_and_unknown_labels_fail(sharded):
    df = read_agiqa3k(sharded).iloc[::-1]
    first = next(iter(make_dataset(df, ["quality"], image_size=32, batch_size=4)))[1].numpy()[:, 0]
    np.testing.assert_allclose(first, df["quality"].to_numpy(np.float32)[:4])
    with pytest.raises(DataError, match="no label"):
        make_tfrecord_dataset(sharded / "tfrecords", ["authenticity"])


def test_existing_output_is_refused(sharded, capsys):
    code = main(["datasets", "to-tfrecord", "--dataset", "agiqa3k", "--data-root", str(sharded)])
    assert code == 2 and "already exists" in capsys.readouterr().err
    assert isinstance(pd.read_json(sharded / "tfrecords" / "manifest.json", typ="series")["count"], (int, np.integer))
