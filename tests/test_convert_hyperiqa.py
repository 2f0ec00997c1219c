"""The HyperIQA converter against a PyTorch re-implementation of the official network (written here from SPEC §3.2).

The PyTorch module uses the official parameter names; random weights (and random batch-norm statistics) are
saved with torch.save as a state dict, converted, and both networks score the same normalised crops.
"""

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter parity test needs PyTorch (pip install 'tfagiqa[torch]')")
nn = torch.nn

from tfagiqa.methods.hyperiqa import convert as hyperiqa  # noqa: E402


class Bottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride, downsample):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


class Backbone(nn.Module):
    """torchvision ResNet-50 v1.5 plus the LDA heads, named as the official ``res`` module."""

    def __init__(self, width, blocks, lda, target_in, pool):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        inplanes = width
        for stage, (count, stride) in enumerate(zip(blocks, (1, 2, 2, 2)), start=1):
            planes = width * 2 ** (stage - 1)
            layers = []
            for i in range(count):
                s = stride if i == 0 else 1
                down = None
                if i == 0 and (s != 1 or inplanes != planes * 4):
                    down = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride=s, bias=False),
                                         nn.BatchNorm2d(planes * 4))
                layers.append(Bottleneck(inplanes, planes, s, down))
                inplanes = planes * 4
            setattr(self, f"layer{stage}", nn.Sequential(*layers))
        c = [width * 4, width * 8, width * 16]
        side = [8, 4, 2]  # 56/7, 28/7, 14/7 at 224
        for k in range(3):
            setattr(self, f"lda{k + 1}_pool", nn.Sequential(nn.Conv2d(c[k], c[k] // 16, 1, bias=False),
                                                            nn.AvgPool2d(pool, stride=pool)))
            setattr(self, f"lda{k + 1}_fc", nn.Linear(c[k] // 16 * side[k] ** 2, lda))
        self.lda4_pool = nn.AvgPool2d(pool, stride=pool)
        self.lda4_fc = nn.Linear(width * 32, target_in - 3 * lda)

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        vec = []
        for k in range(1, 5):
            x = getattr(self, f"layer{k}")(x)
            vec.append(getattr(self, f"lda{k}_fc")(getattr(self, f"lda{k}_pool")(x).view(x.size(0), -1)))
        return x, torch.cat(vec, 1)


class HyperNet(nn.Module):
    """Hyper network + target network as SPEC §3.2 describes them (official module names and .view semantics)."""

    def __init__(self, width=64, blocks=(3, 4, 6, 3), lda=16, hyper=112, sizes=(224, 112, 56, 28, 14), fs=7):
        super().__init__()
        self.sizes, self.hyper, self.fs = sizes, hyper, fs
        self.res = Backbone(width, blocks, lda, sizes[0], fs)
        self.conv1 = nn.Sequential(nn.Conv2d(width * 32, 1024, 1), nn.ReLU(), nn.Conv2d(1024, 512, 1), nn.ReLU(),
                                   nn.Conv2d(512, hyper, 1), nn.ReLU())
        for k in range(1, 5):
            setattr(self, f"fc{k}w_conv", nn.Conv2d(hyper, sizes[k - 1] * sizes[k] // fs ** 2, 3, padding=1))
            setattr(self, f"fc{k}b_fc", nn.Linear(hyper, sizes[k]))
        self.fc5w_fc = nn.Linear(hyper, sizes[4])
        self.fc5b_fc = nn.Linear(hyper, 1)

    def forward(self, img):
        feat, vec = self.res(img)
        h = self.conv1(feat)
        pooled = h.mean(dim=(2, 3))
        q = vec
        for k in range(1, 5):
            w = getattr(self, f"fc{k}w_conv")(h).view(-1, self.sizes[k], self.sizes[k - 1])
            b = getattr(self, f"fc{k}b_fc")(pooled)
            q = torch.sigmoid(torch.bmm(w, q.unsqueeze(2)).squeeze(2) + b)
        w5 = self.fc5w_fc(pooled).view(-1, 1, self.sizes[4])
        return (torch.bmm(w5, q.unsqueeze(2)).squeeze(2) + self.fc5b_fc(pooled)).squeeze(1)


def randomised(net: nn.Module, seed: int) -> nn.Module:
    """Random parameters and batch-norm statistics, scaled so activations stay in range through ResNet-50."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            fan_in = int(np.prod(p.shape[1:])) if p.dim() > 1 else 1
            p.copy_(torch.randn(p.shape, generator=gen) * (0.5 / fan_in ** 0.5 if p.dim() > 1 else 0.1))
            if name.endswith("bn3.weight") or name.endswith("downsample.1.weight"):
                p.mul_(0.5)
            if not name.startswith("res.") or "lda" in name:
                p.mul_(3.0)  # a livelier target net: crops then get clearly different scores
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 0.5 + 0.5)
                m.weight.add_(1.0)
    return net.eval()


def crops(n, size, seed=0):
    return np.random.RandomState(seed).normal(size=(n, size, size, 3)).astype("float32")


def test_official_size_parity(tmp_path):
    """Official sizes (ResNet-50, 224 crops): converted Keras ≡ PyTorch to 1e-4 on the same normalised crops."""
    net = randomised(HyperNet(), seed=1)
    path = tmp_path / "hyperiqa.pth"
    torch.save(net.state_dict(), path)
    state = hyperiqa.load_state_dict(path)
    config = hyperiqa.config_from_state(state)
    assert (config.width, config.blocks, config.target_sizes, config.image_size) == (64, (3, 4, 6, 3),
                                                                                     (224, 112, 56, 28, 14), 224)
    model = hyperiqa.convert(state)
    x = crops(2, 224)
    with torch.no_grad():
        expected = net(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()).numpy()
    got = np.asarray(model(x))
    assert got.shape == (2,)
    assert abs(expected[0] - expected[1]) > 1e-3  # the crops get different scores: the check is not vacuous
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_cli_writes_model_and_savedmodel(tmp_path):
    """A small checkpoint through run(): model.keras reloads with the same scores; the SavedModel averages crops."""
    import keras

    net = randomised(HyperNet(width=8, blocks=(1, 1, 1, 1), lda=4, hyper=16, sizes=(32, 16, 8, 4, 2), fs=2), seed=2)
    path = tmp_path / "small.pth"
    torch.save(net.state_dict(), path)
    out = tmp_path / "out"
    assert hyperiqa.run(argparse.Namespace(torch=str(path), out=str(out), no_savedmodel=False)) == 0
    model = keras.saving.load_model(out / "model.keras")
    x = crops(3, 64, seed=3)
    with torch.no_grad():
        expected = net(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()).numpy()
    np.testing.assert_allclose(np.asarray(model(x)), expected, atol=1e-4, rtol=0)
    record = json.loads((out / "savedmodel" / "tfagiqa.json").read_text())
    assert record["model"] == "hyperiqa" and record["views"] == {"crop": "fixed_crops", "n_crops": 25, "resize_to": 146}
    code = ("import sys, numpy as np, tensorflow as tf; m = tf.saved_model.load(sys.argv[1]); "
            "print(m.signatures['score_images'](images=tf.zeros([2, 150, 170, 3], tf.uint8))['quality'].shape)")
    done = subprocess.run([sys.executable, "-c", code, str(out / "savedmodel")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(2,)" in done.stdout


def test_not_a_checkpoint(tmp_path):
    from tfagiqa.errors import TfagiqaError

    path = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(TfagiqaError, match="not a HyperIQA"):
        hyperiqa.load_state_dict(path)
