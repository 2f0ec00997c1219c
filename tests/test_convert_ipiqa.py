"""``tfagiqa convert ipiqa``: a checkpoint of the official IP-IQA trainer → the catalogue's IP-IQA scorer.

The reference is a tiny PyTorch IP-IQA written here from the public architecture (SPEC §4.2; the official module is
``ipiqa/models/ipiqa.py`` of github.com/Coobiw/IP-IQA, not copied): CLIP's ModifiedResNet without its pool
(``resnet50``), CLIP's attention pool with its positional table bicubically resized to the input's grid
(``attnpool``), the text tower under the official names (``wte``, ``txt_pos``, ``txt_model``, ``ln_final``,
``text_projection``), the text-queried pool (``txt_attnpool.cross_attn.{q,k,v,out}_proj``) and the head
(``head.dense``/``head.out_proj`` or a Linear ``head``). The base CLIP is random; the parts the official run
fine-tunes are randomised again (as training would change them); the checkpoint is written as the official
trainer writes it: ``{"model": ...}`` without the frozen text transformer and ``ln_final``, which the converter
reads from the base CLIP (``--clip``). Tests/test_official_ipiqa.py checks the same against the official class.
"""

import numpy as np
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch", reason="the IP-IQA converter parity test needs PyTorch")
nn, F = torch.nn, torch.nn.functional

import torch_clip  # noqa: E402

from tfagiqa import cli  # noqa: E402
from tfagiqa.backbones.clip_text import BPETokenizer, tokenize  # noqa: E402
from tfagiqa.catalogue import get_entry  # noqa: E402
from tfagiqa.errors import WeightsError  # noqa: E402
from tfagiqa.methods.ipiqa import convert as converter  # noqa: E402

LAYERS, WIDTH, EMBED, CONTEXT, TEXT_WIDTH, TEXT_LAYERS = (1, 1, 1, 1), 8, 32, 16, 64, 2
BASE_RESOLUTION, RESOLUTION = 64, 96  # the base CLIP's grid 2 resized to the model's grid 3, as 7 → 16 at 512 px
HEADS = WIDTH * 32 // 64
GAIN = 1.6  # fine_tune's matrix gain: scores of a few units that differ between the inputs
PROMPTS = ["a photo of a cat", "an astronaut riding a horse, digital art", "good bad photo", "a"]
FROZEN = ("txt_model.", "ln_final.")  # what the official trainer leaves out of its checkpoints (freeze_text)


class TextAttentionPool(nn.Module):
    """[mean; HW tokens] + its own positions, queried by the text feature through q_proj (text dim → C)."""

    def __init__(self, grid: int, channels: int, text_dim: int, heads: int, out: int):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, channels) / channels ** 0.5)
        self.cross_attn = nn.Module()
        self.cross_attn.q_proj, self.cross_attn.out_proj = nn.Linear(text_dim, channels), nn.Linear(channels, out)
        self.cross_attn.k_proj, self.cross_attn.v_proj = nn.Linear(channels, channels), nn.Linear(channels, channels)
        self.heads = heads

    def forward(self, x, text):
        tokens = x.flatten(2).permute(0, 2, 1)
        tokens = torch.cat([tokens.mean(1, keepdim=True), tokens], 1) + self.positional_embedding
        attn = self.cross_attn

        def split(t):
            return t.reshape(t.shape[0], t.shape[1], self.heads, -1).transpose(1, 2)

        q, k, v = split(attn.q_proj(text[:, None])), split(attn.k_proj(tokens)), split(attn.v_proj(tokens))
        weights = torch.softmax(q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5, dim=-1)
        context = (weights @ v).transpose(1, 2).reshape(x.shape[0], 1, -1)
        return attn.out_proj(context)[:, 0]


class MLPHead(nn.Module):
    def __init__(self, dim: int, out: int):
        super().__init__()
        self.dense, self.out_proj = nn.Linear(dim, dim), nn.Linear(dim, out)

    def forward(self, x):
        return self.out_proj(torch.tanh(self.dense(x)))


