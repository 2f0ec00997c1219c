"""CNNIQA: local normalisation and patches against hand computations, converter parity with a PyTorch
re-implementation of both public layouts (written here from the paper and the reference code's description),
the catalogue scorer through Keras and a SavedModel, and the benchmark adapter learning on the stand-in."""

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch", reason="the converter parity tests need PyTorch (pip install 'tfagiqa[torch]')")
nn, F = torch.nn, torch.nn.functional

import tfagiqa  # noqa: E402
from older_layouts import older_layout  # noqa: E402
from tfagiqa.cli import main  # noqa: E402
from tfagiqa.data import load_dataset  # noqa: E402
from tfagiqa.data.splits import grouped_random_splits  # noqa: E402
from tfagiqa.errors import DataError, TfagiqaError, WeightsError  # noqa: E402
from tfagiqa.methods.cnniqa import benchmark, convert  # noqa: E402
from tfagiqa.methods.cnniqa import model as cnniqa  # noqa: E402
from tfagiqa.metrics import srcc  # noqa: E402
from tfagiqa.presets import load_preset  # noqa: E402
from tfagiqa.scorer import Scorer  # noqa: E402


def images(n, size, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


def mirrored(i, n):
    """scipy's 'symm' boundary: … b a | a b … z | z y …"""
    return -i - 1 if i < 0 else 2 * n - i - 1 if i >= n else i


def test_local_normalisation_against_loops():
    x = np.random.default_rng(0).uniform(0, 1, (2, 6, 5, 2)).astype("float32")
    for window, constant in ((3, 1.0), (5, 0.1)):
        got = np.asarray(cnniqa.LocalContrastNormalization(window, constant)(x))
        r = window // 2
        expected = np.empty_like(x)
        for b in range(2):
            for c in range(2):
                for i in range(6):
                    for j in range(5):
                        patch = [x[b, mirrored(i + di, 6), mirrored(j + dj, 5), c]
                                 for di in range(-r, r + 1) for dj in range(-r, r + 1)]
                        expected[b, i, j, c] = (x[b, i, j, c] - np.mean(patch)) / (np.std(patch) + constant)
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_grey_patches_grid_and_random():
    x = images(2, 100, 1)[:, :70]  # 70×100: a 2×3 grid of 32² patches, 6- and 4-pixel borders left out
    grey = np.asarray(cnniqa.PatchColour("grey")(x))
    np.testing.assert_allclose(grey[..., 0], (x / 255.0) @ np.array(cnniqa.LUMA), atol=1e-6)
    pil = np.asarray(Image.fromarray(x[0].astype(np.uint8)).convert("L"), np.float32) / 255
    assert np.abs(np.asarray(cnniqa.PatchColour("grey")(x[:1].astype(np.uint8).astype("float32")))[0, ..., 0]
                  - pil).max() <= 1 / 255 + 1e-6
    sampler = cnniqa.PatchSampler(32, train_patches=5, seed=3)
    grid = np.asarray(sampler(grey, training=False))
    assert grid.shape == (2, 6, 32, 32, 1)
    for k, (top, left) in enumerate((t, l) for t in (0, 32) for l in (0, 32, 64)):
        np.testing.assert_array_equal(grid[:, k], grey[:, top:top + 32, left:left + 32])
    first, second = np.asarray(sampler(grey, training=True)), np.asarray(sampler(grey, training=True))
    assert first.shape == (2, 5, 32, 32, 1) and not np.array_equal(first, second)
    for b in range(2):
        for patch in first[b]:  # every sampled patch is a 32×32 window of its own image
            assert any(np.array_equal(patch, grey[b, t:t + 32, l:l + 32]) for t in range(39) for l in range(69))


def test_patch_network_and_scorer_shapes():
    network = cnniqa.patch_network(cnniqa.TINY)
    assert network.get_layer("conv1").kernel.shape == (7, 7, 1, 8)
    assert network.get_layer("fc1").kernel.shape == (16, 16)  # max and min of 8 maps
    pooled = np.asarray(cnniqa.MaxMinPooling()(np.arange(24, dtype="float32").reshape(1, 2, 3, 4)))
    np.testing.assert_array_equal(pooled, [[20, 21, 22, 23, 0, 1, 2, 3]])
    patches = cnniqa.patch_score_model(cnniqa.TINY, 96)
    scorer = cnniqa.scoring_model(patches)
    x = images(2, 96)
    per_patch = np.asarray(patches({"images": x}))
    assert per_patch.shape == (2, 9)
    np.testing.assert_allclose(scorer.predict({"images": x}, verbose=0)["quality"], per_patch.mean(1), atol=1e-6)
    sampled = np.asarray(patches({"images": x}, training=True))
    assert sampled.shape == (2, cnniqa.TINY.train_patches)
    labels = np.array([[0.5], [-1.0]], "float32")  # the adapter's loss: every patch regresses its image's label
    assert float(benchmark.PATCH_LOSS(labels, sampled)) == pytest.approx(np.abs(labels - sampled).mean(), rel=1e-5)
    with pytest.raises(ValueError, match="patch"):
        cnniqa.patch_score_model(cnniqa.TINY, 24)


# --- converter parity -----------------------------------------------------------------------------------------

class TorchCNNIQA(nn.Module):
    """The patch network as the reference codes write it: conv1 → max/min pooling → fc1, ReLU → fc2, ReLU → fc3."""

    def __init__(self, channels, kernels=6, hidden=(12, 10)):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, kernels, 7)
        self.fc1, self.fc2, self.fc3 = nn.Linear(2 * kernels, hidden[0]), nn.Linear(*hidden), nn.Linear(hidden[1], 1)

    def forward(self, x):
        h = self.conv1(x)
        h = torch.cat([h.amax(dim=(2, 3)), h.amin(dim=(2, 3))], 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(h))))).squeeze(1)


