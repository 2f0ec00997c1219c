"""`tfagiqa convert clip` parity: a PyTorch CLIP ResNet (written here from SPEC §3.1, official parameter names) with
random weights, saved as a state dict and as a TorchScript archive, converted; both encoders match to 1e-4."""

import argparse

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'tfagiqa[torch]')")
pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
nn = torch.nn
F = torch.nn.functional

from tfagiqa.layers.normalisation import CLIP_MEAN  # noqa: E402
from tfagiqa.backbones import clip_convert as converter  # noqa: E402
from tfagiqa.layers.attention_pool import bicubic_matrix  # noqa: E402

WIDTH, LAYERS, EMBED, RESOLUTION = 8, (1, 2, 1, 1), 32, 64
VOCAB, CONTEXT, TEXT_WIDTH, TEXT_LAYERS = 100, 77, 64, 2


class Bottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(inplanes, planes, 1, bias=False), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False), nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3, self.bn3 = nn.Conv2d(planes, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride > 1 or inplanes != planes * 4:
            # the official module names: downsample.-1 = pool, .0 = conv, .1 = bn
            self.downsample = nn.Sequential()
            self.downsample.add_module("-1", nn.AvgPool2d(stride))
            self.downsample.add_module("0", nn.Conv2d(inplanes, planes * 4, 1, bias=False))
            self.downsample.add_module("1", nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.avgpool(out)))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class AttentionPool(nn.Module):
    def __init__(self, spacial_dim, embed_dim, heads, output_dim):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(spacial_dim ** 2 + 1, embed_dim) / embed_dim ** 0.5)
        self.k_proj, self.q_proj, self.v_proj = (nn.Linear(embed_dim, embed_dim) for _ in range(3))
        self.c_proj = nn.Linear(embed_dim, output_dim)
        self.heads = heads

    def forward(self, x):
        x = x.flatten(start_dim=2).permute(2, 0, 1)
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0) + self.positional_embedding[:, None, :]
        out, _ = F.multi_head_attention_forward(
            query=x[:1], key=x, value=x, embed_dim_to_check=x.shape[-1], num_heads=self.heads,
            q_proj_weight=self.q_proj.weight, k_proj_weight=self.k_proj.weight, v_proj_weight=self.v_proj.weight,
            in_proj_weight=None, in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0, out_proj_weight=self.c_proj.weight,
            out_proj_bias=self.c_proj.bias, use_separate_proj_weight=True, training=False, need_weights=False)
        return out.squeeze(0)


class ModifiedResNet(nn.Module):
    def __init__(self):
        super().__init__()
        w = WIDTH
        self.conv1, self.bn1 = nn.Conv2d(3, w // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w // 2)
        self.conv2, self.bn2 = nn.Conv2d(w // 2, w // 2, 3, padding=1, bias=False), nn.BatchNorm2d(w // 2)
        self.conv3, self.bn3 = nn.Conv2d(w // 2, w, 3, padding=1, bias=False), nn.BatchNorm2d(w)
        self.avgpool = nn.AvgPool2d(2)
        inplanes = w
        for stage, (blocks, mult) in enumerate(zip(LAYERS, (1, 2, 4, 8)), start=1):
            layer = []
            for block in range(blocks):
                stride = 2 if stage > 1 and block == 0 else 1
                layer.append(Bottleneck(inplanes, w * mult, stride))
                inplanes = w * mult * 4
            setattr(self, f"layer{stage}", nn.Sequential(*layer))
        self.attnpool = AttentionPool(RESOLUTION // 32, w * 32, w * 32 // 64, EMBED)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.avgpool(F.relu(self.bn3(self.conv3(x))))
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return self.attnpool(x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, mask):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, width * 4))
        self.mlp.add_module("c_proj", nn.Linear(width * 4, width))
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=self.mask)[0]
        h = self.mlp.c_fc(self.ln_2(x))
        return x + self.mlp.c_proj(h * torch.sigmoid(1.702 * h))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        mask = torch.full((CONTEXT, CONTEXT), float("-inf")).triu_(1)
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(TEXT_WIDTH, TEXT_WIDTH // 64, mask)
                                         for _ in range(TEXT_LAYERS)])

    def forward(self, x):
        return self.resblocks(x)


