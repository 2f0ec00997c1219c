"""DBCNN: bilinear pooling against a hand computation, stream shapes, the synthetic distortion set, VGG-16 weights
(Keras' layout, an .h5 file, offline refusals), converter parity with a PyTorch re-implementation written here
from the reference's description (tiny widths, random weights), the catalogue scorer through Keras and a
SavedModel, and the benchmark adapter on the stand-in."""

import json
from dataclasses import replace

import keras
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter parity test needs PyTorch (pip install 'tfagiqa[torch]')")
nn, F = torch.nn, torch.nn.functional

import tfagiqa  # noqa: E402
from older_layouts import older_layout  # noqa: E402
from tfagiqa.cli import main  # noqa: E402
from tfagiqa.data import load_dataset  # noqa: E402
from tfagiqa.data.splits import grouped_random_splits  # noqa: E402
from tfagiqa.errors import DataError, TfagiqaError, WeightsError  # noqa: E402
from tfagiqa.methods.dbcnn import benchmark, convert, distortions, pretrain, protocol  # noqa: E402
from tfagiqa.methods.dbcnn import model as dbcnn  # noqa: E402
from tfagiqa.metrics import srcc  # noqa: E402
from tfagiqa.presets import load_preset  # noqa: E402
from tfagiqa.scorer import Scorer  # noqa: E402

MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def images(n, size, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


def signed_sqrt_l2(values):
    out = [(1.0 if v >= 0 else -1.0) * np.sqrt(abs(v) + 1e-8) for v in values]
    return np.array(out) / np.linalg.norm(out)


def test_bilinear_pooling_by_hand():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 2, 3, 2)), rng.normal(size=(2, 2, 3, 3))
    got = np.asarray(dbcnn.BilinearPooling()([a.astype("float32"), b.astype("float32")]))
    for n in range(2):
        outer = [sum(a[n, h, w, i] * b[n, h, w, j] for h in range(2) for w in range(3)) / 6
                 for i in range(2) for j in range(3)]
        np.testing.assert_allclose(got[n], signed_sqrt_l2(outer), atol=1e-5)
    # b at 3×4 against a at 2×2: corner-aligned bilinear resizing samples b's rows 0, 2 and columns 0, 3 exactly
    small, large = rng.normal(size=(1, 2, 2, 2)), rng.normal(size=(1, 3, 4, 3))
    got = np.asarray(dbcnn.BilinearPooling()([small.astype("float32"), large.astype("float32")]))
    picked = large[:, ::2, ::3]
    outer = [np.mean(small[0, ..., i] * picked[0, ..., j]) for i in range(2) for j in range(3)]
    np.testing.assert_allclose(got[0], signed_sqrt_l2(outer), atol=1e-5)


def test_stream_shapes():
    x = images(1, 80)
    assert dbcnn.vgg16_features(dbcnn.TINY.vgg_widths)(x).shape == (1, 5, 5, 32)
    assert dbcnn.scnn_features(dbcnn.TINY.scnn_widths)(x[:, :72, :72]).shape == (1, 5, 5, 16)  # ⌈72/16⌉
    classifier = dbcnn.scnn_classifier(dbcnn.scnn_features(dbcnn.TINY.scnn_widths), 45, 32)
    assert classifier({"images": x}).shape == (1, 45)
    net = dbcnn.dbcnn_model(dbcnn.TINY)
    assert net({"images": x}).shape == (1,) and net({"images": images(2, 40)}).shape == (2,)
    assert net.get_layer("fc").kernel.shape == (dbcnn.TINY.bilinear_dim, 1)


# --- synthetic distortions ------------------------------------------------------------------------------------


def scene(size):
    """A smooth gradient with a bright square: edges and flat areas, like a natural image."""
    y, x = np.mgrid[0:size, 0:size] / size
    image = np.stack([60 + 120 * x, 50 + 100 * y, 90 + 60 * x * y], -1)
    image[16:40, 20:44] = (230, 200, 40)
    return image.round().astype(np.uint8)