def randomised(net, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.4)
    return net.eval()


def reference_grey_scores(net, x):
    """The paper's pipeline in numpy/scipy: BT.601 grey in [0, 1], 32² grid patches, 3×3 local normalisation
    (scipy convolve2d, 'symm' borders, C = 1) per patch, the torch network, mean over patches."""
    from scipy.signal import convolve2d

    kernel = np.ones((3, 3)) / 9
    out = []
    for image in x:
        grey = (image / 255.0) @ np.array(cnniqa.LUMA)
        patches = []
        for top in range(0, grey.shape[0] - 31, 32):
            for left in range(0, grey.shape[1] - 31, 32):
                p = grey[top:top + 32, left:left + 32]
                mu = convolve2d(p, kernel, boundary="symm", mode="same")
                sigma = np.sqrt(np.maximum(convolve2d(p * p, kernel, boundary="symm", mode="same") - mu * mu, 0))
                patches.append((p - mu) / (sigma + 1.0))
        with torch.no_grad():
            out.append(net(torch.tensor(np.stack(patches)[:, None], dtype=torch.float32)).mean().item())
    return np.array(out)


def test_grey_checkpoint_parity_and_cli(tmp_path, capsys):
    """lidq92/CNNIQA layout (1 input channel): ``tfagiqa convert cnniqa`` writes a cnniqa preset holding a (tiny)
    catalogue scorer that loads through ``create_scorer`` (the preset, and the plain ``model.keras`` folder and file
    written before presets) and a SavedModel; all score as the numpy/scipy + torch pipeline does."""
    net = randomised(TorchCNNIQA(1), seed=1)
    torch.save(net.state_dict(), tmp_path / "CNNIQA-LIVE")
    state = convert.load_state_dict(tmp_path / "CNNIQA-LIVE")
    config = convert.config_from_state(state)
    assert (config.colour, config.local_norm, config.patch_size, config.kernels, config.hidden) == \
        ("grey", True, 32, 6, (12, 10))
    assert main(["convert", "cnniqa", "--torch", str(tmp_path / "CNNIQA-LIVE"), "--out", str(tmp_path / "out"),
                 "--input-size", "64"]) == 0
    assert "savedmodel" in capsys.readouterr().out
    record = json.loads((tmp_path / "out" / "config.json").read_text())
    assert (record["format"], record["kind"], record["files"], record["extra"]) == \
        ("tfagiqa-preset", "cnniqa", {"model": "model.keras"}, ["savedmodel"])
    assert record["architecture"]["input_size"] == 64 and record["architecture"]["network"]["kernels"] == 6
    x = images(2, 64, 2).round()
    expected = reference_grey_scores(net, x)
    assert abs(expected[0] - expected[1]) > 1e-3
    older = older_layout(tmp_path / "out", tmp_path / "older")  # model.keras + savedmodel/, no config.json
    for weights in (tmp_path / "out", older, older / "model.keras"):
        model = tfagiqa.create_scorer("cnniqa", str(weights))
        np.testing.assert_allclose(model.predict({"images": x}, verbose=0)["quality"], expected, atol=1e-4)
    served = Scorer.load(tmp_path / "out" / "savedmodel")(x.astype(np.uint8))["quality"]
    np.testing.assert_allclose(served, expected, atol=1e-4)


def test_pyiqa_rgb_checkpoint_parity():
    """pyiqa layout (3 channels, tensors under ``params``): the whole RGB image in [0, 1] is one patch."""
    net = randomised(TorchCNNIQA(3), seed=2)
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    config = convert.config_from_state(state)
    assert (config.colour, config.local_norm, config.patch_size) == ("rgb", False, None)
    model = convert.convert(state, input_size=48)
    x = images(2, 48, 3)
    with torch.no_grad():
        expected = net(torch.tensor(x / 255.0).permute(0, 3, 1, 2).float()).numpy()
    np.testing.assert_allclose(model.predict({"images": x}, verbose=0)["quality"], expected, atol=1e-4)


