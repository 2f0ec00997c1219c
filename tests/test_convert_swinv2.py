"""``tfagiqa convert swinv2``: a PyTorch SwinV2 written here from the spec with timm 0.6.13's parameter names (tiny
config, random weights) and the converted Keras backbone give the same four stage outputs to 1e-4."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the SwinV2 converter parity test needs PyTorch")
nn, F = torch.nn, torch.nn.functional

from tfagiqa.backbones.swinv2 import SwinV2Config  # noqa: E402
from tfagiqa.backbones import swinv2_convert as converter  # noqa: E402

CONFIG = SwinV2Config(image_size=64, embed_dim=16, depths=(2, 2, 2, 2), num_heads=(2, 2, 4, 4), window_size=8,
                      cpb_hidden=32)


def partition(x, w):
    b, h, wd, c = x.shape
    return x.view(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)


def reverse(windows, w, h, wd):
    c = windows.shape[-1]
    return windows.view(-1, h // w, wd // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, h, wd, c)


class WindowAttention(nn.Module):
    def __init__(self, dim, heads, window, cpb_hidden):
        super().__init__()
        self.heads, self.window = heads, window
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones(heads, 1, 1)))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, cpb_hidden), nn.ReLU(), nn.Linear(cpb_hidden, heads, bias=False))
        span = torch.arange(-(window - 1), window, dtype=torch.float32)
        table = torch.stack(torch.meshgrid(span, span, indexing="ij")).permute(1, 2, 0) / (window - 1) * 8
        self.register_buffer("relative_coords_table", torch.sign(table) * torch.log2(table.abs() + 1) / math.log2(8))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("relative_position_index", rel[..., 0] * (2 * window - 1) + rel[..., 1])
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias, self.v_bias = nn.Parameter(torch.zeros(dim)), nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        b, n, c = x.shape
        bias = torch.cat([self.q_bias, torch.zeros_like(self.v_bias), self.v_bias])
        qkv = F.linear(x, self.qkv.weight, bias).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.heads)
        bias = table[self.relative_position_index.view(-1)].view(n, n, -1).permute(2, 0, 1)
        attn = attn + 16 * torch.sigmoid(bias).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(-1, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)).view(-1, self.heads, n, n)
        return self.proj((attn.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, res, heads, window, shift, cpb_hidden):
        super().__init__()
        if res <= window:
            window, shift = res, 0
        self.res, self.window, self.shift = res, window, shift
        self.attn = WindowAttention(dim, heads, window, cpb_hidden)
        self.norm1, self.norm2, self.mlp = nn.LayerNorm(dim), nn.LayerNorm(dim), Mlp(dim, 4 * dim)
        mask = None
        if shift:
            img = torch.zeros(1, res, res, 1)
            cnt = 0
            for hs in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
                for ws in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
                    img[:, hs, ws, :] = cnt
                    cnt += 1
            mw = partition(img, window).squeeze(-1)
            diff = mw.unsqueeze(1) - mw.unsqueeze(2)
            mask = diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)
        self.register_buffer("attn_mask", mask)

    def forward(self, x):
        b, l, c = x.shape
        h = x.view(b, self.res, self.res, c)
        if self.shift:
            h = torch.roll(h, (-self.shift, -self.shift), (1, 2))
        h = reverse(self.attn(partition(h, self.window), self.attn_mask), self.window, self.res, self.res)
        if self.shift:
            h = torch.roll(h, (self.shift, self.shift), (1, 2))
        x = x + self.norm1(h.reshape(b, l, c))
        return x + self.norm2(self.mlp(x))


class PatchMerging(nn.Module):
    def __init__(self, dim, res):
        super().__init__()
        self.res = res
        self.reduction, self.norm = nn.Linear(4 * dim, 2 * dim, bias=False), nn.LayerNorm(2 * dim)

    def forward(self, x):
        b, _, c = x.shape
        x = x.view(b, self.res, self.res, c)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.norm(self.reduction(x.view(b, -1, 4 * c)))


class Stage(nn.Module):
    def __init__(self, dim, res, depth, heads, window, cpb_hidden, last):
        super().__init__()
        self.blocks = nn.ModuleList(
            [Block(dim, res, heads, window, 0 if j % 2 == 0 else window // 2, cpb_hidden) for j in range(depth)])
        self.downsample = None if last else PatchMerging(dim, res)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x if self.downsample is None else self.downsample(x)


class PatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj, self.norm = nn.Conv2d(3, dim, patch, patch), nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


class TorchSwinV2(nn.Module):
    """timm 0.6.13's SwinTransformerV2 body (patch merging at the end of each stage), returning the stage outputs."""

    def __init__(self, cfg: SwinV2Config):
        super().__init__()
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.embed_dim)
        res = cfg.image_size // cfg.patch_size
        self.layers = nn.ModuleList()
        for i, (depth, heads) in enumerate(zip(cfg.depths, cfg.num_heads)):
            self.layers.append(Stage(cfg.embed_dim * 2**i, res // 2**i, depth, heads, cfg.window_size,
                                     cfg.cpb_hidden, i == len(cfg.depths) - 1))

    def forward(self, x):
        x = self.patch_embed(x)
        outs = []
        for stage in self.layers:
            x = stage(x)
            outs.append(x)
        return outs


