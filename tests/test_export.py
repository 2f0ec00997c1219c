"""SavedModel export: three signatures, in-graph decoding of every image mode, fixed views, parity with Keras
in a fresh process that never imports tfagiqa, and the Python Scorer on every input kind."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfagiqa.backbones.tiny import tiny_cnn_features
from tfagiqa.cli import main
from tfagiqa.data.images import load_image
from tfagiqa.data.pipeline import fixed_crop_offsets
from tfagiqa.errors import DataError, TfagiqaError
from tfagiqa.export import ViewPolicy, decode_image_bytes, export_savedmodel, image_views, scoring_model
from tfagiqa.methods.dlsr import model as dlsr
from tfagiqa.scorer import Scorer
from tfagiqa.methods.dlsr.prompts import prompt_vectorizer

SIZE = 32
CROPS = ViewPolicy("fixed_crops", n_crops=4, resize_to=40)
PROMPTS = ["a red cat on a mat", "a blue dog in the snow", "an oil painting of a ship"]
GOOD = ("good.png", "good.jpg", "cmyk.jpg", "gray16.png", "rgb16.png", "rgba.png", "gray.png", "palette.png")
BAD = ("truncated.jpg", "empty.png", "text.png")


def tiny_scorer(kind: str) -> keras.Model:
    """Tiny CNN features + a DLSR head (random init): the real scoring-model structure, fast to build and export."""
    backbone = tiny_cnn_features(SIZE).model
    if kind == "perception":
        return scoring_model(backbone, dlsr.perception_model(feature_dim=128), "quality")
    head = dlsr.alignment_model(prompt_vectorizer(PROMPTS), ["dalle2", "midjourney"], feature_dim=128)
    return scoring_model(backbone, head, "alignment")


def _png16(values: np.ndarray) -> bytes:
    """A 16-bit RGB PNG written by hand (Pillow cannot write one)."""
    import struct
    import zlib

    height, width, _ = values.shape
    raw = b"".join(b"\x00" + values[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def write_mixed_folder(folder: Path) -> Path:
    """Good images in every awkward mode plus a truncated JPEG, a zero-byte file and a text file named .png."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (36, 44, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(folder / "good.png")
    Image.fromarray(rgb).save(folder / "good.jpg", quality=95)
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    Image.fromarray(rng.integers(0, 65536, (30, 40), dtype=np.uint16)).save(folder / "gray16.png")
    (folder / "rgb16.png").write_bytes(_png16(rng.integers(0, 65536, (30, 40, 3), dtype=np.uint16)))
    alpha = rng.integers(0, 256, (36, 44, 1), dtype=np.uint8)
    Image.fromarray(np.concatenate([rgb, alpha], -1)).save(folder / "rgba.png")
    Image.fromarray(rgb[..., 0]).save(folder / "gray.png")
    Image.fromarray(rgb).convert("P").save(folder / "palette.png", transparency=0)
    jpeg = (folder / "good.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("this is not an image\n")
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    models = {"perception": tiny_scorer("perception"), "alignment": tiny_scorer("alignment")}
    dirs = {"perception": export_savedmodel(models["perception"], root / "perception", {"name": "tiny-perception",
                                                                                          "weights": "random"}),
            "alignment": export_savedmodel(models["alignment"], root / "alignment", {"name": "tiny-alignment",
                                                                                       "weights": "random"}, CROPS)}
    return root, models, dirs


def keras_scores(model: keras.Model, images: np.ndarray, policy: ViewPolicy, prompts=None) -> np.ndarray:
    """Reference: resize or crop in NumPy-visible steps, then the Keras model's predict, averaged over views."""
    x = tf.cast(images, tf.float32)
    if policy.crop == "resize":
        views = [tf.image.resize(x, (SIZE, SIZE), method="bilinear", antialias=True)]
    else:
        h, w = x.shape[1:3]
        scale = policy.resize_to / min(h, w)
        x = tf.image.resize(x, (round(h * scale), round(w * scale)), method="bilinear", antialias=True)
        views = [x[:, t:t + SIZE, l:l + SIZE] for t, l in fixed_crop_offsets(x.shape[1], x.shape[2], SIZE, policy.n_crops)]
    out = []
    for view in views:
        inputs = {"images": view}
        if prompts is not None:
            inputs.update(prompt=tf.constant(prompts), generator=tf.constant([""] * len(prompts)))
        out.append(next(iter(model.predict(inputs, verbose=0).values())))
    return np.mean(out, axis=0)


@pytest.fixture(scope="module")
def fresh(exported):
    """Score with both SavedModels in a separate Python that never imports tfagiqa: uint8 images, PNG bytes of
    the same images, and every file of the mixed folder in one serving_default batch."""
    root, _, dirs = exported
    images = np.random.default_rng(1).integers(0, 256, (3, 45, 50, 3), dtype=np.uint8)
    np.save(root / "images.npy", images)
    for i, image in enumerate(images):
        Image.fromarray(image).save(root / f"image{i}.png")
    mixed = write_mixed_folder(root / "mixed")
    code = f"""
import json, sys, numpy as np, tensorflow as tf
assert "tfagiqa" not in sys.modules
root, prompts = {str(root)!r}, {PROMPTS!r}
images = tf.constant(np.load(root + "/images.npy"))
png = tf.constant([open(f"{{root}}/image{{i}}.png", "rb").read() for i in range(3)])
mixed = {[str(mixed / n) for n in GOOD + BAD]!r}
out = {{}}
for name in ("perception", "alignment"):
    sig = tf.saved_model.load(f"{{root}}/{{name}}").signatures
    extra = {{"prompt": tf.constant(prompts)}} if name == "alignment" else {{}}
    r = {{"images": sig["score_images"](images=images, **extra), "bytes": sig["serving_default"](image_bytes=png, **extra)}}
    if name == "perception":
        r["mixed"] = sig["serving_default"](image_bytes=tf.constant([open(p, "rb").read() for p in mixed]))
    out[name] = {{k: {{o: v.numpy().tolist() for o, v in d.items()}} for k, d in r.items()}}
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd="/",
                          env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    return images, json.loads(done.stdout.strip().splitlines()[-1]), mixed


@pytest.mark.parametrize("kind", ["perception", "alignment"])
def test_savedmodel_in_fresh_process_matches_keras(exported, fresh, kind):
    _, models, _ = exported
    images, served, _ = fresh
    policy = CROPS if kind == "alignment" else ViewPolicy()
    output = "quality" if kind == "perception" else "alignment"
    expected = keras_scores(models[kind], images, policy, PROMPTS if kind == "alignment" else None)
    np.testing.assert_allclose(served[kind]["images"][output], expected, atol=1e-5)
    np.testing.assert_allclose(served[kind]["bytes"][output], expected, atol=1e-5)  # PNG is lossless
    assert served[kind]["bytes"]["decoded"] == [1.0, 1.0, 1.0]


def test_serving_default_scores_every_mode_and_nans_broken_files(fresh):
    _, served, _ = fresh
    mixed = served["perception"]["mixed"]
    n_good = len(GOOD)
    assert np.isfinite(mixed["quality"][:n_good]).all()
    assert np.isnan(mixed["quality"][n_good:]).all()
    assert mixed["decoded"] == [1.0] * n_good + [0.0] * len(BAD)


def test_in_graph_decoding_gives_rgb_close_to_pillow(tmp_path):
    folder = write_mixed_folder(tmp_path / "mixed")
    for name in GOOD:
        image, ok = decode_image_bytes(tf.constant((folder / name).read_bytes()))
        reference = load_image(folder / name).astype(int)
        assert bool(ok) and image.shape == reference.shape, name
        diff = np.abs(image.numpy().astype(int) - reference)
        # lossless formats: at most 1 grey level (16-bit rounding, alpha rounding); JPEG: libjpeg vs Pillow IDCT
        assert diff.max() <= (12 if name.endswith(".jpg") else 1) and diff.mean() < 2.0, (name, diff.max())
    for name in BAD:
        assert not bool(decode_image_bytes(tf.constant((folder / name).read_bytes()))[1]), name


def test_fixed_crops_are_the_documented_positions():
    image = np.arange(40 * 60 * 3, dtype=np.float32).reshape(40, 60, 3) % 251
    policy = ViewPolicy("fixed_crops", n_crops=4)
    views = image_views(tf.constant(image), SIZE, policy).numpy()
    offsets = fixed_crop_offsets(40, 60, SIZE, 4)
    assert offsets == [(0, 0), (0, 28), (8, 0), (8, 28)]
    for view, (top, left) in zip(views, offsets):
        np.testing.assert_array_equal(view, image[top:top + SIZE, left:left + SIZE])
    np.testing.assert_array_equal(image_views(tf.constant(image), SIZE, policy).numpy(), views)


def test_metadata_beside_the_savedmodel(exported):
    _, _, dirs = exported
    meta = json.loads((dirs["alignment"] / "tfagiqa.json").read_text())
    assert meta["name"] == "tiny-alignment" and meta["weights"] == "random"
    assert meta["outputs"] == ["alignment"] and meta["needs_prompt"] and meta["input_size"] == SIZE
    assert meta["views"] == {"crop": "fixed_crops", "n_crops": 4, "resize_to": 40}
    assert meta["signatures"]["serving_default"] == ["image_bytes", "prompt"]
    assert meta["signatures"]["score_images"] == ["images", "prompt"]


def test_scorer_accepts_paths_arrays_and_batches(exported, tmp_path):
    _, models, dirs = exported
    scorer = Scorer.load(dirs["perception"])
    folder = write_mixed_folder(tmp_path / "mixed")
    pixels = load_image(folder / "good.png")
    by_path = scorer(str(folder / "good.png"))["quality"]
    assert by_path.shape == (1,)
    np.testing.assert_array_equal(scorer(folder / "good.png")["quality"], by_path)
    np.testing.assert_array_equal(scorer(pixels)["quality"], by_path)
    np.testing.assert_array_equal(scorer(Image.open(folder / "good.png"))["quality"], by_path)
    np.testing.assert_allclose(scorer(pixels / np.float32(255))["quality"], by_path, atol=1e-5)
    batch = scorer(np.stack([pixels, pixels[::-1]]), batch_size=1)["quality"]
    assert batch.shape == (2,) and batch[0] == pytest.approx(by_path[0], abs=1e-6)
    mixed = scorer([folder / n for n in GOOD], batch_size=3)["quality"]
    assert mixed.shape == (len(GOOD),) and np.isfinite(mixed).all()
    gray = load_image(folder / "gray.png")[..., 0]
    np.testing.assert_array_equal(scorer(gray)["quality"], scorer(folder / "gray.png")["quality"])
    in_memory = Scorer.from_keras(models["perception"])([folder / n for n in GOOD])["quality"]
    np.testing.assert_allclose(in_memory, mixed, atol=1e-5)
    with pytest.raises(TfagiqaError, match="a scoring model is a keras.Model .*got str"):
        Scorer.from_keras("exports/hyperiqa")
    features = keras.Input((4,))
    with pytest.raises(TfagiqaError, match="functional.* is not a scoring model: its inputs must be a dict with 'images'"):
        Scorer.from_keras(keras.Model(features, keras.layers.Dense(1)(features)))
    with pytest.raises(TfagiqaError, match="is not a scoring model: .*never been called"):
        Scorer.from_keras(keras.Sequential([keras.layers.Dense(1)]))
    with pytest.raises(DataError, match="truncated"):
        scorer(folder / "truncated.jpg")
    with pytest.raises(TfagiqaError, match=r"\[0, 1\]"):
        scorer(pixels.astype(np.float32))


def test_scorer_with_prompts_and_crops(exported):
    _, models, dirs = exported
    scorer = Scorer.load(dirs["alignment"])
    images = np.random.default_rng(1).integers(0, 256, (3, 45, 50, 3), dtype=np.uint8)
    expected = keras_scores(models["alignment"], images, CROPS, PROMPTS)
    np.testing.assert_allclose(scorer(images, prompts=PROMPTS)["alignment"], expected, atol=1e-5)
    single = scorer(images[0], prompts=PROMPTS[0])["alignment"]
    assert single[0] == pytest.approx(expected[0], abs=1e-5)
    with pytest.raises(TfagiqaError, match="prompt"):
        scorer(images)


def test_export_command_from_keras_file(tmp_path, capsys):
    scorer_file = tmp_path / "tiny_scorer.keras"
    tiny_scorer("perception").save(scorer_file)
    assert main(["export", "--model", str(scorer_file), "--out", str(tmp_path / "sm")]) == 0
    meta = json.loads((tmp_path / "sm" / "tfagiqa.json").read_text())
    assert meta["weights"] == str(scorer_file) and meta["outputs"] == ["quality"]
    head_file = tmp_path / "head.keras"
    dlsr.perception_model(feature_dim=128).save(head_file)
    assert main(["export", "--model", str(head_file), "--out", str(tmp_path / "sm2")]) == 2
    assert "head without its backbone" in capsys.readouterr().err