class IPIQA(nn.Module):
    """The official module's layout and forward (eval mode: no dropout), built around a CLIP in OpenAI's layout."""

    def __init__(self, base: torch_clip.CLIP, outputs: int, mlp_head: bool):
        super().__init__()
        self.resnet50, self.attnpool = base.visual, base.visual.attnpool
        self.resnet50.attnpool = nn.Identity()
        table = self.attnpool.positional_embedding.detach()
        grid, new_grid = BASE_RESOLUTION // 32, RESOLUTION // 32
        spatial = table[1:].reshape(grid, grid, -1).permute(2, 0, 1)[None]
        spatial = F.interpolate(spatial, size=(new_grid, new_grid), mode="bicubic", align_corners=False)
        self.attnpool.positional_embedding = nn.Parameter(torch.cat([table[:1], spatial[0].permute(1, 2, 0).flatten(0, 1)]))
        self.txt_model, self.wte, self.ln_final = base.transformer, base.token_embedding, base.ln_final
        self.txt_pos, self.text_projection = base.positional_embedding, base.text_projection
        self.txt_attnpool = TextAttentionPool(new_grid, WIDTH * 32, EMBED, HEADS, EMBED)
        self.head = MLPHead(2 * EMBED, outputs) if mlp_head else nn.Linear(2 * EMBED, outputs)

    def forward(self, images, ids):
        text = self.txt_model((self.wte(ids) + self.txt_pos).permute(1, 0, 2)).permute(1, 0, 2)
        text = self.ln_final(text)[torch.arange(ids.shape[0]), ids.argmax(-1)] @ self.text_projection
        v = self.resnet50
        x = images
        for conv, bn in ((v.conv1, v.bn1), (v.conv2, v.bn2), (v.conv3, v.bn3)):
            x = F.relu(bn(conv(x)))
        x = v.layer4(v.layer3(v.layer2(v.layer1(v.avgpool(x)))))
        return self.head(torch.cat([self.attnpool(x), self.txt_attnpool(x, text)], -1))


def fine_tune(model: IPIQA, seed: int) -> None:
    """Stand-in for training: every parameter the official run trains, and the BN statistics, drawn again
    (matrices N(0, GAIN²/fan_in), BN scales 1 + N(0, 0.1²), other vectors N(0, 0.1²))."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith(FROZEN):
                continue
            noise = torch.randn(p.shape, generator=generator)
            if p.ndim > 1:  # N(0, GAIN²/fan_in): activations stay O(1) through the whole network
                p.copy_(noise * GAIN / float(np.prod(p.shape[1:])) ** 0.5)
            else:
                p.copy_(noise * 0.1 + (1.0 if name.endswith(("bn1.weight", "bn2.weight", "bn3.weight")) else 0.0))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) + 0.5)
    model.eval()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("official_ipiqa")
    bpe = torch_clip.write_bpe(folder / "bpe.txt.gz")
    ids = tokenize(PROMPTS, BPETokenizer.from_bpe(bpe, CONTEXT)).astype("int64")
    images = np.random.default_rng(0).uniform(0, 255, (len(PROMPTS), RESOLUTION, RESOLUTION, 3)).astype("float32")
    normalised = (torch.from_numpy(images) / 255 - torch.tensor(torch_clip.CLIP_MEAN)) / torch.tensor(torch_clip.CLIP_STD)
    made = {"bpe": bpe, "images": images}
    for dataset, outputs, mlp in (("agiqa3k", 2, True), ("agiqa1k", 1, False)):
        base = torch_clip.randomise(torch_clip.CLIP(("resnet", LAYERS, WIDTH), BASE_RESOLUTION, EMBED,
                                                    torch_clip.BPE_VOCAB, CONTEXT, TEXT_WIDTH, TEXT_LAYERS), seed=0)
        torch.save(base.state_dict(), folder / f"rn_{dataset}.pt")
        model = IPIQA(base, outputs, mlp)
        fine_tune(model, seed=outputs)
        with torch.no_grad():
            made[dataset] = model(normalised.permute(0, 3, 1, 2), torch.from_numpy(ids)).numpy()
        state = {k: v for k, v in model.state_dict().items() if not k.startswith(FROZEN)}
        torch.save({"model": state, "config": {"model": {"arch": "ipiqa", "output_dim": outputs}}, "epoch": 3},
                   folder / f"checkpoint_{dataset}.pth")
    return folder, made


@pytest.mark.parametrize("dataset", ["agiqa3k", "agiqa1k"])
def test_converted_official_checkpoint_scores_like_pytorch(tmp_path, files, dataset):
    folder, made = files
    out = tmp_path / "converted"
    assert cli.main(["convert", "ipiqa", "--torch", str(folder / f"checkpoint_{dataset}.pth"), "--clip",
                     str(folder / f"rn_{dataset}.pt"), "--bpe", str(made["bpe"]), "--out", str(out)]) == 0
    entry = get_entry(f"ipiqa-{dataset}")
    scorer = entry.build(str(out / f"ipiqa_{dataset}_scorer.keras"))
    scores = scorer({"images": tf.constant(made["images"]), "prompt": tf.constant(PROMPTS)})
    reference = made[dataset]
    assert np.abs(reference).max() > 0.1 and np.ptp(reference[:, 0]) > 1e-3  # informative: not ~0, prompt-dependent
    for i, output in enumerate(entry.outputs):
        np.testing.assert_allclose(np.asarray(scores[output]), reference[:, i], atol=1e-4, rtol=0, err_msg=output)


def test_frozen_text_tensors_need_the_base_clip(files, tmp_path):
    folder, made = files
    with pytest.raises(WeightsError, match="--clip"):
        converter.convert(folder / "checkpoint_agiqa3k.pth", made["bpe"])
    with pytest.raises(WeightsError, match="ipiqa-agiqa1k takes 1"):
        converter.convert(folder / "checkpoint_agiqa1k.pth", made["bpe"], folder / "rn_agiqa1k.pt", "agiqa3k")