def test_converted_backbone_matches_pytorch(tmp_path):
    torch.manual_seed(0)
    reference = TorchSwinV2(CONFIG).eval()
    with torch.no_grad():
        for name, p in reference.named_parameters():
            p.copy_(torch.randn_like(p) * (0.3 if "weight" in name or "bias" in name else 0.5))
    path = tmp_path / "swinv2_tiny_test.pth"
    torch.save({"model": reference.state_dict()}, path)
    state = converter.read_state_dict(path)
    model, config = converter.convert(state, image_size=64)
    assert config == CONFIG
    images = np.random.default_rng(0).normal(size=(2, 64, 64, 3)).astype("float32")
    with torch.no_grad():
        expected = reference(torch.from_numpy(images).permute(0, 3, 1, 2))
    out = model(images)
    for i, tokens in enumerate(expected):
        side, channels = CONFIG.stage_sides()[i], CONFIG.stage_channels()[i]
        np.testing.assert_allclose(np.asarray(out[f"stage{i + 1}"]).reshape(2, side * side, channels),
                                   tokens.numpy(), atol=1e-4, rtol=1e-4)


def test_cli_writes_weights_and_refuses_other_checkpoints(tmp_path):
    import argparse

    reference = TorchSwinV2(CONFIG)
    torch.save(reference.state_dict(), tmp_path / "ckpt.pth")
    args = argparse.Namespace(torch=str(tmp_path / "ckpt.pth"), image_size=64, window_size=None,
                              out=str(tmp_path / "out"))
    assert converter.run(args) == 0
    assert (tmp_path / "out" / converter.WEIGHTS_FILE).is_file()
    from older_layouts import older_layout
    from tfagiqa.methods.sfiqa import protocol
    from tfagiqa.presets import load_preset

    preset = load_preset(tmp_path / "out", kind="swinv2")  # a swinv2 preset, its configuration as the architecture
    assert SwinV2Config.from_dict(dict(preset.architecture)) == CONFIG
    assert preset.path("swinv2") == tmp_path / "out" / converter.WEIGHTS_FILE
    assert preset.source["command"] == f"tfagiqa convert swinv2 --torch {tmp_path / 'ckpt.pth'} --image-size 64 " \
                                      f"--out {tmp_path / 'out'}"
    branches = protocol.resolve_branches(protocol.PROFILES["paper"], str(tmp_path / "out"))
    assert (branches.swin_weights, branches.label) == (str(preset.path("swinv2")), str(tmp_path / "out"))
    older = load_preset(older_layout(tmp_path / "out", tmp_path / "older"), kind="swinv2")  # before presets
    assert older.legacy and older.files == preset.files and older.architecture == preset.architecture
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    from tfagiqa.errors import WeightsError

    with pytest.raises(WeightsError, match="not a timm SwinV2"):
        converter.config_from_state(converter.read_state_dict(tmp_path / "other.pth"))
    with pytest.raises(WeightsError, match="no checkpoint"):
        converter.read_state_dict(tmp_path / "missing.pth")


def test_window_size_comes_from_the_attention_mask_when_the_index_is_not_saved():
    """timm 0.6.13's ``state_dict()`` drops the relative position index (non-persistent) but keeps the shifted
    blocks' attention masks [windows, w², w²]; with neither, the window must be given."""
    from tfagiqa.errors import WeightsError

    state = {k: v.numpy() for k, v in TorchSwinV2(CONFIG).state_dict().items()}
    state = {k: v for k, v in state.items() if not k.endswith(("relative_position_index", "attn_mask"))}
    mask = np.zeros((4, CONFIG.window_size ** 2, CONFIG.window_size ** 2), "float32")
    assert converter.window_from_state({**state, "layers.0.blocks.1.attn_mask": mask}) == CONFIG.window_size
    with pytest.raises(WeightsError, match="--window-size"):
        converter.window_from_state(state)
    assert converter.window_from_state(state, window_size=12) == 12
    with pytest.raises(WeightsError, match="disagrees"):
        converter.window_from_state({**state, "layers.0.blocks.1.attn_mask": mask}, window_size=12)


def test_unreadable_checkpoint_is_a_clear_error(tmp_path):
    from tfagiqa.errors import WeightsError

    (tmp_path / "bad.pth").write_text("not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read .*bad.pth as a torch.save file"):
        converter.read_state_dict(tmp_path / "bad.pth")