def test_distortion_classes_are_seeded_and_graded():
    image = scene(224)  # JPEG 2000's levels need ≳ 200 px: below, the codestream's headers exceed every budget
    assert len(distortions.classes()) == 45
    change = {}
    for kind, level in distortions.classes():
        out = distortions.distort(image, kind, level, np.random.default_rng(7))
        again = distortions.distort(image, kind, level, np.random.default_rng(7))
        assert out.dtype == np.uint8 and out.shape == image.shape, kind
        np.testing.assert_array_equal(out, again)
        change[kind, level] = np.abs(out.astype(int) - image).mean()
    for kind in distortions.TYPES:
        levels = [change[kind, level] for level in range(1, 6)]
        assert levels[0] > 0 and levels[-1] > levels[0], (kind, levels)
        if kind in ("gaussian_blur", "white_noise", "pink_noise", "contrast", "under_exposure"):
            assert np.all(np.diff(levels) >= -1e-9), (kind, levels)
    stretched = distortions.distort(image, "contrast", 3, np.random.default_rng(0))
    assert stretched.min() >= round(0.4 * 255) and stretched.max() <= round(0.6 * 255)
    with pytest.raises(ValueError, match="unknown distortion"):
        distortions.distort(image, "rain", 1, np.random.default_rng(0))


def test_pink_noise_power_falls_as_one_over_f():
    field = distortions.pink_noise((256, 256), np.random.default_rng(0))
    assert np.abs(field).max() == pytest.approx(1.0)
    power = np.abs(np.fft.fft2(field)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(256), np.fft.fftfreq(256), indexing="ij")
    radius = np.hypot(fy, fx)
    bands = np.geomspace(0.02, 0.4, 9)
    centres = np.sqrt(bands[:-1] * bands[1:])
    means = [power[(radius >= lo) & (radius < hi)].mean() for lo, hi in zip(bands[:-1], bands[1:])]
    slope = np.polyfit(np.log(centres), np.log(means), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.15)


# --- VGG-16 weights -------------------------------------------------------------------------------------------


def test_vgg_stream_is_keras_vgg16_and_reads_an_h5_file(tmp_path):
    source = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    ours = dbcnn.vgg16_features()
    dbcnn.copy_convolutions(source, ours)
    x = np.random.default_rng(1).normal(size=(1, 32, 32, 3)).astype("float32")
    conv5_3 = keras.Model(source.input, source.get_layer("block5_conv3").output)
    np.testing.assert_allclose(ours(x), conv5_3(x), atol=1e-5)
    source.save_weights(tmp_path / "vgg16.weights.h5")
    resolved = protocol.vgg16_stream(str(tmp_path / "vgg16.weights.h5"), tiny=False)
    assert resolved.label == str(tmp_path / "vgg16.weights.h5")
    np.testing.assert_allclose(resolved.model(x), conv5_3(x), atol=1e-5)


