"""BRISQUE and the shared NSS statistics: MSCN, resizes, (A)GGD fits and the 36 features against independent numpy
re-implementations of LIVE's MATLAB and C++ code; the LIBSVM readers against hand-computed values; the ε-SVR
solver against a generic QP solver; the Keras scorer, its export, LIVE's model (when installed) and the benchmark."""

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndimage
import scipy.optimize
import scipy.stats
import tensorflow as tf
from PIL import Image, ImageFilter

import tfagiqa
from tfagiqa.catalogue import get_entry
from tfagiqa.data import load_dataset
from tfagiqa.data.splits import grouped_random_splits
from tfagiqa.errors import DataError, WeightsError
from tfagiqa.export import export_savedmodel
from tfagiqa.layers import nss
from tfagiqa.methods.brisque import benchmark, libsvm
from tfagiqa.methods.brisque.model import BrisqueRegressor, SvrHead, brisque_features, brisque_scorer
from tfagiqa.methods.brisque.svr import FeatureRange, fit_svr, rbf_kernel
from tfagiqa.methods.brisque.weights import placeholder, resolve
from tfagiqa.metrics import evaluate

sys.path.insert(0, str(Path(__file__).parent))
import nss_reference as ref  # noqa: E402

GRACE_HOPPER = Path(__import__("matplotlib").get_data_path()) / "sample_data" / "grace_hopper.jpg"
IMQUALITY = importlib.util.find_spec("imquality") is not None


def textured(shape=(75, 90), seed=3) -> np.ndarray:
    """An odd-sized smooth colour image with fine noise, integer-valued in [0, 255]."""
    rng = np.random.default_rng(seed)
    smooth = ndimage.gaussian_filter(rng.uniform(0, 255, (*shape, 3)), (1.2, 1.2, 0))
    return np.clip(smooth + rng.normal(0, 8, (*shape, 3)), 0, 255).round()


def as_batch(image: np.ndarray) -> tf.Tensor:
    return tf.constant(np.asarray(image, np.float32)[None])


# ---------------------------------------------------------------------------------------------------------------
# Shared statistics


def test_mscn_of_a_constant_image_is_zero_and_matches_scipy_on_texture():
    flat = tf.constant(np.full((1, 40, 40), 200.0))
    coefficients, sigma = nss.mscn(flat, "replicate")
    assert np.abs(coefficients.numpy()).max() < 1e-9 and np.abs(sigma.numpy()).max() < 1e-5
    zero_padded, _ = nss.mscn(flat, "zero")  # filter2's zero padding darkens the 3-pixel border only
    assert np.abs(zero_padded.numpy()[0, 3:-3, 3:-3]).max() < 1e-9 and zero_padded.numpy()[0, 0, 0] > 0.5
    image = ref.grey(textured())
    for padding, mode in (("zero", "constant"), ("replicate", "nearest")):
        ours, ours_sigma = nss.mscn(tf.constant(image[None]), padding)
        expected, expected_sigma = ref.mscn(image, mode)
        np.testing.assert_allclose(ours.numpy()[0], expected, atol=1e-10)
        np.testing.assert_allclose(ours_sigma.numpy()[0], expected_sigma, atol=1e-9)