def test_converter_unwraps_pyiqa_params_and_refuses_others(tmp_path):
    net = TorchCNNIQA(3)
    torch.save({"params": net.state_dict()}, tmp_path / "CNNIQA_koniq10k-test.pth")
    assert sorted(convert.load_state_dict(tmp_path / "CNNIQA_koniq10k-test.pth")) == sorted(convert.KEYS)
    torch.save({"conv1.weight": torch.zeros(4, 1, 7, 7)}, tmp_path / "partial.pth")
    with pytest.raises(TfagiqaError, match="missing conv1.bias"):
        convert.load_state_dict(tmp_path / "partial.pth")
    with pytest.raises(WeightsError, match="IQA-PyTorch"):
        convert.load_state_dict(tmp_path / "absent.pth")


# --- catalogue scorer ------------------------------------------------------------------------------------------


def test_catalogue_scorer_at_paper_size(tmp_path):
    """create_scorer builds the paper's network, randomly initialised, without I/O (the tiny scorer's Keras and
    SavedModel round trips are checked with the converted file above); it scores two 512² images."""
    paper = tfagiqa.create_scorer("cnniqa")
    assert paper.input["images"].shape[1:] == (512, 512, 3) and list(paper.output) == ["quality"]
    assert paper.get_layer("cnniqa_patches").get_layer("patch_network").count_params() == \
        50 * 49 + 50 + 100 * 800 + 800 + 800 * 800 + 800 + 801
    scores = paper.predict({"images": images(2, 512, 4)}, verbose=0)["quality"]
    assert scores.shape == (2,) and np.isfinite(scores).all() and scores[0] != scores[1]
    with pytest.raises(WeightsError, match="tfagiqa convert cnniqa"):
        tfagiqa.create_scorer("cnniqa", str(tmp_path / "absent.keras"))
    cnniqa.patch_network(cnniqa.TINY).save(tmp_path / "patch_network.keras")
    with pytest.raises(WeightsError, match="not a scorer"):
        tfagiqa.create_scorer("cnniqa", str(tmp_path / "patch_network.keras"))


# --- benchmark adapter ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    df = load_dataset("agiqa3k", tmp_path_factory.mktemp("data"))
    split = next(iter(grouped_random_splits(df, repeats=1).values()))
    return df[split == "train"], df[split == "test"]


def test_benchmark_learns_on_the_standin(standin, tmp_path, monkeypatch):
    """The smoke profile (3 of its epochs) ranks the stand-in's test images by quality well above chance."""
    monkeypatch.setitem(benchmark.PROFILES, "smoke", replace(benchmark.PROFILES["smoke"], epochs=3))
    train, test = standin
    out = benchmark.fit_predict(train, test, "quality", profile="smoke", weights=None, seed=0, workdir=tmp_path)
    assert out["predictions"].shape == (len(test),) and np.isfinite(out["predictions"]).all()
    assert out["weights"] == "random" and out["backbone"] == "cnniqa-smoke"
    assert srcc(out["predictions"], test["quality"].to_numpy()) > 0.4
    preset = load_preset(tmp_path / "cnniqa", kind="cnniqa")
    assert (preset.source["profile"], preset.source["target"], preset.source["weights"]) == ("smoke", "quality", "random")
    assert tfagiqa.create_scorer("cnniqa", str(tmp_path / "cnniqa")).input["images"].shape[1:] == (96, 96, 3)
    assert benchmark.TRAINED and not benchmark.NEEDS_PROMPT
    assert all(benchmark.skip_reason(t) is None for t in ("quality", "alignment", "overall"))


def test_benchmark_is_deterministic_and_refuses_bad_input(standin, tmp_path, monkeypatch):
    monkeypatch.setitem(benchmark.PROFILES, "smoke", replace(benchmark.PROFILES["smoke"], epochs=1, image_size=64))
    train, test = standin[0].iloc[:48], standin[1].iloc[:8]
    runs = [benchmark.fit_predict(train, test, "quality", profile="smoke", weights=None, seed=seed,
                                  workdir=tmp_path / str(i))["predictions"] for i, seed in enumerate((5, 5, 6))]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2])
    with pytest.raises(DataError, match="NaN"):
        benchmark.fit_predict(train.assign(quality=np.nan), test, "quality", profile="smoke", weights=None, seed=0,
                              workdir=tmp_path)
    with pytest.raises(WeightsError, match="from scratch"):
        benchmark.fit_predict(train, test, "quality", profile="smoke", weights="imagenet", seed=0, workdir=tmp_path)
    with pytest.raises(TfagiqaError, match="profile"):
        benchmark.fit_predict(train, test, "quality", profile="huge", weights=None, seed=0, workdir=tmp_path)
    assert "unknown target" in benchmark.skip_reason("beauty")