def test_vgg_weights_offline(monkeypatch):
    """No cached file and no network: ``imagenet`` names the file and its place; ``auto`` falls back loudly."""
    from keras.src.utils import file_utils

    def offline(fname, origin, *args, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(WeightsError, match=r"vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5.*~/\.keras/models"):
        protocol.vgg16_stream("imagenet", tiny=False)
    with pytest.warns(RuntimeWarning, match="RANDOM"):
        assert protocol.vgg16_stream("auto", tiny=False).label == "random"
    with pytest.raises(WeightsError, match="vgg16.h5 does not exist; this needs vgg16"):
        protocol.vgg16_stream("/no/such/vgg16.h5", tiny=False)
    assert protocol.vgg16_stream(None, tiny=True).label == "random"


# --- converter parity -----------------------------------------------------------------------------------------


class TorchDBCNN(nn.Module):
    """The reference network with tiny widths: features1 = VGG-16 ``features`` without the last pool (conv/ReLU
    pairs, a max pool after blocks 1–4), features2 = the S-CNN's conv-BN-ReLU triples, fc on bilinear features."""

    def __init__(self, vgg=(4, 6, 8, 8, 10), scnn=(3, 3, 4, 4, 4, 4, 6, 6, 6)):
        super().__init__()
        layers, channels = [], 3
        for block, (convs, width) in enumerate(zip((2, 2, 3, 3, 3), vgg)):
            for _ in range(convs):
                layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
                channels = width
            if block < 4:
                layers.append(nn.MaxPool2d(2, 2))
        self.features1 = nn.Sequential(*layers)
        layers, channels = [], 3
        for width, stride in zip(scnn, (1, 2, 1, 2, 1, 2, 1, 1, 2)):
            layers += [nn.Conv2d(channels, width, 3, stride, 1), nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
        self.features2 = nn.Sequential(*layers)
        self.fc = nn.Linear(vgg[-1] * scnn[-1], 1)

    def forward(self, x):
        x1, x2 = self.features1(x), self.features2(x)
        n, c1, h, w = x1.shape
        if x2.shape[2:] != (h, w):
            x2 = F.interpolate(x2, (h, w), mode="bilinear", align_corners=True)
        x = torch.bmm(x1.reshape(n, c1, h * w), x2.reshape(n, x2.shape[1], h * w).transpose(1, 2)) / (h * w)
        return self.fc(F.normalize(torch.sqrt(x.reshape(n, -1) + 1e-8))).squeeze(1)


def randomised(net, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            fan_in = int(np.prod(p.shape[1:])) if p.dim() > 1 else 1
            p.copy_(torch.randn(p.shape, generator=gen) * (1.5 / fan_in ** 0.5 if p.dim() > 1 else 0.1))
            if name.startswith("fc."):
                p.mul_(20.0)
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
                m.weight.add_(1.0)
    return net.eval()


def torch_scores(net, x):
    normalised = (x / 255.0 - MEAN) / STD
    with torch.no_grad():
        return net(torch.tensor(normalised, dtype=torch.float32).permute(0, 3, 1, 2)).numpy()


def test_checkpoint_parity_both_layouts(tmp_path, capsys):
    """zwx8981 (DataParallel ``module.`` keys) and pyiqa (``params``) files convert to the same network, which
    scores as the torch one at 64² (equal stream sizes) and 40² (S-CNN map resized to VGG's). The converted dbcnn
    preset holds a tiny-width catalogue scorer: it loads through ``create_scorer`` (the preset, and the plain
    ``model.keras`` folder and file written before presets) and scores through its SavedModel."""
    net = randomised(TorchDBCNN(), seed=1)
    torch.save({f"module.{k}": v for k, v in net.state_dict().items()}, tmp_path / "net_params_best.pkl")
    torch.save({"params": net.state_dict()}, tmp_path / "DBCNN_LIVEC-test.pth")
    official = convert.load_state_dict(tmp_path / "net_params_best.pkl")
    pyiqa = convert.load_state_dict(tmp_path / "DBCNN_LIVEC-test.pth")
    assert sorted(official) == sorted(pyiqa) and all(np.array_equal(official[k], pyiqa[k]) for k in official)
    config = convert.config_from_state(official)
    assert config.vgg_widths == (4, 6, 8, 8, 10) and config.scnn_widths == (3, 3, 4, 4, 4, 4, 6, 6, 6)
    assert main(["convert", "dbcnn", "--torch", str(tmp_path / "DBCNN_LIVEC-test.pth"), "--out", str(tmp_path / "out"),
                 "--input-size", "64"]) == 0
    assert "savedmodel" in capsys.readouterr().out
    record = json.loads((tmp_path / "out" / "config.json").read_text())
    assert (record["format"], record["kind"], record["files"], record["extra"]) == \
        ("tfagiqa-preset", "dbcnn", {"model": "model.keras"}, ["savedmodel"])
    assert record["architecture"]["input_size"] == 64 and record["architecture"]["network"]["vgg_widths"] == \
        [4, 6, 8, 8, 10]
    x = images(2, 64, 2).round()
    expected = torch_scores(net, x)
    assert abs(expected[0] - expected[1]) > 1e-3
    older = older_layout(tmp_path / "out", tmp_path / "older")  # model.keras + savedmodel/, no config.json
    for weights in (older, older / "model.keras", tmp_path / "out"):
        scorer = tfagiqa.create_scorer("dbcnn", str(weights))
        np.testing.assert_allclose(scorer.predict({"images": x}, verbose=0)["quality"], expected, rtol=1e-4,
                                   atol=1e-4)
    odd = images(2, 40, 3)
    np.testing.assert_allclose(scorer.get_layer("dbcnn")({"images": odd}), torch_scores(net, odd), rtol=1e-4, atol=1e-4)
    served = Scorer.load(tmp_path / "out" / "savedmodel")(x.astype(np.uint8))["quality"]
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-4)


def test_converter_refusals(tmp_path):
    net = TorchDBCNN()
    state = net.state_dict()
    torch.save({k: v for k, v in state.items() if not k.startswith("fc.")}, tmp_path / "no_fc.pth")
    with pytest.raises(TfagiqaError, match="not a DBCNN state dict"):
        convert.load_state_dict(tmp_path / "no_fc.pth")
    torch.save({**state, "fc.weight": torch.zeros(1, 7)}, tmp_path / "bad_fc.pth")
    with pytest.raises(TfagiqaError, match="bilinear"):
        convert.config_from_state(convert.load_state_dict(tmp_path / "bad_fc.pth"))
    with pytest.raises(WeightsError, match="IQA-PyTorch"):
        convert.load_state_dict(tmp_path / "absent.pth")


# --- catalogue scorer ------------------------------------------------------------------------------------------


def test_catalogue_scorer_at_paper_size(tmp_path):
    """create_scorer builds the paper's network, randomly initialised, without I/O (the tiny-width scorer's Keras
    and SavedModel round trips are checked with the converted file above)."""
    paper = tfagiqa.create_scorer("dbcnn")
    assert paper.input["images"].shape[1:] == (512, 512, 3) and list(paper.output) == ["quality"]
    inner = paper.get_layer("dbcnn")
    assert inner.get_layer("fc").kernel.shape == (512 * 128, 1)
    assert inner.get_layer("vgg16").count_params() == 14_714_688  # VGG-16 without its classifier
    with pytest.raises(WeightsError, match="tfagiqa convert dbcnn"):
        tfagiqa.create_scorer("dbcnn", str(tmp_path / "absent.keras"))
    dbcnn.dbcnn_model(dbcnn.TINY).save(tmp_path / "not_a_scorer.keras")  # the network without the scorer's wrapper
    with pytest.raises(WeightsError, match="not a DBCNN scorer"):
        tfagiqa.create_scorer("dbcnn", str(tmp_path / "not_a_scorer.keras"))


# --- benchmark adapter ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    df = load_dataset("agiqa3k", tmp_path_factory.mktemp("data"))
    split = next(iter(grouped_random_splits(df, repeats=1).values()))
    return df[split == "train"], df[split == "test"]


def test_benchmark_learns_on_the_standin(standin, tmp_path, monkeypatch):
    """The smoke profile, shortened (one S-CNN pre-training epoch, 96 steps of the all-layers phase), ranks the
    stand-in's test images by quality clearly above chance."""
    smoke = benchmark.PROFILES["smoke"]
    monkeypatch.setitem(benchmark.PROFILES, "smoke", replace(
        smoke, pretrain=replace(smoke.pretrain, epochs=1), fine_tune=replace(smoke.fine_tune, all_steps=96)))
    train, test = standin
    out = benchmark.fit_predict(train, test, "quality", profile="smoke", weights=None, seed=0, workdir=tmp_path)
    assert out["predictions"].shape == (len(test),) and np.isfinite(out["predictions"]).all()
    assert out["weights"] == "random" and out["backbone"] == "vgg16-tiny-random"
    assert "45 distortion classes" in out["notes"]
    assert srcc(out["predictions"], test["quality"].to_numpy()) > 0.4
    preset = load_preset(tmp_path / "dbcnn", kind="dbcnn")
    assert (preset.source["profile"], preset.source["target"], preset.source["backbone"]) == \
        ("smoke", "quality", "vgg16-tiny-random")
    assert tfagiqa.create_scorer("dbcnn", str(tmp_path / "dbcnn")).input["images"].shape[1:] == (64, 64, 3)
    assert benchmark.TRAINED and not benchmark.NEEDS_PROMPT
    assert all(benchmark.skip_reason(t) is None for t in ("quality", "alignment", "overall"))
    assert "unknown target" in benchmark.skip_reason("beauty")


def test_pretraining_batches_are_pure_functions_of_seed_and_index(standin):
    """Batch i of the S-CNN's distorted crops depends on (seed, i) only: any number of workers, any order."""
    settings = replace(benchmark.PROFILES["smoke"].pretrain, max_images=6, batch_size=4)
    sources = pretrain.source_images(standin[0]["image"].astype(str).tolist(), settings, seed=3)
    assert len(sources) == 6 and min(min(image.shape[:2]) for image in sources) >= settings.resize_to
    first, again = pretrain.DistortedCrops(sources, settings, 3), pretrain.DistortedCrops(sources, settings, 3)
    (crops, labels), (crops_again, labels_again) = first[5], again[5]
    assert crops["images"].shape == (4, 48, 48, 3) and labels.shape == (4,) and labels.max() < 45
    np.testing.assert_array_equal(crops["images"], crops_again["images"])
    np.testing.assert_array_equal(labels, labels_again)
    assert not np.array_equal(first[6][0]["images"], crops["images"])
    assert len(first) == settings.epochs * settings.steps_per_epoch


def test_fine_tuning_pipeline_crops_resized_images(standin):
    """The paper profile's pipeline: images resized to image_size², random train_crop² crops, keyed to the epoch."""
    settings = replace(benchmark.PROFILES["paper"].fine_tune, image_size=80, train_crop=64, batch_size=4)
    clock = protocol.EpochClock()
    inputs, labels = next(iter(protocol._pipeline(standin[0].iloc[:8], "quality", settings, 0, clock)))
    assert inputs["images"].shape == (4, 64, 64, 3) and labels.shape == (4, 1)


def test_benchmark_refuses_bad_input(standin, tmp_path):
    """Refusals come before any training: NaN labels, a missing weights file, an unknown profile."""
    train, test = standin[0].iloc[:8], standin[1].iloc[:2]
    with pytest.raises(DataError, match="NaN"):
        benchmark.fit_predict(train.assign(alignment=np.nan), test, "alignment", profile="smoke", weights=None,
                              seed=0, workdir=tmp_path)
    with pytest.raises(WeightsError, match="vgg16.h5 does not exist; this needs dbcnn .* or vgg16"):
        benchmark.fit_predict(train, test, "quality", profile="smoke", weights=str(tmp_path / "vgg16.h5"), seed=0,
                              workdir=tmp_path)
    with pytest.raises(WeightsError, match="tfagiqa convert dbcnn"):
        benchmark.fit_predict(train, test, "quality", profile="smoke", weights=str(tmp_path / "dbcnn.keras"),
                              seed=0, workdir=tmp_path)
    with pytest.raises(TfagiqaError, match="profile"):
        benchmark.fit_predict(train, test, "quality", profile="huge", weights=None, seed=0, workdir=tmp_path)
