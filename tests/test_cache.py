"""Feature cache: reuse without recomputation, key sensitivity, atomic writes, row alignment, reproducible views."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from PIL import Image

from tfagiqa.data.cache import FeatureCache, key_hash
from tfagiqa.data.pipeline import make_dataset
from tfagiqa.errors import DataError

KEY = {"dataset": "toy", "backbone": "thumbnail", "weights": "none"}


class Thumbnail:
    """A stand-in backbone: every 8th pixel flattened (not flip-invariant), counting its calls."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.calls = 0
        self.fail_on_call = fail_on_call

    def __call__(self, images: tf.Tensor) -> tf.Tensor:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("backbone crashed")
        return tf.reshape(images[:, ::8, ::8, :], [tf.shape(images)[0], -1])


@pytest.fixture
def df(tmp_path: Path) -> pd.DataFrame:
    """Five noise images of different sizes in a canonical DataFrame."""
    rng = np.random.default_rng(1)
    paths = []
    for i, (h, w) in enumerate([(32, 40), (48, 32), (40, 40), (64, 48), (36, 52)]):
        paths.append(str(tmp_path / f"img{i}.png"))
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(paths[-1])
    return pd.DataFrame({"image": paths, "prompt": ["p"] * 5, "quality": np.arange(5.0)})


def cache_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_second_call_reuses_the_cache_and_equals_direct_computation(df, tmp_path):
    cache, backbone = FeatureCache(tmp_path / "cache"), Thumbnail()
    first = cache.get_or_compute(KEY, df, backbone, image_size=32, batch_size=2, progress=False)
    assert backbone.calls == 3 and first.shape == (5, 4 * 4 * 3)
    second = cache.get_or_compute(KEY, df, backbone, image_size=32, batch_size=2, progress=False)
    assert backbone.calls == 3
    np.testing.assert_array_equal(first, second)
    direct = np.concatenate([Thumbnail()(batch).numpy() for batch in make_dataset(df, image_size=32)])
    np.testing.assert_array_equal(first, direct)


def test_entry_files_and_sidecar(df, tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    features = cache.get_or_compute(KEY, df, Thumbnail(), image_size=32, progress=False)
    (sidecar,) = (tmp_path / "cache").glob("*.json")
    npy = sidecar.with_suffix(".npy")
    assert cache_files(tmp_path / "cache") == sorted([npy.name, sidecar.name])
    meta = json.loads(sidecar.read_text())
    assert meta["key"]["backbone"] == "thumbnail" and meta["key"]["pipeline"]["view"] == 0
    assert meta["images"] == df["image"].tolist() and meta["shape"] == [5, 48]
    np.testing.assert_array_equal(np.load(npy), features)


@pytest.mark.parametrize(
    "change",
    [{"key": {**KEY, "weights": "other"}}, {"image_size": 40}, {"crop": "center_crop"}, {"view": 1}],
)
def test_a_different_key_or_pipeline_recomputes(df, tmp_path, change):
    cache, backbone = FeatureCache(tmp_path / "cache"), Thumbnail()
    cache.get_or_compute(KEY, df, backbone, image_size=32, batch_size=8, progress=False)
    options = {"key": KEY, "image_size": 32, **change}
    cache.get_or_compute(options.pop("key"), df, backbone, batch_size=8, progress=False, **options)
    assert backbone.calls == 2
    assert len(cache_files(tmp_path / "cache")) == 4


def test_crash_midway_leaves_no_entry(df, tmp_path):
    root = tmp_path / "cache"
    with pytest.raises(RuntimeError, match="crashed"):
        FeatureCache(root).get_or_compute(
            KEY, df, Thumbnail(fail_on_call=2), image_size=32, batch_size=2, progress=False
        )
    assert cache_files(root) == []
    backbone = Thumbnail()
    FeatureCache(root).get_or_compute(KEY, df, backbone, image_size=32, batch_size=2, progress=False)
    assert backbone.calls == 3 and not any(name.endswith(".tmp") for name in cache_files(root))


def test_failed_write_keeps_no_partial_file(df, tmp_path, monkeypatch):
    root = tmp_path / "cache"
    def broken_save(file, array, allow_pickle=False):
        file.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        FeatureCache(root).get_or_compute(KEY, df, Thumbnail(), image_size=32, progress=False)
    assert cache_files(root) == []


def test_rows_are_aligned_by_image_path(df, tmp_path):
    cache, backbone = FeatureCache(tmp_path / "cache"), Thumbnail()
    full = cache.get_or_compute(KEY, df, backbone, image_size=32, progress=False)
    subset = df.iloc[[4, 0, 2]]
    rows = cache.get_or_compute(KEY, subset, backbone, image_size=32, progress=False)
    assert backbone.calls == 1
    np.testing.assert_array_equal(rows, full[[4, 0, 2]])


def test_an_image_not_in_the_entry_recomputes_the_whole_frame(df, tmp_path):
    cache, backbone = FeatureCache(tmp_path / "cache"), Thumbnail()
    cache.get_or_compute(KEY, df.iloc[:3], backbone, image_size=32, progress=False)
    features = cache.get_or_compute(KEY, df, backbone, image_size=32, progress=False)
    assert backbone.calls == 2 and features.shape[0] == 5
    cache.get_or_compute(KEY, df, backbone, image_size=32, progress=False)
    assert backbone.calls == 2


def test_augmented_views_are_reproducible_and_differ_from_view_0(df, tmp_path):
    def features(root: str, view: int) -> np.ndarray:
        return FeatureCache(tmp_path / root).get_or_compute(KEY, df, Thumbnail(), image_size=32, view=view,
                                                            augment={"flip": True, "rotation": 10}, progress=False)

    view1 = features("a", 1)
    np.testing.assert_array_equal(view1, features("b", 1))
    assert not np.array_equal(view1, features("a", 0))
    assert not np.array_equal(view1, features("a", 2))


def test_unreadable_entry_is_recomputed(df, tmp_path):
    cache, backbone = FeatureCache(tmp_path / "cache"), Thumbnail()
    expected = cache.get_or_compute(KEY, df, backbone, image_size=32, progress=False)
    for npy in (tmp_path / "cache").glob("*.npy"):
        npy.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable"):
        again = cache.get_or_compute(KEY, df, backbone, image_size=32, progress=False)
    assert backbone.calls == 2
    np.testing.assert_array_equal(again, expected)


def test_bad_image_is_a_data_error_naming_the_file(df, tmp_path):
    bad = Path(df["image"][3])
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(DataError, match=f"cannot read image {bad}"):
        FeatureCache(tmp_path / "cache").get_or_compute(KEY, df, Thumbnail(), image_size=32, progress=False)
    assert cache_files(tmp_path / "cache") == []


def test_key_hash_is_stable_sorted_json_sha256():
    assert key_hash({"b": 2, "a": [1, "x"]}) == key_hash({"a": [1, "x"], "b": 2})
    assert key_hash({"b": 2, "a": 1}) == hashlib.sha256(b'{"a":1,"b":2}').hexdigest()[:32]
    assert key_hash({"a": 1}) != key_hash({"a": 2})
    with pytest.raises(TypeError, match="JSON-serialisable"):
        key_hash({"a": object()})
