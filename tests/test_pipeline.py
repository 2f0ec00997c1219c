"""Image decoding of every Pillow mode, and the tf.data pipeline's crops, determinism, augmentation and errors."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from PIL import Image

from tfagiqa.data.images import check_image, load_image
from tfagiqa.data.pipeline import augmentation, fixed_crop_offsets, make_dataset, surface_data_errors
from tfagiqa.errors import DataError

RNG = np.random.default_rng(0)


def noise(height: int, width: int) -> np.ndarray:
    """Random uint8 RGB pixels (no symmetry, so flips and crops are visible)."""
    return RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)


def smooth(height: int, width: int) -> np.ndarray:
    """A smooth RGB gradient that JPEG compresses with little error."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // (width - 1), y * 255 // (height - 1), np.full_like(x, 90)], -1).astype(np.uint8)


def png16_rgb(path: Path, pixels: np.ndarray) -> None:
    """Write a 16-bit-per-channel RGB PNG by hand (Pillow cannot write one)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    height, width, _ = pixels.shape
    rows = b"".join(b"\x00" + pixels[r].astype(">u2").tobytes() for r in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)


def frame(paths: list[Path], **columns) -> pd.DataFrame:
    """A canonical DataFrame over ``paths`` with two label columns and prompts."""
    n = len(paths)
    return pd.DataFrame({
        "image": [str(p) for p in paths],
        "prompt": [f"prompt {i}" for i in range(n)],
        "quality": np.arange(n, dtype=float) + 0.5,
        "alignment": np.arange(n, dtype=float) * 2.0,
        **columns,
    })


def collect(ds: tf.data.Dataset) -> np.ndarray:
    """All images of a label-free dataset, concatenated along the batch axis."""
    return np.concatenate([batch.numpy() for batch in ds])


@pytest.fixture
def sized_images(tmp_path: Path) -> tuple[list[Path], list[np.ndarray]]:
    """Four noise PNGs of different sizes, and their pixels."""
    arrays = [noise(40, 56), noise(48, 64), noise(32, 32), noise(64, 50)]
    paths = []
    for i, array in enumerate(arrays):
        paths.append(tmp_path / f"img{i}.png")
        Image.fromarray(array).save(paths[-1])
    return paths, arrays


# ---- images.py ------------------------------------------------------------------------------------------


def test_rgb_png_is_exact(tmp_path):
    pixels = noise(33, 47)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.shape == (33, 47, 3)
    np.testing.assert_array_equal(out, pixels)
    assert check_image(tmp_path / "a.png") is None


def test_grayscale_and_one_bit_become_three_equal_channels(tmp_path):
    gray = RNG.integers(0, 256, (32, 40), dtype=np.uint8)
    Image.fromarray(gray, "L").save(tmp_path / "g.png")
    np.testing.assert_array_equal(load_image(tmp_path / "g.png"), np.repeat(gray[..., None], 3, -1))
    bits = RNG.integers(0, 2, (32, 40)).astype(bool)
    Image.fromarray(bits).save(tmp_path / "b.png")
    assert Image.open(tmp_path / "b.png").mode == "1"
    np.testing.assert_array_equal(load_image(tmp_path / "b.png"), np.repeat(bits[..., None] * 255, 3, -1))


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., :3] = (200, 100, 0)
    rgba[:, :16, 3] = 255   # opaque half keeps its colour
    rgba[:, 16:, 3] = 0     # transparent half is white
    rgba[:4, :4, 3] = 128   # half-transparent: the colour blended halfway to white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png").astype(int)
    assert (out[8:, :16] == (200, 100, 0)).all()
    assert (out[:, 16:] == 255).all()
    expected = np.array([200, 100, 0]) * 128 / 255 + 255 * (1 - 128 / 255)
    assert np.abs(out[:4, :4] - expected).max() <= 1

    la = np.stack([np.full((32, 32), 60, np.uint8), np.tile(np.array([0, 255], np.uint8), (32, 16))], -1)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    out = load_image(tmp_path / "la.png")
    assert (out[:, 0::2] == 255).all() and (out[:, 1::2] == 60).all()


def test_palette_with_and_without_transparency(tmp_path):
    indices = np.tile(np.array([0, 1, 2], np.uint8), (30, 11))[:, :32]
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (768 - 9)
    image = Image.fromarray(indices, "P")
    image.putpalette(palette)
    image.save(tmp_path / "p.png")
    colours = np.array(palette[:9]).reshape(3, 3)
    np.testing.assert_array_equal(load_image(tmp_path / "p.png"), colours[indices])
    image.save(tmp_path / "pt.png", transparency=1)
    expected = colours[indices]
    expected[indices == 1] = 255
    np.testing.assert_array_equal(load_image(tmp_path / "pt.png"), expected)


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    pixels = smooth(48, 64)
    Image.fromarray(pixels).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    out = load_image(tmp_path / "c.jpg")
    assert out.shape == (48, 64, 3)
    assert np.abs(out.astype(int) - pixels).mean() < 3


@pytest.mark.parametrize(
    "mode, dtype, suffix", [("I;16", "<u2", ".png"), ("I;16B", ">u2", ".tif"), ("I", "<i4", ".tif")]
)
def test_16bit_grayscale_is_scaled_not_clipped(tmp_path, mode, dtype, suffix):
    values = np.array([[0, 257, 1000, 32896, 65535]] * 32, dtype=dtype)
    path = tmp_path / f"g16{suffix}"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode == mode
    out = load_image(path)
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 4, 128, 255])
    assert (out == out[..., :1]).all()


def test_16bit_rgb_png_keeps_the_high_byte(tmp_path):
    pixels = np.zeros((32, 32, 3), np.uint16)
    pixels[..., 0] = 65535
    pixels[..., 1] = 0x8000
    pixels[..., 2] = 0x00FF
    png16_rgb(tmp_path / "rgb16.png", pixels)
    out = load_image(tmp_path / "rgb16.png")
    assert (out == (255, 128, 0)).all()


def test_grayscale_jpeg(tmp_path):
    gray = smooth(32, 48)[..., 0]
    Image.fromarray(gray, "L").save(tmp_path / "g.jpg", quality=95)
    out = load_image(tmp_path / "g.jpg").astype(int)
    assert (out == out[..., :1]).all() and np.abs(out[..., 0] - gray).mean() < 3


def truncated_jpeg(path: Path) -> None:
    Image.fromarray(noise(64, 64)).save(path.with_suffix(".full.jpg"), quality=95)
    data = path.with_suffix(".full.jpg").read_bytes()
    path.write_bytes(data[: len(data) // 2])


def truncated_png(path: Path) -> None:
    Image.fromarray(noise(64, 64)).save(path.with_suffix(".full.png"))
    data = path.with_suffix(".full.png").read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "name, make, reason",
    [
        ("missing.png", lambda p: None, "file not found"),
        ("empty.png", lambda p: p.write_bytes(b""), "empty file"),
        ("text.png", lambda p: p.write_text("not an image"), "not a recognised image"),
        ("cut.jpg", truncated_jpeg, "truncated"),
        ("cut.png", truncated_png, "truncated"),
    ],
)
def test_unreadable_files_raise_a_data_error_naming_the_file(tmp_path, name, make, reason):
    path = tmp_path / name
    make(path)
    with pytest.raises(DataError, match="cannot read image") as info:
        load_image(path)
    assert str(path) in str(info.value) and reason in str(info.value)
    assert check_image(path) == str(info.value)


# ---- pipeline.py: crops, shapes, labels ---------------------------------------------------------------


def test_resize_shapes_ranges_labels_and_order(sized_images):
    paths, _ = sized_images
    ds = make_dataset(frame(paths), ["quality", "alignment"], image_size=32, batch_size=3)
    batches = list(ds)
    assert [b[0].shape.as_list() for b in batches] == [[3, 32, 32, 3], [1, 32, 32, 3]]
    images = np.concatenate([b[0].numpy() for b in batches])
    labels = np.concatenate([b[1].numpy() for b in batches])
    assert images.dtype == np.float32 and labels.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 255 and images.std() > 20
    np.testing.assert_array_equal(labels, [[0.5, 0], [1.5, 2], [2.5, 4], [3.5, 6]])


def test_resize_matches_tf_image_resize(sized_images):
    paths, arrays = sized_images
    out = collect(make_dataset(frame(paths), image_size=(24, 40)))
    expected = tf.image.resize(arrays[1].astype(np.float32), (24, 40), antialias=True).numpy()
    np.testing.assert_allclose(out[1], expected, atol=1e-3)


def test_center_crop_is_numpy_slicing(sized_images):
    paths, arrays = sized_images
    out = collect(make_dataset(frame(paths), image_size=32, crop="center_crop"))
    assert out.shape == (4, 32, 32, 3)
    for image, array in zip(out, arrays, strict=True):
        top, left = (array.shape[0] - 32) // 2, (array.shape[1] - 32) // 2
        np.testing.assert_array_equal(image, array[top:top + 32, left:left + 32])


def test_fixed_crop_offsets_layout():
    assert fixed_crop_offsets(48, 64, 32, 1) == [(8, 16)]
    assert fixed_crop_offsets(48, 64, 32, 4) == [(0, 0), (0, 32), (16, 0), (16, 32)]
    assert fixed_crop_offsets(48, 64, 32, 2) == [(8, 0), (8, 32)]
    assert fixed_crop_offsets(48, 64, (32, 30), 6) == [(0, 0), (0, 17), (0, 34), (16, 0), (16, 17), (16, 34)]
    assert len(set(fixed_crop_offsets(100, 100, 20, 25))) == 25


@pytest.mark.parametrize("n_crops", [1, 4, 9])
def test_fixed_crops_are_at_the_documented_positions(sized_images, n_crops):
    paths, arrays = sized_images
    ds = make_dataset(frame(paths), image_size=24, crop="fixed_crops", n_crops=n_crops, batch_size=2)
    out = collect(ds)
    assert out.shape == (4, n_crops, 24, 24, 3)
    for crops, array in zip(out, arrays, strict=True):
        offsets = fixed_crop_offsets(array.shape[0], array.shape[1], 24, n_crops)
        for crop, (top, left) in zip(crops, offsets, strict=True):
            np.testing.assert_array_equal(crop, array[top:top + 24, left:left + 24])


def is_window_of(crop: np.ndarray, array: np.ndarray) -> bool:
    """Whether ``crop`` equals some same-sized window of ``array``."""
    h, w = crop.shape[:2]
    return any(
        np.array_equal(crop, array[top:top + h, left:left + w])
        for top in range(array.shape[0] - h + 1)
        for left in range(array.shape[1] - w + 1)
    )


def test_random_crop_is_a_window_seeded_and_fresh_each_epoch(sized_images):
    paths, arrays = sized_images
    def run(seed):
        return make_dataset(frame(paths), image_size=24, crop="random_crop", seed=seed)

    ds = run(3)
    first, second = collect(ds), collect(ds)
    assert first.shape == (4, 24, 24, 3)
    assert all(is_window_of(crop, array) for crop, array in zip(first, arrays, strict=True))
    np.testing.assert_array_equal(first, collect(run(3)))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, collect(run(4)))


def test_resize_to_and_small_images_are_enlarged(sized_images):
    paths, _ = sized_images
    out = collect(make_dataset(frame(paths), image_size=32, crop="center_crop", resize_to=36))
    assert out.shape == (4, 32, 32, 3) and out.min() >= 0 and out.max() <= 255
    out = collect(make_dataset(frame(paths), image_size=(60, 48), crop="random_crop"))
    assert out.shape == (4, 60, 48, 3) and out.min() >= 0 and out.max() <= 255
    out = collect(make_dataset(frame(paths), image_size=16, crop="center_crop", resize_to=(20, 30)))
    assert out.shape == (4, 16, 16, 3)


def test_evaluation_is_deterministic_and_prompts_follow_rows(sized_images):
    paths, _ = sized_images
    ds = make_dataset(frame(paths), ["quality"], image_size=32, batch_size=2, with_prompt=True)
    first, second = list(ds), list(ds)
    for (x1, y1), (x2, y2) in zip(first, second, strict=True):
        np.testing.assert_array_equal(x1["image"], x2["image"])
        np.testing.assert_array_equal(y1, y2)
    prompts = [p.decode() for x, _ in first for p in x["prompt"].numpy()]
    assert prompts == [f"prompt {i}" for i in range(4)]
    assert first[0][1].shape == (2, 1)


def test_shuffle_is_a_seeded_permutation(sized_images):
    paths, _ = sized_images
    def labels(seed):
        ds = make_dataset(frame(paths), ["quality"], image_size=16, batch_size=4, shuffle=True, seed=seed)
        return [float(v) for _, y in ds for v in y[:, 0]]

    assert sorted(labels(1)) == [0.5, 1.5, 2.5, 3.5]
    assert labels(1) == labels(1)
    assert any(labels(s) != [0.5, 1.5, 2.5, 3.5] for s in range(5))


def test_preprocess_is_applied(sized_images):
    paths, _ = sized_images
    preprocess = keras.applications.resnet_v2.preprocess_input
    out = collect(make_dataset(frame(paths), image_size=32, preprocess=preprocess))
    raw = collect(make_dataset(frame(paths), image_size=32))
    np.testing.assert_allclose(out, raw / 127.5 - 1, atol=1e-5)


# ---- pipeline.py: augmentation --------------------------------------------------------------------------


def test_seeded_augmentation_is_reproducible_and_changes_pixels(sized_images):
    paths, _ = sized_images
    def run(seed):
        aug = augmentation(flip=True, rotation=10, translation=0.1, seed=seed)
        return collect(make_dataset(frame(paths), image_size=32, augment=aug, batch_size=2))

    plain = collect(make_dataset(frame(paths), image_size=32))
    first = run(7)
    assert first.shape == plain.shape
    np.testing.assert_array_equal(first, run(7))
    assert all(not np.allclose(a, p) for a, p in zip(first, plain, strict=True))
    assert not np.array_equal(first, run(8))


def test_flip_only_augmentation_flips_whole_images(sized_images):
    paths, _ = sized_images
    plain = collect(make_dataset(frame(paths), image_size=32))
    out = collect(make_dataset(frame(paths), image_size=32, augment=augmentation(flip=True, seed=1)))
    flipped = [np.array_equal(o, p[:, ::-1]) for o, p in zip(out, plain, strict=True)]
    kept = [np.array_equal(o, p) for o, p in zip(out, plain, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True)) and any(flipped) and any(kept)


def test_augmentation_on_fixed_crops_keeps_the_layout(sized_images):
    paths, _ = sized_images
    aug = augmentation(flip=False, rotation=5, seed=1)
    out = collect(make_dataset(frame(paths), image_size=24, crop="fixed_crops", n_crops=4, augment=aug))
    assert out.shape == (4, 4, 24, 24, 3)


def test_augmentation_needs_something_enabled():
    with pytest.raises(ValueError, match="all off"):
        augmentation(flip=False)


# ---- pipeline.py: errors --------------------------------------------------------------------------------


def test_bad_image_in_the_pipeline_names_the_file(sized_images, tmp_path):
    paths, _ = sized_images
    bad = tmp_path / "bad.jpg"
    truncated_jpeg(bad)
    ds = make_dataset(frame([*paths, bad]), image_size=16, batch_size=2)
    with pytest.raises(tf.errors.OpError) as info:
        collect(ds)
    assert f"cannot read image {bad}" in info.value.message
    with pytest.raises(DataError) as info, surface_data_errors():
        collect(ds)
    assert str(info.value).startswith(f"cannot read image {bad}: image file is truncated")


def test_missing_files_are_reported_up_front(sized_images, tmp_path):
    paths, _ = sized_images
    with pytest.raises(DataError, match="1 image file.*not found") as info:
        make_dataset(frame([*paths, tmp_path / "gone.png"]))
    assert str(tmp_path / "gone.png") in str(info.value)


def test_label_problems_are_data_errors(sized_images):
    paths, _ = sized_images
    with pytest.raises(DataError, match="authenticity"):
        make_dataset(frame(paths), ["authenticity"])
    df = frame(paths)
    df.loc[2, "quality"] = np.nan
    with pytest.raises(DataError, match="NaN labels") as info:
        make_dataset(df, ["quality"])
    assert str(paths[2]) in str(info.value)


@pytest.mark.parametrize(
    "options",
    [{"crop": "zoom"}, {"n_crops": 4}, {"crop": "fixed_crops", "n_crops": 0}, {"resize_to": 64}],
)
def test_meaningless_options_are_rejected(sized_images, options):
    paths, _ = sized_images
    with pytest.raises(ValueError):
        make_dataset(frame(paths), **options)