@pytest.mark.parametrize("shape", [(64, 48), (75, 91)])
def test_half_size_resizes_match_matlab_opencv_and_pillow(shape):
    image = np.random.default_rng(1).uniform(0, 255, shape)
    np.testing.assert_allclose(nss.half_size(tf.constant(image[None]), "matlab").numpy()[0],
                               ref.matlab_imresize_half(image), atol=1e-9)
    np.testing.assert_allclose(nss.half_size(tf.constant(image[None]), "opencv").numpy()[0],
                               ref.opencv_cubic_half(image), atol=1e-9)
    if shape[0] % 2 == 0 and shape[1] % 2 == 0:  # Pillow's own float resize (scikit-video's imresize)
        pillow = Image.fromarray(image.astype(np.float32), "F").resize((shape[1] // 2, shape[0] // 2), Image.BICUBIC)
        np.testing.assert_allclose(nss.half_size(tf.constant(image[None]), "pil").numpy()[0], np.asarray(pillow),
                                   atol=2e-3)  # Pillow computes in float32


def test_table_lookup_is_matlabs_argmin_over_the_whole_grid():
    rng = np.random.default_rng(0)
    aggd_values = np.r_[rng.uniform(0.01, 0.8, 500), nss.aggd_ratio_table()[[0, 17, 9800]], np.nan]
    ggd_values = np.r_[rng.uniform(1.2, 20.0, 500), nss.ggd_ratio_table()[[0, 4321, 9800]]]
    grid = np.round(nss.SHAPE_GRID, 3)
    from scipy.special import gamma

    aggd_table = gamma(2 / grid) ** 2 / (gamma(1 / grid) * gamma(3 / grid))
    ggd_table = gamma(1 / grid) * gamma(3 / grid) / gamma(2 / grid) ** 2
    ours = nss.nearest_on_grid(nss.aggd_ratio_table(), tf.constant(aggd_values)).numpy()
    assert np.isnan(ours[-1])
    np.testing.assert_allclose(ours[:-1], grid[np.argmin((aggd_table[None] - aggd_values[:-1, None]) ** 2, 1)])
    np.testing.assert_allclose(nss.nearest_on_grid(nss.ggd_ratio_table(), tf.constant(ggd_values)).numpy(),
                               grid[np.argmin(np.abs(ggd_table[None] - ggd_values[:, None]), 1)])


@pytest.mark.parametrize("shape", [0.7, 2.0, 3.2])
def test_fits_recover_the_shape_of_known_generalised_gaussians(shape):
    rng = np.random.default_rng(7)
    symmetric = scipy.stats.gennorm.rvs(shape, size=200_000, random_state=rng)
    alpha, mean_square = nss.ggd_fit(tf.constant(symmetric[None]))
    assert abs(alpha.numpy()[0] - shape) < 0.05 * shape
    assert mean_square.numpy()[0] == pytest.approx(scipy.stats.gennorm.var(shape), rel=0.03)
    beta_left, beta_right = 1.0, 2.5  # an asymmetric GGD: each side a half-GGD of its own scale
    magnitude = np.abs(scipy.stats.gennorm.rvs(shape, size=200_000, random_state=rng))
    left_side = rng.random(200_000) < beta_left / (beta_left + beta_right)
    samples = np.where(left_side, -beta_left * magnitude, beta_right * magnitude)
    alpha, left, right = nss.aggd_fit(tf.constant(samples[None]))
    side_std = math.sqrt(math.gamma(3 / shape) / math.gamma(1 / shape))
    assert abs(alpha.numpy()[0] - shape) < 0.05 * shape
    assert left.numpy()[0] == pytest.approx(beta_left * side_std, rel=0.02)
    assert right.numpy()[0] == pytest.approx(beta_right * side_std, rel=0.02)


# ---------------------------------------------------------------------------------------------------------------
# Features


@pytest.mark.parametrize("convention, reference", [("brisque-matlab", ref.brisque_matlab),
                                                   ("brisque-live-cpp", ref.brisque_live_cpp)])
def test_features_match_an_independent_reimplementation(convention, reference):
    image = textured()
    ours = brisque_features(as_batch(image), nss.get_convention(convention)).numpy()[0]
    np.testing.assert_allclose(ours, reference(image), rtol=1e-9, atol=1e-12)


def test_white_noise_and_blur_move_the_mscn_statistics_as_expected():
    """White Gaussian noise (σ = 20): the MSCN variance is what the window weights w predict,
    (1 - 2·w₀ + Σw²) / (1 - Σw²) · (σ / (σ + 1))², and the shape lies above the Gaussian's 2 (a coefficient's own
    pixel enters its local σ, which bounds it). Blurring a natural-looking field makes the MSCN peakier (smaller
    shape) and smaller (lower variance), as the paper's Fig. 2 shows."""
    sigma = 20.0
    noise = (128 + np.random.default_rng(0).normal(0, sigma, (256, 256, 1))).repeat(3, -1)
    rule = nss.get_convention("brisque-matlab")
    shape, variance = brisque_features(as_batch(noise), rule).numpy()[0, :2]
    w = ref.gaussian_7x7()
    expected = (1 - 2 * w[3, 3] + (w**2).sum()) / (1 - (w**2).sum()) * (sigma / (sigma + 1)) ** 2
    assert variance == pytest.approx(expected, rel=0.12) and 2.5 < shape < 3.2
    field = ref.natural_field(0, 256)
    blurred = ndimage.gaussian_filter(field, (2, 2, 0))
    (shape_sharp, var_sharp), (shape_blur, var_blur) = brisque_features(
        tf.constant(np.stack([field, blurred]).astype(np.float32)), rule).numpy()[:, :2]
    assert shape_blur < shape_sharp - 0.5 and var_blur < var_sharp / 3


# ---------------------------------------------------------------------------------------------------------------
# LIBSVM files and the regressor

MODEL_TEXT = """svm_type epsilon_svr
kernel_type rbf
gamma 0.5
nr_class 2
total_sv 3
rho 0.25
probA 1.5
SV
1.5 1:0.2 2:-0.4
-0.75 2:0.6
0.5 1:-1 3:0.1
"""


def test_libsvm_model_and_range_files_read_and_predict_by_hand(tmp_path):
    (tmp_path / "model").write_text(MODEL_TEXT)
    svr = libsvm.read_model(tmp_path / "model")
    np.testing.assert_array_equal(svr.support_vectors, [[0.2, -0.4, 0.0], [0.0, 0.6, 0.0], [-1.0, 0.0, 0.1]])
    x = np.array([0.1, 0.2, -0.3])
    by_hand = (1.5 * math.exp(-0.5 * (0.1**2 + 0.6**2 + 0.3**2)) - 0.75 * math.exp(-0.5 * (0.1**2 + 0.4**2 + 0.3**2))
               + 0.5 * math.exp(-0.5 * (1.1**2 + 0.2**2 + 0.4**2)) - 0.25)
    assert svr.predict(x[None])[0] == pytest.approx(by_hand, abs=1e-12)
    (tmp_path / "range").write_text("x\n-1 1\n1 0 2\n3 -1 1\n")
    scaling = libsvm.read_range(tmp_path / "range", 3)
    np.testing.assert_allclose(scaling.scale(np.array([[1.5, 7.0, 0.5]])), [[0.5, 0.0, 0.5]])  # feature 2 unlisted
    (tmp_path / "bad").write_text(MODEL_TEXT.replace("kernel_type rbf", "kernel_type linear"))
    with pytest.raises(WeightsError, match="only rbf"):
        libsvm.read_model(tmp_path / "bad")
    (tmp_path / "short").write_text(MODEL_TEXT.replace("total_sv 3", "total_sv 4"))
    with pytest.raises(WeightsError, match="4 support vectors"):
        libsvm.read_model(tmp_path / "short")


def test_svr_solver_matches_a_generic_qp_solver_and_the_keras_head():
    rng = np.random.default_rng(0)
    x, xt = rng.uniform(-1, 1, (20, 3)), rng.uniform(-1, 1, (6, 3))
    y = np.sin(3 * x[:, 0]) + 0.3 * x[:, 1]
    c, gamma, epsilon, n = 2.0, 0.7, 0.1, 20
    model = fit_svr(x, y, c=c, gamma=gamma, epsilon=epsilon, tol=1e-8)
    k = rbf_kernel(x, x, gamma)

    def dual(a):
        beta = a[:n] - a[n:]
        return 0.5 * beta @ k @ beta + epsilon * a.sum() - y @ beta

    solved = scipy.optimize.minimize(dual, np.zeros(2 * n), bounds=[(0, c)] * (2 * n), method="SLSQP",
                                     constraints=[{"type": "eq", "fun": lambda a: a[:n].sum() - a[n:].sum()}],
                                     options={"ftol": 1e-14, "maxiter": 2000})
    beta = solved.x[:n] - solved.x[n:]
    np.testing.assert_allclose(model.predict(xt) + model.rho, rbf_kernel(xt, x, gamma) @ beta, atol=1e-5)
    residual = model.predict(x) - y  # KKT: free support vectors sit on the ε-tube
    coef = np.zeros(n)
    coef[[np.flatnonzero((x == sv).all(1))[0] for sv in model.support_vectors]] = model.coefficients
    free = (np.abs(coef) > 1e-6) & (np.abs(coef) < c - 1e-6)
    np.testing.assert_allclose(np.abs(residual[free]), epsilon, atol=1e-4)
    head = SvrHead(len(model.coefficients), 3, gamma, name="svr")
    head.build((None, 3))
    scaling = FeatureRange(np.full(3, -1.0), np.ones(3))  # the identity on [-1, 1]
    head.set_regressor(scaling, model)
    np.testing.assert_allclose(head(tf.constant(xt)).numpy(), model.predict(xt), atol=1e-12)
    with pytest.raises(DataError, match="finite"):
        fit_svr(np.r_[x, [[np.nan, 0, 0]]], np.r_[y, 0.0], c=c, gamma=gamma)


# ---------------------------------------------------------------------------------------------------------------
# Scorer, export, weights


def test_scorer_exports_and_matches_numpy_features_plus_svr(tmp_path):
    """The SavedModel (features in TensorFlow ops, SVR head) scores as the numpy regressor on the same features."""
    regressor = placeholder()
    images = np.stack([textured((64, 64), seed) for seed in (1, 2)]).astype(np.uint8)
    features = brisque_features(tf.constant(images), nss.get_convention(regressor.convention)).numpy()
    loaded = tf.saved_model.load(str(export_savedmodel(brisque_scorer(regressor, input_size=64), tmp_path / "b")))
    exported = loaded.signatures["score_images"](images=tf.constant(images))["quality"].numpy()
    np.testing.assert_allclose(exported, regressor.predict_features(features), rtol=1e-5)


def test_catalogue_entry_weights_and_refusals(tmp_path, monkeypatch):
    entry = get_entry("brisque")
    assert not entry.higher_is_better and entry.input_size == 512 and not entry.needs_prompt
    assert entry.weights_provenance(None)["weights"] == "random"
    model = tfagiqa.create_scorer("brisque")
    assert model.input["images"].shape[1:] == (512, 512, 3) and list(model.output) == ["quality"]
    with pytest.raises(WeightsError, match="not a choice"):
        resolve("no-such-weights")
    with pytest.raises(WeightsError, match="lacks allmodel and allrange"):
        resolve(str(tmp_path))
    find_spec = importlib.util.find_spec
    monkeypatch.setattr("importlib.util.find_spec",
                        lambda name, *a: None if name == "imquality" else find_spec(name, *a))
    with pytest.raises(WeightsError, match=r"pip install 'tfagiqa\[nss\]'"):
        resolve("imquality")


def test_matlab_release_folder_and_npz_round_trip(tmp_path):
    model = MODEL_TEXT.replace("total_sv 3", "total_sv 1").split("SV\n")[0] + "SV\n2.0 1:0.5 36:-0.5\n"
    (tmp_path / "allmodel").write_text(model)
    (tmp_path / "allrange").write_text("x\n-1 1\n" + "".join(f"{i} 0 1\n" for i in range(1, 37)))
    regressor = resolve(str(tmp_path))
    assert regressor.convention == "brisque-matlab" and not regressor.higher_is_better
    features = np.full((1, 36), 0.5)
    expected = 2.0 * math.exp(-0.5 * (0.5**2 + 0.5**2)) - 0.25  # scaled features are all 0
    assert regressor.predict_features(features)[0] == pytest.approx(expected)
    saved = regressor.save(tmp_path / "copy.npz")
    assert resolve(str(saved)).predict_features(features)[0] == pytest.approx(expected)


@pytest.mark.skipif(not IMQUALITY, reason="image-quality not installed (pip install 'tfagiqa[nss]')")
def test_lives_model_ranks_blur_and_noise_worse():
    """LIVE's DMOS model (image-quality's copy) on a photograph: blur and noise raise the score (lower = better)."""
    photo = Image.open(GRACE_HOPPER).convert("RGB").resize((512, 512), Image.BICUBIC)
    clean = np.asarray(photo, np.float32)
    blurred = np.asarray(photo.filter(ImageFilter.GaussianBlur(2)), np.float32)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 15, clean.shape), 0, 255).astype(np.float32)
    regressor = resolve("imquality")
    rule = nss.get_convention(regressor.convention)
    features = brisque_features(tf.constant(np.stack([clean, blurred, noisy])), rule)
    scores = regressor.predict_features(features.numpy())
    assert scores[0] < 30 and scores[1] > scores[0] + 20 and scores[2] > scores[0] + 20
    provenance = get_entry("brisque").weights_provenance("imquality")
    assert provenance["nss_convention"] == "brisque-live-cpp" and provenance["higher_is_better"] is False