class CLIP(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = ModifiedResNet()
        self.transformer = Transformer()
        self.token_embedding = nn.Embedding(VOCAB, TEXT_WIDTH)
        self.positional_embedding = nn.Parameter(torch.randn(CONTEXT, TEXT_WIDTH) * 0.01)
        self.ln_final = nn.LayerNorm(TEXT_WIDTH)
        self.text_projection = nn.Parameter(torch.randn(TEXT_WIDTH, EMBED) * TEXT_WIDTH ** -0.5)
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))

    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection

    def forward(self, image, text):
        return self.visual(image), self.encode_text(text)


def randomised() -> CLIP:
    """The tiny CLIP with every parameter and BN statistic random (so no weight can be silently skipped)."""
    torch.manual_seed(0)
    model = CLIP()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * (0.3 if p.ndim > 1 else 0.1) + (1.0 if name.endswith("bn1.weight") else 0.0))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn_like(m.running_mean) * 0.1)
                m.running_var.copy_(torch.rand_like(m.running_var) + 0.5)
    return model.eval()


def inputs():
    rng = np.random.default_rng(0)
    images = ((rng.random((3, RESOLUTION, RESOLUTION, 3)) - np.array(CLIP_MEAN)) / 0.27).astype("float32")
    ids = np.zeros((3, CONTEXT), dtype="int64")
    for row, length in enumerate((5, 1, 20)):
        ids[row, 0] = VOCAB - 2
        ids[row, 1:length + 1] = rng.integers(1, VOCAB - 2, size=length)
        ids[row, length + 1] = VOCAB - 1
    return images, ids


@pytest.fixture(scope="module")
def reference():
    model = randomised()
    images, ids = inputs()
    with torch.no_grad():
        image_ref, text_ref = model(torch.from_numpy(images).permute(0, 3, 1, 2), torch.from_numpy(ids))
    return model, images, ids, image_ref.numpy(), text_ref.numpy()


def convert(tmp_path, path):
    out = tmp_path / "converted"
    assert converter.run(argparse.Namespace(torch=str(path), bpe=None, out=str(out))) == 0
    return converter.load_converted(out)


@pytest.mark.parametrize("kind", ["state_dict", "torchscript"])
def test_converted_encoders_match_pytorch(tmp_path, reference, kind):
    model, images, ids, image_ref, text_ref = reference
    path = tmp_path / "clip.pt"
    if kind == "state_dict":
        torch.save(model.state_dict(), path)
    else:
        torch.jit.trace(model, (torch.zeros(1, 3, RESOLUTION, RESOLUTION), torch.from_numpy(ids[:1]))).save(str(path))
    image_encoder, text_encoder, config = convert(tmp_path, path)
    assert config["vision"]["layers"] == list(LAYERS) and config["vision"]["image_size"] == RESOLUTION
    assert config["text"]["context_length"] == CONTEXT and image_encoder.input_shape == (None, RESOLUTION, RESOLUTION, 3)
    np.testing.assert_allclose(image_encoder.predict(images, verbose=0), image_ref, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(text_encoder.predict(ids.astype("int32"), verbose=0), text_ref, atol=1e-4, rtol=1e-4)
    assert abs(config["logit_scale"] - float(model.logit_scale.detach())) < 1e-6


def test_bicubic_matrix_is_torch_bicubic():
    grid = torch.randn(1, 5, 7, 7)
    for size in (16, 3, 7):
        expected = F.interpolate(grid, size=(size, size), mode="bicubic", align_corners=False)[0].numpy()
        rows = bicubic_matrix(7, size)
        ours = np.einsum("ph,chw,qw->cpq", rows, grid[0].numpy(), rows)
        np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_not_a_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(converter.WeightsError, match="not a CLIP ResNet checkpoint"):
        converter.run(argparse.Namespace(torch=str(path), bpe=None, out=str(tmp_path / "o")))