# ---------------------------------------------------------------------------------------------------------------
# Benchmark adapter


def test_benchmark_learns_the_stand_in_deterministically(tmp_path):
    df = load_dataset("agiqa3k", tmp_path / "data")
    split = next(iter(grouped_random_splits(df, repeats=1, seed=0).values()))
    train, test = df[split == "train"], df[split == "test"]
    assert benchmark.TRAINED and not benchmark.NEEDS_PROMPT
    assert benchmark.skip_reason("quality") is None and "alignment" in benchmark.skip_reason("alignment")
    runs = [benchmark.fit_predict(train, test, "quality", profile="smoke", weights=None, seed=0,
                                  workdir=tmp_path / f"run{i}") for i in range(2)]
    predictions = runs[0]["predictions"]
    assert predictions.shape == (len(test),) and np.isfinite(predictions).all()
    np.testing.assert_array_equal(predictions, runs[1]["predictions"])
    assert evaluate(predictions, test["quality"].to_numpy())["srcc"] > 0.5  # the stand-in's blur / noise / JPEG
    saved = BrisqueRegressor.load(tmp_path / "run0" / "brisque_svr.npz")
    np.testing.assert_allclose(saved.predict_features(benchmark.features_of(test, saved.convention)), predictions)
    broken = train.assign(quality=train["quality"].where(np.arange(len(train)) != 3))
    with pytest.raises(DataError, match="1 training label"):
        benchmark.fit_predict(broken, test, "quality", profile="smoke", weights=None, seed=0, workdir=tmp_path)


def test_svr_predicts_in_the_label_scale():
    x = np.random.default_rng(1).uniform(0, 1, (40, 36))
    targets = 50 + 10 * x[:, 0]
    regressor = benchmark.train_regressor(x, targets, "quality", c=8.0, gamma=0.05)
    assert regressor.higher_is_better
    assert np.abs(regressor.predict_features(x) - targets).mean() < 3.0
